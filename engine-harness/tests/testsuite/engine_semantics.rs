//! Pulumi's resource semantics as a program on Pulumi's own Python SDK sees them
//! (`tests/programs/python-semantics`, driven by config): a protected resource is never
//! replaced; `ignoreChanges` with a nested path ignores exactly that path; in a preview a
//! resource to be created has an unknown id, so no `apply` runs on it; `deletedWith` leaves a
//! resource's deletion to its owner.

use crate::support;

use support::programs::*;
use support::*;

/// The fixture with the example provider and the SDK's virtualenv.
fn project() -> Project {
    let dir = copy_fixture("python-semantics");
    use_virtualenv(dir.path(), &python_venv());
    use_local_provider(dir.path());
    Project { dir }
}

/// Runs `args` (`--json`, and `--yes` but for preview and config).
fn harness(p: &Project, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    if args[0] != "config" {
        all.push("--json");
        if args[0] != "preview" {
            all.push("--yes");
        }
    }
    Run::from(p.command(&all).output().expect("run engine-harness"))
}

fn ok(p: &Project, args: &[&str]) -> Run {
    let run = harness(p, args);
    assert_eq!(run.code, 0, "{args:?}:\n{}", run.describe());
    run
}

fn op_of(run: &Run, name: &str) -> String {
    run.step(name)["op"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn python_protect_refuses_a_replacement_in_preview_and_up() {
    let p = project();
    ok(&p, &["up"]);
    let id = p.resource("guarded").unwrap()["id"].clone();
    // A longer Random replaces it (create first, then delete): protect refuses it.
    ok(&p, &["config", "set", "length", "9"]);
    for cmd in ["preview", "up"] {
        let run = harness(&p, &[cmd]);
        assert_ne!(run.code, 0, "{cmd} must refuse:\n{}", run.describe());
        let step = run.step("guarded");
        assert_eq!(step["op"], "replace", "{cmd}:\n{}", run.describe());
        assert_eq!(step["status"], "failed", "{cmd}:\n{}", run.describe());
        let text = format!("{}{}", run.stdout, run.stderr);
        assert!(
            text.contains("guarded") && text.contains("protected") && text.contains("`protect`"),
            "{cmd}: the refusal names the resource and how to unprotect it:\n{}",
            run.describe()
        );
    }
    assert_eq!(p.resource("guarded").unwrap()["id"], id, "not replaced");
}

#[test]
fn python_nested_ignore_changes_ignores_only_its_path() {
    let p = project();
    ok(&p, &["up"]);
    // `triggers[0]` is ignored: no change.
    ok(&p, &["config", "set", "t0", "changed"]);
    let run = ok(&p, &["up"]);
    assert_eq!(op_of(&run, "cmd"), "same", "{}", run.describe());
    assert_eq!(
        p.resource("cmd").unwrap()["inputs"]["triggers"][0],
        "a",
        "the ignored element keeps its old value"
    );
    // `triggers[1]` is not: a change to it replaces the command.
    ok(&p, &["config", "set", "t1", "changed"]);
    let run = ok(&p, &["up"]);
    assert_eq!(op_of(&run, "cmd"), "replace", "{}", run.describe());
    // The replacement is a new resource, checked with the program's inputs as they are (as
    // Pulumi checks a replacement: nothing old to ignore a change against).
    let triggers = p.resource("cmd").unwrap()["inputs"]["triggers"].clone();
    assert_eq!(triggers, serde_json::json!(["changed", "changed"]));
}

#[test]
fn python_preview_of_a_new_resource_runs_no_apply_on_its_id() {
    let p = project();
    let marker = p.path().join("applied-id.txt");
    let run = ok(&p, &["preview"]);
    assert_eq!(op_of(&run, "guarded"), "create");
    assert!(
        !marker.exists(),
        "an apply on an id not known yet ran in preview, with {:?}",
        std::fs::read_to_string(&marker).ok()
    );
    ok(&p, &["up"]);
    let id = p.resource("guarded").unwrap()["id"].clone();
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        id.as_str().unwrap()
    );
}

#[test]
fn python_deleted_with_leaves_the_delete_to_its_owner() {
    let p = project();
    ok(&p, &["config", "set", "owned", "true"]);
    ok(&p, &["up"]);
    let child = p.resource("child").unwrap();
    let owner_urn = p.state()["deployment"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["urn"].as_str().unwrap().ends_with("::owner"))
        .unwrap()["urn"]
        .clone();
    assert_eq!(child["deletedWith"], owner_urn, "recorded in the state");
    let file = p.path().join("child.txt");
    assert!(file.is_file());
    // Both leave the program: the owner is deleted, the child only leaves the state.
    ok(&p, &["config", "set", "owned", "false"]);
    let run = ok(&p, &["up"]);
    assert_eq!(op_of(&run, "child"), "delete", "{}", run.describe());
    assert_eq!(op_of(&run, "owner"), "delete", "{}", run.describe());
    assert!(p.resource("child").is_none() && p.resource("owner").is_none());
    assert!(
        file.is_file(),
        "the child's provider Delete ran though its owner's deletion takes it along"
    );
}

#[test]
fn a_default_provider_no_resource_uses_leaves_the_state() {
    let p = Project::local(
        "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 4\n",
    );
    p.run(&["up"]).ok();
    let types = |p: &Project| -> Vec<String> {
        p.state()["deployment"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(types(&p).contains(&"pulumi:providers:local".to_string()));
    p.write_local("");
    p.run(&["up"]).ok();
    assert_eq!(types(&p), vec!["pulumi:pulumi:Stack".to_string()]);
}
