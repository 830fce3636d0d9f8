//! Pulumi's resource semantics as a program on Pulumi's own Python and Node SDKs sees them
//! (`tests/programs/python-semantics`, `typescript-semantics`, driven by config): a protected resource is never
//! replaced; `ignoreChanges` with a nested path ignores exactly that path; in a preview a
//! resource to be created has an unknown id, so no `apply` runs on it; `deletedWith` leaves a
//! resource's deletion to its owner. Transforms and resource hooks, from Pulumi's Python and
//! Node SDKs (`tests/programs/python-hooks`, `typescript-hooks`): a transform changes inputs and
//! options, a stack transform reaches every resource, a before-create hook runs before the
//! provider's Create (and its failure fails the step), an after-delete hook runs when its
//! resource leaves the program. And, from Pulumi's Python SDK: an invoke transform rewrites an
//! invoke's arguments; a transform sees an input that depends on another resource as an
//! output; a component runs its create hooks (the after-hook with its registered outputs) and
//! its delete hooks; an `onDryRun` delete hook runs in the preview of the delete (and of a
//! replacement's delete of the old copy); an error hook
//! has a failed Create retried; one Ctrl-C stops a run whose program hangs in a delete hook.

use crate::support;

use support::programs::*;
use support::*;

/// The semantics fixture.
fn project(sdk: Sdk) -> Project {
    sdk_project(sdk, "semantics")
}

fn op_of(run: &Run, name: &str) -> String {
    run.step(name)["op"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn python_protect_refuses_a_replacement_in_preview_and_up() {
    protect_refuses_a_replacement_in_preview_and_up(Sdk::Python);
}

#[test]
fn node_protect_refuses_a_replacement_in_preview_and_up() {
    protect_refuses_a_replacement_in_preview_and_up(Sdk::Node);
}

fn protect_refuses_a_replacement_in_preview_and_up(sdk: Sdk) {
    let p = project(sdk);
    p.ok(&["up"]);
    let id = p.resource("guarded").unwrap()["id"].clone();
    // A longer Random replaces it (create first, then delete): protect refuses it.
    p.ok(&["config", "set", "length", "9"]);
    for cmd in ["preview", "up"] {
        let run = p.run(&[cmd]);
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
    nested_ignore_changes_ignores_only_its_path(Sdk::Python);
}

#[test]
fn node_nested_ignore_changes_ignores_only_its_path() {
    nested_ignore_changes_ignores_only_its_path(Sdk::Node);
}

fn nested_ignore_changes_ignores_only_its_path(sdk: Sdk) {
    let p = project(sdk);
    p.ok(&["up"]);
    // `triggers[0]` is ignored: no change.
    p.ok(&["config", "set", "t0", "changed"]);
    let run = p.ok(&["up"]);
    assert_eq!(op_of(&run, "cmd"), "same", "{}", run.describe());
    assert_eq!(
        p.resource("cmd").unwrap()["inputs"]["triggers"][0],
        "a",
        "the ignored element keeps its old value"
    );
    // `triggers[1]` is not: a change to it replaces the command.
    p.ok(&["config", "set", "t1", "changed"]);
    let run = p.ok(&["up"]);
    assert_eq!(op_of(&run, "cmd"), "replace", "{}", run.describe());
    // The replacement is a new resource, checked with the program's inputs as they are (as
    // Pulumi checks a replacement: nothing old to ignore a change against).
    let triggers = p.resource("cmd").unwrap()["inputs"]["triggers"].clone();
    assert_eq!(triggers, serde_json::json!(["changed", "changed"]));
}

#[test]
fn python_preview_of_a_new_resource_runs_no_apply_on_its_id() {
    preview_of_a_new_resource_runs_no_apply_on_its_id(Sdk::Python);
}

#[test]
fn node_preview_of_a_new_resource_runs_no_apply_on_its_id() {
    preview_of_a_new_resource_runs_no_apply_on_its_id(Sdk::Node);
}

fn preview_of_a_new_resource_runs_no_apply_on_its_id(sdk: Sdk) {
    let p = project(sdk);
    let marker = p.path().join("applied-id.txt");
    let run = p.ok(&["preview"]);
    assert_eq!(op_of(&run, "guarded"), "create");
    assert!(
        !marker.exists(),
        "an apply on an id not known yet ran in preview, with {:?}",
        std::fs::read_to_string(&marker).ok()
    );
    p.ok(&["up"]);
    let id = p.resource("guarded").unwrap()["id"].clone();
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        id.as_str().unwrap()
    );
}

#[test]
fn python_deleted_with_leaves_the_delete_to_its_owner() {
    deleted_with_leaves_the_delete_to_its_owner(Sdk::Python);
}

#[test]
fn node_deleted_with_leaves_the_delete_to_its_owner() {
    deleted_with_leaves_the_delete_to_its_owner(Sdk::Node);
}

fn deleted_with_leaves_the_delete_to_its_owner(sdk: Sdk) {
    let p = project(sdk);
    p.ok(&["config", "set", "owned", "true"]);
    p.ok(&["up"]);
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
    p.ok(&["config", "set", "owned", "false"]);
    let run = p.ok(&["up"]);
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

/// The hooks fixture.
fn hooks_project(sdk: Sdk) -> Project {
    sdk_project(sdk, "hooks")
}

fn read(p: &Project, file: &str) -> Option<String> {
    std::fs::read_to_string(p.path().join(file)).ok()
}

fn transforms_change_inputs_and_options(sdk: Sdk) {
    let p = hooks_project(sdk);
    p.ok(&["up"]);
    let shaped = p.resource("shaped").unwrap();
    assert_eq!(
        shaped["inputs"]["length"].as_f64(),
        Some(12.0),
        "{sdk:?}: the resource's own transform set the input: {shaped}"
    );
    assert_eq!(shaped["retainOnDelete"], true, "{sdk:?}: and an option");
    assert_eq!(shaped["outputs"]["result"].as_str().map(str::len), Some(12));
    for name in ["shaped", "hooked"] {
        let r = p.resource(name).unwrap();
        assert!(
            r["ignoreChanges"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "stackMark")),
            "{sdk:?}: the stack transform reached {name}: {r}"
        );
    }
}

#[test]
fn python_transforms_change_inputs_and_options_and_stack_transforms_reach_every_resource() {
    transforms_change_inputs_and_options(Sdk::Python);
}

#[test]
fn node_transforms_change_inputs_and_options_and_stack_transforms_reach_every_resource() {
    transforms_change_inputs_and_options(Sdk::Node);
}

fn before_create_hook_runs_first_and_its_failure_fails_the_step(sdk: Sdk) {
    let p = hooks_project(sdk);
    p.ok(&["preview"]);
    assert_eq!(
        read(&p, "before-create.txt"),
        None,
        "{sdk:?}: a hook not asked to run on dry runs ran in preview"
    );
    p.ok(&["up"]);
    assert_eq!(
        read(&p, "before-create.txt").as_deref(),
        Some("absent"),
        "{sdk:?}: the hook ran before the provider's Create wrote the file"
    );
    assert!(p.path().join("hooked.txt").is_file());
    assert_eq!(
        p.resource("hooked").unwrap()["resourceHooks"]["BeforeCreate"],
        serde_json::json!(["note-before-create"]),
        "{sdk:?}: the binding is kept in the state"
    );
    p.ok(&["config", "set", "fail", "true"]);
    let run = p.run(&["up"]);
    assert_ne!(run.code, 0, "{sdk:?}:\n{}", run.describe());
    assert_eq!(run.step("doomed")["status"], "failed", "{}", run.describe());
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains("the before-create hook refuses doomed"),
        "{sdk:?}: the hook's error is shown:\n{}",
        run.describe()
    );
    assert!(
        !p.path().join("doomed.txt").exists(),
        "{sdk:?}: the provider's Create ran though the before-create hook failed"
    );
    assert!(p.resource("doomed").is_none());
}

#[test]
fn python_before_create_hook_runs_before_create_and_its_failure_fails_the_step() {
    before_create_hook_runs_first_and_its_failure_fails_the_step(Sdk::Python);
}

#[test]
fn node_before_create_hook_runs_before_create_and_its_failure_fails_the_step() {
    before_create_hook_runs_first_and_its_failure_fails_the_step(Sdk::Node);
}

fn after_delete_hook_runs_when_its_resource_leaves_the_program(sdk: Sdk) {
    let p = hooks_project(sdk);
    p.ok(&["config", "set", "keep", "true"]);
    p.ok(&["up"]);
    assert!(p.path().join("temp.txt").is_file());
    assert_eq!(
        p.resource("temp").unwrap()["resourceHooks"]["AfterDelete"],
        serde_json::json!(["note-after-delete"])
    );
    // `destroy` runs no program, so it cannot run the hook: it refuses, as Pulumi does.
    let run = p.run(&["destroy"]);
    assert_ne!(run.code, 0, "{sdk:?}:\n{}", run.describe());
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("delete hooks"),
        "{}",
        run.describe()
    );
    assert!(p.path().join("temp.txt").is_file(), "nothing was deleted");
    p.ok(&["config", "set", "keep", "false"]);
    let run = p.ok(&["up"]);
    assert_eq!(op_of(&run, "temp"), "delete", "{}", run.describe());
    assert_eq!(
        read(&p, "after-delete.txt").as_deref(),
        Some("gone temp temp.txt"),
        "{sdk:?}: the after-delete hook ran after the provider's Delete, with the old inputs"
    );
}

#[test]
fn python_after_delete_hook_runs_when_its_resource_leaves_the_program() {
    after_delete_hook_runs_when_its_resource_leaves_the_program(Sdk::Python);
}

#[test]
fn node_after_delete_hook_runs_when_its_resource_leaves_the_program() {
    after_delete_hook_runs_when_its_resource_leaves_the_program(Sdk::Node);
}

/// A YAML project of the fixture provider: `base` (a `Recreated` with `state`), and
/// `dependent`, whose `state` comes from `base`.
fn write_recreated(p: &Project, state: u32) {
    p.write(
        "Pulumi.yaml",
        &format!(
            "name: t\nruntime: yaml\nplugins:\n  providers:\n    - name: fixture\n      path: {}\nresources:\n  base:\n    type: fixture:index:Recreated\n    properties:\n      state: {state}\n  dependent:\n    type: fixture:index:Recreated\n    properties:\n      state: ${{base.state}}\n      dependent: true\n",
            workspace_binary("pulumi-resource-fixture").display()
        ),
    );
}

#[test]
fn a_dependent_of_a_delete_before_replace_is_deleted_first_and_checked_as_new() {
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    write_recreated(&p, 99);
    p.run(&["up"]).ok();
    let old_id = p.resource("dependent").unwrap()["id"].clone();
    write_recreated(&p, 21);
    let run = p.run(&["preview"]).ok();
    assert!(
        run.steps()
            .contains(&s("delete-replaced", "dependent", "planned")),
        "the preview shows the dependent deleted first: {:?}",
        run.steps()
    );
    let run = p.run(&["up"]).ok();
    // In the order the steps ended.
    let steps: Vec<(String, String, String)> = run
        .events
        .iter()
        .filter(|e| e["event"] == "step")
        .map(|e| {
            let f = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (f("op"), f("name"), f("status"))
        })
        .collect();
    let at = |op: &str, name: &str| {
        steps
            .iter()
            .position(|(o, n, _)| o == op && n == name)
            .unwrap_or_else(|| panic!("no {op} of {name} in {steps:?}"))
    };
    assert!(
        at("delete-replaced", "dependent") < at("replace", "base"),
        "the dependent goes before the resource it depends on: {steps:?}"
    );
    // Created anew: Checked without the old inputs (the fixture's Check fails otherwise).
    assert!(
        at("replace", "base") < at("create", "dependent"),
        "{steps:?}"
    );
    let dependent = p.resource("dependent").unwrap();
    assert_eq!(dependent["inputs"]["state"].as_f64(), Some(21.0));
    assert_eq!(dependent["id"], old_id, "the fixture's ids are its names");
}

/// The Python hooks fixture with config `key` set to true.
fn hooks_project_with(key: &str) -> Project {
    sdk_hooks_project_with(Sdk::Python, key)
}

/// The hooks fixture of `sdk` with config `key` set to true.
fn sdk_hooks_project_with(sdk: Sdk, key: &str) -> Project {
    let p = hooks_project(sdk);
    p.ok(&["config", "set", key, "true"]);
    p
}

/// The stack outputs a run showed.
fn outputs(run: &Run) -> serde_json::Value {
    run.events
        .iter()
        .find(|e| e["event"] == "outputs")
        .map(|e| e["outputs"].clone())
        .unwrap_or_default()
}

#[test]
fn python_an_invoke_transform_rewrites_the_arguments_of_an_invoke() {
    let p = hooks_project_with("invoke");
    p.write("asked.txt", "what the program asked for");
    p.write("answered.txt", "what the transform asked for");
    let run = p.ok(&["up"]);
    assert_eq!(
        outputs(&run)["read"],
        "what the transform asked for",
        "{}",
        run.describe()
    );
}

#[test]
fn python_a_transform_sees_an_input_that_depends_on_a_resource_as_an_output() {
    let p = hooks_project_with("seen");
    p.ok(&["up"]);
    assert_eq!(
        read(&p, "transform-saw.txt").as_deref(),
        Some("output"),
        "Pulumi's engine gives a transform such an input as an output value"
    );
    let seen = p.resource("seen").unwrap();
    let source = p.resource("source").unwrap();
    assert!(
        seen["dependencies"]
            .as_array()
            .is_some_and(|d| d.contains(&source["urn"])),
        "the dependency stays: {seen}"
    );
}

#[test]
fn python_a_component_runs_its_create_hooks_and_its_delete_hooks() {
    let p = hooks_project_with("component");
    p.ok(&["preview"]);
    assert_eq!(read(&p, "component-before.txt"), None, "no hook in preview");
    p.ok(&["up"]);
    assert_eq!(read(&p, "component-before.txt").as_deref(), Some("comp"));
    assert_eq!(
        read(&p, "component-after.txt").as_deref(),
        Some("forty-two"),
        "the after-create hook runs with the outputs the component registered"
    );
    let comp = p.state()["deployment"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["urn"].as_str().unwrap().ends_with("::comp"))
        .cloned()
        .unwrap();
    assert_eq!(
        comp["resourceHooks"]["AfterDelete"],
        serde_json::json!(["note-component-gone"]),
        "the component's record keeps its hooks: {comp}"
    );
    assert_eq!(read(&p, "component-gone.txt"), None);
    p.ok(&["config", "set", "component", "false"]);
    let run = p.ok(&["up"]);
    assert_eq!(op_of(&run, "comp"), "delete", "{}", run.describe());
    assert_eq!(read(&p, "component-gone.txt").as_deref(), Some("comp"));
}

#[test]
fn python_an_on_dry_run_delete_hook_runs_in_the_preview_of_the_delete() {
    on_dry_run_delete_hook_runs_in_the_preview_of_the_delete(Sdk::Python);
}

#[test]
fn node_an_on_dry_run_delete_hook_runs_in_the_preview_of_the_delete() {
    on_dry_run_delete_hook_runs_in_the_preview_of_the_delete(Sdk::Node);
}

fn on_dry_run_delete_hook_runs_in_the_preview_of_the_delete(sdk: Sdk) {
    let p = sdk_hooks_project_with(sdk, "dry");
    p.ok(&["up"]);
    assert_eq!(read(&p, "dry-delete.txt"), None);
    p.ok(&["config", "set", "dry", "false"]);
    let run = p.ok(&["preview"]);
    assert_eq!(op_of(&run, "drytemp"), "delete", "{}", run.describe());
    assert_eq!(
        read(&p, "dry-delete.txt").as_deref(),
        Some("preview"),
        "the hook asked to run on dry runs ran in the preview of the delete"
    );
    assert!(p.resource("drytemp").is_some() && p.path().join("drytemp.txt").is_file());
    p.ok(&["up"]);
    assert_eq!(read(&p, "dry-delete.txt").as_deref(), Some("up"));
    assert!(p.resource("drytemp").is_none());
}

#[test]
fn python_an_error_hook_has_a_failed_create_retried() {
    error_hook_has_a_failed_create_retried(Sdk::Python);
}

#[test]
fn node_an_error_hook_has_a_failed_create_retried() {
    error_hook_has_a_failed_create_retried(Sdk::Node);
}

fn error_hook_has_a_failed_create_retried(sdk: Sdk) {
    let p = sdk_hooks_project_with(sdk, "flaky");
    let run = p.ok(&["up"]);
    assert_eq!(
        read(&p, "error-hook.txt").as_deref(),
        Some("create 1\n"),
        "the error hook ran once, after the first failure:\n{}",
        run.describe()
    );
    assert_eq!(
        p.resource("flaky").unwrap()["outputs"]["stdout"],
        "ok",
        "the retried Create succeeded"
    );
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains("retrying create due to on-error hook request (1/100)"),
        "{}",
        run.describe()
    );
}

#[test]
fn python_one_ctrl_c_stops_a_run_whose_program_hangs_in_a_delete_hook() {
    let p = hooks_project_with("stuck");
    p.ok(&["up"]);
    p.ok(&["config", "set", "stuck", "false"]);
    let pid_file = p.path().join("hanging.pid");
    let mut engine = p
        .command(&["up", "--yes", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(
        "the delete hook to hang",
        std::time::Duration::from_secs(300),
        || std::fs::read_to_string(&pid_file).is_ok_and(|s| !s.is_empty()),
    );
    let program: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    kill(engine.id() as i32, Signal::INT);
    // One signal: the hook is abandoned and the program stopped (its grace period is 5 s).
    let start = std::time::Instant::now();
    while engine.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = engine.kill();
            kill(program, Signal::KILL);
            panic!("one Ctrl-C did not stop a run whose program hangs in a delete hook");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let run = Run::from(engine.wait_with_output().unwrap());
    assert_eq!(run.code, 130, "{}", run.describe());
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains("hang-after-delete") && text.contains("interrupted"),
        "the abandoned hook is named:\n{}",
        run.describe()
    );
    wait_for(
        "the program to stop",
        std::time::Duration::from_secs(10),
        || !alive(program),
    );
    // The provider's Delete ran before its after-hook: the resource left the state.
    assert!(p.resource("stuck").is_none(), "{}", p.state());
}

#[test]
fn python_an_on_dry_run_delete_hook_runs_in_the_preview_of_a_replacement() {
    let p = hooks_project(Sdk::Python);
    p.ok(&["config", "set", "swap", "4"]);
    p.ok(&["up"]);
    let id = p.resource("swapped").unwrap()["id"].clone();
    p.ok(&["config", "set", "swap", "6"]);
    let run = p.ok(&["preview"]);
    assert_eq!(op_of(&run, "swapped"), "replace", "{}", run.describe());
    assert_eq!(
        read(&p, "swapped-delete.txt").as_deref(),
        Some("preview"),
        "the old copy's delete hook ran in the preview of its replacement"
    );
    assert_eq!(
        p.resource("swapped").unwrap()["id"],
        id,
        "preview changed nothing"
    );
    p.ok(&["up"]);
    assert_eq!(read(&p, "swapped-delete.txt").as_deref(), Some("up"));
    assert_ne!(p.resource("swapped").unwrap()["id"], id, "replaced");
}
