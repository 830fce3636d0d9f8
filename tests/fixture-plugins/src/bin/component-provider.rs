//! `kitcomp`, a component provider on raw pulumirpc whose Construct behaves as Pulumi's SDKs do.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::component::main(fixture_plugins::component::ComponentBug::None).await
}
