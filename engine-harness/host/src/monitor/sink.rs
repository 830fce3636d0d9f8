//! Where the monitor's typed requests go: a channel of [`MonitorEvent`]s, each with a oneshot
//! reply, that the engine drains, or a [`RegistrationSink`] trait object that [`drive`] feeds
//! from that channel.

use super::error::MonitorError;
use super::request::*;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The sending half of a request's answer.
pub type Reply<T> = oneshot::Sender<Result<T, MonitorError>>;

/// One request from the program, in the order the monitor received it.
#[derive(Debug)]
#[non_exhaustive]
pub enum MonitorEvent {
    /// `RegisterResource`: answer with the resource's id and outputs.
    Register {
        /// The registration (boxed: it is by far the largest request).
        request: Box<Registration>,
        /// Where the answer goes.
        reply: Reply<RegisteredResource>,
    },
    /// `RegisterResourceOutputs`: record a component's or the stack's outputs.
    RegisterOutputs {
        /// The outputs.
        request: OutputsRegistration,
        /// Where the answer goes.
        reply: Reply<()>,
    },
    /// `ReadResource`: answer with the resource's live state.
    Read {
        /// The read.
        request: ReadRequest,
        /// Where the answer goes.
        reply: Reply<ReadResult>,
    },
    /// `Invoke`: answer with the function's result.
    Invoke {
        /// The invoke.
        request: InvokeRequest,
        /// Where the answer goes.
        reply: Reply<InvokeResult>,
    },
    /// `Call`: answer with the method's result.
    Call {
        /// The call.
        request: CallRequest,
        /// Where the answer goes.
        reply: Reply<CallResult>,
    },
    /// `Engine.Log`: a message from the program; needs no answer.
    Log(LogEntry),
    /// `SignalAndWaitForShutdown`: the program is done and waits, serving its callbacks, until
    /// the answer says the engine is done with it.
    Shutdown {
        /// Where the answer goes.
        reply: Reply<()>,
    },
}

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

/// Feeds every event of `events` to `sink`, each on its own task so that a slow answer does not
/// hold up the others, until the monitor closes the channel.
pub async fn drive(mut events: mpsc::Receiver<MonitorEvent>, sink: Arc<dyn RegistrationSink>) {
    while let Some(event) = events.recv().await {
        let sink = sink.clone();
        match event {
            MonitorEvent::Log(entry) => sink.log(entry),
            MonitorEvent::Register { request, reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(sink.register(*request).await);
                });
            }
            MonitorEvent::RegisterOutputs { request, reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(sink.register_outputs(request).await);
                });
            }
            MonitorEvent::Read { request, reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(sink.read(request).await);
                });
            }
            MonitorEvent::Invoke { request, reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(sink.invoke(request).await);
                });
            }
            MonitorEvent::Call { request, reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(sink.call(request).await);
                });
            }
            MonitorEvent::Shutdown { reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(sink.shutdown().await);
                });
            }
        }
    }
}
