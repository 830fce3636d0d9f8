//! A Random provider whose `local:index:hash` hashes the content with a newline added;
//! otherwise like the example provider.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::raw::main(fixture_plugins::raw::Bug::WrongFunctionResult).await
}
