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

use super::callbacks::{CallbackClients, check_target};
use super::error::MonitorError;
use super::urn;
use pulumirpc::{
    Alias, Callback, RegisterResourceRequest, ResourceInvokeRequest, TransformInvokeOptions,
    TransformInvokeRequest, TransformInvokeResponse, TransformRequest, TransformResourceOptions,
    TransformResponse,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// A registered resource's own transforms and its parent.
type Known = (Vec<Callback>, Option<String>);

/// The transforms a run's program registered, and the callbacks to run them.
#[derive(Debug, Default)]
pub struct Transforms {
    clients: CallbackClients,
    stack: Mutex<Vec<Callback>>,
    invoke: Mutex<Vec<Callback>>,
    /// Each registered resource's own transforms and its parent, for its children.
    own: Mutex<HashMap<String, Known>>,
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

    /// Runs the transforms that apply to `req` (see the module's order) and writes what they
    /// return back into it. `scope` = (stack, project), for the URN the resource will have.
    pub async fn apply(
        &self,
        scope: (&str, &str),
        req: &mut RegisterResourceRequest,
    ) -> Result<(), MonitorError> {
        let parent = (!req.parent.is_empty()).then(|| req.parent.clone());
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
            let known = lock(&self.own);
            let mut at = parent.clone();
            while let Some(p) = at {
                let Some((transforms, grand)) = known.get(&p) else {
                    break;
                };
                chain.extend(transforms.iter().cloned());
                at = grand.clone();
            }
        }
        chain.extend(lock(&self.stack).iter().cloned());
        let urn = urn::new(scope.0, scope.1, parent.as_deref(), &req.r#type, &req.name);
        lock(&self.own).insert(urn.clone(), (own, parent));
        if chain.is_empty() {
            return Ok(());
        }
        let mut props = req.object.take().unwrap_or_default();
        let mut opts = options_of(req);
        for callback in &chain {
            let what = format!("transform of {urn}");
            let answer: TransformResponse = self
                .clients
                .invoke(
                    callback,
                    &TransformRequest {
                        r#type: req.r#type.clone(),
                        name: req.name.clone(),
                        custom: req.custom,
                        parent: req.parent.clone(),
                        properties: Some(props.clone()),
                        options: Some(opts.clone()),
                    },
                    &what,
                )
                .await?;
            if let Some(p) = answer.properties {
                props = p;
            }
            if let Some(o) = answer.options {
                opts = o;
            }
        }
        req.object = Some(props);
        set_options(req, opts);
        Ok(())
    }

    /// Runs the stack's invoke transforms on `req`, in the order they were registered.
    pub async fn apply_invoke(&self, req: &mut ResourceInvokeRequest) -> Result<(), MonitorError> {
        let chain = lock(&self.invoke).clone();
        if chain.is_empty() {
            return Ok(());
        }
        let mut args = req.args.take().unwrap_or_default();
        let mut opts = TransformInvokeOptions {
            provider: req.provider.clone(),
            plugin_download_url: req.plugin_download_url.clone(),
            version: req.version.clone(),
            plugin_checksums: req.plugin_checksums.clone(),
        };
        for callback in &chain {
            let what = format!("invoke transform of {}", req.tok);
            let answer: TransformInvokeResponse = self
                .clients
                .invoke(
                    callback,
                    &TransformInvokeRequest {
                        token: req.tok.clone(),
                        args: Some(args.clone()),
                        options: Some(opts.clone()),
                    },
                    &what,
                )
                .await?;
            if let Some(a) = answer.args {
                args = a;
            }
            if let Some(o) = answer.options {
                opts = o;
            }
        }
        req.args = Some(args);
        req.provider = opts.provider;
        req.plugin_download_url = opts.plugin_download_url;
        req.version = opts.version;
        req.plugin_checksums = opts.plugin_checksums;
        Ok(())
    }
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

/// Writes a transform's options back into the registration. The dependencies are those the
/// options name plus those of the properties still present, as Pulumi recomputes them.
fn set_options(req: &mut RegisterResourceRequest, o: TransformResourceOptions) {
    let present: BTreeSet<String> = req
        .object
        .as_ref()
        .map(|s| s.fields.keys().cloned().collect())
        .unwrap_or_default();
    req.property_dependencies.retain(|k, _| present.contains(k));
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
