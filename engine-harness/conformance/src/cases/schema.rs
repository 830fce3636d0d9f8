//! The schema cases: the package schema against the kit's rules (and Pulumi's metaschema when
//! given), and against what Check accepts
//! and Create returns.

use super::resource::cleanup;
use super::{CaseResult, Rec, Stop, start};
use crate::fixture::ResourceFixture;
use crate::kit::{Ctx, SchemaAnswer};
use crate::values::{PropertyMap, Value, show_map};

pub(super) fn schema_absent(ctx: &Ctx) -> String {
    match &ctx.schema {
        SchemaAnswer::Unimplemented => {
            "GetSchema answered UNIMPLEMENTED: the plugin publishes no schema".into()
        }
        SchemaAnswer::Failed(why) | SchemaAnswer::NotStarted(why) => format!("no schema: {why}"),
        SchemaAnswer::NotJson(why) => format!("the schema is not JSON: {why}"),
        SchemaAnswer::Json(_) => String::new(),
    }
}

pub(super) async fn package_schema(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let schema = match &ctx.schema {
        SchemaAnswer::Unimplemented => return Err(Stop::NotApplicable(schema_absent(ctx))),
        SchemaAnswer::Failed(why) | SchemaAnswer::NotStarted(why) => {
            rec.fail(
                "GetSchema answer",
                "a JSON package schema, or the gRPC code UNIMPLEMENTED when there is none",
                why.clone(),
                "return the schema, or answer with code UNIMPLEMENTED (which the engine tolerates) rather than another error",
            );
            return Ok(());
        }
        SchemaAnswer::NotJson(why) => {
            rec.fail(
                "GetSchema answer",
                "a JSON package schema",
                format!("not JSON: {why}"),
                "return the schema as JSON text",
            );
            return Ok(());
        }
        SchemaAnswer::Json(s) => s,
    };
    if let Some(resources) = schema.get("resources").and_then(|r| r.as_object()) {
        rec.note(format!(
            "{} resource type(s) in the schema",
            resources.len()
        ));
    }
    for v in crate::schema_rules::check_package_schema(schema) {
        rec.fail(
            format!("invalid schema at `{}`", v.path),
            v.expected,
            v.found,
            format!("correct `{}` in the schema GetSchema returns", v.path),
        );
    }
    // Pulumi's published metaschema is an extra check, only when the user has it.
    let Some(path) = ctx.kit.metaschema_path() else {
        return Ok(());
    };
    let meta: serde_json::Value = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => {
            rec.fail(
                "the metaschema",
                "a readable JSON Schema",
                format!("{}: {e}", path.display()),
                "point --metaschema at Pulumi's metaschema",
            );
            return Ok(());
        }
    };
    let validator = match jsonschema::validator_for(&meta) {
        Ok(v) => v,
        Err(e) => {
            rec.fail(
                "the metaschema",
                "a valid JSON Schema",
                e.to_string(),
                "point --metaschema at Pulumi's metaschema",
            );
            return Ok(());
        }
    };
    for error in validator.iter_errors(schema).take(50) {
        let at = error.instance_path.to_string();
        let at = if at.is_empty() { "/".to_string() } else { at };
        let mut actual = error.to_string();
        if actual.len() > 400 {
            let cut = actual
                .char_indices()
                .nth(400)
                .map(|(i, _)| i)
                .unwrap_or(actual.len());
            actual.truncate(cut);
            actual.push('…');
        }
        rec.fail(
            format!("invalid schema at `{at}`"),
            "a package schema valid against Pulumi's metaschema",
            actual,
            format!("correct `{at}` in the schema GetSchema returns"),
        );
    }
    Ok(())
}

pub(super) fn schema_kind_matches(declared: &str, v: &Value) -> bool {
    match (declared, v.unwrapped()) {
        (_, Value::Null | Value::Unknown(_)) => true,
        ("string", Value::String(_))
        | ("boolean", Value::Bool(_))
        | ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => n.fract() == 0.0,
        ("array", Value::Array(_)) | ("object", Value::Object(_)) => true,
        _ => false,
    }
}

pub(super) async fn schema_consistency(
    ctx: &Ctx,
    rec: &mut Rec,
    r: &ResourceFixture,
) -> CaseResult {
    let SchemaAnswer::Json(schema) = &ctx.schema else {
        return Err(Stop::NotApplicable(schema_absent(ctx)));
    };
    let Some(resource) = schema.get("resources").and_then(|rs| rs.get(&r.type_token)) else {
        rec.fail(
            format!("`resources[\"{}\"]` in the schema", r.type_token),
            "the fixture's resource type declared in the schema",
            "absent".to_string(),
            format!("declare `{}` under `resources`", r.type_token),
        );
        return Ok(());
    };
    let declared_inputs = resource
        .get("inputProperties")
        .and_then(|p| p.as_object())
        .cloned()
        .unwrap_or_default();
    let declared_outputs = resource
        .get("properties")
        .and_then(|p| p.as_object())
        .cloned()
        .unwrap_or_default();
    let s = start(ctx).await?;
    let inputs = ResourceFixture::map(&r.inputs);
    let checked = s
        .check_valid(r, &PropertyMap::new(), &inputs, "inputs")
        .await?;
    for (key, value) in checked.iter().filter(|(k, _)| !k.starts_with("__")) {
        match declared_inputs.get(key) {
            None => rec.fail(
                format!("{}: input `{key}`", r.type_token),
                "every input Check accepts declared in `inputProperties`",
                format!("Check accepted `{key}`, which the schema does not declare"),
                format!("declare `{key}` in the schema's inputProperties, or reject it in Check"),
            ),
            Some(decl) => {
                if let Some(kind) = decl.get("type").and_then(|t| t.as_str())
                    && !schema_kind_matches(kind, value)
                {
                    rec.fail(
                        format!("{}: type of input `{key}`", r.type_token),
                        format!("a value of the declared type `{kind}`"),
                        format!(
                            "Check accepted a {} ({value})",
                            value.unwrapped().kind_name()
                        ),
                        format!("make the schema's type of `{key}` match what Check accepts"),
                    );
                }
            }
        }
    }
    let required: Vec<String> = resource
        .get("requiredInputs")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for key in required.iter().filter(|k| inputs.contains_key(*k)) {
        let mut without = inputs.clone();
        without.remove(key);
        match s.check(r, &PropertyMap::new(), &without).await {
            Ok(c) if c.failures.is_empty() => rec.fail(
                format!("{}: required input `{key}`", r.type_token),
                format!("Check to report a failure when `{key}` is missing (the schema lists it in requiredInputs)"),
                "Check accepted the inputs without it".to_string(),
                format!("either reject a missing `{key}` in Check or drop it from requiredInputs"),
            ),
            Ok(_) => {}
            Err(e) => rec.findings.push(e.finding(format!("{}: Check without `{key}`", r.type_token), "report missing inputs as failures, not errors")),
        }
    }
    let (id, outputs) = s.create_ok(r, &checked).await?;
    for key in outputs.keys().filter(|k| !k.starts_with("__")) {
        if !declared_outputs.contains_key(key) && !declared_inputs.contains_key(key) {
            rec.fail(
                format!("{}: output `{key}`", r.type_token),
                "every output declared in `properties`",
                format!("Create returned `{key}`, which the schema does not declare"),
                format!("declare `{key}` in the schema's properties"),
            );
        }
    }
    for key in resource
        .get("required")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
    {
        if !outputs.contains_key(key) {
            rec.fail(
                format!("{}: required output `{key}`", r.type_token),
                format!("`{key}` among Create's outputs (the schema lists it in `required`)"),
                format!("absent; outputs were {}", show_map(&outputs)),
                format!("return `{key}` from Create, or drop it from `required`"),
            );
        }
    }
    cleanup(&s, rec, r, &id, &outputs, &checked).await;
    Ok(())
}

// ---------------------------------------------------------------- resources
