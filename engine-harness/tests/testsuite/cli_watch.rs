//! `engine-harness watch`: a provider crate named in `plugins.providers` is rebuilt with
//! cargo after an edit (a broken edit shows cargo's error and runs nothing), and the program
//! is applied once per change.
//!
//! The provider crate is a small one without dependencies, so that cargo builds it in
//! seconds: its binary notes its build's `VERSION` in a file, then becomes (exec) the
//! example provider.

use crate::support;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

fn wrapper_source(version: u32, launches: &Path) -> String {
    format!(
        r#"use std::io::Write;
use std::os::unix::process::CommandExt;
const VERSION: u32 = {version};
fn main() {{
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open({launches:?}).unwrap();
    writeln!(f, "{{VERSION}}").unwrap();
    let err = std::process::Command::new({provider:?}).args(std::env::args().skip(1)).exec();
    panic!("exec: {{err}}");
}}
"#,
        provider = local_provider(),
    )
}

fn program(content: &str, krate: &Path) -> String {
    format!(
        "name: t\nruntime: yaml\nplugins:\n  providers:\n    - name: local\n      path: {}\nconfig:\n  local:root: .\nresources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: {content}\n",
        krate.display()
    )
}

/// The watch's stdout lines, collected as they come.
struct Watch {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watch {
    fn lines_with(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    fn wait_lines(&self, needle: &str, n: usize) {
        wait_for(
            &format!("{n} watch lines with `{needle}`"),
            Duration::from_secs(240),
            || self.lines_with(needle) >= n,
        );
    }

    fn all(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        kill(self.child.id() as i32, Signal::INT);
        let _ = self.child.wait();
    }
}

#[test]
fn watch_rebuilds_the_provider_after_an_edit_and_applies_the_program_once_per_change() {
    let project = tempfile::tempdir().unwrap();
    let krate = tempfile::tempdir().unwrap();
    // Outside the crate: the provider's own writes are no edit of its sources.
    let logs = tempfile::tempdir().unwrap();
    let launches = logs.path().join("launches.log");
    std::fs::create_dir_all(krate.path().join("src")).unwrap();
    std::fs::write(
        krate.path().join("Cargo.toml"),
        "[package]\nname = \"wrapped-local\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[[bin]]\nname = \"pulumi-resource-local\"\npath = \"src/main.rs\"\n\n[workspace]\n",
    )
    .unwrap();
    let main_rs = krate.path().join("src/main.rs");
    std::fs::write(&main_rs, wrapper_source(1, &launches)).unwrap();
    let pulumi_yaml = project.path().join("Pulumi.yaml");
    std::fs::write(&pulumi_yaml, program("one", krate.path())).unwrap();

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_engine-harness"))
        .args(["watch", "--poll-ms", "100", "--cwd"])
        .arg(project.path())
        .env("CARGO_TARGET_DIR", krate.path().join("target"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start watch");
    let lines = Arc::new(Mutex::new(Vec::new()));
    for out in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(l);
            }
        });
    }
    let w = Watch { child, lines };
    let a = project.path().join("a.txt");

    // The first round: build, then up.
    w.wait_lines("up #1 succeeded", 1);
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "one");
    assert_eq!(w.lines_with("building local"), 1, "{}", w.all());

    // A program change: one run, no rebuild.
    std::fs::write(&pulumi_yaml, program("two", krate.path())).unwrap();
    w.wait_lines("up #2 succeeded (1 changes)", 1);
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "two");
    assert_eq!(w.lines_with("building local"), 1, "{}", w.all());

    // A broken provider edit: cargo's error is shown, nothing runs.
    std::fs::write(&main_rs, "fn main() { this is not rust }\n").unwrap();
    w.wait_lines("build failed, not running", 1);
    assert_eq!(w.lines_with("up #3"), 0, "{}", w.all());

    // The fix: rebuilt, and the run uses the new build.
    std::fs::write(&main_rs, wrapper_source(2, &launches)).unwrap();
    w.wait_lines("up #4 succeeded", 1);
    let launched = std::fs::read_to_string(&launches).unwrap();
    assert_eq!(
        launched.lines().last(),
        Some("2"),
        "the run after the edit launched the rebuilt provider: {launched}\n{}",
        w.all()
    );
    assert_eq!(w.lines_with("building local"), 3, "{}", w.all());

    // Quiet: nothing changes, nothing runs (the run's own writes to a.txt are no program change).
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        w.lines_with("succeeded"),
        3,
        "one run per change:\n{}",
        w.all()
    );
}
