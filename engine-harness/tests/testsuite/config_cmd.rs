//! `engine-harness config`, end to end: Pulumi.<stack>.yaml written as the pulumi CLI writes it,
//! and read back by the engine.

use crate::support;

use std::path::Path;
use std::process::{Command, Stdio};
use support::*;

/// Values made by the pulumi CLI's format: the salt state of Pulumi's own passphrase tests
/// (passphrase `password`) and a value encrypted under it (by the PyPI package `pulumi-crypto`,
/// an independent implementation): `hunter2`.
const PULUMI_SALT: &str = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ==";
const PULUMI_HUNTER2: &str = "v1:AAECAwQFBgcICQoL:f7bPAZLBJje5vjnq4ZjgF4mAxD3wYtU=";

fn harness(dir: &Path, passphrase: Option<&str>, args: &[&str]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_engine-harness"));
    c.args(args)
        .arg("--cwd")
        .arg(dir)
        .stdin(Stdio::null())
        .env_remove("PULUMI_CONFIG_PASSPHRASE")
        .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE");
    if let Some(p) = passphrase {
        c.env("PULUMI_CONFIG_PASSPHRASE", p);
    }
    Run::from(c.output().expect("run engine-harness"))
}

fn stack_file(p: &Project) -> String {
    std::fs::read_to_string(p.path().join("Pulumi.dev.yaml")).unwrap()
}

#[test]
fn config_set_get_list_rm_write_the_stack_file_as_pulumi_does() {
    let p = Project::local(
        "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 4\n      prefix: ${pw}\noutputs:\n  out: ${r.result}\n",
    );
    // A plain value needs no passphrase; keys get the project namespace.
    harness(p.path(), None, &["config", "set", "region", "eu-west-1"]).ok();
    let text = stack_file(&p);
    assert!(text.contains("t:region: eu-west-1"), "{text}");
    assert!(
        !text.contains("encryptionsalt"),
        "no salt before the first secret: {text}"
    );
    // The first secret creates the salt; the value is stored encrypted.
    harness(
        p.path(),
        Some("pw"),
        &["config", "set", "pw", "s3cr3t-", "--secret"],
    )
    .ok();
    let text = stack_file(&p);
    assert!(text.starts_with("encryptionsalt: v1:"), "{text}");
    assert!(text.contains("t:pw:\n    secure: v1:"), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
    let get = harness(p.path(), Some("pw"), &["config", "get", "pw"]).ok();
    assert_eq!(get.stdout, "s3cr3t-\n");
    let list = harness(p.path(), Some("pw"), &["config"]).ok();
    assert!(
        list.stdout.contains("pw") && list.stdout.contains("[secret]"),
        "{}",
        list.stdout
    );
    assert!(!list.stdout.contains("s3cr3t"), "{}", list.stdout);
    let shown = harness(p.path(), Some("pw"), &["config", "--show-secrets"]).ok();
    assert!(shown.stdout.contains("s3cr3t-"), "{}", shown.stdout);
    assert!(shown.stdout.contains("region") && shown.stdout.contains("eu-west-1"));
    // The engine reads the encrypted value.
    let up = harness(p.path(), Some("pw"), &["up", "--yes", "--json"]).ok();
    assert!(!up.stdout.contains("s3cr3t"), "{}", up.describe());
    // Unknown keys and removals.
    let missing = harness(p.path(), Some("pw"), &["config", "get", "nothere"]);
    assert_eq!(missing.code, 2, "{}", missing.describe());
    assert!(missing.stderr.contains("t:nothere"), "{}", missing.stderr);
    harness(p.path(), Some("pw"), &["config", "rm", "region"]).ok();
    assert!(!stack_file(&p).contains("region"));
    harness(p.path(), Some("pw"), &["destroy", "--yes", "--json"]).ok();
}

#[test]
fn a_stack_file_written_by_the_pulumi_cli_is_read_and_hand_written_secure_values_are_refused() {
    let p = Project::local(
        "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 4\n      prefix: ${pw}\n",
    );
    p.write(
        "Pulumi.dev.yaml",
        &format!("encryptionsalt: {PULUMI_SALT}\nconfig:\n  t:pw:\n    secure: {PULUMI_HUNTER2}\n  t:legacy:\n    secure: handwritten-pl41n\n"),
    );
    let get = harness(p.path(), Some("password"), &["config", "get", "pw"]).ok();
    assert_eq!(get.stdout, "hunter2\n");
    // A `secure:` value that is not ciphertext is an error naming the key, never plaintext,
    // and the value is not quoted.
    let legacy = harness(p.path(), Some("password"), &["config", "get", "legacy"]);
    assert_ne!(legacy.code, 0, "{}", legacy.describe());
    assert!(legacy.stderr.contains("`legacy`"), "{}", legacy.describe());
    assert!(!legacy.stderr.contains("pl41n"), "{}", legacy.describe());
    let refused = harness(p.path(), Some("password"), &["preview", "--json"]);
    assert_eq!(refused.code, 2, "{}", refused.describe());
    assert!(
        refused.stderr.contains("Pulumi.dev.yaml") && refused.stderr.contains("t:legacy"),
        "{}",
        refused.describe()
    );
    assert!(!refused.stderr.contains("pl41n"), "{}", refused.describe());
    // Set again as a secret, it is encrypted and the stack runs.
    harness(
        p.path(),
        Some("password"),
        &["config", "set", "legacy", "handwritten-pl41n", "--secret"],
    )
    .ok();
    let text = stack_file(&p);
    assert!(!text.contains("handwritten-pl41n"), "{text}");
    assert!(
        text.contains(&format!("encryptionsalt: {PULUMI_SALT}")),
        "salt kept: {text}"
    );
    let legacy = harness(p.path(), Some("password"), &["config", "get", "legacy"]).ok();
    assert_eq!(legacy.stdout, "handwritten-pl41n\n");
    let preview = harness(p.path(), Some("password"), &["preview", "--json"]).ok();
    assert!(
        !preview.stdout.contains("hunter2"),
        "{}",
        preview.describe()
    );
    // A wrong passphrase is refused by the engine too, naming the file.
    let bad = harness(p.path(), Some("wrong"), &["preview", "--json"]);
    assert_eq!(bad.code, 6, "{}", bad.describe());
    assert!(bad.stderr.contains("Pulumi.dev.yaml"), "{}", bad.stderr);
    // Without a salt an encrypted value cannot be read: a clear error with file and line.
    p.write(
        "Pulumi.dev.yaml",
        &format!("config:\n  t:pw:\n    secure: {PULUMI_HUNTER2}\n"),
    );
    let r = harness(p.path(), Some("password"), &["preview", "--json"]);
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(r.stderr.contains("encryptionsalt"), "{}", r.stderr);
}
