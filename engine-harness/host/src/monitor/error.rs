//! What the monitor refuses, each naming the resource and what to do.

/// An error of the resource monitor: bad input from a program, or an engine that failed to
/// answer. The program's SDK receives it as the failed RPC's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// Two registrations produced the same URN.
    #[error(
        "resource {urn} was registered twice: give one of them another name, or another parent"
    )]
    DuplicateUrn {
        /// The URN registered twice.
        urn: String,
    },
    /// A registration names a parent that was never registered.
    #[error("resource {urn}: its parent {parent} was not registered; register the parent first")]
    UnknownParent {
        /// The resource being registered.
        urn: String,
        /// The parent it named.
        parent: String,
    },
    /// A provider reference is malformed or names no registered provider resource.
    #[error("resource {urn}: provider reference `{reference}` {reason}")]
    BadProvider {
        /// The resource (or function token, for an invoke) that named the provider.
        urn: String,
        /// The reference as sent (`<provider URN>::<id>`).
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Outputs were registered for a URN that was never registered.
    #[error("outputs for {urn}: no resource with this URN was registered")]
    UnknownResource {
        /// The URN named.
        urn: String,
    },
    /// A request field has a value the monitor cannot use.
    #[error("resource {urn}: {field}: {message}")]
    InvalidField {
        /// The resource concerned.
        urn: String,
        /// The request field, as the protocol names it.
        field: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// The engine behind the monitor failed the request (a provider error, a failed step...).
    #[error("{0}")]
    Engine(String),
    /// The step a registration asked for failed (the engine has shown why). As Pulumi's engine
    /// does, an SDK that supports result reporting is answered with `result: FAIL` (its
    /// outputs resolve as unknown), any other with an `INTERNAL` error.
    #[error("{0}")]
    StepFailed(String),
    /// The engine behind the monitor stopped before answering, or starts no new step: Pulumi's
    /// `UNAVAILABLE`, on which the SDKs stop sending requests.
    #[error("the engine stopped before answering this request")]
    EngineStopped,
}

impl MonitorError {
    /// The gRPC status a program's SDK receives for this error.
    pub fn to_status(&self) -> tonic::Status {
        match self {
            MonitorError::Engine(_) => tonic::Status::unknown(self.to_string()),
            MonitorError::StepFailed(_) => tonic::Status::internal(self.to_string()),
            MonitorError::EngineStopped => tonic::Status::unavailable(self.to_string()),
            _ => tonic::Status::invalid_argument(self.to_string()),
        }
    }
}
