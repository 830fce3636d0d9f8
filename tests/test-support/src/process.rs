//! Processes a test started, or that its fixtures reported: whether they run, signalling them,
//! waiting for a condition.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use rustix::process::Signal;

/// Whether process `pid` is running. A zombie (exited, not yet reaped) counts as gone: it
/// holds no resources and runs no code.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
        Err(_) => false,
    }
}

/// Sends `sig` to `pid` (a process this test started or one its fixture reported); a process
/// that is already gone is not an error.
pub fn kill(pid: i32, sig: Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Reads a pid file.
pub fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Kills the processes recorded in these pid files when dropped (for processes a killed
/// engine leaves behind).
pub struct KillOnDrop(pub Vec<PathBuf>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for p in &self.0 {
            if let Some(pid) = read_pid(p) {
                kill(pid, Signal::KILL);
            }
        }
    }
}

/// Waits (generously: a loaded two-core machine must not make a test flaky) until `f` is
/// true; panics naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
