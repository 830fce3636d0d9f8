//! Shared support for the engine's end-to-end tests: write a project into a temporary
//! directory, run the `engine-harness` binary and read its JSON events. Processes, ports and the
//! workspace's binaries come from the workspace's `test-support` crate.
#![allow(dead_code)]

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod programs;

pub use test_support::{
    KillOnDrop, Signal, alive, free_port, kill, read_pid, wait_for, workspace_binary,
    workspace_root,
};

/// The `pulumi-resource-local` binary (the example provider).
pub fn local_provider() -> PathBuf {
    workspace_binary("pulumi-resource-local")
}

/// A project in a temporary directory.
pub struct Project {
    /// The temporary project directory.
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A project named `t` whose `local` plugin is the built example provider, with `local:root: .`.
    pub fn local(resources_yaml: &str) -> Self {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        p.write_local(resources_yaml);
        p
    }

    /// Rewrites Pulumi.yaml with new resources (and outputs, if the text has them).
    pub fn write_local(&self, body: &str) {
        let yaml = format!(
            "name: t\nruntime: yaml\nplugins:\n  providers:\n    - name: local\n      path: {}\nconfig:\n  local:root: .\n{body}",
            local_provider().display()
        );
        self.write("Pulumi.yaml", &yaml);
    }

    /// The project directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file into the project.
    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.path().join(file), text).unwrap();
    }

    /// The checkpoint, parsed.
    pub fn state(&self) -> Json {
        let text = std::fs::read_to_string(self.path().join(".pulumi-harness/dev.json"))
            .expect("state file");
        serde_json::from_str(&text).expect("state is valid JSON")
    }

    /// The custom, non-provider resources in state.
    pub fn resources(&self) -> Vec<Json> {
        self.state()["deployment"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| {
                r["custom"] == true && !r["type"].as_str().unwrap_or("").starts_with("pulumi:")
            })
            .collect()
    }

    /// The resource named `name` in state.
    pub fn resource(&self, name: &str) -> Option<Json> {
        self.resources()
            .into_iter()
            .find(|r| r["urn"].as_str().unwrap().ends_with(&format!("::{name}")))
    }

    /// The harness command for this project (without --json/--yes).
    pub fn command(&self, args: &[&str]) -> Command {
        programs::prepare_sdks();
        let mut c = Command::new(env!("CARGO_BIN_EXE_engine-harness"));
        c.args(args)
            .arg("--cwd")
            .arg(self.path())
            .stdin(Stdio::null());
        c
    }

    /// The harness command for `args` as [`Project::run`] runs it: an operation gets `--json`,
    /// and `--yes` but for `preview`; a `config` command gets neither.
    pub fn run_command(&self, args: &[&str]) -> Command {
        let mut all = args.to_vec();
        if args[0] != "config" {
            all.push("--json");
            if args[0] != "preview" {
                all.push("--yes");
            }
        }
        self.command(&all)
    }

    /// Runs the harness (see [`Project::run_command`]) and returns the result.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.run_command(args).output().expect("run engine-harness"))
    }

    /// Runs the harness and asserts success, naming the command.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "{args:?}:\n{}", run.describe());
        run
    }
}

/// A finished run.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// JSON events from stdout.
    pub events: Vec<Json>,
    /// Raw stdout.
    pub stdout: String,
    /// Raw stderr.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let events = stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        Run {
            code: out.status.code().unwrap_or(-1),
            events,
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    }
}

impl Run {
    /// Step events as (op, name, status).
    pub fn steps(&self) -> Vec<(String, String, String)> {
        let mut v: Vec<_> = self
            .events
            .iter()
            .filter(|e| e["event"] == "step")
            .map(|e| {
                (
                    e["op"].as_str().unwrap().to_string(),
                    e["name"].as_str().unwrap().to_string(),
                    e["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// The step event of `name` (null if none).
    pub fn step(&self, name: &str) -> Json {
        self.events
            .iter()
            .find(|e| e["event"] == "step" && e["name"] == name)
            .cloned()
            .unwrap_or(Json::Null)
    }

    /// The summary event.
    pub fn summary(&self) -> Json {
        self.events
            .iter()
            .find(|e| e["event"] == "summary")
            .cloned()
            .unwrap_or(Json::Null)
    }

    /// Asserts success.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Everything, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A step triple.
pub fn s(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_string(), b.to_string(), c.to_string())
}
