//! Fixture files: per resource type, the inputs the kit drives a plugin with.
//!
//! A fixture is JSON or YAML (YAML is read when the file does not parse as JSON):
//!
//! ```yaml
//! config: {root: "${TEMPDIR}"}      # provider configuration for CheckConfig/Configure
//! resources:
//!   - type: local:index:Random      # type token
//!     inputs: {length: 8, prefix: "a-"}           # valid inputs
//!     outputs: {length: 8, prefix: "a-"}          # expected outputs (a subset) after Create
//!     computed: [result]            # outputs known only once created (unknown in preview)
//!     update: {length: 8, prefix: "b-"}           # new inputs that update in place
//!     update_outputs: {prefix: "b-"}             # expected outputs after that update
//!     replace: {length: 12, prefix: "a-"}         # new inputs that force a replacement
//!     replace_keys: [length]        # what Diff must name in `replaces` (default: keys that differ)
//!     invalid:                      # inputs Check must reject, and the properties it must name
//!       - inputs: {length: 0}
//!         properties: [length]
//!     preview:                      # a preview with unknown inputs
//!       inputs: {length: {$unknown: number}, prefix: "a-"}
//!       unknown_outputs: [result]
//!     secrets:                      # secret inputs, and the outputs that must come back secret
//!       inputs: {length: 8, prefix: {$secret: "hush-"}}
//!       secret_outputs: [prefix, result]
//!       update: {length: 8, prefix: {$secret: "quiet-"}}
//!     partial_init:                 # inputs that make Create fail after creating (optional)
//!       type: local:index:Service   # default: this resource's type
//!       inputs: {...}
//!     lives_in_state: "why Read cannot observe a Delete"   # optional
//!     slow_create:                  # a Create that runs long: Cancel must end it (optional)
//!       type: local:index:Command   # default: this resource's type
//!       inputs: {create: "sleep 60"}
//!       cancel_within: 10           # seconds
//!     skip:                         # cases that do not apply, with the reason (optional)
//!       concurrency: "every Create writes the same file"
//!   - type: db:index:Table          # an entry that needs an earlier one (by its `name`)
//!     inputs: {database: "${resources.db.path}", name: "t${N}"}   # `.id` or any output
//!     needs: [db]                   # implied by the reference; for needs without one
//! setup: ["mkdir -p data"]          # shell commands before the first case (optional)
//! teardown: ["rm -rf data"]         # and after the last (optional)
//! invalid_config:                   # configurations CheckConfig must reject (optional)
//!   - config: {root: "/no/such/dir"}
//!     properties: [root]
//! functions:                        # functions to Invoke (optional)
//!   - token: local:index:hash
//!     args: {content: "hello"}
//!     result: {sha256: "2cf24dba..."}           # expected result (a subset)
//!     invalid:                      # arguments it must reject, and the properties to name
//!       - args: {content: 5}
//!         properties: [content]
//! ```
//!
//! An entry whose type the plugin's schema declares `isComponent: true` is a component: the
//! `construct.*` cases build it with Construct (using `inputs`, `invalid` and `secrets`) and the
//! custom-resource cases leave it out.
//!
//! Entries that others need are created once, before the first case, with their `inputs`,
//! and deleted after the last (see [`prerequisites`](crate::prerequisites)).
//!
//! In values, `{"$secret": V}` is a secret and `{"$unknown": "number"}` an unknown. In strings,
//! `${TEMPDIR}` becomes a scratch directory the kit removes afterwards, and (in `resources`)
//! `${N}` a number of each resource instance's own, such as `path: "${TEMPDIR}/file-${N}.txt"`
//! (see [`placeholders`](crate::placeholders)).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::values::{PropertyMap, Value};

/// The fixture format in brief, as `engine-harness conformance --help` shows it.
pub const FORMAT_HELP: &str = "\
Fixture format (JSON or YAML; every key optional except a resource's type and inputs):
  config: {key: value}                 provider configuration (keys without the package)
  setup: [\"shell command\"]           run before the first case (sh -c, in the scratch dir)
  teardown: [\"shell command\"]        run after the last case
  resources:
    - type: pkg:module:Type            type token
      name: db                         URN name (default conformance); how others refer to it
      needs: [other]                   earlier entries (by name) created before, deleted after
      inputs: {...}                    valid inputs; may use ${resources.other.id} or
                                       ${resources.other.<output>}
      outputs: {...}                   expected outputs after Create (a subset)
      computed: [key]                  outputs unknown in a preview
      update: {...}  update_outputs: {...}   new inputs that update in place, and the outputs
      replace: {...}  replace_keys: [key]    new inputs that replace, and what Diff must name
      invalid: [{inputs: {...}, properties: [key]}]   inputs Check must reject
      preview: {inputs: {...}, unknown_outputs: [key]}
      secrets: {inputs: {...}, secret_outputs: [key], update: {...}}
      partial_init: {type: ..., inputs: {...}}       Create creates but fails to initialise
      slow_create: {type: ..., inputs: {...}, cancel_within: 10}   Cancel must end it
      lives_in_state: \"why Read cannot see a Delete\"
      skip: {case-name: \"why it does not apply\"}
  invalid_config: [{config: {...}, properties: [key]}]
  functions:
    - token: pkg:module:name
      args: {...}  result: {...}        a call that must succeed, and its result (a subset)
      invalid: [{args: {...}, properties: [key]}]   arguments it must reject as failures
Values: {$secret: V} is a secret, {$unknown: number} an unknown. In strings, ${TEMPDIR} is a
scratch directory removed afterwards and ${N} a number of each resource instance's own.
The README's \"Conformance fixtures\" section has the details.";

/// A whole fixture file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Provider configuration (`Configure.args`), as fixture values.
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// One entry per resource type to exercise.
    #[serde(default)]
    pub resources: Vec<ResourceFixture>,
    /// Provider configurations that CheckConfig must reject and Configure must refuse.
    #[serde(default)]
    pub invalid_config: Vec<InvalidConfig>,
    /// Functions to call with Invoke.
    #[serde(default)]
    pub functions: Vec<FunctionFixture>,
    /// Shell commands run (with `sh -c`, in the scratch directory when there is one) before
    /// the first case; a failing one stops the run.
    #[serde(default)]
    pub setup: Vec<String>,
    /// Shell commands run after the last case (and after the needed resources are deleted).
    #[serde(default)]
    pub teardown: Vec<String>,
}

/// A provider configuration that CheckConfig must reject and Configure must refuse.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidConfig {
    /// The configuration, as fixture values (keys without the package prefix).
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Keys the failures (and Configure's error) must name.
    #[serde(default)]
    pub properties: Vec<String>,
}

/// A function to call with Invoke.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionFixture {
    /// The function's token, `pkg:module:name`.
    pub token: String,
    /// Arguments of a call that must succeed.
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
    /// What that call must return (a subset: other properties may be present).
    #[serde(default)]
    pub result: Option<serde_json::Map<String, serde_json::Value>>,
    /// Arguments the function must reject, with failures naming the properties.
    #[serde(default)]
    pub invalid: Vec<InvalidArgs>,
}

/// Arguments a function must reject.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidArgs {
    /// The arguments.
    pub args: serde_json::Map<String, serde_json::Value>,
    /// Properties the failures must name (each at least once).
    #[serde(default)]
    pub properties: Vec<String>,
}

/// Inputs for one resource type.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceFixture {
    /// The type token, `pkg:module:Type`.
    #[serde(rename = "type")]
    pub type_token: String,
    /// The resource name used in URNs (default `conformance`); also how later entries refer
    /// to this one (`needs`, `${resources.<name>.id}`).
    #[serde(default)]
    pub name: Option<String>,
    /// Earlier entries (by `name`) this one needs: the kit creates them before the first case
    /// and deletes them after the last (see [`prerequisites`](crate::prerequisites)).
    /// References `${resources.<name>.<output>}` in this entry's values imply them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// Valid inputs.
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// Outputs expected after Create (a subset: other outputs may be present).
    #[serde(default)]
    pub outputs: Option<serde_json::Map<String, serde_json::Value>>,
    /// Output keys whose values are known only once the resource exists.
    #[serde(default)]
    pub computed: Vec<String>,
    /// New inputs that update the resource in place.
    #[serde(default)]
    pub update: Option<serde_json::Map<String, serde_json::Value>>,
    /// Outputs expected after the update (a subset).
    #[serde(default)]
    pub update_outputs: Option<serde_json::Map<String, serde_json::Value>>,
    /// New inputs that force a replacement.
    #[serde(default)]
    pub replace: Option<serde_json::Map<String, serde_json::Value>>,
    /// The properties Diff must name as replacing (default: those that differ in `replace`).
    #[serde(default)]
    pub replace_keys: Option<Vec<String>>,
    /// Inputs that Check must reject.
    #[serde(default)]
    pub invalid: Vec<InvalidInputs>,
    /// A preview with unknown inputs.
    #[serde(default)]
    pub preview: Option<PreviewFixture>,
    /// Secret inputs.
    #[serde(default)]
    pub secrets: Option<SecretsFixture>,
    /// A way to provoke a partial-initialization error.
    #[serde(default)]
    pub partial_init: Option<PartialInitFixture>,
    /// Set when the resource exists only in Pulumi's state, so that Read cannot observe a
    /// Delete: the reason, shown when the delete-then-read case is skipped.
    #[serde(default)]
    pub lives_in_state: Option<String>,
    /// A Create that takes long, for the cancel case: Cancel must end it promptly.
    #[serde(default)]
    pub slow_create: Option<SlowCreateFixture>,
    /// Cases that do not apply to this resource, by name, with the reason (shown as n/a).
    #[serde(default)]
    pub skip: BTreeMap<String, String>,
}

/// A Create that runs for a long time unless cancelled.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlowCreateFixture {
    /// The type token, when not the resource's own.
    #[serde(default, rename = "type")]
    pub type_token: Option<String>,
    /// Inputs with which Create runs long.
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// Seconds within which Create must end after Cancel (default 10).
    #[serde(default)]
    pub cancel_within: Option<f64>,
}

/// Inputs that Check must reject.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidInputs {
    /// The inputs.
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// Properties the failures must name (each at least once).
    #[serde(default)]
    pub properties: Vec<String>,
}

/// A preview with unknown inputs.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewFixture {
    /// Inputs, some of them `{$unknown: KIND}`.
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// Outputs that must come back unknown.
    #[serde(default)]
    pub unknown_outputs: Vec<String>,
}

/// Secret inputs.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsFixture {
    /// Inputs with some `{$secret: V}` values.
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// Outputs that must come back secret.
    #[serde(default)]
    pub secret_outputs: Vec<String>,
    /// New inputs for an in-place update that keeps the secret (optional).
    #[serde(default)]
    pub update: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A way to provoke a partial-initialization error.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartialInitFixture {
    /// The type token, when not the resource's own.
    #[serde(default, rename = "type")]
    pub type_token: Option<String>,
    /// Inputs with which Create creates the resource but fails to initialise it.
    pub inputs: serde_json::Map<String, serde_json::Value>,
}

impl Fixture {
    /// Reads a fixture file (JSON, or YAML).
    pub fn load(path: &Path) -> Result<Fixture, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Fixture {
            path: path.display().to_string(),
            problem: format!("cannot read it: {e}"),
        })?;
        Fixture::parse(&text).map_err(|problem| Error::Fixture {
            path: path.display().to_string(),
            problem,
        })
    }

    /// Parses fixture text (JSON, or YAML), and checks that every value decodes.
    pub fn parse(text: &str) -> Result<Fixture, String> {
        let fixture: Fixture = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(json_err) if text.trim_start().starts_with('{') => {
                return Err(format!("invalid JSON: {json_err}"));
            }
            Err(_) => serde_yaml::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?,
        };
        for (i, r) in fixture.resources.iter().enumerate() {
            if r.type_token.split(':').count() != 3 {
                return Err(format!(
                    "resources[{i}].type `{}` is not a type token `pkg:module:Type`",
                    r.type_token
                ));
            }
            r.all_maps()
                .map_err(|e| format!("resources[{i}] ({}): {e}", r.type_token))?;
        }
        crate::prerequisites::validate(&fixture)?;
        to_map(&fixture.config, "config").map_err(|e| e.to_string())?;
        if serde_json::Value::Object(fixture.config.clone())
            .to_string()
            .contains(crate::placeholders::INSTANCE)
        {
            return Err(format!(
                "config uses `{}`, a number per resource instance; the configuration is one per plugin: \
                 use `${{TEMPDIR}}` or a fixed value",
                crate::placeholders::INSTANCE
            ));
        }
        for (i, bad) in fixture.invalid_config.iter().enumerate() {
            to_map(&bad.config, &format!("invalid_config[{i}].config"))
                .map_err(|e| e.to_string())?;
        }
        for (i, f) in fixture.functions.iter().enumerate() {
            if f.token.split(':').count() != 3 {
                return Err(format!(
                    "functions[{i}].token `{}` is not a function token `pkg:module:name`",
                    f.token
                ));
            }
            let at = |what: &str| format!("functions[{i}] ({}).{what}", f.token);
            to_map(&f.args, &at("args")).map_err(|e| e.to_string())?;
            if let Some(result) = &f.result {
                to_map(result, &at("result")).map_err(|e| e.to_string())?;
            }
            for (j, bad) in f.invalid.iter().enumerate() {
                to_map(&bad.args, &at(&format!("invalid[{j}].args"))).map_err(|e| e.to_string())?;
            }
        }
        Ok(fixture)
    }

    /// The provider configuration as property values.
    pub fn config_map(&self) -> PropertyMap {
        to_map(&self.config, "config").unwrap_or_default()
    }
}

/// Converts a fixture object to a property map; `what` names it in errors.
pub fn to_map(
    json: &serde_json::Map<String, serde_json::Value>,
    what: &str,
) -> Result<PropertyMap, Error> {
    json.iter()
        .map(|(k, v)| {
            Value::from_fixture(v, &format!("{what}.{k}"))
                .map(|v| (k.clone(), v))
                .map_err(|e| Error::Fixture {
                    path: what.to_string(),
                    problem: e.to_string(),
                })
        })
        .collect()
}

impl ResourceFixture {
    fn all_maps(&self) -> Result<(), Error> {
        to_map(&self.inputs, "inputs")?;
        for (what, map) in [
            ("outputs", &self.outputs),
            ("update", &self.update),
            ("update_outputs", &self.update_outputs),
            ("replace", &self.replace),
        ] {
            if let Some(map) = map {
                to_map(map, what)?;
            }
        }
        for (i, inv) in self.invalid.iter().enumerate() {
            to_map(&inv.inputs, &format!("invalid[{i}].inputs"))?;
        }
        if let Some(p) = &self.preview {
            to_map(&p.inputs, "preview.inputs")?;
        }
        if let Some(s) = &self.secrets {
            to_map(&s.inputs, "secrets.inputs")?;
            if let Some(u) = &s.update {
                to_map(u, "secrets.update")?;
            }
        }
        if let Some(p) = &self.partial_init {
            to_map(&p.inputs, "partial_init.inputs")?;
        }
        if let Some(s) = &self.slow_create {
            to_map(&s.inputs, "slow_create.inputs")?;
        }
        if let Some(name) = self.skip.keys().find(|k| crate::cases::find(k).is_none()) {
            return Err(Error::Fixture {
                path: format!("skip.{name}"),
                problem: "no case has this name (see --list)".into(),
            });
        }
        Ok(())
    }

    /// A map of this fixture, already validated by [`Fixture::parse`].
    pub fn map(json: &serde_json::Map<String, serde_json::Value>) -> PropertyMap {
        to_map(json, "fixture").unwrap_or_default()
    }

    /// The properties Diff must name as replacing for `replace`.
    pub fn expected_replaces(&self) -> Vec<String> {
        if let Some(keys) = &self.replace_keys {
            return keys.clone();
        }
        let Some(replace) = &self.replace else {
            return Vec::new();
        };
        let mut keys: Vec<String> = replace
            .keys()
            .filter(|k| self.inputs.get(*k) != replace.get(*k))
            .cloned()
            .collect();
        keys.extend(
            self.inputs
                .keys()
                .filter(|k| !replace.contains_key(*k))
                .cloned(),
        );
        keys.sort();
        keys
    }

    /// This fixture with another type token (for `partial_init` and `slow_create`).
    pub fn retyped(&self, type_token: Option<&String>) -> ResourceFixture {
        let mut r = self.clone();
        if let Some(t) = type_token {
            r.type_token = t.clone();
        }
        r
    }

    /// Derives a fixture for `type_token` from its schema entry (`resources[type_token]`):
    /// required inputs get simple values, a `replaceOnChanges` property gives the replace, another
    /// string property the update, and a required string given a number the invalid inputs.
    /// `None` when a required input has a type the kit cannot make up.
    pub fn derive(type_token: &str, resource: &serde_json::Value) -> Option<ResourceFixture> {
        let props = resource
            .get("inputProperties")
            .and_then(|p| p.as_object())
            .cloned()
            .unwrap_or_default();
        let required: Vec<String> = resource
            .get("requiredInputs")
            .and_then(|r| r.as_array())
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut inputs = serde_json::Map::new();
        // Values name the type, so that resources of two types never collide (same path...).
        let tag = type_token
            .rsplit(':')
            .next()
            .unwrap_or("resource")
            .to_lowercase();
        for name in &required {
            inputs.insert(name.clone(), sample(props.get(name)?, &tag, 1)?);
        }
        let replaces_on = |name: &str| {
            props
                .get(name)
                .and_then(|p| p.get("replaceOnChanges"))
                .and_then(|v| v.as_bool())
                == Some(true)
        };
        let kind = |name: &str| {
            props
                .get(name)
                .and_then(|p| p.get("type"))
                .and_then(|t| t.as_str())
                .unwrap_or("")
                .to_string()
        };
        let changed = |name: &str| sample(props.get(name)?, &tag, 2);
        let update_key = props.keys().find(|k| {
            !replaces_on(k)
                && matches!(
                    kind(k).as_str(),
                    "string" | "integer" | "number" | "boolean"
                )
        });
        let replace_key = props
            .keys()
            .find(|k| replaces_on(k) && changed(k).is_some());
        let with = |key: &str| {
            let mut m = inputs.clone();
            m.insert(key.to_string(), changed(key)?);
            Some(m)
        };
        let invalid = required
            .iter()
            .find(|k| kind(k) == "string")
            .map(|k| {
                let mut m = inputs.clone();
                m.insert(k.clone(), serde_json::json!(12345));
                vec![InvalidInputs {
                    inputs: m,
                    properties: vec![k.clone()],
                }]
            })
            .unwrap_or_default();
        let outputs_required: Vec<String> = resource
            .get("required")
            .and_then(|r| r.as_array())
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Some(ResourceFixture {
            type_token: type_token.to_string(),
            name: None,
            computed: outputs_required
                .into_iter()
                .filter(|k| !props.contains_key(k))
                .collect(),
            update: update_key.and_then(|k| with(k)),
            replace: replace_key.and_then(|k| with(k)),
            replace_keys: replace_key.map(|k| vec![k.clone()]),
            invalid,
            inputs,
            ..ResourceFixture::default()
        })
    }
}

/// A made-up value for a property schema; `variant` 1 or 2 gives two different values.
fn sample(prop: &serde_json::Value, tag: &str, variant: i64) -> Option<serde_json::Value> {
    use serde_json::json;
    if let Some(values) = prop.get("enum").and_then(|e| e.as_array()) {
        let pick = values.get((variant as usize - 1).min(values.len().saturating_sub(1)))?;
        return Some(pick.get("value").cloned().unwrap_or_else(|| pick.clone()));
    }
    if let Some(default) = prop.get("default")
        && variant == 1
    {
        return Some(default.clone());
    }
    Some(match prop.get("type")?.as_str()? {
        "string" => json!(format!("conformance-{tag}-{variant}")),
        "integer" | "number" => json!(variant),
        "boolean" => json!(variant == 1),
        "array" => json!([]),
        "object" => json!({}),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_both_parse_and_bad_values_are_named() {
        let yaml = "resources:\n  - type: a:b:C\n    inputs: {x: 1}\n    replace: {x: 2}\n";
        let f = Fixture::parse(yaml).unwrap();
        assert_eq!(f.resources[0].expected_replaces(), vec!["x".to_string()]);
        let json = r#"{"resources":[{"type":"a:b:C","inputs":{"x":{"$unknown":"colour"}}}]}"#;
        let err = Fixture::parse(json).unwrap_err();
        assert!(err.contains("inputs.x") && err.contains("colour"), "{err}");
        assert!(
            Fixture::parse(r#"{"resources":[{"type":"nocolons","inputs":{}}]}"#)
                .unwrap_err()
                .contains("nocolons")
        );
        assert!(
            Fixture::parse("resources:\n  - type: a:b:C\n    inputs: {}\n    typo: 1\n")
                .unwrap_err()
                .contains("typo")
        );
    }

    #[test]
    fn derives_inputs_update_and_replace_from_a_schema() {
        let resource = serde_json::json!({
            "inputProperties": {
                "name": {"type": "string"},
                "size": {"type": "integer", "replaceOnChanges": true},
            },
            "requiredInputs": ["name", "size"],
            "properties": {"arn": {"type": "string"}},
            "required": ["arn"],
        });
        let f = ResourceFixture::derive("p:m:R", &resource).unwrap();
        assert_eq!(f.inputs["name"], "conformance-r-1");
        assert_eq!(f.replace.as_ref().unwrap()["size"], 2);
        assert_eq!(f.update.as_ref().unwrap()["name"], "conformance-r-2");
        assert_eq!(f.invalid[0].properties, vec!["name".to_string()]);
        assert_eq!(f.computed, vec!["arn".to_string()]);
    }
}
