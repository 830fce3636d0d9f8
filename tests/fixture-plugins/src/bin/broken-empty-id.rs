//! A Random provider that returns an empty id from Create; otherwise like the example provider.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::raw::main(fixture_plugins::raw::Bug::EmptyId).await
}
