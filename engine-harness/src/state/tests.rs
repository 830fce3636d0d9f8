//! Tests of the state files: journal replay, ordering, encryption at rest, export/import.

use super::{Journal, Key, OperationType, Resource, Snapshot, StateFiles, topo_sort};
use crate::secrets::SecretsManager;
use crate::{secrets, value};
use serde_json::Value as Json;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The URN of resource `name` (the loader refuses malformed URNs).
fn u(name: &str) -> String {
    format!("urn:pulumi:dev::p::t:i:T::{name}")
}

/// A custom resource `name` (with an id, as the loader requires) depending on `deps`.
fn res(name: &str, deps: &[&str]) -> Resource {
    Resource {
        urn: u(name),
        custom: true,
        id: format!("id-{name}"),
        type_token: "t:i:T".into(),
        dependencies: deps.iter().map(|s| u(s)).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn journal_replays_after_a_crash_and_replay_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let files = StateFiles::new(dir.path(), "dev")
        .with_secrets(SecretsManager::with_passphrase(None, Some("pw")));
    let j = Journal::open(files.clone(), Snapshot::default(), false).unwrap();
    let op = j
        .begin(OperationType::Creating, &res("a", &[]))
        .await
        .unwrap();
    let mut a = res("a", &[]);
    a.outputs
        .insert("secret".into(), value::secret(Json::String("pw".into())));
    j.end(Some(op), vec![a.clone()], vec![]).await.unwrap();
    let _pending = j
        .begin(OperationType::Creating, &res("b", &["a"]))
        .await
        .unwrap();
    // Simulate a torn write at the end.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&files.journal)
        .unwrap()
        .write_all(b"{\"put\":[{\"ur")
        .unwrap();
    drop(j);
    let journal = std::fs::read_to_string(&files.journal).unwrap();
    assert!(
        !journal.contains("pw\""),
        "no secret in clear in the journal"
    );
    assert!(journal.contains("\"ciphertext\":\"v1:"));
    let (snap, replayed) = files.load().unwrap();
    assert!(replayed);
    assert!(!files.journal.exists(), "the journal is compacted on load");
    assert_eq!(snap.get(&u("a")).unwrap(), &a);
    assert_eq!(snap.pending().len(), 1);
    let text = std::fs::read_to_string(&files.checkpoint).unwrap();
    let v: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 3);
    assert_eq!(v["deployment"]["pending_operations"][0]["type"], "creating");
    let secret = &v["deployment"]["resources"][0]["outputs"]["secret"];
    assert!(secret["ciphertext"].as_str().unwrap().starts_with("v1:"));
    assert!(secret.get("plaintext").is_none());
    assert_eq!(
        v["deployment"]["secrets_providers"]["state"]["salt"].as_str(),
        files.secrets().salt().as_deref()
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&files.checkpoint), 0o600);
    assert_eq!(mode(dir.path()), 0o700);
    // Replaying the same journal again over the compacted checkpoint changes nothing.
    let (again, _) = files.load().unwrap();
    assert_eq!(again.resources(), snap.resources());
}

/// Pulumi's test salt (passphrase `password`, from `pkg/secrets/passphrase/manager_test.go`)
/// and a state secret encrypted under it by the PyPI package `pulumi-crypto` 1.1.0, an
/// independent implementation: the JSON text `"s3cr3t-token"`.
const SALT: &str = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ==";
const CIPHERTEXT: &str = "v1:AAECAwQFBgcICQoL:NbCSFoWAYNQIifKTWYjOtl2vuNBdp/PnwHFlb4lT";

fn pulumi_deployment() -> String {
    serde_json::json!({
        "version": 3,
        "deployment": {
            "manifest": {"time": "2026-01-01T00:00:00Z", "magic": "", "version": "v3"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": SALT}},
            "resources": [{
                "urn": "urn:pulumi:dev::p::t:i:T::a", "custom": true, "id": "1", "type": "t:i:T",
                "outputs": {"token": {value::SIG_KEY: value::SECRET_SIG, "ciphertext": CIPHERTEXT}}
            }]
        }
    })
    .to_string()
}

#[test]
fn a_pulumi_encrypted_deployment_loads_with_its_passphrase_only() {
    let dir = tempfile::tempdir().unwrap();
    let text = pulumi_deployment();
    std::fs::write(dir.path().join("dev.json"), &text).unwrap();
    let files = |p: Option<&str>| {
        StateFiles::new(dir.path(), "dev").with_secrets(SecretsManager::with_passphrase(None, p))
    };
    let (snap, _) = files(Some("password")).load().unwrap();
    assert_eq!(
        snap.get("urn:pulumi:dev::p::t:i:T::a").unwrap().outputs["token"],
        value::secret(Json::String("s3cr3t-token".into()))
    );
    let wrong = files(Some("password123")).load().unwrap_err();
    assert_eq!(wrong.exit_code(), 6, "{wrong}");
    let missing = files(None).load().unwrap_err().to_string();
    assert!(
        missing.contains(secrets::PASSPHRASE_VAR) && missing.contains(secrets::PASSPHRASE_FILE_VAR)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("dev.json")).unwrap(),
        text
    );
}

#[test]
fn plaintext_state_of_an_earlier_version_is_encrypted_on_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let old = pulumi_deployment()
        .replace(&format!("\"ciphertext\":\"{CIPHERTEXT}\""), "\"plaintext\":\"\\\"s3cr3t-token\\\"\"")
        .replace(&format!(",\"secrets_providers\":{{\"state\":{{\"salt\":\"{SALT}\"}},\"type\":\"passphrase\"}}"), "");
    assert!(
        old.contains("plaintext") && !old.contains("secrets_providers"),
        "{old}"
    );
    std::fs::write(dir.path().join("dev.json"), &old).unwrap();
    let files = StateFiles::new(dir.path(), "dev")
        .with_secrets(SecretsManager::with_passphrase(None, Some("")));
    let (snap, _) = files.load().unwrap();
    // A run that changes nothing still rewrites it, encrypted.
    let j = Journal::open(files.clone(), snap, false).unwrap();
    j.compact().unwrap();
    let new = std::fs::read_to_string(dir.path().join("dev.json")).unwrap();
    assert!(!new.contains("s3cr3t-token"), "{new}");
    assert!(new.contains("\"ciphertext\": \"v1:"), "{new}");
    let (again, _) = files.load().unwrap();
    assert_eq!(
        again.get("urn:pulumi:dev::p::t:i:T::a").unwrap().outputs["token"],
        value::secret(Json::String("s3cr3t-token".into()))
    );
}

#[test]
fn export_and_import_round_trip_between_salts() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("export.json");
    let doc: Json = serde_json::from_str(&pulumi_deployment()).unwrap();
    // Import into a stack with its own salt: secrets are re-encrypted under it.
    let ours = SecretsManager::with_passphrase(None, Some("password"));
    ours.encrypt("create a salt").unwrap();
    let files = StateFiles::new(&dir.path().join("state"), "dev").with_secrets(ours.clone());
    let warnings = files.import(&doc, &src).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let text = std::fs::read_to_string(&files.checkpoint).unwrap();
    assert!(!text.contains("s3cr3t") && !text.contains(CIPHERTEXT));
    assert!(text.contains(&ours.salt().unwrap()));
    let out = files.export(false).unwrap();
    assert!(!out.to_string().contains("s3cr3t"));
    let shown = files.export(true).unwrap();
    let token = &shown["deployment"]["resources"][0]["outputs"]["token"];
    assert_eq!(token["plaintext"], "\"s3cr3t-token\"");
}

#[test]
fn resources_are_ordered_dependencies_first() {
    let out = topo_sort(vec![res("c", &["b"]), res("b", &["a"]), res("a", &[])]);
    let urns: Vec<&str> = out.iter().map(|r| r.urn.as_str()).collect();
    assert_eq!(urns, vec![u("a"), u("b"), u("c")]);
}

/// An old copy (`delete: true`) of `urn` with provider id `id`.
fn old(urn: &str, id: &str) -> Resource {
    Resource {
        delete: true,
        id: id.into(),
        ..res(urn, &[])
    }
}

#[tokio::test]
async fn any_number_of_old_copies_per_urn_survive_journal_and_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let files = StateFiles::new(dir.path(), "dev");
    let j = Journal::open(files.clone(), Snapshot::default(), false).unwrap();
    j.write(vec![old("a", "v1"), res("a", &[])], vec![])
        .await
        .unwrap();
    j.write(vec![old("a", "v2")], vec![]).await.unwrap();
    let ids = |s: &Snapshot| {
        let mut v: Vec<String> = s
            .resources()
            .into_iter()
            .filter(|r| r.delete)
            .map(|r| r.id)
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&j.snapshot()), ["v1", "v2"]);
    // Replayed from the journal, then read back from the checkpoint.
    drop(j);
    let (snap, replayed) = files.load().unwrap();
    assert!(replayed);
    assert_eq!(ids(&snap), ["v1", "v2"]);
    let (snap, _) = files.load().unwrap();
    assert_eq!(ids(&snap), ["v1", "v2"]);
    // Removing one copy leaves the other and the live resource.
    let j = Journal::open(files.clone(), snap, false).unwrap();
    j.write(vec![], vec![Key::old_copy(&u("a"), "v1")])
        .await
        .unwrap();
    assert_eq!(ids(&j.snapshot()), ["v2"]);
    assert!(j.get(&u("a")).is_some());
}

#[test]
fn stale_temp_files_of_the_stack_are_removed_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let files = StateFiles::new(dir.path(), "dev");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    let make = |name: &str, mtime: Option<std::time::SystemTime>| {
        let path = dir.path().join(name);
        let f = File::create(&path).unwrap();
        if let Some(t) = mtime {
            f.set_modified(t).unwrap();
        }
        path
    };
    let stale = make(".dev.json.tmp-4242", Some(old));
    let fresh = make(".dev.json.tmp-4243", None);
    let other_stack = make(".prod.json.tmp-4244", Some(old));
    let not_ours = make(".dev.json.tmp-notapid", Some(old));
    files.load().unwrap();
    assert!(
        !stale.exists(),
        "a temp file older than a minute is removed"
    );
    assert!(
        fresh.exists(),
        "a recent one may be another run's write under way"
    );
    assert!(other_stack.exists(), "another stack's files are its own");
    assert!(not_ours.exists(), "only the exact pattern is removed");
}
