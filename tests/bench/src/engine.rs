//! A stand-in for the engine's `Engine` service (the host's), so plugins get a real address to
//! log to; it counts the `Log` calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use plugin_host::engine::EngineServer;

/// The running stand-in engine.
pub struct MockEngine {
    /// `127.0.0.1:PORT`, the argument plugins receive.
    pub address: String,
    logs: Arc<AtomicU64>,
    _server: EngineServer,
}

impl MockEngine {
    /// Binds loopback and serves in the background until dropped.
    pub async fn start() -> std::io::Result<Self> {
        let logs = Arc::new(AtomicU64::new(0));
        let counter = logs.clone();
        let server = EngineServer::start(
            move |_: pulumirpc::LogRequest| {
                counter.fetch_add(1, Ordering::Relaxed);
            },
            "",
        )
        .await?;
        Ok(MockEngine {
            address: server.address().to_string(),
            logs,
            _server: server,
        })
    }

    /// How many `Log` calls arrived so far.
    pub fn logs(&self) -> u64 {
        self.logs.load(Ordering::Relaxed)
    }
}
