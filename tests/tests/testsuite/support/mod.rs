//! Shared helpers for the end-to-end tests (each test module uses them through
//! `crate::support`).
//!
//! - [`binary`] returns a workspace binary's path (built once per test process, by
//!   `test-support`).
//! - [`PluginProcess`], [`connect`] and [`TestEngine`] wrap the engine-side host
//!   (`plugin-host`): launch a plugin exactly as the engine does and kill it when dropped, dial
//!   it with the engine's transport settings, record the `Log` calls it makes.
//! - [`val`] builds and inspects `google.protobuf.Struct` property values, independently of the
//!   SDK (so the tests check the wire format, not the SDK against itself).
//!
//! Every wait has a generous timeout: a loaded two-core CI machine must not make these flaky.

#![allow(dead_code)] // each test file uses a different subset of the helpers.

pub mod requests;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

pub use plugin_host::Signal;
use plugin_host::engine::LogBook;
use pulumirpc::resource_provider_client::ResourceProviderClient;
use tonic::transport::Channel;

/// How long a plugin may take to print its port (the engine allows about as long).
pub const PORT_TIMEOUT: Duration = Duration::from_secs(30);

pub use test_support::workspace_root;

/// Workspace binary `bin` (the example provider, a fixture plugin); see
/// [`test_support::workspace_binary`].
pub fn binary(bin: &str) -> PathBuf {
    test_support::workspace_binary(bin)
}

/// The version of workspace package `package`, as `cargo metadata` reports it.
pub fn package_version(package: &str) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("cannot run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == package))
        .and_then(|p| p["version"].as_str())
        .unwrap_or_else(|| panic!("package {package} is not in the workspace"))
        .to_string()
}

/// A running plugin process, launched the way the engine launches one (through the engine-side
/// host, `plugin-host`). Dropping it kills its process group.
pub struct PluginProcess {
    process: plugin_host::PluginProcess,
}

impl PluginProcess {
    /// Launches `program` with `args` (for the engine: optional flags, then the engine address)
    /// and reads its port line. Panics with the plugin's stderr if it does not print a valid
    /// port within [`PORT_TIMEOUT`].
    pub async fn spawn(program: &Path, args: &[&str]) -> Self {
        Self::spawn_with(program, args, &[], PORT_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`PluginProcess::spawn`], with extra environment variables and a port timeout;
    /// a plugin that misbehaves (no port line, garbage, early exit) gives an error describing
    /// what happened, with its stderr. The process is killed in that case.
    pub async fn spawn_with(
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        port_timeout: Duration,
    ) -> Result<Self, String> {
        let mut launch = plugin_host::Launch::new(program)
            .args(args.iter().copied())
            .port_timeout(port_timeout);
        for (k, v) in env {
            launch = launch.env(k, v);
        }
        let process = launch.start().await.map_err(|e| format!("plugin {e}"))?;
        Ok(PluginProcess { process })
    }

    /// The port the plugin printed.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// The first stdout line exactly as printed, without its `\n`.
    pub fn port_line(&self) -> &str {
        self.process.port_line()
    }

    /// The address the engine dials: `127.0.0.1:<port>`.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port()))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Connects a provider client to the plugin (see [`connect`]).
    pub async fn connect(&self) -> ResourceProviderClient<Channel> {
        connect(self.port()).await
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) {
        let pid = self.pid();
        self.process
            .signal_process(signal)
            .unwrap_or_else(|e| panic!("kill({pid}, {signal:?}) failed: {e}"));
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.exited().is_none()
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still running.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.process.wait_exit(timeout).await
    }

    /// Everything the plugin wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// Waits up to `timeout` until stderr contains `needle`; returns whether it did.
    pub async fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> bool {
        self.process.wait_for_stderr(needle, timeout).await
    }

    /// Waits up to `timeout` until stderr contains `needle` `count` times; returns whether it did.
    pub async fn wait_for_stderr_count(
        &self,
        needle: &str,
        count: usize,
        timeout: Duration,
    ) -> bool {
        self.process
            .wait_for_stderr_count(needle, count, timeout)
            .await
    }

    /// What the plugin wrote to stdout after the port line so far, and whether its stdout is
    /// closed (an SDK plugin closes it right after the port line).
    pub fn stdout_after_port(&self) -> (Vec<u8>, bool) {
        self.process.stdout_after_port()
    }

    /// Waits up to `timeout` for stdout to be closed; returns whether it was.
    pub async fn wait_stdout_closed(&self, timeout: Duration) -> bool {
        self.process.wait_stdout_closed(timeout).await
    }
}

/// Connects a `ResourceProviderClient` to `127.0.0.1:<port>` the way the engine does:
/// TCP_NODELAY on, 400 MiB message limits both ways, 10 s to connect.
pub async fn connect(port: u16) -> ResourceProviderClient<Channel> {
    plugin_host::connect(port, plugin_host::connect::CONNECT_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A minimal engine for plugins to log to: serves `pulumirpc.Engine` on `127.0.0.1:0` and
/// records every `Log` request. Stops serving when dropped.
pub struct TestEngine {
    server: plugin_host::engine::EngineServer,
    logs: LogBook,
}

impl TestEngine {
    /// Starts the engine on `127.0.0.1:0` in the current tokio runtime.
    pub async fn start() -> Self {
        let logs = LogBook::default();
        let server = plugin_host::engine::EngineServer::start(logs.clone(), "")
            .await
            .expect("bind 127.0.0.1:0");
        TestEngine { server, logs }
    }

    /// The address to pass to a plugin: `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        self.server.address().to_string()
    }

    /// Every `Log` request received so far.
    pub fn logs(&self) -> Vec<pulumirpc::LogRequest> {
        self.logs.logs()
    }

    /// Waits up to `timeout` for a `Log` request matching `wanted`.
    pub async fn wait_for_log(
        &self,
        timeout: Duration,
        wanted: impl Fn(&pulumirpc::LogRequest) -> bool,
    ) -> Option<pulumirpc::LogRequest> {
        self.logs.wait_for(timeout, wanted).await
    }
}

/// Building and inspecting property values on the wire (`google.protobuf.Struct`), with the
/// protocol's constants written out independently of the SDK.
pub mod val {
    use prost_types::value::Kind;
    use prost_types::{Struct, Value};

    pub use pulumirpc::sentinels::{SIG_KEY, SIG_SECRET, UNKNOWNS};
    #[allow(unused_imports)] // each test file uses a different subset.
    pub use pulumirpc::sentinels::{UNKNOWN_ANY as UNKNOWN, UNKNOWN_NUMBER};

    /// A number.
    pub fn num(n: f64) -> Value {
        Value {
            kind: Some(Kind::NumberValue(n)),
        }
    }

    /// A string.
    pub fn string(s: &str) -> Value {
        Value {
            kind: Some(Kind::StringValue(s.to_string())),
        }
    }

    /// A bool.
    pub fn boolean(b: bool) -> Value {
        Value {
            kind: Some(Kind::BoolValue(b)),
        }
    }

    /// An object value.
    pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value {
            kind: Some(Kind::StructValue(structure(fields))),
        }
    }

    /// A `Struct` with these fields.
    pub fn structure<'a>(fields: impl IntoIterator<Item = (&'a str, Value)>) -> Struct {
        Struct {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    /// `value` wrapped as a secret.
    pub fn secret(value: Value) -> Value {
        object([(SIG_KEY, string(SIG_SECRET)), ("value", value)])
    }

    /// Field `key` of `s`.
    pub fn get<'a>(s: &'a Struct, key: &str) -> Option<&'a Value> {
        s.fields.get(key)
    }

    /// The string inside `v`, if it is one.
    pub fn as_str(v: &Value) -> Option<&str> {
        match &v.kind {
            Some(Kind::StringValue(s)) => Some(s),
            _ => None,
        }
    }

    /// The number inside `v`, if it is one.
    pub fn as_num(v: &Value) -> Option<f64> {
        match &v.kind {
            Some(Kind::NumberValue(n)) => Some(*n),
            _ => None,
        }
    }

    /// If `v` is a secret, the value it wraps.
    pub fn secret_inner(v: &Value) -> Option<&Value> {
        match &v.kind {
            Some(Kind::StructValue(s))
                if s.fields.get(SIG_KEY).and_then(as_str) == Some(SIG_SECRET) =>
            {
                s.fields.get("value")
            }
            _ => None,
        }
    }

    /// Whether `v` is one of the unknown sentinels.
    pub fn is_unknown(v: &Value) -> bool {
        as_str(v).is_some_and(|s| UNKNOWNS.contains(&s))
    }
}
