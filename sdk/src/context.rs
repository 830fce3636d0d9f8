//! The context every provider call receives: cancellation, preview, timeout and a logger.

use std::any::Any;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::logger::Logger;

/// Per-call context.
///
/// Long-running work should watch [`Context::cancelled`] (the engine asked to stop, or the
/// plugin is shutting down) and respect [`Context::timeout`] (the user's custom timeout).
///
/// The engine's `Cancel` cancels the contexts of the calls in flight when it arrives; calls
/// made after it get a fresh context that is not cancelled, so a provider the engine keeps
/// using after `Cancel` keeps working.
#[derive(Clone, Debug)]
pub struct Context {
    pub(crate) cancel: CancellationToken,
    pub(crate) preview: bool,
    pub(crate) timeout: Option<Duration>,
    /// When the timeout runs out, counted from the start of the call.
    pub(crate) deadline: Option<Instant>,
    pub(crate) urn: String,
    pub(crate) logger: Logger,
    pub(crate) config: Option<Arc<ConfigSlot>>,
    /// Whether the inputs or recorded state of the resource this call concerns hold a secret.
    pub(crate) secret_inputs: bool,
}

/// Where a typed provider keeps its configuration once `Configure` has run.
#[derive(Debug)]
pub(crate) struct ConfigSlot {
    /// The configuration type's name, for errors.
    type_name: &'static str,
    value: RwLock<Option<Arc<dyn Any + Send + Sync>>>,
}

impl ConfigSlot {
    pub(crate) fn new(type_name: &'static str) -> Self {
        ConfigSlot {
            type_name,
            value: RwLock::new(None),
        }
    }

    pub(crate) fn set(&self, value: Arc<dyn Any + Send + Sync>) {
        *self.value.write().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }

    fn get(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.value.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The provider's configuration as a resource or function sees it: see
/// [`Context::config_state`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigState<C> {
    /// `Configure` has not run yet, or ran during a preview with values not known yet.
    NotConfigured,
    /// `Configure` has run; a property the program did not set is `None` in its
    /// `Option` field (configured, value absent).
    Configured(Arc<C>),
}

impl Context {
    /// A context for calling a provider directly (in tests): never cancelled unless
    /// [`Context::cancel_handle`] is used, no preview, no timeout, logs to stderr.
    pub fn detached(urn: impl Into<String>) -> Self {
        Context {
            cancel: CancellationToken::new(),
            preview: false,
            timeout: None,
            deadline: None,
            urn: urn.into(),
            logger: Logger::stderr(),
            config: None,
            secret_inputs: false,
        }
    }

    /// The provider's configuration, of the type registered with
    /// [`ProviderBuilder::config`](crate::typed::ProviderBuilder::config).
    ///
    /// [`Error::NotConfigured`] when `Configure` has not run yet. Once it has, a key the
    /// program did not set is `None` in its `Option` field: "not configured" and "configured
    /// without a value" are never confused.
    ///
    /// ```
    /// use provider_sdk::{async_trait, Context, Error, Result};
    /// use provider_sdk::typed::{Function, ProviderBuilder, ProviderConfig};
    /// use provider_sdk::testing::Driver;
    /// /// The configuration.
    /// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    /// struct Config { /// An optional greeting.
    ///     greeting: Option<String> }
    /// impl ProviderConfig for Config {}
    /// /// No arguments.
    /// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    /// struct NoArgs {}
    /// /// The greeting.
    /// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, Debug)]
    /// struct Text { /// The text.
    ///     text: String }
    /// struct Greet;
    /// #[async_trait]
    /// impl Function for Greet {
    ///     type Args = NoArgs;
    ///     type Output = Text;
    ///     async fn call(&self, ctx: &Context, _args: NoArgs) -> Result<Text> {
    ///         let config = ctx.config::<Config>()?;
    ///         Ok(Text { text: config.greeting.clone().unwrap_or_else(|| "hello".into()) })
    ///     }
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let provider = ProviderBuilder::new("demo", "1.0.0")
    ///     .config::<Config>()
    ///     .function("demo:index:greet", Greet)
    ///     .build()
    ///     .unwrap();
    /// let driver = Driver::new(provider);
    /// let before = driver.invoke::<Text>("demo:index:greet", NoArgs {}).await;
    /// assert!(matches!(before, Err(Error::NotConfigured(_))), "{before:?}");
    /// driver.configure(serde_json::json!({})).await.unwrap();
    /// let after: Text = driver.invoke("demo:index:greet", NoArgs {}).await.unwrap();
    /// assert_eq!(after.text, "hello", "configured, greeting absent");
    /// # });
    /// ```
    pub fn config<C: Send + Sync + 'static>(&self) -> Result<Arc<C>> {
        match self.config_state::<C>()? {
            ConfigState::Configured(config) => Ok(config),
            ConfigState::NotConfigured => Err(Error::NotConfigured(format!(
                "the provider is not configured yet (Configure has not run) and `{}` was asked for",
                std::any::type_name::<C>()
            ))),
        }
    }

    /// The provider's configuration, or [`ConfigState::NotConfigured`] before `Configure`;
    /// an error when the provider registered no configuration, or one of another type.
    pub fn config_state<C: Send + Sync + 'static>(&self) -> Result<ConfigState<C>> {
        let asked = std::any::type_name::<C>();
        let Some(slot) = &self.config else {
            return Err(Error::Internal(format!(
                "`{asked}` was asked for, but the provider registered no configuration; \
                 register it with `ProviderBuilder::config::<{asked}>()`"
            )));
        };
        match slot.get() {
            None => Ok(ConfigState::NotConfigured),
            Some(value) => value
                .downcast::<C>()
                .map(ConfigState::Configured)
                .map_err(|_| {
                    Error::Internal(format!(
                        "`{asked}` was asked for, but the provider's configuration is `{}`",
                        slot.type_name
                    ))
                }),
        }
    }

    /// This context with the provider's configuration slot (the typed layer adds it).
    pub(crate) fn with_config_slot(&self, slot: Option<&Arc<ConfigSlot>>) -> Context {
        let mut ctx = self.clone();
        if ctx.config.is_none() {
            ctx.config = slot.cloned();
        }
        ctx
    }

    /// True during preview: nothing may be changed.
    pub fn is_preview(&self) -> bool {
        self.preview
    }

    /// The user's custom timeout for this operation, if one was set.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The URN of the resource this call concerns (empty for provider-wide calls).
    pub fn urn(&self) -> &str {
        &self.urn
    }

    /// Whether the operation should stop now: the engine sent `Cancel` while this call was
    /// running, or the plugin is shutting down.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the operation should stop; use it in `tokio::select!`.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// A handle that cancels this call (and nothing else) when triggered.
    pub fn cancel_handle(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Sets the preview flag (builder style, for tests and wrappers).
    pub fn with_preview(mut self, preview: bool) -> Self {
        self.preview = preview;
        self
    }

    /// Sets the custom timeout, counted from now (builder style, for tests and wrappers).
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self.deadline = timeout.map(|t| Instant::now() + t);
        self
    }

    /// Whether the inputs (or the recorded state) of the resource this call concerns hold a
    /// secret. The typed layer sets it for Create, Update and Delete, whose typed arguments do
    /// not say which values were secret: an operation that fails should then not quote text
    /// derived from its inputs (a script's output, a value it read), which may carry the secret.
    pub fn inputs_are_secret(&self) -> bool {
        self.secret_inputs
    }

    /// Sets whether the inputs hold a secret (builder style, for tests and wrappers).
    pub fn with_secret_inputs(mut self, secret: bool) -> Self {
        self.secret_inputs = secret;
        self
    }

    /// When the custom timeout runs out (counted from the start of the call), if one was set.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The logger for this call: its messages reach the engine tagged with the resource URN.
    /// [`Logger::status`] shows progress of a long operation.
    pub fn log(&self) -> &Logger {
        &self.logger
    }

    pub(crate) fn for_call(
        base: &CancellationToken,
        logger: &Logger,
        urn: &str,
        preview: bool,
        timeout: f64,
    ) -> Self {
        let timeout =
            (timeout.is_finite() && timeout > 0.0).then(|| Duration::from_secs_f64(timeout));
        Context {
            cancel: base.child_token(),
            preview,
            timeout,
            deadline: timeout.map(|t| Instant::now() + t),
            urn: urn.to_string(),
            logger: logger.for_urn(urn),
            config: None,
            secret_inputs: false,
        }
    }
}
