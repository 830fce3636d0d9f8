//! Launching a plugin as Pulumi's engine does, and owning its process.
//!
//! [`Launch`] starts the program in its own process group (flags first, then the engine's
//! address as the last positional argument), reads its port line from stdout within a time
//! limit, and keeps draining stdout and stderr so the plugin never blocks on a full pipe.
//! [`PluginProcess`] owns the result: the port, what the plugin wrote, signals to its group,
//! and on drop it kills the whole group, so nothing is left behind. [`kill_all_launched`] is
//! for a hard stop of the whole engine.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::capture::{self, Captured};

/// How much of stderr a [`PluginProcess`] keeps by default (the tail).
pub const STDERR_KEEP: usize = 256 * 1024;
/// The longest port line read; a longer first line is taken as not a port.
pub const PORT_LINE_MAX: usize = 256;
/// How many stdout lines a tolerant launch reads while looking for the port.
pub const TOLERATED_LINES: usize = 200;

/// How strictly the port line is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PortLineRule {
    /// The first stdout line must be the port, as the engine requires.
    #[default]
    First,
    /// Accept a port among the first [`TOLERATED_LINES`] lines, recording what came before
    /// (a conformance check that wants to report the problem and go on).
    Tolerate,
}

/// What a plugin printed before its port, when [`PortLineRule::Tolerate`] accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortLineProblem {
    /// The first line, as printed (without the newline).
    pub first_line: String,
    /// The line number (1-based) of the port line, and the port.
    pub later_port: Option<(usize, u16)>,
}

/// How to start one plugin: a request, filled with the builder methods.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The program.
    pub program: PathBuf,
    /// Arguments before the engine's address (the program's own, then flags such as `-v=9`).
    pub args: Vec<OsString>,
    /// The engine's address, passed last; `None` runs the plugin with no engine (attach mode).
    pub engine_address: Option<String>,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
    /// The working directory (the program's directory when an engine launches a plugin).
    pub current_dir: Option<PathBuf>,
    /// How long the plugin has to print its port.
    pub port_timeout: Duration,
    /// How strictly the port line is read.
    pub port_line: PortLineRule,
    /// How many bytes of stderr to keep (the tail).
    pub stderr_keep: usize,
    /// A name for the debug log (defaults to the program's file name).
    pub label: String,
}

impl Launch {
    /// A launch of `program` with no arguments, no engine and a 60 s port timeout.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        let program = program.into();
        let label = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Launch {
            program,
            args: Vec::new(),
            engine_address: None,
            env: Vec::new(),
            current_dir: None,
            port_timeout: Duration::from_secs(60),
            port_line: PortLineRule::First,
            stderr_keep: STDERR_KEEP,
            label,
        }
    }

    /// Adds arguments (before the engine's address).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Passes `address` as the last argument.
    pub fn engine(mut self, address: impl Into<String>) -> Self {
        self.engine_address = Some(address.into());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets the working directory.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// Sets the port timeout.
    pub fn port_timeout(mut self, timeout: Duration) -> Self {
        self.port_timeout = timeout;
        self
    }

    /// Sets the port-line rule.
    pub fn port_line(mut self, rule: PortLineRule) -> Self {
        self.port_line = rule;
        self
    }

    /// Sets the label used in the debug log.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Starts the plugin and reads its port line.
    pub async fn start(self) -> Result<PluginProcess, LaunchError> {
        PluginProcess::start(self).await
    }
}

/// Why no port was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPort {
    /// Stdout closed (the plugin exited) first; the first line, if one was printed.
    Closed(Option<String>),
    /// The first line is not a port number (1-65535).
    NotAPort(String),
    /// Nothing usable within the time limit; the first line, if one was printed.
    Timeout(Duration, Option<String>),
    /// A tolerant launch read [`TOLERATED_LINES`] lines and none was a port.
    TooManyLines,
    /// Reading stdout failed.
    Read(String),
}

impl std::fmt::Display for NoPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoPort::Closed(None) => write!(f, "stdout closed before a port line was printed"),
            NoPort::Closed(Some(first)) => write!(
                f,
                "stdout closed without a port line; the first line was {first:?}"
            ),
            NoPort::NotAPort(line) => write!(
                f,
                "the first stdout line is {line:?}, not a port number; the engine reads the first line as the port"
            ),
            NoPort::Timeout(after, None) => write!(
                f,
                "no port line on stdout within {after:?}; a plugin must print its port first"
            ),
            NoPort::Timeout(after, Some(first)) => write!(
                f,
                "no port line on stdout within {after:?} (it printed {first:?} instead, which is not a port number); a plugin must print its port first"
            ),
            NoPort::TooManyLines => write!(
                f,
                "no port line among the first {TOLERATED_LINES} stdout lines"
            ),
            NoPort::Read(e) => write!(f, "reading stdout failed: {e}"),
        }
    }
}

/// A plugin that could not be launched.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// It started but gave no usable port; it has been killed.
    #[error("{program}: {why}{}{}", exit_note(.exit), tail_note(.stderr))]
    NoPort {
        /// The program.
        program: String,
        /// What went wrong.
        why: NoPort,
        /// Its exit status, when it had exited by itself.
        exit: Option<ExitStatus>,
        /// The end of its stderr.
        stderr: String,
    },
}

impl LaunchError {
    /// The reason alone, without the program's name (for a report that names it elsewhere).
    pub fn reason(&self) -> String {
        match self {
            LaunchError::Spawn { source, .. } => source.to_string(),
            LaunchError::NoPort {
                why, exit, stderr, ..
            } => format!("{why}{}{}", exit_note(exit), tail_note(stderr)),
        }
    }
}

fn exit_note(exit: &Option<ExitStatus>) -> String {
    exit.map(|s| format!("; the process exited ({s})"))
        .unwrap_or_default()
}

fn tail_note(stderr: &str) -> String {
    let tail = stderr.trim();
    if tail.is_empty() {
        String::new()
    } else {
        format!("; its stderr ended with:\n{}", last_chars(tail, 1200))
    }
}

/// The last `n` characters of `text`.
pub fn last_chars(text: &str, n: usize) -> &str {
    let start = text
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map(|(i, _)| i)
        .unwrap_or(0);
    &text[start..]
}

/// Process-group ids of the plugins launched and not yet dropped.
static LAUNCHED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Kills (SIGKILL) every plugin this process launched and still owns, with their process
/// groups: for a hard stop (a second Ctrl-C), so no plugin outlives the engine.
pub fn kill_all_launched() {
    let pids = LAUNCHED
        .lock()
        .map(|p| p.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    for pid in pids {
        let _ = signal_group(pid, Signal::KILL);
    }
}

/// Sends `signal` to the process group led by `pid` (a launched process and its children).
pub fn signal_group(pid: i32, signal: Signal) -> std::io::Result<()> {
    let pid = Pid::from_raw(pid).ok_or_else(|| std::io::Error::other("no process id"))?;
    Ok(rustix::process::kill_process_group(pid, signal)?)
}

/// A running plugin that printed its port. Dropping it kills its process group.
#[derive(Debug)]
pub struct PluginProcess {
    port: u16,
    port_line: String,
    problem: Option<PortLineProblem>,
    startup: Duration,
    pid: i32,
    label: String,
    child: Mutex<Option<Child>>,
    status: Mutex<Option<ExitStatus>>,
    stderr: Arc<Captured>,
    stdout_rest: Arc<Captured>,
}

/// Makes the plugin die with the engine, whatever the plugin is built on: on Linux the child
/// asks, between fork and exec, for SIGKILL when its parent goes (`PR_SET_PDEATHSIG`), so an
/// engine killed with SIGKILL takes its plugins down, though it can run no cleanup of its own.
///
/// The signal follows the *thread* that spawned the child: plugins are launched from the
/// runtime's long-lived worker threads (or the main thread of a current-thread runtime), never
/// from a `spawn_blocking` thread that may be retired while the engine runs on. Only the plugin
/// itself is covered; processes it starts are its own to stop.
#[cfg(target_os = "linux")]
fn die_with_engine(cmd: &mut Command) {
    let engine = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before exec. It makes two system calls
    // (prctl and getppid), both async-signal-safe, and neither allocates nor takes a lock.
    unsafe {
        cmd.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            // The engine may have died before the request took effect: then stop now.
            if rustix::process::getppid() != Some(engine) {
                return Err(rustix::io::Errno::SRCH.into());
            }
            Ok(())
        });
    }
}

/// Elsewhere there is no parent-death signal; the plugin must notice its engine is gone.
#[cfg(not(target_os = "linux"))]
fn die_with_engine(_cmd: &mut Command) {}

impl PluginProcess {
    async fn start(launch: Launch) -> Result<PluginProcess, LaunchError> {
        let shown = launch.program.display().to_string();
        let mut cmd = Command::new(&launch.program);
        cmd.args(&launch.args)
            .args(launch.engine_address.iter())
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &launch.current_dir {
            cmd.current_dir(dir);
        }
        die_with_engine(&mut cmd);
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|source| LaunchError::Spawn {
            program: shown.clone(),
            source,
        })?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        if let Ok(mut pids) = LAUNCHED.lock() {
            pids.push(pid);
        }
        let stderr = Arc::new(Captured::new(launch.stderr_keep));
        match child.stderr.take() {
            Some(err) => Captured::drain(err, stderr.clone(), launch.label.clone(), "stderr"),
            None => stderr.close(),
        }
        let stdout_rest = Arc::new(Captured::new(launch.stderr_keep));
        let mut plugin = PluginProcess {
            port: 0,
            port_line: String::new(),
            problem: None,
            startup: Duration::ZERO,
            pid,
            label: launch.label.clone(),
            child: Mutex::new(None),
            status: Mutex::new(None),
            stderr,
            stdout_rest,
        };
        let Some(stdout) = child.stdout.take() else {
            *plugin.child.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
            return Err(plugin
                .failed(shown, NoPort::Read("no stdout pipe".into()))
                .await);
        };
        let mut reader = BufReader::new(stdout);
        let seen = Mutex::new(None);
        let read = tokio::time::timeout(
            launch.port_timeout,
            read_port(&mut reader, launch.port_line, &seen),
        )
        .await;
        *plugin.child.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        let found = match read {
            Ok(Ok(found)) => found,
            Ok(Err(why)) => return Err(plugin.failed(shown, why).await),
            Err(_) => {
                let first = seen.lock().ok().and_then(|s| s.clone());
                return Err(plugin
                    .failed(shown, NoPort::Timeout(launch.port_timeout, first))
                    .await);
            }
        };
        plugin.startup = started.elapsed();
        plugin.port = found.port;
        plugin.port_line = found.line;
        plugin.problem = found.problem;
        Captured::drain(reader, plugin.stdout_rest.clone(), launch.label, "stdout");
        Ok(plugin)
    }

    /// Kills the group, collects the exit status and stderr, and builds the error.
    async fn failed(&mut self, program: String, why: NoPort) -> LaunchError {
        // A plugin that closed stdout may be exiting: give it a moment to report its status.
        let exit = if matches!(why, NoPort::Closed(_)) {
            self.wait_exit(Duration::from_secs(2)).await
        } else {
            None
        };
        self.kill();
        let _ = self.wait_exit(Duration::from_secs(2)).await;
        self.stderr
            .wait_until(Duration::from_secs(2), |_, closed| closed)
            .await;
        LaunchError::NoPort {
            program,
            why,
            exit,
            stderr: self.stderr.text(),
        }
    }

    /// The port it announced.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port line exactly as printed, without its newline.
    pub fn port_line(&self) -> &str {
        &self.port_line
    }

    /// Set when a tolerant launch found the port after other output.
    pub fn port_line_problem(&self) -> Option<&PortLineProblem> {
        self.problem.as_ref()
    }

    /// From spawning the process to having read the port line.
    pub fn startup(&self) -> Duration {
        self.startup
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// The label used in the debug log.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// What the plugin wrote to stderr (the last [`Launch::stderr_keep`] bytes).
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// The last `lines` lines of stderr.
    pub fn stderr_lines(&self, lines: usize) -> String {
        self.stderr.last_lines(lines)
    }

    /// Waits up to `timeout` until stderr contains `needle`; returns whether it did.
    pub async fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_for_stderr_count(needle, 1, timeout).await
    }

    /// Waits up to `timeout` until stderr contains `needle` `count` times.
    pub async fn wait_for_stderr_count(
        &self,
        needle: &str,
        count: usize,
        timeout: Duration,
    ) -> bool {
        let needle = needle.as_bytes();
        self.stderr
            .wait_until(timeout, |bytes, _| capture::count(bytes, needle) >= count)
            .await
    }

    /// Waits up to `timeout` for stderr to reach its end (the plugin and its children exited).
    pub async fn wait_stderr_closed(&self, timeout: Duration) -> bool {
        self.stderr.wait_until(timeout, |_, closed| closed).await
    }

    /// What the plugin wrote to stdout after the port line, and whether stdout is closed.
    pub fn stdout_after_port(&self) -> (Vec<u8>, bool) {
        self.stdout_rest.snapshot()
    }

    /// Waits up to `timeout` for stdout to be closed; returns whether it was.
    pub async fn wait_stdout_closed(&self, timeout: Duration) -> bool {
        self.stdout_rest
            .wait_until(timeout, |_, closed| closed)
            .await
    }

    /// The exit status, if the process has exited.
    pub fn exited(&self) -> Option<ExitStatus> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if status.is_none() {
            let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
            *status = child.as_mut().and_then(|c| c.try_wait().ok().flatten());
        }
        *status
    }

    /// Waits up to `within` for the process to exit.
    pub async fn wait_exit(&self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends `signal` to the plugin's process group.
    pub fn signal(&self, signal: Signal) -> std::io::Result<()> {
        signal_group(self.pid, signal)
    }

    /// Sends `signal` to the plugin's process alone (not its children).
    pub fn signal_process(&self, signal: Signal) -> std::io::Result<()> {
        let pid = Pid::from_raw(self.pid).ok_or_else(|| std::io::Error::other("no process id"))?;
        Ok(rustix::process::kill_process(pid, signal)?)
    }

    /// Kills the process group (SIGKILL).
    pub fn kill(&self) {
        let _ = self.signal(Signal::KILL);
    }

    /// Stops the plugin as the engine does: SIGINT to its group, then SIGKILL after `grace`.
    /// Returns the exit status when it exited by itself within `grace`.
    pub async fn shutdown(&self, grace: Duration) -> Option<ExitStatus> {
        self.shutdown_with(Signal::INT, grace).await
    }

    /// Like [`PluginProcess::shutdown`] with another signal (such as SIGTERM).
    pub async fn shutdown_with(&self, signal: Signal, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        let _ = self.signal(signal);
        let status = self.wait_exit(grace).await;
        if status.is_none() {
            self.kill();
            let _ = self.wait_exit(Duration::from_secs(5)).await;
        }
        status
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        // Children of the plugin (a launcher script's interpreter) share its group.
        self.kill();
        if let Ok(mut pids) = LAUNCHED.lock() {
            pids.retain(|p| *p != self.pid);
        }
    }
}

struct Found {
    port: u16,
    line: String,
    problem: Option<PortLineProblem>,
}

fn parse_port(line: &str) -> Option<u16> {
    line.trim().parse::<u16>().ok().filter(|p| *p > 0)
}

/// Reads one line of at most [`PORT_LINE_MAX`] bytes (a longer one is cut there); `None` at
/// the end of the stream, `UnexpectedEof` (carrying the text) when it ends mid-line.
async fn read_line(reader: &mut (impl AsyncBufRead + Unpin)) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            // Stdout ended in the middle of a line: report what was printed.
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                String::from_utf8_lossy(&line).into_owned(),
            ));
        }
        let room = PORT_LINE_MAX - line.len();
        let take = buf.len().min(room);
        if let Some(at) = buf[..take].iter().position(|b| *b == b'\n') {
            line.extend_from_slice(&buf[..at]);
            reader.consume(at + 1);
            break;
        }
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if line.len() >= PORT_LINE_MAX {
            break;
        }
    }
    let text = String::from_utf8_lossy(&line);
    Ok(Some(text.trim_end_matches('\r').to_string()))
}

async fn read_port(
    reader: &mut (impl AsyncBufRead + Unpin),
    rule: PortLineRule,
    seen: &Mutex<Option<String>>,
) -> Result<Found, NoPort> {
    let mut first: Option<String> = None;
    for number in 1..=TOLERATED_LINES {
        let line = match read_line(reader).await {
            Ok(Some(line)) => line,
            Ok(None) => return Err(NoPort::Closed(first)),
            // Stdout ended in the middle of a line: that partial line is what was printed.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(NoPort::Closed(first.or(Some(e.to_string()))));
            }
            Err(e) => return Err(NoPort::Read(e.to_string())),
        };
        match (parse_port(&line), &first) {
            (Some(port), None) => {
                return Ok(Found {
                    port,
                    line,
                    problem: None,
                });
            }
            (Some(port), Some(first)) => {
                return Ok(Found {
                    port,
                    line,
                    problem: Some(PortLineProblem {
                        first_line: first.clone(),
                        later_port: Some((number, port)),
                    }),
                });
            }
            (None, None) if rule == PortLineRule::First => return Err(NoPort::NotAPort(line)),
            (None, None) => {
                if let Ok(mut seen) = seen.lock() {
                    *seen = Some(line.clone());
                }
                first = Some(line);
            }
            (None, Some(_)) => {}
        }
    }
    Err(NoPort::TooManyLines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Launch {
        Launch::new("sh")
            .args(["-c", script])
            .port_timeout(Duration::from_secs(20))
    }

    #[tokio::test]
    async fn reads_the_port_line_and_keeps_stderr() {
        let p = sh("echo oops >&2; echo 4242; echo after; exec sleep 30")
            .start()
            .await
            .unwrap();
        assert_eq!(p.port(), 4242);
        assert_eq!(p.port_line(), "4242");
        assert!(p.wait_for_stderr("oops", Duration::from_secs(5)).await);
        let pid = p.pid();
        drop(p);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true),
            "the plugin is killed on drop"
        );
    }

    #[tokio::test]
    async fn garbage_first_is_refused_unless_tolerated() {
        let err = sh("echo hello; echo 4243; exec sleep 30")
            .start()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, LaunchError::NoPort { why: NoPort::NotAPort(l), .. } if l == "hello"),
            "{err}"
        );
        let p = sh("echo hello; echo 4243; exec sleep 30")
            .port_line(PortLineRule::Tolerate)
            .start()
            .await
            .unwrap();
        assert_eq!(p.port(), 4243);
        assert_eq!(
            p.port_line_problem(),
            Some(&PortLineProblem {
                first_line: "hello".into(),
                later_port: Some((2, 4243))
            })
        );
    }

    #[tokio::test]
    async fn an_early_exit_reports_status_and_stderr() {
        let err = sh("echo boom >&2; exit 3").start().await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("boom") && text.contains("exit"), "{text}");
    }

    #[tokio::test]
    async fn a_silent_plugin_times_out() {
        let err = sh("exec sleep 30")
            .port_timeout(Duration::from_millis(300))
            .start()
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                LaunchError::NoPort {
                    why: NoPort::Timeout(..),
                    ..
                }
            ),
            "{err}"
        );
    }
}
