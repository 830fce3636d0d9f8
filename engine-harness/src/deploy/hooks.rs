//! Resource hooks, applied in one place: the step executor calls [`before`] and [`after`]
//! around a provider's Create, Update and Delete, with the hook names the resource's record
//! binds (`resourceHooks` in the state, as Pulumi keeps them, so that a resource removed from
//! the program still has its delete hooks).
//!
//! Semantics (Pulumi's `Deployment.RunHooks`): the hooks of a kind run in the order bound; in a
//! preview only those registered with `onDryRun` run; a hook bound but not registered by the
//! program in this run is an error ("hook ... was not registered"); a failing hook registered
//! with `ignoreErrors` is a warning. Otherwise a before-hook's failure fails the step (the
//! provider is not called) and an after-hook's failure is an error of the run, shown on the
//! resource, while the step itself stands (the state records what the provider did).

use super::Ctx;
use crate::display::Event;
use crate::monitor::hooks::{HookCall, HookKind, ResourceHooks};
use crate::state::Resource;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The hooks the program of this run registered (none before it connects, and none in a run
/// without a program, such as `destroy`).
#[derive(Default)]
pub(super) struct RunHooks(Mutex<Option<Arc<ResourceHooks>>>);

impl RunHooks {
    /// Uses the hooks of the run's monitor.
    pub(super) fn set(&self, hooks: Arc<ResourceHooks>) {
        if let Ok(mut h) = self.0.lock() {
            *h = Some(hooks);
        }
    }

    fn get(&self) -> Option<Arc<ResourceHooks>> {
        self.0.lock().ok().and_then(|h| h.clone())
    }
}

/// The `resourceHooks` record of a registration's bindings (kind name to hook names).
pub(super) fn record_of(
    bindings: &crate::monitor::hooks::HookBindings,
) -> BTreeMap<String, Vec<String>> {
    bindings
        .iter()
        .map(|(k, names)| (k.as_str().to_string(), names.clone()))
        .collect()
}

/// The hook names `r` binds to `kind`.
fn bound(r: &Resource, kind: HookKind) -> &[String] {
    r.resource_hooks
        .get(kind.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// True when `r` binds any delete hook: a run without the program cannot honour it.
pub(super) fn has_delete_hooks(r: &Resource) -> bool {
    !bound_delete_hooks(r).is_empty()
}

/// The names of the delete hooks (before, then after) `r` binds.
pub(super) fn bound_delete_hooks(r: &Resource) -> Vec<String> {
    let mut names = bound(r, HookKind::BeforeDelete).to_vec();
    names.extend(bound(r, HookKind::AfterDelete).iter().cloned());
    names
}

/// What the hooks of one step are told: the new record (create, update) and the old one
/// (update, delete).
pub(super) struct HookSubject<'a> {
    /// The resource as the step writes it (`None` for a delete).
    pub(super) new: Option<&'a Resource>,
    /// The resource as the state held it (`None` for a create).
    pub(super) old: Option<&'a Resource>,
}

impl HookSubject<'_> {
    fn record(&self) -> &Resource {
        self.new.or(self.old).expect("a hook subject has a record")
    }

    fn call(&self, with_new_outputs: bool) -> HookCall<'_> {
        let r = self.record();
        HookCall {
            urn: &r.urn,
            id: &r.id,
            name: r.name(),
            type_token: &r.type_token,
            new_inputs: self.new.map(|n| &n.inputs),
            old_inputs: self.old.map(|o| &o.inputs),
            new_outputs: self.new.filter(|_| with_new_outputs).map(|n| &n.outputs),
            old_outputs: self.old.map(|o| &o.outputs),
        }
    }
}

/// Runs the hooks bound to `kind`; the first failure's message, as Pulumi words it.
async fn run(ctx: &Ctx, kind: HookKind, subject: &HookSubject<'_>) -> Result<(), String> {
    let r = subject.record();
    let names = bound(r, kind);
    if names.is_empty() {
        return Ok(());
    }
    let registered = ctx.hooks.get();
    let when = if kind.is_before() { "before" } else { "after" };
    for name in names {
        let Some(hook) = registered.as_ref().and_then(|h| h.get(name)) else {
            return Err(format!(
                "{when} hook `{name}` was not registered: the program must register the hook (`{}`) in this run",
                kind.as_str()
            ));
        };
        if ctx.preview && !hook.on_dry_run {
            continue;
        }
        let hooks = registered.as_ref().expect("checked above");
        let call = subject.call(!kind.is_before());
        // Boxed: the callback's gRPC future would otherwise sit inline in every step's future.
        if let Err(e) = Box::pin(hooks.call(name, &hook, &call)).await {
            let msg = format!("{} hook `{name}` failed: {e}", kind.as_str());
            if hook.ignore_errors {
                ctx.display.emit(Event::Log {
                    severity: "warning".into(),
                    urn: Some(r.urn.clone()),
                    message: ctx.display.redactor().mask(&msg),
                });
                continue;
            }
            return Err(format!("{when} hook `{name}` failed: {e}"));
        }
    }
    Ok(())
}

/// Runs the before-hooks of `kind`: `Err` = the step must fail with this message, before the
/// provider is called.
pub(super) async fn before(
    ctx: &Ctx,
    kind: HookKind,
    subject: &HookSubject<'_>,
) -> Result<(), String> {
    run(ctx, kind, subject).await
}

/// Runs the after-hooks of `kind`, once the step is done and recorded. A failure is shown on
/// the resource and fails the run; the step stands.
pub(super) async fn after(ctx: &Ctx, kind: HookKind, subject: &HookSubject<'_>) {
    if let Err(msg) = run(ctx, kind, subject).await {
        let r = subject.record();
        let text = ctx.display.redactor().mask(&msg);
        ctx.display.emit(Event::Log {
            severity: "error".into(),
            urn: Some(r.urn.clone()),
            message: text.clone(),
        });
        ctx.fail(format!(
            "{} ({}): {text}",
            crate::display::short_name(&r.urn),
            r.type_token
        ));
    }
}
