//! Shared helpers for the end-to-end tests. A test file uses them with `mod support;`.
//!
//! - [`binary`] builds a workspace binary (once per test process) and returns its path.
//! - [`PluginProcess`] launches a provider plugin exactly as the Pulumi engine does (the engine
//!   address as the only positional argument, stdout piped, the first line read as the port
//!   within a timeout) and kills and reaps it when dropped, so no test leaves a process behind.
//! - [`connect`] dials a plugin with the engine's transport settings (TCP_NODELAY, 400 MiB
//!   messages).
//! - [`TestEngine`] is a minimal `pulumirpc.Engine` on `127.0.0.1:0` that records `Log` calls.
//! - [`val`] builds and inspects `google.protobuf.Struct` property values, independently of the
//!   SDK (so the tests check the wire format, not the SDK against itself).
//!
//! Every wait has a generous timeout: a loaded two-core CI machine must not make these flaky.

#![allow(dead_code)] // each test file uses a different subset of the helpers.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pulumirpc::resource_provider_client::ResourceProviderClient;
use tokio::sync::{Notify, oneshot};
use tonic::transport::{Channel, Endpoint};

/// How long a plugin may take to print its port (the engine allows about as long).
pub const PORT_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root (the parent of the `tests/` crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

/// The directory holding the binaries of the profile this test was built with
/// (`<target-dir>/<profile>`), found from the test executable's own location
/// (`<target-dir>/<profile>/deps/<test>`), so `CARGO_TARGET_DIR`, `--target-dir` and
/// `--release` / `--profile` are all honoured. Falls back to `$CARGO_TARGET_DIR/debug` or
/// `<workspace>/target/debug`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    if let Some(deps) = exe
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "deps"))
        && let Some(profile) = deps.parent()
    {
        return profile.to_path_buf();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug")
}

/// Builds binary `bin` of workspace package `package` with the current profile and target
/// directory (`cargo build -p <package> --bin <bin>`), once per test process, and returns its
/// path. Threads of one test process build one at a time (a mutex); separate test processes are
/// serialised by cargo's own lock on the target directory. A failed build panics with cargo's
/// output.
pub fn binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<(String, String), PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = (package.to_string(), bin.to_string());
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let profile_dir = profile_dir();
    let target_dir = profile_dir
        .parent()
        .expect("a profile directory lives in a target directory");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--bin",
            bin,
            "--profile",
            &profile,
            "--target-dir",
        ])
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?} to build {bin}: {e}"));
    assert!(
        output.status.success(),
        "building {package}/{bin} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let path = profile_dir.join(bin);
    assert!(
        path.is_file(),
        "cargo built {bin} but {} does not exist",
        path.display()
    );
    built.insert(key, path.clone());
    path
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

/// Bytes collected from a pipe by a background thread, and whether the pipe reached EOF.
#[derive(Default)]
struct Captured {
    bytes: Mutex<(Vec<u8>, bool)>,
    changed: Notify,
}

impl Captured {
    fn push(&self, chunk: &[u8]) {
        self.bytes.lock().unwrap().0.extend_from_slice(chunk);
        self.changed.notify_waiters();
    }

    fn close(&self) {
        self.bytes.lock().unwrap().1 = true;
        self.changed.notify_waiters();
    }

    fn snapshot(&self) -> (Vec<u8>, bool) {
        self.bytes.lock().unwrap().clone()
    }

    /// Waits until `done(bytes, closed)` holds or `timeout` passes; returns whether it held.
    async fn wait_until(&self, timeout: Duration, done: impl Fn(&[u8], bool) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            {
                let guard = self.bytes.lock().unwrap();
                if done(&guard.0, guard.1) {
                    return true;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // The poll interval bounds the cost of a notification missed between check and wait.
            let _ = tokio::time::timeout(left.min(Duration::from_millis(50)), notified).await;
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static, into: Arc<Captured>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into.push(&buf[..n]),
            }
        }
        into.close();
    });
}

/// A running plugin process, launched the way the engine launches one.
///
/// Dropping it kills the process (SIGKILL) if it is still running and reaps it.
pub struct PluginProcess {
    child: Child,
    port: u16,
    port_line: String,
    program: String,
    /// Everything on stdout after the port line.
    stdout_rest: Arc<Captured>,
    stderr: Arc<Captured>,
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
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let stderr = Arc::new(Captured::default());
        drain(
            child.stderr.take().expect("stderr is piped"),
            stderr.clone(),
        );

        // Like the engine: read stdout byte by byte up to the first newline.
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let stdout_rest = Arc::new(Captured::default());
        let (first_line, first_line_rx) = oneshot::channel::<Result<String, String>>();
        let rest = stdout_rest.clone();
        std::thread::spawn(move || {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            let outcome = loop {
                match stdout.read(&mut byte) {
                    Ok(0) => {
                        break Err(format!(
                            "stdout closed before a newline; it held {:?}",
                            String::from_utf8_lossy(&line)
                        ));
                    }
                    Ok(_) if byte[0] == b'\n' => {
                        break Ok(String::from_utf8_lossy(&line).into_owned());
                    }
                    Ok(_) => line.push(byte[0]),
                    Err(e) => break Err(format!("reading stdout failed: {e}")),
                }
            };
            let ok = outcome.is_ok();
            let _ = first_line.send(outcome);
            if ok {
                drain(stdout, rest);
            } else {
                rest.close();
            }
        });

        let mut plugin = PluginProcess {
            child,
            port: 0,
            port_line: String::new(),
            program: name,
            stdout_rest,
            stderr,
        };
        let line = match tokio::time::timeout(port_timeout, first_line_rx).await {
            Ok(Ok(Ok(line))) => line,
            Ok(Ok(Err(problem))) => return Err(plugin.fail(&problem).await),
            Ok(Err(_)) => return Err(plugin.fail("the stdout reader stopped").await),
            Err(_) => {
                return Err(plugin
                    .fail(&format!("no port line within {port_timeout:?}"))
                    .await);
            }
        };
        match line.trim().parse::<u16>() {
            Ok(port) if port > 0 => {
                plugin.port = port;
                plugin.port_line = line;
            }
            _ => {
                return Err(plugin
                    .fail(&format!(
                        "the first stdout line {line:?} is not a port (1..65535)"
                    ))
                    .await);
            }
        }
        Ok(plugin)
    }

    /// Kills the plugin and describes the failure with its stderr.
    async fn fail(&mut self, problem: &str) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .wait_until(Duration::from_secs(5), |_, closed| closed)
            .await;
        format!(
            "plugin {}: {problem}; its stderr:\n{}",
            self.program,
            self.stderr()
        )
    }

    /// The port the plugin printed.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The first stdout line exactly as printed, without its `\n`.
    pub fn port_line(&self) -> &str {
        &self.port_line
    }

    /// The address the engine dials: `127.0.0.1:<port>`.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Connects a provider client to the plugin (see [`connect`]).
    pub async fn connect(&self) -> ResourceProviderClient<Channel> {
        connect(self.port).await
    }

    /// Sends `signal` (such as `libc::SIGINT`) to the process.
    pub fn signal(&self, signal: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) with a pid this test owns (the child is not reaped while `self` lives,
        // so the pid cannot have been reused).
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {signal}) failed: {}",
            std::io::Error::last_os_error()
        );
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still running.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Everything the plugin wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.snapshot().0).into_owned()
    }

    /// Waits up to `timeout` until stderr contains `needle`; returns whether it did.
    pub async fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> bool {
        let needle = needle.as_bytes().to_vec();
        self.stderr
            .wait_until(timeout, |bytes, _| {
                bytes.windows(needle.len()).any(|w| w == needle)
            })
            .await
    }

    /// Waits up to `timeout` until stderr contains `needle` `count` times; returns whether it did.
    pub async fn wait_for_stderr_count(
        &self,
        needle: &str,
        count: usize,
        timeout: Duration,
    ) -> bool {
        let needle = needle.as_bytes().to_vec();
        self.stderr
            .wait_until(timeout, |bytes, _| {
                bytes.windows(needle.len()).filter(|w| *w == needle).count() >= count
            })
            .await
    }

    /// What the plugin wrote to stdout after the port line so far, and whether its stdout is
    /// closed (an SDK plugin closes it right after the port line).
    pub fn stdout_after_port(&self) -> (Vec<u8>, bool) {
        self.stdout_rest.snapshot()
    }

    /// Waits up to `timeout` for stdout to be closed; returns whether it was.
    pub async fn wait_stdout_closed(&self, timeout: Duration) -> bool {
        self.stdout_rest
            .wait_until(timeout, |_, closed| closed)
            .await
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Connects a `ResourceProviderClient` to `127.0.0.1:<port>` the way the engine does:
/// TCP_NODELAY on, 400 MiB message limits both ways, 10 s to connect.
pub async fn connect(port: u16) -> ResourceProviderClient<Channel> {
    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("a valid URI")
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10));
    let channel = endpoint
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot connect to 127.0.0.1:{port}: {e}"));
    ResourceProviderClient::new(channel)
        .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
}

/// A minimal engine for plugins to log to: serves `pulumirpc.Engine` on `127.0.0.1:0` and
/// records every `Log` request. Stops serving when dropped.
pub struct TestEngine {
    address: SocketAddr,
    logs: Arc<LogBook>,
    _stop: oneshot::Sender<()>,
}

/// The `Log` requests a [`TestEngine`] received.
#[derive(Default)]
struct LogBook {
    logs: Mutex<Vec<pulumirpc::LogRequest>>,
    changed: Notify,
}

struct EngineService {
    logs: Arc<LogBook>,
}

#[tonic::async_trait]
impl pulumirpc::engine_server::Engine for EngineService {
    async fn log(
        &self,
        request: tonic::Request<pulumirpc::LogRequest>,
    ) -> Result<tonic::Response<()>, tonic::Status> {
        self.logs.logs.lock().unwrap().push(request.into_inner());
        self.logs.changed.notify_waiters();
        Ok(tonic::Response::new(()))
    }

    async fn get_root_resource(
        &self,
        _request: tonic::Request<pulumirpc::GetRootResourceRequest>,
    ) -> Result<tonic::Response<pulumirpc::GetRootResourceResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the test engine only records Log calls",
        ))
    }

    async fn set_root_resource(
        &self,
        _request: tonic::Request<pulumirpc::SetRootResourceRequest>,
    ) -> Result<tonic::Response<pulumirpc::SetRootResourceResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the test engine only records Log calls",
        ))
    }

    async fn start_debugging(
        &self,
        _request: tonic::Request<pulumirpc::StartDebuggingRequest>,
    ) -> Result<tonic::Response<()>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the test engine only records Log calls",
        ))
    }

    async fn check_pulumi_version(
        &self,
        _request: tonic::Request<pulumirpc::CheckPulumiVersionRequest>,
    ) -> Result<tonic::Response<pulumirpc::CheckPulumiVersionResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the test engine only records Log calls",
        ))
    }
}

impl TestEngine {
    /// Starts the engine on `127.0.0.1:0` in the current tokio runtime.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        let logs = Arc::new(LogBook::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let service =
            pulumirpc::engine_server::EngineServer::new(EngineService { logs: logs.clone() });
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await;
        });
        TestEngine {
            address,
            logs,
            _stop: stop,
        }
    }

    /// The address to pass to a plugin: `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Every `Log` request received so far.
    pub fn logs(&self) -> Vec<pulumirpc::LogRequest> {
        self.logs.logs.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for a `Log` request matching `wanted`.
    pub async fn wait_for_log(
        &self,
        timeout: Duration,
        wanted: impl Fn(&pulumirpc::LogRequest) -> bool,
    ) -> Option<pulumirpc::LogRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.logs.changed.notified();
            if let Some(found) = self.logs.logs.lock().unwrap().iter().find(|l| wanted(l)) {
                return Some(found.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(50)), notified).await;
        }
    }
}

/// Building and inspecting property values on the wire (`google.protobuf.Struct`), with the
/// protocol's constants written out independently of the SDK.
pub mod val {
    use prost_types::value::Kind;
    use prost_types::{Struct, Value};

    /// The key that marks an object as a special value.
    pub const SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
    /// Signature of a secret.
    pub const SIG_SECRET: &str = "1b47061264138c4ac30d75fd1eb44270";
    /// The unknown sentinel for values of any kind (and strings).
    pub const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    /// The unknown sentinel for numbers.
    pub const UNKNOWN_NUMBER: &str = "3eeb2bf0-c639-47a8-9e75-3b44932eb421";
    /// All seven unknown sentinels.
    pub const UNKNOWNS: [&str; 7] = [
        UNKNOWN,
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        UNKNOWN_NUMBER,
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    ];

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
