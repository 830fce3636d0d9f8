//! `Construct` and `Call`: build a component resource, and call a method of one.
//!
//! A component is a resource that the provider builds out of other resources: the engine sends
//! `Construct` with the component's type, name, inputs and options, and the provider registers
//! the component and its children with the engine's resource monitor (at
//! [`DeploymentInfo::monitor_endpoint`], see [`crate::monitor`]) and answers with the
//! component's URN and outputs. `Call` runs a method of a component; its arguments hold the
//! component itself under [`SELF_ARG`].

use std::collections::BTreeMap;

use super::CheckFailure;
use crate::value::PropertyMap;

/// The argument of a method call that holds a reference to the component it is called on.
pub const SELF_ARG: &str = "__self__";

/// Where a `Construct` or `Call` runs: the deployment's monitor, stack and configuration.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeploymentInfo {
    /// The address (`host:port`) of the engine's resource monitor that children are
    /// registered with; empty when the engine did not give one.
    pub monitor_endpoint: String,
    /// The project's name.
    pub project: String,
    /// The stack's name.
    pub stack: String,
    /// The organization's name (empty when the engine has none).
    pub organization: String,
    /// True during a preview: children are planned, not created.
    pub dry_run: bool,
    /// How many resource operations the engine runs at once.
    pub parallel: i32,
    /// The program's configuration, `<pkg>:<key>` to its value as a string.
    pub config: BTreeMap<String, String>,
    /// The configuration keys whose values are secret.
    pub config_secret_keys: Vec<String>,
}

/// Custom timeouts of a resource, as durations such as `5m` or `1h30m`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CustomTimeouts {
    /// How long a create may take.
    pub create: String,
    /// How long an update may take.
    pub update: String,
    /// How long a delete may take.
    pub delete: String,
}

impl CustomTimeouts {
    /// Timeouts for create, update and delete (an empty string means "no custom timeout").
    pub fn new(
        create: impl Into<String>,
        update: impl Into<String>,
        delete: impl Into<String>,
    ) -> Self {
        CustomTimeouts {
            create: create.into(),
            update: update.into(),
            delete: delete.into(),
        }
    }
}

/// Resource options: those the program gave a component (in [`ConstructRequest::options`]),
/// and those a provider gives a resource it registers ([`crate::monitor`]).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ResourceOptions {
    /// URNs of the resources this one explicitly depends on.
    pub depends_on: Vec<String>,
    /// Whether the resource is protected from deletion (`None`: not set).
    pub protect: Option<bool>,
    /// The provider reference (`<provider URN>::<id>`) of a custom resource; `None`: the
    /// default provider, or the one its parent's `providers` names for its package.
    pub provider: Option<String>,
    /// Provider references by package name, inherited by children.
    pub providers: BTreeMap<String, String>,
    /// Earlier URNs of the resource.
    pub aliases: Vec<String>,
    /// Output properties that must be secret.
    pub additional_secret_outputs: Vec<String>,
    /// Custom timeouts.
    pub custom_timeouts: Option<CustomTimeouts>,
    /// The URN of a resource whose deletion deletes this one (empty: none).
    pub deleted_with: String,
    /// Whether a replacement deletes before it creates (`None`: not set).
    pub delete_before_replace: Option<bool>,
    /// Property paths whose changes are ignored.
    pub ignore_changes: Vec<String>,
    /// Property paths whose changes replace the resource.
    pub replace_on_changes: Vec<String>,
    /// Whether deleting only forgets the resource (`None`: not set).
    pub retain_on_delete: Option<bool>,
}

impl ResourceOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Depends on the resource `urn` (in addition to those already listed).
    pub fn depends_on(mut self, urn: impl Into<String>) -> Self {
        self.depends_on.push(urn.into());
        self
    }

    /// Uses the provider `reference` (`<provider URN>::<id>`).
    pub fn provider(mut self, reference: impl Into<String>) -> Self {
        self.provider = Some(reference.into());
        self
    }

    /// Protects the resource from deletion, or not.
    pub fn protect(mut self, protect: bool) -> Self {
        self.protect = Some(protect);
        self
    }

    /// Ignores changes of the property `path`.
    pub fn ignore_changes(mut self, path: impl Into<String>) -> Self {
        self.ignore_changes.push(path.into());
        self
    }

    /// Replaces the resource when the property `path` changes.
    pub fn replace_on_changes(mut self, path: impl Into<String>) -> Self {
        self.replace_on_changes.push(path.into());
        self
    }

    /// Deletes before creating on replacement, or not.
    pub fn delete_before_replace(mut self, yes: bool) -> Self {
        self.delete_before_replace = Some(yes);
        self
    }

    /// Only forgets the resource on delete, or not.
    pub fn retain_on_delete(mut self, yes: bool) -> Self {
        self.retain_on_delete = Some(yes);
        self
    }

    /// Makes the output `property` secret.
    pub fn secret_output(mut self, property: impl Into<String>) -> Self {
        self.additional_secret_outputs.push(property.into());
        self
    }

    /// Sets custom timeouts.
    pub fn custom_timeouts(mut self, timeouts: CustomTimeouts) -> Self {
        self.custom_timeouts = Some(timeouts);
        self
    }

    /// Adds an earlier URN of the resource.
    pub fn alias(mut self, urn: impl Into<String>) -> Self {
        self.aliases.push(urn.into());
        self
    }
}

/// Construct the component `type_token` named `name`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConstructRequest {
    /// The component's type token, such as `local:index:StaticSite`.
    pub type_token: String,
    /// The component's name.
    pub name: String,
    /// The URN of the component's parent (empty: the stack).
    pub parent: String,
    /// The inputs; may hold unknowns during a preview.
    pub inputs: PropertyMap,
    /// For each input property, the URNs of the resources it depends on.
    pub input_dependencies: BTreeMap<String, Vec<String>>,
    /// The component's resource options.
    pub options: ResourceOptions,
    /// The deployment the component is part of.
    pub deployment: DeploymentInfo,
}

impl ConstructRequest {
    /// A request to construct `name` of type `type_token` with `inputs` (for tests).
    pub fn new(
        type_token: impl Into<String>,
        name: impl Into<String>,
        inputs: PropertyMap,
    ) -> Self {
        ConstructRequest {
            type_token: type_token.into(),
            name: name.into(),
            inputs,
            ..Default::default()
        }
    }
}

/// The constructed component: its URN and outputs.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConstructResponse {
    /// The component's URN, as the monitor returned it.
    pub urn: String,
    /// The component's outputs (the same as registered with `RegisterResourceOutputs`).
    pub state: PropertyMap,
    /// For each output property, the URNs of the resources it depends on.
    pub state_dependencies: BTreeMap<String, Vec<String>>,
}

impl ConstructResponse {
    /// The component `urn` with outputs `state`.
    pub fn new(urn: impl Into<String>, state: PropertyMap) -> Self {
        ConstructResponse {
            urn: urn.into(),
            state,
            state_dependencies: BTreeMap::new(),
        }
    }
}

/// Call the method `token` with `args` (which hold the component under [`SELF_ARG`]).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallRequest {
    /// The method's token, such as `local:index:StaticSite/getFile`.
    pub token: String,
    /// The arguments, including [`SELF_ARG`].
    pub args: PropertyMap,
    /// For each argument, the URNs of the resources it depends on.
    pub arg_dependencies: BTreeMap<String, Vec<String>>,
    /// The deployment the call is made in.
    pub deployment: DeploymentInfo,
}

impl CallRequest {
    /// A request to call `token` with `args` (for tests).
    pub fn new(token: impl Into<String>, args: PropertyMap) -> Self {
        CallRequest {
            token: token.into(),
            args,
            ..Default::default()
        }
    }
}

/// The method's result, or failures naming invalid arguments.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallResponse {
    /// The returned values.
    pub result: PropertyMap,
    /// For each returned property, the URNs of the resources it depends on.
    pub return_dependencies: BTreeMap<String, Vec<String>>,
    /// One failure per invalid argument.
    pub failures: Vec<CheckFailure>,
}

impl CallResponse {
    /// A successful call returning `result`.
    pub fn ok(result: PropertyMap) -> Self {
        CallResponse {
            result,
            ..Default::default()
        }
    }

    /// A call rejected for invalid arguments.
    pub fn invalid(failures: Vec<CheckFailure>) -> Self {
        CallResponse {
            failures,
            ..Default::default()
        }
    }
}
