//! Snapshots of engine-harness's output, human and `--json`, for preview, up with an update
//! diff and a replacement, a failed step and destroy, on the example provider run as a real
//! process. Durations, ids, URN-bearing temporary paths and times are redacted, so a snapshot
//! changes only when what a user reads changes. Update with `INSTA_UPDATE=always` (or
//! `cargo insta review`) after a deliberate change of the output.

mod support;
use support::*;

const V1: &str = "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: one\n  b:\n    type: local:index:File\n    properties:\n      path: b.txt\n      content: bee\n";
/// `a` changes its content (an update), `b` its path (a replacement).
const V2: &str = "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: two\n  b:\n    type: local:index:File\n    properties:\n      path: b2.txt\n      content: bee\n";
/// `c` goes into a directory that does not exist: its step fails.
const V3: &str = "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: two\n  b:\n    type: local:index:File\n    properties:\n      path: b2.txt\n      content: bee\n  c:\n    type: local:index:File\n    properties:\n      path: no-such-dir/c.txt\n      content: see\n";

/// Runs the harness in human mode: exit code, stdout and stderr.
fn human(p: &Project, args: &[&str]) -> String {
    human_env(p, args, &[])
}

/// [`human`] with environment variables set.
fn human_env(p: &Project, args: &[&str], env: &[(&str, &str)]) -> String {
    // One step at a time, so the order of the lines is the program's.
    let mut all = args.to_vec();
    all.extend(["--parallel", "1"]);
    if args[0] != "preview" {
        all.push("--yes");
    }
    let out = p
        .command(&all)
        .envs(env.iter().copied())
        .output()
        .expect("run engine-harness");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Replaces the project's directory. In human output the plugin's log lines stay where the
/// engine put them: before the result line of their resource's step.
fn redact(p: &Project, text: &str) -> String {
    let dir = p.path().display().to_string();
    let canonical = p.path().canonicalize().unwrap().display().to_string();
    text.replace(&canonical, "[PROJECT]")
        .replace(&dir, "[PROJECT]")
}

/// The JSON stream with the plugin's log events moved to a sorted section at the end: a
/// plugin's `Log` reaches the engine on its own connection, so where its event lands among the
/// step events is up to the scheduler (the human output orders them; the stream does not wait).
fn redact_json(p: &Project, text: &str) -> String {
    let text = redact(p, text);
    let is_log = |l: &str| l.starts_with("{\"event\":\"log\"");
    let mut logs: Vec<&str> = text.lines().filter(|l| is_log(l)).collect();
    logs.sort();
    let rest: Vec<&str> = text.lines().filter(|l| !is_log(l)).collect();
    format!(
        "{}\n--- plugin logs (sorted)\n{}\n",
        rest.join("\n"),
        logs.join("\n")
    )
}

macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!({
            filters => vec![
                // Durations: `1.2s`, `340ms`, `0.4 s`.
                (r"\b\d+(\.\d+)? ?(ms|s|µs)\b", "[DURATION]"),
                // Resource ids and other UUIDs.
                (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[UUID]"),
                // RFC 3339 times.
                (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIME]"),
                // Where the plugin binary was built, and how big the state file came out.
                (r"(plugin local \S+) \(.*\)", "$1 ([PLUGIN])"),
                (r#""path":"[^"]*pulumi-resource-local""#, "\"path\":\"[PLUGIN]\""),
                (r"\d+ bytes of state written", "[N] bytes of state written"),
                (r#""stateBytesWritten":\d+"#, "\"stateBytesWritten\":[N]"),
                (r#""(duration|elapsed|seconds|ms)(_ms|Ms)?":\s*[0-9.]+"#, "\"$1$2\": [DURATION]"),
            ],
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

#[test]
fn human_output_of_preview_up_update_replace_failure_and_destroy() {
    let p = Project::local(V1);
    snapshot!("preview", redact(&p, &human(&p, &["preview"])));
    snapshot!("up_create", redact(&p, &human(&p, &["up"])));
    p.write_local(V2);
    snapshot!("up_update_and_replace", redact(&p, &human(&p, &["up"])));
    p.write_local(V3);
    snapshot!("up_failed_step", redact(&p, &human(&p, &["up"])));
    p.write_local(V2);
    snapshot!("destroy", redact(&p, &human(&p, &["destroy"])));
}

#[test]
fn json_events_of_up_with_update_and_replace() {
    let p = Project::local(V1);
    p.run(&["up", "--parallel", "1"]).ok();
    p.write_local(V2);
    let r = p.run(&["up", "--parallel", "1"]).ok();
    let events: Vec<String> = r
        .events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    snapshot!(
        "json_up_update_and_replace",
        redact_json(&p, &events.join("\n"))
    );
}

/// A refresh that finds a file gone: its `read-delete` row lines up with the others.
#[test]
fn human_output_of_a_refresh_that_finds_a_resource_gone() {
    let p = Project::local(V1);
    p.run(&["up", "--parallel", "1"]).ok();
    std::fs::remove_file(p.path().join("a.txt")).expect("a.txt was written by up");
    snapshot!("refresh_read_delete", redact(&p, &human(&p, &["refresh"])));
}

/// The output of the commands a Pulumi user types to reproduce a report: a targeted `up`, a
/// forced replacement, `stack output`, `stack ls`, a refused `state delete` and `stack rm`,
/// and `import` with the YAML it prints.
#[test]
fn human_output_of_pulumi_style_commands() {
    let p = Project::local(
        "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: one\n    options:\n      deleteBeforeReplace: true\n  b:\n    type: local:index:File\n    properties:\n      path: b.txt\n      content: ${a.content}\noutputs:\n  file: ${a.path}\n",
    );
    let urn = |n: &str| format!("urn:pulumi:dev::t::local:index:File::{n}");
    human(&p, &["up"]);
    let plain = |args: &[&str]| {
        let out = p.command(args).output().expect("run engine-harness");
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    snapshot!(
        "up_target_replace",
        redact(
            &p,
            &human(&p, &["up", "--target", &urn("a"), "--replace", &urn("a")])
        )
    );
    snapshot!("stack_output", redact(&p, &plain(&["stack", "output"])));
    snapshot!("stack_ls", redact(&p, &plain(&["stack", "ls"])));
    snapshot!(
        "state_delete_refused",
        redact(&p, &plain(&["state", "delete", &urn("a")]))
    );
    snapshot!("stack_rm_refused", redact(&p, &plain(&["stack", "rm"])));
    p.write("found.txt", "already here");
    // The file's mode is part of the code printed: not left to the umask.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        p.path().join("found.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let id = p.path().canonicalize().unwrap().join("found.txt");
    snapshot!(
        "import",
        redact(
            &p,
            &plain(&["import", "local:index:File", "found", id.to_str().unwrap()])
        )
    );
}

/// `f` holds a secret, `c` a map and a list, `gone` is deleted by the next version.
const DIFF_V1: &str = "resources:\n  f:\n    type: local:index:File\n    properties:\n      path: f.txt\n      content:\n        fn::secret: hunter2\n  c:\n    type: local:index:Command\n    properties:\n      create: echo made\n      update: echo updated\n      environment:\n        MODE: dev\n        KEEP: same\n  t:\n    type: local:index:Command\n    properties:\n      create: echo t\n      triggers: [1, two]\n  gone:\n    type: local:index:File\n    properties:\n      path: gone.txt\n      content: bye\n";
/// `f`'s secret changes, `c`'s map gains and changes keys (an update), `t`'s list changes and
/// grows (a replacement), `gone` is deleted and `n` created.
const DIFF_V2: &str = "resources:\n  f:\n    type: local:index:File\n    properties:\n      path: f.txt\n      content:\n        fn::secret: swordfish\n  c:\n    type: local:index:Command\n    properties:\n      create: echo made\n      update: echo updated\n      environment:\n        MODE: prod\n        KEEP: same\n        NEW: x\n  t:\n    type: local:index:Command\n    properties:\n      create: echo t\n      triggers: [1, three, 4]\n  n:\n    type: local:index:File\n    properties:\n      path: n.txt\n      content: new\n";

/// `preview --diff` and `up --diff`, as `pulumi preview --diff` shows a plan: a create lists
/// every input, a delete every old input, an update and a replace each changed key and
/// element with its old and new value. Secrets are masked unless `--show-secrets`.
#[test]
fn human_output_of_full_property_diffs() {
    let env = [("PULUMI_CONFIG_PASSPHRASE", "correct horse")];
    let p = Project::local(DIFF_V1);
    let creates = redact(&p, &human_env(&p, &["preview", "--diff"], &env));
    assert!(!creates.contains("hunter2"), "{creates}");
    snapshot!("diff_preview_creates", creates);
    let up = human_env(&p, &["up"], &env);
    assert!(up.starts_with("exit: 0"), "{up}");
    p.write_local(DIFF_V2);
    let changes = redact(&p, &human_env(&p, &["preview", "--diff"], &env));
    assert!(
        !changes.contains("hunter2") && !changes.contains("swordfish"),
        "{changes}"
    );
    snapshot!("diff_preview_changes", changes);
    // Without --diff, a create or a delete lists no inputs.
    let short = redact(&p, &human_env(&p, &["preview"], &env));
    assert!(
        !short.contains("n.txt") && !short.contains("gone.txt"),
        "{short}"
    );
    let shown = redact(
        &p,
        &human_env(&p, &["up", "--diff", "--show-secrets"], &env),
    );
    snapshot!("diff_up_show_secrets", shown);
}
