//! Derives a Pulumi package schema from the JSON Schemas of the Rust types (schemars).
//!
//! | Rust | Pulumi schema |
//! |---|---|
//! | doc comment on a field / type | `description` |
//! | `Option<T>`, `#[serde(default)]` | property not in `required` / `requiredInputs` |
//! | [`Secret<T>`](crate::Secret) | `secret: true` |
//! | [`Resource::REPLACE_ON_CHANGES`](super::Resource::REPLACE_ON_CHANGES) | `replaceOnChanges: true` |
//! | a struct used as a field | an object type `<pkg>:index:<Name>` under `types` |
//! | a unit-variant enum | an enum type `<pkg>:index:<Name>` (string values) |
//! | `Vec<T>`, `BTreeMap<String, T>` | `array` with `items`, `object` with `additionalProperties` |
//! | integers, floats, `String`, `bool` | `integer`, `number`, `string`, `boolean` |
//! | [`Asset`](crate::value::Asset), [`Archive`](crate::value::Archive) | `pulumi.json#/Asset`, `pulumi.json#/Archive` |
//! | anything else (`serde_json::Value`, data-carrying enums) | `pulumi.json#/Any` |

use std::collections::BTreeMap;

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::serde_bridge::{PULUMI_REF_SCHEMA_KEY, SECRET_SCHEMA_KEY};
use crate::typed::diff::{Step, path_steps};
use crate::value::UnknownKind;

/// The properties of an object, in Pulumi's form.
pub(crate) struct ObjectSpec {
    pub description: Option<String>,
    pub properties: Map<String, Value>,
    pub required: Vec<String>,
}

/// Collects types while converting.
pub(crate) struct SchemaBuilder {
    package: String,
    generator: SchemaGenerator,
    pub types: BTreeMap<String, Value>,
}

const ANY: &str = "pulumi.json#/Any";

impl SchemaBuilder {
    pub(crate) fn new(package: &str) -> Self {
        SchemaBuilder {
            package: package.to_string(),
            generator: SchemaGenerator::default(),
            types: BTreeMap::new(),
        }
    }

    /// The object spec of `T`'s properties.
    pub(crate) fn object_of<T: JsonSchema>(&mut self) -> ObjectSpec {
        let schema = self.generator.subschema_for::<T>().to_value();
        let resolved = self.resolve(&schema);
        self.object_spec(&resolved)
    }

    /// Marks the property at `path` (an entry of `REPLACE_ON_CHANGES`) `replaceOnChanges` in
    /// `properties` (a resource's) or, for a nested path, in the object type it leads to, as
    /// Pulumi's schema says it: `columns[*].type` marks `type` of the element type of
    /// `columns`, `settings.mode` marks `mode` of the type of `settings`, `tags.*.level`
    /// goes through a map's values. A path the schema cannot say (a particular element
    /// `columns[0].type`, a particular map key, one that ends at an element) marks nothing: the
    /// provider's diff still replaces on it. Returns whether something was marked.
    pub(crate) fn mark_replace_on_changes(
        &mut self,
        properties: &mut Map<String, Value>,
        path: &str,
    ) -> bool {
        let Some(steps) = path_steps(path) else {
            return false;
        };
        let Some((Step::Key(name), rest)) = steps.split_first() else {
            return false;
        };
        mark_in(properties, name, rest, &mut self.types)
    }

    fn definition(&self, reference: &str) -> Option<Value> {
        let name = reference.rsplit('/').next()?;
        self.generator.definitions().get(name).cloned()
    }

    fn resolve(&self, schema: &Value) -> Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let mut def = self.definition(r).unwrap_or(Value::Bool(true));
                // Keep sibling keywords (a field's description next to its `$ref`).
                if let (Value::Object(def_map), Value::Object(here)) = (&mut def, schema) {
                    for (k, v) in here {
                        if k != "$ref" {
                            def_map.insert(k.clone(), v.clone());
                        }
                    }
                }
                def
            }
            None => schema.clone(),
        }
    }

    fn object_spec(&mut self, schema: &Value) -> ObjectSpec {
        let mut spec = ObjectSpec {
            description: schema
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            properties: Map::new(),
            required: Vec::new(),
        };
        self.merge_object(schema, &mut spec);
        spec
    }

    /// Adds the properties of `schema` (and of its `allOf` parts, from `#[serde(flatten)]`).
    fn merge_object(&mut self, schema: &Value, spec: &mut ObjectSpec) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                let converted = self.property_spec(prop);
                spec.properties.insert(name.clone(), converted);
            }
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            spec.required.extend(
                required
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let part = self.resolve(part);
            self.merge_object(&part, spec);
        }
    }

    fn property_spec(&mut self, schema: &Value) -> Value {
        let mut spec = self.type_spec(schema);
        let Value::Object(map) = &mut spec else {
            return spec;
        };
        if let Some(d) = schema.get("description").and_then(Value::as_str) {
            map.insert("description".into(), d.into());
        }
        if is_secret(schema) {
            map.insert("secret".into(), true.into());
        }
        if let Some(default) = schema
            .get("default")
            .filter(|d| d.is_string() || d.is_number() || d.is_boolean())
        {
            map.insert("default".into(), default.clone());
        }
        spec
    }

    fn type_spec(&mut self, schema: &Value) -> Value {
        let schema = strip_null(schema);
        if let Some(builtin) = schema.get(PULUMI_REF_SCHEMA_KEY).and_then(Value::as_str) {
            return json!({"$ref": builtin});
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().unwrap_or("Type").to_string();
            let Some(def) = self.definition(reference) else {
                return json!({"$ref": ANY});
            };
            if let Some(values) = enum_values(&def) {
                let token = self.token(&name);
                if !self.types.contains_key(&token) {
                    let mut t = json!({"type": "string", "enum": values});
                    if let Some(d) = def.get("description") {
                        t["description"] = d.clone();
                    }
                    self.types.insert(token.clone(), t);
                }
                return json!({"$ref": format!("#/types/{token}")});
            }
            if def.get("properties").is_some() || def.get("allOf").is_some() {
                let token = self.token(&name);
                if !self.types.contains_key(&token) {
                    // Reserve the name first: types may refer to themselves.
                    self.types.insert(token.clone(), json!({"type": "object"}));
                    let spec = self.object_spec(&def);
                    let mut t = json!({"type": "object", "properties": spec.properties});
                    if !spec.required.is_empty() {
                        t["required"] = json!(spec.required);
                    }
                    if let Some(d) = spec.description {
                        t["description"] = d.into();
                    }
                    self.types.insert(token.clone(), t);
                }
                return json!({"$ref": format!("#/types/{token}")});
            }
            return self.type_spec(&def);
        }
        let ty = match schema.get("type") {
            Some(Value::String(t)) => t.as_str(),
            _ => return json!({"$ref": ANY}),
        };
        match ty {
            "string" | "integer" | "number" | "boolean" => json!({"type": ty}),
            "array" => {
                let items = schema
                    .get("items")
                    .map(|i| self.type_spec(i))
                    .unwrap_or_else(|| json!({"$ref": ANY}));
                json!({"type": "array", "items": items})
            }
            "object" => {
                let additional = match schema.get("additionalProperties") {
                    Some(Value::Object(_)) => self.type_spec(&schema["additionalProperties"]),
                    _ => json!({"$ref": ANY}),
                };
                json!({"type": "object", "additionalProperties": additional})
            }
            _ => json!({"$ref": ANY}),
        }
    }

    fn token(&self, name: &str) -> String {
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("{}:index:{name}", self.package)
    }
}

/// `T | null` as `T`; `type: [t, "null"]` as `type: t`.
/// Marks `name` of `properties`, or follows `rest` from it into the types (see
/// [`SchemaBuilder::mark_replace_on_changes`]).
fn mark_in(
    properties: &mut Map<String, Value>,
    name: &str,
    rest: &[Step],
    types: &mut BTreeMap<String, Value>,
) -> bool {
    let Some(spec) = properties.get_mut(name) else {
        return false;
    };
    if rest.is_empty() {
        return match spec {
            Value::Object(p) => {
                p.insert("replaceOnChanges".into(), true.into());
                true
            }
            _ => false,
        };
    }
    let mut here = spec.clone();
    let mut rest = rest;
    while let Some((step, after)) = rest.split_first() {
        here = match step {
            Step::Index(i) if i == "*" => here.get("items").cloned().unwrap_or_default(),
            Step::Key(k) if k == "*" => here
                .get("additionalProperties")
                .cloned()
                .unwrap_or_default(),
            Step::Key(k) => {
                let Some(token) = here
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/types/"))
                    .map(str::to_string)
                else {
                    return false;
                };
                // Taken out while marked inside: a type may refer to itself.
                let Some(mut ty) = types.remove(&token) else {
                    return false;
                };
                let marked = match ty.get_mut("properties") {
                    Some(Value::Object(props)) => mark_in(props, k, after, types),
                    _ => false,
                };
                types.insert(token, ty);
                return marked;
            }
            Step::Index(_) => return false,
        };
        rest = after;
    }
    false
}

fn strip_null(schema: &Value) -> Value {
    let mut schema = schema.clone();
    for key in ["anyOf", "oneOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            let non_null: Vec<&Value> = parts
                .iter()
                .filter(|p| p.get("type") != Some(&json!("null")))
                .collect();
            if non_null.len() == 1 && parts.len() == 2 {
                return strip_null(non_null[0]);
            }
        }
    }
    if let Some(Value::Array(types)) = schema.get("type") {
        let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if non_null.len() == 1 {
            schema["type"] = non_null[0].clone();
        }
    }
    schema
}

fn is_secret(schema: &Value) -> bool {
    if schema.get(SECRET_SCHEMA_KEY) == Some(&Value::Bool(true)) {
        return true;
    }
    ["anyOf", "oneOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_array))
        .flatten()
        .any(is_secret)
}

/// The values of a string enum, in Pulumi's form, when `def` is one.
fn enum_values(def: &Value) -> Option<Vec<Value>> {
    if let Some(values) = def.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| v.as_str().map(|s| json!({"value": s})))
            .collect();
    }
    let parts = def.get("oneOf").and_then(Value::as_array)?;
    parts
        .iter()
        .flat_map(|p| match p.get("enum").and_then(Value::as_array) {
            // A group of undocumented variants.
            Some(values) => values
                .iter()
                .map(|v| Some((v.clone(), None)))
                .collect::<Vec<_>>(),
            None => vec![
                p.get("const")
                    .map(|c| (c.clone(), p.get("description").cloned())),
            ],
        })
        .map(|entry| {
            let (value, description) = entry?;
            let value = value.as_str()?.to_string();
            let mut v = json!({"value": value});
            if let Some(d) = description {
                v["description"] = d;
            }
            Some(v)
        })
        .collect()
}

/// The top-level properties of `T` with the kind of unknown that stands for each in a preview.
pub(crate) fn property_kinds<T: JsonSchema>() -> Vec<(String, UnknownKind)> {
    top_level_properties::<T>()
        .into_iter()
        .map(|(name, _, prop)| {
            let kind = match prop.get("type").and_then(Value::as_str) {
                Some("boolean") => UnknownKind::Bool,
                Some("integer" | "number") => UnknownKind::Number,
                Some("array") => UnknownKind::Array,
                Some("object") => UnknownKind::Object,
                _ => UnknownKind::Any,
            };
            (name, kind)
        })
        .collect()
}

/// The top-level properties of `T` that carry the schema extension `key` (set with
/// `#[schemars(extend("key" = ...))]` on the field), with its value.
pub(crate) fn property_extensions<T: JsonSchema>(key: &str) -> Vec<(String, Value)> {
    top_level_properties::<T>()
        .into_iter()
        .filter_map(|(name, raw, _)| raw.get(key).map(|v| (name, v.clone())))
        .collect()
}

/// The top-level properties of `T` (flattened structs included): each name with its schema as
/// written and as resolved (`$ref` followed, `null` alternatives removed).
fn top_level_properties<T: JsonSchema>() -> Vec<(String, Value, Value)> {
    let generator = SchemaGenerator::default();
    let root = generator.into_root_schema_for::<T>().to_value();
    let defs = root.get("$defs").cloned().unwrap_or(Value::Null);
    let resolve = |s: &Value| -> Value {
        match s
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
        {
            Some(name) => defs.get(name).cloned().unwrap_or(Value::Bool(true)),
            None => s.clone(),
        }
    };
    let mut out = Vec::new();
    let mut stack = vec![resolve(&root)];
    while let Some(schema) = stack.pop() {
        for (name, prop) in schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let resolved = strip_null(&resolve(&strip_null(prop)));
            out.push((name.clone(), prop.clone(), resolved));
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            stack.push(resolve(part));
        }
    }
    out
}
