//! The YAML program as a source of registrations: resources in parallel along their
//! dependency graph, each evaluated against the outputs of those it uses, registered through
//! [`register`] like a registration from a program's SDK, then its outputs resolved for the
//! resources that use them.

#[allow(unused_imports)]
use super::*;
use crate::monitor::RunningMonitor;

/// Runs the YAML program; false when a step failed. Stack outputs go to `ctx.stack_outputs`.
pub(super) async fn run(
    ctx: &Arc<Ctx>,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<bool, Error> {
    let p = &ctx.project;
    // Providers that construct components register their children here.
    let monitor = Arc::new(sink::serve(ctx, interrupt).await?);
    let _ = monitor.register_local(&ctx.stack_urn, STACK_TYPE, false);
    let index: HashMap<&str, usize> = p
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let deps: Vec<Vec<usize>> = p
        .resources
        .iter()
        .map(|r| r.dependencies.iter().map(|d| index[d.as_str()]).collect())
        .collect();
    let ok = schedule_steps(ctx, deps, parallel, interrupt, |ctx, i| {
        let monitor = monitor.clone();
        async move { resource(&ctx, &monitor, i).await }
    })
    .await?;
    if !ok.iter().all(|b| *b) || interrupt.is_cancelled() {
        return Ok(false);
    }
    let resolved = ctx.resolved.lock().map(|r| r.clone()).unwrap_or_default();
    let ev = Evaluator {
        project: p,
        resources: &resolved,
    };
    let mut outputs = PropertyMap::new();
    for (name, tmpl) in &p.outputs {
        match ev.eval(tmpl) {
            Ok(v) => {
                outputs.insert(name.clone(), v);
            }
            Err(e) => ctx.fail(format!(
                "{}: output `{name}`: {e}",
                ctx.project.file.display()
            )),
        }
    }
    register_outputs(ctx, &ctx.stack_urn, outputs).await?;
    Ok(true)
}

/// Evaluates a resource's `${…}` inputs against the outputs resolved so far.
fn evaluate_inputs(ctx: &Ctx, decl: &program::ResourceDecl) -> Result<PropertyMap, String> {
    let empty = HashMap::new();
    let guard = ctx.resolved.lock();
    let resolved = guard.as_deref().unwrap_or(&empty);
    let ev = Evaluator {
        project: &ctx.project,
        resources: resolved,
    };
    Ok(match ev.eval(&Json::Object(decl.properties.clone()))? {
        Json::Object(m) => m,
        _ => PropertyMap::new(),
    })
}

/// The registration a program's SDK would send for `decl`: a component when the package's
/// schema says so (its provider constructs it), else a custom resource.
async fn registration(
    ctx: &Ctx,
    decl: &program::ResourceDecl,
    inputs: PropertyMap,
) -> Registration {
    let component = ctx.providers.is_component(&decl.type_token).await;
    let o = &decl.options;
    let dependencies = decl
        .dependencies
        .iter()
        .map(|d| {
            let ty = ctx
                .project
                .resource(d)
                .map(|r| r.type_token.as_str())
                .unwrap_or_default();
            ctx.urn(ty, d)
        })
        .collect();
    Registration {
        urn: ctx.urn(&decl.type_token, &decl.name),
        type_token: decl.type_token.clone(),
        name: decl.name.clone(),
        parent: Some(ctx.stack_urn.clone()),
        custom: !component,
        remote: component,
        inputs,
        options: ResourceOptions {
            protect: Some(o.protect),
            dependencies,
            delete_before_replace: Some(o.delete_before_replace),
            ignore_changes: o.ignore_changes.clone(),
            replace_on_changes: o.replace_on_changes.clone(),
            retain_on_delete: Some(o.retain_on_delete),
            custom_timeouts: o.custom_timeouts.clone(),
            ..Default::default()
        },
    }
}

/// One resource of the program: evaluate, register, resolve. `Ok(false)` = it failed.
async fn resource(ctx: &Arc<Ctx>, monitor: &RunningMonitor, i: usize) -> Result<bool, Error> {
    let decl = &ctx.project.resources[i];
    let inputs = match evaluate_inputs(ctx, decl) {
        Ok(m) => m,
        Err(e) => {
            let urn = ctx.urn(&decl.type_token, &decl.name);
            let msg = format!(
                "{}:{}: {}: {e}",
                ctx.project.file.display(),
                decl.line,
                decl.name
            );
            ctx.step(Step {
                op: "create",
                urn: &urn,
                ty: &decl.type_token,
                status: "failed",
                t0: Instant::now(),
                diff: vec![],
                message: Some(msg.clone()),
            });
            ctx.fail(msg);
            return Ok(false);
        }
    };
    let reg = registration(ctx, decl, inputs).await;
    let urn = reg.urn.clone();
    // Duplicates cannot happen (names are keys of `resources`); this makes the URN known to
    // the monitor for the components providers construct.
    let _ = monitor.register_local(&urn, &reg.type_token, reg.remote);
    match register(ctx, reg).await? {
        Ok(r) => {
            if let Ok(mut resolved) = ctx.resolved.lock() {
                resolved.insert(
                    decl.name.clone(),
                    ResolvedResource {
                        urn,
                        id: r.id.map(Json::String).unwrap_or(Json::Null),
                        outputs: r.outputs,
                    },
                );
            }
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}
