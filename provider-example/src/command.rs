//! `local:index:Command`: shell commands run on create, update and delete.
//!
//! # Using it
//!
//! ```yaml
//! resources:
//!   build:
//!     type: local:index:Command
//!     properties:
//!       create: make build && echo built
//!       update: make build && echo rebuilt   # optional
//!       delete: make clean                   # optional
//!       dir: src                             # relative to `local:root` (the default)
//!       environment:
//!         PROFILE: release
//!     options:
//!       customTimeouts: { create: 5m }
//! outputs:
//!   log: ${build.stdout}
//! ```
//!
//! | input | meaning |
//! |---|---|
//! | `create` | the script run by Create (`/bin/sh -c`); required. |
//! | `update` | the script run by Update. Without it, a change to `create`, `environment` or `dir` **replaces** the resource (delete command, then create command). |
//! | `delete` | the script run by Delete. Update and Delete see the last output in `PULUMI_COMMAND_STDOUT` and `PULUMI_COMMAND_STDERR`. |
//! | `environment` | variables added to the provider's environment; values may be secrets. |
//! | `dir` | the working directory, relative to `local:root`; default the root itself. |
//! | `triggers` | any values; a change replaces the resource (to re-run `create` on demand). |
//!
//! Outputs: the inputs, plus `stdout` and `stderr` (trailing newlines removed, at most 1 MiB
//! each). When a script or an environment value is secret, both outputs are secret, and a
//! failure message does not quote them.
//!
//! # Timeouts, cancellation and stray processes
//!
//! Each script runs in its own process group. When the user's custom timeout
//! (`customTimeouts`, which the SDK hands over as [`Context::timeout`]) runs out, or the engine
//! cancels the operation ([`Context::cancelled`]: Ctrl-C on `pulumi up`), the whole group gets
//! SIGTERM, then SIGKILL after 3 s, and the operation fails with [`Error::Timeout`] or
//! [`Error::Cancelled`] saying so. When a script finishes, anything it left running in the
//! background is killed too: a `Command` never leaks processes (use a
//! [`crate::service`] for something meant to keep running).
//!
//! A script that exits non-zero fails the operation with its exit status and the end of its
//! stderr; a failed Create leaves no resource in the state. A command has no live state, so
//! Read keeps what was recorded.

use std::collections::BTreeMap;

use provider_sdk::ops::*;
use provider_sdk::{Context, Error, PropertyMap, PropertyValue, Result, diff_top_level};

use crate::process::{self, Script};
use crate::props::{self, maybe_secret};
use crate::root::Root;

/// The type token.
pub const TYPE: &str = "local:index:Command";

const INPUTS: &[&str] = &[
    "create",
    "update",
    "delete",
    "environment",
    "dir",
    "triggers",
];
const COMPUTED: &[&str] = &["stdout", "stderr"];

/// The `Command` resource.
#[derive(Debug, Default)]
pub struct Command;

fn bad(p: props::Problem) -> Error {
    Error::InvalidRequest(p.reason)
}

/// The script under `key`, ready to run, or `None` when the inputs have none.
fn script(
    root: &Root,
    inputs: &PropertyMap,
    key: &str,
    extra: BTreeMap<String, String>,
) -> Result<Option<Script>> {
    let Some(text) = props::string(inputs, key).map_err(bad)? else {
        return Ok(None);
    };
    let env = props::string_map(inputs, "environment").map_err(bad)?;
    let dir = match props::string(inputs, "dir").map_err(bad)? {
        Some(d) => root.resolve("dir", &d.value)?,
        None => root.dir().to_path_buf(),
    };
    let secret = secret_inputs(inputs) || text.secret || env.secret;
    let mut vars = env.value;
    vars.extend(extra);
    Ok(Some(Script {
        script: text.value,
        dir,
        env: vars,
        secret,
    }))
}

fn secret_inputs(inputs: &PropertyMap) -> bool {
    ["create", "update", "delete", "environment"]
        .iter()
        .any(|k| inputs.get(*k).is_some_and(PropertyValue::contains_secrets))
}

/// `PULUMI_COMMAND_STDOUT` and `PULUMI_COMMAND_STDERR` from the recorded outputs.
fn last_output(state: &PropertyMap) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for (key, var) in [
        ("stdout", "PULUMI_COMMAND_STDOUT"),
        ("stderr", "PULUMI_COMMAND_STDERR"),
    ] {
        if let Some(s) = state.get(key).and_then(|v| v.unwrap_secret().0.as_str()) {
            vars.insert(var.to_string(), s.to_string());
        }
    }
    vars
}

async fn run(ctx: &Context, what: String, script: &Script) -> Result<process::Output> {
    process::run(&what, script, ctx.timeout(), ctx.cancelled()).await
}

fn outputs(inputs: &PropertyMap, out: process::Output, secret: bool) -> PropertyMap {
    let mut props = inputs.clone();
    props.insert("stdout".into(), maybe_secret(out.stdout, secret));
    props.insert("stderr".into(), maybe_secret(out.stderr, secret));
    props
}

fn unknown_outputs(inputs: &PropertyMap) -> PropertyMap {
    let mut out = inputs.clone();
    for key in COMPUTED {
        out.insert(key.to_string(), PropertyValue::Unknown(Default::default()));
    }
    out
}

impl Command {
    pub(crate) fn check(&self, req: CheckRequest) -> Result<CheckResponse> {
        let news = &req.news;
        let mut failures = props::unknown_keys(news, "Command", INPUTS);
        if let Err(p) = props::required_string(
            news,
            "create",
            "the shell script to run when the resource is created",
        ) {
            failures.push(p);
        }
        for key in ["update", "delete", "dir"] {
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
        let has_update = req
            .news
            .get("update")
            .is_some_and(|v| !matches!(v.unwrap_secret().0, PropertyValue::Null));
        let replacing: &[&str] = if has_update {
            &["triggers"]
        } else {
            &["create", "environment", "dir", "triggers"]
        };
        Ok(diff_top_level(&olds, &req.news, replacing))
    }

    pub(crate) async fn create(
        &self,
        ctx: &Context,
        root: &Root,
        req: CreateRequest,
    ) -> Result<CreateResponse> {
        if req.preview {
            return Ok(CreateResponse::new("", unknown_outputs(&req.properties)));
        }
        let script = script(root, &req.properties, "create", BTreeMap::new())?
            .ok_or_else(|| Error::InvalidRequest("`create` is required".into()))?;
        let out = run(
            ctx,
            format!("the create command of `{}`", req.name),
            &script,
        )
        .await?;
        let id = format!("command-{}", rand::random::<u64>() % 1_000_000_000_000);
        Ok(CreateResponse::new(
            id,
            outputs(&req.properties, out, script.secret),
        ))
    }

    pub(crate) async fn read(
        &self,
        _ctx: &Context,
        _root: &Root,
        req: ReadRequest,
    ) -> Result<ReadResponse> {
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
        if req.preview {
            return Ok(UpdateResponse::new(unknown_outputs(&req.news)));
        }
        let olds = if req.old_inputs.is_empty() {
            props::inputs_of(&req.olds, COMPUTED)
        } else {
            req.old_inputs.clone()
        };
        let only_delete_changed = INPUTS
            .iter()
            .filter(|k| **k != "delete")
            .all(|k| olds.get(*k) == req.news.get(*k));
        match script(root, &req.news, "update", last_output(&req.olds))? {
            Some(script) if !only_delete_changed => {
                let out = run(
                    ctx,
                    format!("the update command of `{}`", req.name),
                    &script,
                )
                .await?;
                Ok(UpdateResponse::new(outputs(&req.news, out, script.secret)))
            }
            _ => {
                // Nothing to run: keep the last output.
                let mut out = req.news.clone();
                for key in COMPUTED {
                    if let Some(v) = req.olds.get(*key) {
                        out.insert(key.to_string(), v.clone());
                    }
                }
                Ok(UpdateResponse::new(out))
            }
        }
    }

    pub(crate) async fn delete(
        &self,
        ctx: &Context,
        root: &Root,
        req: DeleteRequest,
    ) -> Result<()> {
        let inputs = if req.old_inputs.is_empty() {
            props::inputs_of(&req.properties, COMPUTED)
        } else {
            req.old_inputs.clone()
        };
        if let Some(script) = script(root, &inputs, "delete", last_output(&req.properties))? {
            run(
                ctx,
                format!("the delete command of `{}`", req.name),
                &script,
            )
            .await?;
        }
        Ok(())
    }
}
