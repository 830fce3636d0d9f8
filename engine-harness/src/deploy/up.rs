//! `up` and `preview`: run the program's source (the YAML evaluator or a program talking to
//! the resource monitor), whose registrations become steps; then delete what the program no
//! longer declares and record the stack's outputs.

use super::destroy::delete_all;
use super::register::STACK_TYPE;
use super::{Ctx, source_program, source_yaml};
use crate::Error;
use crate::program;
use crate::state::{Key, Resource};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs the program, then the deletions, then records the stack outputs. Returns the outputs.
pub(super) async fn up(
    ctx: &Arc<Ctx>,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<BTreeMap<String, Json>, Error> {
    let finish = async || delete_undeclared(ctx, parallel, interrupt).await;
    let all_ok = match ctx.project.runtime {
        program::Runtime::Yaml => {
            let ok = source_yaml::run(ctx, parallel, interrupt).await?;
            if ok && !interrupt.is_cancelled() {
                finish().await?;
            }
            ok
        }
        // A program's SDK waits (SignalAndWaitForShutdown) while the deletions run, so that
        // the delete hooks it registered can be called.
        _ => source_program::run(ctx, parallel, interrupt, finish).await?,
    };
    if !all_ok || interrupt.is_cancelled() {
        return Ok(BTreeMap::new());
    }
    let outputs: BTreeMap<String, Json> = ctx
        .stack_outputs
        .lock()
        .map(|o| o.clone().into_iter().collect())
        .unwrap_or_default();
    if !ctx.preview && !ctx.any_failed() {
        let old = ctx.journal.get(&ctx.stack_urn);
        let stack = Resource {
            urn: ctx.stack_urn.clone(),
            custom: false,
            type_token: STACK_TYPE.into(),
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            created: old.as_ref().and_then(|o| o.created.clone()),
            modified: old.as_ref().and_then(|o| o.modified.clone()),
            ..Default::default()
        };
        if old.as_ref() != Some(&stack) {
            ctx.journal.write(vec![stack], vec![]).await?;
        }
    }
    Ok(outputs)
}

/// What follows a program that succeeded: the deletions of what it no longer declares and of
/// the old copies of replaced resources, then the default providers nothing uses any more.
async fn delete_undeclared(
    ctx: &Arc<Ctx>,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<(), Error> {
    let doomed: Vec<Resource> = ctx.journal.with_snapshot(|snap| {
        snap.sorted()
            .into_iter()
            .filter(|r| r.type_token != STACK_TYPE && !is_default_provider(r))
            .filter(|r| r.delete || !ctx.is_registered(&r.urn))
            .cloned()
            .collect()
    });
    let doomed = ctx.allowed_records(doomed);
    delete_all(ctx, doomed, parallel, interrupt).await?;
    if !ctx.preview {
        drop_unused_default_providers(ctx).await?;
    }
    Ok(())
}

/// Is `r` a default provider of a package, unversioned (`default`) or of a plugin version
/// (`default_1_2_0`)? No program registers one: the engine makes it.
fn is_default_provider(r: &Resource) -> bool {
    r.type_token.starts_with("pulumi:providers:")
        && (r.name() == "default" || r.name().starts_with("default_"))
}

/// Drops from the state the default providers no resource uses any more, as Pulumi does. (The
/// engine starts and records a default provider without a step, so none shows here either.)
async fn drop_unused_default_providers(ctx: &Ctx) -> Result<(), Error> {
    let unused: Vec<Key> = ctx.journal.with_snapshot(|snap| {
        let used: HashSet<&str> = snap
            .iter()
            .filter_map(|r| r.provider.rsplit_once("::").map(|(u, _)| u))
            .collect();
        let mut unused: Vec<&Resource> = snap
            .iter()
            .filter(|r| is_default_provider(r) && !r.delete && !used.contains(r.urn.as_str()))
            .collect();
        unused.sort_by(|a, b| a.urn.cmp(&b.urn));
        unused.into_iter().map(Resource::key).collect()
    });
    if !unused.is_empty() {
        ctx.journal.write(vec![], unused).await?;
    }
    Ok(())
}
