//! Launching the plugin under test the way Pulumi's engine does, through the engine-side host
//! (`plugin-host`), with an engine server that records every `Log` call.
//!
//! [`Plugin::launch`] starts a fresh [`EngineServer`] and the plugin in its own process group
//! (the engine's address as its one positional argument), reads the port line, and dials it.
//! Dropping a [`Plugin`] kills its whole process group, so nothing is left behind.

use std::process::ExitStatus;
use std::time::Duration;

use plugin_host::engine::LogBook;
use plugin_host::launch::PortLineProblem;
use plugin_host::{Launch, PluginProcess, PortLineRule, ProviderClient, Signal};
use tonic::Status;

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

/// A `pulumirpc.Engine` server on loopback that records `Log` calls; stops when dropped.
pub struct EngineServer {
    server: plugin_host::engine::EngineServer,
    logs: LogBook,
}

impl EngineServer {
    /// Starts the server.
    pub async fn start() -> Result<EngineServer, Error> {
        let logs = LogBook::default();
        let server = plugin_host::engine::EngineServer::start(logs.clone(), "")
            .await
            .map_err(|e| Error::Engine(e.to_string()))?;
        Ok(EngineServer { server, logs })
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        self.server.address()
    }

    /// Every `Log` call received so far.
    pub fn logs(&self) -> Vec<pulumirpc::LogRequest> {
        self.logs.logs()
    }
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
    client: ProviderClient,
    process: PluginProcess,
}

impl Plugin {
    /// Starts `command` with a fresh engine server and connects to it.
    pub async fn launch(command: &PluginCommand, options: &LaunchOptions) -> Result<Plugin, Error> {
        let engine = EngineServer::start().await?;
        let Some((program, args)) = command.argv.split_first() else {
            return Err(Error::Launch("no plugin command given".into()));
        };
        let mut launch = Launch::new(program)
            .args(args)
            .args(&options.flags)
            .port_timeout(command.startup_timeout)
            .port_line(if options.tolerate_port_line {
                PortLineRule::Tolerate
            } else {
                PortLineRule::First
            });
        for (k, v) in &command.env {
            launch = launch.env(k, v);
        }
        if !options.attach_mode {
            launch = launch.engine(engine.address());
        }
        let process = launch.start().await.map_err(|e| match e {
            plugin_host::LaunchError::Spawn { program, source } => {
                Error::Launch(format!("cannot start `{program}`: {source}"))
            }
            other => Error::Launch(other.reason()),
        })?;
        let port = process.port();
        let client = plugin_host::connect(port, plugin_host::connect::CONNECT_WITHIN)
            .await
            .map_err(|e| {
                Error::Launch(format!(
                    "announced port {port} but cannot be dialled on 127.0.0.1 within 10 s: {}",
                    e.reason
                ))
            })?;
        Ok(Plugin {
            port,
            startup: process.startup(),
            port_line_problem: process.port_line_problem().cloned(),
            engine,
            client,
            process,
        })
    }

    /// A client on the plugin's connection (clones share the one HTTP/2 connection).
    pub fn client(&self) -> ProviderClient {
        self.client.clone()
    }

    /// The process id (also the process group id).
    pub fn pid(&self) -> i32 {
        self.process.pid() as i32
    }

    /// The last few KiB of the plugin's stderr.
    pub fn stderr_tail(&self) -> String {
        plugin_host::launch::last_chars(&self.process.stderr(), 8 * 1024).to_string()
    }

    /// The exit status, if the process has exited.
    pub fn exited(&self) -> Option<ExitStatus> {
        self.process.exited()
    }

    /// Waits up to `within` for the process to exit.
    pub async fn wait_exit(&self, within: Duration) -> Option<ExitStatus> {
        self.process.wait_exit(within).await
    }

    /// Explains a failed call: the status, and whether the process died (with its stderr).
    pub async fn explain(&self, op: &str, status: &Status) -> String {
        // A dying plugin shows as a transport failure; give the process a moment to be reaped.
        let exited = if is_transport(status) {
            self.wait_exit(Duration::from_secs(2)).await
        } else {
            self.exited()
        };
        match exited {
            Some(exit) => {
                let tail = self.stderr_tail();
                let tail = tail.trim();
                let note = if tail.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; its stderr ended with:\n{}",
                        plugin_host::launch::last_chars(tail, 1200)
                    )
                };
                format!(
                    "the plugin process exited ({exit}) during {op}: a plugin must answer with an error, never crash{note}"
                )
            }
            None => format!("{op} failed: {:?}: {}", status.code(), status.message()),
        }
    }

    /// Sends `signal` to the plugin's process group.
    pub fn signal(&self, signal: Signal) {
        let _ = self.process.signal(signal);
    }
}

/// Whether `status` is a transport failure (the connection, not the provider, failed) rather
/// than an error the provider returned.
pub fn is_transport(status: &Status) -> bool {
    let message = status.message().to_lowercase();
    status.code() == tonic::Code::Unavailable
        || [
            "transport",
            "connection",
            "h2 protocol",
            "broken pipe",
            "reset",
        ]
        .iter()
        .any(|w| message.contains(w))
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
    use tokio::net::TcpListener;

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
