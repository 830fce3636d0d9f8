//! The SDK's error type: every way a provider operation can fail, as the engine must see it.

use crate::value::PropertyMap;

/// A failed provider operation. Each variant reaches the engine as the gRPC status the
/// protocol defines for it (see [`Error::code`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The resource was created (or updated, or read) but failed to initialize. The engine
    /// saves it with its id and outputs, records the reasons, and retries with an update on
    /// the next run. Sent as `UNKNOWN` with an `ErrorResourceInitFailed` detail.
    #[error("resource {} was created but failed to initialize: {}", .0.id, .0.reasons.join("; "))]
    InitFailed(Box<InitFailure>),

    /// Required configuration keys are missing. Sent as `INVALID_ARGUMENT` with a
    /// `ConfigureErrorMissingKeys` detail.
    #[error("missing required configuration: {}", .0.iter().map(|k| k.name.as_str()).collect::<Vec<_>>().join(", "))]
    MissingConfig(Vec<MissingKey>),

    /// The operation was cancelled (by the engine's `Cancel`, or a shutdown signal).
    #[error("operation cancelled: {0}")]
    Cancelled(String),

    /// The operation ran past the user's custom timeout.
    #[error("operation timed out: {0}")]
    Timeout(String),

    /// The request itself is malformed (a value of the wrong kind, an unknown type token).
    /// Invalid *inputs* belong in `CheckResponse::failures` instead.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// A component's inputs (or a method's arguments) are invalid, one failure per bad
    /// property. Sent as `INVALID_ARGUMENT` with an `InputPropertiesError` detail that
    /// names every property.
    #[error("invalid inputs: {}", .0.iter().map(|f| format!("`{}`: {}", f.property, f.reason)).collect::<Vec<_>>().join("; "))]
    InvalidInputs(Vec<crate::ops::CheckFailure>),

    /// The operation failed and changed nothing; the resource was not created, updated or
    /// deleted. Sent as `ABORTED`.
    #[error("{0}")]
    Failed(String),

    /// The operation failed and its outcome is unknown (the resource may or may not have been
    /// changed). Sent as `UNKNOWN`.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),

    /// The provider does not implement this operation.
    #[error("{0} is not implemented by this provider")]
    Unimplemented(&'static str),

    /// A Read without a recorded state (an import, or a `get`) of a resource type (the token
    /// given) that can be read only together with its recorded state. Sent as
    /// `UNIMPLEMENTED`.
    #[error(
        "resource type `{0}` cannot be imported: this provider reads it only together with its recorded state, not from its id alone"
    )]
    NotImportable(String),

    /// A bug in the provider, such as a panic in its code. Sent as `INTERNAL`.
    #[error("internal provider error: {0}")]
    Internal(String),

    /// A resource or function asked for the provider's configuration before `Configure` ran
    /// ([`Context::config`](crate::Context::config)). Sent as `FAILED_PRECONDITION`.
    #[error("{0}")]
    NotConfigured(String),
}

/// What is known about a resource that was created but failed to initialize.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InitFailure {
    /// The id of the created resource.
    pub id: String,
    /// Its output properties.
    pub properties: PropertyMap,
    /// Its inputs (for `Read`).
    pub inputs: PropertyMap,
    /// Why initialization failed, one reason per entry.
    pub reasons: Vec<String>,
}

/// A configuration key that `Configure` needs and did not get.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MissingKey {
    /// The key's name, such as `local:root`.
    pub name: String,
    /// What the key is for.
    pub description: String,
}

impl MissingKey {
    /// A missing key `name`, described by `description`.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        MissingKey {
            name: name.into(),
            description: description.into(),
        }
    }
}

impl Error {
    /// A resource that exists with `id` and `properties` but failed to initialize.
    pub fn init_failed(
        id: impl Into<String>,
        properties: PropertyMap,
        reasons: Vec<String>,
    ) -> Self {
        Error::InitFailed(Box::new(InitFailure {
            id: id.into(),
            properties,
            inputs: PropertyMap::new(),
            reasons,
        }))
    }

    /// An operation that failed and changed nothing.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed(message.into())
    }

    /// The gRPC status code the engine sees for this error.
    pub fn code(&self) -> tonic::Code {
        match self {
            Error::InitFailed(_) | Error::OutcomeUnknown(_) => tonic::Code::Unknown,
            Error::MissingConfig(_) | Error::InvalidRequest(_) | Error::InvalidInputs(_) => {
                tonic::Code::InvalidArgument
            }
            Error::Cancelled(_) => tonic::Code::Cancelled,
            Error::Timeout(_) => tonic::Code::DeadlineExceeded,
            Error::Failed(_) => tonic::Code::Aborted,
            Error::Unimplemented(_) | Error::NotImportable(_) => tonic::Code::Unimplemented,
            Error::Internal(_) => tonic::Code::Internal,
            Error::NotConfigured(_) => tonic::Code::FailedPrecondition,
        }
    }
}

/// Shorthand for results of provider operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
