//! A hung program and the signals that stop a run, end to end: the real binary running a
//! Python program (Pulumi's own SDK) that hangs after its first resource, with a child
//! process of its own. One Ctrl-C, or one SIGTERM, stops the program's whole process group
//! and ends the run as Ctrl-C does: state saved, nothing pending, nothing left running.

use crate::support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::programs::*;
use support::*;

/// The `python-hangs` fixture, rewritten to record its pid and its child's, and to say when it
/// hangs: after its resource is created, in an `apply`, for ten minutes.
fn hanging_program() -> Project {
    let p = sdk_project(Sdk::Python, "hangs");
    let at = |f: &str| p.path().join(f).display().to_string();
    let main = format!(
        r#"import os
import subprocess
import time

from pulumi import CustomResource

open({program:?}, "w").write(str(os.getpid()))
child = subprocess.Popen(["sleep", "600"])
open({child:?}, "w").write(str(child.pid))


class Random(CustomResource):
    def __init__(self, name, length):
        super().__init__("local:index:Random", name, {{"length": length, "result": None}})


def hang(_):
    open({hanging:?}, "w").write("1")
    time.sleep(600)


Random("r", 1).result.apply(hang)
"#,
        program = at("program.pid"),
        child = at("child.pid"),
        hanging = at("hanging"),
    );
    p.write("__main__.py", &main);
    p
}

fn finish(mut child: Child, within: Duration) -> Run {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > within {
            let _ = child.kill();
            let r = Run::from(child.wait_with_output().unwrap());
            panic!(
                "the run did not stop within {within:?} of one signal:\n{}",
                r.describe()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Run::from(child.wait_with_output().unwrap())
}

/// Runs `up` on the hanging program, sends `signal` once it hangs, and checks the run stopped
/// as Ctrl-C stops it, leaving no process behind. Returns the run.
fn stop_hung_program_with(signal: Signal) -> Run {
    let p = hanging_program();
    let path = |f: &str| p.path().join(f);
    let _guard = KillOnDrop(vec![path("program.pid"), path("child.pid")]);
    let engine = p
        .command(&["up", "--yes", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the program to hang", Duration::from_secs(300), || {
        path("hanging").exists()
    });
    let program = read_pid(&path("program.pid")).unwrap();
    let child = read_pid(&path("child.pid")).unwrap();
    assert!(alive(program) && alive(child));
    kill(engine.id() as i32, signal);
    // The program's grace period is 5 s; well under a minute in all.
    let r = finish(engine, Duration::from_secs(60));
    assert!(r.stderr.contains("interrupted"), "{}", r.describe());
    for (what, pid) in [("program", program), ("its child", child)] {
        wait_for(&format!("{what} to stop"), Duration::from_secs(10), || {
            !alive(pid)
        });
    }
    // The resource created before the hang is in the state, and nothing is pending.
    assert!(p.resource("r").is_some(), "{}", p.state());
    assert!(
        p.state()["deployment"]["pending_operations"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "{}",
        p.state()
    );
    assert!(!path(".pulumi-harness/dev.journal").exists());
    r
}

#[test]
fn one_ctrl_c_stops_a_hung_python_program_and_its_children() {
    let r = stop_hung_program_with(Signal::INT);
    assert_eq!(r.code, 130, "{}", r.describe());
}

#[test]
fn sigterm_stops_a_hung_python_program_as_ctrl_c_does() {
    let r = stop_hung_program_with(Signal::TERM);
    assert_eq!(r.code, 143, "{}", r.describe());
    assert!(r.stderr.contains("SIGTERM"), "{}", r.describe());
}

#[test]
fn sigterm_during_a_yaml_up_saves_the_state_and_a_second_signal_stops_at_once() {
    let p = Project::local(
        "resources:\n  slow:\n    type: local:index:Command\n    properties:\n      create: trap '' INT TERM; echo $$ > slow.pid; exec sleep 60\n",
    );
    let _guard = KillOnDrop(vec![p.path().join("slow.pid")]);
    let engine = p
        .command(&["up", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the create to start", Duration::from_secs(120), || {
        read_pid(&p.path().join("slow.pid")).is_some()
    });
    kill(engine.id() as i32, Signal::TERM);
    std::thread::sleep(Duration::from_millis(300));
    kill(engine.id() as i32, Signal::TERM);
    let r = finish(engine, Duration::from_secs(30));
    assert_eq!(r.code, 143, "{}", r.describe());
    assert!(
        r.stderr.contains("received SIGTERM") && r.stderr.contains("stopped at once"),
        "{}",
        r.describe()
    );
    // The lock went with it, though the hard stop skipped the destructors.
    let locks: Vec<_> = std::fs::read_dir(p.path().join(".pulumi-harness/locks/dev"))
        .unwrap()
        .collect();
    assert!(locks.is_empty(), "{locks:?}");
    // The next run recovers the journal and reports the create that never finished.
    let next = p.run(&["up"]);
    assert_eq!(next.code, 3, "{}", next.describe());
    assert!(!next.stderr.contains("stale lock"), "{}", next.describe());
}
