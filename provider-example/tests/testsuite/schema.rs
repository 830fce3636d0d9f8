//! The example provider's schema describes Random as the code does. (Its validity as a package
//! schema is the conformance kit's `schema.package` case, run on this provider by
//! `tests/tests/testsuite/conformance.rs`.)

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
