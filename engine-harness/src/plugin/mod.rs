//! Provider plugins: find the binary (or build it with cargo), launch it as Pulumi's engine
//! does, read its port, dial it, handshake, configure, call it, and shut it down.

use crate::value::PropertyMap;
use plugin_host::{PluginProcess, ProviderClient};
use std::path::PathBuf;
use std::time::Duration;

mod calls;
mod configure;
mod construct;
mod discover;
mod launch;

pub use configure::ConfigureArgs;
pub use construct::{ConstructArgs, Constructed};
pub use discover::{binary_name, build_cargo, build_cargo_with, find, find_version};
pub use launch::{LaunchRequest, attach, debug_port, kill_all_launched, launch};
/// The plugin cache (`$PULUMI_HOME/plugins`), in Pulumi's layout.
pub use plugin_host::cache;

/// How long to wait for a plugin to print its port (override with
/// `ENGINE_HARNESS_PLUGIN_TIMEOUT`, in seconds).
pub const DEFAULT_PORT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a plugin has to exit after SIGINT before it is killed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const STDERR_TAIL_LINES: usize = 30;

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A ready binary.
    Binary(PathBuf),
    /// A Cargo package directory: build it, then run its `pulumi-resource-<pkg>` binary.
    Cargo(PathBuf),
}

/// Why a resource call failed.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The resource exists but failed to initialize (`ErrorResourceInitFailed`).
    InitFailed {
        /// Its id.
        id: String,
        /// Its outputs.
        outputs: PropertyMap,
        /// Its inputs, when the provider sent them.
        inputs: Option<PropertyMap>,
        /// The reasons.
        reasons: Vec<String>,
    },
    /// The call failed.
    Failed {
        /// What happened.
        message: String,
        /// The provider may or may not have done the work (crash, Unknown/Internal/DataLoss).
        outcome_unknown: bool,
    },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::InitFailed { reasons, .. } => write!(
                f,
                "created but failed to initialize: {}",
                reasons.join("; ")
            ),
            CallError::Failed { message, .. } => f.write_str(message),
        }
    }
}

/// The result of `Diff`.
#[derive(Debug, Clone, Default)]
pub struct DiffResult {
    /// `DIFF_UNKNOWN` = 0, `DIFF_NONE` = 1, `DIFF_SOME` = 2.
    pub changes: i32,
    /// Properties whose change forces replacement.
    pub replaces: Vec<String>,
    /// Changed top-level properties.
    pub diffs: Vec<String>,
    /// Path -> (kind, input diff).
    pub detailed: Vec<(String, i32)>,
    /// The provider asks for delete-before-replace.
    pub delete_before_replace: bool,
}

/// Which resource a call is about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Its URN.
    pub urn: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its type token.
    pub ty: &'a str,
}

/// What the state records of a resource: its id, outputs and inputs.
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its outputs.
    pub outputs: &'a PropertyMap,
    /// Its inputs.
    pub inputs: &'a PropertyMap,
}

impl<'a> Recorded<'a> {
    /// The record of a resource in the state.
    pub fn of(r: &'a crate::state::Resource) -> Self {
        Recorded {
            id: &r.id,
            outputs: &r.outputs,
            inputs: &r.inputs,
        }
    }
}

/// The new inputs of an `Update`, and how to apply them.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The new (checked) inputs.
    pub news: &'a PropertyMap,
    /// Seconds the provider may take (0: its default).
    pub timeout: f64,
    /// Properties whose changes are ignored.
    pub ignore_changes: &'a [String],
    /// A preview: nothing is changed.
    pub preview: bool,
}

/// A launched, connected plugin.
pub struct Plugin {
    /// The package.
    pub package: String,
    /// The binary.
    pub path: PathBuf,
    /// The version from `GetPluginInfo`.
    pub version: String,
    /// Whether the provider accepts secrets.
    pub accept_secrets: bool,
    /// Whether the provider supports `preview=true` calls.
    pub supports_preview: bool,
    /// Set when `DiffConfig` says the new provider configuration would replace the provider's
    /// resources (engine-harness reports this but does not replace them).
    pub config_replaces: Vec<String>,
    /// Whether the provider honours the autonaming proposal in Check.
    pub supports_autonaming: bool,
    /// The user's `pulumi:autonaming` configuration, evaluated into each Check's proposal.
    pub autonaming: Option<std::sync::Arc<crate::autonaming::Autonaming>>,
    client: ProviderClient,
    /// The process, when launched (not attached).
    process: Option<PluginProcess>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("package", &self.package)
            .field("path", &self.path)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}
