//! The engine as the resource monitor's sink: every request a program's SDK (or a provider
//! constructing a component) sends is answered by the functions the YAML evaluator uses.

use super::register::{invoke, read_step, register, register_outputs};
use super::{Ctx, remote};
use crate::Error;
use crate::display::Event;
use crate::monitor::{
    self, CallRequest, CallResult, InvokeRequest, InvokeResult, LogEntry, MonitorConfig,
    MonitorError, OutputsRegistration, ReadRequest, ReadResult, RegistrationSink, RunningMonitor,
    Severity,
};
use crate::monitor::{RegisteredResource, Registration};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Serves the resource monitor for this run on loopback, answered by the engine, and notes its
/// address for the providers that construct components.
pub(super) async fn serve(
    ctx: &Arc<Ctx>,
    interrupt: &CancellationToken,
) -> Result<RunningMonitor, Error> {
    let sink = Arc::new(EngineSink {
        ctx: ctx.clone(),
        interrupt: interrupt.clone(),
    });
    let mut config = MonitorConfig::new(ctx.project.name.clone(), ctx.project.stack.clone());
    config.registry = ctx.registry.clone();
    let monitor = monitor::serve_with_sink(config, sink)
        .await
        .map_err(|e| Error::Io {
            context: "cannot serve the resource monitor on 127.0.0.1".into(),
            source: e,
        })?;
    if let Ok(mut a) = ctx.monitor_address.lock() {
        *a = Some(monitor.address().to_string());
    }
    Ok(monitor)
}

/// The engine as the monitor's sink.
struct EngineSink {
    ctx: Arc<Ctx>,
    interrupt: CancellationToken,
}

impl EngineSink {
    /// Refuses new work once the run is interrupted or a state write failed.
    fn check_running(&self) -> Result<(), MonitorError> {
        if self.interrupt.is_cancelled() {
            return Err(MonitorError::Engine(
                "the run was interrupted; no new steps start".into(),
            ));
        }
        Ok(())
    }

    fn state_failed(&self, e: Error) -> MonitorError {
        let msg = e.to_string();
        if let Ok(mut slot) = self.ctx.fatal.lock() {
            slot.get_or_insert(e);
        }
        MonitorError::Engine(msg)
    }
}

#[tonic::async_trait]
impl RegistrationSink for EngineSink {
    async fn register(&self, request: Registration) -> Result<RegisteredResource, MonitorError> {
        self.check_running()?;
        match register(&self.ctx, request).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(msg)) => Err(MonitorError::Engine(msg)),
            Err(e) => Err(self.state_failed(e)),
        }
    }

    async fn register_outputs(&self, request: OutputsRegistration) -> Result<(), MonitorError> {
        register_outputs(&self.ctx, &request.urn, request.outputs)
            .await
            .map_err(|e| self.state_failed(e))
    }

    async fn read(&self, request: ReadRequest) -> Result<ReadResult, MonitorError> {
        self.check_running()?;
        match read_step(&self.ctx, &request).await {
            Ok(Ok(properties)) => Ok(ReadResult { properties }),
            Ok(Err(msg)) => Err(MonitorError::Engine(msg)),
            Err(e) => Err(self.state_failed(e)),
        }
    }

    async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResult, MonitorError> {
        invoke(&self.ctx, &request)
            .await
            .map_err(MonitorError::Engine)
    }

    async fn call(&self, request: CallRequest) -> Result<CallResult, MonitorError> {
        self.check_running()?;
        remote::call(&self.ctx, &request)
            .await
            .map_err(MonitorError::Engine)
    }

    fn log(&self, entry: LogEntry) {
        // Errors come back as the program's failure; showing them here too would say it twice.
        let severity = match entry.severity {
            Severity::Debug | Severity::Error => return,
            Severity::Info => "info",
            Severity::Warning => "warning",
        };
        // The display names the resource itself, as it does for a plugin's log.
        self.ctx.display.emit(Event::Log {
            severity: severity.into(),
            urn: entry.urn.filter(|u| !u.is_empty()),
            message: entry.message,
        });
    }
}
