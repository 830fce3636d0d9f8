//! Structured config and language plugins, end to end with Pulumi's Python SDK:
//! - `config set --path` (`db.host`, `db.port`, `--secret` on `db.password`, `zones[0]`) writes
//!   Pulumi.<stack>.yaml as the pulumi CLI does (nested `secure:` leaf, numbers coerced, maps
//!   sorted); `config --show-secrets` and `config get` print the plaintext; a Python program
//!   reads the object decrypted, as a secret;
//! - a project whose runtime has a `pulumi-language-<runtime>` on PATH is run through it: a
//!   language plugin of this project's own (tests/python/language_host/host.py, on Pulumi's
//!   published `LanguageRuntime` stubs) receives Handshake, GetRequiredPlugins and Run with this
//!   run's monitor, config and secret keys; a Go project with no plugin is refused by name.

use crate::support;

use serde_json::Value as Json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use support::programs::*;
use support::*;

const PASS: &str = "structured config passphrase";
/// The secret leaf; it must never be written in clear.
const LEAF: &str = "pw-leaf-never-in-clear";
/// Pulumi's signature key of a secret value.
const SECRET_SIG: &str = "4dabf18193072939515e22adb298388d";

/// A Python program that writes what it read from config to `seen.json` and exports it.
const PROGRAM: &str = r#"import json
import pulumi

config = pulumi.Config()
db = config.require_secret_object("db")
zones = config.require_object("zones")

def seen(value):
    with open("seen.json", "w") as f:
        json.dump({"db": value, "zones": zones}, f)
    return value

pulumi.export("db", db.apply(seen))
pulumi.export("zones", zones)
"#;

fn python_project() -> Project {
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    p.write(
        "Pulumi.yaml",
        &format!(
            "name: t\nruntime:\n  name: python\n  options:\n    virtualenv: {}\n",
            python_venv().display()
        ),
    );
    p.write("__main__.py", PROGRAM);
    p
}

fn harness(p: &Project, args: &[&str], path_env: Option<&str>) -> Run {
    let mut c = p.command(args);
    c.env("PULUMI_CONFIG_PASSPHRASE", PASS)
        .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE")
        .env("PULUMI_HOME", p.path().join(".no-pulumi-home"));
    if let Some(path) = path_env {
        c.env("PATH", path);
    }
    Run::from(c.output().expect("run engine-harness"))
}

fn set_config(p: &Project) {
    for args in [
        &["config", "set", "--path", "db.host", "h"][..],
        &["config", "set", "--path", "db.port", "5432"],
        &["config", "set", "--path", "--secret", "db.password", LEAF],
        &["config", "set", "--path", "zones[0]", "eu"],
        &["config", "set", "--path", "zones[1]", "007"],
    ] {
        harness(p, args, None).ok();
    }
}

fn stack_outputs(p: &Project) -> Json {
    let state = p.state();
    state["deployment"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "pulumi:pulumi:Stack")
        .map(|r| r["outputs"].clone())
        .expect("a stack resource")
}

#[test]
fn path_config_with_a_secret_leaf_is_written_like_pulumi_and_read_decrypted_by_python() {
    let p = python_project();
    set_config(&p);
    let text = std::fs::read_to_string(p.path().join("Pulumi.dev.yaml")).unwrap();
    assert!(!text.contains(LEAF), "{text}");
    // Pulumi's layout: the object under the namespaced key, keys sorted, the number coerced,
    // the secret leaf as `secure: v1:…`, the leading-zero value kept a string.
    let (before, after) = text
        .split_once("    password:\n      secure: v1:")
        .unwrap_or_else(|| panic!("no secure leaf:\n{text}"));
    assert!(before.starts_with("encryptionsalt: v1:"), "{text}");
    assert!(
        before.ends_with("config:\n  t:db:\n    host: h\n"),
        "{text}"
    );
    let after = after.split_once('\n').unwrap().1;
    assert_eq!(
        after, "    port: 5432\n  t:zones:\n  - eu\n  - '007'\n",
        "{text}"
    );

    let listed = harness(&p, &["config"], None).ok();
    assert!(listed.stdout.contains("[secret]"), "{}", listed.stdout);
    assert!(!listed.stdout.contains(LEAF), "{}", listed.stdout);
    let shown = harness(&p, &["config", "--show-secrets"], None).ok();
    assert!(
        shown.stdout.contains(&format!(
            r#"{{"host":"h","password":"{LEAF}","port":5432}}"#
        )),
        "{}",
        shown.stdout
    );
    let leaf = harness(&p, &["config", "get", "--path", "db.password"], None).ok();
    assert_eq!(leaf.stdout, format!("{LEAF}\n"));
    let zone = harness(&p, &["config", "get", "--path", "zones[1]"], None).ok();
    assert_eq!(zone.stdout, "007\n");

    let up = harness(&p, &["up", "--yes", "--json"], None);
    assert_eq!(up.code, 0, "{}", up.describe());
    assert!(!up.stdout.contains(LEAF), "{}", up.describe());
    let seen: Json =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("seen.json")).unwrap())
            .unwrap();
    assert_eq!(
        seen,
        serde_json::json!({"db": {"host": "h", "port": 5432, "password": LEAF}, "zones": ["eu", "007"]})
    );
    let outputs = stack_outputs(&p);
    assert!(
        outputs["db"].get(SECRET_SIG).is_some(),
        "the object read with require_secret_object is a secret output: {outputs}"
    );
    assert_eq!(outputs["zones"], serde_json::json!(["eu", "007"]));
    let state_text = std::fs::read_to_string(p.path().join(".pulumi-harness/dev.json")).unwrap();
    assert!(!state_text.contains(LEAF));

    // Removing by path removes the leaf only.
    harness(&p, &["config", "rm", "--path", "db.password"], None).ok();
    let text = std::fs::read_to_string(p.path().join("Pulumi.dev.yaml")).unwrap();
    assert!(
        text.contains("  t:db:\n    host: h\n    port: 5432\n"),
        "{text}"
    );
    assert!(!text.contains("secure"), "{text}");
}

/// A directory holding `pulumi-language-python`: a wrapper that runs the test host with the
/// virtualenv's Python (the one with Pulumi's SDK and its gRPC stubs).
fn language_plugin_dir(root: &Path) -> PathBuf {
    let dir = root.join("plugin-bin");
    std::fs::create_dir_all(&dir).unwrap();
    let host = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/python/language_host/host.py")
        .canonicalize()
        .unwrap();
    let exe = dir.join("pulumi-language-python");
    std::fs::write(
        &exe,
        format!(
            "#!/bin/sh\nexec {} -u {} \"$@\"\n",
            python_venv().join("bin/python").display(),
            host.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn path_with(dir: &Path) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", dir.display())
}

fn log_entries(path: &Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_language_plugin_on_path_runs_the_program_over_language_runtime() {
    let p = python_project();
    set_config(&p);
    let bin = language_plugin_dir(p.path());
    let log = p.path().join("language.log");
    let mut c = p.command(&["up", "--yes", "--json"]);
    c.env("PULUMI_CONFIG_PASSPHRASE", PASS)
        .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE")
        .env("PULUMI_HOME", p.path().join(".no-pulumi-home"))
        .env("PATH", path_with(&bin))
        .env("PULUMI_TEST_LANGUAGE_LOG", &log);
    let up = Run::from(c.output().unwrap());
    assert_eq!(up.code, 0, "{}", up.describe());

    let entries = log_entries(&log);
    let methods: Vec<&str> = entries
        .iter()
        .map(|e| e["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["Handshake", "GetRequiredPlugins", "Run"],
        "{entries:?}"
    );
    let root = p.path().canonicalize().unwrap();
    let handshake = &entries[0]["request"];
    let engine = handshake["engineAddress"].as_str().unwrap();
    assert!(engine.starts_with("127.0.0.1:"), "{handshake}");
    assert_eq!(
        Path::new(handshake["rootDirectory"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        root
    );
    let run = &entries[2]["request"];
    assert_eq!(run["project"], "t");
    assert_eq!(run["stack"], "dev");
    assert_eq!(run["monitorAddress"], engine, "{run}");
    assert_eq!(
        entries[2]["argv_engine"], engine,
        "the engine address is the last argument"
    );
    assert!(run.get("dryRun").is_none(), "an up is not a dry run: {run}");
    assert_eq!(
        run["config"]["t:db"],
        format!(r#"{{"host":"h","password":"{LEAF}","port":5432}}"#),
        "the config is sent decrypted, as Pulumi sends it: {run}"
    );
    assert_eq!(
        run["configSecretKeys"],
        serde_json::json!(["t:db"]),
        "{run}"
    );
    assert_eq!(run["info"]["entryPoint"], ".", "{run}");

    // The program ran (through the plugin) and its outputs are in state, the secret kept.
    let outputs = stack_outputs(&p);
    assert!(outputs["db"].get(SECRET_SIG).is_some(), "{outputs}");
    assert!(p.path().join("seen.json").is_file());

    // A preview goes through it too, as a dry run.
    std::fs::remove_file(&log).unwrap();
    let mut c = p.command(&["preview", "--json"]);
    c.env("PULUMI_CONFIG_PASSPHRASE", PASS)
        .env("PULUMI_HOME", p.path().join(".no-pulumi-home"))
        .env("PATH", path_with(&bin))
        .env("PULUMI_TEST_LANGUAGE_LOG", &log);
    let preview = Run::from(c.output().unwrap());
    assert_eq!(preview.code, 0, "{}", preview.describe());
    let entries = log_entries(&log);
    assert_eq!(entries.last().unwrap()["request"]["dryRun"], true);
}

#[test]
fn a_go_project_without_its_language_plugin_is_refused_by_name() {
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    p.write("Pulumi.yaml", "name: t\nruntime: go\n");
    let empty = p.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let up = harness(&p, &["up", "--yes"], Some(&empty.display().to_string()));
    assert_ne!(up.code, 0, "{}", up.describe());
    assert!(
        up.stderr.contains("pulumi-language-go") && up.stderr.contains("PATH"),
        "{}",
        up.describe()
    );
}
