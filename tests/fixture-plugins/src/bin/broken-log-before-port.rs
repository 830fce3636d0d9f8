//! A Random provider that prints a log line on stdout before the port line; otherwise like the example provider.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::raw::main(fixture_plugins::raw::Bug::LogBeforePort).await
}
