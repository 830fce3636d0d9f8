//! `up` and `preview`: one step per program resource (create, update, replace or same).

#[allow(unused_imports)]
use super::*;

pub(super) async fn up(
    ctx: &Arc<Ctx>,
    snap: &Snapshot,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<BTreeMap<String, Json>, Error> {
    let p = &ctx.project;
    let index: HashMap<&str, usize> = p
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let deps: Vec<Vec<usize>> = p
        .resources
        .iter()
        .map(|r| r.dependencies.iter().map(|d| index[d.as_str()]).collect())
        .collect();
    let ok = schedule_steps(ctx, deps, parallel, interrupt, |ctx, i| async move {
        resource_step(&ctx, i).await
    })
    .await?;
    let all_ok = ok.iter().all(|b| *b);
    let mut outputs = BTreeMap::new();
    if all_ok && !interrupt.is_cancelled() {
        // Deletions: resources no longer in the program, and old copies of replaced resources.
        let program_urns: HashSet<String> = p
            .resources
            .iter()
            .map(|r| ctx.urn(&r.type_token, &r.name))
            .collect();
        let current = ctx.journal.snapshot();
        let doomed: Vec<Resource> = current
            .resources()
            .into_iter()
            .filter(|r| {
                r.custom
                    && !r.type_token.starts_with("pulumi:")
                    && (r.delete || !program_urns.contains(&r.urn))
            })
            .collect();
        delete_all(ctx, doomed, parallel, interrupt).await?;
        // Stack outputs.
        let resolved = ctx.resolved.lock().map(|r| r.clone()).unwrap_or_default();
        let ev = Evaluator {
            project: p,
            resources: &resolved,
        };
        for (name, tmpl) in &p.outputs {
            match ev.eval(tmpl) {
                Ok(v) => {
                    outputs.insert(name.clone(), v);
                }
                Err(e) => ctx.fail(format!(
                    "{}: output `{name}`: {e}",
                    ctx.project.file.display()
                )),
            }
        }
        if !ctx.preview {
            let stack = Resource {
                urn: ctx.stack_urn.clone(),
                custom: false,
                type_token: "pulumi:pulumi:Stack".into(),
                outputs: outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..Default::default()
            };
            if ctx.journal.get(&stack.urn).as_ref() != Some(&stack) {
                ctx.journal.write(vec![stack], vec![]).await?;
            }
        }
    }
    let _ = snap;
    Ok(outputs)
}

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

/// Evaluates a resource's `${…}` inputs against the outputs resolved so far.
fn evaluate_inputs(ctx: &Ctx, decl: &program::ResourceDecl) -> Result<PropertyMap, String> {
    let empty = HashMap::new();
    let guard = ctx.resolved.lock();
    let resolved = guard.as_deref().unwrap_or(&empty);
    let ev = Evaluator {
        project: &ctx.project,
        resources: resolved,
    };
    Ok(match ev.eval(&Json::Object(decl.properties.clone()))? {
        Json::Object(m) => m,
        _ => PropertyMap::new(),
    })
}

/// The state record a step writes for `decl`, before its id and outputs are known.
fn new_record(
    ctx: &Ctx,
    decl: &program::ResourceDecl,
    urn: &str,
    checked: &PropertyMap,
) -> Resource {
    let (ty, opts) = (decl.type_token.as_str(), &decl.options);
    let deps: Vec<String> = decl
        .dependencies
        .iter()
        .map(|d| {
            ctx.urn(
                &ctx.project
                    .resource(d)
                    .map(|r| r.type_token.clone())
                    .unwrap_or_default(),
                d,
            )
        })
        .collect();
    let now = state::now_rfc3339();
    Resource {
        urn: urn.to_string(),
        custom: true,
        type_token: ty.to_string(),
        inputs: checked.clone(),
        parent: ctx.stack_urn.clone(),
        protect: opts.protect,
        dependencies: deps,
        provider: ctx
            .provider_refs
            .get(&decl.package)
            .cloned()
            .unwrap_or_default(),
        retain_on_delete: opts.retain_on_delete,
        custom_timeouts: timeouts_json(&opts.custom_timeouts),
        ignore_changes: opts.ignore_changes.clone(),
        replace_on_changes: opts.replace_on_changes.clone(),
        created: Some(now.clone()),
        modified: Some(now),
        ..Default::default()
    }
}

/// Decides what happens to an existing resource: `Diff`, then replace, update or same.
async fn decide(
    plugin: &Plugin,
    target: Target<'_>,
    o: &Resource,
    checked: &PropertyMap,
    opts: &program::ResourceOptions,
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
        Kind::Replace(lines, opts.delete_before_replace || d.delete_before_replace)
    } else if has_changes || !o.init_errors.is_empty() {
        Kind::Update(lines)
    } else {
        Kind::Same
    })
}

/// One program resource: evaluate, Check, Diff, then create/update/replace or nothing.
/// `Ok(false)` = the step failed (already reported); `Err` = state could not be written.
pub(super) async fn resource_step(ctx: &Arc<Ctx>, i: usize) -> Result<bool, Error> {
    let decl = &ctx.project.resources[i];
    let ty = decl.type_token.as_str();
    let name = decl.name.as_str();
    let urn = ctx.urn(ty, name);
    let t0 = Instant::now();
    let plugin = ctx.plugins[&decl.package].clone();
    let mut news = match evaluate_inputs(ctx, decl) {
        Ok(m) => m,
        Err(e) => {
            let msg = format!("{}:{}: {name}: {e}", ctx.project.file.display(), decl.line);
            ctx.step(Step {
                op: "create",
                urn: &urn,
                ty,
                status: "failed",
                t0,
                diff: vec![],
                message: Some(msg.clone()),
            });
            ctx.fail(msg);
            return Ok(false);
        }
    };
    let old = ctx.journal.get(&urn);
    let opts = &decl.options;
    if let Some(o) = &old {
        apply_ignore_changes(&mut news, &o.inputs, &opts.ignore_changes);
    }
    let empty = PropertyMap::new();
    let old_inputs = old.as_ref().map(|o| &o.inputs).unwrap_or(&empty);
    let failed = |op: &str, msg: String| {
        let full = format!("{name} ({ty}): {msg}");
        ctx.step(Step {
            op,
            urn: &urn,
            ty,
            status: "failed",
            t0,
            diff: vec![],
            message: Some(msg),
        });
        ctx.fail(full);
        Ok(false)
    };
    let checked = match plugin.check(&urn, name, ty, old_inputs, &news).await {
        Ok(c) => c,
        Err(e) => {
            return failed(
                if old.is_some() { "update" } else { "create" },
                failure_message("Check", &e.to_string()),
            );
        }
    };
    let mut new_res = new_record(ctx, decl, &urn, &checked);
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
    let create_timeout = secs(opts.custom_timeouts.create);
    match kind {
        Kind::Same => {
            let o = old.expect("same implies old state");
            new_res.id = o.id.clone();
            new_res.outputs = o.outputs.clone();
            new_res.inputs = o.inputs.clone();
            new_res.created = o.created.clone();
            new_res.modified = o.modified.clone();
            if !ctx.preview && new_res != o {
                ctx.journal.write(vec![new_res.clone()], vec![]).await?;
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
            resolve(ctx, name, &urn, Json::String(o.id), o.outputs);
            Ok(true)
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
                        resolve(ctx, name, &urn, value::unknown(), out);
                        Ok(true)
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
                        resolve(ctx, name, &urn, Json::String(o.id), out);
                        Ok(true)
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
                    new_res.outputs = out.clone();
                    ctx.journal.end(Some(op), vec![new_res], vec![]).await?;
                    ctx.step(Step {
                        op: "update",
                        urn: &urn,
                        ty,
                        status: "ok",
                        t0,
                        diff: lines,
                        message: None,
                    });
                    resolve(ctx, name, &urn, Json::String(o.id), out);
                    Ok(true)
                }
                Err(CallError::InitFailed {
                    outputs, reasons, ..
                }) => {
                    // The update half-happened: keep the old inputs, record the new outputs.
                    new_res.inputs = o.inputs.clone();
                    new_res.outputs = outputs;
                    new_res.init_errors = reasons.clone();
                    ctx.journal.end(Some(op), vec![new_res], vec![]).await?;
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
                    ctx.fail(format!("{name} ({ty}): {msg}; the next `up` retries it"));
                    Ok(false)
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
                        resolve(ctx, name, &urn, value::unknown(), out);
                        Ok(true)
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
                                .end(Some(op), vec![], vec![Key::live(&urn)])
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
                    ctx.journal.write(vec![], vec![Key::live(&urn)]).await?;
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

pub(super) fn resolve(ctx: &Ctx, name: &str, urn: &str, id: Json, outputs: PropertyMap) {
    if let Ok(mut r) = ctx.resolved.lock() {
        r.insert(
            name.to_string(),
            ResolvedResource {
                urn: urn.to_string(),
                id,
                outputs,
            },
        );
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
) -> Result<bool, Error> {
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
        remove.push(Key::live(&urn));
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
            res.outputs = out.clone();
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
            resolve(ctx, &name, &urn, Json::String(id), out);
            Ok(true)
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
            ctx.fail(format!(
                "{name} ({ty}): {msg}; the next `up` retries it with an update"
            ));
            Ok(false)
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
            ctx.fail(format!("{name} ({ty}): {msg}"));
            Ok(false)
        }
    }
}
