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
//!
//! Every delete step runs its resource's delete hooks, whatever the deletion does (a
//! component's, a retained resource's, one deleted with its owner; in a preview, the `onDryRun`
//! ones), as Pulumi's `DeleteStep` does. A hook is told the resource's options as the state
//! holds them (old) and as the step writes them (new), Pulumi's `resourceOptionsFromState`.
//!
//! Error hooks (`onError`, Pulumi's `RunErrorHooks` and `withRetries`): when the provider's
//! Create, Update or Delete fails, each bound error hook is called with the errors so far
//! (newest first); when any asks for it, the operation is tried again (a warning says so), up
//! to [`MAX_ERROR_HOOK_RETRIES`] failures. A failing error hook fails the step.

use super::Ctx;
use crate::display::Event;
use crate::monitor::hooks::{ErrorHookCall, HookCall, HookKind, ResourceHooks};
use crate::plugin::CallError;
use crate::state::Resource;
use pulumirpc::ResourceOptions;
use pulumirpc::register_resource_request::{CustomTimeouts, ResourceHooksBinding};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// How many failures of one operation the error hooks may have it retried after (Pulumi's
/// `maxErrorHookRetries`).
pub(super) const MAX_ERROR_HOOK_RETRIES: usize = 100;

/// The hooks the program of this run registered (none before it connects, and none in a run
/// without a program, such as `destroy`), and the components created in this run whose
/// after-create hooks wait for their outputs.
#[derive(Default)]
pub(super) struct RunHooks {
    registered: Mutex<Option<Arc<ResourceHooks>>>,
    created_components: Mutex<BTreeMap<String, Resource>>,
    /// The run's interrupt: a hook still running when it comes is abandoned.
    interrupt: Mutex<CancellationToken>,
}

impl RunHooks {
    /// Uses the hooks of the run's monitor; a hook call still running at `interrupt` is
    /// abandoned (the program waits in `SignalAndWaitForShutdown` while the delete hooks run,
    /// so a hook that hangs would otherwise hold the run open past a Ctrl-C).
    pub(super) fn set(&self, hooks: Arc<ResourceHooks>, interrupt: CancellationToken) {
        if let Ok(mut h) = self.registered.lock() {
            *h = Some(hooks);
        }
        if let Ok(mut i) = self.interrupt.lock() {
            *i = interrupt;
        }
    }

    fn get(&self) -> Option<Arc<ResourceHooks>> {
        self.registered.lock().ok().and_then(|h| h.clone())
    }

    /// `call` (a hook named `name`), or an error once the run is interrupted.
    async fn interruptible<T>(
        &self,
        name: &str,
        call: impl std::future::Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        let interrupt = self.interrupt.lock().map(|i| i.clone()).unwrap_or_default();
        tokio::select! {
            r = call => r,
            _ = interrupt.cancelled() => Err(format!(
                "the run was interrupted while hook `{name}` was running; it was abandoned"
            )),
        }
    }
}

/// A component created in this run: its before-create hooks run now (`Err` = the step fails),
/// its after-create hooks when its outputs arrive ([`component_outputs`]).
pub(super) async fn component_created(ctx: &Ctx, record: &Resource) -> Result<(), String> {
    if record.resource_hooks.is_empty() {
        return Ok(());
    }
    let subject = HookSubject {
        new: Some(record),
        old: None,
    };
    before(ctx, HookKind::BeforeCreate, &subject).await?;
    if !bound(record, HookKind::AfterCreate).is_empty()
        && let Ok(mut waiting) = ctx.hooks.created_components.lock()
    {
        waiting.insert(record.urn.clone(), record.clone());
    }
    Ok(())
}

/// `RegisterResourceOutputs` of `urn`: a component created in this run runs its after-create
/// hooks now, with these outputs (Pulumi runs a component's after-hooks there).
pub(super) async fn component_outputs(ctx: &Ctx, urn: &str, outputs: &crate::value::PropertyMap) {
    let waiting = ctx
        .hooks
        .created_components
        .lock()
        .ok()
        .and_then(|mut w| w.remove(urn));
    if let Some(mut record) = waiting {
        record.outputs = outputs.clone();
        let subject = HookSubject {
            new: Some(&record),
            old: None,
        };
        after(ctx, HookKind::AfterCreate, &subject).await;
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
            old_options: self.old.map(options_of),
            new_options: self.new.map(options_of),
        }
    }
}

/// A recorded resource's options as a hook is told them (Pulumi's `resourceOptionsFromState`).
fn options_of(r: &Resource) -> ResourceOptions {
    let binding = |kind: HookKind| {
        r.resource_hooks
            .get(kind.as_str())
            .cloned()
            .unwrap_or_default()
    };
    let hooks = (!r.resource_hooks.is_empty()).then(|| ResourceHooksBinding {
        before_create: binding(HookKind::BeforeCreate),
        after_create: binding(HookKind::AfterCreate),
        before_update: binding(HookKind::BeforeUpdate),
        after_update: binding(HookKind::AfterUpdate),
        before_delete: binding(HookKind::BeforeDelete),
        after_delete: binding(HookKind::AfterDelete),
        on_error: binding(HookKind::OnError),
    });
    let timeout = |op: &str| {
        let seconds = r
            .custom_timeouts
            .as_ref()
            .and_then(|t| t[op].as_f64())
            .unwrap_or(0.0);
        go_duration(seconds)
    };
    let custom_timeouts = r.custom_timeouts.as_ref().map(|_| CustomTimeouts {
        create: timeout("create"),
        update: timeout("update"),
        delete: timeout("delete"),
        read: timeout("read"),
    });
    ResourceOptions {
        depends_on: r.dependencies.clone(),
        protect: Some(r.protect),
        ignore_changes: r.ignore_changes.clone(),
        replace_on_changes: r.replace_on_changes.clone(),
        provider: r.provider.clone(),
        custom_timeouts,
        retain_on_delete: Some(r.retain_on_delete),
        deleted_with: r.deleted_with.clone(),
        additional_secret_outputs: r.additional_secret_outputs.clone(),
        hooks,
        import: r.import_id.clone(),
        parent: r.parent.clone(),
        ..Default::default()
    }
}

/// `seconds` as a Go duration (`1h0m0s`, `5m0s`, `1.5s`; empty for none), as Pulumi writes a
/// custom timeout.
fn go_duration(seconds: f64) -> String {
    if seconds <= 0.0 || !seconds.is_finite() {
        return String::new();
    }
    let whole = seconds.trunc() as u64;
    let frac = seconds - seconds.trunc();
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    let secs = if frac > 0.0 {
        let text = format!("{:.9}", s as f64 + frac);
        text.trim_end_matches('0').to_string()
    } else {
        s.to_string()
    };
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
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
        if let Err(e) = ctx
            .hooks
            .interruptible(name, hooks.call(name, &hook, &call))
            .await
        {
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

/// Runs `call` (the provider's `operation`: `create`, `update` or `delete` of `subject`), and
/// when it fails, the resource's error hooks: tried again while one asks for it (see the
/// module). A resource with no error hook bound fails at the first error, as before.
pub(super) async fn with_error_hooks<T, F, Fut>(
    ctx: &Ctx,
    subject: &HookSubject<'_>,
    operation: &str,
    mut call: F,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CallError>>,
{
    let r = subject.record();
    let names = bound(r, HookKind::OnError);
    let mut errors: Vec<String> = Vec::new();
    loop {
        let e = match call().await {
            Ok(v) => return Ok(v),
            // A resource that exists but failed to initialize is not created again.
            Err(e @ CallError::InitFailed { .. }) => return Err(e),
            Err(e) if names.is_empty() => return Err(e),
            Err(e) => e,
        };
        errors.insert(0, e.to_string());
        let warn = |message: String| {
            ctx.display.emit(Event::Log {
                severity: "warning".into(),
                urn: Some(r.urn.clone()),
                message: ctx.display.redactor().mask(&message),
            })
        };
        if errors.len() >= MAX_ERROR_HOOK_RETRIES {
            warn(format!(
                "maximum number of error hook retries ({MAX_ERROR_HOOK_RETRIES}) reached"
            ));
            return Err(e);
        }
        let registered = ctx.hooks.get();
        let resource = subject.call(false);
        let call_info = ErrorHookCall {
            resource: HookCall {
                new_outputs: None,
                ..resource
            },
            failed_operation: operation,
            errors: &errors,
        };
        let mut retry = false;
        for name in names {
            let answer = match registered.as_ref() {
                Some(h) => {
                    ctx.hooks
                        .interruptible(name, h.call_error(name, &call_info))
                        .await
                }
                None => Err(format!("error hook `{name}` was not registered")),
            };
            match answer {
                Ok(again) => retry |= again,
                Err(msg) => {
                    return Err(CallError::Failed {
                        message: format!(
                            "{e}; error hooks execution failed: error hook `{name}` failed: {msg}"
                        ),
                        outcome_unknown: false,
                    });
                }
            }
        }
        if !retry {
            return Err(e);
        }
        warn(format!(
            "retrying {operation} due to on-error hook request ({}/{MAX_ERROR_HOOK_RETRIES})",
            errors.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::{go_duration, options_of};
    use crate::state::Resource;
    use serde_json::json;

    #[test]
    fn custom_timeouts_are_go_durations_as_pulumi_writes_them() {
        assert_eq!(go_duration(0.0), "");
        assert_eq!(go_duration(30.0), "30s");
        assert_eq!(go_duration(300.0), "5m0s");
        assert_eq!(go_duration(3600.0), "1h0m0s");
        assert_eq!(go_duration(5430.0), "1h30m30s");
        assert_eq!(go_duration(1.5), "1.5s");
    }

    #[test]
    fn a_hook_is_told_the_recorded_options() {
        let r = Resource {
            urn: "urn:pulumi:dev::p::local:index:File::f".into(),
            parent: "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev".into(),
            protect: true,
            dependencies: vec!["urn:a".into()],
            provider: "urn:pulumi:dev::p::pulumi:providers:local::default::id".into(),
            custom_timeouts: Some(json!({"create": 300.0})),
            ignore_changes: vec!["content".into()],
            deleted_with: "urn:b".into(),
            resource_hooks: [("AfterDelete".to_string(), vec!["gone".to_string()])].into(),
            ..Default::default()
        };
        let o = options_of(&r);
        assert_eq!(o.protect, Some(true));
        assert_eq!(o.retain_on_delete, Some(false));
        assert_eq!(o.depends_on, vec!["urn:a".to_string()]);
        assert_eq!(o.provider, r.provider);
        assert_eq!(o.parent, r.parent);
        assert_eq!(o.deleted_with, "urn:b");
        assert_eq!(o.ignore_changes, vec!["content".to_string()]);
        let t = o.custom_timeouts.unwrap();
        assert_eq!((t.create.as_str(), t.delete.as_str()), ("5m0s", ""));
        let hooks = o.hooks.unwrap();
        assert_eq!(hooks.after_delete, vec!["gone".to_string()]);
        assert!(hooks.before_create.is_empty());
    }
}
