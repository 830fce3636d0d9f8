//! Comparing two releases' package schemas: what breaks a program or a stack written against
//! the old one, and what the new one only adds.
//!
//! Breaking: a resource, function or type removed (a resource the new schema lists under
//! another token with `aliases: [{type: <old token>}]` is renamed, not removed); a property
//! removed (the schema has no property aliases, so a renamed property is a removal); a
//! property's type changed; an input newly required; an enum value removed; a property newly
//! forcing replacement (`replaceOnChanges` or `willReplaceOnChanges`). Additions: resources,
//! functions, types, properties and enum values the old schema lacked, and inputs no longer
//! required.
//!
//! ```
//! use provider_conformance::schema_diff::compare;
//! use serde_json::json;
//! let old = json!({"resources": {"p:index:R": {"inputProperties": {"size": {"type": "integer"}}}}});
//! let new = json!({"resources": {"p:index:R": {"inputProperties": {"length": {"type": "integer"}}}}});
//! let diff = compare(&old, &new);
//! assert!(diff.is_breaking());
//! assert!(diff.breaking[0].message.contains("`size`"));
//! ```

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

/// One difference between the two schemas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What changed: `resource-removed`, `property-removed`, `type-changed`,
    /// `input-newly-required`, `enum-value-removed`, `newly-replaces`, `resource-added`, ...
    pub kind: &'static str,
    /// Where: `resources.<token>.inputProperties.<name>` and the like.
    pub path: String,
    /// The change in words, with both values where there are two.
    pub message: String,
}

/// The result of [`compare`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchemaDiff {
    /// Changes that break programs or stacks written against the old schema.
    pub breaking: Vec<Change>,
    /// Changes that only add.
    pub additions: Vec<Change>,
}

impl SchemaDiff {
    /// Is any change breaking?
    pub fn is_breaking(&self) -> bool {
        !self.breaking.is_empty()
    }

    /// The report for people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.breaking.is_empty() && self.additions.is_empty() {
            out.push_str("No changes.\n");
            return out;
        }
        for (title, list) in [
            ("Breaking changes", &self.breaking),
            ("Additions", &self.additions),
        ] {
            if list.is_empty() {
                continue;
            }
            out.push_str(&format!("{title} ({}):\n", list.len()));
            for c in list {
                out.push_str(&format!("  - {}: {}\n", c.path, c.message));
            }
        }
        out
    }

    /// The report as JSON: `{"breaking": [...], "additions": [...]}`, each change with `kind`,
    /// `path` and `message`.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    fn breaking(&mut self, kind: &'static str, path: String, message: String) {
        self.breaking.push(Change {
            kind,
            path,
            message,
        });
    }

    fn addition(&mut self, kind: &'static str, path: String, message: String) {
        self.additions.push(Change {
            kind,
            path,
            message,
        });
    }
}

fn section(schema: &Value, name: &str) -> Map<String, Value> {
    schema
        .get(name)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn properties(spec: &Value, key: &str) -> Map<String, Value> {
    spec.get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn names(spec: &Value, key: &str) -> BTreeSet<String> {
    spec.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A property's type in words, from `type`, `$ref`, `items`, `additionalProperties` and
/// `oneOf` (descriptions, defaults and the like do not count).
pub fn type_of(spec: &Value) -> String {
    if let Some(r) = spec.get("$ref").and_then(Value::as_str) {
        return r.to_string();
    }
    if let Some(options) = spec.get("oneOf").and_then(Value::as_array) {
        let parts: Vec<String> = options.iter().map(type_of).collect();
        return format!("oneOf({})", parts.join(" | "));
    }
    let ty = spec.get("type").and_then(Value::as_str).unwrap_or("any");
    match ty {
        "array" => format!(
            "array<{}>",
            spec.get("items")
                .map(type_of)
                .unwrap_or_else(|| "any".into())
        ),
        "object" if spec.get("additionalProperties").is_some() => format!(
            "map<{}>",
            spec.get("additionalProperties")
                .map(type_of)
                .unwrap_or_else(|| "any".into())
        ),
        other => other.to_string(),
    }
}

fn replaces(spec: &Value) -> bool {
    ["replaceOnChanges", "willReplaceOnChanges"]
        .iter()
        .any(|k| spec.get(*k).and_then(Value::as_bool) == Some(true))
}

/// The old resource tokens each new resource declares as aliases (`aliases: [{type: T}]`).
fn aliased_types(resources: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (token, spec) in resources {
        for alias in spec
            .get("aliases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = alias.get("type").and_then(Value::as_str) {
                out.push((t.to_string(), token.clone()));
            }
        }
    }
    out
}

/// Compares the old release's schema with the new one's.
pub fn compare(old: &Value, new: &Value) -> SchemaDiff {
    let mut diff = SchemaDiff::default();
    let (old_res, new_res) = (section(old, "resources"), section(new, "resources"));
    let aliases = aliased_types(&new_res);
    for (token, o) in &old_res {
        match new_res.get(token) {
            Some(n) => compare_resource(&mut diff, &format!("resources.{token}"), o, n),
            None => match aliases.iter().find(|(from, _)| from == token) {
                Some((_, to)) => {
                    diff.addition(
                        "resource-renamed",
                        format!("resources.{token}"),
                        format!("renamed to `{to}`, which lists `{token}` among its aliases"),
                    );
                    if let Some(n) = new_res.get(to) {
                        compare_resource(&mut diff, &format!("resources.{to}"), o, n);
                    }
                }
                None => diff.breaking(
                    "resource-removed",
                    format!("resources.{token}"),
                    format!(
                        "resource `{token}` removed; stacks holding one cannot be updated. Keep it, or give its successor `aliases: [{{type: \"{token}\"}}]`"
                    ),
                ),
            },
        }
    }
    for token in new_res.keys().filter(|t| !old_res.contains_key(*t)) {
        if !aliases.iter().any(|(_, to)| to == token) {
            diff.addition(
                "resource-added",
                format!("resources.{token}"),
                format!("new resource `{token}`"),
            );
        }
    }

    let (old_fn, new_fn) = (section(old, "functions"), section(new, "functions"));
    for (token, o) in &old_fn {
        let path = format!("functions.{token}");
        match new_fn.get(token) {
            None => diff.breaking(
                "function-removed",
                path,
                format!("function `{token}` removed; programs that call it fail"),
            ),
            Some(n) => {
                let empty = json!({});
                let (oi, ni) = (
                    o.get("inputs").unwrap_or(&empty),
                    n.get("inputs").unwrap_or(&empty),
                );
                compare_properties(
                    &mut diff,
                    &format!("{path}.inputs"),
                    "argument",
                    oi,
                    ni,
                    true,
                );
                let (oo, no) = (
                    o.get("outputs").unwrap_or(&empty),
                    n.get("outputs").unwrap_or(&empty),
                );
                compare_properties(
                    &mut diff,
                    &format!("{path}.outputs"),
                    "result",
                    oo,
                    no,
                    false,
                );
            }
        }
    }
    for token in new_fn.keys().filter(|t| !old_fn.contains_key(*t)) {
        diff.addition(
            "function-added",
            format!("functions.{token}"),
            format!("new function `{token}`"),
        );
    }

    let (old_ty, new_ty) = (section(old, "types"), section(new, "types"));
    for (token, o) in &old_ty {
        let path = format!("types.{token}");
        let Some(n) = new_ty.get(token) else {
            diff.breaking(
                "type-removed",
                path,
                format!("type `{token}` removed; properties that refer to it break"),
            );
            continue;
        };
        if o.get("enum").is_some() || n.get("enum").is_some() {
            compare_enum(&mut diff, &path, o, n);
        } else {
            compare_properties(&mut diff, &path, "field", o, n, true);
        }
    }
    for token in new_ty.keys().filter(|t| !old_ty.contains_key(*t)) {
        diff.addition(
            "type-added",
            format!("types.{token}"),
            format!("new type `{token}`"),
        );
    }

    let empty = json!({});
    let (op, np) = (
        old.get("provider").unwrap_or(&empty),
        new.get("provider").unwrap_or(&empty),
    );
    compare_resource(&mut diff, "provider", op, np);
    diff
}

fn compare_resource(diff: &mut SchemaDiff, path: &str, old: &Value, new: &Value) {
    let (oi, ni) = (
        properties(old, "inputProperties"),
        properties(new, "inputProperties"),
    );
    compare_maps(
        diff,
        &format!("{path}.inputProperties"),
        "input",
        (&oi, &names(old, "requiredInputs")),
        (&ni, &names(new, "requiredInputs")),
        true,
    );
    let (oo, no) = (properties(old, "properties"), properties(new, "properties"));
    compare_maps(
        diff,
        &format!("{path}.properties"),
        "output",
        (&oo, &names(old, "required")),
        (&no, &names(new, "required")),
        false,
    );
}

/// An object spec's `properties` and `required` (a type, a function's inputs or outputs).
fn compare_properties(
    diff: &mut SchemaDiff,
    path: &str,
    what: &str,
    old: &Value,
    new: &Value,
    inputs: bool,
) {
    let (o, n) = (properties(old, "properties"), properties(new, "properties"));
    compare_maps(
        diff,
        &format!("{path}.properties"),
        what,
        (&o, &names(old, "required")),
        (&n, &names(new, "required")),
        inputs,
    );
}

fn compare_maps(
    diff: &mut SchemaDiff,
    path: &str,
    what: &str,
    (old, old_required): (&Map<String, Value>, &BTreeSet<String>),
    (new, new_required): (&Map<String, Value>, &BTreeSet<String>),
    inputs: bool,
) {
    let added: Vec<&String> = new.keys().filter(|k| !old.contains_key(*k)).collect();
    for (name, o) in old {
        let here = format!("{path}.{name}");
        let Some(n) = new.get(name) else {
            let same_type: Vec<String> = added
                .iter()
                .filter(|a| type_of(&new[a.as_str()]) == type_of(o))
                .map(|a| format!("`{a}`"))
                .collect();
            let hint = if same_type.is_empty() {
                String::new()
            } else {
                format!(
                    " (renamed to {}? the schema has no property aliases, so a rename breaks like a removal)",
                    same_type.join(" or ")
                )
            };
            diff.breaking(
                "property-removed",
                here,
                format!("{what} `{name}` ({}) removed{hint}", type_of(o)),
            );
            continue;
        };
        let (ot, nt) = (type_of(o), type_of(n));
        if ot != nt {
            diff.breaking(
                "type-changed",
                here.clone(),
                format!("{what} `{name}` changed type from {ot} to {nt}"),
            );
        }
        if !replaces(o) && replaces(n) {
            diff.breaking(
                "newly-replaces",
                here.clone(),
                format!(
                    "{what} `{name}` now forces replacement (replaceOnChanges): a change that updated in place now deletes and recreates the resource"
                ),
            );
        }
        if inputs && new_required.contains(name) && !old_required.contains(name) {
            diff.breaking(
                "input-newly-required",
                here.clone(),
                format!("{what} `{name}` is now required; programs that leave it out fail"),
            );
        }
        if inputs && old_required.contains(name) && !new_required.contains(name) {
            diff.addition(
                "input-now-optional",
                here,
                format!("{what} `{name}` is no longer required"),
            );
        }
    }
    for name in added {
        let here = format!("{path}.{name}");
        if inputs && new_required.contains(name) {
            diff.breaking(
                "input-newly-required",
                here,
                format!(
                    "new required {what} `{name}` ({}); programs written for the old release lack it",
                    type_of(&new[name.as_str()])
                ),
            );
        } else {
            diff.addition(
                "property-added",
                here,
                format!("new {what} `{name}` ({})", type_of(&new[name.as_str()])),
            );
        }
    }
}

fn enum_values(spec: &Value) -> Vec<Value> {
    spec.get("enum")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| e.get("value").cloned().unwrap_or_else(|| e.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn compare_enum(diff: &mut SchemaDiff, path: &str, old: &Value, new: &Value) {
    let (ot, nt) = (type_of(old), type_of(new));
    if ot != nt {
        diff.breaking(
            "type-changed",
            path.to_string(),
            format!("enum changed type from {ot} to {nt}"),
        );
    }
    let (ov, nv) = (enum_values(old), enum_values(new));
    for v in ov.iter().filter(|v| !nv.contains(v)) {
        diff.breaking(
            "enum-value-removed",
            path.to_string(),
            format!("enum value {v} removed; programs and stacks that use it break"),
        );
    }
    for v in nv.iter().filter(|v| !ov.contains(v)) {
        diff.addition(
            "enum-value-added",
            path.to_string(),
            format!("new enum value {v}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::compare;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({
            "name": "p",
            "resources": {
                "p:index:Thing": {
                    "inputProperties": {
                        "size": {"type": "integer"},
                        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                        "mode": {"$ref": "#/types/p:index:Mode"}
                    },
                    "requiredInputs": ["size"],
                    "properties": {"size": {"type": "integer"}, "id2": {"type": "string"}},
                    "required": ["size"]
                },
                "p:index:Old": {"inputProperties": {}}
            },
            "functions": {"p:index:get": {"inputs": {"properties": {"a": {"type": "string"}}}}},
            "types": {"p:index:Mode": {"type": "string", "enum": [{"value": "fast"}, {"value": "slow"}]}}
        })
    }

    #[test]
    fn identical_schemas_have_no_changes() {
        let d = compare(&base(), &base());
        assert_eq!(d.breaking, vec![]);
        assert_eq!(d.additions, vec![]);
        assert_eq!(d.text(), "No changes.\n");
    }

    #[test]
    fn each_breaking_change_is_named() {
        let mut new = base();
        let thing = &mut new["resources"]["p:index:Thing"];
        thing["inputProperties"]["tags"] = json!({"type": "array", "items": {"type": "string"}});
        thing["inputProperties"]["size"]["replaceOnChanges"] = json!(true);
        thing["requiredInputs"] = json!(["size", "mode"]);
        new["resources"]
            .as_object_mut()
            .unwrap()
            .remove("p:index:Old");
        new["types"]["p:index:Mode"]["enum"] = json!([{"value": "fast"}]);
        new["functions"] = json!({});
        let d = compare(&base(), &new);
        let kinds: Vec<(&str, &str)> = d
            .breaking
            .iter()
            .map(|c| (c.kind, c.path.as_str()))
            .collect();
        assert!(
            kinds.contains(&(
                "type-changed",
                "resources.p:index:Thing.inputProperties.tags"
            )),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(
                "newly-replaces",
                "resources.p:index:Thing.inputProperties.size"
            )),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(
                "input-newly-required",
                "resources.p:index:Thing.inputProperties.mode"
            )),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("resource-removed", "resources.p:index:Old")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("enum-value-removed", "types.p:index:Mode")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("function-removed", "functions.p:index:get")),
            "{kinds:?}"
        );
        assert_eq!(kinds.len(), 6, "{}", d.text());
        let tags = d
            .breaking
            .iter()
            .find(|c| c.kind == "type-changed")
            .unwrap();
        assert!(tags.message.contains("map<string>") && tags.message.contains("array<string>"));
    }

    #[test]
    fn a_renamed_property_is_a_removal_with_a_hint_and_an_aliased_resource_is_not() {
        let mut new = base();
        let thing = &mut new["resources"]["p:index:Thing"];
        let size = thing["inputProperties"]
            .as_object_mut()
            .unwrap()
            .remove("size")
            .unwrap();
        thing["inputProperties"]["length"] = size;
        thing["requiredInputs"] = json!([]);
        let old_res = new["resources"]
            .as_object_mut()
            .unwrap()
            .remove("p:index:Old")
            .unwrap();
        let mut renamed = old_res;
        renamed["aliases"] = json!([{"type": "p:index:Old"}]);
        new["resources"]["p:index:New"] = renamed;
        let d = compare(&base(), &new);
        assert_eq!(d.breaking.len(), 1, "{}", d.text());
        assert_eq!(d.breaking[0].kind, "property-removed");
        assert!(d.breaking[0].message.contains("`size`"));
        assert!(d.breaking[0].message.contains("renamed to `length`?"));
        assert!(d.additions.iter().any(|c| c.kind == "resource-renamed"));
        assert!(d.additions.iter().any(|c| c.path.ends_with(".length")));
    }

    #[test]
    fn additions_alone_are_not_breaking() {
        let mut new = base();
        new["resources"]["p:index:Thing"]["inputProperties"]["label"] = json!({"type": "string"});
        new["resources"]["p:index:Extra"] = json!({"inputProperties": {}});
        new["types"]["p:index:Mode"]["enum"] =
            json!([{"value": "fast"}, {"value": "slow"}, {"value": "eco"}]);
        let d = compare(&base(), &new);
        assert!(!d.is_breaking(), "{}", d.text());
        assert_eq!(d.additions.len(), 3, "{}", d.text());
        let json: serde_json::Value = serde_json::from_str(&d.json()).unwrap();
        assert_eq!(json["breaking"], json!([]));
        assert_eq!(json["additions"].as_array().unwrap().len(), 3);
    }
}
