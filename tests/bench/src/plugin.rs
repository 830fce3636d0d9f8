//! Launching a provider plugin the way the engine does and reading its port line.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// A plugin to benchmark: a label, the resource type it creates and the command that starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// Short name used in the report (`local`, `bare-tonic`, `python-sdk`).
    pub label: String,
    /// The type token of the resource that `Create` is called for.
    pub type_token: String,
    /// Program and arguments; the engine address is appended as the last argument.
    pub command: Vec<String>,
    /// Whether the engine address is passed (off: the plugin runs with no engine to log to).
    pub engine_arg: bool,
}

impl PluginSpec {
    /// The command line that starts this plugin against the engine at `engine_address`.
    pub fn command_line(&self, engine_address: &str) -> Vec<String> {
        let mut command = self.command.clone();
        if self.engine_arg {
            command.push(engine_address.to_string());
        }
        command
    }
}

impl std::str::FromStr for PluginSpec {
    type Err = String;

    /// Parses `LABEL=TYPE=COMMAND`, the command split on whitespace.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(3, '=');
        let (Some(label), Some(type_token), Some(command)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "plugin spec `{s}` must look like LABEL=TYPE=COMMAND, e.g. `local=local:index:Random=target/release/pulumi-resource-local`"
            ));
        };
        let command: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        if label.is_empty() || type_token.is_empty() || command.is_empty() {
            return Err(format!(
                "plugin spec `{s}`: LABEL, TYPE and COMMAND must all be non-empty"
            ));
        }
        Ok(PluginSpec {
            label: label.into(),
            type_token: type_token.into(),
            command,
            engine_arg: true,
        })
    }
}

/// Why a plugin could not be launched.
#[derive(Debug)]
pub enum LaunchError {
    /// The program could not be started.
    Spawn(String, std::io::Error),
    /// The plugin exited or closed stdout before printing a port.
    NoPort(String, String),
    /// The first stdout line was not a port number.
    BadPort(String, String, String),
    /// No port line within the time limit.
    Timeout(String, Duration, String),
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchError::Spawn(p, e) => write!(
                f,
                "cannot start `{p}`: {e}; build it first (tests/bench/run.sh does)"
            ),
            LaunchError::NoPort(p, err) => write!(
                f,
                "`{p}` exited without printing a port line; its stderr ended with:\n{err}"
            ),
            LaunchError::BadPort(p, line, err) => {
                write!(
                    f,
                    "`{p}` printed `{line}` where a port number was expected; its stderr ended with:\n{err}"
                )
            }
            LaunchError::Timeout(p, t, err) => {
                write!(
                    f,
                    "`{p}` printed no port line within {t:?}; its stderr ended with:\n{err}"
                )
            }
        }
    }
}

impl std::error::Error for LaunchError {}

/// A running plugin.
pub struct Running {
    /// The child process.
    pub child: Child,
    /// Its process id.
    pub pid: u32,
    /// The port it printed.
    pub port: u16,
    /// From spawning the process to having read the whole port line.
    pub start_to_port: Duration,
    stderr_tail: Arc<Mutex<String>>,
}

const STDERR_TAIL: usize = 4096;

fn keep_tail(buffer: &Mutex<String>, chunk: &str) {
    let mut b = buffer.lock().unwrap_or_else(|e| e.into_inner());
    b.push_str(chunk);
    if b.len() > STDERR_TAIL {
        let mut cut = b.len() - STDERR_TAIL;
        while !b.is_char_boundary(cut) {
            cut += 1;
        }
        b.drain(..cut);
    }
}

/// Starts `program args...` and waits (up to `limit`) for its port line.
pub async fn launch(program: &[String], limit: Duration) -> Result<Running, LaunchError> {
    let name = program.join(" ");
    let mut command = Command::new(&program[0]);
    command
        .args(&program[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| LaunchError::Spawn(name.clone(), e))?;
    let pid = child.id().unwrap_or(0);
    let stderr_tail = Arc::new(Mutex::new(String::new()));
    if let Some(mut stderr) = child.stderr.take() {
        let tail = stderr_tail.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                keep_tail(&tail, &String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let Some(stdout) = child.stdout.take() else {
        return Err(LaunchError::NoPort(name, String::new()));
    };
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    let tail = || stderr_tail.lock().map(|s| s.clone()).unwrap_or_default();
    match tokio::time::timeout(limit, reader.read_line(&mut line)).await {
        Err(_) => {
            let _ = child.start_kill();
            return Err(LaunchError::Timeout(name, limit, tail()));
        }
        Ok(Err(_)) | Ok(Ok(0)) => {
            // Give the stderr reader a moment to collect the reason.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Err(LaunchError::NoPort(name, tail()));
        }
        Ok(Ok(_)) => {}
    }
    let start_to_port = started.elapsed();
    let port = match line.trim().parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => {
            let _ = child.start_kill();
            return Err(LaunchError::BadPort(name, line.trim().to_string(), tail()));
        }
    };
    // Keep draining stdout so a chatty plugin never blocks on a full pipe.
    tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink).await;
    });
    Ok(Running {
        child,
        pid,
        port,
        start_to_port,
        stderr_tail,
    })
}

impl Running {
    /// The last few KiB the plugin wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        self.stderr_tail
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Asks the plugin to stop as the engine does (SIGINT), waits up to `grace`, then kills it.
    /// Returns whether it exited by itself with status 0.
    pub async fn stop(self, grace: Duration) -> bool {
        self.signal_and_wait("INT", grace).await
    }

    /// Sends SIGTERM, waits up to `grace`, then kills. Returns whether it exited with status 0.
    pub async fn terminate(self, grace: Duration) -> bool {
        self.signal_and_wait("TERM", grace).await
    }

    async fn signal_and_wait(mut self, signal: &str, grace: Duration) -> bool {
        let _ = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status();
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => status.success(),
            _ => {
                let _ = self.child.kill().await;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_label_type_and_command() {
        let spec: PluginSpec = "py=pyrandom:index:Random=/venv/bin/python /x/p.py"
            .parse()
            .unwrap();
        assert_eq!(spec.label, "py");
        assert_eq!(spec.type_token, "pyrandom:index:Random");
        assert_eq!(spec.command, vec!["/venv/bin/python", "/x/p.py"]);
        assert_eq!(
            spec.command_line("127.0.0.1:9"),
            vec!["/venv/bin/python", "/x/p.py", "127.0.0.1:9"]
        );
        let without = PluginSpec {
            engine_arg: false,
            ..spec
        };
        assert_eq!(
            without.command_line("127.0.0.1:9"),
            vec!["/venv/bin/python", "/x/p.py"]
        );
    }

    #[test]
    fn spec_without_command_is_rejected_with_the_expected_shape() {
        let err = "local=local:index:Random"
            .parse::<PluginSpec>()
            .unwrap_err();
        assert!(err.contains("LABEL=TYPE=COMMAND"), "{err}");
    }

    #[tokio::test]
    async fn a_program_that_prints_no_port_is_reported_with_its_stderr() {
        let program = vec![
            "sh".to_string(),
            "-c".to_string(),
            "echo boom >&2; exit 3".to_string(),
        ];
        let err = launch(&program, Duration::from_secs(20))
            .await
            .err()
            .expect("launch must fail");
        let text = err.to_string();
        assert!(
            text.contains("without printing a port") && text.contains("boom"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_port_line_is_read_and_timed() {
        let program = vec![
            "sh".to_string(),
            "-c".to_string(),
            "echo 4242; exec sleep 30".to_string(),
        ];
        let running = launch(&program, Duration::from_secs(20))
            .await
            .expect("launch");
        assert_eq!(running.port, 4242);
        assert!(running.start_to_port > Duration::ZERO);
        // `sleep` ends on SIGINT with a non-zero status, which `stop` reports as unclean.
        assert!(!running.stop(Duration::from_secs(10)).await);
    }

    #[tokio::test]
    async fn garbage_instead_of_a_port_is_rejected() {
        let program = vec![
            "sh".to_string(),
            "-c".to_string(),
            "echo hello; exec sleep 30".to_string(),
        ];
        let err = launch(&program, Duration::from_secs(20))
            .await
            .err()
            .expect("launch must fail");
        assert!(err.to_string().contains("`hello`"), "{err}");
    }
}
