//! The provider builder and the provider it builds: dispatch by type token, and everything the
//! typed layer does around the author's code.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::sync::Arc;

use serde_json::{Value, json};

use super::component::Components;
use super::diff::{ReplaceRules, Step, diff_with_rules, is_under, path_steps};
use super::import;
use super::schema::{SchemaBuilder, property_extensions, property_kinds};
use super::secrets::{Marks, Sources, propagate};
use super::{
    CreateArgs, DeleteArgs, DiffArgs, Function, PreviewArgs, PreviewOutputs, ProviderConfig,
    ReadArgs, Resource, UpdateArgs,
};
use crate::context::{ConfigSlot, Context};
use crate::error::{Error, MissingKey, Result};
use crate::ops::*;
use crate::provider::ResourceProvider;
use crate::serde_bridge::{self, ConvertError, ConvertErrorKind, read_all, read_lenient};
use crate::value::{PropertyMap, PropertyValue, UnknownKind};

/// Why [`ProviderBuilder::build`] refused the registrations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A token is not of the form `<package>:<module>:<Name>` with this builder's package.
    #[error("type token `{token}` is malformed: expected `{package}:<module>:<Name>`")]
    BadToken {
        /// The token.
        token: String,
        /// The builder's package name.
        package: String,
    },
    /// The same token was registered twice.
    #[error("type token `{0}` is registered twice")]
    Duplicate(String),
    /// The package name is not usable in a schema.
    #[error(
        "package name `{0}` is malformed: letters, digits, `-` and `_`, starting with a letter"
    )]
    BadPackageName(String),
    /// A resource's `impl Resource` is not under `#[resource]`.
    #[error(
        "resource `{0}`: its `impl Resource` is not marked `#[provider_sdk::typed::resource]`; put that attribute on the impl (in place of `#[async_trait]`) so that defining `update` and `read` is what declares them"
    )]
    NotMarked(String),
    /// A property list of a resource names a property that does not exist.
    #[error("{0}")]
    UnknownProperty(Box<UnknownProperty>),
    /// A method's token or component is wrong (the message says how).
    #[error("{0}")]
    BadMethod(String),
    /// A declaration on a resource's types is malformed (the message says which and how).
    #[error("{0}")]
    BadDeclaration(String),
}

/// A property list (`REPLACE_ON_CHANGES`, `SECRET_OUTPUTS`, `PLAIN_OUTPUTS`, an output's
/// `x-derived-from`) names a
/// property the resource does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "resource `{token}`: `{list}` names `{name}`, which is not one of its {side} properties ({}){}",
    known.join(", "),
    suggestion.as_ref().map(|s| format!("; did you mean `{s}`? Properties are named as serialized (camelCase)")).unwrap_or_default()
)]
#[non_exhaustive]
pub struct UnknownProperty {
    /// The resource's type token.
    pub token: String,
    /// The list (`REPLACE_ON_CHANGES`, `SECRET_OUTPUTS`, `PLAIN_OUTPUTS`).
    pub list: &'static str,
    /// The bad name.
    pub name: String,
    /// `input` or `output`.
    pub side: &'static str,
    /// The real property names.
    pub known: Vec<String>,
    /// The real property the name probably means.
    pub suggestion: Option<String>,
}

/// Registers resources, functions and configuration by type token, and builds a
/// [`TypedProvider`].
///
/// ```
/// use provider_sdk::typed::{ProviderBuilder, ProviderConfig};
///
/// /// Configuration of the `demo` package.
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct DemoConfig {
///     /// The directory everything lives in.
///     root: String,
/// }
/// impl ProviderConfig for DemoConfig {}
///
/// let provider = ProviderBuilder::new("demo", "0.1.0")
///     .description("A demonstration")
///     .config::<DemoConfig>()
///     .build()
///     .unwrap();
/// assert_eq!(provider.schema()["config"]["defaults"], serde_json::json!(["root"]));
/// ```
pub struct ProviderBuilder {
    package: String,
    version: String,
    description: Option<String>,
    resources: Vec<(String, Arc<dyn ErasedResource>)>,
    functions: Vec<(String, Arc<dyn ErasedFunction>)>,
    config: Option<Arc<dyn ErasedConfig>>,
    /// Components and methods, registered by `typed::component`'s part of the builder.
    pub(super) components: Components,
}

impl ProviderBuilder {
    /// A provider for package `package` (the `<pkg>` of `pulumi-resource-<pkg>`), at `version`
    /// (semver, usually `env!("CARGO_PKG_VERSION")`).
    pub fn new(package: impl Into<String>, version: impl Into<String>) -> Self {
        ProviderBuilder {
            package: package.into(),
            version: version.into(),
            description: None,
            resources: Vec::new(),
            functions: Vec::new(),
            config: None,
            components: Components::default(),
        }
    }

    /// The package's description in the schema.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Registers `resource` under `token` (`<package>:<module>:<Name>`).
    pub fn resource<R: Resource>(mut self, token: impl Into<String>, resource: R) -> Self {
        let token = token.into();
        self.components.note_resource::<R>(&token);
        self.resources
            .push((token, Arc::new(Registered::new(resource))));
        self
    }

    /// Registers `function` under `token` (`<package>:<module>:<name>`).
    pub fn function<F: Function>(mut self, token: impl Into<String>, function: F) -> Self {
        self.functions
            .push((token.into(), Arc::new(RegisteredFunction(function))));
        self
    }

    /// Registers the provider's configuration type `C`. Resources and functions read it with
    /// [`Context::config`] once `Configure` has run.
    pub fn config<C: ProviderConfig>(mut self) -> Self {
        self.config = Some(Arc::new(TypedConfig::<C>(PhantomData)));
        self
    }

    /// Checks the registrations and builds the provider.
    pub fn build(self) -> std::result::Result<TypedProvider, BuildError> {
        let valid_package = self.package.starts_with(|c: char| c.is_ascii_alphabetic())
            && self
                .package
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_package {
            return Err(BuildError::BadPackageName(self.package));
        }
        let mut resources = BTreeMap::new();
        for (token, resource) in self.resources {
            check_token(&token, &self.package)?;
            resource.validate(&token)?;
            if resources.insert(token.clone(), resource).is_some() {
                return Err(BuildError::Duplicate(token));
            }
        }
        let mut functions = BTreeMap::new();
        for (token, function) in self.functions {
            check_token(&token, &self.package)?;
            if resources.contains_key(&token) || functions.insert(token.clone(), function).is_some()
            {
                return Err(BuildError::Duplicate(token));
            }
        }
        let mut components = self.components;
        components.validate(&self.package, &|t| {
            resources.contains_key(t) || functions.contains_key(t)
        })?;
        let mut provider = TypedProvider {
            package: self.package,
            version: self.version,
            description: self.description,
            resources,
            functions,
            config_slot: self
                .config
                .as_ref()
                .map(|c| Arc::new(ConfigSlot::new(c.type_name()))),
            config: self.config,
            components,
            schema: Value::Null,
        };
        provider.schema = provider.derive_schema();
        Ok(provider)
    }
}

pub(super) fn check_token(token: &str, package: &str) -> std::result::Result<(), BuildError> {
    let parts: Vec<&str> = token.split(':').collect();
    let ok = parts.len() == 3
        && parts[0] == package
        && !parts[2].is_empty()
        && !parts[2].starts_with(|c: char| c.is_ascii_digit())
        && parts[1..].iter().all(|p| {
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(BuildError::BadToken {
            token: token.to_string(),
            package: package.to_string(),
        })
    }
}

/// A provider made of typed resources and functions; implements
/// [`ResourceProvider`](crate::ResourceProvider) by dispatching each call on its type token.
pub struct TypedProvider {
    package: String,
    version: String,
    description: Option<String>,
    resources: BTreeMap<String, Arc<dyn ErasedResource>>,
    functions: BTreeMap<String, Arc<dyn ErasedFunction>>,
    config: Option<Arc<dyn ErasedConfig>>,
    config_slot: Option<Arc<ConfigSlot>>,
    components: Components,
    schema: Value,
}

impl std::fmt::Debug for TypedProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedProvider")
            .field("package", &self.package)
            .field("version", &self.version)
            .field("resources", &self.resources.keys().collect::<Vec<_>>())
            .field("functions", &self.functions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TypedProvider {
    /// The package schema derived from the registered types (what `GetSchema` returns), as
    /// a value of its own: `provider().schema()` needs no binding for the provider.
    pub fn schema(&self) -> Value {
        self.schema.clone()
    }

    /// The package name.
    pub fn package(&self) -> &str {
        &self.package
    }

    fn resource(&self, token: &str) -> Result<&Arc<dyn ErasedResource>> {
        self.resources.get(token).ok_or_else(|| {
            let known: Vec<&str> = self.resources.keys().map(String::as_str).collect();
            Error::InvalidRequest(format!(
                "unknown resource type `{token}`; this provider ({}) manages: {}",
                self.package,
                if known.is_empty() {
                    "no resources".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
    }

    fn derive_schema(&self) -> Value {
        let mut builder = SchemaBuilder::new(&self.package);
        let mut schema = json!({
            "name": self.package,
            "version": self.version.trim_start_matches('v'),
            "meta": {"moduleFormat": "(.*)"},
        });
        if let Some(d) = &self.description {
            schema["description"] = d.clone().into();
        }
        if let Some(config) = &self.config {
            let spec = config.schema(&mut builder);
            let mut variables = spec.properties.clone();
            for v in variables.values_mut() {
                if let Some(obj) = v.as_object_mut() {
                    obj.remove("default");
                }
            }
            schema["config"] = json!({"variables": variables, "defaults": spec.required});
            let mut provider =
                json!({"inputProperties": spec.properties, "requiredInputs": spec.required});
            if let Some(d) = spec.description {
                provider["description"] = d.into();
            }
            schema["provider"] = provider;
        }
        let mut resources = serde_json::Map::new();
        for (token, resource) in &self.resources {
            resources.insert(token.clone(), resource.schema(&mut builder));
        }
        let mut functions = serde_json::Map::new();
        for (token, function) in &self.functions {
            functions.insert(token.clone(), function.schema(&mut builder));
        }
        self.components
            .schema(&mut builder, &mut resources, &mut functions);
        schema["resources"] = resources.into();
        schema["functions"] = functions.into();
        schema["types"] = serde_json::to_value(&builder.types).unwrap_or_default();
        schema
    }
}

/// Every failed conversion as a check failure (paths and messages never show values).
pub(super) fn failures_of(errors: Vec<ConvertError>) -> Vec<CheckFailure> {
    errors
        .into_iter()
        .map(|e| {
            let property = if e.path.is_empty() {
                "<inputs>".to_string()
            } else {
                e.path.clone()
            };
            CheckFailure::new(property, e.message)
        })
        .collect()
}

/// The author's failures, without those at or under a property that did not deserialize
/// (its value was a placeholder, and it is reported already).
pub(super) fn beside(own: Vec<CheckFailure>, bad: &[String]) -> Vec<CheckFailure> {
    own.into_iter()
        .filter(|f| {
            !bad.iter()
                .any(|b| !b.is_empty() && is_under(&f.property, b))
        })
        .collect()
}

/// A conversion error of a request's values, naming the operation.
fn bad_request(what: &str, e: ConvertError) -> Error {
    Error::InvalidRequest(format!("{what}: {e}"))
}

#[async_trait::async_trait]
impl ResourceProvider for TypedProvider {
    async fn check(&self, ctx: &Context, req: CheckRequest) -> Result<CheckResponse> {
        let ctx = &ctx.with_config_slot(self.config_slot.as_ref());
        self.resource(&req.type_token)?.check(ctx, req).await
    }

    async fn diff(&self, ctx: &Context, req: DiffRequest) -> Result<DiffResponse> {
        let ctx = &ctx.with_config_slot(self.config_slot.as_ref());
        self.resource(&req.type_token)?.diff(ctx, req).await
    }

    async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        let ctx = &ctx.with_config_slot(self.config_slot.as_ref());
        self.resource(&req.type_token)?.create(ctx, req).await
    }

    async fn read(&self, ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
        let ctx = &ctx.with_config_slot(self.config_slot.as_ref());
        self.resource(&req.type_token)?.read(ctx, req).await
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        let ctx = &ctx.with_config_slot(self.config_slot.as_ref());
        self.resource(&req.type_token)?.update(ctx, req).await
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest) -> Result<()> {
        let ctx = &ctx.with_config_slot(self.config_slot.as_ref());
        self.resource(&req.type_token)?.delete(ctx, req).await
    }

    async fn check_config(&self, _ctx: &Context, req: CheckRequest) -> Result<CheckResponse> {
        match &self.config {
            None => Ok(CheckResponse::valid(req.news)),
            Some(config) => {
                let failures = config.check(&req.news);
                Ok(CheckResponse::invalid(req.news, failures))
            }
        }
    }

    async fn configure(&self, _ctx: &Context, req: ConfigureRequest) -> Result<ConfigureResponse> {
        if let Some(config) = &self.config
            && let Some(value) = config.configure(&self.package, &req.args)?
            && let Some(slot) = &self.config_slot
        {
            slot.set(value);
        }
        Ok(ConfigureResponse::default())
    }

    async fn invoke(&self, ctx: &Context, req: InvokeRequest) -> Result<InvokeResponse> {
        let function = self.functions.get(&req.token).ok_or_else(|| {
            let known: Vec<&str> = self.functions.keys().map(String::as_str).collect();
            Error::InvalidRequest(format!(
                "unknown function `{}`; this provider ({}) offers: {}",
                req.token,
                self.package,
                if known.is_empty() {
                    "no functions".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        let ctx = &ctx.with_config_slot(self.config_slot.as_ref());
        function.invoke(ctx, req).await
    }

    async fn get_schema(
        &self,
        _ctx: &Context,
        _req: GetSchemaRequest,
    ) -> Result<GetSchemaResponse> {
        Ok(GetSchemaResponse::new(self.schema.to_string()))
    }

    fn supports_autonaming(&self) -> bool {
        // The typed layer honours the engine's proposal for every resource with an
        // `AUTONAME`; a provider without one names nothing, which honours it trivially.
        true
    }

    async fn construct(&self, ctx: &Context, req: ConstructRequest) -> Result<ConstructResponse> {
        let ctx = &ctx.with_config_slot(self.config_slot.as_ref());
        self.components.construct(ctx, req, &self.package).await
    }

    async fn call(&self, ctx: &Context, req: CallRequest) -> Result<CallResponse> {
        let ctx = &ctx.with_config_slot(self.config_slot.as_ref());
        self.components.call(ctx, req, &self.package).await
    }
}

#[async_trait::async_trait]
trait ErasedResource: Send + Sync {
    async fn check(&self, ctx: &Context, req: CheckRequest) -> Result<CheckResponse>;
    async fn diff(&self, ctx: &Context, req: DiffRequest) -> Result<DiffResponse>;
    async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse>;
    async fn read(&self, ctx: &Context, req: ReadRequest) -> Result<ReadResponse>;
    async fn update(&self, ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse>;
    async fn delete(&self, ctx: &Context, req: DeleteRequest) -> Result<()>;
    fn schema(&self, builder: &mut SchemaBuilder) -> Value;
    /// Checks the resource's declarations against its code and its properties.
    fn validate(&self, token: &str) -> std::result::Result<(), BuildError>;
}

/// `name` is in `known`, or the error naming the resource, the list and the real properties.
fn check_names(
    token: &str,
    list: &'static str,
    side: &'static str,
    names: &[&str],
    known: &[String],
) -> std::result::Result<(), BuildError> {
    for name in names {
        if known.iter().any(|k| k == name) {
            continue;
        }
        let flat = |s: &str| s.replace(['_', '-'], "").to_ascii_lowercase();
        let suggestion = known.iter().find(|k| flat(k) == flat(name)).cloned();
        return Err(BuildError::UnknownProperty(Box::new(UnknownProperty {
            token: token.to_string(),
            list,
            name: name.to_string(),
            side,
            known: known.to_vec(),
            suggestion,
        })));
    }
    Ok(())
}

struct Registered<R> {
    resource: R,
    /// Output property names, with the unknown that stands for each in a preview.
    outputs: Vec<(String, UnknownKind)>,
    /// Output property names, in order, for the preview's checks.
    output_names: Arc<[String]>,
    /// Input property names.
    inputs: BTreeSet<String>,
    /// The inputs each output derives from, for outputs that declare it.
    sources: Sources,
    /// Declarations of sources that are not lists of names, for `validate`.
    bad_sources: Vec<String>,
}

impl<R: Resource> Registered<R> {
    fn new(resource: R) -> Self {
        let outputs = property_kinds::<R::Outputs>();
        let mut sources = Sources::new();
        let mut bad_sources = Vec::new();
        for (output, value) in property_extensions::<R::Outputs>(super::DERIVED_FROM_SCHEMA_KEY) {
            match serde_json::from_value::<Vec<String>>(value) {
                Ok(names) => {
                    sources.insert(output, names);
                }
                Err(_) => bad_sources.push(output),
            }
        }
        Registered {
            resource,
            sources,
            bad_sources,
            output_names: outputs.iter().map(|(n, _)| n.clone()).collect(),
            outputs,
            inputs: property_kinds::<R::Inputs>()
                .into_iter()
                .map(|(name, _)| name)
                .collect(),
        }
    }

    /// The recorded inputs, or (for older state) the recorded outputs that are inputs.
    fn old_inputs(&self, old_inputs: &PropertyMap, olds: &PropertyMap) -> PropertyMap {
        if !old_inputs.is_empty() {
            return old_inputs.clone();
        }
        olds.iter()
            .filter(|(k, _)| self.inputs.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The SDK's preview: inputs echoed into same-named outputs, every other output unknown.
    fn default_preview(&self, inputs: &PropertyMap) -> PropertyMap {
        self.outputs
            .iter()
            .filter_map(|(name, kind)| match inputs.get(name) {
                Some(v) => Some((name.clone(), v.clone())),
                None if self.inputs.contains(name) => None,
                None => Some((name.clone(), PropertyValue::Unknown(*kind))),
            })
            .collect()
    }

    async fn preview(
        &self,
        ctx: &Context,
        urn: &str,
        name: &str,
        inputs: &PropertyMap,
        state: Option<&PropertyMap>,
    ) -> Result<PropertyMap> {
        let args = PreviewArgs {
            urn: urn.to_string(),
            name: name.to_string(),
            inputs: serde_bridge::from_property_map(inputs).ok(),
            state: state.and_then(|s| serde_bridge::from_property_map(s).ok()),
            outputs: PreviewOutputs::new(self.default_preview(inputs), self.output_names.clone()),
            raw_inputs: inputs.clone(),
        };
        let outputs = self.resource.preview(ctx, args).await?.into_map();
        Ok(propagate(outputs, inputs, state, self.marks()))
    }

    fn marks(&self) -> Marks<'_> {
        Marks {
            secret: R::SECRET_OUTPUTS,
            plain: R::PLAIN_OUTPUTS,
            sources: Some(&self.sources),
        }
    }
}

#[async_trait::async_trait]
impl<R: Resource> ErasedResource for Registered<R> {
    async fn check(&self, ctx: &Context, mut req: CheckRequest) -> Result<CheckResponse> {
        let mut failures = Vec::new();
        if let Some(autoname) = &R::AUTONAME {
            // The physical name is an input like any other once chosen: recorded, diffed,
            // and kept on the next update (from `olds`).
            match autoname.choose(&req) {
                Ok(Some(name)) => {
                    req.news.insert(autoname.property.to_string(), name.into());
                }
                Ok(None) => {}
                Err(failure) => failures.push(failure),
            }
        }
        let read = read_lenient::<R::Inputs>(&req.news, true);
        failures.extend(failures_of(read.errors.clone()));
        let (Some(mut inputs), false) = (read.value, read.has_unknowns) else {
            return Ok(CheckResponse::invalid(req.news, failures));
        };
        // One round: the author's check runs on what did parse, and its failures about
        // properties that did not (placeholders) are dropped.
        let bad: Vec<String> = read.errors.iter().map(|e| e.path.clone()).collect();
        let before =
            serde_bridge::to_property_map(&inputs).map_err(|e| bad_request("the inputs", e))?;
        let own = self.resource.check(ctx, &mut inputs).await?;
        failures.extend(beside(own, &bad));
        if !bad.is_empty() {
            return Ok(CheckResponse::invalid(req.news, failures));
        }
        let after = serde_bridge::to_property_map(&inputs)
            .map_err(|e| bad_request("the checked inputs", e))?;
        if before == after {
            return Ok(CheckResponse::invalid(req.news, failures));
        }
        // The author normalized the inputs: send theirs, keeping what was secret secret.
        let checked = after
            .into_iter()
            .map(|(k, v)| {
                let secret = req
                    .news
                    .get(&k)
                    .is_some_and(PropertyValue::contains_secrets);
                let v = if secret { PropertyValue::secret(v) } else { v };
                (k, v)
            })
            .collect();
        Ok(CheckResponse::invalid(checked, failures))
    }

    async fn diff(&self, ctx: &Context, req: DiffRequest) -> Result<DiffResponse> {
        let olds = self.old_inputs(&req.old_inputs, &req.olds);
        let rules = ReplaceRules {
            replace_on_changes: R::REPLACE_ON_CHANGES,
            adds_in_place: R::ADDS_IN_PLACE,
            updates_in_place: R::CAPABILITIES.update,
        };
        let default = diff_with_rules(&olds, &req.news, &rules, &req.ignore_changes);
        let args = DiffArgs {
            id: req.id,
            urn: req.urn,
            name: req.name,
            old_inputs: serde_bridge::from_property_map(&olds).ok(),
            state: serde_bridge::from_property_map(&req.olds).ok(),
            news: serde_bridge::from_property_map(&req.news).ok(),
            default,
        };
        let mut diff = self.resource.diff(ctx, args).await?;
        if !R::CAPABILITIES.update {
            // Without an update, a change can only be made by replacing.
            for change in diff.detailed_diff.values_mut() {
                change.kind = change.kind.replacing();
            }
            if diff.changes == DiffChanges::Some && diff.replaces.is_empty() {
                diff.replaces = diff.diffs.clone();
            }
        }
        if R::DELETE_BEFORE_REPLACE && diff.requires_replace() {
            diff.delete_before_replace = true;
        }
        Ok(diff)
    }

    async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        if req.preview || ctx.is_preview() {
            let outputs = self
                .preview(ctx, &req.urn, &req.name, &req.properties, None)
                .await?;
            return Ok(CreateResponse::new("", outputs));
        }
        let inputs = serde_bridge::from_property_map(&req.properties)
            .map_err(|e| bad_request("the inputs of Create", e))?;
        let ctx = &ctx
            .clone()
            .with_secret_inputs(any_secret(&[&req.properties]));
        let created = self
            .resource
            .create(
                ctx,
                CreateArgs {
                    urn: req.urn,
                    name: req.name,
                    inputs,
                },
            )
            .await?;
        if created.id.is_empty() {
            return Err(Error::Internal(
                "the resource's create returned an empty id".into(),
            ));
        }
        let outputs = serde_bridge::to_property_map(&created.outputs)
            .map_err(|e| bad_request("the outputs of Create", e))?;
        Ok(CreateResponse::new(
            created.id,
            propagate(outputs, &req.properties, None, self.marks()),
        ))
    }

    async fn read(&self, ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
        let recorded_inputs = self.old_inputs(&req.inputs, &req.properties);
        // Without a recorded state (an import, a `get`, a pending create's inputs) the
        // resource is read from its id alone.
        if req.properties.is_empty() {
            return import::read_from_id(
                &self.resource,
                ctx,
                req,
                recorded_inputs,
                None,
                self.marks(),
            )
            .await;
        }
        let state = match serde_bridge::from_property_map(&req.properties) {
            Ok(state) => state,
            Err(e) => {
                return import::read_from_id(
                    &self.resource,
                    ctx,
                    req,
                    recorded_inputs,
                    Some(e),
                    self.marks(),
                )
                .await;
            }
        };
        if !R::CAPABILITIES.read {
            // No `read`: refresh keeps what was recorded.
            return Ok(ReadResponse::found(req.id, req.properties, recorded_inputs));
        }
        let args = ReadArgs {
            id: req.id.clone(),
            urn: req.urn,
            name: req.name,
            inputs: serde_bridge::from_property_map(&recorded_inputs).ok(),
            state,
        };
        match self.resource.read(ctx, args).await {
            Err(Error::Unimplemented(_)) => {
                Ok(ReadResponse::found(req.id, req.properties, recorded_inputs))
            }
            Err(e) => Err(e),
            Ok(None) => Ok(ReadResponse::gone()),
            Ok(Some(found)) => {
                import::found_response(found, &recorded_inputs, Some(&req.properties), self.marks())
            }
        }
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        if req.preview || ctx.is_preview() {
            let outputs = self
                .preview(ctx, &req.urn, &req.name, &req.news, Some(&req.olds))
                .await?;
            return Ok(UpdateResponse::new(outputs));
        }
        if !R::CAPABILITIES.update {
            return Err(Error::failed(format!(
                "{} cannot be updated in place (its `impl Resource` defines no `update`): the diff asked for a replacement, so the engine should not have called Update",
                req.type_token
            )));
        }
        let olds = self.old_inputs(&req.old_inputs, &req.olds);
        let args = UpdateArgs {
            id: req.id,
            urn: req.urn,
            name: req.name,
            old_inputs: serde_bridge::from_property_map(&olds).ok(),
            state: serde_bridge::from_property_map(&req.olds)
                .map_err(|e| bad_request("the recorded state", e))?,
            news: serde_bridge::from_property_map(&req.news)
                .map_err(|e| bad_request("the inputs of Update", e))?,
            ignore_changes: req.ignore_changes,
        };
        let ctx = &ctx
            .clone()
            .with_secret_inputs(any_secret(&[&req.news, &req.olds, &olds]));
        let outputs = self.resource.update(ctx, args).await?;
        let outputs = serde_bridge::to_property_map(&outputs)
            .map_err(|e| bad_request("the outputs of Update", e))?;
        Ok(UpdateResponse::new(propagate(
            outputs,
            &req.news,
            Some(&req.olds),
            self.marks(),
        )))
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest) -> Result<()> {
        let state = serde_bridge::from_property_map(&req.properties)
            .map_err(|e| bad_request("the recorded state", e))?;
        let ctx = &ctx
            .clone()
            .with_secret_inputs(any_secret(&[&req.properties, &req.old_inputs]));
        self.resource
            .delete(
                ctx,
                DeleteArgs {
                    id: req.id,
                    urn: req.urn,
                    name: req.name,
                    state,
                },
            )
            .await
    }

    fn validate(&self, token: &str) -> std::result::Result<(), BuildError> {
        if !R::CAPABILITIES.declared {
            return Err(BuildError::NotMarked(token.to_string()));
        }
        let inputs: Vec<String> = self.inputs.iter().cloned().collect();
        if let Some(autoname) = &R::AUTONAME {
            check_names(token, "AUTONAME", "input", &[autoname.property], &inputs)?;
        }
        for (list, paths) in [
            ("REPLACE_ON_CHANGES", R::REPLACE_ON_CHANGES),
            ("ADDS_IN_PLACE", R::ADDS_IN_PLACE),
        ] {
            let mut tops = Vec::new();
            for path in paths {
                match path_steps(path).and_then(|steps| steps.into_iter().next()) {
                    Some(Step::Key(top)) if top != "*" => tops.push(top),
                    _ => {
                        return Err(BuildError::BadDeclaration(format!(
                            "resource `{token}`: `{list}` holds `{path}`, which is not a property path; write `name`, `columns[0].type`, `columns[*].type` or `tags.*` (properties as serialized)"
                        )));
                    }
                }
            }
            let tops: Vec<&str> = tops.iter().map(String::as_str).collect();
            check_names(token, list, "input", &tops, &inputs)?;
        }
        check_names(
            token,
            "SECRET_OUTPUTS",
            "output",
            R::SECRET_OUTPUTS,
            &self.output_names,
        )?;
        check_names(
            token,
            "PLAIN_OUTPUTS",
            "output",
            R::PLAIN_OUTPUTS,
            &self.output_names,
        )?;
        if let Some(output) = self.bad_sources.first() {
            return Err(BuildError::BadDeclaration(format!(
                "resource `{token}`: output `{output}` declares `{key}` with something other than a list of input names; write `#[schemars(extend(\"{key}\" = [\"input\", ...]))]`",
                key = super::DERIVED_FROM_SCHEMA_KEY
            )));
        }
        for names in self.sources.values() {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            check_names(
                token,
                super::DERIVED_FROM_SCHEMA_KEY,
                "input",
                &names,
                &inputs,
            )?;
        }
        Ok(())
    }

    fn schema(&self, builder: &mut SchemaBuilder) -> Value {
        let inputs = builder.object_of::<R::Inputs>();
        let outputs = builder.object_of::<R::Outputs>();
        let mut input_properties = inputs.properties;
        let mut properties = outputs.properties;
        for path in R::REPLACE_ON_CHANGES {
            for props in [&mut input_properties, &mut properties] {
                builder.mark_replace_on_changes(props, path);
            }
        }
        for name in R::SECRET_OUTPUTS {
            if let Some(Value::Object(p)) = properties.get_mut(*name) {
                p.insert("secret".into(), true.into());
            }
        }
        let mut spec = json!({
            "inputProperties": input_properties,
            "requiredInputs": inputs.required,
            "properties": properties,
            "required": outputs.required,
        });
        if let Some(d) = import::describe::<R>(outputs.description.or(inputs.description)) {
            spec["description"] = d.into();
        }
        spec
    }
}

#[async_trait::async_trait]
trait ErasedFunction: Send + Sync {
    async fn invoke(&self, ctx: &Context, req: InvokeRequest) -> Result<InvokeResponse>;
    fn schema(&self, builder: &mut SchemaBuilder) -> Value;
}

struct RegisteredFunction<F>(F);

#[async_trait::async_trait]
impl<F: Function> ErasedFunction for RegisteredFunction<F> {
    async fn invoke(&self, ctx: &Context, req: InvokeRequest) -> Result<InvokeResponse> {
        let read = read_lenient::<F::Args>(&req.args, false);
        let mut failures = failures_of(read.errors.clone());
        let Some(args) = read.value else {
            return Ok(InvokeResponse::invalid(failures));
        };
        let bad: Vec<String> = read.errors.iter().map(|e| e.path.clone()).collect();
        failures.extend(beside(self.0.check(ctx, &args).await?, &bad));
        if !failures.is_empty() {
            return Ok(InvokeResponse::invalid(failures));
        }
        let output = match self.0.call(ctx, args).await {
            // Arguments refused by the call itself are failures too, as the engine expects.
            Err(Error::InvalidInputs(failures)) => return Ok(InvokeResponse::invalid(failures)),
            other => other?,
        };
        let result = serde_bridge::to_property_map(&output)
            .map_err(|e| bad_request("the function's result", e))?;
        Ok(InvokeResponse::ok(propagate(
            result,
            &req.args,
            None,
            Marks::default(),
        )))
    }

    fn schema(&self, builder: &mut SchemaBuilder) -> Value {
        let args = builder.object_of::<F::Args>();
        let output = builder.object_of::<F::Output>();
        let mut spec = json!({
            "inputs": {"type": "object", "properties": args.properties, "required": args.required},
            "outputs": {"type": "object", "properties": output.properties, "required": output.required},
        });
        if let Some(d) = args.description {
            spec["description"] = d.into();
        }
        spec
    }
}

trait ErasedConfig: Send + Sync {
    fn check(&self, args: &PropertyMap) -> Vec<CheckFailure>;
    /// The typed configuration, or `None` when its values are not known yet.
    fn configure(
        &self,
        package: &str,
        args: &PropertyMap,
    ) -> Result<Option<Arc<dyn std::any::Any + Send + Sync>>>;
    fn schema(&self, builder: &mut SchemaBuilder) -> super::schema::ObjectSpec;
    fn type_name(&self) -> &'static str;
}

/// The registered configuration type.
struct TypedConfig<C>(PhantomData<fn() -> C>);

impl<C: ProviderConfig> ErasedConfig for TypedConfig<C> {
    fn type_name(&self) -> &'static str {
        std::any::type_name::<C>()
    }

    fn check(&self, args: &PropertyMap) -> Vec<CheckFailure> {
        match read_all::<C>(args, true) {
            (Some(config), errors) => failures_of(errors)
                .into_iter()
                .chain(config.validate())
                .collect(),
            (None, errors) => failures_of(errors),
        }
    }

    fn configure(
        &self,
        package: &str,
        args: &PropertyMap,
    ) -> Result<Option<Arc<dyn std::any::Any + Send + Sync>>> {
        if args.values().any(PropertyValue::contains_unknowns) {
            // During a preview the configuration may not be known yet; it stays as it was
            // until a Configure with known values.
            return Ok(None);
        }
        let (typed, errors) = read_all::<C>(args, false);
        let missing: Vec<MissingKey> = errors
            .iter()
            .filter(|e| e.kind == ConvertErrorKind::MissingProperty && !e.path.contains(['.', '[']))
            .map(|e| {
                let mut builder = SchemaBuilder::new(package);
                let description = builder
                    .object_of::<C>()
                    .properties
                    .get(&e.path)
                    .and_then(|p| p.get("description"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                MissingKey::new(format!("{package}:{}", e.path), description)
            })
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingConfig(missing));
        }
        let config = match typed {
            Some(config) => config,
            None => {
                let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
                return Err(Error::InvalidRequest(format!(
                    "invalid provider configuration: {}",
                    problems.join("; ")
                )));
            }
        };
        let failures = config.validate();
        if !failures.is_empty() {
            let problems: Vec<String> = failures
                .iter()
                .map(|f| format!("`{}`: {}", f.property, f.reason))
                .collect();
            return Err(Error::InvalidRequest(format!(
                "invalid provider configuration: {}",
                problems.join("; ")
            )));
        }
        Ok(Some(Arc::new(config)))
    }

    fn schema(&self, builder: &mut SchemaBuilder) -> super::schema::ObjectSpec {
        builder.object_of::<C>()
    }
}

/// Whether any value of these property maps holds a secret.
fn any_secret(maps: &[&PropertyMap]) -> bool {
    maps.iter()
        .any(|m| m.values().any(PropertyValue::contains_secrets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typed::{CreateArgs, Created};

    struct Thing;

    #[crate::typed::resource]
    impl Resource for Thing {
        type Inputs = BTreeMap<String, String>;
        type Outputs = BTreeMap<String, String>;
        async fn create(
            &self,
            _ctx: &Context,
            args: CreateArgs<Self::Inputs>,
        ) -> Result<Created<Self::Outputs>> {
            Ok(Created::new("id", args.inputs))
        }
    }

    #[test]
    fn build_rejects_bad_registrations() {
        let bad_token = ProviderBuilder::new("pkg", "1.0.0")
            .resource("other:index:Thing", Thing)
            .build();
        assert!(
            matches!(bad_token, Err(BuildError::BadToken { .. })),
            "{bad_token:?}"
        );
        let no_module = ProviderBuilder::new("pkg", "1.0.0")
            .resource("pkg:Thing", Thing)
            .build();
        assert!(matches!(no_module, Err(BuildError::BadToken { .. })));
        let twice = ProviderBuilder::new("pkg", "1.0.0")
            .resource("pkg:index:Thing", Thing)
            .resource("pkg:index:Thing", Thing)
            .build();
        assert_eq!(
            twice.unwrap_err(),
            BuildError::Duplicate("pkg:index:Thing".into())
        );
        let bad_package = ProviderBuilder::new("9pkg", "1.0.0").build();
        assert!(matches!(bad_package, Err(BuildError::BadPackageName(_))));
        let ok = ProviderBuilder::new("pkg", "1.0.0")
            .resource("pkg:index:Thing", Thing)
            .build()
            .unwrap();
        assert_eq!(ok.package(), "pkg");
        assert!(ok.schema()["resources"]["pkg:index:Thing"].is_object());
    }
}
