//! `local:index:Service`: a long-running local process, checked for readiness; the showcase of
//! partial initialization failure.
//!
//! # Using it
//!
//! ```yaml
//! resources:
//!   web:
//!     type: local:index:Service
//!     properties:
//!       command: python3 -m http.server 8080 --bind 127.0.0.1
//!       readyUrl: http://127.0.0.1:8080/     # or readyPort: 8080
//!       readyTimeout: 30                     # seconds
//!       logFile: web.log                     # optional, relative to `local:root`
//! outputs:
//!   pid: ${web.pid}
//! ```
//!
//! | input | meaning |
//! |---|---|
//! | `command` | the process to start (`/bin/sh -c`); changing it **replaces** the service. |
//! | `environment`, `dir` | as for [`crate::command`]; changing them replaces. |
//! | `readyPort` | ready when `127.0.0.1:<port>` accepts a TCP connection. |
//! | `readyUrl` | ready when `GET <url>` (plain `http://`) answers 2xx or 3xx. One of the two is required. |
//! | `readyTimeout` | how long to wait for readiness, in seconds (default 30; the user's custom timeout, when shorter, wins). Updates in place. |
//! | `logFile` | where the process's stdout and stderr go (default: nowhere); the end of it is quoted when the process fails. Delete removes it. |
//!
//! Outputs ([`ServiceState`]): the inputs, plus `pid` and `processStartTime` (the process's
//! start time in clock ticks after boot, which tells it apart from a later process that reuses
//! the pid). The id is the pid.
//!
//! # Partial failure: created, but not initialized
//!
//! Create starts the process in a new session (`setsid`), detached from the provider: the
//! engine stops the provider after every run, and the service keeps running. Then it probes
//! the readiness check every 200 ms:
//!
//! - ready: the resource is created;
//! - the process exits first: nothing is running, so nothing was created, and Create fails
//!   with the exit status (and the end of the log);
//! - the process runs but never becomes ready within `readyTimeout`: the service **exists**
//!   (there is a pid to stop later) but is not initialized. Create returns
//!   [`Error::InitFailed`] with the pid as the id and the reasons; the SDK sends it as
//!   `ErrorResourceInitFailed`, the engine saves the resource with those reasons and fails the
//!   deployment, and **the next `up` sends an Update even with no diff**. Update then re-runs
//!   the readiness check against the same process: ready means initialized at last; not ready
//!   is another partial failure.
//!
//! Replacing a service deletes the old process before starting the new one
//! (`deleteBeforeReplace`), so the new one can bind the same port and the readiness check
//! cannot be fooled by the old process.
//!
//! **read** reports a process that has died (or whose pid now belongs to another process) as
//! gone. **delete** stops the whole process group: SIGTERM, then SIGKILL after 3 s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use provider_sdk::ops::{CheckFailure, DiffResponse};
use provider_sdk::typed::{
    CreateArgs, Created, DeleteArgs, DiffArgs, ReadArgs, ReadResult, Resource, UpdateArgs, resource,
};
use provider_sdk::{Context, Error, PropertyValue, Result, serde_bridge};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::process::{self, Script};
use crate::readiness::{Check, Outcome, wait_ready};
use crate::root::{self, Root};

/// The type token.
pub const TYPE: &str = "local:index:Service";

const DEFAULT_READY_TIMEOUT: u64 = 30;

/// The inputs of a [`Service`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceArgs {
    /// The long-running process to start (a shell command). Changing it replaces the service.
    pub command: String,
    /// Environment variables for the process (values may be secrets).
    pub environment: Option<BTreeMap<String, String>>,
    /// The working directory, relative to `local:root` (default: the root).
    pub dir: Option<String>,
    /// Ready when this TCP port on 127.0.0.1 accepts a connection.
    pub ready_port: Option<u16>,
    /// Ready when GET on this http:// URL answers 2xx or 3xx.
    pub ready_url: Option<String>,
    /// How long to wait for readiness, in seconds (default 30).
    pub ready_timeout: Option<u64>,
    /// Where the process's output goes, relative to `local:root` (default: nowhere).
    pub log_file: Option<String>,
}

/// A running local process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceState {
    /// The process's command.
    pub command: String,
    /// Its environment variables.
    pub environment: Option<BTreeMap<String, String>>,
    /// Its working directory.
    pub dir: Option<String>,
    /// The TCP port of the readiness check.
    pub ready_port: Option<u16>,
    /// The URL of the readiness check.
    pub ready_url: Option<String>,
    /// The readiness timeout, in seconds.
    pub ready_timeout: Option<u64>,
    /// Where the process's output goes.
    pub log_file: Option<String>,
    /// The process id.
    pub pid: i32,
    /// When the process started, in clock ticks after boot.
    pub process_start_time: Option<u64>,
}

impl ServiceArgs {
    fn readiness(&self) -> std::result::Result<Check, CheckFailure> {
        match (self.ready_port, &self.ready_url) {
            (Some(_), Some(_)) => Err(CheckFailure::new(
                "readyUrl",
                "give either `readyPort` or `readyUrl`, not both",
            )),
            (Some(0), None) => Err(CheckFailure::new(
                "readyPort",
                "`readyPort` must be from 1 to 65535",
            )),
            (Some(port), None) => Ok(Check::tcp(port)),
            (None, Some(url)) => Check::http(url).map_err(|r| CheckFailure::new("readyUrl", r)),
            (None, None) => Err(CheckFailure::new(
                "readyPort",
                "a readiness check is required: give `readyPort` (a TCP port on 127.0.0.1) or `readyUrl` (an http:// URL)",
            )),
        }
    }

    fn state(self, pid: i32, start: Option<u64>) -> ServiceState {
        ServiceState {
            command: self.command,
            environment: self.environment,
            dir: self.dir,
            ready_port: self.ready_port,
            ready_url: self.ready_url,
            ready_timeout: self.ready_timeout,
            log_file: self.log_file,
            pid,
            process_start_time: start,
        }
    }

    fn ready_within(&self, ctx: &Context) -> Duration {
        let wanted = Duration::from_secs(self.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT));
        ctx.timeout().map_or(wanted, |t| t.min(wanted))
    }

    /// Whether anything here may be secret; then the log is not quoted. The typed layer does
    /// not say which inputs were secret, so any environment counts.
    fn maybe_secret(&self) -> bool {
        self.environment.as_ref().is_some_and(|e| !e.is_empty())
    }
}

impl ServiceState {
    fn args(&self) -> ServiceArgs {
        ServiceArgs {
            command: self.command.clone(),
            environment: self.environment.clone(),
            dir: self.dir.clone(),
            ready_port: self.ready_port,
            ready_url: self.ready_url.clone(),
            ready_timeout: self.ready_timeout,
            log_file: self.log_file.clone(),
        }
    }
}

/// The end of the log, as a reason line, when there is a log and nothing is secret.
fn log_tail(log: Option<&PathBuf>, secret: bool) -> Option<String> {
    let text = std::fs::read_to_string(log?).ok()?;
    let text = text.trim_end();
    if secret || text.is_empty() {
        return None;
    }
    Some(format!("the log ends with:\n{}", process::tail(text, 2000)))
}

/// A partial failure: `state` exists (its process runs) but did not become ready.
fn not_ready(
    state: &ServiceState,
    check: &Check,
    within: Duration,
    reason: String,
    log: Option<String>,
) -> Error {
    let pid = state.pid;
    let mut reasons = vec![
        format!("process {pid} is running but {} was not ready within {} s: {reason}", check.describe(), within.as_secs_f64()),
        "run `pulumi up` again to retry the readiness check, or fix the command and replace the service".to_string(),
    ];
    reasons.extend(log);
    let mut properties = serde_bridge::to_property_map(state).unwrap_or_default();
    // The SDK does not pass these properties through its secret propagation; keep the
    // environment (where secrets usually are) secret in the engine's state.
    if let Some(env) = properties.remove("environment") {
        properties.insert("environment".into(), PropertyValue::secret(env));
    }
    Error::init_failed(pid.to_string(), properties, reasons)
}

/// The `Service` resource.
#[derive(Debug, Default)]
pub struct Service;

impl Service {
    fn root(ctx: &Context) -> Result<Root> {
        root::configured(ctx)
    }

    fn log_file(ctx: &Context, args: &ServiceArgs) -> Result<Option<PathBuf>> {
        args.log_file
            .as_deref()
            .map(|p| Self::root(ctx)?.resolve("logFile", p))
            .transpose()
    }
}

#[resource]
impl Resource for Service {
    type Inputs = ServiceArgs;
    type Outputs = ServiceState;
    const REPLACE_ON_CHANGES: &'static [&'static str] =
        &["command", "environment", "dir", "logFile"];

    async fn check(&self, _ctx: &Context, inputs: &mut ServiceArgs) -> Result<Vec<CheckFailure>> {
        let mut failures = Vec::new();
        if inputs.command.trim().is_empty() {
            failures.push(CheckFailure::new(
                "command",
                "is empty; give the process to start",
            ));
        }
        if let Err(f) = inputs.readiness() {
            failures.push(f);
        }
        if inputs.ready_timeout == Some(0) {
            failures.push(CheckFailure::new(
                "readyTimeout",
                "`readyTimeout` must be at least 1 second",
            ));
        }
        Ok(failures)
    }

    async fn diff(
        &self,
        _ctx: &Context,
        args: DiffArgs<ServiceArgs, ServiceState>,
    ) -> Result<DiffResponse> {
        let mut diff = args.default;
        diff.delete_before_replace = diff.requires_replace();
        Ok(diff)
    }

    async fn create(
        &self,
        ctx: &Context,
        args: CreateArgs<ServiceArgs>,
    ) -> Result<Created<ServiceState>> {
        let inputs = args.inputs;
        let check = inputs
            .readiness()
            .map_err(|f| Error::InvalidRequest(f.reason))?;
        let root = Self::root(ctx)?;
        let dir = match &inputs.dir {
            Some(d) => root.resolve("dir", d)?,
            None => root.dir().to_path_buf(),
        };
        let log = Self::log_file(ctx, &inputs)?;
        let secret = inputs.maybe_secret();
        let script = Script {
            script: inputs.command.clone(),
            dir,
            env: inputs.environment.clone().unwrap_or_default(),
            secret,
        };
        let within = inputs.ready_within(ctx);

        let mut started = process::spawn_detached(&script, log.as_deref())
            .map_err(|e| Error::failed(format!("cannot start the service `{}`: {e}", args.name)))?;
        let (pid, start) = (started.pid, Some(started.start_ticks));
        // Until the engine hears of the pid (ready, or a partial failure), the process is ours
        // to clean up: if this call is dropped midway, the guard stops it.
        let guard = process::GroupGuard::new(pid);
        ctx.log().info(format!(
            "started process {pid}; waiting up to {} s for {}",
            within.as_secs_f64(),
            check.describe()
        ));
        let outcome = wait_ready(
            pid,
            start,
            Some(&mut started.child),
            &check,
            within,
            ctx.cancelled(),
        )
        .await;
        let state = inputs.state(pid, start);
        let cleanup = |log: &Option<PathBuf>| {
            if let Some(log) = log {
                let _ = std::fs::remove_file(log);
            }
        };
        match outcome {
            Outcome::Ready => {
                guard.disarm();
                ctx.log()
                    .info(format!("process {pid} is ready ({})", check.describe()));
                Ok(Created::new(pid.to_string(), state))
            }
            Outcome::NotReady(reason) => {
                guard.disarm();
                Err(not_ready(
                    &state,
                    &check,
                    within,
                    reason,
                    log_tail(log.as_ref(), secret),
                ))
            }
            Outcome::Exited(reason) => {
                let _ = process::stop_group(pid, process::STOP_GRACE).await;
                let tail = log_tail(log.as_ref(), secret)
                    .map(|t| format!("; {t}"))
                    .unwrap_or_default();
                cleanup(&log);
                Err(Error::failed(format!(
                    "the service `{}` did not start: {reason}{tail}",
                    args.name
                )))
            }
            Outcome::Cancelled => {
                let _ = process::stop_group(pid, process::STOP_GRACE).await;
                cleanup(&log);
                Err(Error::Cancelled(format!(
                    "the service `{}` was cancelled while waiting for readiness; stopped process {pid}",
                    args.name
                )))
            }
        }
    }

    async fn read(
        &self,
        _ctx: &Context,
        args: ReadArgs<ServiceArgs, ServiceState>,
    ) -> Result<Option<ReadResult<ServiceArgs, ServiceState>>> {
        if !process::is_alive(args.state.pid, args.state.process_start_time) {
            return Ok(None);
        }
        let inputs = args.inputs.unwrap_or_else(|| args.state.args());
        Ok(Some(ReadResult::new(args.id, inputs, args.state)))
    }

    async fn update(
        &self,
        ctx: &Context,
        args: UpdateArgs<ServiceArgs, ServiceState>,
    ) -> Result<ServiceState> {
        let (pid, start) = (args.state.pid, args.state.process_start_time);
        if !process::is_alive(pid, start) {
            return Err(Error::failed(format!(
                "process {pid} of the service `{}` is no longer running; run `pulumi refresh` so that the next \
                 `pulumi up` starts a new one",
                args.name
            )));
        }
        let news = args.news;
        let check = news
            .readiness()
            .map_err(|f| Error::InvalidRequest(f.reason))?;
        let within = news.ready_within(ctx);
        let log = Self::log_file(ctx, &news)?;
        let secret = news.maybe_secret();
        let state = news.state(pid, start);
        ctx.log().info(format!(
            "checking process {pid} for readiness ({})",
            check.describe()
        ));
        match wait_ready(pid, start, None, &check, within, ctx.cancelled()).await {
            Outcome::Ready => Ok(state),
            Outcome::NotReady(reason) => Err(not_ready(
                &state,
                &check,
                within,
                reason,
                log_tail(log.as_ref(), secret),
            )),
            Outcome::Exited(reason) => Err(Error::failed(format!(
                "the service `{}` stopped: {reason}",
                args.name
            ))),
            Outcome::Cancelled => Err(Error::Cancelled(format!(
                "the readiness check of `{}` was cancelled; process {pid} keeps running",
                args.name
            ))),
        }
    }

    async fn delete(&self, ctx: &Context, args: DeleteArgs<ServiceState>) -> Result<()> {
        let (pid, start) = (args.state.pid, args.state.process_start_time);
        if pid <= 1 {
            return Err(Error::InvalidRequest(format!(
                "the recorded pid {pid} cannot be a service's"
            )));
        }
        // A live process with another start time is not ours: the pid was reused.
        let reused = process::stat(pid).is_some_and(|s| start.is_some_and(|t| t != s.start_ticks));
        if !reused {
            let stopped = process::stop_group(pid, process::STOP_GRACE)
                .await
                .map_err(|e| {
                    Error::failed(format!("cannot stop process {pid} of `{}`: {e}", args.name))
                })?;
            ctx.log().info(format!("process {pid}: {stopped:?}"));
        }
        if let Some(log) = Self::log_file(ctx, &args.state.args())? {
            crate::fs::remove_file(&log)?;
        }
        Ok(())
    }
}
