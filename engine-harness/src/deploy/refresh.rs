//! `refresh`: reading each resource back from its provider.

use super::Ctx;
use super::delete::forget;
use super::schedule::schedule_steps;
use super::step::{Op, Report, Status};
use crate::Error;
use crate::display::{DiffLine, failure_message};
use crate::plugin::{CallError, Recorded, Target};
use crate::state::{self, Resource};
use crate::value::{self, PropertyMap};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

use super::pending::differing_inputs;
use super::unsealable;

/// Reads back every custom resource of the state (those the run may touch).
pub(super) async fn refresh(
    ctx: &Arc<Ctx>,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<(), Error> {
    let candidates = ctx.journal.with_snapshot(|snap| {
        snap.sorted()
            .into_iter()
            .filter(|r| r.custom && !r.type_token.starts_with("pulumi:"))
            .cloned()
            .collect()
    });
    let targets: Arc<Vec<Resource>> = Arc::new(ctx.allowed_records(candidates));
    let deps = vec![Vec::new(); targets.len()];
    schedule_steps(ctx, deps, parallel, interrupt, |ctx, i| {
        let targets = targets.clone();
        async move { refresh_one(&ctx, &targets[i]).await }
    })
    .await?;
    Ok(())
}

pub(super) async fn refresh_one(ctx: &Arc<Ctx>, r: &Resource) -> Result<bool, Error> {
    let t0 = Instant::now();
    let ty = r.type_token.as_str();
    let plugin = match ctx.providers.for_state(r).await {
        Ok(h) => h.plugin,
        Err(e) => {
            ctx.fail(format!("{} ({ty}): {e}", r.name()));
            return Ok(false);
        }
    };
    let (id, outputs, inputs, init_errors) = match plugin
        .read(
            Target {
                urn: &r.urn,
                name: r.name(),
                ty,
            },
            Recorded::of(r),
        )
        .await
    {
        Ok((id, out, ins)) => (id, out, ins, vec![]),
        Err(CallError::InitFailed {
            id,
            outputs,
            inputs,
            reasons,
        }) => (id, outputs, inputs, reasons),
        Err(e) => {
            let msg = failure_message("Read", &e.to_string());
            ctx.failed(
                Report::new(Op::Refresh, &r.urn, ty, Status::Failed, t0),
                msg,
                "",
            );
            return Ok(false);
        }
    };
    ctx.display.redactor().add_secrets_of_map(&outputs);
    if id.is_empty() {
        let gone = "the resource no longer exists; removed from state".to_string();
        return forget(ctx, r, Op::ReadDelete, t0, Some(gone)).await;
    }
    let drift = drift(&r.outputs, &outputs);
    let mut updated = r.clone();
    updated.id = id;
    updated.outputs = outputs;
    if let Some(i) = inputs {
        updated.inputs = i;
    }
    updated.init_errors = ctx.display.redactor().mask_all(&init_errors);
    let withheld = unsealable::withhold_unsealable(ctx, &mut updated.outputs);
    if let Some(why) = &withheld {
        updated.init_errors.push(why.clone());
        ctx.fail(format!("{} ({ty}): {why}", r.name()));
    }
    if updated != *r {
        updated.modified = Some(state::now_rfc3339());
        // An old copy is keyed by its id: a new id moves the entry, never duplicates it.
        let moved = if updated.key() != r.key() {
            vec![r.key()]
        } else {
            vec![]
        };
        ctx.journal.write(vec![updated], moved).await?;
    }
    let op = if drift.is_empty() {
        Op::Same
    } else {
        Op::Refresh
    };
    ctx.report(Report::new(op, &r.urn, ty, Status::Ok, t0).diff(drift));
    Ok(true)
}

/// What changed between the outputs recorded and those read, for the display.
fn drift(old: &PropertyMap, new: &PropertyMap) -> Vec<DiffLine> {
    let mut keys: BTreeSet<&String> = old.keys().collect();
    keys.extend(new.keys());
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| DiffLine {
            path: k.clone(),
            kind: match (old.contains_key(k), new.contains_key(k)) {
                (false, _) => "add".into(),
                (_, false) => "delete".into(),
                _ => "update".into(),
            },
            replace: false,
            old: old.get(k).map(value::masked),
            new: new.get(k).map(value::masked),
        })
        .collect()
}

/// A pending create to import: its operation id, the resource as the create began, the id the
/// user gives (`--import-pending-creates URN=ID`).
pub(super) struct PendingImport {
    /// The pending operation's id.
    pub(super) op: u64,
    /// The resource as its create began.
    pub(super) resource: Resource,
    /// The provider id the user says it has.
    pub(super) id: String,
    /// Record it even when what the provider reads differs from the recorded inputs.
    pub(super) despite_differences: bool,
}

/// Imports a pending create: asks the provider's Read for the given id and, when it finds the
/// resource, records it and clears the pending operation. A live resource with the same URN
/// (the old copy of an interrupted replacement) is kept as an old copy to delete.
pub(super) async fn import_pending(ctx: &Arc<Ctx>, p: &PendingImport) -> Result<bool, Error> {
    let t0 = Instant::now();
    let r = &p.resource;
    let ty = r.type_token.as_str();
    let failed = |msg: String| {
        ctx.failed(
            Report::new(Op::Import, &r.urn, ty, Status::Failed, t0),
            msg,
            "",
        );
        Ok(false)
    };
    let plugin = match ctx.providers.for_state(r).await {
        Ok(h) => h.plugin,
        Err(e) => return failed(e),
    };
    // The create never returned, so no outputs were recorded: the inputs it began with are
    // the best description of its state the provider can get.
    let mut asked = r.clone();
    asked.id = p.id.clone();
    asked.outputs = r.inputs.clone();
    let read = plugin
        .read(
            Target {
                urn: &r.urn,
                name: r.name(),
                ty,
            },
            Recorded::of(&asked),
        )
        .await;
    let (id, outputs, inputs) = match read {
        Ok((id, _, _)) if id.is_empty() => {
            return failed(format!(
                "the provider's Read found no resource with id `{}`; the pending create stays recorded. Check the id, or, if the resource does not exist, drop the record with --clear-pending",
                p.id
            ));
        }
        Ok(found) => found,
        Err(e) => {
            return failed(format!(
                "Read of id `{}`: {e}; the pending create stays recorded. If the provider cannot import this type and the resource does not exist, drop the record with --clear-pending",
                p.id
            ));
        }
    };
    // The id must name the resource this create was making: a Read of some other resource
    // the provider can read would otherwise be recorded, and later replaced or deleted.
    let differing = differing_inputs(&r.inputs, inputs.as_ref().unwrap_or(&outputs));
    if !differing.is_empty() && !p.despite_differences {
        return failed(format!(
            "the resource the provider read with id `{}` differs from the inputs the pending create began with in {}: it may be another resource, so it is not imported and the pending create stays recorded. Check the id; if it is this resource (changed since), run again with --import-despite-differences",
            p.id,
            differing
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut imported = r.clone();
    imported.id = id;
    imported.outputs = outputs;
    if let Some(i) = inputs {
        imported.inputs = i;
    }
    imported.modified = Some(state::now_rfc3339());
    let mut put = Vec::new();
    if let Some(mut live) = ctx.journal.get(&r.urn) {
        // The same id is the same real resource: the import replaces the record.
        if live.id != imported.id {
            live.delete = true;
            put.push(live);
        }
    }
    put.push(imported);
    ctx.journal.end(Some(p.op), put, vec![]).await?;
    let note = format!("pending create imported with id `{}`", p.id);
    ctx.report(Report::new(Op::Import, &r.urn, ty, Status::Ok, t0).message(note));
    Ok(true)
}
