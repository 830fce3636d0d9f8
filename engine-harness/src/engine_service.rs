//! The `pulumirpc.Engine` service that plugins receive as their positional argument: the
//! host's service (`plugin_host::engine`), with `Log` messages forwarded to the [`Display`],
//! tied to the resource URN they name.

use crate::display::{Display, Event};
use plugin_host::engine::EngineServer;
use pulumirpc::{LogRequest, LogSeverity};

/// A running Engine service; it stops when dropped.
pub type RunningEngine = EngineServer;

/// Serves the Engine service on `127.0.0.1:0`; `GetRootResource` answers `root_urn`.
pub async fn serve(display: Display, root_urn: String) -> std::io::Result<RunningEngine> {
    EngineServer::start(move |r: LogRequest| forward(&display, r), root_urn).await
}

fn forward(display: &Display, r: LogRequest) {
    let severity = match LogSeverity::try_from(r.severity).unwrap_or(LogSeverity::Info) {
        LogSeverity::Debug => {
            tracing::debug!(urn = %r.urn, "{}", r.message);
            return;
        }
        LogSeverity::Info => "info",
        LogSeverity::Warning => "warning",
        LogSeverity::Error => "error",
    };
    if r.ephemeral {
        // A status message (Pulumi's ephemeral log line): progress of the resource's
        // operation, shown as such and not kept with the run's diagnostics.
        display.emit(Event::Status {
            urn: r.urn,
            message: r.message,
        });
    } else {
        display.emit(Event::Log {
            severity: severity.into(),
            urn: Some(r.urn),
            message: r.message,
        });
    }
}
