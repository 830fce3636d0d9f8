//! One resource's life as the engine drives it: Check, Create, Read, Diff, Update.

use super::{CaseResult, Rec, Stop, start};
use crate::fixture::ResourceFixture;
use crate::kit::{Ctx, SchemaAnswer};
use crate::session::{Session, empty_id_finding, failures_text, names_property};
use crate::values::{PropertyMap, show_map, unwrap_map};
use std::collections::BTreeSet;
use std::time::Duration;

pub(super) async fn cleanup(
    s: &Session,
    rec: &mut Rec,
    r: &ResourceFixture,
    id: &str,
    outputs: &PropertyMap,
    inputs: &PropertyMap,
) {
    if let Err(e) = s.delete(r, id, outputs, inputs).await {
        rec.findings.push(e.finding(
            format!("Delete({}) of the resource this case created", r.type_token),
            "Delete must remove a resource that Create made",
        ));
    }
}

pub(super) async fn invalid_inputs(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    if r.invalid.is_empty() {
        return Err(Stop::NotApplicable(
            "the fixture lists no invalid inputs".into(),
        ));
    }
    let s = start(ctx).await?;
    for (i, bad) in r.invalid.iter().enumerate() {
        let news = ResourceFixture::map(&bad.inputs);
        let what = format!(
            "{}: Check of invalid inputs #{} {}",
            r.type_token,
            i + 1,
            show_map(&news)
        );
        match s.check(r, &PropertyMap::new(), &news).await {
            Err(e) => {
                let crashed = s
                    .plugin
                    .wait_exit(Duration::from_millis(500))
                    .await
                    .is_some();
                rec.fail(
                    what,
                    format!("a response with failures naming {:?}", bad.properties),
                    e.explanation,
                    if crashed {
                        "the plugin crashed on invalid input: validate inputs and return CheckFailures instead of panicking or exiting"
                    } else {
                        "report invalid inputs as `failures` in the CheckResponse, not as an error"
                    },
                );
                if crashed {
                    return Ok(());
                }
            }
            Ok(c) if c.failures.is_empty() => {
                rec.fail(
                    what,
                    format!("failures naming {:?}", bad.properties),
                    "no failures: Check accepted the invalid inputs",
                    "validate every input in Check",
                );
                rec.sdk_fix(
                    "return a `CheckFailure` naming the property from `Resource::check` (type errors and unknown \
                     properties are reported from `Inputs`' serde derive: do not `#[serde(flatten)]` a catch-all map)",
                );
            }
            Ok(c) => {
                for prop in bad
                    .properties
                    .iter()
                    .filter(|p| !c.failures.iter().any(|(path, _)| names_property(path, p)))
                {
                    rec.fail(
                        what.clone(),
                        format!("a failure whose `property` names `{prop}`"),
                        failures_text(&c.failures),
                        format!("set CheckFailure.property to `{prop}` so the user sees which input is wrong"),
                    );
                }
                for (path, reason) in &c.failures {
                    if reason.trim().is_empty() {
                        rec.fail(
                            what.clone(),
                            "a reason for each failure",
                            format!("`{path}` has an empty reason"),
                            "say what is wrong and what is allowed",
                        );
                    }
                }
            }
        }
    }
    if let Some(status) = s.plugin.exited() {
        rec.fail(
            format!("{}: the plugin after Check of invalid inputs", r.type_token),
            "still running",
            format!("exited ({status})"),
            "never exit on bad input",
        );
        rec.sdk_fix("return `Err(..)` or a `CheckFailure` instead of panicking or calling `std::process::exit`");
    }
    Ok(())
}

pub(super) fn expect_outputs(
    rec: &mut Rec,
    check: &str,
    expected: &PropertyMap,
    actual: &PropertyMap,
    fix: &str,
) {
    let actual_plain = unwrap_map(actual);
    for (key, want) in unwrap_map(expected) {
        match actual_plain.get(&key) {
            Some(got) if *got == want => {}
            Some(_) => rec.fail(
                format!("{check}: output `{key}`"),
                format!("{}", expected[&key]),
                format!("{}", actual[&key]),
                fix.to_string(),
            ),
            None => rec.fail(
                format!("{check}: output `{key}`"),
                format!("{}", expected[&key]),
                "absent".to_string(),
                fix.to_string(),
            ),
        }
    }
}

pub(super) fn no_unknowns(rec: &mut Rec, check: &str, outputs: &PropertyMap) {
    for (key, v) in outputs.iter().filter(|(_, v)| v.contains_unknown()) {
        rec.fail(
            format!("{check}: output `{key}`"),
            "a known value (outside preview)",
            format!("{v}"),
            "return every output's real value; the engine rejects unknowns outside preview",
        );
    }
}

pub(super) async fn create_outputs(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    let inputs = s
        .check_valid(
            r,
            &PropertyMap::new(),
            &ResourceFixture::map(&r.inputs),
            "inputs",
        )
        .await?;
    let (id, outputs) = s.create(r, &inputs, false).await.map_err(|e| {
        e.finding(
            format!("Create({}) of {}", r.type_token, show_map(&inputs)),
            "Create must succeed for valid inputs",
        )
    })?;
    if id.is_empty() {
        rec.findings.push(empty_id_finding(r));
    }
    let check = format!("Create({})", r.type_token);
    if let Some(expected) = &r.outputs {
        expect_outputs(
            rec,
            &check,
            &ResourceFixture::map(expected),
            &outputs,
            "return the resource's state as the fixture describes it",
        );
    }
    for key in &r.computed {
        if !outputs.contains_key(key) {
            rec.fail(
                format!("{check}: output `{key}`"),
                "present (a computed output)",
                "absent",
                format!("return `{key}` from Create"),
            );
        }
    }
    no_unknowns(rec, &check, &outputs);
    rec.note(format!("{}: id {id:?}", r.type_token));
    if !id.is_empty() {
        cleanup(&s, rec, r, &id, &outputs, &inputs).await;
    }
    Ok(())
}

pub(super) fn compare_state(
    rec: &mut Rec,
    check: &str,
    before: &PropertyMap,
    after: &PropertyMap,
    fix: &str,
) {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        match (before.get(key), after.get(key)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => rec.fail(
                format!("{check}: property `{key}`"),
                a.map(|v| v.to_string()).unwrap_or_else(|| "absent".into()),
                b.map(|v| v.to_string()).unwrap_or_else(|| "absent".into())
                    + " (the state drifted)",
                fix.to_string(),
            ),
        }
    }
}

pub(super) async fn read_after_create(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    let inputs = s
        .check_valid(
            r,
            &PropertyMap::new(),
            &ResourceFixture::map(&r.inputs),
            "inputs",
        )
        .await?;
    let (id, outputs) = s.create_ok(r, &inputs).await?;
    let check = format!("Read({}) right after Create", r.type_token);
    match s.read(r, &id, &outputs, &inputs).await {
        Err(e) => rec
            .findings
            .push(e.finding(check, "Read must find a resource that Create just made")),
        Ok((read_id, props, _)) => {
            if read_id.is_empty() {
                rec.fail(
                    format!("{check}: id"),
                    id.clone(),
                    "empty: Read reported the resource gone",
                    "Read must find the resource Create made",
                );
            } else if read_id != id {
                rec.fail(
                    format!("{check}: id"),
                    id.clone(),
                    read_id.clone(),
                    "Read must return the id it was given",
                );
            }
            if !read_id.is_empty() {
                compare_state(
                    rec,
                    &check,
                    &outputs,
                    &props,
                    "Read must return the state Create returned when nothing changed; a Read that drifts makes every refresh report changes",
                );
            }
        }
    }
    cleanup(&s, rec, r, &id, &outputs, &inputs).await;
    Ok(())
}

pub(super) fn expect_no_change(rec: &mut Rec, check: &str, d: &crate::session::Diffed) {
    match d.response.changes {
        1 => {}
        0 if d.changed().is_empty() => rec.note(format!(
            "{check}: DIFF_UNKNOWN with no named changes (the engine then compares inputs itself)"
        )),
        _ => rec.fail(
            check.to_string(),
            "changes=DIFF_NONE, nothing replaced",
            d.summary(),
            "Diff must report no change when the inputs equal the recorded ones",
        ),
    }
    if !d.replacing().is_empty() && d.response.changes == 1 {
        rec.fail(
            check.to_string(),
            "no replaces with DIFF_NONE",
            d.summary(),
            "do not list replaces when nothing changed",
        );
    }
}

pub(super) async fn diff_unchanged(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    let news = ResourceFixture::map(&r.inputs);
    let inputs = s
        .check_valid(r, &PropertyMap::new(), &news, "inputs")
        .await?;
    let (id, outputs) = s.create_ok(r, &inputs).await?;
    let again = or_cleanup!(
        s.check_valid(r, &inputs, &news, "inputs (second Check)")
            .await,
        (&s, rec, r, &id, &outputs, &inputs)
    );
    let check = format!("Diff({}) of unchanged inputs", r.type_token);
    match s.diff(r, &id, &outputs, &inputs, &again).await {
        Err(e) => rec.findings.push(e.finding(check, "answer Diff")),
        Ok(d) => expect_no_change(rec, &check, &d),
    }
    cleanup(&s, rec, r, &id, &outputs, &inputs).await;
    Ok(())
}

pub(super) fn replace_on_changes(ctx: &Ctx, r: &ResourceFixture) -> Vec<String> {
    let SchemaAnswer::Json(schema) = &ctx.schema else {
        return Vec::new();
    };
    schema
        .get("resources")
        .and_then(|rs| rs.get(&r.type_token))
        .and_then(|res| res.get("inputProperties"))
        .and_then(|p| p.as_object())
        .map(|props| {
            props
                .iter()
                .filter(|(_, p)| p.get("replaceOnChanges").and_then(|v| v.as_bool()) == Some(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn changed_keys(a: &PropertyMap, b: &PropertyMap) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

pub(super) async fn update_vs_replace(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    if r.update.is_none() && r.replace.is_none() {
        return Err(Stop::NotApplicable(
            "the fixture gives neither `update` nor `replace` inputs".into(),
        ));
    }
    let schema_replaces = replace_on_changes(ctx, r);
    let s = start(ctx).await?;
    let news = ResourceFixture::map(&r.inputs);
    let inputs = s
        .check_valid(r, &PropertyMap::new(), &news, "inputs")
        .await?;
    let (id, outputs) = s.create_ok(r, &inputs).await?;
    let mut state = (outputs.clone(), inputs.clone());
    if let Some(replace) = &r.replace {
        let replace = ResourceFixture::map(replace);
        let checked = or_cleanup!(
            s.check_valid(r, &inputs, &replace, "replace inputs").await,
            (&s, rec, r, &id, &outputs, &inputs)
        );
        let changed = changed_keys(&ResourceFixture::map(&r.inputs), &replace);
        let mut declared = r.expected_replaces();
        declared.extend(
            schema_replaces
                .iter()
                .filter(|k| changed.contains(k))
                .cloned(),
        );
        declared.sort();
        declared.dedup();
        let check = format!(
            "Diff({}) to the replace inputs (changing {changed:?})",
            r.type_token
        );
        match s.diff(r, &id, &outputs, &inputs, &checked).await {
            Err(e) => rec.findings.push(e.finding(check, "answer Diff")),
            Ok(d) => {
                if d.response.changes != 2 {
                    rec.fail(
                        check.clone(),
                        "changes=DIFF_SOME",
                        d.summary(),
                        "report a change when inputs change",
                    );
                }
                let replacing = d.replacing();
                for key in declared
                    .iter()
                    .filter(|k| !replacing.iter().any(|p| names_property(p, k)))
                {
                    rec.fail(
                        check.clone(),
                        format!("`{key}` named in `replaces` (or an *_REPLACE kind in detailedDiff): it is declared replace-on-change"),
                        format!("Diff ignored the replace-on-change field `{key}`: {}", d.summary()),
                        format!("mark a change of `{key}` as requiring replacement; otherwise the engine calls Update for a change that needs a new resource"),
                    );
                    rec.sdk_fix(format!(
                        "list `{key}` (the property's name as serialized, not the Rust field's) in `Resource::REPLACE_ON_CHANGES`"
                    ));
                }
            }
        }
    }
    if let Some(update) = &r.update {
        let update = ResourceFixture::map(update);
        let checked = or_cleanup!(
            s.check_valid(r, &inputs, &update, "update inputs").await,
            (&s, rec, r, &id, &outputs, &inputs)
        );
        let changed = changed_keys(&ResourceFixture::map(&r.inputs), &update);
        let check = format!(
            "Diff({}) to the update inputs (changing {changed:?})",
            r.type_token
        );
        for key in changed.iter().filter(|k| schema_replaces.contains(k)) {
            rec.fail(
                format!("{}: fixture `update` against the schema", r.type_token),
                "an update that changes no replaceOnChanges property",
                format!("it changes `{key}`, which the schema marks replaceOnChanges"),
                "fix the fixture or the schema",
            );
        }
        match s.diff(r, &id, &outputs, &inputs, &checked).await {
            Err(e) => rec.findings.push(e.finding(check, "answer Diff")),
            Ok(d) => {
                if d.response.changes != 2 {
                    rec.fail(
                        check.clone(),
                        "changes=DIFF_SOME",
                        d.summary(),
                        "report a change when inputs change",
                    );
                }
                if !d.replacing().is_empty() {
                    rec.fail(
                        check.clone(),
                        "an in-place update: no replaces and no *_REPLACE kinds",
                        d.summary(),
                        "only replace-on-change properties may force a replacement",
                    );
                    rec.sdk_fix(
                        "define `update` in the `#[resource]` impl (without it every change replaces), and list only \
                         the properties that need a new resource in `Resource::REPLACE_ON_CHANGES`",
                    );
                }
                let named = d.changed();
                for key in changed
                    .iter()
                    .filter(|k| !named.iter().any(|p| names_property(p, k)))
                {
                    if !named.is_empty() {
                        rec.fail(
                            check.clone(),
                            format!("`{key}` named in diffs or detailedDiff"),
                            d.summary(),
                            "name every changed property",
                        );
                    }
                }
            }
        }
        let check = format!("Update({}) to the update inputs", r.type_token);
        match s.update(r, &id, &outputs, &inputs, &checked).await {
            Err(e) => rec
                .findings
                .push(e.finding(check, "Update must apply an in-place change")),
            Ok(after) => {
                if let Some(expected) = &r.update_outputs {
                    expect_outputs(
                        rec,
                        &check,
                        &ResourceFixture::map(expected),
                        &after,
                        "Update must return the updated state",
                    );
                }
                no_unknowns(rec, &check, &after);
                state = (after, checked);
            }
        }
    }
    cleanup(&s, rec, r, &id, &state.0, &state.1).await;
    Ok(())
}
