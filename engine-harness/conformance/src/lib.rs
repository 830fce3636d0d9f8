//! The provider conformance kit.
//!
//! The kit proves a Pulumi resource-provider plugin, in any language, against the contract the
//! engine relies on. It launches the plugin as the engine does, through the engine-side host
//! (`plugin-host`: engine address as the one positional argument, port read from the first
//! stdout line), drives it over gRPC with inputs from a fixture (or derived from the plugin's
//! schema), and reports case by case every failed assertion with what was expected, what came
//! back and what to fix.
//!
//! It decodes property values itself (only the protocol's constants come from `pulumirpc`), so
//! a bug in an SDK's encoding cannot hide behind the same bug in the kit.
//!
//! From a provider's own `cargo test`: add `provider-conformance` and `tokio` as
//! dev-dependencies, then in `tests/testsuite/conformance.rs` (the binary is the package's own, so cargo
//! builds it before the test and names it in `CARGO_BIN_EXE_<name>`):
//!
//! ```no_run
//! use provider_conformance::{Fixture, Kit, PluginCommand};
//!
//! # async fn demo() -> Result<(), provider_conformance::Error> {
//! // #[tokio::test] async fn conformance() { ... }
//! let plugin = PluginCommand::new(vec![
//!     "target/debug/pulumi-resource-local".to_string(), // env!("CARGO_BIN_EXE_pulumi-resource-local")
//! ]);
//! let fixture = Fixture::load("tests/fixtures/local.yaml".as_ref())?;
//! let report = Kit::new(plugin).with_fixture(fixture).run(&[]).await?;
//! assert!(report.passed(), "{}", report.table());
//! # Ok(()) }
//! ```
//!
//! From the command line: `engine-harness conformance --fixture FILE -- PLUGIN-COMMAND...`
//! (see [`cli`]). The cases, their stable names and what each proves are in [`CASES`], one
//! registry: a case is declared once, with its function. [`upgrade`] checks a new release
//! against the previous one (`--upgrade-from`), and [`schema_diff`] compares their schemas.

pub mod cases;
pub mod cli;
pub mod error;
pub mod fixture;
pub mod kit;
pub mod placeholders;
pub mod plugin;
pub mod prerequisites;
mod recorder;
pub mod report;
pub mod schema_diff;
pub mod schema_rules;
pub mod session;
pub mod upgrade;
pub mod values;

pub use cases::{CASES, Case};
pub use error::Error;
pub use fixture::{Fixture, ResourceFixture};
pub use kit::Kit;
pub use plugin::PluginCommand;
pub use report::{CaseReport, Finding, Report, Status};
