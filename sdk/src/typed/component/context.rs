//! What a component's `construct` and a method's `call` are given: the engine's monitor, typed.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::taint::Taint;
use super::{Child, Component, maybe_typed};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::logger::Logger;
use crate::monitor::{MonitorClient, RegisterRequest};
use crate::ops::{DeploymentInfo, ResourceOptions};
use crate::serde_bridge::{self, Maybe, read_all};
use crate::typed::Resource;
use crate::value::{PropertyMap, PropertyValue};

/// The resource types registered with the provider's builder, by Rust type: how
/// [`ComponentContext::register`] finds a child's type token.
pub(crate) type Tokens = Arc<BTreeMap<TypeId, String>>;

/// What [`Component::construct`] registers its children through.
///
/// Each child is registered with the component as its parent; see the
/// [module](super) for what else the SDK does.
#[derive(Debug)]
pub struct ComponentContext {
    ctx: Context,
    monitor: MonitorClient,
    urn: String,
    name: String,
    providers: BTreeMap<String, String>,
    deployment: DeploymentInfo,
    tokens: Tokens,
    pub(super) taint: Mutex<Taint>,
    pub(super) children: Mutex<Vec<String>>,
}

/// The package of a type token (`local` of `local:index:File`).
fn package_of(token: &str) -> &str {
    token.split(':').next().unwrap_or(token)
}

impl ComponentContext {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        ctx: &Context,
        monitor: MonitorClient,
        urn: String,
        name: String,
        providers: BTreeMap<String, String>,
        deployment: DeploymentInfo,
        tokens: Tokens,
        taint: Taint,
    ) -> Self {
        let mut ctx = ctx.clone();
        ctx.logger = ctx.logger.for_urn(&urn);
        ctx.urn = urn.clone();
        ComponentContext {
            ctx,
            monitor,
            urn,
            name,
            providers,
            deployment,
            tokens,
            taint: Mutex::new(taint),
            children: Mutex::new(Vec::new()),
        }
    }

    /// The component's URN (the parent of every child).
    pub fn urn(&self) -> &str {
        &self.urn
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True during a preview: children are planned, not created, and some of their outputs
    /// are unknown.
    pub fn is_preview(&self) -> bool {
        self.deployment.dry_run
    }

    /// The deployment: project, stack, configuration.
    pub fn deployment(&self) -> &DeploymentInfo {
        &self.deployment
    }

    /// The call's context (cancellation, configuration), with the component's URN.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// A logger whose messages reach the engine tagged with the component's URN.
    pub fn log(&self) -> &Logger {
        self.ctx.log()
    }

    /// The monitor connection, to register what the typed methods do not cover.
    pub fn monitor(&self) -> &MonitorClient {
        &self.monitor
    }

    /// Registers a child of type `R` (a resource registered with this provider's builder)
    /// named `name`, and waits for the engine's step. Outputs of earlier children can be
    /// used in `inputs` once known; use [`register_partial`](Self::register_partial) to pass
    /// values that are not known yet.
    pub async fn register<R: Resource>(
        &self,
        name: &str,
        inputs: &R::Inputs,
        options: ResourceOptions,
    ) -> Result<Child<R::Outputs>> {
        let token = self.token_of::<R>()?;
        let map = serde_bridge::to_property_map(inputs).map_err(|e| {
            Error::Internal(format!("the inputs of the child {token} `{name}`: {e}"))
        })?;
        self.register_map(&token, name, map, options).await
    }

    /// Registers a child of type `R` from inputs that may hold unknown values: any
    /// serializable value shaped like `R::Inputs`, where a field whose value is not known yet
    /// is a [`Maybe`] (as [`Child::output`] returns). When every value is known, the inputs
    /// are checked against `R::Inputs` first, and every bad property is named.
    pub async fn register_partial<R: Resource>(
        &self,
        name: &str,
        inputs: &impl Serialize,
        options: ResourceOptions,
    ) -> Result<Child<R::Outputs>> {
        let token = self.token_of::<R>()?;
        let map = serde_bridge::to_property_map(inputs).map_err(|e| {
            Error::Internal(format!("the inputs of the child {token} `{name}`: {e}"))
        })?;
        if !map.values().any(PropertyValue::contains_unknowns) {
            let (_, errors) = read_all::<R::Inputs>(&map, false);
            if !errors.is_empty() {
                let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
                return Err(Error::Failed(format!(
                    "the inputs of the child {token} `{name}` are invalid: {}",
                    problems.join("; ")
                )));
            }
        }
        self.register_map(&token, name, map, options).await
    }

    /// Registers a child of any type by its token (a resource of another package, for
    /// instance), with `inputs` serialized as they are and outputs read as an `O`.
    pub async fn register_as<O: DeserializeOwned>(
        &self,
        token: &str,
        name: &str,
        inputs: &impl Serialize,
        options: ResourceOptions,
    ) -> Result<Child<O>> {
        let map = serde_bridge::to_property_map(inputs).map_err(|e| {
            Error::Internal(format!("the inputs of the child {token} `{name}`: {e}"))
        })?;
        self.register_map(token, name, map, options).await
    }

    fn token_of<R: Resource>(&self) -> Result<String> {
        self.tokens.get(&TypeId::of::<R>()).cloned().ok_or_else(|| {
            Error::Internal(format!(
                "`{}` is not a resource of this provider: register it with \
                 `ProviderBuilder::resource`, or register the child with `register_as` and its \
                 type token",
                std::any::type_name::<R>()
            ))
        })
    }

    async fn register_map<O: DeserializeOwned>(
        &self,
        token: &str,
        name: &str,
        inputs: PropertyMap,
        mut options: ResourceOptions,
    ) -> Result<Child<O>> {
        let inputs = self
            .taint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .mark(inputs);
        if options.provider.is_none() {
            options.provider = self.providers.get(package_of(token)).cloned();
        }
        let request = RegisterRequest::custom(token, name, inputs)
            .parent(self.urn.clone())
            .options(options);
        let registered = tokio::select! {
            registered = self.monitor.register(request) => registered?,
            _ = self.ctx.cancelled() => {
                return Err(Error::Cancelled(format!(
                    "constructing {} was cancelled while registering the child {token} `{name}`",
                    self.urn
                )));
            }
        };
        self.taint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .learn(&registered.outputs);
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(registered.urn.clone());
        let what = format!("the child {token} `{name}`");
        Ok(Child {
            outputs: maybe_typed(&what, &registered.outputs)?,
            id: if registered.id.is_empty() {
                Maybe::Unknown
            } else {
                Maybe::Known(registered.id)
            },
            urn: registered.urn,
            state: registered.outputs,
        })
    }
}

/// What a [`Method`](super::Method) is given: the component it is called on, and the
/// deployment.
#[derive(Debug)]
pub struct MethodContext<C> {
    ctx: Context,
    urn: String,
    deployment: DeploymentInfo,
    pub(super) taint: Mutex<Taint>,
    _component: PhantomData<fn() -> C>,
}

impl<C: Component> MethodContext<C> {
    pub(super) fn new(
        ctx: &Context,
        urn: String,
        deployment: DeploymentInfo,
        taint: Taint,
    ) -> Self {
        let mut ctx = ctx.clone();
        ctx.logger = ctx.logger.for_urn(&urn);
        ctx.urn = urn.clone();
        MethodContext {
            ctx,
            urn,
            deployment,
            taint: Mutex::new(taint),
            _component: PhantomData,
        }
    }

    /// The URN of the component the method is called on.
    pub fn urn(&self) -> &str {
        &self.urn
    }

    /// The deployment: project, stack, configuration, preview or not.
    pub fn deployment(&self) -> &DeploymentInfo {
        &self.deployment
    }

    /// The call's context (cancellation, configuration).
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// A logger whose messages reach the engine tagged with the component's URN.
    pub fn log(&self) -> &Logger {
        self.ctx.log()
    }

    /// The component's recorded outputs, as the engine has them (read from its monitor with
    /// [`GET_RESOURCE`](crate::monitor::GET_RESOURCE)); secrets in them stay secret in the
    /// method's result.
    pub async fn state(&self) -> Result<PropertyMap> {
        let monitor = MonitorClient::connect(&self.deployment.monitor_endpoint).await?;
        let state = monitor.resource_state(&self.urn).await?;
        self.taint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .learn(&state);
        Ok(state)
    }

    /// The component's typed outputs; unknown while some are not known yet (in a preview).
    pub async fn outputs(&self) -> Result<Maybe<C::Outputs>> {
        let state = self.state().await?;
        maybe_typed(&format!("the component {}", self.urn), &state)
    }
}
