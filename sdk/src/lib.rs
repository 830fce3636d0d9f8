//! Write [Pulumi](https://www.pulumi.com) resource-provider plugins in Rust.
//!
//! A provider implements [`ResourceProvider`] (check, diff, create, read, update, delete, and
//! optionally configure, invoke, schema and cancel) using the SDK's own request and response
//! types and its lossless [`PropertyValue`] model; [`Plugin`] turns it into a plugin process
//! that the Pulumi engine (or this project's `engine-harness`) launches and drives.
//!
//! ```no_run
//! use provider_sdk::{async_trait, Context, Plugin, PropertyMap, Result, ResourceProvider, ops::*};
//!
//! /// Manages nothing but remembers its inputs.
//! struct Memo;
//!
//! #[async_trait]
//! impl ResourceProvider for Memo {
//!     async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
//!         ctx.log().info(format!("creating {}", req.name));
//!         Ok(CreateResponse::new(format!("memo-{}", req.name), req.properties))
//!     }
//!     async fn read(&self, _ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
//!         Ok(ReadResponse::found(req.id, req.properties, req.inputs))
//!     }
//!     async fn update(&self, _ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
//!         Ok(UpdateResponse::new(req.news))
//!     }
//!     async fn delete(&self, _ctx: &Context, _req: DeleteRequest) -> Result<()> {
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     Plugin::new(Memo, env!("CARGO_PKG_VERSION")).main().await
//! }
//! ```
//!
//! Most providers are better written on the [`typed`] layer: a resource is a Rust type with
//! serde inputs and outputs, and the SDK derives Check, Diff, secrets, previews and the package
//! schema from it ([`typed::ProviderBuilder`] builds a `ResourceProvider`). [`serde_bridge`]
//! converts between [`PropertyMap`]s and serde types, and [`Secret`] marks secret fields.
//!
//! Component resources (`Construct`) and their methods (`Call`) are written on the typed layer
//! too ([`typed::component`]): `construct` registers children through a typed client of the
//! engine's resource monitor ([`monitor`]), and values not known yet in a preview are
//! [`Maybe::Unknown`].
//!
//! What the SDK does for every provider:
//! - the process contract: loopback listener, the port as the only stdout line, the engine's
//!   flags, attach mode, 400 MiB messages, the gRPC health service, graceful SIGINT/SIGTERM;
//! - protocol negotiation: Handshake, GetPluginInfo, Configure's capability flags;
//! - a [`Context`] per call with cancellation, the preview flag, the custom timeout and a
//!   [`Logger`] that reaches the engine tagged with the resource URN;
//! - errors the engine understands: [`Error::InitFailed`] travels as `ErrorResourceInitFailed`,
//!   [`Error::MissingConfig`] as `ConfigureErrorMissingKeys`;
//! - a panic in provider code fails only that call.

#![forbid(unsafe_op_in_unsafe_fn)]

// `#[typed::resource]` names this crate `::provider_sdk`, which must resolve inside it too.
extern crate self as provider_sdk;

pub mod blocking;
mod context;
mod error;
mod logger;
pub mod monitor;
pub mod ops;
mod provider;
pub mod serde_bridge;
mod serve;
mod server;
pub mod testing;
pub mod typed;
pub mod value;
pub mod wire;

pub use async_trait::async_trait;
pub use context::{ConfigState, Context};
pub use error::{Error, InitFailure, MissingKey, Result};
pub use logger::Logger;
pub use provider::{ResourceProvider, diff_top_level};
pub use serde_bridge::{Maybe, Secret};
pub use serve::{Plugin, PluginArgs, PluginCommand, ServeError};
pub use tokio_util::sync::CancellationToken;
pub use value::{PropertyMap, PropertyValue};

/// The README's code blocks, compiled as doctests so the "your first provider" example stays
/// true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
