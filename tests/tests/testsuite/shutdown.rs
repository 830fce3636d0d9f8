//! Shutdown, proven on the example provider as a real process over real gRPC: SIGINT and
//! SIGTERM end it with exit code 0 (promptly, with calls in flight cancelled) and Cancel ends
//! in-flight calls. (The kit's `process.sigint` case covers SIGINT when idle.)

use crate::support;

use std::time::{Duration, Instant};

use prost_types::Struct;
use support::PluginProcess;
use support::requests::*;
use tonic::Code;

/// Generous bound for anything that should take milliseconds, so a loaded CI machine does not flake.
const PATIENCE: Duration = Duration::from_secs(20);

fn local() -> std::path::PathBuf {
    support::binary("pulumi-resource-local")
}

fn fixture() -> std::path::PathBuf {
    support::binary("pulumi-resource-fixture")
}

#[tokio::test]
async fn sigint_right_after_the_port_line_exits_0() {
    // The engine may signal as soon as it has read the port: the handlers must already be there.
    for _ in 0..5 {
        let mut plugin = PluginProcess::spawn(&local(), &[]).await;
        plugin.signal(support::Signal::INT);
        let status = plugin
            .wait_exit(PATIENCE)
            .await
            .expect("the plugin exits after SIGINT");
        assert!(
            status.success(),
            "exit status {status}; stderr:\n{}",
            plugin.stderr()
        );
    }
}

#[tokio::test]
async fn sigint_with_a_call_in_flight_cancels_it_and_exits_0() {
    let mut plugin = PluginProcess::spawn(&fixture(), &[]).await;
    let mut client = plugin.connect().await;
    let call = tokio::spawn(async move {
        client
            .create(create("fixture:index:Hang", "h", Struct::default()))
            .await
    });
    assert!(
        plugin
            .wait_for_stderr("fixture: Hang started", PATIENCE)
            .await,
        "the call never started"
    );
    let sent = Instant::now();
    plugin.signal(support::Signal::INT);
    let outcome = tokio::time::timeout(PATIENCE, call)
        .await
        .expect("the call ends")
        .expect("the task");
    let status = outcome.expect_err("the in-flight call is cancelled");
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    let exit = plugin.wait_exit(PATIENCE).await.expect("the plugin exits");
    let took = sent.elapsed();
    eprintln!("SIGINT to exit: {took:?}");
    assert!(exit.success(), "exit status {exit}");
    // The SDK's grace period is 3 s and the engine kills after 5 s.
    assert!(
        took < Duration::from_secs(5),
        "SIGINT to exit took {took:?}"
    );
    assert!(
        plugin.stderr().contains("fixture: Hang saw cancellation"),
        "stderr:\n{}",
        plugin.stderr()
    );
}

#[tokio::test]
async fn sigint_with_a_call_that_ignores_cancellation_still_exits_0_within_the_grace_bound() {
    let mut plugin = PluginProcess::spawn(&fixture(), &[]).await;
    let mut client = plugin.connect().await;
    let call = tokio::spawn(async move {
        client
            .create(create("fixture:index:Stubborn", "s", Struct::default()))
            .await
    });
    assert!(
        plugin
            .wait_for_stderr("fixture: Stubborn started", PATIENCE)
            .await,
        "the call never started"
    );
    let sent = Instant::now();
    plugin.signal(support::Signal::INT);
    let exit = plugin
        .wait_exit(PATIENCE)
        .await
        .expect("the plugin exits although a call ignores cancellation");
    let took = sent.elapsed();
    eprintln!("SIGINT to exit: {took:?}");
    assert!(
        exit.success(),
        "exit status {exit}; stderr:\n{}",
        plugin.stderr()
    );
    // The SDK gives in-flight calls 3 s; the engine kills the plugin 5 s after SIGINT.
    assert!(
        took < Duration::from_secs(5),
        "SIGINT to exit took {took:?}"
    );
    let outcome = tokio::time::timeout(PATIENCE, call)
        .await
        .expect("the call ends")
        .expect("the task");
    assert!(
        outcome.is_err(),
        "the abandoned call cannot succeed: {outcome:?}"
    );
}

#[tokio::test]
async fn cancel_ends_in_flight_calls_with_cancelled() {
    let mut plugin = PluginProcess::spawn(&fixture(), &[]).await;
    let client = plugin.connect().await;
    let calls: Vec<_> = (0..3)
        .map(|i| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .create(create(
                        "fixture:index:Hang",
                        &format!("h{i}"),
                        Struct::default(),
                    ))
                    .await
            })
        })
        .collect();
    assert!(
        plugin
            .wait_for_stderr_count("fixture: Hang started", 3, PATIENCE)
            .await,
        "not all calls started; stderr:\n{}",
        plugin.stderr()
    );
    client.clone().cancel(()).await.expect("Cancel");
    for call in calls {
        let outcome = tokio::time::timeout(PATIENCE, call)
            .await
            .expect("the call ends")
            .expect("the task");
        let status = outcome.expect_err("the call is cancelled");
        assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    }
    assert!(plugin.is_running(), "Cancel does not stop the process");
}

#[tokio::test]
async fn sigterm_exits_0_too() {
    let mut plugin = PluginProcess::spawn(&local(), &[]).await;
    let mut client = plugin.connect().await;
    client.get_plugin_info(()).await.expect("GetPluginInfo");
    plugin.signal(support::Signal::TERM);
    let status = plugin
        .wait_exit(PATIENCE)
        .await
        .expect("the plugin exits after SIGTERM");
    assert!(
        status.success(),
        "exit status {status}; stderr:\n{}",
        plugin.stderr()
    );
}
