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

/// The generated modules, nested the way prost's cross-package paths expect (`pulumirpc`
/// refers to the `codegen` package as `super::codegen`).
mod generated {
    pub mod pulumirpc {
        tonic::include_proto!("pulumirpc");
        /// The `pulumirpc.codegen` package: HCL-style diagnostics of converters and generators.
        pub mod codegen {
            tonic::include_proto!("pulumirpc.codegen");
        }
        /// The `pulumirpc.testing` package: the language conformance test service.
        pub mod testing {
            tonic::include_proto!("pulumirpc.testing");
        }
    }
    pub mod codegen {
        tonic::include_proto!("codegen");
    }
}

pub use generated::pulumirpc::*;

/// The `codegen` package: the schema `Loader` and the `Mapper` services plugins call back.
pub mod codegen_services {
    pub use crate::generated::codegen::*;
}

/// The compiled `FileDescriptorSet` of every `pulumi/**/*.proto` file of this crate (without
/// the Google well-known types they import), as protobuf bytes: what a reflection service
/// serves and what `tests/testsuite/descriptors.rs` compares with Pulumi's published descriptors.
///
/// ```
/// use prost::Message;
/// let set = prost_types::FileDescriptorSet::decode(pulumirpc::FILE_DESCRIPTOR_SET).unwrap();
/// assert!(set.file.iter().any(|f| f.name() == "pulumi/provider.proto"));
/// ```
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/pulumirpc_descriptor.bin"));

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

/// The protocol's markers inside property values (`google.protobuf.Struct`), written once.
///
/// A special value is an object whose key [`SIG_KEY`](sentinels::SIG_KEY) holds one of the
/// signatures below; an unknown value (a preview's "known after apply") is one of seven sentinel
/// strings, one per kind. Pulumi's engine and SDKs use these exact strings.
///
/// ```
/// use pulumirpc::sentinels::{UNKNOWNS, UNKNOWN_ANY};
/// assert!(UNKNOWNS.contains(&UNKNOWN_ANY));
/// ```
pub mod sentinels {
    /// The key whose value marks an object as a special value.
    pub const SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
    /// Signature of a secret (`{SIG_KEY: SIG_SECRET, "value": v}`).
    pub const SIG_SECRET: &str = "1b47061264138c4ac30d75fd1eb44270";
    /// Signature of a resource reference.
    pub const SIG_RESOURCE_REFERENCE: &str = "5cf8f73096256a8f31e491e813e4eb8e";
    /// Signature of an output value.
    pub const SIG_OUTPUT: &str = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
    /// Signature of an asset.
    pub const SIG_ASSET: &str = "c44067f5952c0a294b673a41bacd8c17";
    /// Signature of an archive.
    pub const SIG_ARCHIVE: &str = "0def7320c3a5731c473e5ecbe6d01bc7";

    /// Sentinel of an unknown value of any kind (and of strings).
    pub const UNKNOWN_ANY: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    /// Sentinel of an unknown boolean.
    pub const UNKNOWN_BOOL: &str = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7";
    /// Sentinel of an unknown number.
    pub const UNKNOWN_NUMBER: &str = "3eeb2bf0-c639-47a8-9e75-3b44932eb421";
    /// Sentinel of an unknown array.
    pub const UNKNOWN_ARRAY: &str = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2";
    /// Sentinel of an unknown asset.
    pub const UNKNOWN_ASSET: &str = "030794c1-ac77-496b-92df-f27374a8bd58";
    /// Sentinel of an unknown archive.
    pub const UNKNOWN_ARCHIVE: &str = "e48ece36-62e2-4504-bad9-02848725956a";
    /// Sentinel of an unknown object.
    pub const UNKNOWN_OBJECT: &str = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff";
    /// All seven unknown sentinels: any/string, bool, number, array, asset, archive, object.
    pub const UNKNOWNS: [&str; 7] = [
        UNKNOWN_ANY,
        UNKNOWN_BOOL,
        UNKNOWN_NUMBER,
        UNKNOWN_ARRAY,
        UNKNOWN_ASSET,
        UNKNOWN_ARCHIVE,
        UNKNOWN_OBJECT,
    ];
}
