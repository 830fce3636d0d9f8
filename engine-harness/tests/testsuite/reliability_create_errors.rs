//! End to end: a provider's error reply to Create is "not created", as Pulumi's engine takes
//! it. A provider on Pulumi's own Python SDK whose Create raises (the SDK answers with status
//! UNKNOWN) leaves no pending operation, and the next `up` creates the resource. Only a Create
//! that gets no answer (the plugin died) leaves a pending create (engine_crash.rs).

use crate::support;
use std::path::Path;
use support::programs::python_venv;
use support::*;

#[test]
fn a_python_sdk_provider_whose_create_raises_leaves_no_pending_create_and_up_retries() {
    let venv = python_venv();
    let launcher_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/python/pyprovider")
        .canonicalize()
        .unwrap();
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    p.write(
        "Pulumi.yaml",
        &format!(
            "name: py\nruntime: yaml\nplugins:\n  providers:\n    - name: pyrandom\n      path: {}\nresources:\n  r:\n    type: pyrandom:index:Random\n    properties:\n      length: 5\n",
            launcher_dir.display()
        ),
    );
    let marker = p.path().join("fail-create");
    std::fs::write(&marker, "").unwrap();
    let up = || {
        let out = p
            .command(&["up", "--yes", "--json"])
            .env("PULUMI_TEST_VENV", &venv)
            .env("PYRANDOM_FAIL_CREATE_WHILE", &marker)
            .output()
            .expect("run engine-harness");
        Run::from(out)
    };

    let r = up();
    assert_eq!(r.code, 1, "{}", r.describe());
    assert_eq!(
        r.steps(),
        vec![s("create", "r", "failed")],
        "{}",
        r.describe()
    );
    assert!(
        r.stderr.contains("create refused while"),
        "the provider's message is shown: {}",
        r.describe()
    );
    assert!(
        !r.stderr.contains("stays recorded"),
        "an answered failure is not an unknown outcome: {}",
        r.describe()
    );
    let state = p.state();
    let pending = state["deployment"]["pending_operations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(pending.is_empty(), "no pending create: {state}");
    assert!(p.resource("r").is_none(), "nothing recorded: {state}");

    // The provider works again: the next `up` creates it (no exit 3, no operator).
    std::fs::remove_file(&marker).unwrap();
    let r = up().ok();
    assert_eq!(r.steps(), vec![s("create", "r", "ok")], "{}", r.describe());
    assert!(p.resource("r").is_some());
    p.command(&["destroy", "--yes"])
        .env("PULUMI_TEST_VENV", &venv)
        .output()
        .unwrap();
}

#[test]
fn a_provider_marked_secret_without_a_passphrase_loses_no_resource() {
    let venv = python_venv();
    let launcher_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/python/pyprovider")
        .canonicalize()
        .unwrap();
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    p.write(
        "Pulumi.yaml",
        &format!(
            "name: py\nruntime: yaml\nplugins:\n  providers:\n    - name: pyrandom\n      path: {}\nresources:\n  r:\n    type: pyrandom:index:Random\n    properties:\n      length: 12\n      prefix: pre-\n",
            launcher_dir.display()
        ),
    );
    let run = |args: &[&str]| {
        let out = p
            .command(args)
            .env("PULUMI_TEST_VENV", &venv)
            .env("PYRANDOM_SECRET_RESULT", "1")
            .env_remove("PULUMI_CONFIG_PASSPHRASE")
            .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE")
            .output()
            .expect("run engine-harness");
        Run::from(out)
    };
    let r = run(&["up", "--yes", "--json"]);
    assert_eq!(r.code, 1, "the run says what is missing: {}", r.describe());
    assert!(
        r.stderr.contains("`result`") && r.stderr.contains("PULUMI_CONFIG_PASSPHRASE"),
        "{}",
        r.describe()
    );
    // The created resource is in the state, with its id, and no operation is pending.
    let state = p.state();
    let res = p.resource("r").expect("the created resource is recorded");
    assert!(
        res["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("pyrandom-")),
        "{state}"
    );
    assert_eq!(res["inputs"]["prefix"], "pre-");
    assert!(
        state["deployment"]["pending_operations"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "{state}"
    );
    // No secret in clear: the result (pre- and 12 characters) is stored nowhere.
    let text = std::fs::read_to_string(p.path().join(".pulumi-harness/dev.json")).unwrap();
    let leaked = text.match_indices("pre-").any(|(at, _)| {
        text[at + 4..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .count()
            == 12
    });
    assert!(!leaked, "the secret result is stored in clear: {text}");
    assert!(res["outputs"].get("result").is_none(), "{res}");

    // Known to the state, so destroy deletes it.
    let r = run(&["destroy", "--yes", "--json"]).ok();
    assert_eq!(r.steps(), vec![s("delete", "r", "ok")], "{}", r.describe());
}
