//! A Random provider whose CheckConfig and Configure accept any configuration; otherwise like
//! the example provider.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::raw::main(fixture_plugins::raw::Bug::ConfigAcceptsAnything).await
}
