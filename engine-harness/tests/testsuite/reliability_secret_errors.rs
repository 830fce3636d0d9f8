//! End to end: no secret in clear in the output of a failing step. A Command whose script is
//! secret and fails, a File whose secret path cannot be written: neither the human output nor
//! `--json` (stdout and stderr) nor the state shows the secret, while the failure is still
//! reported. Provider config marked secret does not reach the plugin's environment.

use crate::support;
use support::*;

const PASS: &str = "pw-for-secret-errors";

/// Runs the harness with a passphrase, human output when `json` is false.
fn run(p: &Project, json: bool, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    if json {
        all.push("--json");
    }
    all.push("--yes");
    let out = p
        .command(&all)
        .env("PULUMI_CONFIG_PASSPHRASE", PASS)
        .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE")
        .output()
        .expect("run engine-harness");
    Run::from(out)
}

fn assert_not_shown(p: &Project, r: &Run, secret: &str) {
    assert!(
        !r.stdout.contains(secret),
        "stdout shows the secret:\n{}",
        r.describe()
    );
    assert!(
        !r.stderr.contains(secret),
        "stderr shows the secret:\n{}",
        r.describe()
    );
    let dir = p.path().join(".pulumi-harness");
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        assert!(
            !text.contains(secret),
            "{} holds the secret in clear",
            entry.path().display()
        );
    }
}

#[test]
fn a_failing_command_with_a_secret_script_does_not_show_what_it_printed() {
    // The secret is only in what the script prints, so only the provider can keep it out.
    let p = Project::local(
        "resources:\n  c:\n    type: local:index:Command\n    properties:\n      create:\n        fn::secret: \"printf 'tok-%s' 4711-leaked >&2; exit 3\"\n",
    );
    for json in [false, true] {
        let r = run(&p, json, &["up"]);
        assert_eq!(r.code, 1, "{}", r.describe());
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(
            all.contains("exited with status 3") && all.contains("not shown"),
            "the failure is still reported: {}",
            r.describe()
        );
        assert_not_shown(&p, &r, "4711-leaked");
        assert_not_shown(&p, &r, "printf 'tok-%s'");
    }
}

#[test]
fn a_provider_error_quoting_a_secret_config_value_has_it_masked() {
    // The provider quotes the bad value in its Check failure; the engine masks what it knows.
    let p = Project::local(
        "  token:\n    type: string\n    secret: true\n    default: bad-perm-s3cret-99\nresources:\n  f:\n    type: local:index:File\n    properties:\n      path: f.txt\n      content: x\n      permissions: ${token}\n",
    );
    for json in [false, true] {
        let r = run(&p, json, &["up"]);
        assert_eq!(r.code, 1, "{}", r.describe());
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(
            all.contains("octal mode") && all.contains("[secret]"),
            "the failure is reported, the value masked: {}",
            r.describe()
        );
        assert_not_shown(&p, &r, "bad-perm-s3cret-99");
    }
}

#[test]
fn a_file_whose_secret_path_cannot_be_written_does_not_show_the_path() {
    let p = Project::local(
        "resources:\n  f:\n    type: local:index:File\n    properties:\n      path:\n        fn::secret: no-such-dir-hushhush/f.txt\n      content: x\n",
    );
    for json in [false, true] {
        let r = run(&p, json, &["up"]);
        assert_eq!(r.code, 1, "{}", r.describe());
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(
            all.contains("does not exist"),
            "the failure is still reported: {}",
            r.describe()
        );
        assert_not_shown(&p, &r, "hushhush");
    }
}
