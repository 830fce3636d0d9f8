//! The schema derived from the local resources' Rust types says what their docs say: which
//! inputs are required, which replace, the `local:root` configuration and the functions.

use serde_json::json;

#[test]
fn local_resources_are_described_by_their_types() {
    let provider = provider_example::typed_provider();
    let schema = provider.schema();
    let resources = &schema["resources"];

    let file = &resources["local:index:File"];
    assert_eq!(file["requiredInputs"], json!(["path"]));
    assert_eq!(file["inputProperties"]["path"]["replaceOnChanges"], true);
    assert!(
        file["inputProperties"]["content"]
            .get("replaceOnChanges")
            .is_none(),
        "content updates in place"
    );
    assert_eq!(file["properties"]["sha256"]["type"], "string");
    assert_eq!(
        file["inputProperties"]["source"],
        json!({"$ref": "pulumi.json#/Asset", "description": "The file's content as an asset, instead of `content`."})
    );
    assert!(
        schema["types"]
            .as_object()
            .unwrap()
            .keys()
            .all(|t| !t.contains("Asset")),
        "no hand-made asset type"
    );

    let dir = &resources["local:index:Directory"];
    assert_eq!(dir["inputProperties"]["recursive"]["type"], "boolean");
    assert_eq!(dir["inputProperties"]["path"]["replaceOnChanges"], true);

    let cmd = &resources["local:index:Command"];
    assert_eq!(cmd["requiredInputs"], json!(["create"]));
    assert_eq!(cmd["inputProperties"]["triggers"]["replaceOnChanges"], true);
    let mut outputs: Vec<String> = serde_json::from_value(cmd["required"].clone()).unwrap();
    outputs.sort();
    assert_eq!(outputs, ["create", "stderr", "stdout"]);

    let svc = &resources["local:index:Service"];
    assert_eq!(svc["requiredInputs"], json!(["command"]));
    for replacing in ["command", "environment", "dir", "logFile"] {
        assert_eq!(
            svc["inputProperties"][replacing]["replaceOnChanges"], true,
            "{replacing}"
        );
    }
    assert!(
        svc["inputProperties"]["readyTimeout"]
            .get("replaceOnChanges")
            .is_none()
    );
    assert_eq!(svc["properties"]["pid"]["type"], "integer");

    // `local:root` is optional, and the schema says what its absence means.
    assert_eq!(schema["config"]["defaults"], json!([]));
    assert_eq!(schema["config"]["variables"]["root"]["type"], "string");
    let described = schema["config"]["variables"]["root"]["description"]
        .as_str()
        .unwrap();
    assert!(described.contains("working directory"), "{described}");
    assert!(schema["functions"]["local:index:readFile"]["inputs"]["required"] == json!(["path"]));
    assert!(schema["functions"]["local:index:hash"]["outputs"]["properties"]["sha256"].is_object());
}

/// The plugin binary answers a person: `--help` and `--version` without serving, and `schema`
/// prints the package schema without an engine (what `GetSchema` returns).
#[test]
fn the_binary_answers_help_version_and_schema() {
    let run = |arg: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pulumi-resource-local"))
            .arg(arg)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the plugin runs");
        assert!(out.status.success(), "{arg}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let help = run("--help");
    assert!(
        help.contains("schema") && help.contains("--version"),
        "{help}"
    );
    assert_eq!(run("--version").trim(), env!("CARGO_PKG_VERSION"));
    let printed: serde_json::Value = serde_json::from_str(&run("schema")).unwrap();
    assert_eq!(printed, provider_example::typed_provider().schema());
}
