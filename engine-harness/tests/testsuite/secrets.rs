//! Secrets at rest, end to end: the real `engine-harness` binary, the real example provider.
//! No secret in clear in any file the engine writes, owner-only state, a wrong passphrase
//! refused with the state byte-for-byte unchanged, plaintext state upgraded, export/import.

use crate::support;

use serde_json::Value as Json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::*;

const PASS: &str = "correct horse battery staple";

/// Runs the harness in `dir` with `passphrase` (`None`: neither variable set).
fn harness(dir: &Path, passphrase: Option<&str>, args: &[&str]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_engine-harness"));
    c.args(args)
        .arg("--cwd")
        .arg(dir)
        .stdin(Stdio::null())
        .env_remove("PULUMI_CONFIG_PASSPHRASE")
        .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE")
        // Debug logs on stderr: they must not show secrets either.
        .env("ENGINE_HARNESS_LOG", "debug");
    if let Some(p) = passphrase {
        c.env("PULUMI_CONFIG_PASSPHRASE", p);
    }
    Run::from(c.output().expect("run engine-harness"))
}

/// A copy of `provider-example/examples/secrets` using the built example provider.
fn secrets_example() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../provider-example/examples/secrets");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let f = entry.unwrap().file_name();
        if !f.to_string_lossy().ends_with(".yaml") {
            continue;
        }
        let text = std::fs::read_to_string(src.join(&f)).unwrap();
        let text = text.replace(
            "path: ../..",
            &format!("path: {}", local_provider().display()),
        );
        std::fs::write(dir.path().join(&f), text).unwrap();
    }
    dir
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join(".pulumi-harness/dev.json")
}

#[test]
fn up_of_the_secrets_example_leaves_no_secret_in_clear_in_any_file_or_output() {
    let dir = secrets_example();
    let p = dir.path();
    // As shipped: the token is the secret config default of Pulumi.yaml.
    harness(p, Some(PASS), &["up", "--yes", "--json"]).ok();
    for f in files_under(&p.join(".pulumi-harness")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
        assert!(
            !text.contains("not-a-real-token-1234"),
            "{} holds the secret",
            f.display()
        );
    }
    let token = format!("tok-{}-plaintext", std::process::id());
    harness(
        p,
        Some(PASS),
        &["config", "set", "apiToken", &token, "--secret"],
    )
    .ok();
    let mut outputs = Vec::new();
    let up = harness(p, Some(PASS), &["up", "--yes", "--json"]).ok();
    assert_eq!(up.summary()["failed"], 0, "{}", up.describe());
    outputs.push(up.describe());
    // A second run that changes the secret writes the journal and the checkpoint again.
    let token2 = format!("{token}-rotated");
    harness(
        p,
        Some(PASS),
        &["config", "set", "apiToken", &token2, "--secret"],
    )
    .ok();
    outputs.push(harness(p, Some(PASS), &["up", "--yes"]).ok().describe());
    outputs.push(
        harness(p, Some(PASS), &["preview", "--json"])
            .ok()
            .describe(),
    );
    outputs.push(
        harness(p, Some(PASS), &["refresh", "--yes", "--json"])
            .ok()
            .describe(),
    );
    outputs.push(harness(p, Some(PASS), &["config"]).ok().describe());
    outputs.push(harness(p, Some(PASS), &["stack", "export"]).ok().describe());

    // The program itself writes the token to `secrets-demo/token`: that file is its output,
    // not the engine's. Everything else (stack file, state folder, temp files) is checked.
    let own_output = p.join("secrets-demo/token");
    assert_eq!(std::fs::read_to_string(&own_output).unwrap(), token2);
    let checked: Vec<PathBuf> = files_under(p)
        .into_iter()
        .filter(|f| *f != own_output)
        .collect();
    assert!(
        checked
            .iter()
            .any(|f| f.ends_with(".pulumi-harness/dev.json"))
    );
    for f in &checked {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for t in [&token, &token2] {
            assert!(
                !text.contains(t.as_str()),
                "{} holds the secret in clear",
                f.display()
            );
        }
    }
    for out in &outputs {
        assert!(!out.contains(&token), "output shows the secret:\n{out}");
    }
    assert_eq!(mode(&state_file(p)), 0o600);
    assert_eq!(mode(&p.join(".pulumi-harness")), 0o700);
    // The state holds the secrets as Pulumi does, under the stack file's salt.
    let state: Json = serde_json::from_slice(&std::fs::read(state_file(p)).unwrap()).unwrap();
    let stack_file = std::fs::read_to_string(p.join("Pulumi.dev.yaml")).unwrap();
    let salt = state["deployment"]["secrets_providers"]["state"]["salt"]
        .as_str()
        .unwrap();
    assert_eq!(
        state["deployment"]["secrets_providers"]["type"],
        "passphrase"
    );
    assert!(
        stack_file.contains(&format!("encryptionsalt: {salt}")),
        "{stack_file}"
    );
    let text = state.to_string();
    assert!(text.contains("\"ciphertext\":\"v1:"), "{text}");
    assert!(!text.contains("\"plaintext\""), "{text}");
    harness(p, Some(PASS), &["destroy", "--yes", "--json"]).ok();
}

#[test]
fn a_wrong_or_missing_passphrase_is_refused_and_the_state_is_unchanged_byte_for_byte() {
    let dir = secrets_example();
    let p = dir.path();
    harness(
        p,
        Some(PASS),
        &["config", "set", "apiToken", "t0ken-xyz", "--secret"],
    )
    .ok();
    harness(p, Some(PASS), &["up", "--yes", "--json"]).ok();
    let before = std::fs::read(state_file(p)).unwrap();
    let stack_before = std::fs::read(p.join("Pulumi.dev.yaml")).unwrap();
    for args in [
        &["up", "--yes", "--json"][..],
        &["refresh", "--yes", "--json"],
        &["destroy", "--yes", "--json"],
        &["stack", "export", "--show-secrets"],
        &["config", "set", "other", "v", "--secret"],
    ] {
        let r = harness(p, Some("not the passphrase"), args);
        assert_eq!(r.code, 6, "{args:?}: {}", r.describe());
        assert!(r.stderr.contains("incorrect passphrase"), "{}", r.stderr);
        let r = harness(p, None, args);
        assert_eq!(r.code, 6, "{args:?}: {}", r.describe());
        assert!(
            r.stderr.contains("PULUMI_CONFIG_PASSPHRASE")
                && r.stderr.contains("PULUMI_CONFIG_PASSPHRASE_FILE"),
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read(state_file(p)).unwrap(), before, "{args:?}");
        assert_eq!(
            std::fs::read(p.join("Pulumi.dev.yaml")).unwrap(),
            stack_before
        );
        assert!(!p.join(".pulumi-harness/dev.journal").exists());
    }
    // Exporting with secrets still encrypted needs no passphrase: nothing is decrypted.
    let exported = harness(p, None, &["stack", "export"]).ok();
    assert!(exported.stdout.contains("\"ciphertext\": \"v1:"));
    assert_eq!(std::fs::read(state_file(p)).unwrap(), before);
    // The passphrase file works too (trimmed, as in Pulumi).
    let pf = p.join("passphrase.txt");
    std::fs::write(&pf, format!("{PASS}\n")).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_engine-harness"));
    let out = c
        .args(["destroy", "--yes", "--json", "--cwd"])
        .arg(p)
        .env_remove("PULUMI_CONFIG_PASSPHRASE")
        .env("PULUMI_CONFIG_PASSPHRASE_FILE", &pf)
        .output()
        .unwrap();
    Run::from(out).ok();
    let help = Command::new(env!("CARGO_BIN_EXE_engine-harness"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("6 secrets passphrase"));
}

#[test]
fn a_stack_without_secrets_needs_no_passphrase() {
    let p = Project::local(
        "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 4\n",
    );
    harness(p.path(), None, &["up", "--yes", "--json"]).ok();
    harness(p.path(), None, &["config", "set", "plain", "value"]).ok();
    let cfg = harness(p.path(), None, &["config"]).ok();
    assert!(
        cfg.stdout.contains("plain") && cfg.stdout.contains("value"),
        "{}",
        cfg.stdout
    );
    harness(p.path(), None, &["stack", "export"]).ok();
    assert_eq!(mode(&state_file(p.path())), 0o600);
    harness(p.path(), None, &["destroy", "--yes", "--json"]).ok();
}

#[test]
fn plaintext_state_from_an_earlier_version_is_read_and_encrypted_on_its_next_write() {
    let p = Project::local(
        "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 4\n      prefix:\n        fn::secret: old-s3cret-\n",
    );
    harness(p.path(), Some(PASS), &["up", "--yes", "--json"]).ok();
    // Make the state what an earlier version wrote: secrets as plaintext, no secrets provider.
    let shown = harness(p.path(), Some(PASS), &["stack", "export", "--show-secrets"]).ok();
    let mut old: Json = serde_json::from_str(&shown.stdout).unwrap();
    old["deployment"]
        .as_object_mut()
        .unwrap()
        .remove("secrets_providers");
    let old_text = serde_json::to_string_pretty(&old).unwrap();
    assert!(old_text.contains("\"plaintext\"") && old_text.contains("old-s3cret-"));
    std::fs::write(state_file(p.path()), &old_text).unwrap();
    std::fs::set_permissions(state_file(p.path()), std::fs::Permissions::from_mode(0o644)).unwrap();
    // It is read (nothing to change) and rewritten encrypted, owner-only.
    let up = harness(p.path(), Some(PASS), &["up", "--yes", "--json"]).ok();
    assert!(
        up.steps().iter().all(|(op, _, _)| op == "same"),
        "{}",
        up.describe()
    );
    let new = std::fs::read_to_string(state_file(p.path())).unwrap();
    assert!(!new.contains("old-s3cret-"), "{new}");
    assert!(!new.contains("\"plaintext\""), "{new}");
    assert!(new.contains("\"ciphertext\": \"v1:"), "{new}");
    assert!(new.contains("\"secrets_providers\""), "{new}");
    assert_eq!(mode(&state_file(p.path())), 0o600);
    let r = p.resource("r").unwrap();
    assert!(r["outputs"]["result"]["ciphertext"].is_string(), "{r}");
    harness(p.path(), Some(PASS), &["destroy", "--yes", "--json"]).ok();
}

#[test]
fn stack_export_and_import_move_a_stack_and_back() {
    let p = Project::local(
        "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 6\n      prefix: ${pw}\n",
    );
    harness(
        p.path(),
        Some(PASS),
        &["config", "set", "pw", "exp0rt-", "--secret"],
    )
    .ok();
    harness(p.path(), Some(PASS), &["up", "--yes", "--json"]).ok();
    let file = p.path().join("export.json");
    harness(
        p.path(),
        Some(PASS),
        &["stack", "export", "--file", file.to_str().unwrap()],
    )
    .ok();
    assert_eq!(mode(&file), 0o600);
    let exported: Json = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(exported["version"], 3);
    assert!(!exported.to_string().contains("exp0rt-"));
    // Into a second stack of the same project (same stack file salt: a fresh state folder).
    let other = p.path().join("other-state");
    harness(
        p.path(),
        Some(PASS),
        &[
            "stack",
            "import",
            "--file",
            file.to_str().unwrap(),
            "--state-dir",
            other.to_str().unwrap(),
        ],
    )
    .ok();
    let preview = harness(
        p.path(),
        Some(PASS),
        &["preview", "--json", "--state-dir", other.to_str().unwrap()],
    )
    .ok();
    assert!(
        preview.steps().iter().all(|(op, _, _)| op == "same"),
        "{}",
        preview.describe()
    );
    let imported = std::fs::read_to_string(other.join("dev.json")).unwrap();
    assert!(!imported.contains("exp0rt-"));
    assert_eq!(mode(&other.join("dev.json")), 0o600);
    // A wrong passphrase cannot import it.
    let r = harness(
        p.path(),
        Some("nope"),
        &[
            "stack",
            "import",
            "--file",
            file.to_str().unwrap(),
            "--state-dir",
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 6, "{}", r.describe());
    assert_eq!(
        std::fs::read_to_string(other.join("dev.json")).unwrap(),
        imported
    );
    harness(p.path(), Some(PASS), &["destroy", "--yes", "--json"]).ok();
}
