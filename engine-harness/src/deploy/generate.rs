//! The step generator: what a registered custom resource needs. It asks the provider's Check
//! and Diff, and nothing else; the executor ([`super::execute`]) performs the step.

use super::dependents::dependent_replacements;
use super::diff::{apply_ignore_changes, diff_lines, timeouts_json};
use super::register::{recorded_dependencies, recorded_property_dependencies};
use super::step::{Kind, Op, Report, Status, Step};
use super::{Ctx, package_of};
use crate::display::{DiffLine, failure_message};
use crate::monitor::{RegisteredResource, Registration, ResourceOptions};
use crate::plugin::Recorded;
use crate::plugin::{CallError, Plugin, Target};
use crate::property_path;
use crate::state::{self, Resource};
use crate::value::PropertyMap;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

/// What the generator hands on: a step to execute, an import to perform, or the failure it
/// already reported.
pub(super) enum Planned {
    /// A step for the executor.
    Step(Box<Step>),
    /// Adopt the resource with this id (`import`); the provider is already resolved.
    Import {
        /// The provider.
        plugin: Arc<Plugin>,
        /// Its reference (`URN::id`).
        reference: String,
        /// The id to adopt.
        id: String,
    },
    /// The step failed before it could run (already shown and counted), with this message.
    Failed(String),
    /// The run may not change it (`--target`, `--exclude`): the program's answer, shown
    /// already; no step runs.
    Kept(RegisteredResource),
}

/// The state record a step writes for `reg`, before its id and outputs are known.
pub(super) fn new_record(reg: &Registration, provider: &str, checked: PropertyMap) -> Resource {
    let opts = &reg.options;
    let now = state::now_rfc3339();
    Resource {
        urn: reg.urn.clone(),
        custom: true,
        type_token: reg.type_token.clone(),
        inputs: checked,
        parent: reg.parent.clone().unwrap_or_default(),
        protect: opts.protect.unwrap_or(false),
        dependencies: recorded_dependencies(&opts.dependencies),
        property_dependencies: recorded_property_dependencies(&opts.property_dependencies),
        provider: provider.to_string(),
        retain_on_delete: opts.retain_on_delete.unwrap_or(false),
        custom_timeouts: timeouts_json(&opts.custom_timeouts),
        ignore_changes: opts.ignore_changes.clone(),
        replace_on_changes: opts.replace_on_changes.clone(),
        additional_secret_outputs: opts.additional_secret_outputs.clone(),
        deleted_with: opts.deleted_with.clone().unwrap_or_default(),
        import_id: opts.import_id.clone().unwrap_or_default(),
        resource_hooks: super::hooks::record_of(&opts.hooks),
        created: Some(now.clone()),
        modified: Some(now),
        ..Default::default()
    }
}

/// Plans the step of one custom resource of the program: its provider, `ignoreChanges`, Check,
/// then (for a resource the state holds) Diff.
pub(super) async fn plan(ctx: &Arc<Ctx>, reg: &Registration) -> Planned {
    let t0 = Instant::now();
    // A dependent deleted for a delete-before-replace is created anew (in a preview too).
    let (old, alias) = match ctx.is_recreating(&reg.urn) {
        true => (None, None),
        false => ctx.old_of(reg),
    };
    let opts = &reg.options;
    ctx.display.redactor().add_secrets_of_map(&reg.inputs);
    let op = if old.is_some() {
        Op::Update
    } else {
        Op::Create
    };
    let fail = |op: Op, msg: String| {
        Planned::Failed(ctx.failed(
            Report::new(op, &reg.urn, &reg.type_token, Status::Failed, t0),
            msg,
            "",
        ))
    };
    if let Some(planned) = ctx.untargeted(reg, old.as_ref(), t0) {
        return planned;
    }
    let handle = match ctx
        .providers
        .for_registration(
            package_of(&reg.type_token),
            opts.provider.as_ref(),
            opts.version.as_deref(),
        )
        .await
    {
        Ok(h) => h,
        Err(e) => return fail(op, e),
    };
    if old.is_none()
        && let Some(id) = &opts.import_id
    {
        return Planned::Import {
            plugin: handle.plugin,
            reference: handle.reference,
            id: id.clone(),
        };
    }
    let news = without_ignored_changes(reg, old.as_ref());
    let plugin = handle.plugin;
    let empty = PropertyMap::new();
    let old_inputs = old.as_ref().map(|o| &o.inputs).unwrap_or(&empty);
    let checked = match plugin
        .check(&reg.urn, &reg.name, &reg.type_token, old_inputs, &news)
        .await
    {
        Ok(c) => c,
        Err(e) => return fail(op, failure_message("Check", &e.to_string())),
    };
    let mut new = new_record(reg, &handle.reference, checked);
    let (kind, diff) = match &old {
        None => (Kind::Create, vec![]),
        Some(o) => match decide(&plugin, target(reg), o, &new.inputs, opts).await {
            Ok(d) => d,
            Err(e) => return fail(Op::Update, failure_message("Diff", &e.to_string())),
        },
    };
    // `--replace`: a replacement even when nothing (or only an in-place change) is asked for.
    let kind = match kind {
        Kind::Same | Kind::Update if ctx.must_replace(&reg.urn) => Kind::Replace {
            delete_first: opts.delete_before_replace.unwrap_or(false),
        },
        k => k,
    };
    if let Kind::Replace { .. } = kind {
        // A replacement is a new resource: checked again without the old inputs, so that the
        // provider computes its defaults afresh (as Pulumi does).
        match plugin
            .check(&reg.urn, &reg.name, &reg.type_token, &empty, &reg.inputs)
            .await
        {
            Ok(c) => new.inputs = c,
            Err(e) => return fail(Op::Replace, failure_message("Check", &e.to_string())),
        }
    }
    if let (Kind::Replace { .. }, Some(o)) = (kind, &old)
        && o.protect
        && new.protect
    {
        let msg = format!(
            "cannot replace it: it is protected. To allow the replacement, remove `protect` from the resource in the program (or set it to false) and run `up` again; URN {}",
            reg.urn
        );
        let r = Report::new(Op::Replace, &reg.urn, &reg.type_token, Status::Failed, t0).diff(diff);
        return Planned::Failed(ctx.failed(r, msg, ""));
    }
    let dependents = match (kind, &old) {
        (Kind::Replace { delete_first: true }, Some(o)) => {
            match dependent_replacements(ctx, o).await {
                Ok(d) => d,
                Err(e) => return fail(Op::Replace, e),
            }
        }
        _ => Vec::new(),
    };
    Planned::Step(Box::new(Step {
        kind,
        new,
        old,
        alias,
        plugin,
        diff,
        t0,
        dependents,
    }))
}

/// A registration's inputs with its `ignoreChanges` undone against the old ones: a copy only
/// when there is something to undo.
fn without_ignored_changes<'a>(
    reg: &'a Registration,
    old: Option<&Resource>,
) -> Cow<'a, PropertyMap> {
    match old {
        Some(o) if !reg.options.ignore_changes.is_empty() => {
            let mut news = reg.inputs.clone();
            apply_ignore_changes(&mut news, &o.inputs, &reg.options.ignore_changes);
            Cow::Owned(news)
        }
        _ => Cow::Borrowed(&reg.inputs),
    }
}

/// The provider call target of a registration.
pub(super) fn target(reg: &Registration) -> Target<'_> {
    Target {
        urn: &reg.urn,
        name: &reg.name,
        ty: &reg.type_token,
    }
}

/// Decides what happens to an existing resource: `Diff`, then replace, update or same, with
/// the diff lines to show.
pub(super) async fn decide(
    plugin: &Plugin,
    target: Target<'_>,
    o: &Resource,
    checked: &PropertyMap,
    opts: &ResourceOptions,
) -> Result<(Kind, Vec<DiffLine>), CallError> {
    let d = plugin
        .diff(target, Recorded::of(o), checked, &opts.ignore_changes)
        .await?;
    let mut changed: Vec<String> = d.diffs.clone();
    changed.extend(d.detailed.iter().map(|(k, _)| property_path::top_level(k)));
    let has_changes = match d.changes {
        2 => true,
        1 => false,
        _ => {
            // DIFF_UNKNOWN: compare inputs ourselves.
            let mut keys: BTreeSet<&String> = o.inputs.keys().collect();
            keys.extend(checked.keys());
            for k in keys {
                if o.inputs.get(k) != checked.get(k) {
                    changed.push(k.clone());
                }
            }
            !changed.is_empty()
        }
    };
    let forced: Vec<String> = opts
        .replace_on_changes
        .iter()
        .filter(|r| r.as_str() == "*" || changed.iter().any(|c| c == *r))
        .cloned()
        .collect();
    let replace = has_changes
        && (!d.replaces.is_empty()
            || d.detailed.iter().any(|(_, k)| k % 2 == 1)
            || !forced.is_empty());
    let mut dd = d.clone();
    if dd.diffs.is_empty() && dd.detailed.is_empty() {
        dd.diffs = changed.clone();
    }
    let lines = diff_lines(&dd, &o.inputs, checked, &forced);
    let kind = if replace {
        Kind::Replace {
            delete_first: opts.delete_before_replace.unwrap_or(false) || d.delete_before_replace,
        }
    } else if has_changes || !o.init_errors.is_empty() {
        Kind::Update
    } else {
        Kind::Same
    };
    Ok((kind, lines))
}
