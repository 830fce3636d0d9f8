//! Interop: a client this project did not write, the generated stubs shipped in Pulumi's own
//! Python SDK (`pulumi.runtime.proto`), launches our plugins the way the engine does and drives
//! them (`tests/python/interop.py`). The test installs what it needs: the tests' one virtualenv
//! with Pulumi's Python SDK (`test_support::programs::python_venv`, made once).

use crate::support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The whole script takes seconds; this bound only stops a hung run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);

/// What a finished (or killed) command left.
struct Ran {
    /// Exited with status 0.
    ok: bool,
    stdout: String,
    /// The exit status (or the timeout), stdout and stderr, for failure messages.
    report: String,
}

/// Runs `command` to completion within `timeout`; on timeout it is killed and reaped.
fn run(mut command: Command, timeout: Duration) -> Ran {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child.stderr.take().map(|p| Box::new(p) as _),
    ]
    .into_iter()
    .flatten()
    .map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    })
    .collect();
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut texts = readers.into_iter().map(|r| r.join().unwrap_or_default());
    let (stdout, stderr) = (
        texts.next().unwrap_or_default(),
        texts.next().unwrap_or_default(),
    );
    let outcome = match status {
        Some(status) => status.to_string(),
        None => format!("killed after {timeout:?}"),
    };
    Ran {
        ok: status.is_some_and(|s| s.success()),
        report: format!("({outcome})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"),
        stdout,
    }
}

#[test]
fn pulumis_python_stubs_drive_our_plugins() {
    let root = support::workspace_root();
    let python_dir = root.join("tests").join("python");

    let python = test_support::programs::venv_python();

    let local = support::binary("pulumi-resource-local");
    let fixture = support::binary("pulumi-resource-fixture");
    let version = support::package_version("provider-example");

    let scratch = tempfile::tempdir().expect("a scratch directory");
    let mut script = Command::new(&python);
    script
        .arg(python_dir.join("interop.py"))
        .arg("--local")
        .arg(&local)
        .arg("--fixture")
        .arg(&fixture)
        .args(["--expect-version", &version])
        .current_dir(scratch.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    let ran = run(script, SCRIPT_TIMEOUT);
    assert!(ran.ok, "interop.py failed {}", ran.report);
    assert!(
        ran.stdout.contains(" 0 failed"),
        "interop.py did not report its summary {}",
        ran.report
    );
}
