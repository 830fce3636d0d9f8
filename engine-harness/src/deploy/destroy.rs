//! `destroy`, and deleting what the program no longer declares.

#[allow(unused_imports)]
use super::*;

/// Deletes `doomed` in reverse dependency order.
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
    let doomed = Arc::new(doomed);
    schedule_steps(ctx, deps, parallel, interrupt, |ctx, i| {
        let doomed = doomed.clone();
        async move { delete_one(&ctx, &doomed[i]).await }
    })
    .await?;
    Ok(())
}

pub(super) async fn delete_one(ctx: &Arc<Ctx>, r: &Resource) -> Result<bool, Error> {
    let t0 = Instant::now();
    let ty = r.type_token.as_str();
    let op_name = if r.delete {
        "delete-replaced"
    } else {
        "delete"
    };
    let status_ok = if ctx.preview { "planned" } else { "ok" };
    if r.protect && !r.delete {
        let msg =
            "it is protected; set `protect: false` in the program and run `up` before deleting it"
                .to_string();
        ctx.step(Step {
            op: op_name,
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
    if ctx.preview {
        ctx.step(Step {
            op: op_name,
            urn: &r.urn,
            ty,
            status: status_ok,
            t0,
            diff: vec![],
            message: None,
        });
        return Ok(true);
    }
    if r.retain_on_delete {
        ctx.journal.write(vec![], vec![r.key()]).await?;
        ctx.step(Step {
            op: op_name,
            urn: &r.urn,
            ty,
            status: "ok",
            t0,
            diff: vec![],
            message: Some("retained (retainOnDelete): dropped from state, not deleted".into()),
        });
        return Ok(true);
    }
    if !r.custom || r.external || r.type_token.starts_with("pulumi:providers:") {
        // Nothing real to delete: a component, a provider resource, or a resource this
        // stack only read (`get`).
        ctx.journal.write(vec![], vec![r.key()]).await?;
        ctx.step(Step {
            op: op_name,
            urn: &r.urn,
            ty,
            status: "ok",
            t0,
            diff: vec![],
            message: r.external.then(|| {
                "read with `get`, not managed here: dropped from state, not deleted".into()
            }),
        });
        return Ok(true);
    }
    let plugin = match ctx.providers.for_state(r).await {
        Ok(h) => h.plugin,
        Err(e) => {
            let msg = e;
            ctx.step(Step {
                op: op_name,
                urn: &r.urn,
                ty,
                status: "failed",
                t0,
                diff: vec![],
                message: Some(msg.clone()),
            });
            ctx.fail(msg);
            return Ok(false);
        }
    };
    let timeout = r
        .custom_timeouts
        .as_ref()
        .and_then(|t| t["delete"].as_f64())
        .unwrap_or(0.0);
    ctx.display.emit(Event::StepStart {
        op: op_name.into(),
        urn: r.urn.clone(),
    });
    let op = ctx.journal.begin(OperationType::Deleting, r).await?;
    match plugin
        .delete(
            Target {
                urn: &r.urn,
                name: r.name(),
                ty,
            },
            Recorded::of(r),
            timeout,
        )
        .await
    {
        Ok(()) => {
            ctx.journal.end(Some(op), vec![], vec![r.key()]).await?;
            ctx.step(Step {
                op: op_name,
                urn: &r.urn,
                ty,
                status: "ok",
                t0,
                diff: vec![],
                message: None,
            });
            Ok(true)
        }
        Err(e) => {
            if !matches!(
                e,
                CallError::Failed {
                    outcome_unknown: true,
                    ..
                }
            ) {
                ctx.journal.end(Some(op), vec![], vec![]).await?;
            }
            let msg = failure_message("Delete", &e.to_string());
            ctx.step(Step {
                op: op_name,
                urn: &r.urn,
                ty,
                status: "failed",
                t0,
                diff: vec![],
                message: Some(msg.clone()),
            });
            ctx.fail(format!("{} ({ty}): {msg}", r.name()));
            Ok(false)
        }
    }
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
