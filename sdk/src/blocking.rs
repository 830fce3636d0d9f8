//! Blocking work (std::fs, rusqlite, a synchronous client) inside an async operation, with the
//! engine's `Cancel` and the user's custom timeout honoured.
//!
//! An operation must not block its async task: the SDK serves every call of the plugin on the
//! same runtime, so a blocked task stalls other calls, and a `Cancel` cannot end it.
//! [`Context::blocking`] runs the work on tokio's blocking thread pool and waits for it, for the
//! engine's `Cancel` (or a shutdown signal) and for the operation's custom timeout, whichever
//! comes first:
//!
//! - the work finishes: its result is the operation's;
//! - `Cancel` arrives, or the timeout passes: the [`Stop`] handle the work was given is
//!   raised, and the operation returns [`Error::Cancelled`] or [`Error::Timeout`] at once. A
//!   thread cannot be killed, so the work runs on until it next looks at [`Stop`]: work made of
//!   steps should check [`Stop::is_raised`] between them (and roll back what it can).
//!
//! ```
//! use provider_sdk::{Context, Error};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let ctx = Context::detached("");
//! let dir = std::env::temp_dir().join(format!("blocking-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(dir.join("one.txt"), "1").unwrap();
//! let lines: usize = ctx
//!     .blocking(move |stop| {
//!         let mut n = 0;
//!         for entry in std::fs::read_dir(&dir).map_err(|e| Error::failed(e.to_string()))? {
//!             stop.check()?; // returns Err(Cancelled) once the engine cancelled
//!             n += entry.is_ok() as usize;
//!         }
//!         Ok(n)
//!     })
//!     .await
//!     .unwrap();
//! assert_eq!(lines, 1);
//! # });
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::context::Context;
use crate::error::{Error, Result};

/// Raised when the operation that started blocking work was cancelled or timed out: the work
/// should stop at its next step.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Whether the work should stop now.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// `Err(Error::Cancelled)` once raised, for `stop.check()?` between steps.
    pub fn check(&self) -> Result<()> {
        if self.is_raised() {
            Err(Error::Cancelled(
                "the operation was cancelled while its blocking work ran".into(),
            ))
        } else {
            Ok(())
        }
    }

    fn raise(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Context {
    /// Runs blocking `work` on a blocking thread and waits for it, for `Cancel` and for the
    /// operation's custom timeout; see the [module](crate::blocking).
    pub async fn blocking<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Stop) -> Result<T> + Send + 'static,
    {
        let stop = Stop::default();
        let handed = stop.clone();
        let task = tokio::task::spawn_blocking(move || work(&handed));
        let deadline = async {
            match self.deadline() {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            joined = task => match joined {
                Ok(result) => result,
                Err(e) if e.is_panic() => Err(Error::Internal(format!(
                    "the blocking work panicked: {}",
                    panic_text(e.into_panic())
                ))),
                Err(e) => Err(Error::Internal(format!("the blocking work did not finish: {e}"))),
            },
            () = self.cancelled() => {
                stop.raise();
                Err(Error::Cancelled(
                    "the engine cancelled the operation while its blocking work ran".into(),
                ))
            }
            () = deadline => {
                stop.raise();
                Err(Error::Timeout(format!(
                    "the blocking work ran past the operation's timeout ({:?})",
                    self.timeout().unwrap_or_default()
                )))
            }
        }
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
