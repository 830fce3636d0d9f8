//! `local:index:Service` through real gRPC against the spawned plugin: a real HTTP server
//! started, checked for readiness, surviving the provider's exit, found again by a new
//! provider, and stopped by Delete; the partial-initialization failure of a process that never
//! opens its port (`ErrorResourceInitFailed` with the pid and the reasons) and its retry by an
//! Update with no diff; a dead process detected by Read.

use crate::support;

use std::time::Duration;

use provider_sdk::PropertyValue;
use pulumirpc::tonic::Code;
use support::*;

const SVC: &str = "local:index:Service";

fn http_server(port: u16) -> String {
    format!("exec python3 -m http.server {port} --bind 127.0.0.1")
}

fn pid_of(r: &Resource) -> i32 {
    r.id.parse()
        .unwrap_or_else(|_| panic!("the id is the pid, got {:?}", r.id))
}

async fn http_get(port: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn service_lifecycle_survives_the_provider_and_stops_on_delete() {
    let mut p = Provider::start().await;
    let port = free_port();
    let inputs = props! {
        "command" => http_server(port),
        "readyUrl" => format!("http://127.0.0.1:{port}/"),
        "readyTimeout" => 60,
    };
    let s = p.create(SVC, "web", inputs.clone(), 0.0).await.unwrap();
    let pid = pid_of(&s);
    assert!(alive(pid));
    assert_eq!(s.outputs["pid"], PropertyValue::Number(pid as f64));
    assert!(
        http_get(port).await.starts_with("HTTP/1.0 200"),
        "the server answers"
    );
    assert!(p.read(SVC, "web", &s).await.unwrap().is_some());
    let diff = p.diff(SVC, "web", &s, &inputs).await;
    assert_eq!(
        diff.changes,
        pulumirpc::diff_response::DiffChanges::DiffNone as i32,
        "{diff:?}"
    );
    let diff = p
        .diff(
            SVC,
            "web",
            &s,
            &props! { "command" => http_server(port + 1), "readyPort" => 1 },
        )
        .await;
    assert!(
        diff.replaces.contains(&"command".to_string()),
        "a new command replaces: {diff:?}"
    );

    // The provider goes away (the engine stops it after every run); the service does not.
    let root = p.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        alive(pid),
        "the service outlives the provider that started it"
    );

    // The next run's provider finds it and stops it.
    let mut p = Provider::start_with_root(root).await;
    let found = p
        .read(SVC, "web", &s)
        .await
        .unwrap()
        .expect("the service is still running");
    assert_eq!(found.id, s.id);
    p.delete(SVC, "web", &found, 0.0).await.unwrap();
    assert!(wait_gone(pid).await, "Delete stopped the process");
    assert!(
        p.read(SVC, "web", &found).await.unwrap().is_none(),
        "a stopped service reads as gone"
    );
    p.delete(SVC, "web", &found, 0.0).await.unwrap();
    assert_nothing_left(&p.root(), &[pid]).await;
}

#[tokio::test]
async fn a_process_that_never_opens_its_port_is_a_partial_failure_retried_by_update() {
    let mut p = Provider::start().await;
    let port = free_port();
    // Opens its port only after a while: the first readiness window is too short.
    let inputs = props! {
        "command" => format!("sleep 4; {}", http_server(port)),
        "readyPort" => port as i32,
        "readyTimeout" => 1,
    };
    let err = p
        .create(SVC, "late", inputs.clone(), 0.0)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unknown, "{err:?}");
    let detail = init_failed(&err).expect("an ErrorResourceInitFailed detail");
    let pid: i32 = detail.id.parse().expect("the id is the pid");
    assert!(alive(pid), "the process was started and is left running");
    assert!(!detail.reasons.is_empty());
    assert!(
        detail.reasons.iter().any(|r| r.contains(&port.to_string())),
        "the reasons name the port: {:?}",
        detail.reasons
    );
    let outputs = provider_sdk::wire::decode_struct(detail.properties.as_ref()).unwrap();
    assert_eq!(outputs["pid"], PropertyValue::Number(pid as f64));

    // What the engine saved; the next `up` sends an Update with no diff, which retries the check.
    let mut saved = Resource {
        id: detail.id.clone(),
        outputs,
        inputs: inputs.clone(),
    };
    let mut attempts = 0;
    let ready = loop {
        attempts += 1;
        match p.update(SVC, "late", &saved, inputs.clone(), 0.0).await {
            Ok(r) => break r,
            Err(e) => {
                let d = init_failed(&e)
                    .unwrap_or_else(|| panic!("a retry fails only partially: {e:?}"));
                assert_eq!(d.id, saved.id, "the retry keeps the same process");
                saved.outputs = provider_sdk::wire::decode_struct(d.properties.as_ref()).unwrap();
                assert!(attempts < 60, "the service never became ready");
            }
        }
    };
    assert!(attempts >= 1);
    assert_eq!(ready.outputs["pid"], PropertyValue::Number(pid as f64));
    assert!(http_get(port).await.starts_with("HTTP/1.0 200"));
    p.delete(SVC, "late", &ready, 0.0).await.unwrap();
    assert_nothing_left(&p.root(), &[pid]).await;
}

#[tokio::test]
async fn a_service_that_never_becomes_ready_fails_again_on_retry_and_is_stopped_by_delete() {
    let mut p = Provider::start().await;
    let port = free_port();
    let inputs =
        props! { "command" => "exec sleep 300", "readyPort" => port as i32, "readyTimeout" => 1 };
    let err = p
        .create(SVC, "mute", inputs.clone(), 0.0)
        .await
        .unwrap_err();
    let detail = init_failed(&err).expect("an ErrorResourceInitFailed detail");
    let pid: i32 = detail.id.parse().unwrap();
    let saved = Resource {
        id: detail.id.clone(),
        outputs: provider_sdk::wire::decode_struct(detail.properties.as_ref()).unwrap(),
        inputs: inputs.clone(),
    };
    let err = p
        .update(SVC, "mute", &saved, inputs, 0.0)
        .await
        .unwrap_err();
    let again = init_failed(&err).expect("still a partial failure");
    assert_eq!(again.id, detail.id);
    assert!(alive(pid));
    p.delete(SVC, "mute", &saved, 0.0).await.unwrap();
    assert_nothing_left(&p.root(), &[pid]).await;
}

#[tokio::test]
async fn a_process_that_exits_is_not_created_and_a_dead_one_reads_as_gone() {
    let mut p = Provider::start().await;
    let err = p
        .create(SVC, "crash", props! { "command" => "echo 'bad flag' >&2; exit 3", "readyPort" => free_port() as i32 }, 0.0)
        .await
        .unwrap_err();
    assert!(
        init_failed(&err).is_none(),
        "nothing is running, so nothing was created: {err:?}"
    );
    assert!(err.message().contains("exited"), "{err:?}");

    let port = free_port();
    let s = p.create(SVC, "web", props! { "command" => http_server(port), "readyPort" => port as i32, "readyTimeout" => 60 }, 0.0).await.unwrap();
    let pid = pid_of(&s);
    // SAFETY: kill(2) with plain integers, on the process this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert!(wait_gone(pid).await);
    assert!(
        p.read(SVC, "web", &s).await.unwrap().is_none(),
        "a dead service reads as gone"
    );
    p.delete(SVC, "web", &s, 0.0).await.unwrap();
    let failures = p
        .check(
            SVC,
            "x",
            &Default::default(),
            props! { "command" => "true" },
        )
        .await
        .unwrap_err();
    assert!(
        failures.join("\n").contains("readyPort"),
        "a readiness check is required: {failures:?}"
    );
    assert_nothing_left(&p.root(), &[pid]).await;
}

#[tokio::test]
async fn cancelling_the_readiness_wait_stops_the_process() {
    let mut p = Provider::start().await;
    let root = p.root();
    let mut client = p.client.clone();
    let inputs = props! { "command" => "exec sleep 300", "readyPort" => free_port() as i32, "readyTimeout" => 600 };
    let waiting = tokio::spawn(async move {
        p.create(SVC, "slow", inputs, 0.0)
            .await
            .map(|_| ())
            .map_err(|e| (e, p))
    });
    let mut pids = Vec::new();
    for _ in 0..600 {
        pids = processes_under(&root);
        if !pids.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!pids.is_empty(), "the service started");
    client.cancel(()).await.expect("Cancel answers");
    let (err, p) = tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .expect("Create returns")
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::Cancelled, "{err:?}");
    assert!(err.message().contains("stopped process"), "{err:?}");
    assert_nothing_left(&root, &pids).await;
    drop(p);
}
