//! Running the program's processes: setup commands (`pip`, `npm`) and the program itself, with
//! their output streamed line by line to the caller and time limits enforced.

use super::error::LanguageError;
use std::collections::VecDeque;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long an interrupted program has, after SIGINT to its process group, before the group is
/// killed (SIGKILL).
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Process groups of the programs and setup commands running now.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Kills (SIGKILL) the process group of every program and setup command this process is
/// running: for a hard stop (a second Ctrl-C or SIGTERM), so that no program outlives the
/// engine.
pub fn kill_all_programs() {
    let groups = RUNNING
        .lock()
        .map(|g| g.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    for pid in groups {
        let _ = plugin_host::launch::signal_group(pid, plugin_host::Signal::KILL);
    }
}

/// Where a line of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The program's stdout.
    Stdout,
    /// The program's stderr.
    Stderr,
    /// A setup command (creating a virtualenv, `pip install`, `npm install`): progress.
    Setup,
}

/// One line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Where it came from.
    pub stream: Stream,
    /// The line, without its newline.
    pub text: String,
}

/// Receives the program's output as it is produced.
pub type OutputHandler = Arc<dyn Fn(OutputLine) + Send + Sync>;

/// A handler that writes every line to this process's stderr, indented under the run (stdout
/// is left alone: it may belong to a machine-readable stream).
pub fn stderr_handler() -> OutputHandler {
    Arc::new(|line: OutputLine| {
        let tag = match line.stream {
            Stream::Setup => "setup",
            Stream::Stdout | Stream::Stderr => "program",
        };
        eprintln!("  {tag} | {}", line.text);
    })
}

const TAIL_LINES: usize = 40;

type Tail = Arc<Mutex<VecDeque<String>>>;

fn forward(
    reader: impl AsyncRead + Unpin + Send + 'static,
    stream: Stream,
    output: OutputHandler,
    tail: Option<Tail>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(text)) = lines.next_line().await {
            if let Some(tail) = &tail {
                let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                if t.len() == TAIL_LINES {
                    t.pop_front();
                }
                t.push_back(text.clone());
            }
            output(OutputLine { stream, text });
        }
    })
}

fn describe(cmd: &Command) -> String {
    let std = cmd.as_std();
    std::iter::once(std.get_program())
        .chain(std.get_args())
        .map(|s| {
            let s = s.to_string_lossy();
            // An inline script (`python -c`) would drown the message.
            if s.contains('\n') {
                "<script>".to_string()
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Running {
    child: Child,
    /// The process group (the child's pid).
    group: Option<i32>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    tail: Tail,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(pid) = self.group {
            // Whatever it started goes with it; the group id cannot have been reused while
            // the child is unreaped, and is at most a moment old otherwise.
            if !matches!(self.child.try_wait(), Ok(Some(_))) {
                let _ = plugin_host::launch::signal_group(pid, plugin_host::Signal::KILL);
            }
            if let Ok(mut g) = RUNNING.lock() {
                g.retain(|p| *p != pid);
            }
        }
    }
}

fn spawn(
    program: &Path,
    mut cmd: Command,
    out: Stream,
    err: Stream,
    output: &OutputHandler,
) -> Result<Running, LanguageError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so that a timeout stops whatever it started too.
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|source| LanguageError::Spawn {
        program: program.to_path_buf(),
        command: describe(&cmd),
        source,
    })?;
    let group = child.id().map(|p| p as i32);
    if let (Some(pid), Ok(mut g)) = (group, RUNNING.lock()) {
        g.push(pid);
    }
    let tail: Tail = Arc::default();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(forward(stdout, out, output.clone(), None));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(forward(stderr, err, output.clone(), Some(tail.clone())));
    }
    Ok(Running {
        child,
        group,
        readers,
        tail,
    })
}

impl Running {
    fn kill(&mut self) {
        if let Some(pid) = self.group {
            // The whole process group the child leads: a program's own children go too.
            let _ = plugin_host::launch::signal_group(pid, plugin_host::Signal::KILL);
        }
        let _ = self.child.start_kill();
    }

    /// Stops an interrupted program as a terminal's Ctrl-C would if it shared the engine's
    /// group: SIGINT to its whole process group (Python raises `KeyboardInterrupt`, Node.js
    /// exits), then, if it is still running after [`STOP_GRACE`], SIGKILL. Whatever else is left
    /// in the group is killed too.
    async fn stop(&mut self, program: &Path) -> LanguageError {
        if let Some(pid) = self.group {
            let _ = plugin_host::launch::signal_group(pid, plugin_host::Signal::INT);
        }
        if tokio::time::timeout(STOP_GRACE, self.child.wait())
            .await
            .is_err()
        {
            self.kill();
            let _ = self.child.wait().await;
        } else if let Some(pid) = self.group {
            let _ = plugin_host::launch::signal_group(pid, plugin_host::Signal::KILL);
        }
        LanguageError::Interrupted {
            program: program.to_path_buf(),
        }
    }

    async fn finish(mut self, status: ExitStatus) -> (ExitStatus, String) {
        for reader in self.readers.drain(..) {
            // Output written after exit by a grandchild still holding the pipe is not waited for.
            let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
        }
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        (status, tail.iter().cloned().collect::<Vec<_>>().join("\n"))
    }
}

/// Runs a setup command to completion, its output shown as progress; fails with the end of
/// its stderr.
pub(crate) async fn setup(
    program: &Path,
    cmd: Command,
    what: &str,
    output: &OutputHandler,
) -> Result<(), LanguageError> {
    let command = describe(&cmd);
    output(OutputLine {
        stream: Stream::Setup,
        text: format!("{what}: {command}"),
    });
    let mut running = spawn(program, cmd, Stream::Setup, Stream::Setup, output)?;
    let status = running
        .child
        .wait()
        .await
        .map_err(|source| LanguageError::Spawn {
            program: program.to_path_buf(),
            command: command.clone(),
            source,
        })?;
    let (status, tail) = running.finish(status).await;
    if status.success() {
        Ok(())
    } else {
        Err(LanguageError::Setup {
            program: program.to_path_buf(),
            message: format!("{what} failed ({status}): `{command}`\n{tail}"),
        })
    }
}

/// Time limits of a program run.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub connect: Duration,
    pub total: Duration,
    /// Cancelled when the run is interrupted: the program is stopped ([`Running::stop`]).
    pub interrupt: CancellationToken,
}

/// Runs the program; returns its exit status and the end of its stderr, or an error when it
/// never connects (`connected` stays false) or outlives its time.
pub(crate) async fn supervise(
    program: &Path,
    cmd: Command,
    output: &OutputHandler,
    mut connected: watch::Receiver<bool>,
    limits: Limits,
) -> Result<(ExitStatus, String), LanguageError> {
    let mut running = spawn(program, cmd, Stream::Stdout, Stream::Stderr, output)?;
    let deadline = tokio::time::Instant::now() + limits.total;
    let wait_error = |source| LanguageError::Spawn {
        program: program.to_path_buf(),
        command: "wait".into(),
        source,
    };
    // Phase one: until the program's first RPC.
    let connect_by = tokio::time::Instant::now() + limits.connect;
    let interrupt = limits.interrupt.clone();
    let status = tokio::select! {
        status = running.child.wait() => Some(status.map_err(wait_error)?),
        _ = interrupt.cancelled() => return Err(running.stop(program).await),
        ok = connected.wait_for(|c| *c) => {
            if ok.is_err() {
                // The monitor is gone: only the overall limit applies now.
                tokio::select! {
                    status = running.child.wait() => Some(status.map_err(wait_error)?),
                    _ = interrupt.cancelled() => return Err(running.stop(program).await),
                    _ = tokio::time::sleep_until(deadline) => {
                        running.kill();
                        let _ = running.child.wait().await;
                        return Err(LanguageError::TimedOut { program: program.to_path_buf(), after: limits.total });
                    }
                }
            } else {
                None
            }
        }
        _ = tokio::time::sleep_until(connect_by) => {
            running.kill();
            let _ = running.child.wait().await;
            return Err(LanguageError::NeverConnected { program: program.to_path_buf(), after: limits.connect });
        }
    };
    let status = match status {
        Some(s) => s,
        // Phase two: connected; until it exits or its time is up.
        None => tokio::select! {
            status = running.child.wait() => status.map_err(wait_error)?,
            _ = interrupt.cancelled() => return Err(running.stop(program).await),
            _ = tokio::time::sleep_until(deadline) => {
                running.kill();
                let _ = running.child.wait().await;
                return Err(LanguageError::TimedOut { program: program.to_path_buf(), after: limits.total });
            }
        },
    };
    Ok(running.finish(status).await)
}

/// A plugin process started the way Pulumi starts plugins: it prints its gRPC port as the first
/// line of its stdout; everything after that, on both streams, is output.
pub(crate) struct PluginProcess {
    running: Running,
    /// The port it listens on (loopback).
    pub port: u16,
}

impl PluginProcess {
    /// Starts `cmd` and waits up to `timeout` for its port line.
    pub(crate) async fn start(
        program: &Path,
        mut cmd: Command,
        output: &OutputHandler,
        timeout: Duration,
    ) -> Result<Self, LanguageError> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        let command = describe(&cmd);
        let mut child = cmd.spawn().map_err(|source| LanguageError::Spawn {
            program: program.to_path_buf(),
            command: command.clone(),
            source,
        })?;
        let group = child.id().map(|p| p as i32);
        if let (Some(pid), Ok(mut g)) = (group, RUNNING.lock()) {
            g.push(pid);
        }
        let tail: Tail = Arc::default();
        let mut readers = Vec::new();
        if let Some(stderr) = child.stderr.take() {
            readers.push(forward(
                stderr,
                Stream::Stderr,
                output.clone(),
                Some(tail.clone()),
            ));
        }
        let stdout = child.stdout.take();
        let mut running = Running {
            child,
            group,
            readers,
            tail,
        };
        let Some(stdout) = stdout else {
            return Err(plugin_error(
                &command,
                "its stdout could not be read".into(),
            ));
        };
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        let read = tokio::time::timeout(timeout, lines.read_line(&mut first)).await;
        let port = match read {
            Ok(Ok(n)) if n > 0 => first.trim().parse::<u16>().ok(),
            _ => None,
        };
        let Some(port) = port else {
            running.kill();
            let status = running.child.wait().await.ok();
            let (_, tail) = match status {
                Some(s) => running.finish(s).await,
                None => (ExitStatus::default(), String::new()),
            };
            let why = match read {
                Err(_) => format!("it printed no port within {}s", timeout.as_secs()),
                Ok(_) if first.is_empty() => "it exited before printing its port".into(),
                Ok(_) => format!(
                    "its first line of output, {:?}, is not a port number",
                    first.trim()
                ),
            };
            return Err(plugin_error(&command, format!("{why}\n{tail}")));
        };
        running.readers.push(forward(
            lines.into_inner(),
            Stream::Stdout,
            output.clone(),
            None,
        ));
        Ok(PluginProcess { running, port })
    }

    /// Stops it (and what it started) and waits for it, as Pulumi does once a run is over.
    pub(crate) async fn stop(mut self) {
        if let Ok(Some(_)) = self.running.child.try_wait() {
        } else {
            self.running.kill();
        }
        if let Ok(status) = self.running.child.wait().await {
            self.running.finish(status).await;
        }
    }

    /// The end of its stderr so far.
    pub(crate) fn stderr_tail(&self) -> String {
        let tail = self.running.tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

fn plugin_error(command: &str, message: String) -> LanguageError {
    LanguageError::Plugin {
        command: command.to_string(),
        message,
    }
}
