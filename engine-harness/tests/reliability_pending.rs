//! End to end: pending creates are resolved without losing anything. `refresh
//! --import-pending-creates URN=ID` records a resource the provider did create; the exit-3
//! message lists each pending operation with the choices; `--clear-pending` warns that a real
//! resource may be left behind.
//!
//! The interrupted create is made by editing the state as a killed engine leaves it: the
//! resource only in `pending_operations`, as `creating`, with the inputs it began with, and the
//! real thing (a directory, a file) on disk. The provider reads it from the id the user gives:
//! the Directory's recorded inputs are also its state; the File's are not, so the SDK's typed
//! layer reads it from its id alone (its import), with those inputs as a hint.

mod support;
use serde_json::Value as Json;
use support::*;

const PROGRAM: &str = "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 4\n  d:\n    type: local:index:Directory\n    properties:\n      path: d1\n";

/// Runs `up`, then turns `name`'s record into a pending create. Returns its URN and id.
fn interrupted_create(p: &Project, name: &str) -> (String, String) {
    p.run(&["up"]).ok();
    let path = p.path().join(".pulumi-harness/dev.json");
    let mut state = p.state();
    let d = &mut state["deployment"];
    let resources = d["resources"].as_array_mut().unwrap();
    let at = resources
        .iter()
        .position(|r| r["urn"].as_str().unwrap().ends_with(&format!("::{name}")))
        .unwrap();
    let mut r = resources.remove(at);
    let (urn, id) = (
        r["urn"].as_str().unwrap().to_string(),
        r["id"].as_str().unwrap().to_string(),
    );
    let m = r.as_object_mut().unwrap();
    m.remove("id");
    m.remove("outputs");
    d["pending_operations"] = serde_json::json!([{"resource": r, "type": "creating"}]);
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    (urn, id)
}

fn pending(p: &Project) -> Vec<Json> {
    p.state()["deployment"]["pending_operations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_pending_create_is_listed_with_its_choices_and_imported_by_refresh() {
    let p = Project::local(PROGRAM);
    let (urn, id) = interrupted_create(&p, "d");

    let r = p.run(&["up"]);
    assert_eq!(r.code, 3, "{}", r.describe());
    for want in [
        urn.as_str(),
        "--import-pending-creates",
        "--clear-pending",
        "unknown to the state",
    ] {
        assert!(r.stderr.contains(want), "names `{want}`: {}", r.stderr);
    }

    // A wrong id: the provider's Read finds nothing; the record stays.
    let wrong = format!("{urn}={}", p.path().join("nope").display());
    let r = p.run(&["refresh", "--import-pending-creates", &wrong]);
    assert_eq!(r.code, 1, "{}", r.describe());
    assert!(r.stderr.contains("found no resource"), "{}", r.stderr);
    assert_eq!(pending(&p).len(), 1);

    // A URN with no pending create.
    let r = p.run(&[
        "refresh",
        "--import-pending-creates",
        "urn:pulumi:dev::t::x:y:Z::q=1",
    ]);
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.stderr.contains(&urn),
        "lists the pending creates: {}",
        r.stderr
    );

    // The right id: imported.
    let r = p.run(&[
        "refresh",
        "--import-pending-creates",
        &format!("{urn}={id}"),
    ]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(pending(&p).is_empty(), "{}", p.state());
    let d = p.resource("d").expect("d is in the state again");
    assert_eq!(d["id"], id.as_str());
    assert_eq!(d["outputs"]["path"], "d1");

    // The next up converges without creating it again.
    let r = p.run(&["up"]).ok();
    assert!(
        r.steps().contains(&s("same", "d", "ok")),
        "{}",
        r.describe()
    );
}

#[test]
fn clear_pending_warns_that_a_real_resource_may_be_left_behind() {
    let p = Project::local(PROGRAM);
    let (urn, _) = interrupted_create(&p, "d");
    let r = p.run(&["refresh", "--clear-pending"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("may be left behind") && all.contains(&urn),
        "{}",
        r.describe()
    );
    assert!(pending(&p).is_empty());
}

const FILE_PROGRAM: &str = "resources:\n  f:\n    type: local:index:File\n    properties:\n      path: f1.txt\n      content: made before the kill\n";

#[test]
fn a_file_left_by_a_killed_create_is_imported_by_its_absolute_path() {
    let p = Project::local(FILE_PROGRAM);
    let (urn, id) = interrupted_create(&p, "f");
    let on_disk = p.path().join("f1.txt").canonicalize().unwrap();
    assert_eq!(
        std::path::Path::new(&id),
        on_disk,
        "a File's id is its absolute path"
    );

    let r = p.run(&[
        "refresh",
        "--import-pending-creates",
        &format!("{urn}={id}"),
    ]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(pending(&p).is_empty(), "{}", p.state());
    let f = p.resource("f").expect("f is in the state again");
    assert_eq!(f["id"], id.as_str());
    assert_eq!(f["outputs"]["path"], "f1.txt");
    assert_eq!(f["outputs"]["content"], "made before the kill");
    assert_eq!(f["outputs"]["size"], 20);
    assert!(
        f["outputs"]["sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64),
        "{f}"
    );
    assert_eq!(f["inputs"]["path"], "f1.txt");
    assert_eq!(f["inputs"]["content"], "made before the kill");

    // The next up converges without creating it again (which would fail: the file exists).
    let r = p.run(&["up"]).ok();
    assert!(
        r.steps().contains(&s("same", "f", "ok")),
        "{}",
        r.describe()
    );
    // And the imported file is managed: destroy removes it.
    p.run(&["destroy"]).ok();
    assert!(!on_disk.exists());
}

#[test]
fn a_random_left_by_a_killed_create_cannot_be_imported_and_says_so() {
    let p = Project::local(PROGRAM);
    let (urn, id) = interrupted_create(&p, "r");
    let r = p.run(&[
        "refresh",
        "--import-pending-creates",
        &format!("{urn}={id}"),
    ]);
    assert_eq!(r.code, 1, "{}", r.describe());
    for want in [
        "local:index:Random",
        "cannot be read from its id alone",
        "stays recorded",
    ] {
        assert!(r.stderr.contains(want), "names `{want}`: {}", r.stderr);
    }
    assert_eq!(pending(&p).len(), 1, "the record stays");
}
