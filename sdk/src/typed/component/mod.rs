//! Components and methods as Rust types.
//!
//! A component is a resource the provider builds out of other resources. Its type implements
//! [`Component`]: serde + [`schemars::JsonSchema`] `Inputs` and `Outputs`, and a
//! [`construct`](Component::construct) that registers the children through the
//! [`ComponentContext`] it is given and returns the outputs. Register it with
//! [`ProviderBuilder::component`](super::ProviderBuilder::component); a program registers it
//! as a *remote* resource and the engine sends `Construct`.
//!
//! What the SDK does around `construct`:
//!
//! - **Inputs**: read into `Inputs`; every bad property (and every failure of
//!   [`Component::check`]) is reported at once, naming the property, before anything is
//!   registered. A `Construct` of a type the provider does not have is an error listing the
//!   types it has.
//! - **Registration**: connects to the engine's resource monitor, checks its features
//!   ([`crate::monitor`]), registers the component itself (same type, name and parent as the
//!   request, with the program's options), then each child as
//!   [`ComponentContext::register`] asks, parented to the component, then
//!   `RegisterResourceOutputs` with the outputs. The children of a package the program gave a
//!   provider for (`providers`) use that provider unless their options name another.
//! - **Previews**: `construct` runs during previews too, so that the children are planned.
//!   Values that are not known yet are [`Maybe::Unknown`](crate::Maybe): declare an input
//!   field `Maybe<T>` to accept an unknown value, and read children's outputs through
//!   [`Child::outputs`] (a `Maybe` of the typed outputs) or [`Child::output`] (one property).
//!   When an input that is not a `Maybe` is unknown, `construct` does not run: the component
//!   is registered alone with every output unknown, and its children are planned once the
//!   input is known.
//! - **Secrets**: a value the component got as a secret (an input, a child's output) stays
//!   secret in every child input and component output it is copied or embedded into; and
//!   [`Secret<T>`](crate::Secret) fields are always secret.
//! - **Errors**: a child whose registration fails fails `construct` with an error naming the
//!   child; the children registered before it stay in the engine's state.
//!
//! Methods (`Call`) implement [`Method`] and are registered with
//! [`ProviderBuilder::method`](super::ProviderBuilder::method) under
//! `<component token>/<name>`; the schema lists them in the component's `methods`.
//!
//! # Child names
//!
//! A child's URN holds its type, its parent's type and its own name, but not its parent's
//! name: two components of one type with children of the same name would clash. Derive child
//! names from the component's name (`format!("{name}-index")`).
//!
//! # Example
//!
//! ```
//! use provider_sdk::typed::{
//!     resource, Component, ComponentContext, Created, CreateArgs, ProviderBuilder, Resource,
//! };
//! use provider_sdk::{Context, Maybe, Result};
//! use provider_sdk::ops::ResourceOptions;
//!
//! /// A note.
//! struct Note;
//! /// A note's text.
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! struct NoteArgs { /// The text.
//!     text: String }
//! #[resource]
//! impl Resource for Note {
//!     type Inputs = NoteArgs;
//!     type Outputs = NoteArgs;
//!     async fn create(&self, _ctx: &Context, args: CreateArgs<NoteArgs>) -> Result<Created<NoteArgs>> {
//!         Ok(Created::new(args.name, args.inputs))
//!     }
//! }
//!
//! /// Two notes, the second after the first.
//! struct Pair;
//! /// The texts.
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! struct PairArgs { /// The first text.
//!     first: String, /// The second text.
//!     second: String }
//! /// What the pair made.
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! #[serde(rename_all = "camelCase")]
//! struct PairOutputs { /// The first note's text, once known.
//!     first_text: Maybe<String>, /// How many notes.
//!     count: u32 }
//!
//! #[provider_sdk::async_trait]
//! impl Component for Pair {
//!     type Inputs = PairArgs;
//!     type Outputs = PairOutputs;
//!     async fn construct(&self, ctx: &ComponentContext, name: &str, inputs: PairArgs) -> Result<PairOutputs> {
//!         let first = ctx
//!             .register::<Note>(&format!("{name}-1"), &NoteArgs { text: inputs.first }, ResourceOptions::new())
//!             .await?;
//!         ctx.register::<Note>(
//!             &format!("{name}-2"),
//!             &NoteArgs { text: inputs.second },
//!             ResourceOptions::new().depends_on(&first.urn),
//!         )
//!         .await?;
//!         Ok(PairOutputs { first_text: first.output("text")?, count: 2 })
//!     }
//! }
//!
//! let provider = ProviderBuilder::new("notes", "1.0.0")
//!     .resource("notes:index:Note", Note)
//!     .component("notes:index:Pair", Pair)
//!     .build()
//!     .unwrap();
//! let schema = provider.schema();
//! let pair = &schema["resources"]["notes:index:Pair"];
//! assert_eq!(pair["isComponent"], true);
//! assert_eq!(pair["requiredInputs"], serde_json::json!(["first", "second"]));
//! ```

mod context;
mod registry;
mod taint;

use serde::de::DeserializeOwned;

pub use context::{ComponentContext, MethodContext};
pub(crate) use registry::Components;

use super::Data;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ops::CheckFailure;
use crate::serde_bridge::{self, ConvertErrorKind, Maybe};
use crate::value::PropertyMap;

/// A component resource: typed inputs in, children registered, typed outputs out. See the
/// [module](self).
#[async_trait::async_trait]
pub trait Component: Send + Sync + 'static {
    /// The inputs the program gives. Fields that may be unknown during a preview are
    /// [`Maybe<T>`](crate::Maybe).
    type Inputs: Data;
    /// The outputs; their type's doc comment describes the component in the schema.
    type Outputs: Data;

    /// The author's validation. It runs in the same round as deserialization: when some
    /// properties fail to deserialize it still runs, on inputs where each of those holds a
    /// placeholder (empty string, zero, `None`, empty list), and its failures are reported
    /// together with the SDK's, each naming its property (failures at or under a property that
    /// did not deserialize are dropped: it is reported already). Not called while an input is
    /// unknown (a preview).
    async fn check(&self, _ctx: &Context, _inputs: &Self::Inputs) -> Result<Vec<CheckFailure>> {
        Ok(Vec::new())
    }

    /// Registers the children through `ctx` and returns the outputs. Runs during previews
    /// too ([`ComponentContext::is_preview`]).
    async fn construct(
        &self,
        ctx: &ComponentContext,
        name: &str,
        inputs: Self::Inputs,
    ) -> Result<Self::Outputs>;
}

/// A method of a component (`Call`): typed arguments in, a typed result out.
///
/// ```
/// use provider_sdk::typed::{Component, ComponentContext, Method, MethodContext};
/// use provider_sdk::{async_trait, Maybe, Result};
/// # /// A thing.
/// # struct Thing;
/// # /// Inputs.
/// # #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// # struct In {}
/// /// The thing's outputs.
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct Out { /// A greeting.
///     greeting: String }
/// # #[async_trait]
/// # impl Component for Thing {
/// #     type Inputs = In;
/// #     type Outputs = Out;
/// #     async fn construct(&self, _: &ComponentContext, _: &str, _: In) -> Result<Out> {
/// #         Ok(Out { greeting: "hi".into() })
/// #     }
/// # }
/// /// Says the greeting to someone.
/// struct Greet;
/// /// Whom to greet.
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct Whom { /// A name.
///     name: String }
/// /// The greeting.
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct Said { /// The text.
///     text: String }
///
/// #[async_trait]
/// impl Method for Greet {
///     type Component = Thing;
///     type Args = Whom;
///     type Output = Said;
///     async fn call(&self, ctx: &MethodContext<Thing>, args: Whom) -> Result<Said> {
///         let text = match ctx.outputs().await? {
///             Maybe::Known(out) => format!("{}, {}", out.greeting, args.name),
///             Maybe::Unknown => format!("hello, {}", args.name),
///         };
///         Ok(Said { text })
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Method: Send + Sync + 'static {
    /// The component the method belongs to.
    type Component: Component;
    /// The arguments (besides the component itself); their type's doc comment describes the
    /// method in the schema.
    type Args: Data;
    /// The result (an object).
    type Output: Data;

    /// Runs the method. Bad arguments never reach it: they are reported per property.
    async fn call(
        &self,
        ctx: &MethodContext<Self::Component>,
        args: Self::Args,
    ) -> Result<Self::Output>;
}

/// A child registered by [`ComponentContext::register`]: its URN and what is known of its
/// outputs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Child<O> {
    /// The child's URN.
    pub urn: String,
    /// Its id; unknown during a preview of a create.
    pub id: Maybe<String>,
    /// Its typed outputs, when every output that is not a `Maybe` is known.
    pub outputs: Maybe<O>,
    /// Its outputs as the engine returned them (secrets marked, unknowns included).
    pub state: PropertyMap,
}

impl<O> Child<O> {
    /// The output `property`: [`Maybe::Unknown`] when it is not known yet, an error naming
    /// the child and the property when it is not a `T` (an absent property reads as `None`
    /// into an `Option`).
    pub fn output<T: DeserializeOwned>(&self, property: &str) -> Result<Maybe<T>> {
        let value = self.state.get(property).cloned().unwrap_or_default();
        serde_bridge::from_value::<Maybe<T>>(&value).map_err(|e| {
            Error::Failed(format!(
                "output `{property}` of the child {}: {}",
                self.urn, e.message
            ))
        })
    }
}

/// Reads typed outputs, unknown when some are not known yet.
pub(crate) fn maybe_typed<O: DeserializeOwned>(what: &str, map: &PropertyMap) -> Result<Maybe<O>> {
    match serde_bridge::from_property_map::<O>(map) {
        Ok(typed) => Ok(Maybe::Known(typed)),
        Err(e) if e.kind == ConvertErrorKind::Unknown => Ok(Maybe::Unknown),
        Err(e) => Err(Error::Failed(format!(
            "the outputs of {what} do not read as `{}`: {e}",
            std::any::type_name::<O>()
        ))),
    }
}
