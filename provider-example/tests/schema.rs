//! The example provider's schema, derived from its Rust types, validates against Pulumi's
//! package metaschema (JSON Schema draft 2020-12), and describes Random as the code does.

use std::path::Path;

use serde_json::Value;

fn metaschema() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pulumi-package-metaschema.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("the metaschema is JSON")
}

#[test]
fn schema_validates_against_the_pulumi_metaschema() {
    let metaschema = metaschema();
    assert_eq!(
        metaschema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // Offline: draft 2020-12 and its vocabularies are built into the validator.
    let validator = jsonschema::draft202012::new(&metaschema).expect("the metaschema compiles");
    let provider = provider_example::typed_provider();
    let schema = provider.schema();
    let errors: Vec<String> = validator
        .iter_errors(schema)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "schema does not validate:\n{}\n{schema:#}",
        errors.join("\n")
    );

    // The validator does reject a broken schema (so the check above can fail).
    let mut broken = schema.clone();
    broken["resources"]["local:index:Random"]["inputProperties"]["length"]["type"] = 5.into();
    broken["name"] = "9 not a name".into();
    assert!(validator.iter_errors(&broken).count() >= 1);
}

#[test]
fn random_is_described_by_its_types() {
    let provider = provider_example::typed_provider();
    let schema = provider.schema();
    assert_eq!(schema["name"], "local");
    let random = &schema["resources"]["local:index:Random"];
    assert!(
        random["description"]
            .as_str()
            .unwrap()
            .starts_with("A random string")
    );
    assert_eq!(random["requiredInputs"], serde_json::json!(["length"]));
    assert_eq!(random["inputProperties"]["length"]["type"], "integer");
    assert_eq!(
        random["inputProperties"]["length"]["replaceOnChanges"],
        true
    );
    assert!(
        random["inputProperties"]["prefix"]
            .get("replaceOnChanges")
            .is_none()
    );
    assert_eq!(random["inputProperties"]["prefix"]["type"], "string");
    assert_eq!(random["properties"]["result"]["type"], "string");
    let mut required: Vec<String> = serde_json::from_value(random["required"].clone()).unwrap();
    required.sort();
    assert_eq!(required, vec!["length".to_string(), "result".into()]);
}
