//! End-to-end test support and the provider conformance kit.
//!
//! The kit proves a Pulumi resource-provider plugin, in any language, against the contract the
//! engine relies on. It launches the plugin as the engine does (engine address as the one
//! positional argument, port read from the first stdout line), drives it over gRPC with inputs
//! from a fixture (or derived from the plugin's schema), and reports case by case every failed
//! assertion with what was expected, what came back and what to fix.
//!
//! It depends only on the wire protocol (`pulumirpc`): it decodes property values itself, so a
//! bug in an SDK's encoding cannot hide behind the same bug in the kit.
//!
//! From a provider's own tests:
//!
//! ```no_run
//! # async fn demo() -> Result<(), provider_conformance::Error> {
//! use provider_conformance::{Fixture, Kit, PluginCommand};
//! let plugin = PluginCommand::new(vec![env!("CARGO_MANIFEST_DIR").to_string() + "/../target/debug/pulumi-resource-local"]);
//! let fixture = Fixture::load("tests/fixtures/local.yaml".as_ref())?;
//! let report = Kit::new(plugin).with_fixture(fixture).run(&[]).await?;
//! assert!(report.passed(), "{}", report.table());
//! # Ok(()) }
//! ```
//!
//! From the command line: `engine-harness conformance --fixture FILE -- PLUGIN-COMMAND...`
//! (see [`cli`]). The cases and their stable names are listed in [`CASES`].

pub mod cases;
pub mod cli;
pub mod error;
pub mod fixture;
pub mod kit;
pub mod plugin;
pub mod report;
pub mod session;
pub mod values;

pub use cases::{CASES, Case};
pub use error::Error;
pub use fixture::{Fixture, ResourceFixture};
pub use kit::Kit;
pub use plugin::PluginCommand;
pub use report::{CaseReport, Finding, Report, Status};
