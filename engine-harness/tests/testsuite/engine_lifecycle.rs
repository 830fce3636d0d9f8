//! End to end: the harness binary drives the example provider (`pulumi-resource-local`) as a
//! real process through create, no-op, update, replace, delete, refresh with drift, destroy,
//! protect and partial failure with retry.

use crate::support;
use support::*;

const RANDOMS: &str = "resources:\n  a:\n    type: local:index:Random\n    properties:\n      length: 8\n      prefix: x-\n  b:\n    type: local:index:Random\n    properties:\n      length: 4\n      prefix: ${a.result}/\noutputs:\n  b: ${b.result}\n";

#[test]
fn create_noop_update_replace_delete_destroy() {
    let p = Project::local(RANDOMS);
    // preview writes nothing.
    let r = p.run(&["preview"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("create", "a", "planned"), s("create", "b", "planned")]
    );
    assert!(!p.path().join(".pulumi-harness/dev.json").exists());

    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("create", "a", "ok"), s("create", "b", "ok")]
    );
    let a = p.resource("a").unwrap();
    let b = p.resource("b").unwrap();
    let a_result = a["outputs"]["result"].as_str().unwrap().to_string();
    assert!(
        a_result.starts_with("x-") && a_result.len() == 10,
        "{a_result}"
    );
    assert!(
        b["outputs"]["result"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{a_result}/"))
    );
    assert_eq!(b["dependencies"][0], a["urn"]);
    // The provider's Log message arrives tied to its resource.
    assert!(
        r.events.iter().any(|e| e["event"] == "log"
            && e["urn"] == a["urn"]
            && e["message"] == "generated 8 random characters"),
        "{}",
        r.describe()
    );
    let outputs = r.events.iter().find(|e| e["event"] == "outputs").unwrap();
    assert_eq!(outputs["outputs"]["b"], b["outputs"]["result"]);
    assert!(
        !p.path().join(".pulumi-harness/dev.journal").exists(),
        "journal is compacted"
    );

    // Second up: no changes.
    let r = p.run(&["up"]).ok();
    assert_eq!(r.steps(), vec![s("same", "a", "ok"), s("same", "b", "ok")]);
    assert_eq!(p.resource("a").unwrap()["id"], a["id"]);

    // Update: a new prefix on `a` updates it in place; `b` follows its new result.
    p.write_local(&RANDOMS.replace("prefix: x-", "prefix: y-"));
    let r = p.run(&["preview"]).ok();
    let step = r.step("a");
    assert_eq!(step["op"], "update");
    assert_eq!(step["diff"][0]["path"], "prefix");
    assert_eq!(step["diff"][0]["old"], "x-");
    assert_eq!(step["diff"][0]["new"], "y-");
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("update", "a", "ok"), s("update", "b", "ok")]
    );
    let a2 = p.resource("a").unwrap();
    assert_eq!(a2["id"], a["id"]);
    assert_eq!(
        a2["outputs"]["result"].as_str().unwrap(),
        a_result.replacen("x-", "y-", 1)
    );

    // Replace: a new length replaces `a` (create before delete): a new id, one copy in state.
    p.write_local(
        &RANDOMS
            .replace("prefix: x-", "prefix: y-")
            .replace("length: 8", "length: 12"),
    );
    let r = p.run(&["up"]).ok();
    assert!(
        r.steps().contains(&s("replace", "a", "ok")),
        "{}",
        r.describe()
    );
    assert!(
        r.steps().contains(&s("delete-replaced", "a", "ok")),
        "{}",
        r.describe()
    );
    let a3 = p.resource("a").unwrap();
    assert_ne!(a3["id"], a["id"]);
    assert_eq!(a3["outputs"]["result"].as_str().unwrap().len(), 14);
    assert_eq!(p.resources().len(), 2);

    // Delete: `b` leaves the program.
    let only_a = "resources:\n  a:\n    type: local:index:Random\n    properties:\n      length: 12\n      prefix: y-\n";
    p.write_local(only_a);
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("delete", "b", "ok"), s("same", "a", "ok")]
    );
    assert!(p.resource("b").is_none());

    // Destroy.
    let r = p.run(&["destroy"]).ok();
    assert_eq!(r.steps(), vec![s("delete", "a", "ok")]);
    assert!(
        p.state()["deployment"]["resources"].is_null(),
        "{}",
        p.state()
    );
}

#[test]
fn refresh_shows_drift_and_drops_vanished_resources() {
    let p = Project::local(
        "resources:\n  f:\n    type: local:index:File\n    properties:\n      path: hello.txt\n      content: hello\n  g:\n    type: local:index:File\n    properties:\n      path: other.txt\n      content: other\n",
    );
    p.run(&["up"]).ok();
    assert_eq!(
        std::fs::read_to_string(p.path().join("hello.txt")).unwrap(),
        "hello"
    );
    std::fs::write(p.path().join("hello.txt"), "changed outside").unwrap();
    std::fs::remove_file(p.path().join("other.txt")).unwrap();
    let r = p.run(&["refresh"]).ok();
    let f = r.step("f");
    assert_eq!(f["op"], "refresh", "{}", r.describe());
    let content = f["diff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "content")
        .expect("content drift");
    assert_eq!(content["old"], "hello");
    assert_eq!(content["new"], "changed outside");
    assert_eq!(r.step("g")["op"], "read-delete");
    assert!(p.resource("g").is_none());
    assert_eq!(
        p.resource("f").unwrap()["outputs"]["content"],
        "changed outside"
    );
    // The next up writes the program's content back and recreates the vanished file.
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("f")["op"], "update", "{}", r.describe());
    assert_eq!(r.step("g")["op"], "create");
    assert_eq!(
        std::fs::read_to_string(p.path().join("hello.txt")).unwrap(),
        "hello"
    );
    assert!(p.path().join("other.txt").exists());
    p.run(&["destroy"]).ok();
    assert!(!p.path().join("hello.txt").exists());
}

#[test]
fn protect_blocks_deletion_until_lifted() {
    let protected = "resources:\n  keep:\n    type: local:index:Random\n    properties:\n      length: 3\n    options:\n      protect: true\n";
    let p = Project::local(protected);
    p.run(&["up"]).ok();
    let r = p.run(&["destroy"]);
    assert_eq!(r.code, 1, "{}", r.describe());
    assert!(r.stderr.contains("protected"), "{}", r.stderr);
    assert!(p.resource("keep").is_some());
    p.write_local(&protected.replace("protect: true", "protect: false"));
    p.run(&["up"]).ok();
    p.run(&["destroy"]).ok();
    assert!(p.resource("keep").is_none());
}

#[test]
fn partial_failure_is_saved_and_retried_with_update() {
    // A service whose readiness port nobody listens on yet: created, not initialized.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let prog = format!(
        "resources:\n  svc:\n    type: local:index:Service\n    properties:\n      command: exec sleep 300\n      readyPort: {port}\n      readyTimeout: 1\n  after:\n    type: local:index:Random\n    properties:\n      length: 2\n    options:\n      dependsOn:\n        - ${{svc}}\n"
    );
    let p = Project::local(&prog);
    let r = p.run(&["up"]);
    let _cleanup = ServiceGuard(
        p.resource("svc")
            .and_then(|r| r["id"].as_str().and_then(|s| s.parse().ok())),
    );
    assert_eq!(r.code, 1, "{}", r.describe());
    assert_eq!(r.step("svc")["status"], "partial", "{}", r.describe());
    assert!(
        r.step("after").is_null(),
        "no new step starts after a failure"
    );
    assert!(r.stderr.contains("not ready"), "{}", r.stderr);
    let svc = p.resource("svc").expect("the half-made service is saved");
    assert!(!svc["id"].as_str().unwrap().is_empty());
    assert!(!svc["initErrors"].as_array().unwrap().is_empty());
    // Now something listens: the next up retries with an Update although nothing changed.
    let _listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("svc")["op"], "update", "{}", r.describe());
    assert_eq!(r.step("after")["op"], "create");
    let svc2 = p.resource("svc").unwrap();
    assert_eq!(svc2["id"], svc["id"]);
    assert!(
        svc2.get("initErrors")
            .is_none_or(|e| e.as_array().unwrap().is_empty())
    );
    p.run(&["destroy"]).ok();
}

struct ServiceGuard(Option<i32>);

impl Drop for ServiceGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            kill(pid, Signal::KILL);
        }
    }
}

#[test]
fn secrets_are_masked_in_output_and_kept_in_state() {
    let p = Project::local(
        "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 5\n      prefix: ${pw}\noutputs:\n  result: ${r.result}\n",
    );
    // Secrets are encrypted at rest: a stack with secrets needs the passphrase.
    let with_pass = |args: &[&str]| {
        let mut c = p.command(args);
        c.env("PULUMI_CONFIG_PASSPHRASE", "pw");
        Run::from(c.output().unwrap())
    };
    with_pass(&["config", "set", "pw", "s3cr3t-", "--secret"]).ok();
    let r = with_pass(&["up", "--json", "--yes"]).ok();
    assert!(!r.stdout.contains("s3cr3t"), "{}", r.stdout);
    let out = {
        let mut c = p.command(&["up", "--yes"]);
        c.env("PULUMI_CONFIG_PASSPHRASE", "pw");
        c.output().unwrap()
    };
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(human.contains("result: [secret]"), "{human}");
    assert!(!human.contains("s3cr3t"), "{human}");
    let res = p.resource("r").unwrap();
    assert_eq!(
        res["outputs"]["result"]["4dabf18193072939515e22adb298388d"],
        "1b47061264138c4ac30d75fd1eb44270"
    );
    assert!(
        res["outputs"]["result"]["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("v1:")
    );
    assert!(!p.state().to_string().contains("s3cr3t"));
    with_pass(&["destroy", "--json", "--yes"]).ok();
}

#[test]
fn program_mistakes_name_file_and_line() {
    let p = Project::local(
        "resources:\n  a:\n    type: local:index:Random\n    properties:\n      length: ${nothere.x}\n",
    );
    let r = p.run(&["preview"]);
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.stderr.contains("Pulumi.yaml:13:") && r.stderr.contains("nothere"),
        "{}",
        r.stderr
    );
    p.write_local(
        "resources:\n  a:\n    type: local:index:Random\n    properties:\n      length: -3\n",
    );
    let r = p.run(&["up"]);
    assert_eq!(r.code, 1, "{}", r.describe());
    assert!(r.stderr.contains("length"), "{}", r.stderr);
    let r = Run::from(p.command(&["up"]).output().unwrap());
    assert_eq!(r.code, 2, "up without --yes refuses");
}
