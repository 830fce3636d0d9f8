//! A Random provider that exits when Check sees an invalid length; otherwise like the example provider.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::raw::main(fixture_plugins::raw::Bug::CrashOnInvalid).await
}
