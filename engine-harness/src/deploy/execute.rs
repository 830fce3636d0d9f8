//! The step executor: runs a planned [`Step`], journaling the operation before and after the
//! provider call, showing the step and recording its failure. A preview is a mode of the
//! executor ([`preview`]): the same steps, answered with what the provider plans.

use super::Ctx;
use super::delete::provider_delete;
use super::dependents::delete_dependent;
use super::hooks::{self, HookSubject};
use super::register::{alias_keys, mark_secrets};
use super::step::{Kind, Op, Report, Status, Step};
use super::unsealable::withhold_unsealable;
use crate::Error;
use crate::display::failure_message;
use crate::monitor::RegisteredResource;
use crate::monitor::hooks::HookKind;
use crate::plugin::{CallError, Change, Recorded, Target};
use crate::state::{Key, OperationType, Resource};
use crate::value::PropertyMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The outcome of a step the program waits for: the resource's id and outputs, or why it
/// failed (already shown and counted).
pub(super) type StepResult = Result<RegisteredResource, String>;

/// The answer to a registration: the id (none while unknown, as in a preview of a create) and
/// the outputs.
pub(super) fn registered(id: Option<String>, outputs: PropertyMap) -> RegisteredResource {
    RegisteredResource {
        id,
        outputs,
        property_dependencies: BTreeMap::new(),
    }
}

/// Runs a step. `Ok(Err(_))` = the step failed (already reported); `Err` = the state could not
/// be written.
pub(super) async fn execute(ctx: &Arc<Ctx>, step: Step) -> Result<StepResult, Error> {
    if ctx.preview {
        return Ok(preview(ctx, step).await);
    }
    match step.kind {
        Kind::Same => same(ctx, step).await,
        Kind::Create => create(ctx, step, None).await,
        Kind::Update => update(ctx, step).await,
        Kind::Replace { delete_first } => replace(ctx, step, delete_first).await,
    }
}

fn step_target(r: &Resource) -> Target<'_> {
    Target {
        urn: &r.urn,
        name: r.name(),
        ty: &r.type_token,
    }
}

fn timeout(r: &Resource, op: &str) -> f64 {
    r.custom_timeouts
        .as_ref()
        .and_then(|t| t[op].as_f64())
        .unwrap_or(0.0)
}

/// A preview: what each step would produce, as Pulumi answers it. A resource to be created or
/// replaced has no id yet, and its outputs are the provider's preview (or its inputs), so an
/// SDK treats what it lacks as unknown.
async fn preview(ctx: &Arc<Ctx>, step: Step) -> StepResult {
    let Step { new, old, .. } = &step;
    // Hooks asked to run on dry runs run around the planned step, as in Pulumi's preview.
    let kinds = match step.kind {
        Kind::Same => None,
        Kind::Update => Some((HookKind::BeforeUpdate, HookKind::AfterUpdate)),
        _ => Some((HookKind::BeforeCreate, HookKind::AfterCreate)),
    };
    let subject = HookSubject {
        new: Some(new),
        old: old.as_ref().filter(|_| step.kind == Kind::Update),
    };
    // The old copy of a replacement is deleted too: its delete hooks, before the create when
    // it goes first, after it otherwise (Pulumi's preview applies both steps).
    let replaced = match step.kind {
        Kind::Replace { delete_first } => old.as_ref().map(|o| (o, delete_first)),
        _ => None,
    };
    if let Some((o, true)) = replaced
        && let Err(msg) = preview_delete_hooks(ctx, o).await
    {
        return Err(ctx.failed(step.report(Status::Failed), msg, ""));
    }
    if let Some((b, _)) = kinds
        && let Err(msg) = hooks::before(ctx, b, &subject).await
    {
        return Err(ctx.failed(step.report(Status::Failed), msg, ""));
    }
    for d in step.dependents.iter().rev() {
        ctx.report(Report::new(
            Op::DeleteReplaced,
            &d.urn,
            &d.type_token,
            Status::Planned,
            step.t0,
        ));
    }
    let planned = match (step.kind, old) {
        (Kind::Same, Some(o)) => Ok((Some(o.id.clone()), o.outputs.clone())),
        (Kind::Update, Some(o)) if step.plugin.supports_preview => step
            .plugin
            .update(
                step_target(new),
                Recorded::of(o),
                Change {
                    news: &new.inputs,
                    timeout: timeout(new, "update"),
                    ignore_changes: &new.ignore_changes,
                    preview: true,
                },
            )
            .await
            .map(|out| (Some(o.id.clone()), out))
            .map_err(|e| format!("Update (preview): {e}")),
        (Kind::Update, Some(o)) => {
            let mut m = o.outputs.clone();
            m.extend(new.inputs.clone());
            Ok((Some(o.id.clone()), m))
        }
        _ if step.plugin.supports_preview => step
            .plugin
            .create(
                &new.urn,
                new.name(),
                &new.type_token,
                &new.inputs,
                timeout(new, "create"),
                true,
            )
            .await
            .map(|(_, out)| (None, out))
            .map_err(|e| e.to_string()),
        _ => Ok((None, new.inputs.clone())),
    };
    match planned {
        Ok((id, out)) => {
            if let Some((_, a)) = kinds {
                hooks::after(ctx, a, &subject).await;
            }
            if let Some((o, false)) = replaced
                && let Err(msg) = preview_delete_hooks(ctx, o).await
            {
                return Err(ctx.failed(step.report(Status::Failed), msg, ""));
            }
            ctx.report(step.report(Status::Planned));
            Ok(registered(id, out))
        }
        Err(msg) => Err(ctx.failed(step.report(Status::Failed), msg, "")),
    }
}

/// Shows a create or update that was done: `Ok`, or `Partial` with the step failed when
/// outputs the provider marked secret were withheld (see [`withhold_unsealable`]). The program
/// still gets the resource, since it exists and the state records it.
fn report_done(ctx: &Ctx, step: &Step, withheld: Option<String>) {
    match withheld {
        None => ctx.report(step.report(Status::Ok)),
        Some(why) => {
            ctx.failed(step.report(Status::Partial), why, "");
        }
    }
}

/// Nothing changed: the record is rewritten only when an option or an alias changed it.
async fn same(ctx: &Arc<Ctx>, step: Step) -> Result<StepResult, Error> {
    let o = step.old.as_ref().expect("same implies old state");
    let mut new = step.new.clone();
    new.id = o.id.clone();
    new.outputs = o.outputs.clone();
    new.inputs = o.inputs.clone();
    new.created = o.created.clone();
    new.modified = o.modified.clone();
    if new != *o || step.alias.is_some() {
        ctx.journal
            .write(vec![new], alias_keys(&step.alias))
            .await?;
    }
    ctx.report(step.report(Status::Ok));
    Ok(Ok(registered(Some(o.id.clone()), o.outputs.clone())))
}

/// The delete hooks of `old` in a preview (only the `onDryRun` ones run).
async fn preview_delete_hooks(ctx: &Arc<Ctx>, old: &Resource) -> Result<(), String> {
    let subject = HookSubject {
        new: None,
        old: Some(old),
    };
    hooks::before(ctx, HookKind::BeforeDelete, &subject).await?;
    hooks::after(ctx, HookKind::AfterDelete, &subject).await;
    Ok(())
}

/// An update in place.
async fn update(ctx: &Arc<Ctx>, step: Step) -> Result<StepResult, Error> {
    let o = step.old.as_ref().expect("update implies old state");
    let mut new = step.new.clone();
    new.id = o.id.clone();
    new.created = o.created.clone();
    let subject = HookSubject {
        new: Some(&new),
        old: Some(o),
    };
    if let Err(msg) = hooks::before(ctx, HookKind::BeforeUpdate, &subject).await {
        return Ok(Err(ctx.failed(step.report(Status::Failed), msg, "")));
    }
    ctx.started(Op::Update, &new.urn);
    let op = ctx.journal.begin(OperationType::Updating, o).await?;
    let result = hooks::with_error_hooks(ctx, &subject, "update", || {
        step.plugin.update(
            step_target(&new),
            Recorded::of(o),
            Change {
                news: &new.inputs,
                timeout: timeout(&new, "update"),
                ignore_changes: &new.ignore_changes,
                preview: false,
            },
        )
    })
    .await;
    match result {
        Ok(out) => {
            new.outputs = mark_secrets(&new.additional_secret_outputs, out);
            ctx.display.redactor().add_secrets_of_map(&new.outputs);
            let out = new.outputs.clone();
            let withheld = withhold_unsealable(ctx, &mut new.outputs);
            if let Some(why) = &withheld {
                new.init_errors = vec![why.clone()];
            }
            let put = vec![new.clone()];
            ctx.journal
                .end(Some(op), put, alias_keys(&step.alias))
                .await?;
            report_done(ctx, &step, withheld);
            let subject = HookSubject {
                new: Some(&new),
                old: Some(o),
            };
            hooks::after(ctx, HookKind::AfterUpdate, &subject).await;
            Ok(Ok(registered(Some(o.id.clone()), out)))
        }
        Err(CallError::InitFailed {
            outputs, reasons, ..
        }) => {
            // The update half-happened: keep the old inputs, record the new outputs.
            new.inputs = o.inputs.clone();
            ctx.display.redactor().add_secrets_of_map(&outputs);
            new.outputs = outputs;
            new.init_errors = ctx.display.redactor().mask_all(&reasons);
            ctx.journal
                .end(Some(op), vec![new], alias_keys(&step.alias))
                .await?;
            let msg = format!("updated but failed to initialize: {}", reasons.join("; "));
            let r = step.report(Status::Partial);
            Ok(Err(ctx.failed(r, msg, "; the next `up` retries it")))
        }
        Err(CallError::Failed {
            message,
            outcome_unknown,
        }) => {
            if !outcome_unknown {
                ctx.journal.end(Some(op), vec![], vec![]).await?;
            }
            let msg = failure_message("Update", &message);
            Ok(Err(ctx.failed(step.report(Status::Failed), msg, "")))
        }
    }
}

/// A replacement: delete the old copy first (then create), or create first and keep the old
/// copy, marked for deletion, until the deletions after the program.
async fn replace(ctx: &Arc<Ctx>, step: Step, delete_first: bool) -> Result<StepResult, Error> {
    let o = step.old.clone().expect("replace implies old state");
    if !delete_first {
        let mut old_marked = o;
        old_marked.delete = true;
        return create(ctx, step, Some(old_marked)).await;
    }
    // What depends on the old copy goes first, most dependent first.
    for d in step.dependents.iter().rev() {
        if let Err(e) = delete_dependent(ctx, d, step.t0).await? {
            let msg = format!("its dependent {} could not be deleted: {e}", d.urn);
            return Ok(Err(ctx.failed(step.report(Status::Failed), msg, "")));
        }
    }
    if o.retain_on_delete {
        ctx.journal.write(vec![], vec![Key::live(&o.urn)]).await?;
    } else if let Err(e) = provider_delete(ctx, &step.plugin, &o, vec![Key::live(&o.urn)]).await? {
        let msg = format!("Delete (before replace): {e}");
        return Ok(Err(ctx.failed(step.report(Status::Failed), msg, "")));
    }
    create(ctx, step, None).await
}

/// Create (also the create half of a replace). `old_marked` = the old copy, marked for deletion,
/// written in the same record as the new resource when the create succeeds.
async fn create(
    ctx: &Arc<Ctx>,
    step: Step,
    old_marked: Option<Resource>,
) -> Result<StepResult, Error> {
    let mut res = step.new.clone();
    let mut put = Vec::new();
    let mut remove = Vec::new();
    if let Some(o) = old_marked {
        remove.push(Key::live(&o.urn));
        put.push(o);
    }
    let subject = HookSubject {
        new: Some(&res),
        old: None,
    };
    if let Err(msg) = hooks::before(ctx, HookKind::BeforeCreate, &subject).await {
        return Ok(Err(ctx.failed(step.report(Status::Failed), msg, "")));
    }
    ctx.started(step.kind.op(), &res.urn);
    let op = ctx.journal.begin(OperationType::Creating, &res).await?;
    let result = hooks::with_error_hooks(ctx, &subject, "create", || {
        step.plugin.create(
            &res.urn,
            res.name(),
            &res.type_token,
            &res.inputs,
            timeout(&res, "create"),
            false,
        )
    })
    .await;
    match result {
        Ok((id, out)) => {
            res.id = id.clone();
            res.outputs = mark_secrets(&res.additional_secret_outputs, out);
            ctx.display.redactor().add_secrets_of_map(&res.outputs);
            let out = res.outputs.clone();
            let withheld = withhold_unsealable(ctx, &mut res.outputs);
            if let Some(why) = &withheld {
                res.init_errors = vec![why.clone()];
            }
            // The live entry comes before the old copies it replaces, as Pulumi writes them.
            put.insert(0, res.clone());
            ctx.journal.end(Some(op), put, remove).await?;
            report_done(ctx, &step, withheld);
            let subject = HookSubject {
                new: Some(&res),
                old: None,
            };
            hooks::after(ctx, HookKind::AfterCreate, &subject).await;
            Ok(Ok(registered(Some(id), out)))
        }
        Err(CallError::InitFailed {
            id,
            outputs,
            inputs,
            reasons,
        }) => {
            res.id = id;
            ctx.display.redactor().add_secrets_of_map(&outputs);
            res.outputs = outputs;
            if let Some(i) = inputs {
                res.inputs = i;
            }
            res.init_errors = ctx.display.redactor().mask_all(&reasons);
            put.insert(0, res);
            ctx.journal.end(Some(op), put, remove).await?;
            let msg = format!("created but failed to initialize: {}", reasons.join("; "));
            let advice = "; the next `up` retries it with an update";
            Ok(Err(ctx.failed(step.report(Status::Partial), msg, advice)))
        }
        Err(CallError::Failed {
            message,
            outcome_unknown,
        }) => {
            let advice = if outcome_unknown {
                "; the outcome is unknown, so the pending operation stays recorded"
            } else {
                ctx.journal.end(Some(op), vec![], vec![]).await?;
                ""
            };
            let msg = format!("{}{advice}", failure_message("Create", &message));
            Ok(Err(ctx.failed(step.report(Status::Failed), msg, "")))
        }
    }
}
