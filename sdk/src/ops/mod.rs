//! One request and one response type per provider operation.
//!
//! Every type is `#[non_exhaustive]`: fields can be added without breaking providers. Build
//! responses with their constructors and builder-style methods; read requests by field.

mod check;
mod component;
mod config;
mod crud;
mod diff;
mod invoke;
mod schema;

pub use check::{Autonaming, AutonamingMode, CheckFailure, CheckRequest, CheckResponse};
pub use component::{
    CallRequest, CallResponse, ConstructRequest, ConstructResponse, CustomTimeouts, DeploymentInfo,
    ResourceOptions, SELF_ARG,
};
pub use config::{ConfigureRequest, ConfigureResponse};
pub use crud::{
    CreateRequest, CreateResponse, DeleteRequest, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse,
};
pub use diff::{DiffChanges, DiffKind, DiffRequest, DiffResponse, PropertyDiff};
pub use invoke::{InvokeRequest, InvokeResponse};
pub use schema::{GetSchemaRequest, GetSchemaResponse};
