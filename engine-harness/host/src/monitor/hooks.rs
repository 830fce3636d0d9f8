//! Resource hooks as the monitor keeps them: `RegisterResourceHook` names a callback into the
//! program, and a resource binds hooks by name to its create, update and delete
//! ([`HookBindings`]). The engine's step executor calls [`ResourceHooks::call`] around a step;
//! what a failure means there is the engine's business, not the monitor's. Error hooks
//! (`RegisterErrorHook`, bound as `onError`) are called with [`ResourceHooks::call_error`]
//! when a provider operation fails, and answer whether to try it again.

use super::callbacks::{CallbackClients, check_target};
use super::error::MonitorError;
use crate::value::{self, PropertyMap};
use pulumirpc::{
    Callback, ErrorHookRequest, ErrorHookResponse, RegisterErrorHookRequest,
    RegisterResourceHookRequest, ResourceHookRequest, ResourceHookResponse, ResourceOptions,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// When a hook runs, as Pulumi names the kinds in the state (`resourceHooks` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookKind {
    /// Before the provider's Create.
    BeforeCreate,
    /// After a successful Create.
    AfterCreate,
    /// Before the provider's Update.
    BeforeUpdate,
    /// After a successful Update.
    AfterUpdate,
    /// Before the provider's Delete.
    BeforeDelete,
    /// After a successful Delete.
    AfterDelete,
    /// When the provider's Create, Update or Delete failed: an error hook, which may ask for
    /// the operation to be tried again.
    OnError,
}

impl HookKind {
    /// Every kind, in the order Pulumi lists them.
    pub const ALL: [HookKind; 7] = [
        HookKind::BeforeCreate,
        HookKind::AfterCreate,
        HookKind::BeforeUpdate,
        HookKind::AfterUpdate,
        HookKind::BeforeDelete,
        HookKind::AfterDelete,
        HookKind::OnError,
    ];

    /// The name Pulumi's state uses (`BeforeCreate`...).
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::BeforeCreate => "BeforeCreate",
            HookKind::AfterCreate => "AfterCreate",
            HookKind::BeforeUpdate => "BeforeUpdate",
            HookKind::AfterUpdate => "AfterUpdate",
            HookKind::BeforeDelete => "BeforeDelete",
            HookKind::AfterDelete => "AfterDelete",
            HookKind::OnError => "OnError",
        }
    }

    /// True for the hooks that run before the provider call (their failure fails the step).
    pub fn is_before(self) -> bool {
        matches!(
            self,
            HookKind::BeforeCreate | HookKind::BeforeUpdate | HookKind::BeforeDelete
        )
    }
}

/// The hooks a resource binds, by kind, as hook names (the registration's `hooks` option).
pub type HookBindings = std::collections::BTreeMap<HookKind, Vec<String>>;

/// The bindings of a wire `ResourceHooksBinding`.
pub fn bindings_of(
    b: Option<pulumirpc::register_resource_request::ResourceHooksBinding>,
) -> HookBindings {
    let mut out = HookBindings::new();
    let Some(b) = b else { return out };
    for (kind, names) in [
        (HookKind::BeforeCreate, b.before_create),
        (HookKind::AfterCreate, b.after_create),
        (HookKind::BeforeUpdate, b.before_update),
        (HookKind::AfterUpdate, b.after_update),
        (HookKind::BeforeDelete, b.before_delete),
        (HookKind::AfterDelete, b.after_delete),
        (HookKind::OnError, b.on_error),
    ] {
        if !names.is_empty() {
            out.insert(kind, names);
        }
    }
    out
}

/// A registered hook.
#[derive(Debug, Clone)]
pub struct Hook {
    callback: Callback,
    /// Run in a preview too (`onDryRun`).
    pub on_dry_run: bool,
    /// A failure is a warning, not an error (`ignoreErrors`).
    pub ignore_errors: bool,
}

/// What a hook is told about the resource (Pulumi's `ResourceHookRequest`): the new inputs and
/// outputs for a create or update, the old ones for an update or delete.
#[derive(Debug, Clone, Default)]
pub struct HookCall<'a> {
    /// The resource's URN.
    pub urn: &'a str,
    /// Its id (empty before a create).
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its type.
    pub type_token: &'a str,
    /// The new inputs.
    pub new_inputs: Option<&'a PropertyMap>,
    /// The old inputs.
    pub old_inputs: Option<&'a PropertyMap>,
    /// The new outputs.
    pub new_outputs: Option<&'a PropertyMap>,
    /// The old outputs.
    pub old_outputs: Option<&'a PropertyMap>,
    /// The resource's options as the state held them (update, delete).
    pub old_options: Option<ResourceOptions>,
    /// The resource's options as the step writes them (create, update).
    pub new_options: Option<ResourceOptions>,
}

/// The hooks the program registered in this run.
#[derive(Debug, Default)]
pub struct ResourceHooks {
    clients: CallbackClients,
    hooks: Mutex<HashMap<String, Hook>>,
    error_hooks: Mutex<HashMap<String, Callback>>,
}

/// What an error hook is told (Pulumi's `ErrorHookRequest`): the resource, the operation that
/// failed and every error it has failed with so far, newest first.
#[derive(Debug, Clone, Default)]
pub struct ErrorHookCall<'a> {
    /// The resource, as a resource hook sees it (`new_outputs` is not sent).
    pub resource: HookCall<'a>,
    /// `create`, `update` or `delete`.
    pub failed_operation: &'a str,
    /// The errors so far, newest first.
    pub errors: &'a [String],
}

/// A name the program registers a hook under: not empty, and not taken.
fn check_name<T>(
    taken: &HashMap<String, T>,
    name: &str,
    kind: &str,
    callback: Option<&Callback>,
) -> Result<(), MonitorError> {
    let what = format!("{kind} `{name}`");
    if name.is_empty() {
        return Err(MonitorError::InvalidField {
            urn: format!("({kind})"),
            field: "name",
            message: format!("a {kind} needs a name"),
        });
    }
    let callback = callback.ok_or_else(|| MonitorError::InvalidField {
        urn: what.clone(),
        field: "callback",
        message: format!("a {kind} needs the callback that runs it"),
    })?;
    check_target(callback, &what)?;
    if taken.contains_key(name) {
        return Err(MonitorError::InvalidField {
            urn: what,
            field: "name",
            message: format!(
                "a {kind} with this name was registered already; give each hook its own name"
            ),
        });
    }
    Ok(())
}

impl ResourceHooks {
    /// `RegisterResourceHook`: a name may be registered once.
    pub fn register(&self, req: RegisterResourceHookRequest) -> Result<(), MonitorError> {
        let mut hooks = self.hooks.lock().unwrap_or_else(|e| e.into_inner());
        check_name(&hooks, &req.name, "resource hook", req.callback.as_ref())?;
        hooks.insert(
            req.name,
            Hook {
                callback: req.callback.expect("checked above"),
                on_dry_run: req.on_dry_run,
                ignore_errors: req.ignore_errors,
            },
        );
        Ok(())
    }

    /// `RegisterErrorHook`: a name may be registered once.
    pub fn register_error(&self, req: RegisterErrorHookRequest) -> Result<(), MonitorError> {
        let mut hooks = self.error_hooks.lock().unwrap_or_else(|e| e.into_inner());
        check_name(&hooks, &req.name, "error hook", req.callback.as_ref())?;
        hooks.insert(req.name, req.callback.expect("checked above"));
        Ok(())
    }

    /// Is an error hook registered as `name`?
    pub fn has_error_hook(&self, name: &str) -> bool {
        let hooks = self.error_hooks.lock().unwrap_or_else(|e| e.into_inner());
        hooks.contains_key(name)
    }

    /// Calls the error hook registered as `name` about `call`: `Ok(true)` = it asks for the
    /// operation to be tried again; `Err` = the call failed, the hook reported an error, or no
    /// error hook has this name.
    pub async fn call_error(&self, name: &str, call: &ErrorHookCall<'_>) -> Result<bool, String> {
        let callback = {
            let hooks = self.error_hooks.lock().unwrap_or_else(|e| e.into_inner());
            hooks.get(name).cloned()
        };
        let callback = callback.ok_or_else(|| format!("error hook `{name}` was not registered"))?;
        let s = |m: Option<&PropertyMap>| m.map(value::to_struct);
        let r = &call.resource;
        let request = ErrorHookRequest {
            urn: r.urn.to_string(),
            id: r.id.to_string(),
            name: r.name.to_string(),
            r#type: r.type_token.to_string(),
            new_inputs: s(r.new_inputs),
            old_inputs: s(r.old_inputs),
            old_outputs: s(r.old_outputs),
            failed_operation: call.failed_operation.to_string(),
            errors: call.errors.to_vec(),
            old_options: r.old_options.clone(),
            new_options: r.new_options.clone(),
        };
        let answer: ErrorHookResponse = self
            .clients
            .invoke(&callback, &request, &format!("error hook `{name}`"))
            .await
            .map_err(|e| e.to_string())?;
        if answer.error.is_empty() {
            Ok(answer.retry)
        } else {
            Err(answer.error)
        }
    }

    /// The hook registered as `name`, if any.
    pub fn get(&self, name: &str) -> Option<Hook> {
        let hooks = self.hooks.lock().unwrap_or_else(|e| e.into_inner());
        hooks.get(name).cloned()
    }

    /// Calls `hook` (registered as `name`) about `call`; `Err` = the call failed or the hook
    /// reported an error, with its message.
    pub async fn call(&self, name: &str, hook: &Hook, call: &HookCall<'_>) -> Result<(), String> {
        let s = |m: Option<&PropertyMap>| m.map(value::to_struct);
        let request = ResourceHookRequest {
            urn: call.urn.to_string(),
            id: call.id.to_string(),
            name: call.name.to_string(),
            r#type: call.type_token.to_string(),
            new_inputs: s(call.new_inputs),
            old_inputs: s(call.old_inputs),
            new_outputs: s(call.new_outputs),
            old_outputs: s(call.old_outputs),
            old_options: call.old_options.clone(),
            new_options: call.new_options.clone(),
        };
        let answer: ResourceHookResponse = self
            .clients
            .invoke(&hook.callback, &request, &format!("hook `{name}`"))
            .await
            .map_err(|e| e.to_string())?;
        if answer.error.is_empty() {
            Ok(())
        } else {
            Err(answer.error)
        }
    }
}
