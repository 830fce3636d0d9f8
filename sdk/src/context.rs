//! The context every provider call receives: cancellation, preview, timeout and a logger.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

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
    pub(crate) urn: String,
    pub(crate) logger: Logger,
}

impl Context {
    /// A context for calling a provider directly (in tests): never cancelled unless
    /// [`Context::cancel_handle`] is used, no preview, no timeout, logs to stderr.
    pub fn detached(urn: impl Into<String>) -> Self {
        Context {
            cancel: CancellationToken::new(),
            preview: false,
            timeout: None,
            urn: urn.into(),
            logger: Logger::stderr(),
        }
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

    /// Sets the custom timeout (builder style, for tests and wrappers).
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The logger for this call: its messages reach the engine tagged with the resource URN.
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
            urn: urn.to_string(),
            logger: logger.for_urn(urn),
        }
    }
}
