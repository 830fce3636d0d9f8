//! The command line as a Pulumi user types it, end to end on the example provider run as a
//! real process: each flag and command is shown by its effect on the files the resources
//! are and on the state, not by being parsed.

mod support;
use std::path::Path;
use support::*;

const URN: &str = "urn:pulumi:dev::t::local:index:File::";

fn urn(name: &str) -> String {
    format!("{URN}{name}")
}

fn read(p: &Project, file: &str) -> String {
    std::fs::read_to_string(p.path().join(file)).unwrap_or_else(|_| "<missing>".into())
}

/// `a` and `b` stand alone; `c` depends on `a` (its content is a's content).
fn abc(a: &str, b: &str, c: &str) -> String {
    format!(
        "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: {a}\n  b:\n    type: local:index:File\n    properties:\n      path: b.txt\n      content: {b}\n  c:\n    type: local:index:File\n    properties:\n      path: c.txt\n      content: ${{a.content}}-{c}\n"
    )
}

/// A run with its own environment (a passphrase, no inherited one).
fn run_env(p: &Project, args: &[&str], passphrase: Option<&str>) -> Run {
    let mut c = p.command(args);
    c.env_remove("PULUMI_CONFIG_PASSPHRASE")
        .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE");
    if let Some(pp) = passphrase {
        c.env("PULUMI_CONFIG_PASSPHRASE", pp);
    }
    Run::from(c.output().expect("run engine-harness"))
}

/// A plain command (no --json, no --yes added).
fn cmd(p: &Project, args: &[&str]) -> Run {
    run_env(p, args, None)
}

#[test]
fn a_target_changes_only_its_resource_and_its_dependents_with_the_flag() {
    let p = Project::local(&abc("one", "bee", "see"));
    p.run(&["up"]).ok();
    assert_eq!(read(&p, "c.txt"), "one-see");
    p.write_local(&format!(
        "{}  d:\n    type: local:index:File\n    properties:\n      path: d.txt\n      content: new\n",
        abc("two", "bee2", "see2")
    ));

    let r = p.run(&["up", "--target", &urn("a")]).ok();
    assert_eq!(read(&p, "a.txt"), "two", "the target is updated");
    assert_eq!(
        read(&p, "b.txt"),
        "bee",
        "an untargeted resource is left as it was"
    );
    assert_eq!(
        read(&p, "c.txt"),
        "one-see",
        "a dependent is not a target without the flag"
    );
    assert_eq!(
        read(&p, "d.txt"),
        "<missing>",
        "an untargeted new resource is not created"
    );
    assert!(p.resource("d").is_none(), "{}", r.describe());
    assert_eq!(r.step("a")["op"], "update", "{}", r.describe());
    assert_eq!(r.step("b")["op"], "same", "{}", r.describe());

    let r = p
        .run(&["up", "--target", &urn("a"), "--target-dependents"])
        .ok();
    assert_eq!(
        read(&p, "c.txt"),
        "two-see2",
        "the dependent follows its target"
    );
    assert_eq!(read(&p, "b.txt"), "bee", "{}", r.describe());
    assert_eq!(r.step("c")["op"], "update", "{}", r.describe());

    // A pattern: `*` within the name part.
    p.run(&["up", "--target", &format!("{URN}*")]).ok();
    assert_eq!(read(&p, "b.txt"), "bee2");
    assert_eq!(read(&p, "d.txt"), "new");

    // A URN that names nothing is refused (a typo must not pass as a no-op).
    let r = p.run(&["up", "--target", &urn("nope")]);
    assert_eq!(r.code, 1, "{}", r.describe());
    assert!(r.stderr.contains(&urn("nope")), "{}", r.describe());
}

#[test]
fn a_targeted_destroy_deletes_only_its_target() {
    let p = Project::local(&abc("one", "bee", "see"));
    p.run(&["up"]).ok();
    p.run(&["destroy", "--target", &urn("b")]).ok();
    assert_eq!(read(&p, "b.txt"), "<missing>");
    assert_eq!(read(&p, "a.txt"), "one");
    assert!(p.resource("a").is_some() && p.resource("b").is_none());
}

#[test]
fn an_excluded_resource_is_untouched() {
    let p = Project::local(&abc("one", "bee", "see"));
    p.run(&["up"]).ok();
    p.write_local(&abc("two", "bee2", "see2"));
    let r = p.run(&["up", "--exclude", &urn("b")]).ok();
    assert_eq!(read(&p, "b.txt"), "bee", "{}", r.describe());
    assert_eq!(read(&p, "a.txt"), "two");
    assert_eq!(read(&p, "c.txt"), "two-see2");

    p.write_local(&abc("three", "bee2", "see3"));
    p.run(&["up", "--exclude", &urn("a"), "--exclude-dependents"])
        .ok();
    assert_eq!(read(&p, "a.txt"), "two", "excluded");
    assert_eq!(read(&p, "c.txt"), "two-see2", "excluded as a dependent");
    assert_eq!(read(&p, "b.txt"), "bee2", "not excluded");
}

#[test]
fn replace_replaces_an_unchanged_resource() {
    // deleteBeforeReplace: a file's replacement at the same path must remove the old one first.
    let p = Project::local(
        "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: one\n    options:\n      deleteBeforeReplace: true\n  b:\n    type: local:index:File\n    properties:\n      path: b.txt\n      content: bee\n",
    );
    p.run(&["up"]).ok();
    let before = p.resource("a").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = p.run(&["up", "--replace", &urn("a")]).ok();
    assert_eq!(r.step("a")["op"], "replace", "{}", r.describe());
    assert_eq!(r.step("b")["op"], "same", "{}", r.describe());
    let after = p.resource("a").unwrap();
    assert_ne!(
        before["created"], after["created"],
        "a replacement records a new resource"
    );
    assert_eq!(read(&p, "a.txt"), "one");
    // Without the flag, the same program is a no-op.
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("a")["op"], "same");
}

#[test]
fn up_refresh_repairs_drift() {
    let p = Project::local(&abc("one", "bee", "see"));
    p.run(&["up"]).ok();
    std::fs::write(p.path().join("a.txt"), "edited by hand").unwrap();
    let r = p.run(&["up"]).ok();
    assert_eq!(
        read(&p, "a.txt"),
        "edited by hand",
        "without --refresh the state still says `one`: {}",
        r.describe()
    );
    let r = p.run(&["up", "--refresh"]).ok();
    assert_eq!(read(&p, "a.txt"), "one", "{}", r.describe());
    assert!(
        r.events.iter().any(|e| e["op"] == "refresh"),
        "{}",
        r.describe()
    );
}

#[test]
fn expect_no_changes_fails_on_a_change_and_passes_on_a_no_op() {
    let p = Project::local(&abc("one", "bee", "see"));
    p.run(&["up"]).ok();
    p.run(&["up", "--expect-no-changes"]).ok();
    p.run(&["preview", "--expect-no-changes"]).ok();
    p.write_local(&abc("two", "bee", "see"));
    let r = p.run(&["preview", "--expect-no-changes"]);
    assert_eq!(r.code, 8, "{}", r.describe());
    assert!(
        r.stderr.contains("no changes were expected"),
        "{}",
        r.describe()
    );
    assert_eq!(read(&p, "a.txt"), "one", "a preview changes nothing");
    let r = p.run(&["up", "--expect-no-changes"]);
    assert_eq!(r.code, 8, "{}", r.describe());
}

#[test]
fn stack_output_prints_plain_and_masked_secret_values() {
    let p = Project::local(
        "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: one\noutputs:\n  file: ${a.path}\n  pw:\n    fn::secret: hunter2\n",
    );
    let pp = Some("correct horse");
    let r = run_env(&p, &["up", "--yes"], pp);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(!r.stdout.contains("hunter2"), "{}", r.describe());
    let r = run_env(&p, &["up", "--yes", "--show-secrets"], pp);
    assert!(r.stdout.contains("pw: \"hunter2\""), "{}", r.describe());

    let r = run_env(&p, &["stack", "output"], pp);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(r.stdout.contains("pw      [secret]"), "{}", r.describe());
    assert!(r.stdout.contains("file    a.txt"), "{}", r.describe());
    assert!(!r.stdout.contains("hunter2"));
    let r = run_env(&p, &["stack", "output", "pw"], pp);
    assert_eq!(r.stdout, "[secret]\n", "{}", r.describe());
    let r = run_env(&p, &["stack", "output", "pw", "--show-secrets"], pp);
    assert_eq!(r.stdout, "hunter2\n", "{}", r.describe());
    let r = run_env(&p, &["stack", "output", "file"], pp);
    assert_eq!(r.stdout, "a.txt\n", "{}", r.describe());
    let r = run_env(&p, &["stack", "output", "--json"], pp);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{}", r.describe()));
    assert_eq!(v, serde_json::json!({"file": "a.txt", "pw": "[secret]"}));
    let r = run_env(&p, &["stack", "output", "nope"], pp);
    assert_eq!(r.code, 2, "{}", r.describe());
}

#[test]
fn stacks_are_created_selected_listed_and_removed_only_when_empty() {
    let p = Project::local(&abc("one", "bee", "see"));
    let r = cmd(&p, &["stack", "init", "prod"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(
        cmd(&p, &["stack", "init", "prod"]).code,
        2,
        "exists already"
    );
    // No --stack: the selected stack.
    p.run(&["up"]).ok();
    assert!(p.path().join(".pulumi-harness/prod.json").is_file());
    assert!(!p.path().join(".pulumi-harness/dev.json").exists());
    let r = cmd(&p, &["stack", "ls"]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("prod*") && l.trim_end().ends_with(" 5")),
        "prod is current and has the stack, its provider and 3 files:\n{}",
        r.describe()
    );

    let r = cmd(&p, &["stack", "rm"]);
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(r.stderr.contains("still has resources"), "{}", r.describe());
    assert!(p.path().join(".pulumi-harness/prod.json").is_file());
    assert_eq!(read(&p, "a.txt"), "one");

    assert_eq!(
        cmd(&p, &["stack", "select", "dev"]).code,
        2,
        "dev does not exist"
    );
    assert_eq!(cmd(&p, &["stack", "select", "dev", "--create"]).code, 0);
    let r = cmd(&p, &["stack", "ls"]);
    assert!(
        r.stdout.lines().any(|l| l.starts_with("dev* ")),
        "{}",
        r.describe()
    );

    p.run(&["destroy", "--stack", "prod"]).ok();
    let r = cmd(&p, &["stack", "rm", "prod"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(!p.path().join(".pulumi-harness/prod.json").exists());
}

#[test]
fn state_delete_leaves_the_resource_and_refuses_one_others_depend_on() {
    let p = Project::local(&abc("one", "bee", "see"));
    p.run(&["up"]).ok();
    let r = cmd(&p, &["state", "delete", &urn("a")]);
    assert_eq!(r.code, 2, "c depends on a: {}", r.describe());
    assert!(r.stderr.contains(&urn("c")), "{}", r.describe());
    assert!(p.resource("a").is_some());

    let r = cmd(&p, &["state", "delete", &urn("b")]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(p.resource("b").is_none());
    assert_eq!(read(&p, "b.txt"), "bee", "the file itself stays");

    let r = cmd(&p, &["state", "delete", &urn("a"), "--target-dependents"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(p.resource("a").is_none() && p.resource("c").is_none());
    assert_eq!(read(&p, "c.txt"), "one-see");
}

#[test]
fn state_unprotect_then_destroy_deletes() {
    let p = Project::local(
        "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: one\n    options:\n      protect: true\n",
    );
    p.run(&["up"]).ok();
    let r = p.run(&["destroy"]);
    assert_eq!(r.code, 1, "protected: {}", r.describe());
    assert_eq!(read(&p, "a.txt"), "one");
    let r = cmd(&p, &["state", "delete", &urn("a")]);
    assert_eq!(r.code, 2, "protected: {}", r.describe());
    let r = cmd(&p, &["state", "unprotect", &urn("a")]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(p.resource("a").unwrap()["protect"], serde_json::Value::Null);
    p.run(&["destroy"]).ok();
    assert_eq!(read(&p, "a.txt"), "<missing>");
}

#[test]
fn import_adopts_an_existing_file_and_prints_the_code_that_keeps_it() {
    let p = Project::local("resources: {}\n");
    p.write("found.txt", "already here");
    let id = p.path().canonicalize().unwrap().join("found.txt");
    let r = cmd(
        &p,
        &["import", "local:index:File", "found", id.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let found = p.resource("found").expect("imported into the state");
    assert_eq!(found["protect"], true, "protected, as pulumi import does");
    assert_eq!(Path::new(found["id"].as_str().unwrap()), id);
    let code = r
        .stdout
        .split_once("\n\n")
        .map(|(_, c)| c.to_string())
        .unwrap_or_else(|| panic!("{}", r.describe()));
    assert!(
        code.starts_with("  found:\n    type: local:index:File\n"),
        "{code}"
    );
    // The code printed, pasted into the program: `up` finds nothing to change.
    p.write_local(&format!("resources:\n{code}"));
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("found")["op"], "same", "{}", r.describe());
    assert_eq!(read(&p, "found.txt"), "already here");
    // Importing it again is refused: it is in the state.
    let r = cmd(
        &p,
        &["import", "local:index:File", "found", id.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{}", r.describe());
}

/// `destroy --target a` while `c` depends on `a`: refused as Pulumi refuses it, naming `c`,
/// with nothing deleted; `--target-dependents` (or naming `c` too) proceeds.
#[test]
fn a_targeted_destroy_with_untargeted_dependents_is_refused_unless_they_follow() {
    let p = Project::local(&abc("one", "bee", "see"));
    p.run(&["up"]).ok();
    let r = cmd(&p, &["destroy", "--yes", "--target", &urn("a")]);
    assert_eq!(r.code, 1, "{}", r.describe());
    let expected = format!(
        "Resource '{}' will be destroyed but was not specified in --target list.\nEither include resource in --target list or pass --target-dependents to proceed.",
        urn("c")
    );
    assert!(r.stderr.contains(&expected), "{}", r.describe());
    assert!(
        !r.stderr.contains(&format!("'{}'", urn("b"))),
        "{}",
        r.describe()
    );
    assert_eq!(read(&p, "a.txt"), "one", "nothing is deleted");
    assert_eq!(read(&p, "c.txt"), "one-see");
    assert!(p.resource("a").is_some() && p.resource("c").is_some());

    let r = p.run(&["destroy", "--target", &urn("a"), "--target-dependents"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(read(&p, "a.txt"), "<missing>");
    assert_eq!(read(&p, "c.txt"), "<missing>");
    assert_eq!(read(&p, "b.txt"), "bee", "not a dependent");
    assert!(p.resource("b").is_some() && p.resource("c").is_none());
}

/// Pulumi's `--json` events never carry secrets in clear, `--show-secrets` or not (its JSON
/// display serializes the events with secrets hidden); the human output with `--show-secrets`
/// does show the outputs.
#[test]
fn json_events_stay_masked_with_show_secrets() {
    let p = Project::local(
        "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content:\n        fn::secret: hunter2\noutputs:\n  pw:\n    fn::secret: hunter2\n",
    );
    let pp = Some("correct horse");
    for args in [
        &["preview", "--json", "--show-secrets", "--diff"][..],
        &["up", "--yes", "--json", "--show-secrets", "--diff"],
    ] {
        let r = run_env(&p, args, pp);
        assert_eq!(r.code, 0, "{args:?}: {}", r.describe());
        assert!(!r.events.is_empty(), "{}", r.describe());
        assert!(!r.stdout.contains("hunter2"), "{args:?}: {}", r.describe());
    }
    let r = run_env(&p, &["up", "--yes", "--json", "--show-secrets"], pp);
    let outputs = r
        .events
        .iter()
        .find(|e| e["event"] == "outputs")
        .unwrap_or_else(|| panic!("{}", r.describe()));
    assert_eq!(outputs["outputs"]["pw"], "[secret]");
}

/// A first `up` that stops before writing anything (the program has a secret and no
/// passphrase is set) does not claim to have created the stack; the one that writes it does.
#[test]
fn a_new_stack_is_announced_only_when_it_is_written() {
    let p = Project::local(
        "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content:\n        fn::secret: hunter2\n",
    );
    let r = run_env(&p, &["up", "--yes"], None);
    assert_eq!(r.code, 6, "{}", r.describe());
    assert!(r.stderr.contains("nothing was written"), "{}", r.describe());
    assert!(
        !r.stdout.contains("created stack"),
        "claims a stack that was not written: {}",
        r.describe()
    );
    assert!(!p.path().join(".pulumi-harness/dev.json").exists());
    let r = run_env(&p, &["up", "--yes"], Some("correct horse"));
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(r.stdout.contains("created stack dev"), "{}", r.describe());
}
