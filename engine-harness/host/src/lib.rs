//! The engine side of the plugin protocol, written once.
//!
//! Everything that plays Pulumi's engine towards a provider plugin uses this crate: the
//! `engine-harness` engine, the conformance kit (`provider-conformance`), the end-to-end tests
//! and the benchmarks.
//!
//! | module | job |
//! |---|---|
//! | [`launch`] | start a plugin in its own process group, read its port line, keep its stderr, kill it on drop |
//! | [`connect`](mod@connect) | dial `127.0.0.1:PORT` with the engine's transport settings, retrying |
//! | [`engine`] | the `pulumirpc.Engine` service a plugin logs to, recording or forwarding each `Log` |
//! | [`details`] | the typed details (`ErrorResourceInitFailed`, `ConfigureErrorMissingKeys`) of a failed call |
//! | [`value`] | the engine's property values: JSON with Pulumi's special objects, to and from `google.protobuf.Struct` |
//! | [`monitor`] | the `pulumirpc.ResourceMonitor` a program or a component provider registers resources with, as typed requests |
//! | [`duration`] | durations as Pulumi writes them (`30s`, `1h30m`) |
//!
//! The protocol's value markers (secret signature, unknown sentinels) live in
//! [`pulumirpc::sentinels`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use plugin_host::{connect, engine::{EngineServer, LogBook}, launch::Launch};
//! let logs = LogBook::default();
//! let engine = EngineServer::start(logs.clone(), "").await?;
//! let plugin = Launch::new("target/debug/pulumi-resource-local")
//!     .engine(engine.address())
//!     .start()
//!     .await?;
//! let mut client = connect::connect(plugin.port(), connect::CONNECT_WITHIN).await?;
//! let info = client.get_plugin_info(()).await?.into_inner();
//! println!("version {} on port {}", info.version, plugin.port());
//! # Ok(()) }
//! ```

pub mod cache;
pub mod capture;
pub mod connect;
pub mod details;
pub mod duration;
pub mod engine;
pub mod launch;
pub mod monitor;
pub mod value;

pub use connect::{ProviderClient, connect};
pub use launch::{Launch, LaunchError, PluginProcess, PortLineRule};
pub use rustix::process::Signal;
