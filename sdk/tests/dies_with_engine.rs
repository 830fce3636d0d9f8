//! A plugin served by the SDK exits when the engine that launched it dies.
//!
//! The test binary plays three roles, chosen by an environment variable: the test itself; an
//! "engine" that launches the plugin, passes on its pid and port, then waits to be killed; and
//! the plugin, served by [`Plugin::main`] exactly as a provider's binary serves it. The test
//! SIGKILLs the engine (so it has no chance to stop its plugin) and expects the plugin gone
//! within a few seconds.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use provider_sdk::ops::*;
use provider_sdk::{Context, Plugin, ResourceProvider, Result, async_trait};

const ROLE: &str = "PROVIDER_SDK_DIES_WITH_ENGINE_ROLE";
/// How long the plugin may outlive its engine.
const WITHIN: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    match std::env::var(ROLE).as_deref() {
        Ok("plugin") => run_plugin(),
        Ok("engine") => run_engine(),
        _ => {
            plugin_exits_when_its_engine_is_killed();
            println!("test plugin_exits_when_its_engine_is_killed ... ok");
            ExitCode::SUCCESS
        }
    }
}

struct Noop;

#[async_trait]
impl ResourceProvider for Noop {
    async fn create(&self, _: &Context, req: CreateRequest) -> Result<CreateResponse> {
        Ok(CreateResponse::new("id", req.properties))
    }
    async fn read(&self, _: &Context, req: ReadRequest) -> Result<ReadResponse> {
        Ok(ReadResponse::found(req.id, req.properties, req.inputs))
    }
    async fn update(&self, _: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        Ok(UpdateResponse::new(req.news))
    }
    async fn delete(&self, _: &Context, _: DeleteRequest) -> Result<()> {
        Ok(())
    }
}

fn run_plugin() -> ExitCode {
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(Plugin::new(Noop, "0.0.1").main())
}

/// Launches the plugin as an engine does, prints `PID PORT`, then waits to be killed.
fn run_engine() -> ExitCode {
    let mut plugin = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "plugin")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the plugin starts");
    let mut port = String::new();
    BufReader::new(plugin.stdout.take().unwrap())
        .read_line(&mut port)
        .expect("the port line");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} {}", plugin.id(), port.trim()).unwrap();
    out.flush().unwrap();
    // The test kills this process long before; the bound only keeps a stray run finite.
    std::thread::sleep(Duration::from_secs(600));
    let _ = plugin.kill();
    let _ = plugin.wait();
    ExitCode::FAILURE
}

/// Whether `pid` is still a live process (a zombie waiting to be reaped counts as gone).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

fn plugin_exits_when_its_engine_is_killed() {
    let mut engine = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "engine")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the engine starts");
    let mut line = String::new();
    BufReader::new(engine.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the engine passes on the plugin's pid and port");
    let (pid, port) = line
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("`PID PORT` from the engine, got {line:?}"));
    let pid: u32 = pid.parse().unwrap();
    let port: u16 = port
        .parse()
        .unwrap_or_else(|_| panic!("a port, got {port:?}"));
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("the plugin is serving");
    assert!(alive(pid));

    engine.kill().expect("SIGKILL the engine");
    engine.wait().unwrap();
    let killed = Instant::now();
    while alive(pid) && killed.elapsed() < WITHIN {
        std::thread::sleep(Duration::from_millis(20));
    }
    let outlived = alive(pid);
    if outlived {
        // SAFETY: plain libc call on the pid of the plugin this test started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    assert!(
        !outlived,
        "the plugin (pid {pid}) still ran {WITHIN:?} after its engine was killed"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections after the plugin exited"
    );
    eprintln!(
        "the plugin exited {:?} after its engine was killed",
        killed.elapsed()
    );
}
