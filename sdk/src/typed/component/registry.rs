//! The components and methods a provider registered: checked at build time, described in the
//! schema, and run for `Construct` and `Call`.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::context::{ComponentContext, MethodContext, Tokens};
use super::taint::Taint;
use super::{Component, Method};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::monitor::{MonitorClient, RegisterRequest};
use crate::ops::{
    CallRequest, CallResponse, ConstructRequest, ConstructResponse, ResourceOptions, SELF_ARG,
};
use crate::serde_bridge::{self, ConvertErrorKind, read_all, read_lenient};
use crate::typed::ProviderBuilder;
use crate::typed::provider::{BuildError, beside, check_token, failures_of};
use crate::typed::schema::{SchemaBuilder, property_kinds};
use crate::value::{PropertyMap, PropertyValue};

impl ProviderBuilder {
    /// Registers the component `component` under `token` (`<package>:<module>:<Name>`); see
    /// [`Component`].
    pub fn component<C: Component>(mut self, token: impl Into<String>, component: C) -> Self {
        self.components.add_component(token.into(), component);
        self
    }

    /// Registers the method `method` of a component under `token`
    /// (`<component token>/<name>`, the component registered with
    /// [`component`](Self::component)); see [`Method`].
    pub fn method<M: Method>(mut self, token: impl Into<String>, method: M) -> Self {
        self.components.add_method(token.into(), method);
        self
    }
}

/// The components, methods and resource tokens of a provider.
#[derive(Default)]
pub(crate) struct Components {
    components: BTreeMap<String, Arc<dyn ErasedComponent>>,
    methods: BTreeMap<String, Arc<dyn ErasedMethod>>,
    /// Registrations in order, checked by [`Components::validate`].
    pending: Vec<Pending>,
    tokens: BTreeMap<TypeId, String>,
    frozen_tokens: Tokens,
}

enum Pending {
    Component(String, Arc<dyn ErasedComponent>),
    Method(String, Arc<dyn ErasedMethod>),
}

impl Components {
    /// Notes that the resource type `R` is registered under `token`, so that components can
    /// register it as a child by type.
    pub(crate) fn note_resource<R: 'static>(&mut self, token: &str) {
        self.tokens
            .entry(TypeId::of::<R>())
            .or_insert_with(|| token.to_string());
    }

    pub(crate) fn add_component<C: Component>(&mut self, token: String, component: C) {
        self.pending.push(Pending::Component(
            token,
            Arc::new(RegisteredComponent(component)),
        ));
    }

    pub(crate) fn add_method<M: Method>(&mut self, token: String, method: M) {
        self.pending
            .push(Pending::Method(token, Arc::new(RegisteredMethod(method))));
    }

    /// Checks the registrations (tokens well-formed, unique among everything in `taken`,
    /// each method on a registered component of its type) and readies them for use.
    pub(crate) fn validate(
        &mut self,
        package: &str,
        taken: &dyn Fn(&str) -> bool,
    ) -> std::result::Result<(), BuildError> {
        let mut methods = Vec::new();
        for pending in std::mem::take(&mut self.pending) {
            match pending {
                Pending::Component(token, component) => {
                    check_token(&token, package)?;
                    if taken(&token) || self.components.contains_key(&token) {
                        return Err(BuildError::Duplicate(token));
                    }
                    self.components.insert(token, component);
                }
                Pending::Method(token, method) => methods.push((token, method)),
            }
        }
        for (token, method) in methods {
            let Some((owner, name)) = token.split_once('/') else {
                return Err(BuildError::BadMethod(format!(
                    "method token `{token}` is malformed: expected `<component token>/<name>`"
                )));
            };
            let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let Some(component) = self.components.get(owner) else {
                return Err(BuildError::BadMethod(format!(
                    "method `{token}`: `{owner}` is not a registered component; register it with \
                     `ProviderBuilder::component` first"
                )));
            };
            if !valid_name {
                return Err(BuildError::BadMethod(format!(
                    "method `{token}`: `{name}` is not a valid method name (letters, digits and `_`, \
                     starting with a letter)"
                )));
            }
            if component.component_type() != method.component_type() {
                return Err(BuildError::BadMethod(format!(
                    "method `{token}` belongs to `{}`, but `{owner}` is registered as `{}`",
                    method.component_name(),
                    component.component_name()
                )));
            }
            if taken(&token) || self.methods.insert(token.clone(), method).is_some() {
                return Err(BuildError::Duplicate(token));
            }
        }
        self.frozen_tokens = Arc::new(std::mem::take(&mut self.tokens));
        Ok(())
    }

    /// Adds the components to `resources` and the methods to `functions` of the schema.
    pub(crate) fn schema(
        &self,
        builder: &mut SchemaBuilder,
        resources: &mut Map<String, Value>,
        functions: &mut Map<String, Value>,
    ) {
        for (token, component) in &self.components {
            let mut spec = component.schema(builder);
            let methods: Map<String, Value> = self
                .methods
                .keys()
                .filter_map(|m| {
                    let (owner, name) = m.split_once('/')?;
                    (owner == token).then(|| (name.to_string(), Value::from(m.as_str())))
                })
                .collect();
            if !methods.is_empty() {
                spec["methods"] = methods.into();
            }
            resources.insert(token.clone(), spec);
        }
        for (token, method) in &self.methods {
            let owner = token.split_once('/').map(|(o, _)| o).unwrap_or_default();
            functions.insert(token.clone(), method.schema(builder, owner));
        }
    }

    /// Runs `Construct` for the component `req.type_token`.
    pub(crate) async fn construct(
        &self,
        ctx: &Context,
        req: ConstructRequest,
        package: &str,
    ) -> Result<ConstructResponse> {
        let Some(component) = self.components.get(&req.type_token) else {
            return Err(Error::InvalidRequest(format!(
                "unknown component type `{}`; this provider ({package}) has {}",
                req.type_token,
                listing("components", self.components.keys())
            )));
        };
        component
            .construct(ctx, req, self.frozen_tokens.clone())
            .await
    }

    /// Runs `Call` for the method `req.token`.
    pub(crate) async fn call(
        &self,
        ctx: &Context,
        req: CallRequest,
        package: &str,
    ) -> Result<CallResponse> {
        let Some(method) = self.methods.get(&req.token) else {
            return Err(Error::InvalidRequest(format!(
                "unknown method `{}`; this provider ({package}) has {}",
                req.token,
                listing("methods", self.methods.keys())
            )));
        };
        method.call(ctx, req).await
    }
}

fn listing<'a>(what: &str, names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        format!("no {what}")
    } else {
        format!("these {what}: {}", names.join(", "))
    }
}

#[async_trait::async_trait]
trait ErasedComponent: Send + Sync {
    fn component_type(&self) -> TypeId;
    fn component_name(&self) -> &'static str;
    async fn construct(
        &self,
        ctx: &Context,
        req: ConstructRequest,
        tokens: Tokens,
    ) -> Result<ConstructResponse>;
    fn schema(&self, builder: &mut SchemaBuilder) -> Value;
}

struct RegisteredComponent<C>(C);

#[async_trait::async_trait]
impl<C: Component> ErasedComponent for RegisteredComponent<C> {
    fn component_type(&self) -> TypeId {
        TypeId::of::<C>()
    }

    fn component_name(&self) -> &'static str {
        std::any::type_name::<C>()
    }

    async fn construct(
        &self,
        ctx: &Context,
        req: ConstructRequest,
        tokens: Tokens,
    ) -> Result<ConstructResponse> {
        // Every bad input is reported before anything is registered, in one round: the
        // author's check runs on what did parse (placeholders for the rest), as a resource's
        // Check does, and its failures about properties that did not parse are dropped.
        let read = read_lenient::<C::Inputs>(&req.inputs, false);
        let (unknown, bad): (Vec<_>, Vec<_>) = read
            .errors
            .into_iter()
            .partition(|e| e.kind == ConvertErrorKind::Unknown);
        if !unknown.is_empty() && !req.deployment.dry_run {
            let mut all = bad;
            all.extend(unknown);
            return Err(Error::InvalidInputs(failures_of(all)));
        }
        let bad_paths: Vec<String> = bad.iter().map(|e| e.path.clone()).collect();
        let mut failures = failures_of(bad);
        // Unknown during a preview: the author's check waits for the values.
        let checkable = read.value.filter(|_| unknown.is_empty());
        if let Some(inputs) = &checkable {
            failures.extend(beside(self.0.check(ctx, inputs).await?, &bad_paths));
        }
        if !failures.is_empty() {
            return Err(Error::InvalidInputs(failures));
        }
        let inputs = checkable;

        let monitor = MonitorClient::connect(&req.deployment.monitor_endpoint).await?;
        let options = ResourceOptions {
            provider: None,
            ..req.options.clone()
        };
        let mut request = RegisterRequest::component(&req.type_token, &req.name)
            .parent(req.parent.clone())
            .options(options);
        request.property_dependencies = req.input_dependencies.clone();
        let component = monitor.register(request).await?;

        let mut taint = Taint::default();
        taint.learn(&req.inputs);
        let (outputs, children) = match inputs {
            // An input `construct` cannot read is unknown: the children wait for it.
            None => (unknown_outputs::<C::Outputs>(), Vec::new()),
            Some(inputs) => {
                let cctx = ComponentContext::new(
                    ctx,
                    monitor.clone(),
                    component.urn.clone(),
                    req.name.clone(),
                    req.options.providers.clone(),
                    req.deployment.clone(),
                    tokens,
                    taint,
                );
                let outputs = self.0.construct(&cctx, &req.name, inputs).await?;
                let outputs = serde_bridge::to_property_map(&outputs).map_err(|e| {
                    Error::Internal(format!(
                        "the outputs of {} `{}`: {e}",
                        req.type_token, req.name
                    ))
                })?;
                let taint = cctx.taint.into_inner().unwrap_or_else(|e| e.into_inner());
                let children = cctx
                    .children
                    .into_inner()
                    .unwrap_or_else(|e| e.into_inner());
                (taint.mark(outputs), children)
            }
        };
        let outputs: PropertyMap = outputs
            .into_iter()
            .map(|(k, v)| {
                if req.options.additional_secret_outputs.contains(&k) {
                    (k, PropertyValue::secret(v))
                } else {
                    (k, v)
                }
            })
            .collect();
        monitor.register_outputs(&component.urn, &outputs).await?;
        // The outputs come from the children.
        let state_dependencies = if children.is_empty() {
            BTreeMap::new()
        } else {
            outputs
                .keys()
                .map(|k| (k.clone(), children.clone()))
                .collect()
        };
        let mut response = ConstructResponse::new(component.urn, outputs);
        response.state_dependencies = state_dependencies;
        Ok(response)
    }

    fn schema(&self, builder: &mut SchemaBuilder) -> Value {
        let inputs = builder.object_of::<C::Inputs>();
        let outputs = builder.object_of::<C::Outputs>();
        let mut spec = json!({
            "isComponent": true,
            "inputProperties": inputs.properties,
            "requiredInputs": inputs.required,
            "properties": outputs.properties,
            "required": outputs.required,
        });
        if let Some(d) = outputs.description.or(inputs.description) {
            spec["description"] = d.into();
        }
        spec
    }
}

/// Every output of `O` unknown, with the kind of unknown its type calls for.
fn unknown_outputs<O: schemars::JsonSchema>() -> PropertyMap {
    property_kinds::<O>()
        .into_iter()
        .map(|(name, kind)| (name, PropertyValue::Unknown(kind)))
        .collect()
}

#[async_trait::async_trait]
trait ErasedMethod: Send + Sync {
    fn component_type(&self) -> TypeId;
    fn component_name(&self) -> &'static str;
    async fn call(&self, ctx: &Context, req: CallRequest) -> Result<CallResponse>;
    fn schema(&self, builder: &mut SchemaBuilder, component: &str) -> Value;
}

struct RegisteredMethod<M>(M);

#[async_trait::async_trait]
impl<M: Method> ErasedMethod for RegisteredMethod<M> {
    fn component_type(&self) -> TypeId {
        TypeId::of::<M::Component>()
    }

    fn component_name(&self) -> &'static str {
        std::any::type_name::<M::Component>()
    }

    async fn call(&self, ctx: &Context, req: CallRequest) -> Result<CallResponse> {
        let mut args = req.args;
        let urn = match args.remove(SELF_ARG).as_ref().map(|v| v.unwrap_secret().0) {
            Some(PropertyValue::ResourceReference(r)) => r.urn.clone(),
            // An engine that does not accept resource references sends the URN.
            Some(PropertyValue::String(urn)) if urn.starts_with("urn:pulumi:") => urn.clone(),
            _ => {
                return Err(Error::InvalidRequest(format!(
                    "method `{}`: the argument `{SELF_ARG}` must reference the component the \
                     method is called on",
                    req.token
                )));
            }
        };
        let (typed, errors) = read_all::<M::Args>(&args, false);
        let Some(typed) = typed.filter(|_| errors.is_empty()) else {
            return Ok(CallResponse::invalid(failures_of(errors)));
        };
        let mut taint = Taint::default();
        taint.learn(&args);
        let mctx = MethodContext::<M::Component>::new(ctx, urn, req.deployment, taint);
        let output = self.0.call(&mctx, typed).await?;
        let result = serde_bridge::to_property_map(&output).map_err(|e| {
            Error::Internal(format!("the result of the method `{}`: {e}", req.token))
        })?;
        let taint = mctx.taint.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok(CallResponse::ok(taint.mark(result)))
    }

    fn schema(&self, builder: &mut SchemaBuilder, component: &str) -> Value {
        let args = builder.object_of::<M::Args>();
        let output = builder.object_of::<M::Output>();
        let mut properties = Map::new();
        properties.insert(
            SELF_ARG.to_string(),
            json!({"$ref": format!("#/resources/{component}")}),
        );
        properties.extend(args.properties);
        let mut required = vec![SELF_ARG.to_string()];
        required.extend(args.required);
        let mut spec = json!({
            "inputs": {"type": "object", "properties": properties, "required": required},
            "outputs": {"type": "object", "properties": output.properties, "required": output.required},
        });
        if let Some(d) = args.description {
            spec["description"] = d.into();
        }
        spec
    }
}
