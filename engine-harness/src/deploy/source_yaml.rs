//! The YAML program as a source of registrations: resources and `fn::invoke`s in parallel
//! along their dependency graph, each evaluated against the outputs of those it uses. A
//! resource becomes a [`Registration`] handed to [`register`] (or, with `get:`, a read through
//! [`read_step`]), an invoke a call of [`invoke`]: the functions a program's SDK reaches
//! through the resource monitor. Their outputs are then resolved for the nodes that use them.

use super::register::{STACK_TYPE, invoke, read_step, register, register_outputs};
use super::schedule::schedule_steps;
use super::step::{Op, Report, Status};
use super::{Ctx, sink};
use crate::Error;
use crate::monitor::urn;
use crate::monitor::{InvokeRequest, ProviderReference, ReadRequest, RunningMonitor};
use crate::monitor::{Registration, ResourceOptions};
use crate::program::{self, Evaluator, Project, ResolvedResource};
use crate::program::{AliasDecl, AliasParent, GetDecl, InvokeDecl, ResourceDecl};
use crate::value::{self, PropertyMap};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// What one run of the YAML program knows beside the engine's context: each resource's URN
/// and earlier URNs (fixed by its parent chain before anything runs) and the invokes' results.
struct YamlRun {
    /// Resource indexes by name.
    index: HashMap<String, usize>,
    /// The URN of each resource, by index.
    urns: Vec<String>,
    /// The earlier URNs of each resource (its aliases and those its parent's aliases imply).
    aliases: Vec<Vec<String>>,
    /// Results of the invokes called so far, by index in `Project::invokes`.
    invoked: Mutex<HashMap<usize, Json>>,
    /// The outputs of the resources evaluated so far, by name.
    resolved: Mutex<HashMap<String, ResolvedResource>>,
    /// This run's resource monitor, served while the program is evaluated: providers that
    /// construct components register their children there (the URNs registered here are in
    /// the run's registry it shares, so they may be named as parents).
    _monitor: RunningMonitor,
}

impl YamlRun {
    fn new(ctx: &Ctx, monitor: RunningMonitor) -> Self {
        let p = &ctx.project;
        let index: HashMap<String, usize> = p
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
        let mut names = Names {
            p,
            index: &index,
            stack_urn: &ctx.stack_urn,
            urns: vec![None; p.resources.len()],
        };
        let urns: Vec<String> = (0..p.resources.len()).map(|i| names.urn(i)).collect();
        let aliases = (0..p.resources.len()).map(|i| names.aliases(i)).collect();
        YamlRun {
            index,
            urns,
            aliases,
            invoked: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
            _monitor: monitor,
        }
    }

    fn urn_of(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|i| self.urns[*i].as_str())
    }

    /// The parent URN of a resource: the resource its `parent` names, else the stack.
    fn parent_of<'a>(&'a self, ctx: &'a Ctx, decl: &ResourceDecl) -> &'a str {
        decl.options
            .parent
            .as_deref()
            .and_then(|p| self.urn_of(p))
            .unwrap_or(&ctx.stack_urn)
    }
}

/// URNs as Pulumi builds them: a child's type chain starts with its parent's.
struct Names<'a> {
    p: &'a Project,
    index: &'a HashMap<String, usize>,
    stack_urn: &'a str,
    urns: Vec<Option<String>>,
}

impl Names<'_> {
    /// The parent URN of resource `i` (the stack's when it names none). Loading rejected
    /// parent cycles, since a parent is a dependency.
    fn parent(&mut self, i: usize) -> String {
        match self.p.resources[i]
            .options
            .parent
            .as_ref()
            .and_then(|n| self.index.get(n))
        {
            Some(&j) => self.urn(j),
            None => self.stack_urn.to_string(),
        }
    }

    fn urn(&mut self, i: usize) -> String {
        if let Some(u) = &self.urns[i] {
            return u.clone();
        }
        let parent = self.parent(i);
        let r = &self.p.resources[i];
        let u = urn::new(
            &self.p.stack,
            &self.p.name,
            Some(&parent),
            &r.type_token,
            &r.name,
        );
        self.urns[i] = Some(u.clone());
        u
    }

    /// The earlier URNs of resource `i`: its `aliases`, and itself under each earlier URN of
    /// its parent (a renamed parent renames its children's URNs too).
    fn aliases(&mut self, i: usize) -> Vec<String> {
        let p = self.p;
        let r = &p.resources[i];
        let parent = self.parent(i);
        let mut out = Vec::new();
        for a in &r.options.aliases {
            let u = match a {
                AliasDecl::Urn(u) => u.clone(),
                AliasDecl::Spec {
                    name,
                    type_token,
                    parent: old_parent,
                    stack,
                    project,
                } => {
                    let old_parent = match old_parent {
                        AliasParent::Same => Some(parent.clone()),
                        AliasParent::Resource(n) => self.index.get(n).map(|&j| self.urn(j)),
                        AliasParent::Urn(u) => Some(u.clone()),
                        AliasParent::Root => None,
                    };
                    urn::new(
                        stack.as_deref().unwrap_or(&p.stack),
                        project.as_deref().unwrap_or(&p.name),
                        old_parent.as_deref(),
                        type_token.as_deref().unwrap_or(&r.type_token),
                        name.as_deref().unwrap_or(&r.name),
                    )
                }
            };
            out.push(u);
        }
        if let Some(&j) = r.options.parent.as_ref().and_then(|n| self.index.get(n)) {
            let parent_name = p.resources[j].name.clone();
            for old_parent in self.aliases(j) {
                let Some(parts) = urn::parse(&old_parent) else {
                    continue;
                };
                let name = match r.name.strip_prefix(&parent_name) {
                    Some(rest) => format!("{}{rest}", parts.name),
                    None => r.name.clone(),
                };
                let u = urn::new(
                    parts.stack,
                    parts.project,
                    Some(&old_parent),
                    &r.type_token,
                    &name,
                );
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        }
        out
    }
}

/// Runs the YAML program; false when a step failed. Stack outputs go to `ctx.stack_outputs`.
pub(super) async fn run(
    ctx: &Arc<Ctx>,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<bool, Error> {
    let p = &ctx.project;
    // No program waits on this monitor (it serves the providers that construct components).
    let gate = Arc::new(sink::ShutdownGate::default());
    let monitor = sink::serve(ctx, interrupt, gate).await?;
    let _ = ctx.registry.claim(&ctx.stack_urn, STACK_TYPE, &[], false);
    let run = Arc::new(YamlRun::new(ctx, monitor));
    // Nodes: the resources, then the invokes.
    let n = p.resources.len();
    let node_deps = |resources: &BTreeSet<String>, invokes: &BTreeSet<usize>| -> Vec<usize> {
        resources
            .iter()
            .map(|d| run.index[d.as_str()])
            .chain(invokes.iter().map(|j| n + j))
            .collect()
    };
    let deps: Vec<Vec<usize>> = p
        .resources
        .iter()
        .map(|r| node_deps(&r.dependencies, &r.invokes))
        .chain(
            p.invokes
                .iter()
                .map(|i| node_deps(&i.dependencies, &i.invokes)),
        )
        .collect();
    check_property_references(ctx, &run).await?;
    let ok = schedule_steps(ctx, deps, parallel, interrupt, |ctx, i| {
        let run = run.clone();
        async move {
            if i < n {
                resource(&ctx, &run, i).await
            } else {
                call(&ctx, &run, i - n).await
            }
        }
    })
    .await?;
    if !ok.iter().all(|b| *b) || interrupt.is_cancelled() {
        return Ok(false);
    }
    let mut outputs = PropertyMap::new();
    for (name, tmpl) in &p.outputs {
        match evaluate(ctx, &run, tmpl) {
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

/// Checks every `${resource.property}` of the program against the resource's schema before
/// anything runs, so a misspelt property is an error at its line even in a preview, where the
/// resource's outputs are not known yet. Resources whose provider gives no schema are checked
/// against their outputs when they are evaluated. A bad reference is a program error (exit 2)
/// listing every one, at the line of the first.
async fn check_property_references(ctx: &Ctx, run: &YamlRun) -> Result<(), Error> {
    let p = &ctx.project;
    let mut templates: Vec<(String, usize, &Json)> = Vec::new();
    for d in &p.resources {
        for v in d.properties.values() {
            templates.push((d.name.clone(), d.line, v));
        }
    }
    for (name, v) in &p.outputs {
        templates.push((format!("output `{name}`"), 0, v));
    }
    let mut bad: Vec<(usize, String)> = Vec::new();
    for (owner, line, v) in templates {
        for r in program::references(v).unwrap_or_default() {
            let Some(&target) = run.index.get(&r.root) else {
                continue;
            };
            let Some(program::PathPart::Key(key)) = r.path.first() else {
                continue;
            };
            let decl = &p.resources[target];
            if key == "id" || key == "urn" || decl.is_provider() || decl.options.provider.is_some()
            {
                continue;
            }
            // The real properties, only when the schema lists them and `key` is not one.
            let missing = ctx
                .providers
                .with_resource_schema(
                    &decl.type_token,
                    None,
                    decl.options.version.as_deref(),
                    |schema| {
                        let props = schema.get("properties")?.as_object()?;
                        (!props.contains_key(key)).then(|| {
                            let mut real: Vec<&str> = vec!["id", "urn"];
                            real.extend(props.keys().map(String::as_str));
                            real.join(", ")
                        })
                    },
                )
                .await;
            let Some(real) = missing else {
                continue;
            };
            let at = if line > 0 && !bad.is_empty() {
                format!("line {line}: ")
            } else {
                String::new()
            };
            bad.push((
                line,
                format!(
                    "{at}{owner}: `${{{}}}`: `{}` ({}) has no property `{key}`; its properties are: {}",
                    r.text,
                    r.root,
                    decl.type_token,
                    real
                ),
            ));
        }
    }
    match bad.first() {
        None => Ok(()),
        Some((line, _)) => Err(Error::Program {
            file: p.file.clone(),
            line: *line,
            message: bad
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("\n  "),
        }),
    }
}

/// Evaluates a template against the outputs and invoke results resolved so far.
fn evaluate(ctx: &Ctx, run: &YamlRun, v: &Json) -> Result<Json, String> {
    let empty_resources = HashMap::new();
    let empty_invokes = HashMap::new();
    let resolved = run.resolved.lock();
    let invoked = run.invoked.lock();
    let ev = Evaluator {
        project: &ctx.project,
        resources: resolved.as_deref().unwrap_or(&empty_resources),
        invokes: invoked.as_deref().unwrap_or(&empty_invokes),
    };
    ev.eval(v)
}

/// Evaluates a mapping of templates (properties, `get.state`, invoke arguments).
fn evaluate_map(ctx: &Ctx, run: &YamlRun, m: &PropertyMap) -> Result<PropertyMap, String> {
    Ok(match evaluate(ctx, run, &Json::Object(m.clone()))? {
        Json::Object(m) => m,
        _ => PropertyMap::new(),
    })
}

/// The reference to the provider resource `name` of the program, registered earlier.
fn provider_reference(run: &YamlRun, name: &str) -> Result<ProviderReference, String> {
    let resolved = run.resolved.lock().map_err(|e| e.to_string())?;
    let r = resolved
        .get(name)
        .ok_or_else(|| format!("provider `{name}` is used before it is registered"))?;
    let unknown = value::unknown();
    Ok(ProviderReference {
        urn: r.urn.clone(),
        id: r
            .id
            .as_str()
            .or(unknown.as_str())
            .unwrap_or_default()
            .to_string(),
    })
}

/// For each property of `decl`, the URNs of the resources its template names.
fn property_dependencies(run: &YamlRun, decl: &ResourceDecl) -> BTreeMap<String, Vec<String>> {
    decl.properties
        .iter()
        .filter_map(|(k, v)| {
            let urns: BTreeSet<String> = program::references(v)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| run.urn_of(&r.root).map(str::to_string))
                .collect();
            (!urns.is_empty()).then(|| (k.clone(), urns.into_iter().collect()))
        })
        .collect()
}

/// The registration a program's SDK would send for resource `i`: a component its provider
/// constructs when the package's schema says so, else a custom resource.
async fn registration(
    ctx: &Ctx,
    run: &YamlRun,
    i: usize,
    inputs: PropertyMap,
) -> Result<Registration, String> {
    let decl = &ctx.project.resources[i];
    let o = &decl.options;
    let dependencies = decl
        .dependencies
        .iter()
        .filter_map(|d| run.urn_of(d).map(str::to_string))
        .collect();
    let provider = o
        .provider
        .as_deref()
        .map(|p| provider_reference(run, p))
        .transpose()?;
    let component = !decl.is_provider()
        && ctx
            .providers
            .is_component(&decl.type_token, provider.as_ref(), o.version.as_deref())
            .await;
    Ok(Registration {
        urn: run.urns[i].clone(),
        type_token: decl.type_token.clone(),
        name: decl.name.clone(),
        parent: Some(run.parent_of(ctx, decl).to_string()),
        inputs,
        custom: !component,
        remote: component,
        options: ResourceOptions {
            protect: Some(o.protect),
            property_dependencies: property_dependencies(run, decl),
            dependencies,
            provider,
            delete_before_replace: Some(o.delete_before_replace),
            ignore_changes: o.ignore_changes.clone(),
            replace_on_changes: o.replace_on_changes.clone(),
            retain_on_delete: Some(o.retain_on_delete),
            custom_timeouts: o.custom_timeouts.clone(),
            additional_secret_outputs: o.additional_secret_outputs.clone(),
            aliases: run.aliases[i].clone(),
            import_id: o.import.clone(),
            version: o.version.clone(),
            ..Default::default()
        },
    })
}

/// Shows and counts a resource that failed before reaching the engine (its inputs could not
/// be evaluated).
fn failed_before_step(ctx: &Ctx, run: &YamlRun, i: usize, op: Op, e: String) -> bool {
    let decl = &ctx.project.resources[i];
    let msg = format!(
        "{}:{}: {}: {e}",
        ctx.project.file.display(),
        decl.line,
        decl.name
    );
    let r = Report::new(
        op,
        &run.urns[i],
        &decl.type_token,
        Status::Failed,
        Instant::now(),
    );
    ctx.report(r.message(msg.clone()));
    ctx.fail(msg);
    false
}

fn resolve(run: &YamlRun, name: &str, resolved: ResolvedResource) {
    if let Ok(mut r) = run.resolved.lock() {
        r.insert(name.to_string(), resolved);
    }
}

/// One resource of the program: evaluate, register (or read), resolve. `Ok(false)` = it failed.
async fn resource(ctx: &Arc<Ctx>, run: &YamlRun, i: usize) -> Result<bool, Error> {
    let decl = &ctx.project.resources[i];
    if let Some(get) = &decl.get {
        return read(ctx, run, i, get).await;
    }
    let reg = match evaluate_map(ctx, run, &decl.properties) {
        Ok(inputs) => registration(ctx, run, i, inputs).await,
        Err(e) => Err(e),
    };
    let reg = match reg {
        Ok(reg) => reg,
        Err(e) => return Ok(failed_before_step(ctx, run, i, Op::Create, e)),
    };
    let urn = reg.urn.clone();
    // A preview answers no id for a resource to be created: to the program it is unknown.
    let no_id = if ctx.preview && reg.custom {
        value::unknown()
    } else {
        Json::Null
    };
    // Names are keys of `resources`, so the URN is new; this makes it known to the monitor
    // for a provider constructing it (or its children), and to the deletions after the program.
    let _ = ctx
        .registry
        .claim(&urn, &reg.type_token, &reg.options.aliases, reg.remote);
    match register(ctx, reg).await? {
        Ok(r) => {
            resolve(
                run,
                &decl.name,
                ResolvedResource {
                    urn,
                    id: r
                        .id
                        .filter(|id| !id.is_empty())
                        .map(Json::String)
                        .unwrap_or(no_id),
                    outputs: r.outputs,
                },
            );
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// A `get:` resource: the provider reads it by id; it is recorded as external.
async fn read(ctx: &Arc<Ctx>, run: &YamlRun, i: usize, get: &GetDecl) -> Result<bool, Error> {
    let decl = &ctx.project.resources[i];
    let request = evaluate(ctx, run, &get.id).and_then(|id| {
        let properties = evaluate_map(ctx, run, &get.state)?;
        let provider = decl
            .options
            .provider
            .as_deref()
            .map(|p| provider_reference(run, p))
            .transpose()?;
        let id = match id {
            Json::String(s) if !s.is_empty() => s,
            other => {
                return Err(format!(
                    "`get.id` must be a non-empty string (the provider's id), not {other}"
                ));
            }
        };
        Ok(ReadRequest {
            urn: run.urns[i].clone(),
            type_token: decl.type_token.clone(),
            name: decl.name.clone(),
            id,
            parent: Some(run.parent_of(ctx, decl).to_string()),
            properties,
            dependencies: decl
                .dependencies
                .iter()
                .filter_map(|d| run.urn_of(d).map(str::to_string))
                .collect(),
            provider,
            version: decl.options.version.clone(),
            additional_secret_outputs: decl.options.additional_secret_outputs.clone(),
        })
    });
    let request = match request {
        Ok(r) => r,
        Err(e) => return Ok(failed_before_step(ctx, run, i, Op::Read, e)),
    };
    // Names are keys of `resources`, so the URN is new.
    let _ = ctx
        .registry
        .claim(&request.urn, &request.type_token, &[], false);
    if value::is_unknown(&Json::String(request.id.clone())) {
        // A preview where the id comes from a resource not created yet: nothing to read.
        let t0 = Instant::now();
        ctx.report(Report::new(
            Op::Read,
            &request.urn,
            &request.type_token,
            Status::Planned,
            t0,
        ));
        resolve(
            run,
            &decl.name,
            ResolvedResource {
                urn: request.urn,
                id: value::unknown(),
                outputs: PropertyMap::new(),
            },
        );
        return Ok(true);
    }
    match read_step(ctx, &request).await? {
        Ok(outputs) => {
            resolve(
                run,
                &decl.name,
                ResolvedResource {
                    urn: request.urn,
                    id: Json::String(request.id),
                    outputs,
                },
            );
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// One `fn::invoke`: evaluate the arguments, call the function, keep the result (or the
/// field `return` names). `Ok(false)` = it failed, with the file and line.
async fn call(ctx: &Arc<Ctx>, run: &YamlRun, j: usize) -> Result<bool, Error> {
    let inv = &ctx.project.invokes[j];
    match invoke_value(ctx, run, inv).await {
        Ok(v) => {
            if let Ok(mut invoked) = run.invoked.lock() {
                invoked.insert(j, v);
            }
            Ok(true)
        }
        Err(e) => {
            let msg = format!(
                "{}:{}: fn::invoke {}: {e}",
                ctx.project.file.display(),
                inv.line,
                inv.function
            );
            ctx.display.log("error", msg.clone());
            ctx.fail(msg);
            Ok(false)
        }
    }
}

async fn invoke_value(ctx: &Arc<Ctx>, run: &YamlRun, inv: &InvokeDecl) -> Result<Json, String> {
    let args = evaluate_map(ctx, run, &inv.arguments)?;
    let (_, secret_args) = value::unwrap_secrets(&Json::Object(args.clone()));
    if value::contains_unknown(&Json::Object(args.clone())) {
        // A preview where an argument comes from a resource not created yet.
        return Ok(value::unknown());
    }
    let provider = inv
        .provider
        .as_deref()
        .map(|p| provider_reference(run, p))
        .transpose()?;
    let request = InvokeRequest {
        token: inv.function.clone(),
        args,
        provider,
        version: None,
        dependencies: Vec::new(),
    };
    let result = invoke(ctx, &request).await?;
    if !result.failures.is_empty() {
        let reasons: Vec<String> = result
            .failures
            .iter()
            .map(|(prop, reason)| format!("argument `{prop}`: {reason}"))
            .collect();
        return Err(format!(
            "the provider rejected the arguments: {}",
            reasons.join("; ")
        ));
    }
    let value = match &inv.return_field {
        None => Json::Object(result.value),
        Some(field) => result.value.get(field).cloned().ok_or_else(|| {
            let fields: Vec<&str> = result.value.keys().map(String::as_str).collect();
            format!(
                "`return: {field}`: the result has no `{field}`; its fields are: {}",
                fields.join(", ")
            )
        })?,
    };
    // A result computed from a secret is a secret.
    Ok(if secret_args {
        value::secret(value::unwrap_secrets(&value).0)
    } else {
        value
    })
}
