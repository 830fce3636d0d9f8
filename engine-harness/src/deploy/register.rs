//! What the engine does with each request of a program, whichever its source: the YAML
//! evaluator in this process or a program's SDK through the resource monitor. Both hand the
//! same [`Registration`]s, reads and invokes to the functions here, so every resource option
//! exists once.

use super::execute::{StepResult, execute};
use super::generate::{Planned, plan};
use super::import::import_step;
use super::step::{Op, Report, Status};
use super::{Ctx, builtin, hooks, package_of, remote};
use crate::Error;
use crate::display::failure_message;
use crate::monitor::{InvokeRequest, InvokeResult, ReadRequest, RegisteredResource, Registration};
use crate::plugin::{Recorded, Target};
use crate::state::{self, Key, Resource};
use crate::value::{self, PropertyMap};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

/// The type of the stack resource every program registers first.
pub(super) const STACK_TYPE: &str = "pulumi:pulumi:Stack";

impl Ctx {
    /// Was `urn` declared by the program in this run (or taken over as an alias)?
    pub(super) fn is_registered(&self, urn: &str) -> bool {
        self.registry.is_claimed(urn)
    }

    /// The recorded resource a registration continues: the one under its URN, else the one
    /// under the first of its aliases that the state holds (with that alias).
    pub(super) fn old_of(&self, reg: &Registration) -> (Option<Resource>, Option<String>) {
        if let Some(o) = self.journal.get(&reg.urn) {
            return (Some(o), None);
        }
        for a in &reg.options.aliases {
            if let Some(o) = self.journal.get(a) {
                return (Some(o), Some(a.clone()));
            }
        }
        (None, None)
    }

    /// `outputs` with the registration's `additionalSecretOutputs` made secret.
    pub(super) fn mark_secret_outputs(
        &self,
        reg: &Registration,
        outputs: PropertyMap,
    ) -> PropertyMap {
        mark_secrets(&reg.options.additional_secret_outputs, outputs)
    }
}

/// The state keys a step removes when it records a resource found under an alias: the
/// record under the old URN.
pub(super) fn alias_keys(alias: &Option<String>) -> Vec<Key> {
    alias.iter().map(|a| Key::live(a)).collect()
}

/// Dependencies as the state records them: sorted, each once. The SDKs send a set (Python's
/// order changes from run to run), and a no-op `up` must find the record unchanged.
pub(super) fn recorded_dependencies(dependencies: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = dependencies.iter().collect();
    set.into_iter().cloned().collect()
}

/// Property dependencies as the state records them: each list sorted, without repeats, and
/// properties without dependencies left out.
pub(super) fn recorded_property_dependencies(
    deps: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    deps.iter()
        .filter(|(_, urns)| !urns.is_empty())
        .map(|(k, urns)| (k.clone(), recorded_dependencies(urns)))
        .collect()
}

/// Makes each of `names` secret in `outputs`.
pub(super) fn mark_secrets(names: &[String], mut outputs: PropertyMap) -> PropertyMap {
    for n in names {
        if let Some(v) = outputs.remove(n) {
            outputs.insert(n.clone(), value::secret(v));
        }
    }
    outputs
}

/// Handles one registration: the stack, a provider resource, a component or a custom
/// resource. `Ok(Err(_))` = the step failed (already shown and counted). What it answers is
/// noted for `pulumi:pulumi:getResource`.
pub(super) async fn register(ctx: &Arc<Ctx>, reg: Registration) -> Result<StepResult, Error> {
    let urn = reg.urn.clone();
    let result = register_step(ctx, reg).await?;
    if let Ok(answer) = &result {
        ctx.run_resources.record(&urn, answer);
    }
    Ok(result)
}

async fn register_step(ctx: &Arc<Ctx>, reg: Registration) -> Result<StepResult, Error> {
    if reg.type_token == STACK_TYPE {
        return Ok(Ok(RegisteredResource::default()));
    }
    if reg.is_provider() {
        return provider_step(ctx, &reg).await;
    }
    if !reg.custom {
        if reg.remote {
            return remote::construct_step(ctx, &reg).await;
        }
        return component_step(ctx, &reg).await;
    }
    match plan(ctx, &reg).await {
        Planned::Step(step) => execute(ctx, *step).await,
        Planned::Import {
            plugin,
            reference,
            id,
        } => import_step(ctx, &reg, &plugin, &reference, &id).await,
        Planned::Failed(msg) => Ok(Err(msg)),
        Planned::Kept(answer) => Ok(Ok(answer)),
    }
}

/// Shows a step that calls no provider: a component or a provider resource recorded.
fn quiet_step(ctx: &Ctx, reg: &Registration, existed: bool, t0: Instant) {
    let op = if existed { Op::Same } else { Op::Create };
    ctx.report(Report::new(op, &reg.urn, &reg.type_token, ctx.done(), t0));
}

/// A component resource: recorded in the state with its parent and options; its outputs
/// come later, from `RegisterResourceOutputs`.
async fn component_step(ctx: &Arc<Ctx>, reg: &Registration) -> Result<StepResult, Error> {
    let t0 = Instant::now();
    let (old, alias) = ctx.old_of(reg);
    let now = state::now_rfc3339();
    let record = Resource {
        urn: reg.urn.clone(),
        custom: false,
        type_token: reg.type_token.clone(),
        parent: reg.parent.clone().unwrap_or_default(),
        protect: reg.options.protect.unwrap_or(false),
        dependencies: recorded_dependencies(&reg.options.dependencies),
        property_dependencies: recorded_property_dependencies(&reg.options.property_dependencies),
        outputs: old.as_ref().map(|o| o.outputs.clone()).unwrap_or_default(),
        created: old
            .as_ref()
            .and_then(|o| o.created.clone())
            .or_else(|| Some(now.clone())),
        modified: old.as_ref().and_then(|o| o.modified.clone()).or(Some(now)),
        resource_hooks: hooks::record_of(&reg.options.hooks),
        ..Default::default()
    };
    // A new component runs its create hooks as a custom resource does: the before-hooks now,
    // the after-hooks once its outputs are registered (Pulumi's component `CreateStep`).
    let created = old.is_none();
    if created && let Err(msg) = hooks::component_created(ctx, &record).await {
        let r = Report::new(Op::Create, &reg.urn, &reg.type_token, Status::Failed, t0);
        return Ok(Err(ctx.failed(r, msg, "")));
    }
    if !ctx.preview && (old.as_ref() != Some(&record) || alias.is_some()) {
        ctx.journal.write(vec![record], alias_keys(&alias)).await?;
    }
    quiet_step(ctx, reg, !created, t0);
    Ok(Ok(RegisteredResource::default()))
}

/// A provider resource the program registers (`pulumi:providers:<package>`): its plugin is
/// started with the registration's inputs as configuration, and recorded in the state.
async fn provider_step(ctx: &Arc<Ctx>, reg: &Registration) -> Result<StepResult, Error> {
    let t0 = Instant::now();
    let package = reg
        .type_token
        .strip_prefix("pulumi:providers:")
        .unwrap_or_default();
    let existed = ctx.journal.get(&reg.urn).is_some();
    let mut config = reg.inputs.clone();
    // The SDKs send the plugin version as an input of the provider resource: it selects the
    // plugin (`providers::start` takes it out of the configuration).
    config.remove("pluginDownloadURL");
    match ctx
        .providers
        .explicit(&reg.urn, package, &config, reg.parent.as_deref())
        .await
    {
        Ok(handle) => {
            quiet_step(ctx, reg, existed, t0);
            let id = handle
                .reference
                .rsplit_once("::")
                .map(|(_, id)| id.to_string());
            Ok(Ok(RegisteredResource {
                id,
                outputs: handle.record.outputs.clone(),
                property_dependencies: BTreeMap::new(),
            }))
        }
        Err(e) => {
            let r = Report::new(Op::Create, &reg.urn, &reg.type_token, Status::Failed, t0);
            Ok(Err(ctx.failed(r, e, "")))
        }
    }
}

/// Records a component's or the stack's outputs.
pub(super) async fn register_outputs(
    ctx: &Arc<Ctx>,
    urn: &str,
    outputs: PropertyMap,
) -> Result<(), Error> {
    if urn == ctx.stack_urn {
        if let Ok(mut o) = ctx.stack_outputs.lock() {
            *o = outputs;
        }
        return Ok(());
    }
    hooks::component_outputs(ctx, urn, &outputs).await;
    if ctx.preview {
        return Ok(());
    }
    if let Some(mut r) = ctx.journal.get(urn)
        && r.outputs != outputs
    {
        r.outputs = outputs;
        ctx.journal.write(vec![r], vec![]).await?;
    }
    Ok(())
}

/// `get` of an existing resource: the provider's Read by id, recorded as external (never
/// deleted by this stack, only dropped from it).
pub(super) async fn read_step(
    ctx: &Arc<Ctx>,
    request: &ReadRequest,
) -> Result<Result<PropertyMap, String>, Error> {
    if builtin::is_stack_reference(request) {
        return builtin::stack_reference_step(ctx, request).await;
    }
    let t0 = Instant::now();
    let ty = request.type_token.as_str();
    let fail = |msg: String| {
        let r = Report::new(Op::Read, &request.urn, ty, Status::Failed, t0);
        Ok(Err(ctx.failed(r, msg, "")))
    };
    let handle = match ctx
        .providers
        .for_registration(
            package_of(ty),
            request.provider.as_ref(),
            request.version.as_deref(),
        )
        .await
    {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let empty = PropertyMap::new();
    let read = handle
        .plugin
        .read(
            Target {
                urn: &request.urn,
                name: &request.name,
                ty,
            },
            Recorded {
                id: &request.id,
                outputs: &request.properties,
                inputs: &empty,
            },
        )
        .await;
    let (id, outputs, inputs) = match read {
        Ok((id, _, _)) if id.is_empty() => {
            return fail(format!(
                "Read found no resource with id `{}`; check the id given to `get`",
                request.id
            ));
        }
        Ok(found) => found,
        Err(e) => return fail(failure_message("Read", &e.to_string())),
    };
    let outputs = mark_secrets(&request.additional_secret_outputs, outputs);
    let record = Resource {
        urn: request.urn.clone(),
        custom: true,
        external: true,
        id,
        type_token: ty.to_string(),
        inputs: inputs.unwrap_or_default(),
        outputs: outputs.clone(),
        parent: request.parent.clone().unwrap_or_default(),
        dependencies: recorded_dependencies(&request.dependencies),
        provider: handle.reference.clone(),
        additional_secret_outputs: request.additional_secret_outputs.clone(),
        ..Default::default()
    };
    let old = ctx.journal.get(&request.urn);
    let same = old.as_ref().is_some_and(|o| {
        o.id == record.id && o.outputs == record.outputs && o.inputs == record.inputs
    });
    if !ctx.preview && !same {
        ctx.journal.write(vec![record], vec![]).await?;
    }
    ctx.report(Report::new(Op::Read, &request.urn, ty, ctx.done(), t0));
    Ok(Ok(outputs))
}

/// A provider function: the provider named, or the default provider of the token's package.
pub(super) async fn invoke(
    ctx: &Arc<Ctx>,
    request: &InvokeRequest,
) -> Result<InvokeResult, String> {
    if request.token == builtin::GET_RESOURCE {
        return Ok(builtin::get_resource(ctx, &request.args));
    }
    let handle = ctx
        .providers
        .for_registration(
            package_of(&request.token),
            request.provider.as_ref(),
            request.version.as_deref(),
        )
        .await
        .map_err(|e| format!("invoke {}: {e}", request.token))?;
    let (value, failures) = handle
        .plugin
        .invoke(&request.token, &request.args)
        .await
        .map_err(|e| format!("invoke {}: {e}", request.token))?;
    Ok(InvokeResult { value, failures })
}
