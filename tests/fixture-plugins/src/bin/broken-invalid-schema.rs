//! A Random provider that returns a schema that violates Pulumi's metaschema; otherwise like the example provider.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::raw::main(fixture_plugins::raw::Bug::InvalidSchema).await
}
