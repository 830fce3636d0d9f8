//! The fixture plugins' own test: the well-behaved ones start as a plugin must (the port line,
//! then gRPC on it). Having an integration test also makes `cargo test` build every binary of
//! this package, with the test command's own features, before any test runs: the other suites
//! find them built (`test_support::workspace_binary`) instead of building them mid-run.

use std::time::Duration;

use plugin_host::Launch;

/// Launches `program` as the engine does and asks for its plugin info over gRPC.
async fn starts_and_answers(program: &str) {
    let plugin = Launch::new(program)
        .port_timeout(Duration::from_secs(60))
        .start()
        .await
        .unwrap_or_else(|e| panic!("{program} prints its port: {e}"));
    let mut client = plugin_host::connect(plugin.port(), plugin_host::connect::CONNECT_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .get_plugin_info(())
        .await
        .unwrap_or_else(|e| panic!("{program} answers GetPluginInfo: {e}"));
}

#[tokio::test]
async fn the_sdk_fixture_plugin_starts_and_answers() {
    starts_and_answers(env!("CARGO_BIN_EXE_pulumi-resource-fixture")).await;
}

#[tokio::test]
async fn the_bare_tonic_floor_starts_and_answers() {
    starts_and_answers(env!("CARGO_BIN_EXE_bare-tonic-provider")).await;
}
