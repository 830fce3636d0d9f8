//! A plugin served by the SDK exits when the engine that launched it dies.
//!
//! The test plays three roles, chosen by an environment variable: the test itself; an "engine"
//! that launches the plugin, passes on its pid and port, then waits to be killed; and the
//! plugin, served by [`Plugin::main`] exactly as a provider's binary serves it. The roles are
//! this test run again in child processes of the test binary (libtest prints its own lines on
//! stdout first, so each reader skips to the line it waits for). The test SIGKILLs the engine
//! (so it has no chance to stop its plugin) and expects the plugin gone within a few seconds.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use provider_sdk::ops::*;
use provider_sdk::{Context, Plugin, ResourceProvider, Result, async_trait};

const ROLE: &str = "PROVIDER_SDK_DIES_WITH_ENGINE_ROLE";
/// How long the plugin may outlive its engine.
const WITHIN: Duration = Duration::from_secs(5);

/// This test's name in the test binary, to run it again as one of its roles.
const TEST: &str = "dies_with_engine::plugin_exits_when_its_engine_is_killed";

#[test]
fn plugin_exits_when_its_engine_is_killed() {
    let code = match std::env::var(ROLE).as_deref() {
        Ok("plugin") => run_plugin(),
        Ok("engine") => run_engine(),
        _ => return the_plugin_exits_when_its_engine_is_killed(),
    };
    // A role ends its process here, before the test harness reports anything.
    std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 });
}

/// This test binary, started to play `role`.
fn role(role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", TEST, "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE, role);
    command
}

/// Reads lines from `reader` until `parse` accepts one (skipping the test harness's own
/// lines); panics naming `what` at the end of the stream.
fn read_until<T>(reader: impl BufRead, what: &str, parse: impl Fn(&str) -> Option<T>) -> T {
    for line in reader.lines() {
        if let Some(found) = parse(line.expect("a line").trim()) {
            return found;
        }
    }
    panic!("the stream ended before {what}")
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
    let mut plugin = role("plugin")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the plugin starts");
    let port: u16 = read_until(
        BufReader::new(plugin.stdout.take().unwrap()),
        "the port line",
        |line| line.parse().ok(),
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} {}", plugin.id(), port).unwrap();
    out.flush().unwrap();
    // The test kills this process long before; the bound only keeps a stray run finite.
    std::thread::sleep(Duration::from_secs(600));
    let _ = plugin.kill();
    let _ = plugin.wait();
    ExitCode::FAILURE
}

/// Whether `pid` is still a live process (a zombie waiting to be reaped counts as gone).
fn alive(pid: u32) -> bool {
    test_support::alive(pid as i32)
}

fn the_plugin_exits_when_its_engine_is_killed() {
    let mut engine = role("engine")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the engine starts");
    let (pid, port): (u32, u16) = read_until(
        BufReader::new(engine.stdout.take().unwrap()),
        "the engine passed on the plugin's `PID PORT`",
        |line| {
            let (pid, port) = line.split_once(' ')?;
            Some((pid.parse().ok()?, port.parse().ok()?))
        },
    );
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
