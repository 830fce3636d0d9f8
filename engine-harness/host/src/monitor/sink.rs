//! Where the monitor's typed requests go: the [`RegistrationSink`] that answers them, called by
//! the gRPC handlers (the monitor's one dispatch path).

use super::error::MonitorError;
use super::request::*;

/// An engine that answers the monitor's requests. Calls may arrive concurrently (the SDKs
/// register independent resources in parallel), so an implementation may wait inside one call
/// for another to finish.
#[tonic::async_trait]
pub trait RegistrationSink: Send + Sync + 'static {
    /// Answers a `RegisterResource`.
    async fn register(&self, request: Registration) -> Result<RegisteredResource, MonitorError>;
    /// Answers a `RegisterResourceOutputs`.
    async fn register_outputs(&self, request: OutputsRegistration) -> Result<(), MonitorError>;
    /// Answers a `ReadResource`.
    async fn read(&self, request: ReadRequest) -> Result<ReadResult, MonitorError>;
    /// Answers an `Invoke`.
    async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResult, MonitorError>;
    /// Answers a `Call` of a component's method. By default the monitor has no component
    /// providers to run it.
    async fn call(&self, request: CallRequest) -> Result<CallResult, MonitorError> {
        Err(MonitorError::Engine(format!(
            "call of {}: this engine runs no component methods",
            request.token
        )))
    }
    /// Answers `SignalAndWaitForShutdown` once the engine no longer needs the program's
    /// callbacks. By default at once.
    async fn shutdown(&self) -> Result<(), MonitorError> {
        Ok(())
    }
    /// Receives a message the program logged. Warnings and errors go to stderr by default.
    fn log(&self, entry: LogEntry) {
        if entry.severity >= Severity::Warning {
            let level = if entry.severity == Severity::Error {
                "error"
            } else {
                "warning"
            };
            match entry.urn {
                Some(urn) if !urn.is_empty() => eprintln!("{level}: {urn}: {}", entry.message),
                _ => eprintln!("{level}: {}", entry.message),
            }
        }
    }
}
