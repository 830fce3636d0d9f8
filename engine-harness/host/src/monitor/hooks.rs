//! Resource hooks as the monitor keeps them: `RegisterResourceHook` names a callback into the
//! program, and a resource binds hooks by name to its create, update and delete
//! ([`HookBindings`]). The engine's step executor calls [`ResourceHooks::call`] around a step;
//! what a failure means there is the engine's business, not the monitor's.

use super::callbacks::{CallbackClients, check_target};
use super::error::MonitorError;
use crate::value::{self, PropertyMap};
use pulumirpc::{Callback, RegisterResourceHookRequest, ResourceHookRequest, ResourceHookResponse};
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
}

impl HookKind {
    /// Every kind, in the order Pulumi lists them.
    pub const ALL: [HookKind; 6] = [
        HookKind::BeforeCreate,
        HookKind::AfterCreate,
        HookKind::BeforeUpdate,
        HookKind::AfterUpdate,
        HookKind::BeforeDelete,
        HookKind::AfterDelete,
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

/// The bindings of a wire `ResourceHooksBinding` (the error hooks, `on_error`, are not
/// supported and not kept).
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
}

/// The hooks the program registered in this run.
#[derive(Debug, Default)]
pub struct ResourceHooks {
    clients: CallbackClients,
    hooks: Mutex<HashMap<String, Hook>>,
}

impl ResourceHooks {
    /// `RegisterResourceHook`: a name may be registered once.
    pub fn register(&self, req: RegisterResourceHookRequest) -> Result<(), MonitorError> {
        let what = format!("resource hook `{}`", req.name);
        if req.name.is_empty() {
            return Err(MonitorError::InvalidField {
                urn: "(resource hook)".into(),
                field: "name",
                message: "a resource hook needs a name".into(),
            });
        }
        let callback = req.callback.ok_or_else(|| MonitorError::InvalidField {
            urn: what.clone(),
            field: "callback",
            message: "a resource hook needs the callback that runs it".into(),
        })?;
        check_target(&callback, &what)?;
        let mut hooks = self.hooks.lock().unwrap_or_else(|e| e.into_inner());
        if hooks.contains_key(&req.name) {
            return Err(MonitorError::InvalidField {
                urn: what,
                field: "name",
                message: "a resource hook with this name was registered already; give each hook its own name".into(),
            });
        }
        hooks.insert(
            req.name,
            Hook {
                callback,
                on_dry_run: req.on_dry_run,
                ignore_errors: req.ignore_errors,
            },
        );
        Ok(())
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
            old_options: None,
            new_options: None,
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
