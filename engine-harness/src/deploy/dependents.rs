//! The dependents of a resource replaced delete-before-replace, as Pulumi's step generator
//! finds them (`calculateDependentReplacements`): once the old resource is gone, what depends
//! on it may have to go too. A recorded resource of the stack not yet registered in this run
//! depends on the replaced set when its provider is in it, its `deletedWith` names one of it,
//! or one of its inputs came from one of it (`propertyDependencies`); in the last case the
//! provider's Diff, with those inputs unknown, decides whether it must be replaced. Those that
//! must are deleted before the replaced resource (most dependent first) and, when the program
//! registers them again, are created as new resources: Checked without old inputs.

use super::Ctx;
use super::delete::{forget, provider_delete};
use super::generate::decide;
use super::step::{Kind, Op, Report};
use crate::Error;
use crate::display::failure_message;
use crate::monitor::ResourceOptions;
use crate::plugin::Target;
use crate::state::Resource;
use crate::value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

/// Does `r` have to be replaced because the resources in `replaced` are? `Err` = the
/// provider's Diff failed, with its message.
async fn requires_replacement(
    ctx: &Arc<Ctx>,
    r: &Resource,
    replaced: &HashSet<String>,
) -> Result<bool, String> {
    if !r.custom || r.external || r.delete {
        return Ok(false);
    }
    let provider = r.provider.rsplit_once("::").map(|(u, _)| u).unwrap_or("");
    if replaced.contains(provider) || replaced.contains(&r.deleted_with) {
        return Ok(true);
    }
    let mut inputs = r.inputs.clone();
    let mut touched = false;
    for (key, urns) in &r.property_dependencies {
        if urns.iter().any(|u| replaced.contains(u)) && inputs.contains_key(key) {
            inputs.insert(key.clone(), value::unknown());
            touched = true;
        }
    }
    if !touched {
        return Ok(false);
    }
    let plugin = ctx.providers.for_state(r).await?.plugin;
    let opts = ResourceOptions {
        ignore_changes: r.ignore_changes.clone(),
        replace_on_changes: r.replace_on_changes.clone(),
        ..Default::default()
    };
    let target = Target {
        urn: &r.urn,
        name: r.name(),
        ty: &r.type_token,
    };
    match decide(&plugin, target, r, &inputs, &opts).await {
        Ok((kind, _)) => Ok(matches!(kind, Kind::Replace { .. })),
        Err(e) => Err(format!("Diff of dependent {}: {e}", r.urn)),
    }
}

/// The recorded resources that must be deleted (and later created anew) because `root` is
/// replaced delete-before-replace, in state (dependency) order; each is noted as recreated.
pub(super) async fn dependent_replacements(
    ctx: &Arc<Ctx>,
    root: &Resource,
) -> Result<Vec<Resource>, String> {
    let mut replaced: HashSet<String> = HashSet::from([root.urn.clone()]);
    let mut out = Vec::new();
    let after_root: Vec<Resource> = ctx.journal.with_snapshot(|snap| {
        snap.sorted()
            .into_iter()
            .skip_while(|r| r.urn != root.urn)
            .skip(1)
            .filter(|r| !ctx.is_registered(&r.urn) && !ctx.is_recreating(&r.urn))
            .cloned()
            .collect()
    });
    for r in &after_root {
        if requires_replacement(ctx, r, &replaced).await? {
            replaced.insert(r.urn.clone());
            out.push(r.clone());
        }
    }
    for r in &out {
        ctx.note_recreating(&r.urn);
    }
    Ok(out)
}

impl Ctx {
    /// Was `urn` deleted in this run as a dependent of a delete-before-replace (so that its
    /// registration is a create, Checked without old inputs)?
    pub(super) fn is_recreating(&self, urn: &str) -> bool {
        self.recreating
            .lock()
            .map(|r| r.contains(urn))
            .unwrap_or(false)
    }

    fn note_recreating(&self, urn: &str) {
        if let Ok(mut r) = self.recreating.lock() {
            r.insert(urn.to_string());
        }
    }
}

/// Deletes a dependent of a delete-before-replace before the resource it depends on (in a
/// preview: shows it planned). `Ok(Err(_))` = the provider's Delete failed (already shown).
pub(super) async fn delete_dependent(
    ctx: &Arc<Ctx>,
    r: &Resource,
    t0: Instant,
) -> Result<Result<(), String>, Error> {
    let report = || Report::new(Op::DeleteReplaced, &r.urn, &r.type_token, ctx.done(), t0);
    if ctx.preview {
        ctx.report(report());
        return Ok(Ok(()));
    }
    if r.retain_on_delete {
        let why = "retained (retainOnDelete): dropped from state, not deleted".to_string();
        forget(ctx, r, Op::DeleteReplaced, t0, Some(why)).await?;
        return Ok(Ok(()));
    }
    let plugin = match ctx.providers.for_state(r).await {
        Ok(h) => h.plugin,
        Err(e) => return Ok(Err(ctx.failed(report(), e, ""))),
    };
    ctx.started(Op::DeleteReplaced, &r.urn);
    match provider_delete(ctx, &plugin, r, vec![r.key()]).await? {
        Ok(()) => {
            ctx.report(report());
            Ok(Ok(()))
        }
        Err(msg) => Ok(Err(ctx.failed(
            report(),
            failure_message("Delete", &msg),
            "",
        ))),
    }
}
