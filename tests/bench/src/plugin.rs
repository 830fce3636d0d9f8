//! The plugins to benchmark, launched through the engine-side host (`plugin-host`).

use std::time::Duration;

use plugin_host::{Launch, PluginProcess, Signal};

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

pub use plugin_host::LaunchError;

/// A running plugin (killed with its process group when dropped).
pub struct Running {
    /// Its process id.
    pub pid: u32,
    /// The port it printed.
    pub port: u16,
    /// From spawning the process to having read the whole port line.
    pub start_to_port: Duration,
    process: PluginProcess,
}

/// Starts `program args...` and waits (up to `limit`) for its port line.
pub async fn launch(program: &[String], limit: Duration) -> Result<Running, LaunchError> {
    let process = Launch::new(&program[0])
        .args(&program[1..])
        .port_timeout(limit)
        .start()
        .await?;
    Ok(Running {
        pid: process.pid(),
        port: process.port(),
        start_to_port: process.startup(),
        process,
    })
}

impl Running {
    /// The last few KiB the plugin wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        plugin_host::launch::last_chars(&self.process.stderr(), 4096).to_string()
    }

    /// Asks the plugin to stop as the engine does (SIGINT), waits up to `grace`, then kills it.
    /// Returns whether it exited by itself with status 0.
    pub async fn stop(self, grace: Duration) -> bool {
        self.signal_and_wait(Signal::INT, grace).await
    }

    /// Sends SIGTERM, waits up to `grace`, then kills. Returns whether it exited with status 0.
    pub async fn terminate(self, grace: Duration) -> bool {
        self.signal_and_wait(Signal::TERM, grace).await
    }

    async fn signal_and_wait(self, signal: Signal, grace: Duration) -> bool {
        self.process
            .shutdown_with(signal, grace)
            .await
            .is_some_and(|status| status.success())
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
            text.contains("before a port line") && text.contains("boom"),
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
        assert!(err.to_string().contains("\"hello\""), "{err}");
    }
}
