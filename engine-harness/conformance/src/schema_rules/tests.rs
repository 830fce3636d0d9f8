//! The rules, one test per family, each breaking a valid schema on purpose.

use super::*;
use serde_json::json;

fn paths(schema: &Value) -> Vec<String> {
    check_package_schema(schema)
        .into_iter()
        .map(|v| v.path)
        .collect()
}

fn valid() -> Value {
    json!({
        "name": "local",
        "version": "0.1.0",
        "config": {"variables": {"root": {"type": "string", "description": "a folder"}}},
        "types": {
            "local:index:Rule": {
                "type": "object",
                "properties": {"port": {"type": "integer"}, "tags": {"type": "object", "additionalProperties": {"type": "string"}}},
                "required": ["port"]
            },
            "local:index:Mode": {"type": "string", "enum": [{"value": "fast"}, {"value": "slow", "name": "Slow"}]}
        },
        "provider": {"inputProperties": {"root": {"type": "string"}}},
        "resources": {
            "local:index:File": {
                "properties": {
                    "path": {"type": "string"},
                    "rules": {"type": "array", "items": {"$ref": "#/types/local:index:Rule"}},
                    "source": {"$ref": "pulumi.json#/Asset"},
                    "mode": {"$ref": "#/types/local:index:Mode"},
                    "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
                },
                "required": ["path"],
                "inputProperties": {"path": {"type": "string", "replaceOnChanges": true}},
                "requiredInputs": ["path"],
                "methods": {"stat": "local:index:File/stat"}
            },
            "local:index:Site": {"isComponent": true, "inputProperties": {"files": {"type": "object"}}}
        },
        "functions": {
            "local:index:File/stat": {"inputs": {"properties": {"__self__": {"$ref": "#/resources/local:index:File"}}}, "outputs": {"properties": {"size": {"type": "integer"}}, "required": ["size"]}},
            "local:index:hash": {"inputs": {"properties": {"text": {"type": "string"}}, "required": ["text"]}, "outputs": {"type": "string"}}
        },
        "language": {"python": {"packageName": "pulumi_local"}}
    })
}

#[test]
fn a_valid_schema_has_no_violations() {
    assert_eq!(check_package_schema(&valid()), vec![]);
}

#[test]
fn name_and_version() {
    let mut s = valid();
    s["name"] = json!("9local");
    s["version"] = json!("one");
    assert_eq!(paths(&s), vec!["/name", "/version"]);
    s.as_object_mut().unwrap().remove("name");
    assert!(paths(&s).contains(&"/name".to_string()));
    s["name"] = json!("local");
    s["version"] = json!("v1.2.3-alpha.1+build");
    assert_eq!(paths(&s), Vec::<String>::new());
}

#[test]
fn tokens_are_package_module_name() {
    let mut s = valid();
    let file = s["resources"]["local:index:File"].take();
    s["resources"]["local:File"] = file.clone();
    s["resources"]["other:index:File"] = file;
    s["resources"]
        .as_object_mut()
        .unwrap()
        .remove("local:index:File");
    s["resources"]["local:index:Site"]["inputProperties"]["x"] = json!({"type": "string"});
    let p = paths(&s);
    assert!(p.contains(&"/resources/local:File".to_string()), "{p:?}");
    assert!(
        p.contains(&"/resources/other:index:File".to_string()),
        "{p:?}"
    );
}

#[test]
fn required_names_declared_properties() {
    let mut s = valid();
    s["resources"]["local:index:File"]["requiredInputs"] = json!(["path", "Path"]);
    s["types"]["local:index:Rule"]["required"] = json!(["port", "port"]);
    let v = check_package_schema(&s);
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(v[0].path, "/types/local:index:Rule/required/1");
    assert_eq!(v[1].path, "/resources/local:index:File/requiredInputs/1");
    assert!(
        v[1].expected.contains("path"),
        "names the real properties: {v:?}"
    );
}

#[test]
fn references_must_resolve() {
    let mut s = valid();
    s["resources"]["local:index:File"]["properties"]["rules"]["items"]["$ref"] =
        json!("#/types/local:index:Rules");
    s["resources"]["local:index:File"]["properties"]["source"]["$ref"] = json!("pulumi.json#/Blob");
    s["resources"]["local:index:File"]["properties"]["path"]["$ref"] =
        json!("/aws/v6.0.0/schema.json#/types/aws:s3%2Fbucket:Bucket");
    assert_eq!(
        paths(&s),
        vec![
            "/resources/local:index:File/properties/rules/items/$ref".to_string(),
            "/resources/local:index:File/properties/source/$ref".into(),
        ],
        "another document's reference is checked for form only"
    );
}

#[test]
fn property_types() {
    let mut s = valid();
    let props = &mut s["resources"]["local:index:File"]["properties"];
    props["a"] = json!({"type": "array"});
    props["b"] = json!({"type": "list"});
    props["c"] = json!({"description": "no type"});
    props["d"] = json!({"type": "string", "items": {"type": "string"}});
    props["e"] = json!({"oneOf": [{"type": "string"}]});
    props["f"] = json!({"type": "string", "secret": "yes"});
    props["g"] = json!(5);
    let p = paths(&s);
    let base = "/resources/local:index:File/properties";
    for want in [
        "a/items", "b/type", "c/type", "d/items", "e/oneOf", "f/secret", "g",
    ] {
        assert!(p.contains(&format!("{base}/{want}")), "{want} in {p:?}");
    }
}

#[test]
fn enums_config_methods_and_functions() {
    let mut s = valid();
    s["types"]["local:index:Mode"]["enum"][0]["value"] = json!(3);
    s["config"]["defaults"] = json!(["root", "nope"]);
    s["config"]["required"] = json!([]);
    s["resources"]["local:index:File"]["methods"]["stat"] = json!("local:index:File/size");
    s["resources"]["local:index:Site"]["isComponent"] = json!("true");
    s["functions"]["local:index:hash"]["multiArgumentInputs"] = json!(["txt"]);
    s["functions"]["local:index:hash"]["outputs"] = json!({"type": "blob"});
    s["language"]["go"] = json!("github.com/x");
    s["flavour"] = json!("odd");
    let p = paths(&s);
    for want in [
        "/flavour",
        "/language/go",
        "/config/required",
        "/config/defaults/1",
        "/types/local:index:Mode/enum/0/value",
        "/resources/local:index:File/methods/stat",
        "/resources/local:index:Site/isComponent",
        "/functions/local:index:hash/multiArgumentInputs/0",
        "/functions/local:index:hash/outputs/type",
    ] {
        assert!(p.contains(&want.to_string()), "{want} in {p:?}");
    }
    assert_eq!(p.len(), 9, "{p:?}");
}

#[test]
fn pointers_escape_slashes() {
    let mut s = valid();
    s["resources"]["local:fs/x:File"] = json!({"requiredInputs": ["nope"]});
    assert_eq!(
        paths(&s),
        vec!["/resources/local:fs~1x:File/requiredInputs/0"]
    );
}
