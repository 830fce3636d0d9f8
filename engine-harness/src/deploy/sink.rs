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
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The program's `SignalAndWaitForShutdown`: the SDK says its program is done, and waits,
/// still serving its callbacks (resource hooks), until the engine releases it. As in Pulumi,
/// nothing bounds how long a hook may take; a hook still running at the run's interrupt is
/// abandoned (`hooks::RunHooks`), so one Ctrl-C releases a program that hangs in one.
pub(super) struct ShutdownGate {
    signalled: watch::Sender<bool>,
    released: watch::Sender<bool>,
}

impl Default for ShutdownGate {
    fn default() -> Self {
        ShutdownGate {
            signalled: watch::channel(false).0,
            released: watch::channel(false).0,
        }
    }
}

impl ShutdownGate {
    /// Resolves once the program has signalled that it is done.
    pub(super) async fn signalled(&self) {
        let _ = self.signalled.subscribe().wait_for(|s| *s).await;
    }

    /// Lets the waiting program end.
    pub(super) fn release(&self) {
        self.released.send_replace(true);
    }

    async fn signal_and_wait(&self) {
        let mut released = self.released.subscribe();
        self.signalled.send_replace(true);
        let _ = released.wait_for(|r| *r).await;
    }
}

/// Serves the resource monitor for this run on loopback, answered by the engine, and notes its
/// address for the providers that construct components.
pub(super) async fn serve(
    ctx: &Arc<Ctx>,
    interrupt: &CancellationToken,
    gate: Arc<ShutdownGate>,
) -> Result<RunningMonitor, Error> {
    let sink = Arc::new(EngineSink {
        ctx: ctx.clone(),
        interrupt: interrupt.clone(),
        gate,
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
    ctx.hooks.set(monitor.hooks(), interrupt.clone());
    Ok(monitor)
}

/// The engine as the monitor's sink.
struct EngineSink {
    ctx: Arc<Ctx>,
    interrupt: CancellationToken,
    gate: Arc<ShutdownGate>,
}

impl EngineSink {
    /// Refuses new work once the run is interrupted, or, as Pulumi's engine does, once a step
    /// has failed: the program's SDK gets `UNAVAILABLE` and stops sending requests, so nothing
    /// is registered on the unknown outputs of the failed resource.
    fn check_running(&self) -> Result<(), MonitorError> {
        if self.interrupt.is_cancelled() {
            return Err(MonitorError::Engine(
                "the run was interrupted; no new steps start".into(),
            ));
        }
        if self.ctx.any_failed() {
            return Err(MonitorError::EngineStopped);
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
        // A provider's Construct refusing a component is the RPC's error, as in Pulumi; any
        // other failure is the failed step's.
        let constructed = request.remote && !request.custom;
        match register(&self.ctx, request).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(msg)) if constructed => Err(MonitorError::Engine(msg)),
            Ok(Err(msg)) => Err(MonitorError::StepFailed(msg)),
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

    async fn shutdown(&self) -> Result<(), MonitorError> {
        self.gate.signal_and_wait().await;
        Ok(())
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
