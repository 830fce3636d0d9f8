//! `refresh`: reading each resource back from its provider.

#[allow(unused_imports)]
use super::*;

pub(super) async fn refresh(
    ctx: &Arc<Ctx>,
    snap: &Snapshot,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<(), Error> {
    let targets: Arc<Vec<Resource>> = Arc::new(
        ctx.allowed_records(
            snap.resources()
                .into_iter()
                .filter(|r| r.custom && !r.type_token.starts_with("pulumi:"))
                .collect(),
        ),
    );
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
            ctx.step(Step {
                op: "refresh",
                urn: &r.urn,
                ty,
                status: "failed",
                t0,
                diff: vec![],
                message: Some(msg.clone()),
            });
            ctx.fail(format!("{} ({ty}): {msg}", r.name()));
            return Ok(false);
        }
    };
    if id.is_empty() {
        ctx.journal.write(vec![], vec![r.key()]).await?;
        ctx.step(Step {
            op: "read-delete",
            urn: &r.urn,
            ty,
            status: "ok",
            t0,
            diff: vec![],
            message: Some("the resource no longer exists; removed from state".into()),
        });
        return Ok(true);
    }
    let mut keys: BTreeSet<&String> = r.outputs.keys().collect();
    keys.extend(outputs.keys());
    let drift: Vec<DiffLine> = keys
        .into_iter()
        .filter(|k| r.outputs.get(*k) != outputs.get(*k))
        .map(|k| DiffLine {
            path: k.clone(),
            kind: match (r.outputs.contains_key(k), outputs.contains_key(k)) {
                (false, _) => "add".into(),
                (_, false) => "delete".into(),
                _ => "update".into(),
            },
            replace: false,
            old: r.outputs.get(k).map(value::masked),
            new: outputs.get(k).map(value::masked),
        })
        .collect();
    let mut updated = r.clone();
    updated.id = id;
    updated.outputs = outputs;
    if let Some(i) = inputs {
        updated.inputs = i;
    }
    updated.init_errors = init_errors;
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
    let op = if drift.is_empty() { "same" } else { "refresh" };
    ctx.step(Step {
        op,
        urn: &r.urn,
        ty,
        status: "ok",
        t0,
        diff: drift,
        message: None,
    });
    Ok(true)
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
}

/// Imports a pending create: asks the provider's Read for the given id and, when it finds the
/// resource, records it and clears the pending operation. A live resource with the same URN
/// (the old copy of an interrupted replacement) is kept as an old copy to delete.
pub(super) async fn import_pending(ctx: &Arc<Ctx>, p: &PendingImport) -> Result<bool, Error> {
    let t0 = Instant::now();
    let r = &p.resource;
    let ty = r.type_token.as_str();
    let failed = |msg: String| {
        ctx.step(Step {
            op: "import",
            urn: &r.urn,
            ty,
            status: "failed",
            t0,
            diff: vec![],
            message: Some(msg.clone()),
        });
        ctx.fail(format!("{} ({ty}): {msg}", r.name()));
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
    ctx.step(Step {
        op: "import",
        urn: &r.urn,
        ty,
        status: "ok",
        t0,
        diff: vec![],
        message: Some(format!("pending create imported with id `{}`", p.id)),
    });
    Ok(true)
}
