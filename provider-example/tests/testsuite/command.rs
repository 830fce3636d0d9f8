//! `local:index:Command` through real gRPC against the spawned plugin: create, update and
//! delete commands with environment and working directory, stdout and stderr outputs, secret
//! outputs, failure, the custom timeout and cancellation of a long command (its process group
//! is killed and the error says so).

use crate::support;

use std::time::Duration;

use provider_sdk::{PropertyMap, PropertyValue};
use pulumirpc::tonic::Code;
use support::*;

const CMD: &str = "local:index:Command";

#[tokio::test]
async fn command_lifecycle_runs_create_update_and_delete() {
    let mut p = Provider::start().await;
    let root = p.root();
    std::fs::create_dir(root.join("work")).unwrap();
    let env =
        |name: &str| PropertyValue::Object(PropertyMap::from([("NAME".to_string(), name.into())]));
    let inputs = props! {
        "create" => "echo \"hello $NAME\" > greeting.txt; echo created; echo careful >&2",
        "update" => "echo \"hello again $NAME\" > greeting.txt; echo updated",
        "delete" => "rm greeting.txt",
        "environment" => env("world"),
        "dir" => "work",
    };
    let c = p.create(CMD, "greet", inputs.clone(), 0.0).await.unwrap();
    assert_eq!(string(&c.outputs, "stdout"), "created");
    assert_eq!(string(&c.outputs, "stderr"), "careful");
    assert_eq!(
        std::fs::read_to_string(root.join("work/greeting.txt")).unwrap(),
        "hello world\n"
    );

    // With an update command, a change runs it in place.
    let mut news = inputs.clone();
    news.insert("environment".into(), env("moon"));
    let diff = p.diff(CMD, "greet", &c, &news).await;
    assert_eq!(
        diff.changes,
        pulumirpc::diff_response::DiffChanges::DiffSome as i32
    );
    assert!(diff.replaces.is_empty(), "{diff:?}");
    let u = p.update(CMD, "greet", &c, news.clone(), 0.0).await.unwrap();
    assert_eq!(string(&u.outputs, "stdout"), "updated");
    assert_eq!(
        std::fs::read_to_string(root.join("work/greeting.txt")).unwrap(),
        "hello again moon\n"
    );

    // The delete command runs on delete.
    p.delete(CMD, "greet", &u, 0.0).await.unwrap();
    assert!(!root.join("work/greeting.txt").exists());
    std::fs::remove_dir(root.join("work")).unwrap();
    assert_nothing_left(&root, &[]).await;
}

#[tokio::test]
async fn without_an_update_command_changes_replace() {
    let mut p = Provider::start().await;
    let c = p
        .create(CMD, "c", props! { "create" => "echo one" }, 0.0)
        .await
        .unwrap();
    let diff = p
        .diff(CMD, "c", &c, &props! { "create" => "echo two" })
        .await;
    assert!(diff.replaces.contains(&"create".to_string()), "{diff:?}");
    let diff = p
        .diff(
            CMD,
            "c",
            &c,
            &props! { "create" => "echo one", "triggers" => vec!["v2"] },
        )
        .await;
    assert!(diff.replaces.contains(&"triggers".to_string()), "{diff:?}");
    // A command has no live state to drift from: Read keeps what was recorded.
    let read = p
        .read(CMD, "c", &c)
        .await
        .unwrap()
        .expect("a command stays");
    assert_eq!(string(&read.outputs, "stdout"), "one");
    p.delete(CMD, "c", &c, 0.0).await.unwrap();
    assert_nothing_left(&p.root(), &[]).await;
}

#[tokio::test]
async fn secret_environment_makes_the_output_secret_and_failures_quiet() {
    let mut p = Provider::start().await;
    let env = PropertyValue::Object(PropertyMap::from([(
        "TOKEN".to_string(),
        PropertyValue::secret("hunter2".into()),
    )]));
    let c = p
        .create(
            CMD,
            "s",
            props! { "create" => "echo \"token=$TOKEN\"", "environment" => env.clone() },
            0.0,
        )
        .await
        .unwrap();
    assert!(c.outputs["stdout"].is_secret(), "{:?}", c.outputs);
    assert_eq!(string(&c.outputs, "stdout"), "token=hunter2");
    let err = p
        .create(
            CMD,
            "f",
            props! { "create" => "echo \"$TOKEN\" >&2; exit 4", "environment" => env },
            0.0,
        )
        .await
        .unwrap_err();
    assert!(err.message().contains("status 4"), "{err:?}");
    assert!(
        !err.message().contains("hunter2"),
        "a secret never reaches an error message: {err:?}"
    );
    p.delete(CMD, "s", &c, 0.0).await.unwrap();
}

#[tokio::test]
async fn a_failing_command_is_not_created_and_says_why() {
    let mut p = Provider::start().await;
    let err = p
        .create(
            CMD,
            "bad",
            props! { "create" => "echo 'disk on fire' >&2; exit 3" },
            0.0,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::Aborted,
        "a failed create changed nothing: {err:?}"
    );
    assert!(
        err.message().contains("exited with status 3") && err.message().contains("disk on fire"),
        "{err:?}"
    );
    let failures = p
        .check(
            CMD,
            "none",
            &Default::default(),
            props! { "update" => "true" },
        )
        .await
        .unwrap_err();
    assert!(failures.join("\n").contains("create"), "{failures:?}");
    assert_nothing_left(&p.root(), &[]).await;
}

/// Waits until some process runs with its working directory in `root`.
async fn wait_for_process_under(root: &std::path::Path) -> Vec<i32> {
    for _ in 0..600 {
        let found = processes_under(root);
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the command never started");
}

#[tokio::test]
async fn the_custom_timeout_kills_a_long_command() {
    let mut p = Provider::start().await;
    let root = p.root();
    let started = std::time::Instant::now();
    let err = p
        .create(
            CMD,
            "slow",
            props! { "create" => "sleep 300 & sleep 300" },
            2.0,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(
        err.message().contains("timeout") && err.message().contains("process group"),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
    assert_nothing_left(&root, &[]).await;
}

#[tokio::test]
async fn cancellation_kills_a_long_command() {
    let mut p = Provider::start().await;
    let root = p.root();
    let mut client = p.client.clone();
    let running = tokio::spawn(async move {
        p.create(
            CMD,
            "forever",
            props! { "create" => "sleep 300 & sleep 300" },
            0.0,
        )
        .await
        .map(|_| ())
        .map_err(|e| (e, p))
    });
    let pids = wait_for_process_under(&root).await;
    client.cancel(()).await.expect("Cancel answers");
    let (err, p) = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("Create returns")
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::Cancelled, "{err:?}");
    assert!(
        err.message().contains("cancelled") && err.message().contains("process group"),
        "{err:?}"
    );
    assert_nothing_left(&root, &pids).await;
    drop(p);
}
