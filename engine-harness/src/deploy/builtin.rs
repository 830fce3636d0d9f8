//! The built-in `pulumi` package, served by the engine itself as Pulumi's engine does
//! (`pkg/resource/deploy/builtins.go`): the function `pulumi:pulumi:getResource`, which the
//! SDKs call to rebuild a resource from its URN (a component provider rebuilding a provider the
//! program passed it, a method reading its component), and the resource
//! `pulumi:pulumi:StackReference`, which reads another stack's outputs.

use super::Ctx;
use super::register::{STACK_TYPE, recorded_dependencies};
use super::remote;
use super::step::{Op, Report, Status};
use crate::Error;
use crate::monitor::{InvokeResult, ReadRequest, RegisteredResource};
use crate::secrets::SecretsManager;
use crate::stack_config;
use crate::state::{Resource, StateFiles};
use crate::value::{self, PropertyMap};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The function the SDKs call to read a resource of this stack by URN.
pub(super) const GET_RESOURCE: &str = "pulumi:pulumi:getResource";
/// The resource type of a reference to another stack's outputs.
pub(super) const STACK_REFERENCE: &str = "pulumi:pulumi:StackReference";

/// What each resource registered in this run answered: its id and outputs. A resource
/// registered earlier in this run is found here before the saved state is searched, so a
/// preview (which saves nothing) and a resource created a moment ago are both seen.
#[derive(Debug, Default)]
pub(super) struct RunResources(Mutex<HashMap<String, (Option<String>, PropertyMap)>>);

impl RunResources {
    /// Notes what `urn`'s registration answered.
    pub(super) fn record(&self, urn: &str, answer: &RegisteredResource) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(urn.to_string(), (answer.id.clone(), answer.outputs.clone()));
        }
    }

    fn get(&self, urn: &str) -> Option<(Option<String>, PropertyMap)> {
        self.0.lock().ok().and_then(|m| m.get(urn).cloned())
    }
}

/// `pulumi:pulumi:getResource`: `{urn, id, state}` of the resource with URN `args.urn`, from
/// this run's registrations, else from the state.
pub(super) fn get_resource(ctx: &Ctx, args: &PropertyMap) -> InvokeResult {
    let urn = args.get("urn").and_then(Json::as_str).unwrap_or_default();
    let found = ctx.run_resources.get(urn).or_else(|| {
        ctx.journal
            .get(urn)
            .map(|r| ((!r.id.is_empty()).then_some(r.id), r.outputs))
    });
    match found {
        Some((id, state)) => {
            let mut value = PropertyMap::new();
            value.insert("urn".into(), Json::String(urn.to_string()));
            value.insert("id".into(), Json::String(id.unwrap_or_default()));
            value.insert("state".into(), Json::Object(state));
            InvokeResult {
                value,
                failures: vec![],
            }
        }
        None => InvokeResult {
            value: PropertyMap::new(),
            failures: vec![(
                "urn".into(),
                format!(
                    "no resource with URN `{urn}` was registered in this run or is in this stack's state"
                ),
            )],
        },
    }
}

/// Is `request` a read of another stack's outputs?
pub(super) fn is_stack_reference(request: &ReadRequest) -> bool {
    request.type_token == STACK_REFERENCE
}

/// The stack a StackReference names, as Pulumi spells it for a self-managed backend: `stack`,
/// `project/stack` or `organization/project/stack`, of this project and of the organization
/// `organization`.
fn referenced_stack(ctx: &Ctx, name: &str) -> Result<String, String> {
    let parts: Vec<&str> = name.split('/').collect();
    let (org, project, stack) = match parts.as_slice() {
        [stack] => (remote::ORGANIZATION, ctx.project.name.as_str(), *stack),
        [project, stack] => (remote::ORGANIZATION, *project, *stack),
        [org, project, stack] => (*org, *project, *stack),
        _ => {
            return Err(format!(
                "`{name}` is not a stack name; write `stack`, `project/stack` or `{}/project/stack`",
                remote::ORGANIZATION
            ));
        }
    };
    if stack.is_empty() || project.is_empty() {
        return Err(format!(
            "`{name}` is not a stack name; write `stack`, `project/stack` or `{}/project/stack`",
            remote::ORGANIZATION
        ));
    }
    if org != remote::ORGANIZATION {
        return Err(format!(
            "`{name}`: stacks of this engine belong to the organization `{}`, not `{org}`",
            remote::ORGANIZATION
        ));
    }
    if project != ctx.project.name {
        return Err(format!(
            "`{name}`: this engine reads stacks of this project (`{}`) only, not of `{project}`",
            ctx.project.name
        ));
    }
    Ok(stack.to_string())
}

/// The outputs of `stack` (of this project, from this engine's state), secrets kept secret.
fn stack_outputs(ctx: &Ctx, stack: &str) -> Result<PropertyMap, String> {
    let dir = ctx
        .journal
        .files()
        .checkpoint
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let salt = stack_config::encryption_salt(&ctx.project.dir, stack).map_err(|e| e.to_string())?;
    let files = StateFiles::new(&dir, stack).with_secrets(SecretsManager::from_env(salt));
    if !files.checkpoint.exists() && !files.journal.exists() {
        return Err(format!(
            "stack `{stack}` has no state in {}; run `up` on it first",
            dir.display()
        ));
    }
    let (snap, _) = files.load().map_err(|e| e.to_string())?;
    let urn = format!(
        "urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}",
        project = ctx.project.name
    );
    Ok(snap
        .get(&urn)
        .map(|r| r.outputs.clone())
        .unwrap_or_default())
}

/// A `pulumi:pulumi:StackReference` read: `{name, outputs, secretOutputNames}` of the stack
/// its `name` gives, recorded as an external resource of this stack (as Pulumi records it).
pub(super) async fn stack_reference_step(
    ctx: &Arc<Ctx>,
    request: &ReadRequest,
) -> Result<Result<PropertyMap, String>, Error> {
    let t0 = Instant::now();
    let fail = |msg: String| {
        let r = Report::new(Op::Read, &request.urn, STACK_REFERENCE, Status::Failed, t0);
        Ok(Err(ctx.failed(r, msg, "")))
    };
    let name = match request.properties.get("name").and_then(Json::as_str) {
        Some(n) => n.to_string(),
        None => request.id.clone(),
    };
    let stack = match referenced_stack(ctx, &name) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let outputs = match stack_outputs(ctx, &stack) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let secret_names: Vec<Json> = outputs
        .iter()
        .filter(|(_, v)| value::contains_secret(v))
        .map(|(k, _)| Json::String(k.clone()))
        .collect();
    let mut state = PropertyMap::new();
    state.insert("name".into(), Json::String(name.clone()));
    state.insert("outputs".into(), Json::Object(outputs));
    state.insert("secretOutputNames".into(), Json::Array(secret_names));
    let mut inputs = PropertyMap::new();
    inputs.insert("name".into(), Json::String(name.clone()));
    let record = Resource {
        urn: request.urn.clone(),
        custom: true,
        external: true,
        id: request.id.clone(),
        type_token: STACK_REFERENCE.into(),
        inputs,
        outputs: state.clone(),
        parent: request.parent.clone().unwrap_or_default(),
        dependencies: recorded_dependencies(&request.dependencies),
        ..Default::default()
    };
    let old = ctx.journal.get(&request.urn);
    let same = old.as_ref().is_some_and(|o| {
        o.id == record.id && o.outputs == record.outputs && o.inputs == record.inputs
    });
    if !ctx.preview && !same {
        ctx.journal.write(vec![record], vec![]).await?;
    }
    ctx.report(Report::new(
        Op::Read,
        &request.urn,
        STACK_REFERENCE,
        ctx.done(),
        t0,
    ));
    Ok(Ok(state))
}
