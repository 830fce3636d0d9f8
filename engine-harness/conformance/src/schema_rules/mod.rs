//! The package-schema rules the kit checks with no file from outside its binary.
//!
//! A Pulumi package schema is read by the engine (resource and function tokens, `isComponent`,
//! `methods`) and by every code generator (types, `$ref`s, `required` lists, config, language
//! blocks). These rules are the facts those readers rely on, written down by this project; each
//! violation carries the JSON pointer of the offending value so an author can find it. Pulumi's
//! published metaschema, when the user has it, is an extra check on top of these (see
//! [`Kit::metaschema`](crate::Kit::metaschema)).
//!
//! ```
//! use provider_conformance::schema_rules::check_package_schema;
//! let schema = serde_json::json!({
//!     "name": "greet",
//!     "version": "1.0.0",
//!     "resources": {
//!         "greet:index:Greeting": {
//!             "inputProperties": { "name": { "type": "string" } },
//!             "requiredInputs": ["name", "nmae"]
//!         }
//!     }
//! });
//! let violations = check_package_schema(&schema);
//! assert_eq!(violations.len(), 1);
//! assert_eq!(violations[0].path, "/resources/greet:index:Greeting/requiredInputs/1");
//! ```

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// One broken rule: where, what the rule wants, and what the schema has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON pointer (RFC 6901) of the offending value, `/` for the whole document.
    pub path: String,
    /// What the rule expects there.
    pub expected: String,
    /// What the schema holds instead.
    pub found: String,
}

/// Checks a package schema against the rules and returns every violation, in document order.
pub fn check_package_schema(schema: &Value) -> Vec<SchemaViolation> {
    let mut checker = Checker {
        out: Vec::new(),
        types: BTreeSet::new(),
        resources: BTreeSet::new(),
        functions: BTreeSet::new(),
        package: String::new(),
    };
    checker.package(schema);
    checker.out
}

/// Keys a package schema may have at the top level.
const PACKAGE_KEYS: &[&str] = &[
    "name",
    "displayName",
    "version",
    "description",
    "keywords",
    "homepage",
    "license",
    "attribution",
    "repository",
    "logoUrl",
    "pluginDownloadURL",
    "publisher",
    "namespace",
    "meta",
    "config",
    "types",
    "dependencies",
    "provider",
    "resources",
    "functions",
    "language",
    "parameterization",
    "allowedPackageNames",
];

/// Top-level keys whose value is text.
const PACKAGE_STRINGS: &[&str] = &[
    "displayName",
    "description",
    "homepage",
    "license",
    "attribution",
    "repository",
    "logoUrl",
    "pluginDownloadURL",
    "publisher",
    "namespace",
];

/// The primitive types of a property or an enum.
const PRIMITIVES: &[&str] = &["boolean", "integer", "number", "string"];

/// The built-in types every package may reference.
const BUILTIN_REFS: &[&str] = &[
    "pulumi.json#/Asset",
    "pulumi.json#/Archive",
    "pulumi.json#/Any",
    "pulumi.json#/Json",
];

struct Checker {
    out: Vec<SchemaViolation>,
    types: BTreeSet<String>,
    resources: BTreeSet<String>,
    functions: BTreeSet<String>,
    package: String,
}

/// A JSON pointer under construction.
#[derive(Clone)]
struct At(String);

impl At {
    fn root() -> At {
        At(String::new())
    }
    fn key(&self, key: &str) -> At {
        At(format!(
            "{}/{}",
            self.0,
            key.replace('~', "~0").replace('/', "~1")
        ))
    }
    fn index(&self, i: usize) -> At {
        At(format!("{}/{i}", self.0))
    }
    fn text(&self) -> String {
        if self.0.is_empty() {
            "/".into()
        } else {
            self.0.clone()
        }
    }
}

/// A short rendering of a JSON value for a message.
fn show(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 120 {
        let cut = s.char_indices().nth(120).map(|(i, _)| i).unwrap_or(s.len());
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Whether `name` is a package name: a letter, then letters, digits, `-` and `_`.
fn is_package_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `token` is `package:module:Name`; `hyphen_in_name` allows `-` in the last part
/// (function tokens, whose names may carry a hyphenated provider name).
fn is_token(token: &str, hyphen_in_name: bool) -> bool {
    let parts: Vec<&str> = token.split(':').collect();
    let [package, module, name] = parts.as_slice() else {
        return false;
    };
    let module_ok = module.is_empty()
        || (!module.starts_with(|c: char| c.is_ascii_digit())
            && module
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c)));
    let name_ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric() || "._/".contains(c) || (hyphen_in_name && c == '-')
        });
    is_package_name(package) && module_ok && name_ok
}

/// Whether `version` is semantic versioning, with an optional leading `v`.
fn is_semver(version: &str) -> bool {
    semver::Version::parse(version.strip_prefix('v').unwrap_or(version)).is_ok()
}

impl Checker {
    fn fail(&mut self, at: &At, expected: impl Into<String>, found: impl Into<String>) {
        self.out.push(SchemaViolation {
            path: at.text(),
            expected: expected.into(),
            found: found.into(),
        });
    }

    /// The object at `at`, or a violation.
    fn object<'v>(&mut self, v: &'v Value, at: &At, what: &str) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(map) => Some(map),
            other => {
                self.fail(at, format!("{what} (a JSON object)"), kind(other));
                None
            }
        }
    }

    fn string(&mut self, v: &Value, at: &At, what: &str) {
        if !v.is_string() {
            self.fail(
                at,
                format!("{what} (a string)"),
                format!("{}: {}", kind(v), show(v)),
            );
        }
    }

    fn boolean(&mut self, v: &Value, at: &At, what: &str) {
        if !v.is_boolean() {
            self.fail(
                at,
                format!("{what} (true or false)"),
                format!("{}: {}", kind(v), show(v)),
            );
        }
    }

    fn strings(&mut self, v: &Value, at: &At, what: &str) -> Vec<(usize, String)> {
        let Value::Array(items) = v else {
            self.fail(at, format!("{what} (an array of strings)"), kind(v));
            return Vec::new();
        };
        let mut names = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(s) => names.push((i, s.to_string())),
                None => self.fail(&at.index(i), format!("{what}: a string"), kind(item)),
            }
        }
        names
    }

    fn package(&mut self, schema: &Value) {
        let root = At::root();
        let Some(doc) = self.object(schema, &root, "a package schema") else {
            return;
        };
        match doc.get("name") {
            None => self.fail(&root.key("name"), "the package name", "nothing"),
            Some(Value::String(name)) if is_package_name(name) => self.package = name.clone(),
            Some(other) => self.fail(
                &root.key("name"),
                "a package name: a letter, then letters, digits, `-` or `_`",
                show(other),
            ),
        }
        for (key, value) in doc {
            let at = root.key(key);
            if !PACKAGE_KEYS.contains(&key.as_str()) {
                self.fail(
                    &at,
                    format!("a package schema key (one of {})", PACKAGE_KEYS.join(", ")),
                    format!("unknown key `{key}`"),
                );
            } else if PACKAGE_STRINGS.contains(&key.as_str()) {
                self.string(value, &at, key);
            }
        }
        if let Some(version) = doc.get("version") {
            let at = root.key("version");
            match version.as_str() {
                Some(v) if is_semver(v) => {}
                _ => self.fail(
                    &at,
                    "a semantic version such as `1.2.3` or `v1.2.3-alpha.1`",
                    show(version),
                ),
            }
        }
        if let Some(keywords) = doc.get("keywords") {
            self.strings(keywords, &root.key("keywords"), "keywords");
        }
        for key in ["meta", "language"] {
            if let Some(v) = doc.get(key) {
                self.object(v, &root.key(key), key);
            }
        }
        if let Some(Value::Object(language)) = doc.get("language") {
            for (lang, block) in language {
                self.object(block, &root.key("language").key(lang), "a language block");
            }
        }

        // Collect the declared tokens first: `$ref`s and `methods` may point forward.
        let declared = |key: &str| -> BTreeSet<String> {
            doc.get(key)
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        self.types = declared("types");
        self.resources = declared("resources");
        self.functions = declared("functions");

        if let Some(config) = doc.get("config") {
            self.config(config, &root.key("config"));
        }
        if let Some(types) = doc.get("types") {
            let at = root.key("types");
            if let Some(types) = self.object(types, &at, "a map of type token to type") {
                for (token, spec) in types {
                    self.token(token, &at.key(token), false);
                    self.complex_type(spec, &at.key(token));
                }
            }
        }
        if let Some(provider) = doc.get("provider") {
            self.resource(provider, &root.key("provider"));
        }
        if let Some(resources) = doc.get("resources") {
            let at = root.key("resources");
            if let Some(resources) =
                self.object(resources, &at, "a map of resource token to resource")
            {
                for (token, spec) in resources {
                    self.token(token, &at.key(token), false);
                    self.resource(spec, &at.key(token));
                }
            }
        }
        if let Some(functions) = doc.get("functions") {
            let at = root.key("functions");
            if let Some(functions) =
                self.object(functions, &at, "a map of function token to function")
            {
                for (token, spec) in functions {
                    self.token(token, &at.key(token), true);
                    self.function(spec, &at.key(token));
                }
            }
        }
    }

    /// A resource, type or function token of this package.
    fn token(&mut self, token: &str, at: &At, function: bool) {
        if !is_token(token, function) {
            self.fail(
                at,
                "a token `package:module:Name` (module may be empty; names do not start with a digit)",
                format!("`{token}`"),
            );
        } else if !self.package.is_empty() && token.split(':').next() != Some(&self.package) {
            self.fail(
                at,
                format!(
                    "a token of package `{}` (`{}:module:Name`)",
                    self.package, self.package
                ),
                format!("`{token}`"),
            );
        }
    }

    fn config(&mut self, config: &Value, at: &At) {
        let Some(config) = self.object(config, at, "the package configuration") else {
            return;
        };
        let mut names = BTreeSet::new();
        for (key, value) in config {
            let here = at.key(key);
            match key.as_str() {
                "variables" => {
                    if let Some(vars) = self.object(value, &here, "a map of name to property") {
                        for (name, spec) in vars {
                            names.insert(name.clone());
                            self.property(spec, &here.key(name));
                        }
                    }
                }
                "defaults" => {}
                other => self.fail(
                    &here,
                    "`variables` or `defaults` in `config`",
                    format!("unknown key `{other}`"),
                ),
            }
        }
        if let Some(defaults) = config.get("defaults") {
            let here = at.key("defaults");
            for (i, name) in self.strings(defaults, &here, "names of configuration variables") {
                if !names.contains(&name) {
                    self.fail(
                        &here.index(i),
                        "the name of a variable declared in `config.variables`",
                        format!("`{name}`"),
                    );
                }
            }
        }
    }

    /// An object type's `properties` and `required`; returns the declared property names.
    fn object_type(&mut self, spec: &Map<String, Value>, at: &At) -> BTreeSet<String> {
        let declared = self.properties(spec.get("properties"), &at.key("properties"));
        self.required(
            spec.get("required"),
            &at.key("required"),
            &declared,
            "properties",
        );
        if let Some(d) = spec.get("description") {
            self.string(d, &at.key("description"), "description");
        }
        declared
    }

    fn properties(&mut self, v: Option<&Value>, at: &At) -> BTreeSet<String> {
        let Some(v) = v else {
            return BTreeSet::new();
        };
        let Some(map) = self.object(v, at, "a map of property name to property") else {
            return BTreeSet::new();
        };
        for (name, spec) in map {
            self.property(spec, &at.key(name));
        }
        map.keys().cloned().collect()
    }

    fn required(&mut self, v: Option<&Value>, at: &At, declared: &BTreeSet<String>, list: &str) {
        let Some(v) = v else {
            return;
        };
        let mut seen = BTreeSet::new();
        for (i, name) in self.strings(v, at, "required property names") {
            if !declared.contains(&name) {
                self.fail(
                    &at.index(i),
                    format!(
                        "the name of a property declared in `{list}` ({})",
                        if declared.is_empty() {
                            "none are".to_string()
                        } else {
                            declared.iter().cloned().collect::<Vec<_>>().join(", ")
                        }
                    ),
                    format!("`{name}`"),
                );
            } else if !seen.insert(name.clone()) {
                self.fail(&at.index(i), "each name once", format!("`{name}` again"));
            }
        }
    }

    fn complex_type(&mut self, spec: &Value, at: &At) {
        let Some(map) = self.object(spec, at, "a type") else {
            return;
        };
        if map.contains_key("enum") {
            self.enum_type(map, at);
            return;
        }
        match map.get("type").and_then(Value::as_str) {
            Some("object") => {
                self.object_type(map, at);
            }
            _ => self.fail(
                &at.key("type"),
                "`object` for an object type, or a primitive type with an `enum` list",
                map.get("type")
                    .map(show)
                    .unwrap_or_else(|| "nothing".into()),
            ),
        }
    }

    fn enum_type(&mut self, map: &Map<String, Value>, at: &At) {
        let primitive = map.get("type").and_then(Value::as_str);
        if !primitive.is_some_and(|t| PRIMITIVES.contains(&t)) {
            self.fail(
                &at.key("type"),
                "the enum's underlying type: boolean, integer, number or string",
                map.get("type")
                    .map(show)
                    .unwrap_or_else(|| "nothing".into()),
            );
        }
        let here = at.key("enum");
        let Some(values) = map.get("enum").and_then(Value::as_array) else {
            self.fail(&here, "an array of enum values", "not an array");
            return;
        };
        if values.is_empty() {
            self.fail(&here, "at least one enum value", "an empty list");
        }
        for (i, entry) in values.iter().enumerate() {
            let at_i = here.index(i);
            let Some(entry) = self.object(entry, &at_i, "an enum value ({\"value\": ...})") else {
                continue;
            };
            match (entry.get("value"), primitive) {
                (None, _) => self.fail(&at_i.key("value"), "the enum value", "nothing"),
                (Some(v), Some(t)) if !fits_primitive(v, t) => {
                    self.fail(&at_i.key("value"), format!("a value of type {t}"), show(v))
                }
                _ => {}
            }
            if let Some(n) = entry.get("name") {
                self.string(n, &at_i.key("name"), "the enum value's name");
            }
        }
    }

    fn resource(&mut self, spec: &Value, at: &At) {
        let Some(map) = self.object(spec, at, "a resource") else {
            return;
        };
        self.object_type(map, at);
        let inputs = self.properties(map.get("inputProperties"), &at.key("inputProperties"));
        self.required(
            map.get("requiredInputs"),
            &at.key("requiredInputs"),
            &inputs,
            "inputProperties",
        );
        if let Some(state) = map.get("stateInputs")
            && let Some(state) = self.object(state, &at.key("stateInputs"), "an object type")
        {
            self.object_type(state, &at.key("stateInputs"));
        }
        if let Some(c) = map.get("isComponent") {
            self.boolean(c, &at.key("isComponent"), "isComponent");
        }
        if let Some(d) = map.get("deprecationMessage") {
            self.string(d, &at.key("deprecationMessage"), "deprecationMessage");
        }
        if let Some(methods) = map.get("methods") {
            let here = at.key("methods");
            if let Some(methods) =
                self.object(methods, &here, "a map of method name to function token")
            {
                for (name, token) in methods {
                    match token.as_str() {
                        Some(t) if self.functions.contains(t) => {}
                        Some(t) => self.fail(
                            &here.key(name),
                            "the token of a function declared in `functions`",
                            format!("`{t}`"),
                        ),
                        None => self.fail(&here.key(name), "a function token", kind(token)),
                    }
                }
            }
        }
    }

    fn function(&mut self, spec: &Value, at: &At) {
        let Some(map) = self.object(spec, at, "a function") else {
            return;
        };
        let mut inputs = BTreeSet::new();
        if let Some(i) = map.get("inputs")
            && let Some(i) = self.object(i, &at.key("inputs"), "an object type")
        {
            inputs = self.object_type(i, &at.key("inputs"));
        }
        if let Some(multi) = map.get("multiArgumentInputs") {
            let here = at.key("multiArgumentInputs");
            for (i, name) in self.strings(multi, &here, "input names") {
                if !inputs.contains(&name) {
                    self.fail(
                        &here.index(i),
                        "the name of a property of `inputs`",
                        format!("`{name}`"),
                    );
                }
            }
        }
        for key in ["outputs", "returnType"] {
            let Some(out) = map.get(key) else { continue };
            let here = at.key(key);
            let Some(out) = self.object(out, &here, "a type or an object type") else {
                continue;
            };
            // An object type (with `properties`) or any type reference.
            if out.contains_key("properties") {
                self.object_type(out, &here);
            } else {
                self.type_ref(out, &here);
            }
        }
    }

    /// A property: a type reference plus the property's own attributes.
    fn property(&mut self, spec: &Value, at: &At) {
        let Some(map) = self.object(spec, at, "a property") else {
            return;
        };
        self.type_ref(map, at);
        for key in [
            "secret",
            "replaceOnChanges",
            "willReplaceOnChanges",
            "plain",
        ] {
            if let Some(v) = map.get(key) {
                self.boolean(v, &at.key(key), key);
            }
        }
        for key in ["description", "deprecationMessage"] {
            if let Some(v) = map.get(key) {
                self.string(v, &at.key(key), key);
            }
        }
        for key in ["const", "default"] {
            if let Some(v) = map.get(key)
                && !(v.is_boolean() || v.is_number() || v.is_string())
            {
                self.fail(
                    &at.key(key),
                    format!("a boolean, number or string {key}"),
                    kind(v),
                );
            }
        }
        if let Some(info) = map.get("defaultInfo")
            && let Some(info) = self.object(info, &at.key("defaultInfo"), "defaultInfo")
        {
            match info.get("environment") {
                Some(env) => {
                    self.strings(
                        env,
                        &at.key("defaultInfo").key("environment"),
                        "variable names",
                    );
                }
                None => self.fail(
                    &at.key("defaultInfo").key("environment"),
                    "the environment variables to read the default from",
                    "nothing",
                ),
            }
        }
        if let Some(lang) = map.get("language") {
            self.object(lang, &at.key("language"), "language-specific data");
        }
    }

    /// A type reference: exactly one of a primitive, an array, a map, a `$ref` or a union.
    fn type_ref(&mut self, map: &Map<String, Value>, at: &At) {
        if let Some(r) = map.get("$ref") {
            for key in ["items", "additionalProperties", "oneOf"] {
                if map.contains_key(key) {
                    self.fail(&at.key(key), "nothing beside `$ref`", format!("`{key}`"));
                }
            }
            match r.as_str() {
                Some(r) => self.reference(r, &at.key("$ref")),
                None => self.fail(&at.key("$ref"), "a reference (string)", kind(r)),
            }
            return;
        }
        if let Some(one_of) = map.get("oneOf") {
            let here = at.key("oneOf");
            match one_of.as_array() {
                Some(items) if items.len() >= 2 => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(item) = self.object(item, &here.index(i), "a type") {
                            self.type_ref(item, &here.index(i));
                        }
                    }
                }
                _ => self.fail(&here, "an array of at least two types", show(one_of)),
            }
            if let Some(t) = map.get("type")
                && !t.as_str().is_some_and(|t| PRIMITIVES.contains(&t))
            {
                self.fail(
                    &at.key("type"),
                    "a primitive underlying type of the union",
                    show(t),
                );
            }
            return;
        }
        let Some(t) = map.get("type") else {
            self.fail(
                &at.key("type"),
                "a `type` (boolean, integer, number, string, array, object), a `$ref` or a `oneOf`",
                "none of them",
            );
            return;
        };
        match t.as_str() {
            Some("array") => match map.get("items") {
                Some(items) => {
                    if let Some(items) = self.object(items, &at.key("items"), "the element type") {
                        self.type_ref(items, &at.key("items"));
                    }
                }
                None => self.fail(&at.key("items"), "the element type of the array", "nothing"),
            },
            Some("object") => {
                if map.contains_key("items") {
                    self.fail(&at.key("items"), "no `items` on a map type", "`items`");
                }
                if let Some(values) = map.get("additionalProperties")
                    && let Some(values) =
                        self.object(values, &at.key("additionalProperties"), "the value type")
                {
                    self.type_ref(values, &at.key("additionalProperties"));
                }
            }
            Some(p) if PRIMITIVES.contains(&p) => {
                for key in ["items", "additionalProperties"] {
                    if map.contains_key(key) {
                        self.fail(
                            &at.key(key),
                            format!("nothing beside type `{p}`"),
                            format!("`{key}`"),
                        );
                    }
                }
            }
            _ => self.fail(
                &at.key("type"),
                "boolean, integer, number, string, array or object",
                show(t),
            ),
        }
    }

    fn reference(&mut self, r: &str, at: &At) {
        if BUILTIN_REFS.contains(&r) {
            return;
        }
        let (document, fragment) = match r.split_once('#') {
            Some(parts) => parts,
            None => {
                self.fail(
                    at,
                    "a reference with a `#` fragment (`#/types/<token>`)",
                    format!("`{r}`"),
                );
                return;
            }
        };
        let (section, token) = match fragment.strip_prefix("/types/") {
            Some(t) => ("types", t),
            None => match fragment.strip_prefix("/resources/") {
                Some(t) => ("resources", t),
                None => {
                    self.fail(
                        at,
                        format!(
                            "`#/types/<token>`, `#/resources/<token>` or a built-in ({})",
                            BUILTIN_REFS.join(", ")
                        ),
                        format!("`{r}`"),
                    );
                    return;
                }
            },
        };
        // Tokens in references are URL-escaped (`/` as `%2F`).
        let token = token.replace("%2F", "/").replace("%2f", "/");
        if !document.is_empty() {
            // Another package's document: its tokens cannot be checked here, only their form.
            if !is_token(&token, false) {
                self.fail(
                    at,
                    "a reference to a token `package:module:Name`",
                    format!("`{r}`"),
                );
            }
            return;
        }
        let declared = if section == "types" {
            &self.types
        } else {
            &self.resources
        };
        if !declared.contains(&token) {
            self.fail(
                at,
                format!("a reference to a token declared in `{section}`"),
                format!("`{r}`, which is not declared"),
            );
        }
    }
}

fn fits_primitive(v: &Value, t: &str) -> bool {
    match t {
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
