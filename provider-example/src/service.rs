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
//! Outputs: the inputs, plus `pid` and `processStartTime` (the process's start time in clock
//! ticks after boot, which tells it apart from a later process that reuses the pid). The id is
//! the pid.
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
//! Replacing a service deletes the old process before starting the new one, so the new one can
//! bind the same port (and the readiness check cannot be fooled by the old process).
//!
//! Read reports a process that has died (or whose pid now belongs to another process) as gone.
//! Delete stops the whole process group: SIGTERM, then SIGKILL after 3 s.

use std::path::PathBuf;
use std::time::Duration;

use provider_sdk::ops::*;
use provider_sdk::{Context, Error, PropertyMap, PropertyValue, Result, diff_top_level};

use crate::process::{self, Script};
use crate::props::{self};
use crate::readiness::{Check, Outcome, wait_ready};
use crate::root::Root;

/// The type token.
pub const TYPE: &str = "local:index:Service";

const INPUTS: &[&str] = &[
    "command",
    "environment",
    "dir",
    "readyPort",
    "readyUrl",
    "readyTimeout",
    "logFile",
];
const COMPUTED: &[&str] = &["pid", "processStartTime"];
const DEFAULT_READY_TIMEOUT: u64 = 30;

/// The `Service` resource.
#[derive(Debug, Default)]
pub struct Service;

fn bad(p: props::Problem) -> Error {
    Error::InvalidRequest(p.reason)
}

fn readiness(inputs: &PropertyMap) -> std::result::Result<Option<Check>, props::Problem> {
    let port = props::whole(inputs, "readyPort", 1, 65535)?;
    let url = props::string(inputs, "readyUrl")?;
    match (port, url) {
        (Some(_), Some(_)) => Err(CheckFailure::new(
            "readyUrl",
            "give either `readyPort` or `readyUrl`, not both",
        )),
        (Some(port), None) => Ok(Some(Check::tcp(port as u16))),
        (None, Some(url)) => Check::http(&url.value)
            .map(Some)
            .map_err(|r| CheckFailure::new("readyUrl", r)),
        (None, None) => Ok(None),
    }
}

fn ready_within(ctx: &Context, inputs: &PropertyMap) -> Result<Duration> {
    let secs = props::whole(inputs, "readyTimeout", 1, 86_400)
        .map_err(bad)?
        .unwrap_or(DEFAULT_READY_TIMEOUT);
    let wanted = Duration::from_secs(secs);
    Ok(ctx.timeout().map_or(wanted, |t| t.min(wanted)))
}

fn log_file(root: &Root, inputs: &PropertyMap) -> Result<Option<PathBuf>> {
    match props::string(inputs, "logFile").map_err(bad)? {
        Some(p) => Ok(Some(root.resolve("logFile", &p.value)?)),
        None => Ok(None),
    }
}

fn secret(inputs: &PropertyMap) -> bool {
    ["command", "environment"]
        .iter()
        .any(|k| inputs.get(*k).is_some_and(PropertyValue::contains_secrets))
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

/// The pid and start time recorded for a service.
fn identity(id: &str, state: &PropertyMap) -> Result<(i32, Option<u64>)> {
    let pid = id.parse::<i32>().ok().filter(|p| *p > 1).ok_or_else(|| {
        Error::InvalidRequest(format!("a Service id is a process id, got {id:?}"))
    })?;
    let start = state
        .get("processStartTime")
        .and_then(|v| v.unwrap_secret().0.as_f64())
        .map(|n| n as u64);
    Ok((pid, start))
}

fn with_identity(inputs: &PropertyMap, pid: i32, start: Option<u64>) -> PropertyMap {
    let mut out = inputs.clone();
    out.insert("pid".into(), PropertyValue::Number(pid as f64));
    out.insert(
        "processStartTime".into(),
        start.map_or(PropertyValue::Null, |s| PropertyValue::Number(s as f64)),
    );
    out
}

fn not_ready(
    pid: i32,
    check: &Check,
    within: Duration,
    reason: String,
    log: Option<String>,
    outputs: PropertyMap,
) -> Error {
    let mut reasons = vec![
        format!(
            "process {pid} is running but {} was not ready within {} s: {reason}",
            check.describe(),
            within.as_secs_f64()
        ),
        "run `pulumi up` again to retry the readiness check, or fix the command and replace the service".to_string(),
    ];
    reasons.extend(log);
    Error::init_failed(pid.to_string(), outputs, reasons)
}

impl Service {
    pub(crate) fn check(&self, req: CheckRequest) -> Result<CheckResponse> {
        let news = &req.news;
        let mut failures = props::unknown_keys(news, "Service", INPUTS);
        if let Err(p) = props::required_string(news, "command", "the long-running process to start")
        {
            failures.push(p);
        }
        match readiness(news) {
            Ok(Some(_)) => {}
            Ok(None) if props::is_unknown(news, "readyPort") || props::is_unknown(news, "readyUrl") => {}
            Ok(None) => failures.push(CheckFailure::new(
                "readyPort",
                "a readiness check is required: give `readyPort` (a TCP port on 127.0.0.1) or `readyUrl` (an http:// URL)",
            )),
            Err(p) => failures.push(p),
        }
        if let Err(p) = props::whole(news, "readyTimeout", 1, 86_400) {
            failures.push(p);
        }
        for key in ["dir", "logFile"] {
            if let Err(p) = props::string(news, key) {
                failures.push(p);
            }
        }
        if let Err(p) = props::string_map(news, "environment") {
            failures.push(p);
        }
        Ok(CheckResponse::invalid(req.news, failures))
    }

    pub(crate) fn diff(&self, req: DiffRequest) -> Result<DiffResponse> {
        let olds = if req.old_inputs.is_empty() {
            props::inputs_of(&req.olds, COMPUTED)
        } else {
            req.old_inputs.clone()
        };
        let mut diff = diff_top_level(
            &olds,
            &req.news,
            &["command", "environment", "dir", "logFile"],
        );
        diff.delete_before_replace = diff.requires_replace();
        Ok(diff)
    }

    pub(crate) async fn create(
        &self,
        ctx: &Context,
        root: &Root,
        req: CreateRequest,
    ) -> Result<CreateResponse> {
        if req.preview {
            let mut out = req.properties.clone();
            for key in COMPUTED {
                out.insert(key.to_string(), PropertyValue::Unknown(Default::default()));
            }
            return Ok(CreateResponse::new("", out));
        }
        let inputs = &req.properties;
        let check = readiness(inputs)
            .map_err(bad)?
            .ok_or_else(|| Error::InvalidRequest("a readiness check is required".into()))?;
        let command =
            props::required_string(inputs, "command", "the process to start").map_err(bad)?;
        let env = props::string_map(inputs, "environment").map_err(bad)?;
        let dir = match props::string(inputs, "dir").map_err(bad)? {
            Some(d) => root.resolve("dir", &d.value)?,
            None => root.dir().to_path_buf(),
        };
        let log = log_file(root, inputs)?;
        let secret = secret(inputs);
        let script = Script {
            script: command.value,
            dir,
            env: env.value,
            secret,
        };
        let within = ready_within(ctx, inputs)?;

        let mut started = process::spawn_detached(&script, log.as_deref())
            .map_err(|e| Error::failed(format!("cannot start the service `{}`: {e}", req.name)))?;
        let (pid, start) = (started.pid, Some(started.start_ticks));
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
        let outputs = with_identity(inputs, pid, start);
        match outcome {
            Outcome::Ready => {
                ctx.log()
                    .info(format!("process {pid} is ready ({})", check.describe()));
                Ok(CreateResponse::new(pid.to_string(), outputs))
            }
            Outcome::NotReady(reason) => {
                let tail = log_tail(log.as_ref(), secret);
                Err(not_ready(pid, &check, within, reason, tail, outputs))
            }
            Outcome::Exited(reason) => {
                let _ = process::stop_group(pid, process::STOP_GRACE).await;
                let tail = log_tail(log.as_ref(), secret)
                    .map(|t| format!("; {t}"))
                    .unwrap_or_default();
                if let Some(log) = &log {
                    let _ = std::fs::remove_file(log);
                }
                Err(Error::failed(format!(
                    "the service `{}` did not start: {reason}{tail}",
                    req.name
                )))
            }
            Outcome::Cancelled => {
                let _ = process::stop_group(pid, process::STOP_GRACE).await;
                if let Some(log) = &log {
                    let _ = std::fs::remove_file(log);
                }
                Err(Error::Cancelled(format!(
                    "the service `{}` was cancelled while waiting for readiness; stopped process {pid}",
                    req.name
                )))
            }
        }
    }

    pub(crate) async fn read(
        &self,
        _ctx: &Context,
        _root: &Root,
        req: ReadRequest,
    ) -> Result<ReadResponse> {
        let (pid, start) = identity(&req.id, &req.properties)?;
        if !process::is_alive(pid, start) {
            return Ok(ReadResponse::gone());
        }
        let inputs = if req.inputs.is_empty() {
            props::inputs_of(&req.properties, COMPUTED)
        } else {
            req.inputs
        };
        Ok(ReadResponse::found(req.id, req.properties, inputs))
    }

    pub(crate) async fn update(
        &self,
        ctx: &Context,
        root: &Root,
        req: UpdateRequest,
    ) -> Result<UpdateResponse> {
        let (pid, start) = identity(&req.id, &req.olds)?;
        let outputs = with_identity(&req.news, pid, start);
        if req.preview {
            return Ok(UpdateResponse::new(outputs));
        }
        if !process::is_alive(pid, start) {
            return Err(Error::failed(format!(
                "process {pid} of the service `{}` is no longer running; run `pulumi refresh` so that the next \
                 `pulumi up` starts a new one",
                req.name
            )));
        }
        let check = readiness(&req.news)
            .map_err(bad)?
            .ok_or_else(|| Error::InvalidRequest("a readiness check is required".into()))?;
        let within = ready_within(ctx, &req.news)?;
        ctx.log().info(format!(
            "checking process {pid} for readiness ({})",
            check.describe()
        ));
        match wait_ready(pid, start, None, &check, within, ctx.cancelled()).await {
            Outcome::Ready => Ok(UpdateResponse::new(outputs)),
            Outcome::NotReady(reason) => {
                let tail = log_tail(log_file(root, &req.news)?.as_ref(), secret(&req.news));
                Err(not_ready(pid, &check, within, reason, tail, outputs))
            }
            Outcome::Exited(reason) => Err(Error::failed(format!(
                "the service `{}` stopped: {reason}",
                req.name
            ))),
            Outcome::Cancelled => Err(Error::Cancelled(format!(
                "the readiness check of `{}` was cancelled; process {pid} keeps running",
                req.name
            ))),
        }
    }

    pub(crate) async fn delete(
        &self,
        ctx: &Context,
        root: &Root,
        req: DeleteRequest,
    ) -> Result<()> {
        let (pid, start) = identity(&req.id, &req.properties)?;
        // A live process with another start time is not ours: the pid was reused.
        let reused = process::stat(pid).is_some_and(|s| start.is_some_and(|t| t != s.start_ticks));
        if !reused {
            let stopped = process::stop_group(pid, process::STOP_GRACE)
                .await
                .map_err(|e| {
                    Error::failed(format!("cannot stop process {pid} of `{}`: {e}", req.name))
                })?;
            ctx.log().info(format!("process {pid}: {stopped:?}"));
        }
        if let Some(log) = log_file(root, &req.properties)? {
            crate::fs::remove_file(&log)?;
        }
        Ok(())
    }
}
