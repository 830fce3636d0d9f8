//! Previews: unknown inputs create nothing and come back unknown.

use super::{CaseResult, Rec, start};
use crate::fixture::ResourceFixture;
use crate::kit::Ctx;
use crate::session::names_property;
use crate::values::{PropertyMap, show_map};

pub(super) async fn preview_unknowns(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    // A preview with the known inputs: computed outputs cannot be known without creating.
    let inputs = s
        .check_valid(
            r,
            &PropertyMap::new(),
            &ResourceFixture::map(&r.inputs),
            "inputs",
        )
        .await?;
    let check = format!("Create({}, preview=true) with known inputs", r.type_token);
    match s.create(r, &inputs, true).await {
        Err(e) => rec.findings.push(e.finding(
            check,
            "handle preview=true: compute what you can, return unknowns for the rest",
        )),
        Ok((id, outputs)) => {
            for key in r
                .computed
                .iter()
                .filter(|k| outputs.get(*k).is_some_and(|v| !v.contains_unknown()))
            {
                rec.fail(
                    format!("{check}: computed output `{key}`"),
                    "unknown (or absent): it is known only once the resource exists",
                    format!(
                        "{}; the provider may have created something during preview",
                        outputs[key]
                    ),
                    "in preview, create nothing and return unknown for outputs you cannot know",
                );
            }
            if !id.is_empty() {
                rec.note(format!(
                    "{}: the preview Create returned id {id:?} (the engine ignores it)",
                    r.type_token
                ));
            }
        }
    }
    let Some(preview) = &r.preview else {
        rec.note(format!("{}: no `preview` inputs with unknowns in the fixture; only the known-input preview ran", r.type_token));
        return Ok(());
    };
    let news = ResourceFixture::map(&preview.inputs);
    let what = format!("{}: Check in preview of {}", r.type_token, show_map(&news));
    let checked = match s.check(r, &PropertyMap::new(), &news).await {
        Err(e) => {
            rec.findings
                .push(e.finding(what, "accept unknown inputs in Check during preview"));
            return Ok(());
        }
        Ok(c) => {
            let unknown_keys: Vec<&String> = news
                .iter()
                .filter(|(_, v)| v.contains_unknown())
                .map(|(k, _)| k)
                .collect();
            for (path, reason) in c
                .failures
                .iter()
                .filter(|(p, _)| unknown_keys.iter().any(|k| names_property(p, k)))
            {
                rec.fail(
                    what.clone(),
                    "no failure for a property whose value is unknown in preview",
                    format!("`{path}`: {reason}"),
                    "skip validation of unknown values: they are known only at `up`",
                );
            }
            c.inputs
        }
    };
    let check = format!("Create({}, preview=true) with unknown inputs", r.type_token);
    match s.create(r, &checked, true).await {
        Err(e) => rec.findings.push(e.finding(
            check,
            "in preview, return unknowns for outputs that depend on unknown inputs",
        )),
        Ok((id, outputs)) => {
            for key in &preview.unknown_outputs {
                match outputs.get(key) {
                    Some(v) if v.contains_unknown() => {}
                    Some(v) => rec.fail(
                        format!("{check}: output `{key}`"),
                        "unknown",
                        format!("{v}"),
                        "an output that depends on an unknown input must be unknown in preview",
                    ),
                    None => rec.fail(
                        format!("{check}: output `{key}`"),
                        "unknown",
                        format!("absent; outputs were {}", show_map(&outputs)),
                        "return the output as an unknown value",
                    ),
                }
            }
            if !id.is_empty() {
                rec.note(format!(
                    "{}: the preview Create with unknowns returned id {id:?}",
                    r.type_token
                ));
            }
        }
    }
    Ok(())
}
