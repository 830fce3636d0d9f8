//! The step of a custom resource the program registers: create, update, replace or same.

#[allow(unused_imports)]
use super::*;

/// What a step does to a resource.
pub(super) enum Kind {
    /// It is new.
    Create,
    /// Nothing changed.
    Same,
    /// It changes in place.
    Update(Vec<DiffLine>),
    /// It is replaced (the flag: delete the old one first).
    Replace(Vec<DiffLine>, bool),
}

/// The state record a step writes for `reg`, before its id and outputs are known.
pub(super) fn new_record(reg: &Registration, provider: &str, checked: &PropertyMap) -> Resource {
    let opts = &reg.options;
    let now = state::now_rfc3339();
    Resource {
        urn: reg.urn.clone(),
        custom: true,
        type_token: reg.type_token.clone(),
        inputs: checked.clone(),
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
        created: Some(now.clone()),
        modified: Some(now),
        ..Default::default()
    }
}

/// Decides what happens to an existing resource: `Diff`, then replace, update or same.
pub(super) async fn decide(
    plugin: &Plugin,
    target: Target<'_>,
    o: &Resource,
    checked: &PropertyMap,
    opts: &ResourceOptions,
) -> Result<Kind, CallError> {
    let d = plugin
        .diff(target, Recorded::of(o), checked, &opts.ignore_changes)
        .await?;
    let mut changed: Vec<String> = d.diffs.clone();
    changed.extend(
        d.detailed
            .iter()
            .map(|(k, _)| k.split(['.', '[']).next().unwrap_or(k).to_string()),
    );
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
    Ok(if replace {
        Kind::Replace(
            lines,
            opts.delete_before_replace.unwrap_or(false) || d.delete_before_replace,
        )
    } else if has_changes || !o.init_errors.is_empty() {
        Kind::Update(lines)
    } else {
        Kind::Same
    })
}

/// The outcome of a step the program waits for: the resource's id and outputs, or why it
/// failed (already shown and counted).
pub(super) type StepResult = Result<RegisteredResource, String>;

pub(super) fn registered(id: Json, outputs: PropertyMap) -> RegisteredResource {
    RegisteredResource {
        id: id.as_str().map(str::to_string),
        outputs,
        property_dependencies: BTreeMap::new(),
    }
}

/// One custom resource of the program: Check, Diff, then create, update, replace or nothing.
/// `Ok(Err(_))` = the step failed (already reported); `Err` = state could not be written.
pub(super) async fn custom_step(ctx: &Arc<Ctx>, reg: &Registration) -> Result<StepResult, Error> {
    let ty = reg.type_token.as_str();
    let name = reg.name.as_str();
    let urn = reg.urn.clone();
    let t0 = Instant::now();
    let mut news = reg.inputs.clone();
    let (old, alias) = ctx.old_of(reg);
    let opts = &reg.options;
    let failed = |op: &str, msg: String| {
        let full = format!("{name} ({ty}): {msg}");
        ctx.step(Step {
            op,
            urn: &urn,
            ty,
            status: "failed",
            t0,
            diff: vec![],
            message: Some(msg.clone()),
        });
        ctx.fail(full.clone());
        Ok(Err(full))
    };
    if let Some(step) = ctx.untargeted_step(reg, old.as_ref(), t0) {
        return Ok(step);
    }
    let handle = match ctx
        .providers
        .for_registration(package_of(ty), opts.provider.as_ref())
        .await
    {
        Ok(h) => h,
        Err(e) => return failed(if old.is_some() { "update" } else { "create" }, e),
    };
    let plugin = handle.plugin.clone();
    if let Some(o) = &old {
        apply_ignore_changes(&mut news, &o.inputs, &opts.ignore_changes);
    }
    if old.is_none()
        && let Some(id) = &opts.import_id
    {
        return import_step(ctx, reg, &plugin, &handle.reference, id, t0).await;
    }
    let empty = PropertyMap::new();
    let old_inputs = old.as_ref().map(|o| &o.inputs).unwrap_or(&empty);
    let checked = match plugin.check(&urn, name, ty, old_inputs, &news).await {
        Ok(c) => c,
        Err(e) => {
            return failed(
                if old.is_some() { "update" } else { "create" },
                failure_message("Check", &e.to_string()),
            );
        }
    };
    let mut new_res = new_record(reg, &handle.reference, &checked);
    let status_ok = if ctx.preview { "planned" } else { "ok" };

    let kind = match &old {
        None => Kind::Create,
        Some(o) => match decide(
            &plugin,
            Target {
                urn: &urn,
                name,
                ty,
            },
            o,
            &checked,
            opts,
        )
        .await
        {
            Ok(kind) => kind,
            Err(e) => return failed("update", failure_message("Diff", &e.to_string())),
        },
    };
    // `--replace`: a replacement even when nothing (or only an in-place change) is asked for.
    let kind = match kind {
        Kind::Same if ctx.must_replace(&urn) => {
            Kind::Replace(vec![], opts.delete_before_replace.unwrap_or(false))
        }
        Kind::Update(lines) if ctx.must_replace(&urn) => {
            Kind::Replace(lines, opts.delete_before_replace.unwrap_or(false))
        }
        k => k,
    };
    let create_timeout = secs(opts.custom_timeouts.create);
    match kind {
        Kind::Same => {
            let o = old.expect("same implies old state");
            new_res.id = o.id.clone();
            new_res.outputs = o.outputs.clone();
            new_res.inputs = o.inputs.clone();
            new_res.created = o.created.clone();
            new_res.modified = o.modified.clone();
            if !ctx.preview && (new_res != o || alias.is_some()) {
                ctx.journal
                    .write(vec![new_res.clone()], alias_keys(&alias))
                    .await?;
            }
            ctx.step(Step {
                op: "same",
                urn: &urn,
                ty,
                status: status_ok,
                t0,
                diff: vec![],
                message: None,
            });
            Ok(Ok(registered(Json::String(o.id), o.outputs)))
        }
        Kind::Create => {
            if ctx.preview {
                let outputs =
                    preview_create(&plugin, &urn, name, ty, &checked, create_timeout).await;
                match outputs {
                    Ok(out) => {
                        ctx.step(Step {
                            op: "create",
                            urn: &urn,
                            ty,
                            status: status_ok,
                            t0,
                            diff: vec![],
                            message: None,
                        });
                        Ok(Ok(registered(value::unknown(), out)))
                    }
                    Err(e) => failed("create", e.to_string()),
                }
            } else {
                create(ctx, &plugin, new_res, "create", t0, None, vec![]).await
            }
        }
        Kind::Update(lines) => {
            let o = old.expect("update implies old state");
            new_res.id = o.id.clone();
            new_res.created = o.created.clone();
            if ctx.preview {
                let out = if plugin.supports_preview {
                    plugin
                        .update(
                            Target {
                                urn: &urn,
                                name,
                                ty,
                            },
                            Recorded::of(&o),
                            Change {
                                news: &checked,
                                timeout: secs(opts.custom_timeouts.update),
                                ignore_changes: &opts.ignore_changes,
                                preview: true,
                            },
                        )
                        .await
                } else {
                    let mut m = o.outputs.clone();
                    m.extend(checked.clone());
                    Ok(m)
                };
                return match out {
                    Ok(out) => {
                        ctx.step(Step {
                            op: "update",
                            urn: &urn,
                            ty,
                            status: status_ok,
                            t0,
                            diff: lines,
                            message: None,
                        });
                        Ok(Ok(registered(Json::String(o.id), out)))
                    }
                    Err(e) => failed("update", format!("Update (preview): {e}")),
                };
            }
            ctx.display.emit(Event::StepStart {
                op: "update".into(),
                urn: urn.clone(),
            });
            let op = ctx.journal.begin(OperationType::Updating, &o).await?;
            match plugin
                .update(
                    Target {
                        urn: &urn,
                        name,
                        ty,
                    },
                    Recorded::of(&o),
                    Change {
                        news: &checked,
                        timeout: secs(opts.custom_timeouts.update),
                        ignore_changes: &opts.ignore_changes,
                        preview: false,
                    },
                )
                .await
            {
                Ok(out) => {
                    new_res.outputs = ctx.mark_secret_outputs(reg, out);
                    let out = new_res.outputs.clone();
                    ctx.journal
                        .end(Some(op), vec![new_res], alias_keys(&alias))
                        .await?;
                    ctx.step(Step {
                        op: "update",
                        urn: &urn,
                        ty,
                        status: "ok",
                        t0,
                        diff: lines,
                        message: None,
                    });
                    Ok(Ok(registered(Json::String(o.id), out)))
                }
                Err(CallError::InitFailed {
                    outputs, reasons, ..
                }) => {
                    // The update half-happened: keep the old inputs, record the new outputs.
                    new_res.inputs = o.inputs.clone();
                    new_res.outputs = outputs;
                    new_res.init_errors = reasons.clone();
                    ctx.journal
                        .end(Some(op), vec![new_res], alias_keys(&alias))
                        .await?;
                    let msg = format!("updated but failed to initialize: {}", reasons.join("; "));
                    ctx.step(Step {
                        op: "update",
                        urn: &urn,
                        ty,
                        status: "partial",
                        t0,
                        diff: lines,
                        message: Some(msg.clone()),
                    });
                    let full = format!("{name} ({ty}): {msg}; the next `up` retries it");
                    ctx.fail(full.clone());
                    Ok(Err(full))
                }
                Err(CallError::Failed {
                    message,
                    outcome_unknown,
                }) => {
                    if !outcome_unknown {
                        ctx.journal.end(Some(op), vec![], vec![]).await?;
                    }
                    failed("update", failure_message("Update", &message))
                }
            }
        }
        Kind::Replace(lines, delete_first) => {
            let o = old.expect("replace implies old state");
            if ctx.preview {
                return match preview_create(&plugin, &urn, name, ty, &checked, create_timeout).await
                {
                    Ok(out) => {
                        ctx.step(Step {
                            op: "replace",
                            urn: &urn,
                            ty,
                            status: status_ok,
                            t0,
                            diff: lines,
                            message: None,
                        });
                        Ok(Ok(registered(value::unknown(), out)))
                    }
                    Err(e) => failed("replace", e.to_string()),
                };
            }
            if delete_first {
                if o.protect {
                    return failed("replace", "it is protected, so it cannot be deleted to be replaced; set `protect: false` first".into());
                }
                if !o.retain_on_delete {
                    let op = ctx.journal.begin(OperationType::Deleting, &o).await?;
                    match plugin
                        .delete(
                            Target {
                                urn: &urn,
                                name,
                                ty,
                            },
                            Recorded::of(&o),
                            secs(opts.custom_timeouts.delete),
                        )
                        .await
                    {
                        Ok(()) => {
                            ctx.journal
                                .end(Some(op), vec![], vec![Key::live(&o.urn)])
                                .await?
                        }
                        Err(e) => {
                            if !matches!(
                                e,
                                CallError::Failed {
                                    outcome_unknown: true,
                                    ..
                                }
                            ) {
                                ctx.journal.end(Some(op), vec![], vec![]).await?;
                            }
                            return failed("replace", format!("Delete (before replace): {e}"));
                        }
                    }
                } else {
                    ctx.journal.write(vec![], vec![Key::live(&o.urn)]).await?;
                }
                create(ctx, &plugin, new_res, "replace", t0, None, lines).await
            } else {
                let mut old_marked = o.clone();
                old_marked.delete = true;

                create(
                    ctx,
                    &plugin,
                    new_res,
                    "replace",
                    t0,
                    Some(old_marked),
                    lines,
                )
                .await
            }
        }
    }
}

pub(super) async fn preview_create(
    plugin: &Plugin,
    urn: &str,
    name: &str,
    ty: &str,
    checked: &PropertyMap,
    timeout: f64,
) -> Result<PropertyMap, CallError> {
    if plugin.supports_preview {
        plugin
            .create(urn, name, ty, checked, timeout, true)
            .await
            .map(|(_, out)| out)
    } else {
        Ok(checked.clone())
    }
}

/// Create (also the create half of a replace). `old_marked` = the old copy, marked for deletion,
/// written in the same record as the new resource when the create succeeds.
pub(super) async fn create(
    ctx: &Arc<Ctx>,
    plugin: &Plugin,
    mut res: Resource,
    op_name: &str,
    t0: Instant,
    old_marked: Option<Resource>,
    lines: Vec<DiffLine>,
) -> Result<StepResult, Error> {
    let name = res.name().to_string();
    let urn = res.urn.clone();
    let ty = res.type_token.clone();
    let timeout = res
        .custom_timeouts
        .as_ref()
        .and_then(|t| t["create"].as_f64())
        .unwrap_or(0.0);

    let mut extra = Vec::new();
    let mut remove = Vec::new();
    if let Some(o) = &old_marked {
        extra.push(o.clone());
        remove.push(Key::live(&o.urn));
    }
    ctx.display.emit(Event::StepStart {
        op: op_name.into(),
        urn: urn.clone(),
    });
    let op = ctx.journal.begin(OperationType::Creating, &res).await?;
    match plugin
        .create(&urn, &name, &ty, &res.inputs, timeout, false)
        .await
    {
        Ok((id, out)) => {
            res.id = id.clone();
            res.outputs = mark_secrets(&res.additional_secret_outputs, out);
            let out = res.outputs.clone();
            let mut put = extra;
            put.push(res);
            ctx.journal.end(Some(op), put, remove).await?;
            ctx.step(Step {
                op: op_name,
                urn: &urn,
                ty: &ty,
                status: "ok",
                t0,
                diff: lines,
                message: None,
            });
            Ok(Ok(registered(Json::String(id), out)))
        }
        Err(CallError::InitFailed {
            id,
            outputs,
            inputs,
            reasons,
        }) => {
            res.id = id;
            res.outputs = outputs;
            if let Some(i) = inputs {
                res.inputs = i;
            }
            res.init_errors = reasons.clone();
            let mut put = extra;
            put.push(res);
            ctx.journal.end(Some(op), put, remove).await?;
            let msg = format!("created but failed to initialize: {}", reasons.join("; "));
            ctx.step(Step {
                op: op_name,
                urn: &urn,
                ty: &ty,
                status: "partial",
                t0,
                diff: lines,
                message: Some(msg.clone()),
            });
            let full = format!("{name} ({ty}): {msg}; the next `up` retries it with an update");
            ctx.fail(full.clone());
            Ok(Err(full))
        }
        Err(CallError::Failed {
            message,
            outcome_unknown,
        }) => {
            let advice = if outcome_unknown {
                "; the outcome is unknown, so the pending operation stays recorded".to_string()
            } else {
                ctx.journal.end(Some(op), vec![], vec![]).await?;
                String::new()
            };
            let msg = format!("{}{advice}", failure_message("Create", &message));
            ctx.step(Step {
                op: op_name,
                urn: &urn,
                ty: &ty,
                status: "failed",
                t0,
                diff: lines,
                message: Some(msg.clone()),
            });
            let full = format!("{name} ({ty}): {msg}");
            ctx.fail(full.clone());
            Ok(Err(full))
        }
    }
}
