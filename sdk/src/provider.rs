//! The [`ResourceProvider`] trait: what a provider implements.

use std::collections::BTreeMap;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ops::*;
use crate::value::PropertyMap;

/// A resource provider: the operations the engine calls, in the SDK's own types.
///
/// Only the resource lifecycle (`create`, `read`, `update`, `delete`) is required. Every other
/// method has a default, chosen so the engine behaves sensibly when it is absent:
///
/// | method | default |
/// |---|---|
/// | `check` | accepts the new inputs as they are |
/// | `diff` | compares old and new inputs key by key; every change updates in place |
/// | `configure` | accepts any configuration |
/// | `check_config`, `diff_config` | `UNIMPLEMENTED`, which the engine tolerates (config used as-is, diff unknown) |
/// | `invoke`, `get_schema` | `UNIMPLEMENTED` |
/// | `construct`, `call` | an `INVALID_ARGUMENT` error saying the provider has no components (methods) |
/// | `cancel` | nothing; the SDK cancels every in-flight [`Context`] itself |
///
/// Implementations must be `Send + Sync`: the SDK runs calls concurrently. A panic in any
/// method fails that call with `INTERNAL` and the plugin keeps serving.
///
/// ```
/// use provider_sdk::{async_trait, Context, Result, ResourceProvider, ops::*};
///
/// struct Echo;
///
/// #[async_trait]
/// impl ResourceProvider for Echo {
///     async fn create(&self, _ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
///         Ok(CreateResponse::new(req.name.clone(), req.properties))
///     }
///     async fn read(&self, _ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
///         Ok(ReadResponse::found(req.id, req.properties, req.inputs))
///     }
///     async fn update(&self, _ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
///         Ok(UpdateResponse::new(req.news))
///     }
///     async fn delete(&self, _ctx: &Context, _req: DeleteRequest) -> Result<()> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait ResourceProvider: Send + Sync + 'static {
    /// Validates a resource's inputs; invalid properties go in `failures`, never in an error.
    async fn check(&self, _ctx: &Context, req: CheckRequest) -> Result<CheckResponse> {
        Ok(CheckResponse::valid(req.news))
    }

    /// Compares recorded state with new inputs.
    async fn diff(&self, _ctx: &Context, req: DiffRequest) -> Result<DiffResponse> {
        let olds = if req.old_inputs.is_empty() {
            &req.olds
        } else {
            &req.old_inputs
        };
        Ok(diff_top_level(olds, &req.news, &[]))
    }

    /// Creates a resource. Outside preview the response must carry a non-empty id.
    async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse>;

    /// Reads a resource's live state; [`ReadResponse::gone`] when it no longer exists.
    async fn read(&self, ctx: &Context, req: ReadRequest) -> Result<ReadResponse>;

    /// Updates a resource in place.
    async fn update(&self, ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse>;

    /// Deletes a resource.
    async fn delete(&self, ctx: &Context, req: DeleteRequest) -> Result<()>;

    /// Validates the provider's configuration.
    async fn check_config(&self, _ctx: &Context, _req: CheckRequest) -> Result<CheckResponse> {
        Err(Error::Unimplemented("CheckConfig"))
    }

    /// Compares old and new provider configuration.
    async fn diff_config(&self, _ctx: &Context, _req: DiffRequest) -> Result<DiffResponse> {
        Err(Error::Unimplemented("DiffConfig"))
    }

    /// Configures the provider; called once, before any resource operation.
    async fn configure(&self, _ctx: &Context, _req: ConfigureRequest) -> Result<ConfigureResponse> {
        Ok(ConfigureResponse::default())
    }

    /// Calls a provider function.
    async fn invoke(&self, _ctx: &Context, _req: InvokeRequest) -> Result<InvokeResponse> {
        Err(Error::Unimplemented("Invoke"))
    }

    /// Returns the package schema.
    async fn get_schema(
        &self,
        _ctx: &Context,
        _req: GetSchemaRequest,
    ) -> Result<GetSchemaResponse> {
        Err(Error::Unimplemented("GetSchema"))
    }

    /// Constructs a component resource: registers it and its children with the engine's
    /// resource monitor ([`crate::monitor`]) and returns its URN and outputs. The default
    /// refuses: the provider has no components. The [`typed`](crate::typed) layer implements
    /// it for [`Component`](crate::typed::Component)s.
    async fn construct(&self, _ctx: &Context, req: ConstructRequest) -> Result<ConstructResponse> {
        Err(Error::InvalidRequest(format!(
            "this provider has no component resources, so it cannot construct `{}` ({}); \
             only components (isComponent in the schema) can be registered with `remote: true`",
            req.name, req.type_token
        )))
    }

    /// Calls a method of a component. The default refuses: the provider has no methods.
    async fn call(&self, _ctx: &Context, req: CallRequest) -> Result<CallResponse> {
        Err(Error::InvalidRequest(format!(
            "this provider has no component methods, so it cannot call `{}`",
            req.token
        )))
    }

    /// Whether this provider honours the engine's autonaming proposal in
    /// [`CheckRequest::autonaming`] (announced in Handshake and Configure as
    /// `supports_autonaming_configuration`). The typed layer does; a raw provider that names
    /// resources from the proposal returns `true`.
    fn supports_autonaming(&self) -> bool {
        false
    }

    /// Called when the engine asks the provider to stop. In-flight contexts are already
    /// cancelled by the SDK when this runs.
    async fn cancel(&self) -> Result<()> {
        Ok(())
    }
}

/// A key-by-key diff of two input maps: additions, deletions and updates of top-level keys,
/// with those in `replace_on_change` marked as requiring a replace.
///
/// ```
/// use provider_sdk::{diff_top_level, PropertyMap, ops::DiffKind};
/// let old = PropertyMap::from([("length".to_string(), 4.into())]);
/// let new = PropertyMap::from([("length".to_string(), 8.into())]);
/// let diff = diff_top_level(&old, &new, &["length"]);
/// assert_eq!(diff.replaces, vec!["length".to_string()]);
/// assert_eq!(diff.detailed_diff["length"].kind, DiffKind::UpdateReplace);
/// ```
pub fn diff_top_level(
    olds: &PropertyMap,
    news: &PropertyMap,
    replace_on_change: &[&str],
) -> DiffResponse {
    let mut detailed = BTreeMap::new();
    for (key, old) in olds {
        match news.get(key) {
            None => {
                detailed.insert(key.clone(), DiffKind::Delete);
            }
            Some(new) if new != old => {
                detailed.insert(key.clone(), DiffKind::Update);
            }
            Some(_) => {}
        }
    }
    for key in news.keys().filter(|k| !olds.contains_key(*k)) {
        detailed.insert(key.clone(), DiffKind::Add);
    }
    let detailed = detailed
        .into_iter()
        .map(|(key, kind)| {
            let kind = if replace_on_change.contains(&key.as_str()) {
                kind.replacing()
            } else {
                kind
            };
            (key, PropertyDiff::input(kind))
        })
        .collect();
    DiffResponse::from_detailed(detailed)
}
