//! Helpers shared by the workspace's integration test suites, each said once: processes
//! ([`process`]), loopback ports ([`free_port`]), the workspace's own binaries
//! ([`workspace`]) and Pulumi's Python and Node.js SDKs installed once per run
//! ([`programs`]).
//!
//! A dev-dependency of the test suites only; no product crate depends on it.

pub mod process;
pub mod programs;
pub mod workspace;

pub use process::{KillOnDrop, Signal, alive, kill, read_pid, wait_for};
pub use workspace::{workspace_binary, workspace_root};

/// A free loopback port (bound and released; good enough for tests that start a server on it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("a bound socket's address")
        .port()
}
