//! A Random provider that has a Read that returns a different result each time (drift); otherwise like the example provider.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::raw::main(fixture_plugins::raw::Bug::DriftingRead).await
}
