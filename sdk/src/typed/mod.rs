//! The typed layer: resources, functions and configuration as Rust types.
//!
//! A resource is a type implementing [`Resource`], with serde + [`schemars::JsonSchema`]
//! `Inputs` and `Outputs`. Functions implement [`Function`]; the provider's configuration is a
//! type implementing [`ProviderConfig`]. A [`ProviderBuilder`] registers them by type token and
//! builds a [`TypedProvider`], which implements [`ResourceProvider`](crate::ResourceProvider)
//! and can be served with [`Plugin`](crate::Plugin).
//!
//! The typed layer never shows the author a wire value, and does this for them:
//!
//! - **Check** reads the inputs into `Inputs` and reports *every* bad property as a check
//!   failure with its path (`rules[2].port`, `tags["env"]`), then runs [`Resource::check`].
//! - **Diff** is structural and detailed: `detailedDiff` has one entry per changed path (nested
//!   objects and arrays included); changes under [`Resource::REPLACE_ON_CHANGES`] are
//!   `*_REPLACE`; `diffs` and `replaces` are filled. A resource whose `impl` defines no
//!   [`Resource::update`] is replaced on every change.
//! - **Secrets**: see [secret propagation](#secret-propagation) below.
//! - **Preview**: the author's `create` and `update` never run during a preview, so they never
//!   see unknown values. The SDK answers with the inputs echoed into the outputs of the same
//!   name (known or not) and every other output unknown; [`Resource::preview`] can refine that
//!   with typed inputs and state ([`PreviewOutputs`]).
//! - **Configuration**: the type registered with [`ProviderBuilder::config`] is read with
//!   [`Context::config`] by any resource or function, once `Configure` has run.
//! - **Import**: a Read with an id but no usable recorded state (the `import` resource option,
//!   a `get`, a pending create being recovered) goes to [`Resource::import`], which reads the
//!   resource from its id alone and answers with its outputs *and* inputs; a Read with a
//!   recorded state goes to [`Resource::read`]. A resource without `import` cannot be imported
//!   ([`Error::NotImportable`]).
//! - **Schema**: `GetSchema` returns a Pulumi package schema derived from the types (see
//!   [`ProviderBuilder`]); the description of a resource that can be imported ends with an
//!   Import section saying with which id ([`Resource::IMPORT_ID`]).
//! - Cancellation and the user's custom timeouts reach the author through the [`Context`]
//!   ([`Context::cancelled`], [`Context::timeout`]): long operations should watch them.
//!
//! # Secret propagation
//!
//! The rule, applied to the outputs of create, update and read and to function results:
//!
//! 1. a [`Secret<T>`](crate::Secret) field is always secret;
//! 2. an output property whose input of the same name holds a secret (at any depth) is secret;
//! 3. when *any* input holds a secret, every output property is secret unless it is an
//!    exact copy of a non-secret input of the same name: outputs computed from inputs may carry
//!    the secret, so they are kept secret;
//! 4. on update and read, an output property that was secret in the recorded state stays secret.
//!
//! So authors never mark anything by hand: a program that passes a secret gets secret outputs.
//! Two per-resource lists adjust the rule, each checked against the outputs by
//! [`ProviderBuilder::build`]: [`Resource::SECRET_OUTPUTS`] are always secret, and
//! [`Resource::PLAIN_OUTPUTS`] (outputs that never derive from a secret, such as a version or
//! a creation time) skip rules 3 and 4.
//!
//! An output can also say exactly which inputs it derives from, with a field attribute
//! ([`DERIVED_FROM_SCHEMA_KEY`], checked by [`ProviderBuilder::build`]); rules 3 and 4 are then
//! replaced by "secret exactly when one of those inputs is":
//!
//! ```
//! # use schemars::JsonSchema; use serde::{Deserialize, Serialize};
//! /// A database.
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! struct DatabaseState {
//!     /// The file it lives in.
//!     file: String,
//!     /// The encryption key.
//!     key: Option<String>,
//!     /// The absolute path: secret when `file` is, plain when only `key` is secret.
//!     #[schemars(extend("x-derived-from" = ["file"]))]
//!     path: String,
//!     /// The engine's version: never secret.
//!     #[schemars(extend("x-derived-from" = []))]
//!     version: String,
//! }
//! ```
//!
//! # Example
//!
//! ```
//! use provider_sdk::typed::{resource, Created, CreateArgs, ProviderBuilder, Resource};
//! use provider_sdk::{Context, Result};
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! /// A greeting, computed locally.
//! struct Greeting;
//!
//! /// The inputs of a greeting.
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! struct GreetingArgs {
//!     /// Who to greet.
//!     name: String,
//!     /// How many exclamation marks.
//!     excitement: Option<u8>,
//! }
//!
//! /// A greeting.
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! struct GreetingState {
//!     /// Who is greeted.
//!     name: String,
//!     /// The greeting.
//!     text: String,
//! }
//!
//! #[resource]
//! impl Resource for Greeting {
//!     type Inputs = GreetingArgs;
//!     type Outputs = GreetingState;
//!     const REPLACE_ON_CHANGES: &'static [&'static str] = &["name"];
//!
//!     async fn create(&self, _ctx: &Context, args: CreateArgs<GreetingArgs>) -> Result<Created<GreetingState>> {
//!         let bangs = "!".repeat(args.inputs.excitement.unwrap_or(1).into());
//!         let text = format!("Hello, {}{bangs}", args.inputs.name);
//!         Ok(Created::new(format!("greeting-{}", args.name), GreetingState { name: args.inputs.name, text }))
//!     }
//! }
//!
//! let provider = ProviderBuilder::new("greet", "1.0.0")
//!     .resource("greet:index:Greeting", Greeting)
//!     .build()
//!     .expect("valid registrations");
//! let schema = provider.schema();
//! assert_eq!(schema["resources"]["greet:index:Greeting"]["inputProperties"]["name"]["replaceOnChanges"], true);
//! assert_eq!(schema["resources"]["greet:index:Greeting"]["requiredInputs"], serde_json::json!(["name"]));
//! ```
//!
//! The plugin binary (`pulumi-resource-greet`) serves the built provider:
//!
//! ```no_run
//! # use provider_sdk::typed::ProviderBuilder;
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     let provider = ProviderBuilder::new("greet", env!("CARGO_PKG_VERSION"))
//!         // .resource("greet:index:Greeting", Greeting)
//!         .build()
//!         .expect("valid registrations");
//!     provider_sdk::Plugin::new(provider, env!("CARGO_PKG_VERSION")).main().await
//! }
//! ```
//!
//! Authors need `serde` (with `derive`) and `schemars` as dependencies for the derives.

mod autoname;
pub mod component;
mod diff;
mod import;
mod provider;
mod schema;
mod secrets;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use autoname::Autoname;
pub use component::{Child, Component, ComponentContext, Method, MethodContext};
pub use diff::structural_diff;
pub use import::ImportArgs;
pub use provider::{BuildError, ProviderBuilder, TypedProvider, UnknownProperty};
pub use provider_sdk_macros::resource;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ops::{CheckFailure, DiffResponse};
use crate::value::{PropertyMap, PropertyValue};

/// The schema extension with which an output field declares the inputs it derives from:
/// `#[schemars(extend("x-derived-from" = ["file"]))]` on a field of `Outputs`. Such an output
/// is secret exactly when one of those inputs (or its own same-named input) holds a secret;
/// `[]` says it derives from no input. See [secret propagation](self#secret-propagation).
pub const DERIVED_FROM_SCHEMA_KEY: &str = "x-derived-from";

/// What a type used as inputs, outputs, arguments or configuration must be able to do.
pub trait Data: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static> Data for T {}

/// A resource managed by the provider: typed inputs in, typed outputs (its state) out.
///
/// Write the `impl` under [`#[resource]`](macro@resource) (in place of `#[async_trait]`): the
/// attribute sees which operations the block defines, so **defining `update` is what makes
/// changes update in place, and defining `read` is what makes refresh read the live state**.
/// [`ProviderBuilder::build`] refuses a resource whose `impl` lacks the attribute.
///
/// Only [`create`](Resource::create) is required. Each other item has a default, and that
/// default says what the engine sees when the author does not write it:
///
/// | item | when absent |
/// |---|---|
/// | [`update`](Resource::update) | every change replaces the resource (create the new one, delete the old one) |
/// | [`read`](Resource::read) | refresh keeps the recorded state and inputs as they are |
/// | [`import`](Resource::import) | the resource cannot be imported: a Read without a recorded state is an [`Error::NotImportable`] naming its type, and the schema's description has no Import section |
/// | [`IMPORT_ID`](Resource::IMPORT_ID) | the schema's Import section calls the id just "its id" |
/// | [`REPLACE_ON_CHANGES`](Resource::REPLACE_ON_CHANGES) | no property forces a replace (when `update` is defined) |
/// | [`ADDS_IN_PLACE`](Resource::ADDS_IN_PLACE) | an addition under a `REPLACE_ON_CHANGES` path replaces too |
/// | [`SECRET_OUTPUTS`](Resource::SECRET_OUTPUTS) | outputs are secret by the [propagation rule](self#secret-propagation) and [`Secret<T>`](crate::Secret) fields |
/// | [`PLAIN_OUTPUTS`](Resource::PLAIN_OUTPUTS) | every computed output becomes secret when any input is |
/// | [`AUTONAME`](Resource::AUTONAME) | no input is filled in by Check |
/// | [`DELETE_BEFORE_REPLACE`](Resource::DELETE_BEFORE_REPLACE) = `false` | a replacement is created before the old resource is deleted |
/// | [`delete`](Resource::delete) | deleting only removes the resource from the state |
/// | [`check`](Resource::check) | inputs that deserialize are valid |
/// | [`diff`](Resource::diff) | the structural diff of old and new inputs |
/// | [`preview`](Resource::preview) | inputs echoed into same-named outputs, other outputs unknown |
///
/// The property lists name properties as the engine sees them (serialized, usually camelCase:
/// `ttlSeconds`, not `ttl_seconds`); [`ProviderBuilder::build`] checks every name against the
/// schema derived from `Inputs` and `Outputs`, so a typo is an error naming the resource, the
/// bad name and the real properties.
///
/// The doc comment of the `Outputs` type becomes the resource's description in the schema;
/// field doc comments describe the properties. `Outputs` usually repeats the inputs, so that
/// the state records them: `#[serde(flatten)] inputs: MyArgs` inside the outputs is supported
/// (the schema lists the flattened properties as the resource's own). `Option<T>` fields need
/// no serde attribute: `None` is written as an absent property, and an absent property reads
/// as `None`.
///
/// ```
/// use provider_sdk::typed::{resource, Created, CreateArgs, ProviderBuilder, Resource, UpdateArgs};
/// use provider_sdk::{Context, Result};
/// # #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// # /// A note.
/// # struct Note { /// The text.
/// #   text: String }
/// struct Sticky;
///
/// #[resource]
/// impl Resource for Sticky {
///     type Inputs = Note;
///     type Outputs = Note;
///     async fn create(&self, _ctx: &Context, args: CreateArgs<Note>) -> Result<Created<Note>> {
///         Ok(Created::new("sticky", args.inputs))
///     }
///     // Defining `update` is all it takes for changes to be made in place.
///     async fn update(&self, _ctx: &Context, args: UpdateArgs<Note, Note>) -> Result<Note> {
///         Ok(args.news)
///     }
/// }
///
/// let provider = ProviderBuilder::new("demo", "1.0.0").resource("demo:index:Sticky", Sticky).build();
/// assert!(provider.is_ok());
/// ```
#[async_trait::async_trait]
pub trait Resource: Send + Sync + 'static {
    /// The inputs the program gives.
    type Inputs: Data;
    /// The outputs: the state the engine records.
    type Outputs: Data;

    /// Which of `update`, `read` and `import` the `impl` defines: written by
    /// [`#[resource]`](macro@resource), never by hand.
    #[doc(hidden)]
    const CAPABILITIES: Capabilities = Capabilities::UNDECLARED;

    /// Input property paths whose change replaces the resource: top-level names as serialized
    /// (`name`), or paths into them (`columns[0].type`), where `[*]` and `.*` match any element
    /// or key (`columns[*].type`, `tags.*`). A change at or under a path replaces; other
    /// changes update in place. Top-level names are marked `replaceOnChanges` in the schema.
    /// Checked by [`ProviderBuilder::build`].
    const REPLACE_ON_CHANGES: &'static [&'static str] = &[];

    /// Paths (as in [`REPLACE_ON_CHANGES`](Resource::REPLACE_ON_CHANGES)) where an *added*
    /// element or key is made in place even though a `REPLACE_ON_CHANGES` path covers it:
    /// "append in place, replace on any other change" is
    /// `REPLACE_ON_CHANGES = &["columns"]` with `ADDS_IN_PLACE = &["columns[*]"]`, no custom
    /// `diff` needed. Checked by [`ProviderBuilder::build`].
    const ADDS_IN_PLACE: &'static [&'static str] = &[];

    /// Output properties that are always secret (marked `secret` in the schema), for outputs
    /// whose type is not [`Secret<T>`](crate::Secret). Checked by [`ProviderBuilder::build`].
    const SECRET_OUTPUTS: &'static [&'static str] = &[];

    /// Output properties that do not derive from any secret input (an id, a version, a
    /// timestamp): a secret input does not make them secret. A secret input of the same name,
    /// [`SECRET_OUTPUTS`](Resource::SECRET_OUTPUTS) and `Secret<T>` still do. Checked by
    /// [`ProviderBuilder::build`].
    const PLAIN_OUTPUTS: &'static [&'static str] = &[];

    /// Whether a replacement must delete the old resource before creating the new one (for
    /// resources whose identity, such as a file path, cannot exist twice). When `false` (the
    /// default), the engine creates the replacement first. It applies to every diff that asks
    /// for a replacement, a custom [`diff`](Resource::diff)'s included: the SDK sets
    /// `delete_before_replace` on the diff after the author's `diff` returns, so a custom diff
    /// need not (and a custom diff may set it itself when it is `false` here).
    const DELETE_BEFORE_REPLACE: bool = false;

    /// The input that is the resource's physical name, made up when the program does not set
    /// it: the logical name plus a random suffix kept stable across updates, or the name the
    /// engine proposes under the user's `pulumi:autonaming` configuration. See [`Autoname`].
    /// Checked by [`ProviderBuilder::build`].
    const AUTONAME: Option<Autoname> = None;

    /// What the id given to [`import`](Resource::import) is, for the schema's Import section
    /// (such as "the file's absolute path"). Unused when `import` is not defined.
    const IMPORT_ID: &'static str = "";

    /// Creates the resource. Never called during preview: inputs are always fully known.
    async fn create(
        &self,
        ctx: &Context,
        args: CreateArgs<Self::Inputs>,
    ) -> Result<Created<Self::Outputs>>;

    /// Reads the live state. `Ok(None)` means the resource no longer exists.
    ///
    /// Defining it (under [`#[resource]`](macro@resource)) is what makes refresh call it;
    /// when absent, refresh keeps what was recorded.
    async fn read(
        &self,
        _ctx: &Context,
        _args: ReadArgs<Self::Inputs, Self::Outputs>,
    ) -> Result<Option<ReadResult<Self::Inputs, Self::Outputs>>> {
        Err(Error::Unimplemented("Read"))
    }

    /// Reads an existing resource from its id alone (import, `get`, or a pending create being
    /// recovered): the live state and the inputs that would produce it. `Ok(None)` means
    /// nothing with this id exists. See [`ImportArgs`] for when the SDK calls it.
    ///
    /// Defining it (under [`#[resource]`](macro@resource)) is what makes the resource
    /// importable, and the schema's description says so in an Import section; when absent,
    /// importing it is an [`Error::NotImportable`] naming its type.
    async fn import(
        &self,
        _ctx: &Context,
        _args: ImportArgs<Self::Inputs>,
    ) -> Result<Option<ReadResult<Self::Inputs, Self::Outputs>>> {
        Err(Error::Unimplemented("Import"))
    }

    /// Updates the resource in place and returns its new outputs; never called during preview.
    ///
    /// Defining it (under [`#[resource]`](macro@resource)) is what makes changes update in
    /// place; when absent, every change replaces the resource.
    async fn update(
        &self,
        _ctx: &Context,
        _args: UpdateArgs<Self::Inputs, Self::Outputs>,
    ) -> Result<Self::Outputs> {
        Err(Error::Unimplemented("Update"))
    }

    /// Deletes the resource. When absent, deleting only forgets it.
    async fn delete(&self, _ctx: &Context, _args: DeleteArgs<Self::Outputs>) -> Result<()> {
        Ok(())
    }

    /// The author's own validation. It may also normalize `inputs` (fill defaults); the
    /// changed inputs are what the engine records. Called only when every input is known
    /// (not during a preview with unknown inputs).
    ///
    /// Check runs in one round: when some properties fail to deserialize, this still runs,
    /// on inputs where each of those holds a placeholder (empty string, zero, `None`, empty
    /// list), and its failures are reported together with the SDK's. Failures at or under a
    /// property that did not deserialize are dropped (it is reported already), and so is a
    /// normalization (the engine records nothing until the inputs are valid).
    ///
    /// A [`CheckFailure`] carries the property's path and the reason; the engine shows both
    /// (`key: must not be empty`), so the reason should not repeat the property name.
    async fn check(&self, _ctx: &Context, _inputs: &mut Self::Inputs) -> Result<Vec<CheckFailure>> {
        Ok(Vec::new())
    }

    /// A custom diff. `args.default` holds the structural diff (with
    /// [`REPLACE_ON_CHANGES`](Resource::REPLACE_ON_CHANGES) and
    /// [`ADDS_IN_PLACE`](Resource::ADDS_IN_PLACE) applied); return it, or another. After it
    /// returns, the SDK applies two rules: when the resource does not define `update`, every
    /// change is turned into a replace; when
    /// [`DELETE_BEFORE_REPLACE`](Resource::DELETE_BEFORE_REPLACE) is `true` and the diff
    /// replaces, `delete_before_replace` is set.
    async fn diff(
        &self,
        _ctx: &Context,
        args: DiffArgs<Self::Inputs, Self::Outputs>,
    ) -> Result<DiffResponse> {
        Ok(args.default)
    }

    /// Refines the preview of a create or update. `args.outputs` holds the SDK's answer
    /// (inputs echoed into same-named outputs, other outputs unknown); set the outputs that
    /// are known already, for instance a stable output kept from `args.state` on an update.
    /// Values that are unknown in the inputs must stay unknown.
    async fn preview(
        &self,
        _ctx: &Context,
        args: PreviewArgs<Self::Inputs, Self::Outputs>,
    ) -> Result<PreviewOutputs> {
        Ok(args.outputs)
    }
}

/// Which optional operations a resource's `impl` defines, as [`#[resource]`](macro@resource)
/// found them. Not written by hand.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    declared: bool,
    update: bool,
    read: bool,
    import: bool,
}

impl Capabilities {
    /// The `impl` was not written under `#[resource]`.
    pub const UNDECLARED: Capabilities = Capabilities {
        declared: false,
        update: false,
        read: false,
        import: false,
    };

    /// What `#[resource]` writes.
    #[doc(hidden)]
    pub const fn __from_impl(update: bool, read: bool, import: bool) -> Self {
        Capabilities {
            declared: true,
            update,
            read,
            import,
        }
    }
}

/// A provider function (`Invoke`): typed arguments in, a typed result out.
///
/// ```
/// use provider_sdk::{async_trait, ops::CheckFailure, Context, Result, typed::Function};
/// /// Adds two numbers.
/// struct Add;
/// /// The sum's terms.
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct Terms { a: i64, b: i64 }
/// /// The sum.
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct Sum { sum: i64 }
/// #[async_trait]
/// impl Function for Add {
///     type Args = Terms;
///     type Output = Sum;
///     // Arguments that parse but are invalid are failures naming the argument.
///     async fn check(&self, _ctx: &Context, args: &Terms) -> Result<Vec<CheckFailure>> {
///         Ok(if args.b < 0 { vec![CheckFailure::new("b", "must not be negative")] } else { vec![] })
///     }
///     async fn call(&self, _ctx: &Context, args: Terms) -> Result<Sum> {
///         Ok(Sum { sum: args.a + args.b })
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Function: Send + Sync + 'static {
    /// The arguments; their type's doc comment describes the function in the schema.
    type Args: Data;
    /// The result (an object).
    type Output: Data;

    /// The author's validation of arguments that deserialized: each [`CheckFailure`] names
    /// an argument (`sql`) and says what is wrong (`must be a SELECT statement`). Failures
    /// make the call answer with `failures` (what the engine and the kit expect), and `call`
    /// does not run. Arguments that failed to deserialize are reported already, and this
    /// runs on the rest in the same round (see [`Resource::check`]).
    async fn check(&self, _ctx: &Context, _args: &Self::Args) -> Result<Vec<CheckFailure>> {
        Ok(Vec::new())
    }

    /// Runs the function. Bad arguments never reach it: they are reported per property.
    /// Returning [`Error::InvalidInputs`] is the same as failing [`check`](Function::check):
    /// the engine gets the failures, each naming its argument, rather than an error.
    async fn call(&self, ctx: &Context, args: Self::Args) -> Result<Self::Output>;
}

/// The provider's configuration, read by `Configure` (keys without the package prefix).
///
/// Required fields (not `Option`, no `#[serde(default)]`) that are missing make `Configure`
/// fail with [`Error::MissingConfig`], which the engine shows as
/// "missing required configuration key". `Option` fields are optional keys: a key the program
/// does not set reads as `None`. Register it with [`ProviderBuilder::config`] and read it with
/// [`Context::config`] from any resource or function. A `Configure` whose values are not all
/// known yet (during a preview) is accepted and leaves the configuration as it was.
pub trait ProviderConfig: Data {
    /// The author's validation; failures make `CheckConfig` and `Configure` fail.
    fn validate(&self) -> Vec<CheckFailure> {
        Vec::new()
    }
}

/// What `create` gets.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreateArgs<I> {
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The checked inputs, fully known.
    pub inputs: I,
}

impl<I> CreateArgs<I> {
    /// Arguments for creating `name` from `inputs` (for calling a resource directly in tests).
    pub fn new(name: impl Into<String>, inputs: I) -> Self {
        CreateArgs {
            urn: String::new(),
            name: name.into(),
            inputs,
        }
    }
}

/// What `create` returns: the new resource's id and outputs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Created<O> {
    /// The provider-assigned id; must not be empty.
    pub id: String,
    /// The outputs.
    pub outputs: O,
}

impl<O> Created<O> {
    /// A resource with `id` and `outputs`.
    pub fn new(id: impl Into<String>, outputs: O) -> Self {
        Created {
            id: id.into(),
            outputs,
        }
    }
}

/// What `read` gets.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReadArgs<I, O> {
    /// The resource's id.
    pub id: String,
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The inputs last recorded; `None` when there are none or they no longer deserialize.
    pub inputs: Option<I>,
    /// The state last recorded.
    pub state: O,
}

/// What `read` returns for a resource that exists.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReadResult<I, O> {
    /// The resource's id.
    pub id: String,
    /// Inputs that would produce the live state.
    pub inputs: I,
    /// The live state.
    pub state: O,
}

impl<I, O> ReadResult<I, O> {
    /// The resource `id` exists with `inputs` and `state`.
    pub fn new(id: impl Into<String>, inputs: I, state: O) -> Self {
        ReadResult {
            id: id.into(),
            inputs,
            state,
        }
    }
}

/// What `update` gets.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UpdateArgs<I, O> {
    /// The resource's id.
    pub id: String,
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The inputs last recorded (`None` for state written without them).
    pub old_inputs: Option<I>,
    /// The state last recorded.
    pub state: O,
    /// The new inputs, fully known.
    pub news: I,
    /// Property paths the user asked to leave unchanged.
    pub ignore_changes: Vec<String>,
}

/// What `delete` gets.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeleteArgs<O> {
    /// The resource's id.
    pub id: String,
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The state last recorded.
    pub state: O,
}

/// What a custom `diff` gets. Typed values are `None` when they hold unknowns (preview) or do
/// not deserialize.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DiffArgs<I, O> {
    /// The resource's id.
    pub id: String,
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The inputs last recorded.
    pub old_inputs: Option<I>,
    /// The state last recorded.
    pub state: Option<O>,
    /// The new inputs.
    pub news: Option<I>,
    /// The structural diff the SDK computed.
    pub default: DiffResponse,
}

/// What the `preview` hook gets: typed inputs when they are all known, the typed recorded
/// state on an update, and the outputs to refine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PreviewArgs<I, O> {
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The new inputs; `None` when some of them are not known yet (they come from other
    /// resources' outputs).
    pub inputs: Option<I>,
    /// The recorded state, when previewing an update.
    pub state: Option<O>,
    /// The SDK's default answer, to refine: inputs echoed into same-named outputs, other
    /// outputs unknown.
    pub outputs: PreviewOutputs,
    /// The inputs as they came, known or not, for [`PreviewArgs::known_input`].
    pub(crate) raw_inputs: PropertyMap,
}

impl<I, O> PreviewArgs<I, O> {
    /// Input `property` when it is known (even when other inputs are not): `None` when it is
    /// unknown, absent, or not a `T`.
    pub fn known_input<T: DeserializeOwned>(&self, property: &str) -> Option<T> {
        self.raw_inputs
            .get(property)
            .filter(|v| !v.contains_unknowns())
            .and_then(|v| crate::serde_bridge::from_value(v).ok())
    }
}

/// The outputs a preview shows: each output property is known (with a value) or unknown.
///
/// Property names are checked: naming a property the outputs do not have is an error that
/// lists the real ones.
///
/// ```
/// use provider_sdk::typed::{resource, Created, CreateArgs, PreviewArgs, PreviewOutputs, Resource};
/// use provider_sdk::{Context, Result};
/// /// The inputs.
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct Args { /// The text.
///     text: String }
/// /// The state.
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// #[serde(rename_all = "camelCase")]
/// struct State { /// The text.
///     text: String, /// When it was first created.
///     created_at: String }
/// struct Note;
///
/// #[resource]
/// impl Resource for Note {
///     type Inputs = Args;
///     type Outputs = State;
///     async fn create(&self, _ctx: &Context, args: CreateArgs<Args>) -> Result<Created<State>> {
///         Ok(Created::new("n", State { text: args.inputs.text, created_at: "now".into() }))
///     }
///     async fn update(&self, _ctx: &Context, args: provider_sdk::typed::UpdateArgs<Args, State>) -> Result<State> {
///         Ok(State { text: args.news.text, created_at: args.state.created_at })
///     }
///     // An update keeps `createdAt`: say so, and the preview shows it instead of `[unknown]`.
///     async fn preview(&self, _ctx: &Context, mut args: PreviewArgs<Args, State>) -> Result<PreviewOutputs> {
///         if let Some(state) = &args.state {
///             args.outputs.set("createdAt", &state.created_at)?;
///         }
///         Ok(args.outputs)
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewOutputs {
    values: PropertyMap,
    names: std::sync::Arc<[String]>,
}

impl PreviewOutputs {
    pub(crate) fn new(values: PropertyMap, names: std::sync::Arc<[String]>) -> Self {
        PreviewOutputs { values, names }
    }

    pub(crate) fn into_map(self) -> PropertyMap {
        self.values
    }

    fn check_name(&self, property: &str) -> Result<()> {
        if self.names.iter().any(|n| n == property) {
            return Ok(());
        }
        Err(Error::Internal(format!(
            "the preview names output `{property}`, which the outputs do not have; they are: {}",
            self.names.join(", ")
        )))
    }

    /// Makes `property` known with `value`.
    pub fn set(&mut self, property: &str, value: impl Serialize) -> Result<&mut Self> {
        self.check_name(property)?;
        let value = crate::serde_bridge::to_value(&value)
            .map_err(|e| Error::Internal(format!("preview output `{property}`: {e}")))?;
        self.values.insert(property.to_string(), value);
        Ok(self)
    }

    /// Makes `property` unknown (its value is decided by the operation itself).
    pub fn set_unknown(&mut self, property: &str) -> Result<&mut Self> {
        self.check_name(property)?;
        self.values.insert(
            property.to_string(),
            PropertyValue::Unknown(crate::value::UnknownKind::Any),
        );
        Ok(self)
    }

    /// The value of `property`: `None` when it is unknown, absent, or not a `T`.
    pub fn get<T: DeserializeOwned>(&self, property: &str) -> Option<T> {
        self.values
            .get(property)
            .filter(|v| !v.contains_unknowns())
            .and_then(|v| crate::serde_bridge::from_value(v).ok())
    }

    /// Whether `property` is known.
    pub fn is_known(&self, property: &str) -> bool {
        self.values
            .get(property)
            .is_some_and(|v| !v.contains_unknowns())
    }
}
