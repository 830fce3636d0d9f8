//! Logging to the engine's `Log` service, tied to a resource URN.
//!
//! A provider's stdout belongs to the port line and its stderr is hidden from users, so
//! messages meant for people go to the engine. Messages are queued and sent in order of arrival,
//! several at a time, by a background task; until an engine address is known they go to
//! stderr through `tracing`.
//!
//! The queue is bounded ([`Logger::QUEUE_CAPACITY`] messages): logging never waits for the engine
//! and never grows without limit. When the engine accepts messages slower than the provider
//! writes them, the messages that find the queue full are dropped and counted, and once the
//! queue has drained the engine receives one warning saying how many were lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pulumirpc::{LogRequest, LogSeverity};
use tokio::sync::{Notify, OnceCell, mpsc};

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
    sender: OnceCell<mpsc::Sender<LogRequest>>,
    /// Shared with the forwarder (which must not hold the sender, or it would never end).
    drops: Arc<Drops>,
}

/// Messages dropped because the queue was full, not yet reported to the engine.
#[derive(Default)]
struct Drops {
    count: AtomicU64,
    /// Wakes the forwarder after a drop, so the report is sent even if no message follows.
    notify: Notify,
}

impl Sink {
    fn new() -> Arc<Self> {
        Arc::new(Sink {
            sender: OnceCell::new(),
            drops: Arc::default(),
        })
    }
}

impl Logger {
    /// How many log messages may wait for the engine; while the queue is full, new messages are
    /// dropped and counted, and the engine is told the count once the queue has drained.
    pub const QUEUE_CAPACITY: usize = 1024;

    /// A logger that writes to stderr only (for tests and for direct calls).
    pub fn stderr() -> Self {
        Logger {
            sink: Sink::new(),
            urn: String::new(),
        }
    }

    /// Starts forwarding to the engine at `address` (`host:port`). Later calls are ignored.
    pub(crate) fn connect(&self, address: &str) {
        let address = address.to_string();
        let _ = self.sink.sender.set({
            let (tx, rx) = mpsc::channel(Self::QUEUE_CAPACITY);
            tokio::spawn(forward(address, rx, self.sink.drops.clone()));
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

    /// Shows a status message for the resource while its operation runs ("copied 3 of 10
    /// files"): an ephemeral message (Pulumi's `ephemeral` log, as its providers'
    /// `InfoStatus`), shown as progress and not kept with the run's diagnostics.
    pub fn status(&self, message: impl Into<String>) {
        self.send_as(LogSeverity::Info, message.into(), true)
    }

    fn send(&self, severity: LogSeverity, message: String) {
        self.send_as(severity, message, false)
    }

    fn send_as(&self, severity: LogSeverity, message: String, ephemeral: bool) {
        tracing::event!(target: "provider", tracing::Level::DEBUG, urn = %self.urn, severity = ?severity, "{message}");
        let Some(tx) = self.sink.sender.get() else {
            return;
        };
        let request = LogRequest {
            severity: severity as i32,
            message,
            urn: self.urn.clone(),
            ephemeral,
            ..Default::default()
        };
        // Never wait for the engine: a full queue means it is slower than we are, and a
        // provider call must not stall (or the queue grow) because of its logging.
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(request) {
            self.sink.drops.count.fetch_add(1, Ordering::Relaxed);
            self.sink.drops.notify.notify_one();
        }
    }
}

/// How many `Log` calls may be on the wire at once. One at a time made every message its own
/// round trip, so a provider logging on each call spent more CPU on logs than on its work
/// (see BENCHMARKS.md); calls start in order, so the engine still sees them nearly in order.
const LOG_CALLS_IN_FLIGHT: usize = 32;

async fn forward(address: String, rx: mpsc::Receiver<LogRequest>, drops: Arc<Drops>) {
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
    futures::stream::unfold((rx, drops), next_request)
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

type Queue = (mpsc::Receiver<LogRequest>, Arc<Drops>);

/// The next message to send: the report of dropped messages once the queue is empty, else the
/// oldest queued message. Ends when every [`Logger`] is gone and the queue is empty.
async fn next_request((mut rx, drops): Queue) -> Option<(LogRequest, Queue)> {
    loop {
        if rx.is_empty() {
            let dropped = drops.count.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                tracing::warn!(
                    "{dropped} log messages dropped: the engine accepted them too slowly"
                );
                return Some((dropped_report(dropped), (rx, drops)));
            }
        }
        tokio::select! {
            biased;
            request = rx.recv() => return request.map(|r| (r, (rx, drops))),
            // A drop happened; loop to report it once the queue is empty.
            () = drops.notify.notified() => {}
        }
    }
}

fn dropped_report(dropped: u64) -> LogRequest {
    LogRequest {
        severity: LogSeverity::Warning as i32,
        message: format!(
            "{dropped} log messages dropped: the provider wrote them faster than the engine \
             accepted them (at most {} wait in the queue)",
            Logger::QUEUE_CAPACITY
        ),
        ..Default::default()
    }
}
