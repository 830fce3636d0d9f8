//! End to end: what survives a crash. The provider killed (-9) in the middle of a Create, the
//! engine killed (-9) in the middle of an `up`, and Ctrl-C during an `up`.
//!
//! A slow step is a `local:index:Command` whose script records its provider's pid (`$PPID`)
//! and its own, then sleeps: the test waits for those files, so it knows the step is in flight.

use crate::support;
use std::process::Stdio;
use std::time::Duration;
use support::*;

fn slow(name: &str, secs: u32, depends: &str) -> String {
    format!(
        "  {name}:\n    type: local:index:Command\n    properties:\n      create: echo $PPID > {name}.provider.pid; echo $$ > {name}.script.pid; exec sleep {secs}\n    options:\n      dependsOn: [\"${{{depends}}}\"]\n"
    )
}

fn random(name: &str) -> String {
    format!("  {name}:\n    type: local:index:Random\n    properties:\n      length: 6\n")
}

fn pending(p: &Project) -> Vec<serde_json::Value> {
    p.state()["deployment"]["pending_operations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn provider_killed_mid_create_leaves_a_pending_operation_reported_next_run() {
    let p = Project::local(&format!(
        "resources:\n{}{}",
        random("a"),
        slow("slow", 120, "a")
    ));
    let _guard = KillOnDrop(vec![
        p.path().join("slow.script.pid"),
        p.path().join("slow.provider.pid"),
    ]);
    let child = p
        .command(&["up", "--yes", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the slow create to start", Duration::from_secs(120), || {
        read_pid(&p.path().join("slow.script.pid")).is_some()
    });
    let provider = read_pid(&p.path().join("slow.provider.pid")).unwrap();
    kill(provider, Signal::KILL);
    let r = Run::from(child.wait_with_output().unwrap());
    assert_eq!(r.code, 1, "{}", r.describe());
    assert!(
        r.stderr.contains("slow") && r.stderr.contains("pending operation stays recorded"),
        "{}",
        r.stderr
    );
    let ops = pending(&p);
    assert_eq!(ops.len(), 1, "{}", p.state());
    assert_eq!(ops[0]["type"], "creating");
    assert!(
        ops[0]["resource"]["urn"]
            .as_str()
            .unwrap()
            .ends_with("::slow")
    );
    assert!(p.resource("a").is_some(), "the finished step is kept");

    // Next run: reported with what to do, and refused until resolved.
    let r = p.run(&["up"]);
    assert_eq!(r.code, 3, "{}", r.describe());
    assert!(
        r.stderr.contains("Creating")
            && r.stderr.contains("::slow")
            && r.stderr.contains("--clear-pending"),
        "{}",
        r.stderr
    );
    // Preview only warns.
    let r = p.run(&["preview"]).ok();
    assert!(r.events.iter().any(|e| {
        e["event"] == "log"
            && e["message"]
                .as_str()
                .unwrap_or("")
                .contains("never confirmed")
    }));
    // Resolve: the slow command becomes quick, and the record is dropped.
    p.write_local(&format!("resources:\n{}  slow:\n    type: local:index:Command\n    properties:\n      create: echo done\n", random("a")));
    let r = p.run(&["up", "--clear-pending"]).ok();
    assert_eq!(r.step("slow")["op"], "create");
    assert!(pending(&p).is_empty());
    p.run(&["destroy"]).ok();
}

#[test]
fn engine_killed_mid_up_leaves_valid_state_and_the_next_run_recovers() {
    let p = Project::local(&format!("resources:\n{}{}", random("a"), random("b")));
    p.run(&["up"]).ok();
    let a_id = p.resource("a").unwrap()["id"].clone();
    p.write_local(&format!(
        "resources:\n{}{}{}{}  d:\n    type: local:index:Random\n    properties:\n      length: 3\n    options:\n      dependsOn: [\"${{slow}}\"]\n",
        random("a"),
        random("b"),
        random("c"),
        slow("slow", 120, "c")
    ));
    let _guard = KillOnDrop(vec![
        p.path().join("slow.script.pid"),
        p.path().join("slow.provider.pid"),
    ]);
    let mut child = p
        .command(&["up", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the slow create to start", Duration::from_secs(120), || {
        read_pid(&p.path().join("slow.script.pid")).is_some()
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The provider it launched is orphaned: stop it and its script.
    kill(
        read_pid(&p.path().join("slow.provider.pid")).unwrap(),
        Signal::KILL,
    );
    kill(
        read_pid(&p.path().join("slow.script.pid")).unwrap(),
        Signal::KILL,
    );

    // The checkpoint is still valid JSON (the previous run's), and the journal holds this run.
    let before = p.state();
    assert_eq!(before["version"], 3);
    assert!(p.path().join(".pulumi-harness/dev.journal").exists());

    // The next run replays the journal: `c` was created, `slow` is a pending create.
    let r = p.run(&["up"]);
    assert_eq!(r.code, 3, "{}", r.describe());
    assert!(
        r.events
            .iter()
            .any(|e| e["message"].as_str().unwrap_or("").contains("recovered")),
        "{}",
        r.describe()
    );
    let c_id = p.resource("c").expect("c was created before the crash")["id"].clone();
    assert_eq!(pending(&p).len(), 1);
    assert!(
        !p.path().join(".pulumi-harness/dev.journal").exists(),
        "recovered state is compacted"
    );

    p.write_local(&format!("resources:\n{}{}{}  slow:\n    type: local:index:Command\n    properties:\n      create: echo ok\n", random("a"), random("b"), random("c")));
    let r = p.run(&["up", "--clear-pending"]).ok();
    assert_eq!(r.step("c")["op"], "same", "{}", r.describe());
    assert_eq!(r.step("slow")["op"], "create");
    assert_eq!(p.resource("c").unwrap()["id"], c_id);
    assert_eq!(p.resource("a").unwrap()["id"], a_id);
    p.run(&["destroy"]).ok();
}

#[test]
fn ctrl_c_during_up_finishes_running_steps_saves_state_and_stops() {
    let p = Project::local(&format!(
        "resources:\n{}{}  after:\n    type: local:index:Random\n    properties:\n      length: 3\n    options:\n      dependsOn: [\"${{slow}}\"]\n",
        random("a"),
        slow("slow", 3, "a")
    ));
    let _guard = KillOnDrop(vec![p.path().join("slow.script.pid")]);
    let child = p
        .command(&["up", "--yes", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the slow create to start", Duration::from_secs(120), || {
        read_pid(&p.path().join("slow.script.pid")).is_some()
    });
    kill(child.id() as i32, Signal::INT);
    let r = Run::from(child.wait_with_output().unwrap());
    assert_eq!(r.code, 130, "{}", r.describe());
    assert!(r.stderr.contains("interrupted"), "{}", r.stderr);
    assert!(
        r.step("after").is_null(),
        "no new step after Ctrl-C: {}",
        r.describe()
    );
    assert!(p.resource("a").is_some());
    assert!(p.resource("after").is_none());
    assert!(
        pending(&p).is_empty(),
        "the in-flight step finished and was recorded: {}",
        p.state()
    );
    // The provider was shut down with the engine: its script is gone too.
    let script = read_pid(&p.path().join("slow.script.pid")).unwrap();
    wait_for("the script to stop", Duration::from_secs(30), || {
        !alive(script)
    });
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("after")["op"], "create", "{}", r.describe());
    p.run(&["destroy"]).ok();
}

#[test]
fn second_ctrl_c_stops_at_once_and_kills_the_plugins() {
    // The script ignores SIGTERM, so after the first Ctrl-C the provider needs seconds (its
    // SIGTERM-then-SIGKILL grace) to stop it; the second Ctrl-C does not wait.
    let p = Project::local(&format!(
        "resources:\n{}  stubborn:\n    type: local:index:Command\n    properties:\n      create: trap '' TERM; echo $PPID > stubborn.provider.pid; echo $$ > stubborn.script.pid; exec sleep 60\n",
        random("a")
    ));
    let _guard = KillOnDrop(vec![
        p.path().join("stubborn.script.pid"),
        p.path().join("stubborn.provider.pid"),
    ]);
    let child = p
        .command(&["up", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(
        "the stubborn create to start",
        Duration::from_secs(120),
        || read_pid(&p.path().join("stubborn.script.pid")).is_some(),
    );
    kill(child.id() as i32, Signal::INT);
    std::thread::sleep(Duration::from_millis(200));
    kill(child.id() as i32, Signal::INT);
    let r = Run::from(child.wait_with_output().unwrap());
    assert_eq!(r.code, 130, "{}", r.describe());
    assert!(r.stderr.contains("interrupted twice"), "{}", r.stderr);
    let provider = read_pid(&p.path().join("stubborn.provider.pid")).unwrap();
    wait_for("the provider to be killed", Duration::from_secs(30), || {
        !alive(provider)
    });
    // The next run recovers from the journal and reports the create that never finished.
    let r = p.run(&["up"]);
    assert_eq!(r.code, 3, "{}", r.describe());
    assert!(p.resource("a").is_some());
}
