//! Drive a provider in-process, in unit tests: no plugin process, no port, no engine.
//!
//! A [`Driver`] holds a provider and calls it as the engine would, step by step, with typed
//! inputs and outputs: [`Driver::configure`], then per resource type
//! ([`Driver::resource`]) `check`, `create`, `diff`, `update`, `read`, `import`, `delete` and the two
//! previews, and [`Driver::invoke`] for functions. Each step is one line; a step the engine
//! would refuse (inputs that fail Check, an update whose diff asks for a replacement) is an
//! error that says so.
//!
//! Components are tested against a [`monitor::TestMonitor`]: a recording resource monitor that
//! can also create the children with the provider itself.
//!
//! The requests themselves (for calling a [`ResourceProvider`] by hand) are built with the
//! constructors in [`ops`](crate::ops), such as [`CreateRequest::new`].
//!
//! ```
//! use provider_sdk::testing::Driver;
//! use provider_sdk::typed::{resource, Created, CreateArgs, ProviderBuilder, Resource, UpdateArgs};
//! use provider_sdk::{Context, Result};
//!
//! /// A counter's inputs.
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, Clone)]
//! struct Args { /// Where it starts.
//!     start: i64 }
//! /// A counter.
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, Debug, PartialEq)]
//! struct State { /// Where it starts.
//!     start: i64, /// Its value.
//!     value: i64 }
//! struct Counter;
//!
//! #[resource]
//! impl Resource for Counter {
//!     type Inputs = Args;
//!     type Outputs = State;
//!     async fn create(&self, _ctx: &Context, args: CreateArgs<Args>) -> Result<Created<State>> {
//!         Ok(Created::new("c1", State { start: args.inputs.start, value: args.inputs.start }))
//!     }
//!     async fn update(&self, _ctx: &Context, args: UpdateArgs<Args, State>) -> Result<State> {
//!         Ok(State { start: args.news.start, value: args.state.value })
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let provider = ProviderBuilder::new("demo", "1.0.0")
//!     .resource("demo:index:Counter", Counter)
//!     .build()
//!     .unwrap();
//! let driver = Driver::new(provider);
//! let counters = driver.resource::<Counter>("demo:index:Counter");
//!
//! let c = counters.create("c", &Args { start: 3 }).await.unwrap();
//! assert_eq!(c.outputs, State { start: 3, value: 3 });
//! let c = counters.update(&c, &Args { start: 5 }).await.unwrap();
//! assert_eq!(c.outputs.value, 3);
//! assert!(counters.read(&c).await.unwrap().is_some());
//! counters.delete(c).await.unwrap();
//! let failures = counters.check(serde_json::json!({"start": "three"})).await.unwrap();
//! assert_eq!(failures[0].property, "start");
//! # });
//! ```

pub mod monitor;

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ops::*;
use crate::provider::ResourceProvider;
use crate::serde_bridge;
use crate::typed::Resource;
use crate::value::{PropertyMap, PropertyValue};

/// Drives a provider in-process; see the [module](self).
pub struct Driver<P> {
    provider: Arc<P>,
}

impl<P: ResourceProvider> Driver<P> {
    /// A driver for `provider` (for instance a built [`TypedProvider`](crate::typed::TypedProvider)).
    pub fn new(provider: P) -> Self {
        Driver {
            provider: Arc::new(provider),
        }
    }

    /// The provider itself, to call its raw operations directly (bring
    /// [`ResourceProvider`](crate::ResourceProvider) into scope): for instance a Create whose
    /// inputs hold a secret, built with [`serde_bridge::to_property_map`](crate::serde_bridge::to_property_map)
    /// and [`PropertyValue::secret`](crate::PropertyValue::secret), with a context from
    /// [`Driver::context`] whose [`cancel_handle`](Context::cancel_handle) can cancel it.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The context each step passes: not a preview, never cancelled, logging to stderr.
    pub fn context(&self) -> Context {
        Context::detached("")
    }

    /// `CheckConfig` then `Configure` with `config` (keys without the package prefix), as the
    /// engine does once before any resource step. Check failures are an error listing them.
    pub async fn configure(&self, config: impl Serialize) -> Result<()> {
        let args = to_map("the configuration", &config)?;
        let checked = self
            .provider
            .check_config(
                &self.context(),
                CheckRequest::new("pulumi:providers:test", args),
            )
            .await?;
        refuse_failures("the configuration", &checked.failures)?;
        self.provider
            .configure(&self.context(), ConfigureRequest::new(checked.inputs))
            .await?;
        Ok(())
    }

    /// Calls the function `token` with `args`: its result, or an error listing the check
    /// failures of bad arguments.
    pub async fn invoke<T: DeserializeOwned>(
        &self,
        token: &str,
        args: impl Serialize,
    ) -> Result<T> {
        let args = to_map("the arguments", &args)?;
        let response = self
            .provider
            .invoke(&self.context(), InvokeRequest::new(token, args))
            .await?;
        refuse_failures(&format!("the arguments of `{token}`"), &response.failures)?;
        from_map(&format!("the result of `{token}`"), &response.result)
    }

    /// Constructs the component `token` named `name` from `inputs`, as an engine would: the
    /// provider's `Construct` registers the component and its children with a
    /// [`monitor::TestMonitor`], which checks and creates each custom child of the provider's
    /// package with this same provider (configured by [`Driver::configure`], if called), so
    /// the children really exist. The result holds the component's typed outputs, every
    /// registration, and [`Constructed::destroy`] to delete the children again.
    ///
    /// Children of other packages are recorded, not created. Inputs that fail the component's
    /// check are an error listing them.
    pub async fn construct<O: DeserializeOwned>(
        &self,
        token: &str,
        name: &str,
        inputs: impl Serialize,
    ) -> Result<Constructed<O>> {
        let package = token.split(':').next().unwrap_or_default();
        let provider: Arc<dyn ResourceProvider> = self.provider.clone();
        let options =
            monitor::TestMonitorOptions::new("test", "test").shared_provider(package, provider);
        let monitor = monitor::TestMonitor::start(options)
            .await
            .map_err(|e| Error::Internal(format!("starting the test monitor: {e}")))?;
        let mut req = ConstructRequest::new(token, name, to_map("the inputs", &inputs)?);
        req.deployment.monitor_endpoint = monitor.endpoint();
        req.deployment.project = "test".into();
        req.deployment.stack = "test".into();
        let constructed = match self.provider.construct(&self.context(), req).await {
            Ok(c) => c,
            Err(e) => {
                // Children created before the failure are deleted, as `destroy` would.
                let _ = monitor.destroy().await;
                return Err(e);
            }
        };
        Ok(Constructed {
            outputs: from_map(&format!("the outputs of `{name}`"), &constructed.state)?,
            urn: constructed.urn,
            state: constructed.state,
            monitor,
        })
    }

    /// The steps of the resource type `token`, implemented by `R`.
    pub fn resource<R: Resource>(&self, token: &str) -> ResourceDriver<'_, P, R> {
        ResourceDriver {
            driver: self,
            token: token.to_string(),
            secret_inputs: Vec::new(),
            _resource: PhantomData,
        }
    }
}

/// A resource as the engine last recorded it: what each later step starts from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Instance<O> {
    /// The resource's name.
    pub name: String,
    /// Its id.
    pub id: String,
    /// Its typed outputs.
    pub outputs: O,
    /// Its outputs as recorded, secrets marked.
    pub state: PropertyMap,
    /// Its checked inputs as recorded, secrets marked.
    pub inputs: PropertyMap,
}

impl<O> Instance<O> {
    /// Whether output `property` is recorded as a secret.
    pub fn is_secret(&self, property: &str) -> bool {
        self.state.get(property).is_some_and(|v| v.is_secret())
    }
}

/// A component built by [`Driver::construct`], with the children it registered.
#[non_exhaustive]
pub struct Constructed<O> {
    /// The component's URN.
    pub urn: String,
    /// Its typed outputs.
    pub outputs: O,
    /// Its outputs as returned, secrets marked.
    pub state: PropertyMap,
    /// The monitor it registered with: every call, in order.
    pub monitor: monitor::TestMonitor,
}

impl<O> Constructed<O> {
    /// The resources registered with the component as their parent, in order.
    pub fn children(&self) -> Vec<monitor::Registration> {
        self.monitor
            .registrations()
            .into_iter()
            .filter(|r| r.parent == self.urn)
            .collect()
    }

    /// The outputs a child was created with (custom children of the provider's package).
    pub fn outputs_of(&self, child: &monitor::Registration) -> Option<PropertyMap> {
        self.monitor.outputs_of(&child.urn)
    }

    /// Deletes the children the provider created, last created first.
    pub async fn destroy(&self) -> Result<()> {
        self.monitor.destroy().await
    }
}

/// The steps of one resource type; from [`Driver::resource`].
pub struct ResourceDriver<'a, P, R> {
    driver: &'a Driver<P>,
    token: String,
    /// Top-level inputs sent as secrets, as a program's `pulumi.secret(..)` sends them.
    secret_inputs: Vec<String>,
    _resource: PhantomData<fn() -> R>,
}

impl<P: ResourceProvider, R: Resource> ResourceDriver<'_, P, R> {
    fn urn(&self, name: &str) -> String {
        format!("urn:pulumi:test::test::{}::{name}", self.token)
    }

    fn ctx(&self, name: &str) -> Context {
        Context::detached(self.urn(name))
    }

    /// Sends the named top-level inputs as secrets in every later step of this driver, as the
    /// engine sends an input a program marked secret, whatever the field's Rust type. An input
    /// that is absent or null stays as it is.
    ///
    /// ```
    /// # use provider_sdk::testing::Driver;
    /// # use provider_sdk::typed::{CreateArgs, Created, ProviderBuilder, Resource, resource};
    /// # use provider_sdk::{Context, Result};
    /// # #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, Clone, Debug)]
    /// # struct Args { token: String }
    /// # struct Login;
    /// # #[resource]
    /// # impl Resource for Login {
    /// #     type Inputs = Args;
    /// #     type Outputs = Args;
    /// #     async fn create(&self, _: &Context, args: CreateArgs<Args>) -> Result<Created<Args>> {
    /// #         Ok(Created::new("id", args.inputs))
    /// #     }
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let provider = ProviderBuilder::new("auth", "0.1.0")
    ///     .resource("auth:index:Login", Login)
    ///     .build()
    ///     .unwrap();
    /// let driver = Driver::new(provider);
    /// let logins = driver.resource::<Login>("auth:index:Login").secret_inputs(["token"]);
    /// let login = logins.create("a", &Args { token: "hush".into() }).await.unwrap();
    /// assert!(login.inputs["token"].is_secret());
    /// assert!(login.is_secret("token"), "an output from a secret input stays secret");
    /// # });
    /// ```
    pub fn secret_inputs<I, S>(mut self, properties: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.secret_inputs
            .extend(properties.into_iter().map(Into::into));
        self
    }

    /// `inputs` as a property map, with [`Self::secret_inputs`] marked secret.
    fn input_map(&self, inputs: &impl Serialize) -> Result<PropertyMap> {
        let mut map = to_map("the inputs", inputs)?;
        for name in &self.secret_inputs {
            if let Some(value) = map.get_mut(name.as_str())
                && !matches!(value, PropertyValue::Null)
            {
                *value = PropertyValue::secret(std::mem::take(value));
            }
        }
        Ok(map)
    }

    /// `Check` of new inputs (typed, or any serializable value such as `serde_json::json!`
    /// to try bad ones): the check failures, empty when valid.
    pub async fn check(&self, inputs: impl Serialize) -> Result<Vec<CheckFailure>> {
        Ok(self.checked("test", inputs, None).await?.failures)
    }

    async fn checked(
        &self,
        name: &str,
        inputs: impl Serialize,
        olds: Option<&PropertyMap>,
    ) -> Result<CheckResponse> {
        let mut req = CheckRequest::new(&self.token, self.input_map(&inputs)?);
        req.name = name.to_string();
        req.urn = self.urn(name);
        if let Some(olds) = olds {
            req.olds = olds.clone();
        }
        self.driver.provider.check(&self.ctx(name), req).await
    }

    /// Inputs that pass `Check`, as the engine would record them; an error listing failures.
    async fn accepted(
        &self,
        name: &str,
        inputs: impl Serialize,
        olds: Option<&PropertyMap>,
    ) -> Result<PropertyMap> {
        let checked = self.checked(name, inputs, olds).await?;
        refuse_failures(&format!("the inputs of `{name}`"), &checked.failures)?;
        Ok(checked.inputs)
    }

    /// `Check` then `Create` of resource `name`.
    pub async fn create(&self, name: &str, inputs: &R::Inputs) -> Result<Instance<R::Outputs>> {
        let inputs = self.accepted(name, inputs, None).await?;
        let mut req = CreateRequest::new(&self.token, name, inputs.clone());
        req.urn = self.urn(name);
        let created = self.driver.provider.create(&self.ctx(name), req).await?;
        self.instance(name, created.id, created.properties, inputs)
    }

    /// The outputs a preview of creating `name` shows (`Check` then `Create` with
    /// `preview`); unknown outputs are [`PropertyValue::Unknown`](crate::PropertyValue).
    pub async fn preview_create(&self, name: &str, inputs: impl Serialize) -> Result<PropertyMap> {
        let inputs = self.accepted(name, inputs, None).await?;
        let mut req = CreateRequest::new(&self.token, name, inputs);
        req.urn = self.urn(name);
        req.preview = true;
        let ctx = self.ctx(name).with_preview(true);
        Ok(self.driver.provider.create(&ctx, req).await?.properties)
    }

    /// `Check` then `Diff` of `instance` against new inputs.
    pub async fn diff(
        &self,
        instance: &Instance<R::Outputs>,
        news: &R::Inputs,
    ) -> Result<DiffResponse> {
        let news = self
            .accepted(&instance.name, news, Some(&instance.inputs))
            .await?;
        self.diff_checked(instance, news).await
    }

    async fn diff_checked(
        &self,
        instance: &Instance<R::Outputs>,
        news: PropertyMap,
    ) -> Result<DiffResponse> {
        let mut req = DiffRequest::new(
            &self.token,
            &instance.id,
            instance.state.clone(),
            instance.inputs.clone(),
            news,
        );
        req.name = instance.name.clone();
        req.urn = self.urn(&instance.name);
        self.driver
            .provider
            .diff(&self.ctx(&instance.name), req)
            .await
    }

    async fn update_request(
        &self,
        instance: &Instance<R::Outputs>,
        news: &R::Inputs,
    ) -> Result<UpdateRequest> {
        let news = self
            .accepted(&instance.name, news, Some(&instance.inputs))
            .await?;
        let diff = self.diff_checked(instance, news.clone()).await?;
        if diff.requires_replace() {
            return Err(Error::failed(format!(
                "`{}`: the diff asks for a replacement (changed: {}), so the engine would not update it in place",
                instance.name,
                diff.replaces.join(", ")
            )));
        }
        let mut req = UpdateRequest::new(
            &self.token,
            &instance.id,
            instance.state.clone(),
            instance.inputs.clone(),
            news,
        );
        req.name = instance.name.clone();
        req.urn = self.urn(&instance.name);
        Ok(req)
    }

    /// `Check`, `Diff` then `Update` of `instance` to new inputs; an error when the diff asks
    /// for a replacement instead.
    pub async fn update(
        &self,
        instance: &Instance<R::Outputs>,
        news: &R::Inputs,
    ) -> Result<Instance<R::Outputs>> {
        let req = self.update_request(instance, news).await?;
        let inputs = req.news.clone();
        let updated = self
            .driver
            .provider
            .update(&self.ctx(&instance.name), req)
            .await?;
        self.instance(
            &instance.name,
            instance.id.clone(),
            updated.properties,
            inputs,
        )
    }

    /// The outputs a preview of updating `instance` shows (`Check`, `Diff`, then `Update`
    /// with `preview`).
    pub async fn preview_update(
        &self,
        instance: &Instance<R::Outputs>,
        news: &R::Inputs,
    ) -> Result<PropertyMap> {
        let mut req = self.update_request(instance, news).await?;
        req.preview = true;
        let ctx = self.ctx(&instance.name).with_preview(true);
        Ok(self.driver.provider.update(&ctx, req).await?.properties)
    }

    /// `Read` (refresh) of `instance`: `None` when the resource is gone.
    pub async fn read(
        &self,
        instance: &Instance<R::Outputs>,
    ) -> Result<Option<Instance<R::Outputs>>> {
        let req = ReadRequest::new(
            &self.token,
            &instance.id,
            instance.state.clone(),
            instance.inputs.clone(),
        );
        self.send_read(&instance.name, req).await
    }

    /// `Read` of the resource with `id` alone, as an import sends it (no recorded outputs or
    /// inputs), recorded under `name`: `None` when nothing has that id.
    pub async fn import(&self, name: &str, id: &str) -> Result<Option<Instance<R::Outputs>>> {
        let req = ReadRequest::new(&self.token, id, PropertyMap::new(), PropertyMap::new());
        self.send_read(name, req).await
    }

    async fn send_read(
        &self,
        name: &str,
        mut req: ReadRequest,
    ) -> Result<Option<Instance<R::Outputs>>> {
        req.name = name.to_string();
        req.urn = self.urn(name);
        let read = self.driver.provider.read(&self.ctx(name), req).await?;
        if read.id.is_empty() {
            return Ok(None);
        }
        self.instance(name, read.id, read.properties, read.inputs)
            .map(Some)
    }

    /// `Delete` of `instance`.
    pub async fn delete(&self, instance: Instance<R::Outputs>) -> Result<()> {
        let mut req = DeleteRequest::new(&self.token, instance.id, instance.state, instance.inputs);
        req.name = instance.name.clone();
        req.urn = self.urn(&instance.name);
        self.driver
            .provider
            .delete(&self.ctx(&instance.name), req)
            .await
    }

    fn instance(
        &self,
        name: &str,
        id: String,
        state: PropertyMap,
        inputs: PropertyMap,
    ) -> Result<Instance<R::Outputs>> {
        Ok(Instance {
            name: name.to_string(),
            outputs: from_map(&format!("the outputs of `{name}`"), &state)?,
            id,
            state,
            inputs,
        })
    }
}

fn to_map(what: &str, value: &impl Serialize) -> Result<PropertyMap> {
    serde_bridge::to_property_map(value).map_err(|e| Error::InvalidRequest(format!("{what}: {e}")))
}

fn from_map<T: DeserializeOwned>(what: &str, map: &PropertyMap) -> Result<T> {
    serde_bridge::from_property_map(map).map_err(|e| Error::Internal(format!("{what}: {e}")))
}

fn refuse_failures(what: &str, failures: &[CheckFailure]) -> Result<()> {
    if failures.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = failures
        .iter()
        .map(|f| format!("`{}`: {}", f.property, f.reason))
        .collect();
    Err(Error::InvalidRequest(format!(
        "{what} fail Check: {}",
        listed.join("; ")
    )))
}
