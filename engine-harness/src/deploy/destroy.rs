//! `destroy`, and deleting what the program no longer declares.

use super::Ctx;
use super::delete::delete_step;
use super::schedule::schedule_steps;
use crate::Error;
use crate::state::{Resource, Snapshot};
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
    // i waits for every doomed resource that depends on it.
    let mut deps = vec![Vec::new(); doomed.len()];
    for (j, r) in doomed.iter().enumerate() {
        // A resource goes before what it depends on, its parent and its provider.
        let provider = r.provider.rsplit_once("::").map(|(u, _)| u.to_string());
        let parent = (!r.parent.is_empty()).then(|| r.parent.clone());
        for d in r
            .dependencies
            .iter()
            .chain(provider.iter())
            .chain(parent.iter())
        {
            for &i in by_urn.get(d.as_str()).into_iter().flatten() {
                if i != j {
                    deps[i].push(j);
                }
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

pub(super) async fn destroy(
    ctx: &Arc<Ctx>,
    snap: &Snapshot,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<(), Error> {
    let doomed: Vec<Resource> = snap
        .resources()
        .into_iter()
        .filter(|r| !r.type_token.starts_with("pulumi:"))
        .collect();
    let doomed = ctx.allowed_records(doomed);
    delete_all(ctx, doomed, parallel, interrupt).await?;
    let left = ctx.journal.snapshot().resources();
    if left.iter().all(|r| r.type_token.starts_with("pulumi:")) {
        ctx.journal
            .write(vec![], left.iter().map(Resource::key).collect())
            .await?;
    }
    Ok(())
}
