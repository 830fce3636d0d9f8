//! A Python or Node.js program as a source of registrations: the engine serves the resource
//! monitor, runs the program with its language SDK, and answers each of the SDK's requests
//! through [`register`], [`read_step`] and [`invoke`], the functions the YAML evaluator uses.

use super::Ctx;
use super::sink::{self, ShutdownGate};
use crate::Error;
use crate::language::{self, OutputLine, RunRequest, Stream};
use crate::monitor::RunningMonitor;
use crate::program::Project;
use crate::value;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The configuration as the SDKs read it: `PULUMI_CONFIG` (`namespace:key` to text, objects as
/// JSON) and the keys that are secret. Secrets are given to the program in clear, as Pulumi's
/// language hosts do; the SDK keeps them secret.
pub(super) fn program_config(project: &Project) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let mut all = Vec::new();
    for (k, v) in &project.config {
        all.push((format!("{}:{k}", project.name), v));
    }
    for (pkg, m) in &project.provider_config {
        for (k, v) in m {
            all.push((format!("{pkg}:{k}"), v));
        }
    }
    config_text(all)
}

/// Config values as text for a program or a provider, with the keys that are secret.
pub(super) fn config_text<'a>(
    values: impl IntoIterator<Item = (String, &'a Json)>,
) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let mut config = BTreeMap::new();
    let mut secret_keys = BTreeSet::new();
    let mut add = |key: String, v: &Json| {
        let (plain, secret) = value::unwrap_secrets(v);
        let text = match plain {
            Json::String(s) => s,
            other => other.to_string(),
        };
        if secret {
            secret_keys.insert(key.clone());
        }
        config.insert(key, text);
    };
    for (k, v) in values {
        add(k, v);
    }
    (config, secret_keys)
}

/// Runs the program against a monitor served by this engine, then `finish` when it succeeded
/// (while it waits in `SignalAndWaitForShutdown`, when its SDK does, so that its callbacks are
/// still served); false when it (or a step it asked for) failed.
pub(super) async fn run(
    ctx: &Arc<Ctx>,
    parallel: usize,
    interrupt: &CancellationToken,
    finish: impl AsyncFnOnce() -> Result<(), Error>,
) -> Result<bool, Error> {
    let project = &ctx.project;
    let gate = Arc::new(ShutdownGate::default());
    let monitor: RunningMonitor = sink::serve(ctx, interrupt, gate.clone()).await?;
    let display = ctx.display.clone();
    let (config, secret_keys) = program_config(project);
    let mut request = RunRequest::new(project.info.clone(), &project.stack);
    request.dry_run = ctx.preview;
    request.parallel = u32::try_from(parallel).unwrap_or(u32::MAX);
    request.config = config;
    request.secret_keys = secret_keys;
    request.interrupt = interrupt.clone();
    request.output = Arc::new(move |line: OutputLine| {
        let severity = match line.stream {
            Stream::Setup => "info",
            Stream::Stdout => "info",
            Stream::Stderr => "warning",
        };
        display.log(severity, line.text);
    });
    let mut finish = Some(finish);
    let mut finished = None;
    let result = {
        let program = language::run(&request, &monitor);
        tokio::pin!(program);
        tokio::select! {
            r = &mut program => r,
            _ = gate.signalled() => {
                if !ctx.any_failed() && !interrupt.is_cancelled()
                    && let Some(f) = finish.take()
                {
                    finished = Some(f().await);
                }
                gate.release();
                program.await
            }
        }
    };
    drop(monitor);
    if let Some(Err(e)) = finished {
        return Err(e);
    }
    if let Some(e) = ctx.fatal.lock().ok().and_then(|mut f| f.take()) {
        return Err(e);
    }
    if let Some(e) = ctx.providers.take_fatal() {
        return Err(e);
    }
    match result {
        Ok(()) if !ctx.any_failed() && !interrupt.is_cancelled() => {
            // When the SDK did not wait for the engine, what follows the program runs now.
            if let Some(f) = finish.take() {
                f().await?;
            }
            Ok(!ctx.any_failed())
        }
        Ok(()) => Ok(!ctx.any_failed()),
        Err(e) => {
            if ctx.any_failed() {
                // The program failed because a step it asked for did: that step's error says it.
                return Ok(false);
            }
            match e {
                language::LanguageError::ProgramFailed { .. } => {
                    ctx.fail(e.to_string());
                    Ok(false)
                }
                other => Err(Error::Language(other)),
            }
        }
    }
}
