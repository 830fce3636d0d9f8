//! A Random provider that drops the secret: a secret prefix gives a plain result; otherwise like the example provider.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::raw::main(fixture_plugins::raw::Bug::DroppedSecret).await
}
