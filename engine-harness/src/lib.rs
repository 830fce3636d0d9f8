//! `engine-harness`: a small but real engine that drives Pulumi resource-provider plugins.
//!
//! It reads a Pulumi YAML project (`Pulumi.yaml` plus `Pulumi.<stack>.yaml`), launches the
//! provider plugins it needs exactly as Pulumi's engine does, and runs `preview`, `up`,
//! `refresh` and `destroy` against them, keeping the stack's state in a JSON file shaped like
//! `pulumi stack export` (deployment version 3).
//!
//! | module | job |
//! |---|---|
//! | [`program`] | parse and validate `Pulumi.yaml` / `Pulumi.<stack>.yaml`, with file:line errors |
//! | [`value`] | property values (re-exported from `plugin-host`): JSON with Pulumi's special objects, to and from `google.protobuf.Struct` |
//! | [`monitor`] | the resource monitor programs register with (re-exported from `plugin-host`) |
//! | [`plugin`] | find (`plugins.providers`, the plugin cache by version, `PATH`), build, launch, handshake, configure and shut down provider plugins |
//! | [`package`] | release a provider: `package pack`, `get-schema`, `diff-schema`, and `plugin install/ls/rm` over the plugin cache |
//! | [`engine_service`] | the `pulumirpc.Engine` service plugins log through (`plugin-host`'s, forwarding to the display) |
//! | [`state`] | the checkpoint file and its append-only step journal |
//! | [`secrets`] | Pulumi's passphrase secrets provider: secrets encrypted at rest |
//! | [`stack_config`] | `Pulumi.<stack>.yaml` as `engine-harness config` reads and writes it |
//! | [`deploy`] | planning and running steps in parallel along the dependency graph |
//! | [`display`] | human output and the `--json` event stream |
//! | [`diff_view`] | `--diff`: a step's full property diff for the human output |
//! | [`redact`] | masking the secret values the engine knows in every text it shows or stores |
//!
//! The usual entry point is [`deploy::run`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), engine_harness::Error> {
//! use engine_harness::deploy::{Options, Operation, run};
//! let summary = run(Options::new("./my-project", "dev", Operation::Up)).await?;
//! println!("{} steps failed", summary.failed);
//! # Ok(()) }
//! ```

pub mod autonaming;
pub mod config_path;
pub mod deploy;
pub mod diff_view;
pub mod display;
pub mod engine_service;
mod error;
pub mod language;
pub mod package;
pub mod plugin;
pub mod program;
pub mod property_path;
pub mod redact;
pub mod secrets;
pub mod stack_config;
pub mod state;

pub use error::{Error, exit_code};
/// The resource monitor and the engine's property values live in `plugin-host` (the kit serves
/// the monitor too); these paths stay for engine-harness's modules and users.
pub use plugin_host::{monitor, value};
