//! Logging to the engine's `Log` service, tied to a resource URN.
//!
//! A provider's stdout belongs to the port line and its stderr is hidden from users, so
//! messages meant for people go to the engine. Messages are queued and sent in order of arrival,
//! several at a time, by a background task; until an engine address is known they go to
//! stderr through `tracing`.

use std::sync::Arc;

use pulumirpc::{LogRequest, LogSeverity};
use tokio::sync::{OnceCell, mpsc};

/// Sends log messages to the engine, each tagged with a resource URN.
#[derive(Clone)]
pub struct Logger {
    sink: Arc<Sink>,
    urn: String,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger").field("urn", &self.urn).finish()
    }
}

struct Sink {
    sender: OnceCell<mpsc::UnboundedSender<LogRequest>>,
}

impl Logger {
    /// A logger that writes to stderr only (for tests and for direct calls).
    pub fn stderr() -> Self {
        Logger {
            sink: Arc::new(Sink {
                sender: OnceCell::new(),
            }),
            urn: String::new(),
        }
    }

    /// Starts forwarding to the engine at `address` (`host:port`). Later calls are ignored.
    pub(crate) fn connect(&self, address: &str) {
        let address = address.to_string();
        let _ = self.sink.sender.set({
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(forward(address, rx));
            tx
        });
    }

    pub(crate) fn for_urn(&self, urn: &str) -> Logger {
        Logger {
            sink: self.sink.clone(),
            urn: urn.to_string(),
        }
    }

    /// Logs a debug message (shown only in the engine's verbose logs).
    pub fn debug(&self, message: impl Into<String>) {
        self.send(LogSeverity::Debug, message.into())
    }

    /// Logs an informational message, shown next to the resource.
    pub fn info(&self, message: impl Into<String>) {
        self.send(LogSeverity::Info, message.into())
    }

    /// Logs a warning, shown next to the resource.
    pub fn warn(&self, message: impl Into<String>) {
        self.send(LogSeverity::Warning, message.into())
    }

    /// Logs an error, shown next to the resource.
    pub fn error(&self, message: impl Into<String>) {
        self.send(LogSeverity::Error, message.into())
    }

    fn send(&self, severity: LogSeverity, message: String) {
        tracing::event!(target: "provider", tracing::Level::DEBUG, urn = %self.urn, severity = ?severity, "{message}");
        if let Some(tx) = self.sink.sender.get() {
            let _ = tx.send(LogRequest {
                severity: severity as i32,
                message,
                urn: self.urn.clone(),
                ..Default::default()
            });
        }
    }
}

/// How many `Log` calls may be on the wire at once. One at a time made every message its own
/// round trip, so a provider logging on each call spent more CPU on logs than on its work
/// (see BENCHMARKS.md); calls start in order, so the engine still sees them nearly in order.
const LOG_CALLS_IN_FLIGHT: usize = 32;

async fn forward(address: String, rx: mpsc::UnboundedReceiver<LogRequest>) {
    use futures::StreamExt;

    let endpoint = if address.contains("://") {
        address.clone()
    } else {
        format!("http://{address}")
    };
    let channel = match tonic::transport::Endpoint::from_shared(endpoint) {
        Ok(e) => e.tcp_nodelay(true).connect_lazy(),
        Err(e) => {
            tracing::warn!("engine address {address:?} is not usable, logging to stderr only: {e}");
            return;
        }
    };
    let client = pulumirpc::engine_client::EngineClient::new(channel);
    tokio_stream::wrappers::UnboundedReceiverStream::new(rx)
        .map(|request| {
            let mut client = client.clone();
            async move {
                if let Err(e) = client.log(request).await {
                    tracing::debug!("engine Log call failed: {e}");
                }
            }
        })
        .buffered(LOG_CALLS_IN_FLIGHT)
        .for_each(|()| async {})
        .await;
}
