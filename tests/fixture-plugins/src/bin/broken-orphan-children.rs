//! `kitcomp` whose component registers its children without the component as their parent.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fixture_plugins::component::main(fixture_plugins::component::ComponentBug::OrphanChildren).await
}
