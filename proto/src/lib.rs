//! The `pulumirpc` wire protocol: messages, the `ResourceProvider`, `Engine`, `ResourceMonitor`
//! and `Callbacks` services, and their generated gRPC clients and servers.
//!
//! The `.proto` files under `proto/pulumi/` are this project's own, with package, service,
//! method, message and field names and numbers identical to Pulumi's, so a provider built on
//! them runs under the real `pulumi` CLI and a client built on them drives any Pulumi provider.
//! They are compiled by `protox` at build time; no system `protoc` is needed.
//!
//! Messages carry registered type names, so an error detail packs with the type URL the engine
//! expects:
//!
//! ```
//! use prost::Name;
//! assert_eq!(
//!     pulumirpc::ErrorResourceInitFailed::type_url(),
//!     "type.googleapis.com/pulumirpc.ErrorResourceInitFailed"
//! );
//! ```

#![allow(missing_docs)] // generated code: the documentation lives in the .proto files.
#![allow(clippy::all)]

tonic::include_proto!("pulumirpc");

pub use prost;
pub use prost_types;
pub use tonic;
pub use tonic_types;

/// Maximum size of a gRPC message in either direction, as Pulumi's engine configures it: 400 MiB.
pub const MAX_MESSAGE_SIZE: usize = 400 * 1024 * 1024;

/// The Google well-known types used by the protocol (`Struct`, `Value`, `Empty`, `Any`).
pub mod google {
    pub use prost_types::{Any, ListValue, NullValue, Struct, Value, value::Kind};
    /// `google.rpc.Status`, the payload of the `grpc-status-details-bin` trailer.
    pub use tonic_types::Status as RpcStatus;
}
