//! A Random provider that has a Diff that ignores the replace-on-change field length; otherwise like the example provider.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::raw::main(fixture_plugins::raw::Bug::DiffIgnoresReplace).await
}
