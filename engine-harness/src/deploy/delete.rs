//! The delete step: one resource leaves the stack. `destroy`, the removals after `up`, the old
//! copies of replacements, a delete-before-replace and `refresh`'s read-deletes all end here.

use super::Ctx;
use super::hooks::{self, HookSubject};
use super::step::{Op, Report, Status};
use crate::Error;
use crate::display::failure_message;
use crate::monitor::hooks::HookKind;
use crate::plugin::{CallError, Plugin, Recorded, Target};
use crate::state::{Key, OperationType, Resource};
use std::sync::Arc;
use std::time::Instant;

/// Why a resource leaves the state without a provider call, when it does.
fn state_only(r: &Resource, owner_deleted: bool) -> Option<String> {
    if r.retain_on_delete {
        Some("retained (retainOnDelete): dropped from state, not deleted".into())
    } else if r.external {
        Some("read with `get`, not managed here: dropped from state, not deleted".into())
    } else if owner_deleted {
        Some(format!(
            "deleted with {} (deletedWith): dropped from state",
            crate::display::short_name(&r.deleted_with)
        ))
    } else {
        None
    }
}

/// Deletes `r`, which leaves the stack (`owner_deleted`: the resource its `deletedWith` names
/// is deleted in this operation too, which takes this one with it). False when it failed.
pub(super) async fn delete_step(
    ctx: &Arc<Ctx>,
    r: &Resource,
    owner_deleted: bool,
) -> Result<bool, Error> {
    let t0 = Instant::now();
    let op = if r.delete {
        Op::DeleteReplaced
    } else {
        Op::Delete
    };
    let report =
        Report::new(op, &r.urn, &r.type_token, Status::Failed, t0).inputs(Some(&r.inputs), None);
    // Every delete step runs the delete hooks, the before-hooks first of all (Pulumi's
    // `DeleteStep.Apply`); in a preview only the `onDryRun` ones.
    let subject = HookSubject {
        new: None,
        old: Some(r),
    };
    if let Err(msg) = hooks::before(ctx, HookKind::BeforeDelete, &subject).await {
        ctx.failed(report, msg, "");
        return Ok(false);
    }
    let deleted = delete_unhooked(ctx, r, owner_deleted, op, report, t0).await?;
    if deleted {
        hooks::after(ctx, HookKind::AfterDelete, &subject).await;
    }
    Ok(deleted)
}

/// [`delete_step`] between its hooks.
async fn delete_unhooked(
    ctx: &Arc<Ctx>,
    r: &Resource,
    owner_deleted: bool,
    op: Op,
    report: Report<'_>,
    t0: Instant,
) -> Result<bool, Error> {
    if r.protect && !r.delete {
        let msg = format!(
            "it is protected; set `protect: false` in the program and run `up` before deleting it (URN {})",
            r.urn
        );
        ctx.failed(report, msg, "");
        return Ok(false);
    }
    if ctx.preview {
        ctx.report(Report {
            status: Status::Planned,
            ..report
        });
        return Ok(true);
    }
    let why = state_only(r, owner_deleted);
    if why.is_some() || !r.custom || r.type_token.starts_with("pulumi:providers:") {
        // A component or a provider resource has nothing real to delete.
        return forget(ctx, r, op, t0, why).await;
    }
    let plugin = match ctx.providers.for_state(r).await {
        Ok(h) => h.plugin,
        Err(e) => {
            ctx.failed(report, e, "");
            return Ok(false);
        }
    };
    ctx.started(op, &r.urn);
    match provider_delete_call(ctx, &plugin, r, vec![r.key()]).await? {
        Ok(()) => {
            ctx.report(Report {
                status: Status::Ok,
                ..report
            });
            Ok(true)
        }
        Err(msg) => {
            ctx.failed(report, failure_message("Delete", &msg), "");
            Ok(false)
        }
    }
}

/// Drops `r` from the state without a provider call, showing the step as `op` with `message`.
pub(super) async fn forget(
    ctx: &Arc<Ctx>,
    r: &Resource,
    op: Op,
    t0: Instant,
    message: Option<String>,
) -> Result<bool, Error> {
    if !ctx.preview {
        ctx.journal.write(vec![], vec![r.key()]).await?;
    }
    let mut report = Report::new(op, &r.urn, &r.type_token, ctx.done(), t0);
    report.message = message;
    ctx.report(report);
    Ok(true)
}

/// The provider's Delete of `r`, journaled: the operation is recorded before the call, and
/// after it `remove` leaves the state. `Ok(Err(_))` = the provider failed (the pending
/// operation stays when its outcome is unknown), with the provider's message.
pub(super) async fn provider_delete(
    ctx: &Arc<Ctx>,
    plugin: &Plugin,
    r: &Resource,
    remove: Vec<Key>,
) -> Result<Result<(), String>, Error> {
    let subject = HookSubject {
        new: None,
        old: Some(r),
    };
    if let Err(msg) = hooks::before(ctx, HookKind::BeforeDelete, &subject).await {
        return Ok(Err(msg));
    }
    let deleted = provider_delete_call(ctx, plugin, r, remove).await?;
    if deleted.is_ok() {
        hooks::after(ctx, HookKind::AfterDelete, &subject).await;
    }
    Ok(deleted)
}

/// [`provider_delete`] without the delete hooks (the caller runs them), with the error hooks.
async fn provider_delete_call(
    ctx: &Arc<Ctx>,
    plugin: &Plugin,
    r: &Resource,
    remove: Vec<Key>,
) -> Result<Result<(), String>, Error> {
    let subject = HookSubject {
        new: None,
        old: Some(r),
    };
    let op = ctx.journal.begin(OperationType::Deleting, r).await?;
    let timeout = r
        .custom_timeouts
        .as_ref()
        .and_then(|t| t["delete"].as_f64())
        .unwrap_or(0.0);
    let target = Target {
        urn: &r.urn,
        name: r.name(),
        ty: &r.type_token,
    };
    let deleted = hooks::with_error_hooks(ctx, &subject, "delete", || {
        plugin.delete(target, Recorded::of(r), timeout)
    })
    .await;
    match deleted {
        Ok(()) => {
            ctx.journal.end(Some(op), vec![], remove).await?;
            Ok(Ok(()))
        }
        Err(e) => {
            let unknown = matches!(
                e,
                CallError::Failed {
                    outcome_unknown: true,
                    ..
                }
            );
            if !unknown {
                ctx.journal.end(Some(op), vec![], vec![]).await?;
            }
            Ok(Err(e.to_string()))
        }
    }
}
