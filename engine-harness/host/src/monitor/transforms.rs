//! Transforms, applied in one place: the program's functions that rewrite a resource's inputs
//! and options before the engine sees the registration (`RegisterResourceRequest.transforms`,
//! `RegisterStackTransform`), and an invoke's arguments and options
//! (`RegisterStackInvokeTransform`). Each is a [`Callback`] into the program's `Callbacks`
//! service ([`super::callbacks`]).
//!
//! The order is Pulumi's (`resmon.RegisterResource`): the resource's own transforms, then
//! those of its parent, its parent's parent and so on up to the stack, then the stack
//! transforms in the order they were registered. Each transform gets the inputs and options the
//! one before it returned; an answer without properties (or options) keeps them. A transform
//! cannot change a resource's type, name or parent (the protocol's answer has no such fields).
//! A remote component's own transforms are kept for the registration of the same resource by
//! the provider that constructs it, which then runs them (not the request's).
//!
//! What a transform sees is what Pulumi's engine sends: the inputs as output values where they
//! carry something a plain value cannot (a secret, an unknown, or the resources the property
//! depends on, `propertyDependencies`), and the options with the provider the resource will use
//! (its own, else its `providers` entry for the package, else that of its parent component).
//! What it answers may hold output values too: they become plain values again and their
//! dependencies become the property's and the resource's. The dependencies are then those the
//! options name plus those of the properties still present.
//!
//! The provider resolution is done for every registration, transformed or not, as Pulumi's
//! `resolveProvider` does; a component passes its `providers` on to the components under it.
//! Nothing else is done for a registration no transform applies to (its inputs are not
//! touched).

use super::callbacks::{CallbackClients, check_target};
use super::error::MonitorError;
use super::urn::{self, package_of};
use crate::output_values;
use crate::value::{self, PropertyMap};
use pulumirpc::{
    Alias, Callback, RegisterResourceRequest, ResourceInvokeRequest, TransformInvokeOptions,
    TransformInvokeRequest, TransformInvokeResponse, TransformRequest, TransformResourceOptions,
    TransformResponse,
};
use serde_json::Value as Json;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// What later registrations need of a registered resource.
#[derive(Debug, Default)]
struct Known {
    /// Its own transforms, which run on its children too.
    transforms: Vec<Callback>,
    /// Its parent, to walk up to the stack.
    parent: Option<String>,
    /// A component's `providers` (package to provider reference), for its children.
    providers: HashMap<String, String>,
}

/// The transforms a run's program registered, and the callbacks to run them.
#[derive(Debug, Default)]
pub struct Transforms {
    clients: CallbackClients,
    stack: Mutex<Vec<Callback>>,
    invoke: Mutex<Vec<Callback>>,
    /// Each registered resource's own transforms, parent and (a component's) providers.
    known: Mutex<HashMap<String, Known>>,
    /// A remote component's own transforms, by `parent::type::name`, until its provider
    /// registers it.
    pending: Mutex<HashMap<String, Vec<Callback>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Transforms {
    /// `RegisterStackTransform`: runs on every resource registered from now on.
    pub fn add_stack(&self, callback: Callback) -> Result<(), MonitorError> {
        check_target(&callback, "stack transform")?;
        lock(&self.stack).push(callback);
        Ok(())
    }

    /// `RegisterStackInvokeTransform`: runs on every invoke from now on.
    pub fn add_invoke(&self, callback: Callback) -> Result<(), MonitorError> {
        check_target(&callback, "invoke transform")?;
        lock(&self.invoke).push(callback);
        Ok(())
    }

    /// The provider of package `package` that the component `parent` (or one above it) passes
    /// on through its `providers`, as Pulumi's `resolveProvider` finds it.
    fn parent_provider(&self, parent: Option<&str>, package: &str) -> Option<String> {
        let known = lock(&self.known);
        known
            .get(parent?)
            .and_then(|k| k.providers.get(package))
            .cloned()
    }

    /// Runs the transforms that apply to `req` (see the module's order) and writes what they
    /// return back into it. `scope` = (stack, project), for the URN the resource will have.
    pub async fn apply(
        &self,
        scope: (&str, &str),
        req: &mut RegisterResourceRequest,
    ) -> Result<(), MonitorError> {
        let parent = (!req.parent.is_empty()).then(|| req.parent.clone());
        let package = package_of(&req.r#type).to_string();
        if (req.custom || req.remote) && req.provider.is_empty() {
            let resolved = req
                .providers
                .get(&package)
                .cloned()
                .or_else(|| self.parent_provider(parent.as_deref(), &package));
            if let Some(p) = resolved {
                req.provider = p;
            }
        }
        let key = format!("{}::{}::{}", req.parent, req.r#type, req.name);
        let own = match lock(&self.pending).remove(&key) {
            Some(pending) => pending,
            None => std::mem::take(&mut req.transforms),
        };
        if req.remote && !own.is_empty() {
            lock(&self.pending).insert(key, own.clone());
        }
        let mut chain = own.clone();
        {
            let known = lock(&self.known);
            let mut at = parent.as_deref();
            while let Some(p) = at {
                let Some(k) = known.get(p) else { break };
                chain.extend(k.transforms.iter().cloned());
                at = k.parent.as_deref();
            }
        }
        chain.extend(lock(&self.stack).iter().cloned());
        let urn = urn::new(scope.0, scope.1, parent.as_deref(), &req.r#type, &req.name);
        if !chain.is_empty() {
            self.run(&urn, &chain, req).await?;
        }
        // A component's children get its providers (and those it got from its parent).
        let providers = if req.custom {
            HashMap::new()
        } else {
            let mut providers: HashMap<String, String> =
                req.providers.clone().into_iter().collect();
            if let Some(p) = &parent {
                let known = lock(&self.known);
                if let Some(k) = known.get(p) {
                    for (package, reference) in &k.providers {
                        providers
                            .entry(package.clone())
                            .or_insert_with(|| reference.clone());
                    }
                }
            }
            providers
        };
        lock(&self.known).insert(
            urn,
            Known {
                transforms: own,
                parent,
                providers,
            },
        );
        Ok(())
    }

    /// Runs `chain` on `req` (the resource `urn`).
    async fn run(
        &self,
        urn: &str,
        chain: &[Callback],
        req: &mut RegisterResourceRequest,
    ) -> Result<(), MonitorError> {
        let what = format!("transform of {urn}");
        let mut props = as_output_values(req);
        let mut opts = options_of(req);
        for callback in chain {
            let mut request = TransformRequest {
                r#type: std::mem::take(&mut req.r#type),
                name: std::mem::take(&mut req.name),
                custom: req.custom,
                parent: std::mem::take(&mut req.parent),
                properties: Some(value::to_struct(&props)),
                options: Some(opts),
            };
            let answer: Result<TransformResponse, MonitorError> =
                self.clients.invoke(callback, &request, &what).await;
            req.r#type = std::mem::take(&mut request.r#type);
            req.name = std::mem::take(&mut request.name);
            req.parent = std::mem::take(&mut request.parent);
            let answer = answer?;
            if let Some(p) = answer.properties {
                props = value::into_map(p);
            }
            opts = answer
                .options
                .or(request.options)
                .expect("the request carried its options");
        }
        let present: BTreeSet<&String> = props.keys().collect();
        req.property_dependencies.retain(|k, _| present.contains(k));
        let mut plain = PropertyMap::new();
        for (k, v) in &props {
            let mut found = BTreeSet::new();
            plain.insert(k.clone(), output_values::downgrade(v, &mut found));
            if !found.is_empty() {
                let entry = req.property_dependencies.entry(k.clone()).or_default();
                for urn in found {
                    if !entry.urns.contains(&urn) {
                        entry.urns.push(urn);
                    }
                }
            }
        }
        req.object = Some(value::to_struct(&plain));
        set_options(req, opts);
        Ok(())
    }

    /// Runs the stack's invoke transforms on `req`, in the order they were registered. The
    /// provider is resolved first, as for a resource (its `parent` component's `providers`),
    /// for every invoke, as Pulumi's `Invoke` does.
    pub async fn apply_invoke(&self, req: &mut ResourceInvokeRequest) -> Result<(), MonitorError> {
        if req.provider.is_empty() && !req.parent.is_empty() {
            let package = package_of(&req.tok);
            if let Some(p) = self.parent_provider(Some(req.parent.as_str()), package) {
                req.provider = p;
            }
        }
        let chain = lock(&self.invoke).clone();
        if chain.is_empty() {
            return Ok(());
        }
        let mut args = req.args.take().unwrap_or_default();
        let mut opts = TransformInvokeOptions {
            provider: std::mem::take(&mut req.provider),
            plugin_download_url: req.plugin_download_url.clone(),
            version: req.version.clone(),
            plugin_checksums: req.plugin_checksums.clone(),
        };
        let what = format!("invoke transform of {}", req.tok);
        for callback in &chain {
            let request = TransformInvokeRequest {
                token: req.tok.clone(),
                args: Some(args),
                options: Some(opts),
            };
            let answer: TransformInvokeResponse =
                self.clients.invoke(callback, &request, &what).await?;
            args = answer
                .args
                .or(request.args)
                .expect("the request carried its args");
            opts = answer
                .options
                .or(request.options)
                .expect("the request carried its options");
        }
        req.args = Some(args);
        req.provider = opts.provider;
        req.plugin_download_url = opts.plugin_download_url;
        req.version = opts.version;
        req.plugin_checksums = opts.plugin_checksums;
        Ok(())
    }
}

/// The inputs of `req` as a transform sees them (Pulumi's `UpgradeToOutputValues` and
/// `upgradeOutputValues`): every secret and unknown an output value, and each property that
/// depends on resources an output value carrying them. A request without
/// `propertyDependencies` makes every property depend on all its `dependencies`, as Pulumi
/// reads it (but for a remote component, whose SDK always sends them).
fn as_output_values(req: &mut RegisterResourceRequest) -> PropertyMap {
    let props = value::into_map(req.object.take().unwrap_or_default());
    let all = req.property_dependencies.is_empty() && !req.remote;
    props
        .into_iter()
        .map(|(k, v)| {
            let deps: &[String] = if all {
                &req.dependencies
            } else {
                req.property_dependencies
                    .get(&k)
                    .map(|d| d.urns.as_slice())
                    .unwrap_or_default()
            };
            let v = with_dependencies(output_values::upgrade(&v), deps);
            (k, v)
        })
        .collect()
}

/// `v` made an output value that carries `deps` too (unless it carries them already).
fn with_dependencies(v: Json, deps: &[String]) -> Json {
    if deps.is_empty() {
        return v;
    }
    let mut carried = BTreeSet::new();
    output_values::downgrade(&v, &mut carried);
    if deps.iter().all(|d| carried.contains(d)) {
        return v;
    }
    if output_values::is_output(&v) {
        let Json::Object(mut m) = v else {
            unreachable!("an output value is an object")
        };
        let mut all: Vec<String> = m
            .get("dependencies")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for d in deps {
            if !all.contains(d) {
                all.push(d.clone());
            }
        }
        m.insert(
            "dependencies".into(),
            Json::Array(all.into_iter().map(Json::String).collect()),
        );
        return Json::Object(m);
    }
    output_values::output(Some(v), false, deps)
}

/// A registration's options as a transform sees them.
fn options_of(req: &RegisterResourceRequest) -> TransformResourceOptions {
    let mut aliases: Vec<Alias> = req
        .alias_ur_ns
        .iter()
        .map(|u| Alias {
            alias: Some(pulumirpc::alias::Alias::Urn(u.clone())),
        })
        .collect();
    aliases.extend(req.aliases.iter().cloned());
    let dbr_set = req.delete_before_replace_defined || req.delete_before_replace;
    TransformResourceOptions {
        depends_on: req.dependencies.clone(),
        protect: req.protect,
        ignore_changes: req.ignore_changes.clone(),
        replace_on_changes: req.replace_on_changes.clone(),
        version: req.version.clone(),
        aliases,
        provider: req.provider.clone(),
        custom_timeouts: req.custom_timeouts.clone(),
        plugin_download_url: req.plugin_download_url.clone(),
        retain_on_delete: req.retain_on_delete,
        deleted_with: req.deleted_with.clone(),
        delete_before_replace: dbr_set.then_some(req.delete_before_replace),
        additional_secret_outputs: req.additional_secret_outputs.clone(),
        providers: req.providers.clone(),
        plugin_checksums: req.plugin_checksums.clone(),
        hooks: req.hooks.clone(),
        import: req.import_id.clone(),
        hide_diff: req.hide_diffs.clone(),
        replace_with: req.replace_with.clone(),
        replacement_trigger: req.replacement_trigger.clone(),
    }
}

/// Writes a transform's options back into the registration (whose properties and their
/// dependencies are set already). The dependencies are those the options name plus those of
/// the properties, as Pulumi recomputes them.
fn set_options(req: &mut RegisterResourceRequest, o: TransformResourceOptions) {
    let mut deps: Vec<String> = o.depends_on;
    for d in req
        .property_dependencies
        .values()
        .flat_map(|d| d.urns.iter())
    {
        if !deps.contains(d) {
            deps.push(d.clone());
        }
    }
    req.dependencies = deps;
    req.protect = o.protect;
    req.ignore_changes = o.ignore_changes;
    req.replace_on_changes = o.replace_on_changes;
    req.version = o.version;
    req.alias_ur_ns = Vec::new();
    req.aliases = o.aliases;
    req.alias_specs = true;
    req.provider = o.provider;
    req.custom_timeouts = o.custom_timeouts;
    req.plugin_download_url = o.plugin_download_url;
    req.retain_on_delete = o.retain_on_delete;
    req.deleted_with = o.deleted_with;
    req.delete_before_replace_defined = o.delete_before_replace.is_some();
    req.delete_before_replace = o.delete_before_replace.unwrap_or(false);
    req.additional_secret_outputs = o.additional_secret_outputs;
    req.providers = o.providers;
    req.plugin_checksums = o.plugin_checksums;
    req.hooks = o.hooks;
    req.import_id = o.import;
    req.hide_diffs = o.hide_diff;
    req.replace_with = o.replace_with;
    req.replacement_trigger = o.replacement_trigger;
}
