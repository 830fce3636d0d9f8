//! The engine-side requests the monitor turns RPCs into, and the answers it expects back.
//! None of these carry wire (prost) types: property values are [`PropertyMap`]s with secrets
//! and unknowns in Pulumi's JSON encoding (see [`crate::value`]).

use crate::value::PropertyMap;
use std::collections::BTreeMap;
use std::time::Duration;

/// A reference to a provider resource, as the SDKs send it: `<provider URN>::<provider id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReference {
    /// The provider resource's URN (its type is `pulumi:providers:<package>`).
    pub urn: String,
    /// The provider resource's id (the unknown sentinel in a preview before it exists).
    pub id: String,
}

impl ProviderReference {
    /// Splits `<urn>::<id>`; `None` when there is no `::` after the URN.
    ///
    /// ```
    /// use plugin_host::monitor::ProviderReference;
    /// let r = ProviderReference::parse("urn:pulumi:dev::app::pulumi:providers:local::p::42").unwrap();
    /// assert_eq!(r.urn, "urn:pulumi:dev::app::pulumi:providers:local::p");
    /// assert_eq!(r.id, "42");
    /// ```
    pub fn parse(reference: &str) -> Option<Self> {
        let (urn, id) = reference.rsplit_once("::")?;
        Some(ProviderReference {
            urn: urn.to_string(),
            id: id.to_string(),
        })
    }

    /// The package the provider serves: `local` for `pulumi:providers:local`.
    pub fn package(&self) -> Option<&str> {
        super::urn::parse(&self.urn)?
            .own_type()
            .strip_prefix(super::urn::PROVIDER_TYPE_PREFIX)
    }
}

/// Per-operation time limits (`customTimeouts`); `None` means the engine's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomTimeouts {
    /// Limit on Create.
    pub create: Option<Duration>,
    /// Limit on Update.
    pub update: Option<Duration>,
    /// Limit on Delete.
    pub delete: Option<Duration>,
}

/// The resource options of a registration, as the program set them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceOptions {
    /// `protect`, when the program set it.
    pub protect: Option<bool>,
    /// URNs this resource depends on (explicit `dependsOn` and those seen through inputs).
    pub dependencies: Vec<String>,
    /// For each input property, the URNs its value came from.
    pub property_dependencies: BTreeMap<String, Vec<String>>,
    /// The explicit provider for a custom resource; `None` means the default provider.
    pub provider: Option<ProviderReference>,
    /// Providers by package for a component's children (`providers`).
    pub providers: BTreeMap<String, ProviderReference>,
    /// `deleteBeforeReplace`, when the program set it.
    pub delete_before_replace: Option<bool>,
    /// Property paths whose changes are ignored.
    pub ignore_changes: Vec<String>,
    /// Property paths whose changes force a replacement.
    pub replace_on_changes: Vec<String>,
    /// `retainOnDelete`, when the program set it.
    pub retain_on_delete: Option<bool>,
    /// Create, update and delete time limits.
    pub custom_timeouts: CustomTimeouts,
    /// Output properties to treat as secret in addition to those the provider marks.
    pub additional_secret_outputs: Vec<String>,
    /// Earlier URNs of this resource (from `aliases` specs and `aliasURNs`), all resolved.
    pub aliases: Vec<String>,
    /// Adopt an existing resource with this id instead of creating one.
    pub import_id: Option<String>,
    /// The provider plugin version asked for.
    pub version: Option<String>,
    /// Where the provider plugin may be downloaded from.
    pub plugin_download_url: Option<String>,
    /// The URN whose deletion deletes this resource too (`deletedWith`).
    pub deleted_with: Option<String>,
    /// The resource hooks bound to its create, update and delete, by name.
    pub hooks: super::hooks::HookBindings,
}

/// A `RegisterResource` call: a custom resource, a component, or a provider resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The URN the monitor assigned.
    pub urn: String,
    /// The type token, such as `local:index:File` or `pulumi:providers:local`.
    pub type_token: String,
    /// The name the program gave.
    pub name: String,
    /// The parent URN (`None` only for the root stack resource).
    pub parent: Option<String>,
    /// True for a custom resource (managed by a provider), false for a component.
    pub custom: bool,
    /// True for a component that a provider constructs (`remote`).
    pub remote: bool,
    /// The input properties.
    pub inputs: PropertyMap,
    /// The resource options.
    pub options: ResourceOptions,
}

impl Registration {
    /// Is this the registration of a provider resource (`pulumi:providers:*`)?
    pub fn is_provider(&self) -> bool {
        self.type_token
            .starts_with(super::urn::PROVIDER_TYPE_PREFIX)
    }
}

/// The engine's answer to a [`Registration`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegisteredResource {
    /// The provider-assigned id (`None` for a component; the unknown sentinel in a preview of a
    /// resource not yet created).
    pub id: Option<String>,
    /// The output properties (may contain unknowns in a preview, and secrets).
    pub outputs: PropertyMap,
    /// For each output property, the URNs it depends on.
    pub property_dependencies: BTreeMap<String, Vec<String>>,
}

/// A `RegisterResourceOutputs` call: the outputs of a component or of the stack.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputsRegistration {
    /// The component's or stack's URN.
    pub urn: String,
    /// The outputs.
    pub outputs: PropertyMap,
}

/// A `ReadResource` call: `get` of an existing resource by id.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRequest {
    /// The URN the monitor assigned.
    pub urn: String,
    /// The type token.
    pub type_token: String,
    /// The name the program gave.
    pub name: String,
    /// The id to read.
    pub id: String,
    /// The parent URN.
    pub parent: Option<String>,
    /// Properties that help identify the resource.
    pub properties: PropertyMap,
    /// URNs this read depends on.
    pub dependencies: Vec<String>,
    /// The explicit provider, if any.
    pub provider: Option<ProviderReference>,
    /// The provider plugin version asked for.
    pub version: Option<String>,
    /// Output properties to treat as secret.
    pub additional_secret_outputs: Vec<String>,
}

/// The engine's answer to a [`ReadRequest`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadResult {
    /// The resource's live state.
    pub properties: PropertyMap,
}

/// An `Invoke` call: a provider function.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeRequest {
    /// The function token, such as `local:index:getHash`.
    pub token: String,
    /// The arguments.
    pub args: PropertyMap,
    /// The explicit provider, if any.
    pub provider: Option<ProviderReference>,
    /// The provider plugin version asked for.
    pub version: Option<String>,
    /// URNs the invoke depends on (`dependsOn`).
    pub dependencies: Vec<String>,
}

/// The engine's answer to an [`InvokeRequest`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvokeResult {
    /// The function's result.
    pub value: PropertyMap,
    /// Argument problems the provider reported: (property, reason).
    pub failures: Vec<(String, String)>,
}

/// A `Call`: one of a component's methods, run by the provider that built the component.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    /// The method's token (`<package>:<module>:<Type>/<method>`).
    pub token: String,
    /// The arguments, with `__self__` (a reference to the component) among them.
    pub args: PropertyMap,
    /// For each argument, the URNs its value came from.
    pub arg_dependencies: BTreeMap<String, Vec<String>>,
    /// The provider to run it: the one the program named, else the one that constructed the
    /// component `__self__` refers to; `None` means the default provider of the package.
    pub provider: Option<ProviderReference>,
    /// The provider plugin version asked for.
    pub version: Option<String>,
}

/// The engine's answer to a [`CallRequest`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallResult {
    /// The method's result.
    pub value: PropertyMap,
    /// For each result property, the URNs it depends on.
    pub dependencies: BTreeMap<String, Vec<String>>,
    /// Argument problems the provider reported: (property, reason).
    pub failures: Vec<(String, String)>,
}

/// How serious a logged message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Debug detail.
    Debug,
    /// Information.
    Info,
    /// A warning.
    Warning,
    /// An error (a program that fails logs its exception this way).
    Error,
}

/// A message the program logged through the `Engine` service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// How serious it is.
    pub severity: Severity,
    /// The resource it concerns, if any.
    pub urn: Option<String>,
    /// The message.
    pub message: String,
    /// True for a status message that is replaced by the next one.
    pub ephemeral: bool,
}
