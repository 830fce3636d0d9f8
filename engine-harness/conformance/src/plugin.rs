//! Launching a plugin the way Pulumi's engine does, and the small engine it talks back to.
//!
//! [`EngineServer`] serves `pulumirpc.Engine` on `127.0.0.1:0` and records every `Log` call.
//! [`Plugin::launch`] starts the plugin in its own process group with the engine's address as
//! its one positional argument, reads the first stdout line as the port (with a timeout), dials
//! it, and keeps draining stdout and stderr so the plugin never blocks on a full pipe. Dropping a
//! [`Plugin`] kills its whole process group, so nothing is left behind.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pulumirpc::engine_server::{Engine, EngineServer as EngineService};
use pulumirpc::resource_provider_client::ResourceProviderClient;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use crate::error::Error;

/// How the kit launches a plugin.
#[derive(Debug, Clone)]
pub struct PluginCommand {
    /// The program and its own arguments (before the engine's flags and address).
    pub argv: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// How long the plugin may take to print its port line.
    pub startup_timeout: Duration,
}

impl PluginCommand {
    /// A command from its argv (`argv[0]` is the program).
    pub fn new(argv: Vec<String>) -> Self {
        PluginCommand {
            argv,
            env: Vec::new(),
            startup_timeout: Duration::from_secs(30),
        }
    }

    /// The command as one line, for reports.
    pub fn display(&self) -> String {
        self.argv.join(" ")
    }
}

/// One `Log` call the plugin made.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Severity (0 debug, 1 info, 2 warning, 3 error).
    pub severity: i32,
    /// The message.
    pub message: String,
    /// The resource URN, if any.
    pub urn: String,
}

#[derive(Clone, Default)]
struct Recorder {
    logs: Arc<Mutex<Vec<LogEntry>>>,
}

#[tonic::async_trait]
impl Engine for Recorder {
    async fn log(&self, request: Request<pulumirpc::LogRequest>) -> Result<Response<()>, Status> {
        let r = request.into_inner();
        if let Ok(mut logs) = self.logs.lock() {
            logs.push(LogEntry {
                severity: r.severity,
                message: r.message,
                urn: r.urn,
            });
        }
        Ok(Response::new(()))
    }

    async fn get_root_resource(
        &self,
        _request: Request<pulumirpc::GetRootResourceRequest>,
    ) -> Result<Response<pulumirpc::GetRootResourceResponse>, Status> {
        Ok(Response::new(pulumirpc::GetRootResourceResponse {
            urn: String::new(),
        }))
    }

    async fn set_root_resource(
        &self,
        _request: Request<pulumirpc::SetRootResourceRequest>,
    ) -> Result<Response<pulumirpc::SetRootResourceResponse>, Status> {
        Ok(Response::new(pulumirpc::SetRootResourceResponse {}))
    }

    async fn start_debugging(
        &self,
        _request: Request<pulumirpc::StartDebuggingRequest>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    async fn check_pulumi_version(
        &self,
        _request: Request<pulumirpc::CheckPulumiVersionRequest>,
    ) -> Result<Response<pulumirpc::CheckPulumiVersionResponse>, Status> {
        Ok(Response::new(pulumirpc::CheckPulumiVersionResponse {}))
    }
}

/// A `pulumirpc.Engine` server on loopback that records `Log` calls; stops when dropped.
pub struct EngineServer {
    /// `127.0.0.1:PORT`.
    pub address: String,
    recorder: Recorder,
    stop: Option<oneshot::Sender<()>>,
}

impl EngineServer {
    /// Starts the server.
    pub async fn start() -> Result<EngineServer, Error> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::Engine(e.to_string()))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::Engine(e.to_string()))?
            .to_string();
        let recorder = Recorder::default();
        let (stop, stopped) = oneshot::channel::<()>();
        let service = EngineService::new(recorder.clone())
            .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = stopped.await;
                }),
        );
        Ok(EngineServer {
            address,
            recorder,
            stop: Some(stop),
        })
    }

    /// Every `Log` call received so far.
    pub fn logs(&self) -> Vec<LogEntry> {
        self.recorder
            .logs
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }
}

impl Drop for EngineServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What the plugin printed instead of a usable port line, and what came after.
#[derive(Debug, Clone)]
pub struct PortLineProblem {
    /// The first line, as printed (without the newline).
    pub first_line: String,
    /// A later line that was a port (1-based line number, port), if any.
    pub later_port: Option<(usize, u16)>,
}

/// Options for one launch.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// Flags placed before the engine's address (as the engine does with `-v=9` etc).
    pub flags: Vec<String>,
    /// Leave out the engine's address: attach mode.
    pub attach_mode: bool,
    /// Accept a port that comes after other stdout lines (the problem is still recorded).
    pub tolerate_port_line: bool,
}

/// A running plugin and a client connected to it.
pub struct Plugin {
    /// The port it announced.
    pub port: u16,
    /// How long from spawn to the port line.
    pub startup: Duration,
    /// Set when the port did not come first and alone on stdout.
    pub port_line_problem: Option<PortLineProblem>,
    /// The engine server given to this plugin.
    pub engine: EngineServer,
    client: ResourceProviderClient<Channel>,
    child: Mutex<Child>,
    pid: i32,
    stderr: Arc<Mutex<Vec<u8>>>,
}

const STDERR_TAIL: usize = 8 * 1024;

fn parse_port(line: &str) -> Option<u16> {
    line.trim().parse::<u16>().ok().filter(|p| *p > 0)
}

fn drain(mut from: impl AsyncRead + Unpin + Send + 'static, into: Option<Arc<Mutex<Vec<u8>>>>) {
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(into) = &into
                        && let Ok(mut tail) = into.lock()
                    {
                        tail.extend_from_slice(&buf[..n]);
                        let excess = tail.len().saturating_sub(STDERR_TAIL);
                        tail.drain(..excess);
                    }
                }
            }
        }
    });
}

impl Plugin {
    /// Starts `command` with a fresh engine server and connects to it.
    pub async fn launch(command: &PluginCommand, options: &LaunchOptions) -> Result<Plugin, Error> {
        let engine = EngineServer::start().await?;
        let Some((program, args)) = command.argv.split_first() else {
            return Err(Error::Launch("no plugin command given".into()));
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .args(&options.flags)
            .envs(command.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if !options.attach_mode {
            cmd.arg(&engine.address);
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::Launch(format!("cannot start `{program}`: {e}")))?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(err) = child.stderr.take() {
            drain(err, Some(stderr.clone()));
        }
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Launch("no stdout pipe".into()))?;
        let mut guard = KillOnError { pid, armed: true };
        let seen = Arc::new(Mutex::new(None));
        let read = tokio::time::timeout(
            command.startup_timeout,
            read_port(stdout, options.tolerate_port_line, seen.clone()),
        )
        .await;
        let (port, problem) = match read {
            Ok(Ok(found)) => found,
            Ok(Err(why)) => {
                let status = wait_briefly(&mut child).await;
                return Err(Error::Launch(format!(
                    "{why}{}{}",
                    exit_note(status),
                    tail_note(&stderr)
                )));
            }
            Err(_) => {
                let first = seen.lock().ok().and_then(|s| s.clone());
                let first = first
                    .map(|f| format!(" (it printed {f:?} instead, which is not a port number)"))
                    .unwrap_or_default();
                return Err(Error::Launch(format!(
                    "no port line on stdout within {:?}{first}; a plugin must print its port first{}",
                    command.startup_timeout,
                    tail_note(&stderr)
                )));
            }
        };
        let startup = started.elapsed();
        let client = connect(port).await.map_err(|e| {
            Error::Launch(format!(
                "announced port {port} but cannot be dialled on 127.0.0.1 within 10 s: {e}"
            ))
        })?;
        guard.armed = false;
        Ok(Plugin {
            port,
            startup,
            port_line_problem: problem,
            engine,
            client,
            child: Mutex::new(child),
            pid,
            stderr,
        })
    }

    /// A client on the plugin's connection (clones share the one HTTP/2 connection).
    pub fn client(&self) -> ResourceProviderClient<Channel> {
        self.client.clone()
    }

    /// The process id (also the process group id).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The last few KiB of the plugin's stderr.
    pub fn stderr_tail(&self) -> String {
        self.stderr
            .lock()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default()
    }

    /// The exit status, if the process has exited.
    pub fn exited(&self) -> Option<ExitStatus> {
        self.child.lock().ok()?.try_wait().ok().flatten()
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
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Explains a failed call: the status, and whether the process died (with its stderr).
    pub async fn explain(&self, op: &str, status: &Status) -> String {
        // A dying plugin shows as a transport failure; give the process a moment to be reaped.
        let message = status.message().to_lowercase();
        let transport = status.code() == tonic::Code::Unavailable
            || [
                "transport",
                "connection",
                "h2 protocol",
                "broken pipe",
                "reset",
            ]
            .iter()
            .any(|w| message.contains(w));
        let exited = if transport {
            self.wait_exit(Duration::from_secs(2)).await
        } else {
            self.exited()
        };
        match exited {
            Some(exit) => format!(
                "the plugin process exited ({exit}) during {op}: a plugin must answer with an error, never crash{}",
                tail_note(&self.stderr)
            ),
            None => format!("{op} failed: {:?}: {}", status.code(), status.message()),
        }
    }

    /// Sends `signal` to the plugin's process group.
    pub fn signal(&self, signal: i32) {
        if self.pid > 0 {
            // SAFETY: kill(2) on a process group this kit created; no memory is involved.
            unsafe {
                libc::kill(-self.pid, signal);
            }
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        if self.exited().is_none() {
            self.signal(libc::SIGKILL);
        }
        // Children of the plugin (a launcher script's interpreter) share its group.
        self.signal(libc::SIGKILL);
    }
}

struct KillOnError {
    pid: i32,
    armed: bool,
}

impl Drop for KillOnError {
    fn drop(&mut self) {
        if self.armed && self.pid > 0 {
            // SAFETY: kill(2) on the process group just created; no memory is involved.
            unsafe {
                libc::kill(-self.pid, libc::SIGKILL);
            }
        }
    }
}

async fn wait_briefly(child: &mut Child) -> Option<ExitStatus> {
    tokio::time::timeout(Duration::from_secs(2), child.wait())
        .await
        .ok()
        .and_then(Result::ok)
}

fn exit_note(status: Option<ExitStatus>) -> String {
    status
        .map(|s| format!("; the process exited ({s})"))
        .unwrap_or_default()
}

fn tail_note(stderr: &Arc<Mutex<Vec<u8>>>) -> String {
    let tail = stderr
        .lock()
        .map(|t| String::from_utf8_lossy(&t).into_owned())
        .unwrap_or_default();
    let tail = tail.trim();
    if tail.is_empty() {
        String::new()
    } else {
        let start = tail
            .char_indices()
            .rev()
            .nth(1200)
            .map(|(i, _)| i)
            .unwrap_or(0);
        format!("; its stderr ended with:\n{}", &tail[start..])
    }
}

/// Reads stdout to the port line; the rest of stdout is drained in the background.
/// The first line is also put in `seen`, for a report when the port never comes.
async fn read_port(
    stdout: ChildStdout,
    tolerate: bool,
    seen: Arc<Mutex<Option<String>>>,
) -> Result<(u16, Option<PortLineProblem>), String> {
    let mut reader = BufReader::new(stdout);
    let mut first_line: Option<String> = None;
    for number in 1..=200usize {
        let mut line = Vec::new();
        let n = reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| format!("reading stdout: {e}"))?;
        if n == 0 {
            return Err(match first_line {
                None => "stdout closed before a port line was printed".to_string(),
                Some(first) => {
                    format!("stdout closed without a port line; the first line was {first:?}")
                }
            });
        }
        let text = String::from_utf8_lossy(&line)
            .trim_end_matches(['\n', '\r'])
            .to_string();
        match (parse_port(&text), &first_line) {
            (Some(port), None) => {
                drain(reader, None);
                return Ok((port, None));
            }
            (Some(port), Some(first)) => {
                drain(reader, None);
                return Ok((
                    port,
                    Some(PortLineProblem {
                        first_line: first.clone(),
                        later_port: Some((number, port)),
                    }),
                ));
            }
            (None, None) if !tolerate => {
                return Err(format!(
                    "the first stdout line is {text:?}, not a port number; the engine reads the first line as the port"
                ));
            }
            (None, None) => {
                if let Ok(mut seen) = seen.lock() {
                    *seen = Some(text.clone());
                }
                first_line = Some(text);
            }
            (None, Some(_)) => {}
        }
    }
    Err("no port line among the first 200 stdout lines".into())
}

/// Dials `127.0.0.1:port`, retrying for up to 10 s as the engine does.
pub async fn connect(port: u16) -> Result<ResourceProviderClient<Channel>, String> {
    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .map_err(|e| e.to_string())?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match endpoint.connect().await {
            Ok(channel) => {
                return Ok(ResourceProviderClient::new(channel)
                    .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
                    .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE));
            }
            Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Where a TCP port is listening, from `/proc/net/tcp{,6}` (Linux): the local addresses of
/// listening sockets on `port`. `None` when the tables cannot be read.
pub fn listening_addresses(port: u16) -> Option<Vec<String>> {
    let mut found = Vec::new();
    let mut readable = false;
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        readable = true;
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 || cols[3] != "0A" {
                continue;
            }
            let Some((addr, p)) = cols[1].split_once(':') else {
                continue;
            };
            if u16::from_str_radix(p, 16).ok() != Some(port) {
                continue;
            }
            found.push(decode_proc_addr(addr, v6));
        }
    }
    readable.then_some(found)
}

fn decode_proc_addr(hex: &str, v6: bool) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    if !v6 && bytes.len() == 4 {
        // /proc prints the address as a host-order (little-endian) 32-bit word.
        return std::net::Ipv4Addr::new(bytes[3], bytes[2], bytes[1], bytes[0]).to_string();
    }
    if v6 && bytes.len() == 16 {
        let mut octets = [0u8; 16];
        for word in 0..4 {
            for i in 0..4 {
                octets[word * 4 + i] = bytes[word * 4 + (3 - i)];
            }
        }
        return std::net::Ipv6Addr::from(octets).to_string();
    }
    hex.to_string()
}

/// Whether an address from [`listening_addresses`] is loopback.
pub fn is_loopback(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
        || address
            .strip_prefix("::ffff:")
            .and_then(|a| a.parse::<std::net::Ipv4Addr>().ok())
            .is_some_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_addresses_decode() {
        assert_eq!(decode_proc_addr("0100007F", false), "127.0.0.1");
        assert_eq!(decode_proc_addr("00000000", false), "0.0.0.0");
        assert_eq!(
            decode_proc_addr("00000000000000000000000001000000", true),
            "::1"
        );
        assert!(is_loopback("127.0.0.1") && is_loopback("::1") && !is_loopback("0.0.0.0"));
    }

    #[tokio::test]
    async fn finds_our_own_listener() {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = l.local_addr().unwrap().port();
        if let Some(addrs) = listening_addresses(port) {
            assert_eq!(addrs, vec!["127.0.0.1".to_string()]);
        }
    }
}
