//! `destroy`, and deleting what the program no longer declares.

use super::Ctx;
use super::delete::delete_step;
use super::hooks::{bound_delete_hooks, has_delete_hooks};
use super::schedule::schedule_steps;
use crate::Error;
use crate::display::Event;
use crate::state::{Key, Resource};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Deletes `doomed` in reverse dependency order. A resource whose `deletedWith` names another
/// resource deleted here is not deleted on its own: its owner's deletion takes it along, so it
/// only leaves the state (in the usual order: a child before its parent).
pub(super) async fn delete_all(
    ctx: &Arc<Ctx>,
    doomed: Vec<Resource>,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<(), Error> {
    if doomed.is_empty() {
        return Ok(());
    }
    let mut by_urn: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in doomed.iter().enumerate() {
        by_urn.entry(r.urn.as_str()).or_default().push(i);
    }
    // The doomed children of each doomed resource: a dependency on a component is one on its
    // whole subtree (as in Pulumi's engine), so what depends on a component is deleted before
    // any of the component's descendants.
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in doomed.iter().enumerate() {
        if !r.parent.is_empty() {
            children.entry(r.parent.as_str()).or_default().push(i);
        }
    }
    let subtree = |urn: &str| -> Vec<usize> {
        let mut out: Vec<usize> = by_urn.get(urn).cloned().unwrap_or_default();
        let mut stack = vec![urn.to_string()];
        let mut seen = HashSet::new();
        while let Some(u) = stack.pop() {
            if !seen.insert(u.clone()) {
                continue;
            }
            for &c in children.get(u.as_str()).into_iter().flatten() {
                out.push(c);
                stack.push(doomed[c].urn.clone());
            }
        }
        out
    };
    // i waits for every doomed resource that depends on it.
    let mut deps = vec![Vec::new(); doomed.len()];
    for (j, r) in doomed.iter().enumerate() {
        // A resource goes before what it depends on (and everything under it), its parent and
        // its provider.
        let provider = r.provider.rsplit_once("::").map(|(u, _)| u.to_string());
        let parent = (!r.parent.is_empty()).then(|| r.parent.clone());
        let mut before: Vec<usize> = Vec::new();
        for d in r.dependencies.iter() {
            let under = subtree(d);
            if under.contains(&j) {
                // A resource inside the component it depends on waits for the component only.
                before.extend(by_urn.get(d.as_str()).into_iter().flatten().copied());
            } else {
                before.extend(under);
            }
        }
        for d in provider.iter().chain(parent.iter()) {
            before.extend(by_urn.get(d.as_str()).into_iter().flatten().copied());
        }
        for i in before {
            if i != j && !deps[i].contains(&j) {
                deps[i].push(j);
            }
        }
    }
    let live: HashSet<&str> = doomed
        .iter()
        .filter(|r| !r.delete)
        .map(|r| r.urn.as_str())
        .collect();
    let with_owner: Vec<bool> = doomed
        .iter()
        .map(|r| !r.deleted_with.is_empty() && live.contains(r.deleted_with.as_str()))
        .collect();
    let doomed = Arc::new(doomed);
    schedule_steps(ctx, deps, parallel, interrupt, |ctx, i| {
        let doomed = doomed.clone();
        let owner_deleted = with_owner[i];
        async move { delete_step(&ctx, &doomed[i], owner_deleted).await }
    })
    .await?;
    Ok(())
}

/// Deletes every resource of the state (those the run may touch), then the providers when
/// nothing else is left.
pub(super) async fn destroy(
    ctx: &Arc<Ctx>,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<(), Error> {
    let doomed: Vec<Resource> = ctx.journal.with_snapshot(|snap| {
        snap.sorted()
            .into_iter()
            .filter(|r| !r.type_token.starts_with("pulumi:"))
            .cloned()
            .collect()
    });
    let (doomed, unlisted) = ctx.chosen_for_destroy(doomed);
    if !unlisted.is_empty() {
        // Nothing is deleted: the user hears of every resource to add at once.
        for urn in unlisted {
            let msg = format!(
                "Resource '{urn}' will be destroyed but was not specified in --target list.\nEither include resource in --target list or pass --target-dependents to proceed."
            );
            ctx.display.emit(Event::Log {
                severity: "error".into(),
                urn: Some(urn),
                message: msg.clone(),
            });
            ctx.fail(msg);
        }
        return Ok(());
    }
    refuse_delete_hooks(&doomed)?;
    delete_all(ctx, doomed, parallel, interrupt).await?;
    let left: Option<Vec<Key>> = ctx.journal.with_snapshot(|snap| {
        let left = snap.sorted();
        left.iter()
            .all(|r| r.type_token.starts_with("pulumi:"))
            .then(|| left.iter().map(|r| r.key()).collect())
    });
    if let Some(left) = left {
        ctx.journal.write(vec![], left).await?;
    }
    Ok(())
}

/// `destroy` runs no program, so no hook is registered: a resource bound to delete hooks cannot
/// be destroyed with them, and Pulumi refuses the destroy (before deleting anything) rather
/// than skip them.
fn refuse_delete_hooks(doomed: &[Resource]) -> Result<(), Error> {
    let bound: Vec<String> = doomed
        .iter()
        .filter(|r| has_delete_hooks(r))
        .map(|r| format!("{} (hooks: {})", r.urn, bound_delete_hooks(r).join(", ")))
        .collect();
    if bound.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "resources have delete hooks, which need the program, and destroy does not run it: {}. Remove the hooks from the program and run `up` first, or remove the resources from the program and run `up` (which runs their delete hooks)",
        bound.join("; ")
    )))
}
