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
//! Outputs ([`CommandState`]): the inputs, plus `stdout` and `stderr` (trailing newlines
//! removed, at most 1 MiB each). When a script or an environment value is secret, the SDK
//! keeps both outputs secret, and a failure message does not quote the command's output.
//!
//! # Timeouts, cancellation and stray processes
//!
//! Each script runs in its own process group. When the user's custom timeout
//! (`customTimeouts`, which the SDK hands over as [`Context::timeout`]) runs out, or the engine
//! cancels the operation ([`Context::cancelled`]: Ctrl-C on `pulumi up`), the whole group gets
//! SIGTERM, then SIGKILL after 3 s, and the operation fails with [`Error::Timeout`](provider_sdk::Error::Timeout) or
//! [`Error::Cancelled`](provider_sdk::Error::Cancelled) saying so. When a script finishes, anything it left running in the
//! background is killed too: a `Command` never leaks processes (use a [`crate::service`] for
//! something meant to keep running).
//!
//! A script that exits non-zero fails the operation with its exit status and the end of its
//! stderr; a failed Create leaves no resource in the state.
//!
//! # How it is written
//!
//! A typed [`Resource`] whose **diff** refines the SDK's structural diff: with no `update`
//! script, a change to what `create` runs must replace the resource. A command has no live
//! state to drift from, so it has no `read` (the SDK keeps the recorded state on refresh).

use std::collections::BTreeMap;

use provider_sdk::ops::{CheckFailure, DiffResponse};
use provider_sdk::typed::{
    CreateArgs, Created, DeleteArgs, DiffArgs, Resource, UpdateArgs, resource,
};
use provider_sdk::{Context, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::process::{self, Script};
use crate::root;

/// The type token.
pub const TYPE: &str = "local:index:Command";

/// The inputs of a [`Command`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandArgs {
    /// The shell script run when the resource is created.
    pub create: String,
    /// The shell script run on update; without it, changes replace the resource.
    pub update: Option<String>,
    /// The shell script run when the resource is deleted.
    pub delete: Option<String>,
    /// Environment variables for the scripts (values may be secrets).
    pub environment: Option<BTreeMap<String, String>>,
    /// The working directory, relative to `local:root` (default: the root).
    pub dir: Option<String>,
    /// Values whose change replaces the resource.
    pub triggers: Option<Vec<serde_json::Value>>,
}

/// Shell commands and what the last one printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandState {
    /// The create script.
    pub create: String,
    /// The update script.
    pub update: Option<String>,
    /// The delete script.
    pub delete: Option<String>,
    /// Environment variables for the scripts.
    pub environment: Option<BTreeMap<String, String>>,
    /// The working directory.
    pub dir: Option<String>,
    /// Values whose change replaces the resource.
    pub triggers: Option<Vec<serde_json::Value>>,
    /// What the last script printed on stdout (trailing newlines removed).
    pub stdout: String,
    /// What the last script printed on stderr (trailing newlines removed).
    pub stderr: String,
}

impl CommandArgs {
    fn state(self, out: process::Output) -> CommandState {
        CommandState {
            create: self.create,
            update: self.update,
            delete: self.delete,
            environment: self.environment,
            dir: self.dir,
            triggers: self.triggers,
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }
}

/// The `Command` resource.
#[derive(Debug, Default)]
pub struct Command;

impl Command {
    /// `script` ready to run with the resource's environment and directory, plus `extra`
    /// variables. A failure message quotes the command's stderr only when no input of the
    /// resource is secret ([`Context::inputs_are_secret`]) and there is no `environment`, the
    /// usual carrier of secrets: what a secret script prints may be the secret, or made from it.
    fn script(
        ctx: &Context,
        script: &str,
        env: &Option<BTreeMap<String, String>>,
        dir: &Option<String>,
        extra: BTreeMap<String, String>,
    ) -> Result<Script> {
        let root = root::configured(ctx)?;
        let dir = match dir {
            Some(d) => root.resolve("dir", d)?,
            None => root.dir().to_path_buf(),
        };
        let mut vars = env.clone().unwrap_or_default();
        vars.extend(extra);
        let secret = ctx.inputs_are_secret() || env.as_ref().is_some_and(|e| !e.is_empty());
        Ok(Script {
            script: script.to_string(),
            dir,
            env: vars,
            secret,
        })
    }
}

/// `PULUMI_COMMAND_STDOUT` and `PULUMI_COMMAND_STDERR` from the recorded outputs.
fn last_output(state: &CommandState) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("PULUMI_COMMAND_STDOUT".to_string(), state.stdout.clone()),
        ("PULUMI_COMMAND_STDERR".to_string(), state.stderr.clone()),
    ])
}

async fn run(ctx: &Context, what: String, script: &Script) -> Result<process::Output> {
    process::run(&what, script, ctx.timeout(), ctx.cancelled()).await
}

/// Whether the diff path `path` is under the top-level property `key`.
fn under(path: &str, key: &str) -> bool {
    path.strip_prefix(key)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

#[resource]
impl Resource for Command {
    type Inputs = CommandArgs;
    type Outputs = CommandState;
    const REPLACE_ON_CHANGES: &'static [&'static str] = &["triggers"];

    async fn check(&self, _ctx: &Context, inputs: &mut CommandArgs) -> Result<Vec<CheckFailure>> {
        let mut failures = Vec::new();
        if inputs.create.trim().is_empty() {
            failures.push(CheckFailure::new(
                "create",
                "is empty; give the shell script to run on create",
            ));
        }
        Ok(failures)
    }

    async fn diff(
        &self,
        _ctx: &Context,
        args: DiffArgs<CommandArgs, CommandState>,
    ) -> Result<DiffResponse> {
        let has_update = args.news.as_ref().is_some_and(|n| n.update.is_some());
        if has_update {
            return Ok(args.default);
        }
        // Without an update script, the only way to run a changed create script is to replace.
        let mut detailed = args.default.detailed_diff.clone();
        for (path, change) in detailed.iter_mut() {
            if ["create", "environment", "dir"]
                .iter()
                .any(|k| under(path, k))
            {
                change.kind = change.kind.replacing();
            }
        }
        Ok(DiffResponse::from_detailed(detailed))
    }

    async fn create(
        &self,
        ctx: &Context,
        args: CreateArgs<CommandArgs>,
    ) -> Result<Created<CommandState>> {
        let inputs = args.inputs;
        let script = Self::script(
            ctx,
            &inputs.create,
            &inputs.environment,
            &inputs.dir,
            BTreeMap::new(),
        )?;
        let out = run(
            ctx,
            format!("the create command of `{}`", args.name),
            &script,
        )
        .await?;
        let id = format!("command-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        Ok(Created::new(id, inputs.state(out)))
    }

    async fn update(
        &self,
        ctx: &Context,
        args: UpdateArgs<CommandArgs, CommandState>,
    ) -> Result<CommandState> {
        let news = args.news;
        let only_delete_changed = args.old_inputs.as_ref().is_some_and(|old| {
            let mut old = old.clone();
            old.delete = news.delete.clone();
            old == news
        });
        match &news.update {
            Some(update) if !only_delete_changed => {
                let script = Self::script(
                    ctx,
                    update,
                    &news.environment,
                    &news.dir,
                    last_output(&args.state),
                )?;
                let out = run(
                    ctx,
                    format!("the update command of `{}`", args.name),
                    &script,
                )
                .await?;
                Ok(news.state(out))
            }
            // Nothing to run: keep the last output.
            _ => {
                let out = process::Output {
                    stdout: args.state.stdout.clone(),
                    stderr: args.state.stderr.clone(),
                };
                Ok(news.state(out))
            }
        }
    }

    async fn delete(&self, ctx: &Context, args: DeleteArgs<CommandState>) -> Result<()> {
        let state = &args.state;
        if let Some(delete) = &state.delete {
            let script = Self::script(
                ctx,
                delete,
                &state.environment,
                &state.dir,
                last_output(state),
            )?;
            run(
                ctx,
                format!("the delete command of `{}`", args.name),
                &script,
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::under;

    #[test]
    fn paths_under_a_property() {
        assert!(under("environment", "environment"));
        assert!(under("environment.NAME", "environment"));
        assert!(under("triggers[0]", "triggers"));
        assert!(!under("environments", "environment"));
    }
}
