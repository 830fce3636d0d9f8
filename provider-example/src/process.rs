//! Local processes: running a shell command to completion, starting a detached long-running
//! process, and stopping a whole process group.
//!
//! Everything here is plain Rust over `tokio::process` and `/proc`; the resources
//! ([`crate::command`], [`crate::service`]) turn it into provider operations.
//!
//! Two rules keep the provider from leaking processes:
//! - every command runs in its **own process group** (a command's children included), so a
//!   timeout, a cancellation or a delete can signal the whole group at once;
//! - a command that ran to completion has its group killed afterwards, so a stray background
//!   job (`sleep 100 &`) does not outlive the resource that started it. Long-running processes
//!   belong in a [`crate::service`] instead, which starts them in their own session so they
//!   survive the provider's exit.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use provider_sdk::{Error, Result};
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much of a command's stdout (and, separately, stderr) is kept.
pub(crate) const OUTPUT_LIMIT: usize = 1024 * 1024;

/// How long a process group gets between SIGTERM and SIGKILL.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(3);

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// One-letter state: `R`, `S`, `D`, `Z` (zombie), `T`, ...
    pub state: char,
    /// The process group id.
    pub pgrp: i32,
    /// When the process started, in clock ticks after boot: with the pid, it names one process
    /// (pids are reused, start times are not).
    pub start_ticks: u64,
}

/// Reads `/proc/<pid>/stat`; `None` when there is no such process.
pub(crate) fn stat(pid: i32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<ProcStat> {
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses, so split after
    // the last `)`. Field 3 (state) is index 0 of the rest, field 22 (starttime) index 19.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// Whether process `pid` is running (a zombie is not), and, when `start_ticks` is given, is
/// the same process that started at that time rather than a later one that reused the pid.
pub(crate) fn is_alive(pid: i32, start_ticks: Option<u64>) -> bool {
    match stat(pid) {
        Some(s) => {
            s.state != 'Z' && s.state != 'X' && start_ticks.is_none_or(|t| t == s.start_ticks)
        }
        None => false,
    }
}

/// The running (non-zombie) members of process group `pgid`.
pub(crate) fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            stat(*pid).is_some_and(|s| s.pgrp == pgid && s.state != 'Z' && s.state != 'X')
        })
        .collect()
}

/// Sends `signal` to every process in group `pgid`. A group that no longer exists is fine.
pub(crate) fn signal_group(pgid: i32, signal: i32) -> io::Result<()> {
    if pgid <= 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to signal process group {pgid}"),
        ));
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of this process.
    let rc = unsafe { libc::kill(-pgid, signal) };
    if rc == 0 {
        return Ok(());
    }
    match io::Error::last_os_error() {
        e if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        e => Err(e),
    }
}

/// How a process group ended when asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// Nothing was running.
    AlreadyGone,
    /// Every member exited after SIGTERM.
    Terminated,
    /// Some member ignored SIGTERM for `grace` and was killed with SIGKILL.
    Killed,
}

/// Stops process group `pgid`: SIGTERM, then SIGKILL for whatever is left after `grace`.
/// Returns once no member is running (a zombie left for its parent to reap counts as gone).
pub(crate) async fn stop_group(pgid: i32, grace: Duration) -> io::Result<Stopped> {
    if group_members(pgid).is_empty() {
        return Ok(Stopped::AlreadyGone);
    }
    signal_group(pgid, libc::SIGTERM)?;
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline {
        if group_members(pgid).is_empty() {
            return Ok(Stopped::Terminated);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    signal_group(pgid, libc::SIGKILL)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !group_members(pgid).is_empty() {
        if tokio::time::Instant::now() >= deadline {
            return Err(io::Error::other(format!(
                "process group {pgid} survived SIGKILL for 10 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Stopped::Killed)
}

/// Kills a process group when dropped, unless disarmed: if the future running an operation is
/// dropped midway (the engine went away), the processes it started do not linger.
#[derive(Debug)]
pub(crate) struct GroupGuard {
    pgid: i32,
    armed: bool,
}

impl GroupGuard {
    /// Guards process group `pgid`.
    pub(crate) fn new(pgid: i32) -> Self {
        GroupGuard {
            pgid,
            armed: pgid > 1,
        }
    }

    /// Leaves the group running after all.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = signal_group(self.pgid, libc::SIGKILL);
        }
    }
}

/// A shell command to run: `/bin/sh -c <script>` in `dir` with `env` added to the provider's
/// environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    /// The shell script.
    pub script: String,
    /// The working directory.
    pub dir: PathBuf,
    /// Environment variables to set.
    pub env: BTreeMap<String, String>,
    /// Whether anything about the command is secret: then its output is never quoted in an
    /// error message.
    pub secret: bool,
}

/// What a command that exited 0 printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Output {
    /// Standard output, trailing newlines removed.
    pub stdout: String,
    /// Standard error, trailing newlines removed.
    pub stderr: String,
}

/// Runs `script` to completion in its own process group.
///
/// - exit 0: its output;
/// - another exit status: [`Error::Failed`] with the status and the end of stderr (unless
///   secret);
/// - `timeout` elapsed: the group is stopped and the error is [`Error::Timeout`];
/// - `cancelled` completed: the group is stopped and the error is [`Error::Cancelled`].
///
/// `what` names the command in messages, such as "the create command of `build`".
pub(crate) async fn run(
    what: &str,
    script: &Script,
    timeout: Option<Duration>,
    cancelled: impl Future<Output = ()>,
) -> Result<Output> {
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(&script.script)
        .current_dir(&script.dir)
        .envs(&script.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Error::failed(format!(
            "{what}: cannot start /bin/sh in {}: {e}",
            script.dir.display()
        ))
    })?;
    let pgid = child.id().map(|id| id as i32).unwrap_or_default();
    // Whatever happens below (even this future being dropped), the group ends with the command.
    let _guard = GroupGuard::new(pgid);
    let stdout = tokio::spawn(read_capped(child.stdout.take()));
    let stderr = tokio::spawn(read_capped(child.stderr.take()));

    let expired = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let interrupted = tokio::select! {
        status = child.wait() => Ok(status),
        _ = expired => Err(true),
        _ = cancelled => Err(false),
    };
    let status = match interrupted {
        Ok(status) => status.map_err(|e| {
            Error::OutcomeUnknown(format!("{what}: waiting for the command failed: {e}"))
        })?,
        Err(timed_out) => {
            let how = stop_group(pgid, STOP_GRACE).await;
            let _ = child.wait().await;
            stdout.abort();
            stderr.abort();
            let how = match how {
                Ok(Stopped::Killed) => {
                    "killed its process group (SIGTERM, then SIGKILL)".to_string()
                }
                Ok(_) => "terminated its process group (SIGTERM)".to_string(),
                Err(e) => format!("could not stop its process group {pgid}: {e}"),
            };
            return Err(if timed_out {
                let t = timeout.unwrap_or_default();
                Error::Timeout(format!(
                    "{what} ran longer than the custom timeout of {} s; {how}",
                    t.as_secs_f64()
                ))
            } else {
                Error::Cancelled(format!("{what} was cancelled; {how}"))
            });
        }
    };
    // The command is done: whatever it left running in its group goes too, so that the pipes
    // close and nothing outlives the resource.
    let _ = signal_group(pgid, libc::SIGKILL);
    let collect = |task: tokio::task::JoinHandle<Vec<u8>>| async move {
        match tokio::time::timeout(Duration::from_secs(10), task).await {
            Ok(Ok(bytes)) => trim_output(&bytes),
            _ => String::new(),
        }
    };
    let output = Output {
        stdout: collect(stdout).await,
        stderr: collect(stderr).await,
    };
    if status.success() {
        return Ok(output);
    }
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => "failed".to_string(),
    };
    let detail = if script.secret {
        " (its output is not shown because the command or its environment is secret)".to_string()
    } else if output.stderr.is_empty() {
        String::new()
    } else {
        format!("; stderr ends with:\n{}", tail(&output.stderr, 2000))
    };
    Err(Error::failed(format!("{what} {how}{detail}")))
}

async fn read_capped(pipe: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let Some(mut pipe) = pipe else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    kept
}

fn trim_output(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches(['\n', '\r'])
        .to_string()
}

/// The last `max` bytes of `text` (at a character boundary).
pub(crate) fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// A process started by [`spawn_detached`].
#[derive(Debug)]
pub(crate) struct Detached {
    /// Its pid, which is also its process group and session id.
    pub pid: i32,
    /// Its start time, to tell it from a later process with the same pid.
    pub start_ticks: u64,
    /// The handle, to notice an early exit; dropping it leaves the process running.
    pub child: tokio::process::Child,
}

/// Starts `script` as a long-running process in a new session (and so a new process group),
/// detached from the provider: the engine's signals to the provider's group do not reach it,
/// and it keeps running after the provider exits. Its stdout and stderr go to `log` (appended)
/// or nowhere.
pub(crate) fn spawn_detached(
    script: &Script,
    log: Option<&std::path::Path>,
) -> io::Result<Detached> {
    let (stdout, stderr) = match log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            (Stdio::from(file.try_clone()?), Stdio::from(file))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(&script.script)
        .current_dir(&script.dir)
        .envs(&script.env)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(false);
    // SAFETY: the closure runs in the forked child before exec and calls only setsid(2), which
    // is async-signal-safe, and reads errno.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        });
    }
    let child = cmd.spawn()?;
    let pid = child
        .id()
        .map(|id| id as i32)
        .ok_or_else(|| io::Error::other("the process exited at once"))?;
    let start_ticks = stat(pid).map(|s| s.start_ticks).unwrap_or_default();
    Ok(Detached {
        pid,
        start_ticks,
        child,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(s: &str) -> Script {
        Script {
            script: s.to_string(),
            dir: std::env::temp_dir(),
            ..Default::default()
        }
    }

    #[test]
    fn parses_proc_stat_with_awkward_names() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.state, 'S');
        assert_eq!(s.pgrp, 4242);
        assert_eq!(s.start_ticks, 987654);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_is_alive_and_a_bogus_one_is_not() {
        let me = std::process::id() as i32;
        let s = stat(me).unwrap();
        assert!(is_alive(me, Some(s.start_ticks)));
        assert!(
            !is_alive(me, Some(s.start_ticks + 1)),
            "a different start time is a different process"
        );
        assert!(!is_alive(i32::MAX - 1, None));
    }

    #[tokio::test]
    async fn runs_a_command_with_env_and_dir() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = script("echo \"$GREETING from $(pwd)\"; echo oops >&2");
        s.dir = dir.path().to_path_buf();
        s.env.insert("GREETING".into(), "hello".into());
        let out = run("test", &s, None, std::future::pending()).await.unwrap();
        let real = dir.path().canonicalize().unwrap();
        assert_eq!(out.stdout, format!("hello from {}", real.display()));
        assert_eq!(out.stderr, "oops");
    }

    #[tokio::test]
    async fn a_failing_command_reports_its_status_and_stderr() {
        let err = run(
            "the create command",
            &script("echo broken pipe dream >&2; exit 3"),
            None,
            std::future::pending(),
        )
        .await
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Failed(_)), "{err:?}");
        assert!(
            msg.contains("exited with status 3") && msg.contains("broken pipe dream"),
            "{msg}"
        );

        let mut secret = script("echo hunter2 >&2; exit 1");
        secret.secret = true;
        let msg = run("x", &secret, None, std::future::pending())
            .await
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_group() {
        let started = std::time::Instant::now();
        let s = script("sleep 300 & echo $! > /dev/null; sleep 300");
        let err = run(
            "the create command",
            &s,
            Some(Duration::from_millis(300)),
            std::future::pending(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
        assert!(err.to_string().contains("process group"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[tokio::test]
    async fn cancellation_stops_the_command_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pids");
        let mut s = script(&format!(
            "sleep 300 & echo $! >> {0}; echo $$ >> {0}; wait",
            pidfile.display()
        ));
        s.dir = dir.path().to_path_buf();
        let token = std::sync::Arc::new(tokio::sync::Notify::new());
        let trigger = token.clone();
        let p = pidfile.clone();
        tokio::spawn(async move {
            while std::fs::read_to_string(&p)
                .map(|t| t.lines().count() < 2)
                .unwrap_or(true)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            trigger.notify_one();
        });
        let err = run("the create command", &s, None, async move {
            token.notified().await
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Cancelled(_)), "{err:?}");
        for pid in std::fs::read_to_string(&pidfile).unwrap().lines() {
            let pid: i32 = pid.trim().parse().unwrap();
            assert!(!is_alive(pid, None), "process {pid} survived cancellation");
        }
    }

    #[tokio::test]
    async fn background_jobs_do_not_outlive_a_finished_command() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = script("sleep 300 & echo $!");
        s.dir = dir.path().to_path_buf();
        let out = run("x", &s, None, std::future::pending()).await.unwrap();
        let pid: i32 = out.stdout.trim().parse().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while is_alive(pid, None) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            !is_alive(pid, None),
            "background job {pid} outlived its command"
        );
    }

    #[tokio::test]
    async fn detached_processes_get_their_own_session_and_stop_on_request() {
        let s = script("sleep 300");
        let d = spawn_detached(&s, None).unwrap();
        let st = stat(d.pid).unwrap();
        assert_eq!(st.pgrp, d.pid, "the process leads its own group");
        assert_ne!(st.pgrp, stat(std::process::id() as i32).unwrap().pgrp);
        assert!(is_alive(d.pid, Some(d.start_ticks)));
        assert_eq!(
            stop_group(d.pid, STOP_GRACE).await.unwrap(),
            Stopped::Terminated
        );
        assert!(!is_alive(d.pid, Some(d.start_ticks)));
        assert_eq!(
            stop_group(d.pid, STOP_GRACE).await.unwrap(),
            Stopped::AlreadyGone
        );
        drop(d.child);
    }

    #[tokio::test]
    async fn a_guard_kills_its_group_unless_disarmed() {
        let d = spawn_detached(&script("sleep 300"), None).unwrap();
        drop(GroupGuard::new(d.pid));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while is_alive(d.pid, Some(d.start_ticks)) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            !is_alive(d.pid, Some(d.start_ticks)),
            "a dropped guard kills the group"
        );

        let kept = spawn_detached(&script("sleep 300"), None).unwrap();
        GroupGuard::new(kept.pid).disarm();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            is_alive(kept.pid, Some(kept.start_ticks)),
            "a disarmed guard leaves it running"
        );
        stop_group(kept.pid, STOP_GRACE).await.unwrap();
    }

    #[tokio::test]
    async fn a_process_that_ignores_sigterm_is_killed() {
        let d = spawn_detached(
            &script("trap '' TERM; while true; do sleep 0.1; done"),
            None,
        )
        .unwrap();
        // Give the shell time to install its trap.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            stop_group(d.pid, Duration::from_millis(500)).await.unwrap(),
            Stopped::Killed
        );
        assert!(group_members(d.pid).is_empty());
    }
}
