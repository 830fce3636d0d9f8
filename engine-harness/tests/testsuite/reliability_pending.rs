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

use crate::support;
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

/// Turns the records of `names` (after an `up`) into pending operations of `kind` as a killed
/// engine leaves them: a pending create has no id, outputs nor live record; a pending update
/// or delete keeps its live record. Returns each one's URN and id.
fn interrupted(p: &Project, names: &[(&str, &str)]) -> Vec<(String, String)> {
    let path = p.path().join(".pulumi-harness/dev.json");
    let mut state = p.state();
    let d = &mut state["deployment"];
    let mut ops = Vec::new();
    let mut out = Vec::new();
    for (name, kind) in names {
        let resources = d["resources"].as_array_mut().unwrap();
        let at = resources
            .iter()
            .position(|r| r["urn"].as_str().unwrap().ends_with(&format!("::{name}")))
            .unwrap();
        let mut r = if *kind == "creating" {
            resources.remove(at)
        } else {
            resources[at].clone()
        };
        out.push((
            r["urn"].as_str().unwrap().to_string(),
            r["id"].as_str().unwrap().to_string(),
        ));
        if *kind == "creating" {
            let m = r.as_object_mut().unwrap();
            m.remove("id");
            m.remove("outputs");
        }
        ops.push(serde_json::json!({"resource": r, "type": kind}));
    }
    d["pending_operations"] = Json::Array(ops);
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    out
}

#[test]
fn an_import_whose_read_differs_from_the_pending_create_is_refused_naming_the_properties() {
    let p = Project::local(FILE_PROGRAM);
    p.run(&["up"]).ok();
    let (urn, id) = interrupted(&p, &[("f", "creating")]).remove(0);
    // Someone else's file, elsewhere: the provider can read it, but it is not what the create
    // was making.
    let foreign_dir = tempfile::tempdir().unwrap();
    let foreign = foreign_dir.path().join("theirs.txt");
    std::fs::write(&foreign, "not yours").unwrap();
    let foreign_id = foreign.canonicalize().unwrap().display().to_string();

    let r = p.run(&[
        "refresh",
        "--import-pending-creates",
        &format!("{urn}={foreign_id}"),
    ]);
    assert_eq!(r.code, 1, "{}", r.describe());
    for want in [
        "differs",
        "`path`",
        "`content`",
        "--import-despite-differences",
    ] {
        assert!(r.stderr.contains(want), "names `{want}`: {}", r.describe());
    }
    assert_eq!(pending(&p).len(), 1, "the record stays: {}", p.state());
    assert!(p.resource("f").is_none());

    // The right id imports; the foreign file was never touched.
    p.run(&[
        "refresh",
        "--import-pending-creates",
        &format!("{urn}={id}"),
    ])
    .ok();
    assert_eq!(p.resource("f").unwrap()["id"], id.as_str());
    p.run(&["up"]).ok();
    p.run(&["destroy"]).ok();
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), "not yours");
}

#[test]
fn an_operator_may_import_despite_differences() {
    let p = Project::local(FILE_PROGRAM);
    p.run(&["up"]).ok();
    let (urn, id) = interrupted(&p, &[("f", "creating")]).remove(0);
    // The file was changed since the create wrote it.
    std::fs::write(&id, "edited after the kill").unwrap();
    let import = format!("{urn}={id}");
    let r = p.run(&["refresh", "--import-pending-creates", &import]);
    assert_eq!(r.code, 1, "{}", r.describe());
    assert!(r.stderr.contains("`content`"), "{}", r.describe());
    let r = p.run(&[
        "refresh",
        "--import-pending-creates",
        &import,
        "--import-despite-differences",
    ]);
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(pending(&p).is_empty());
    assert_eq!(
        p.resource("f").unwrap()["outputs"]["content"],
        "edited after the kill"
    );
}

const TWO_FILES: &str = "resources:\n  f:\n    type: local:index:File\n    properties:\n      path: f1.txt\n      content: one\n  g:\n    type: local:index:File\n    properties:\n      path: g1.txt\n      content: two\n  h:\n    type: local:index:File\n    properties:\n      path: h1.txt\n      content: three\n  d:\n    type: local:index:Directory\n    properties:\n      path: d1\n";

#[test]
fn imports_are_recorded_beside_other_pending_operations_and_updates_deletes_are_cleared() {
    let p = Project::local(TWO_FILES);
    p.run(&["up"]).ok();
    let ids = interrupted(
        &p,
        &[
            ("f", "creating"),
            ("g", "creating"),
            ("h", "updating"),
            ("d", "deleting"),
        ],
    );
    let (f_urn, f_id) = &ids[0];
    let (g_urn, g_id) = &ids[1];

    // Importing f while g's create is still pending: f is recorded, the run says what is left.
    let r = p.run(&[
        "refresh",
        "--import-pending-creates",
        &format!("{f_urn}={f_id}"),
    ]);
    assert_eq!(r.code, 3, "{}", r.describe());
    assert!(r.stderr.contains(g_urn.as_str()), "{}", r.describe());
    assert!(
        r.stderr.contains("imports given were recorded"),
        "{}",
        r.describe()
    );
    assert_eq!(
        p.resource("f").unwrap()["id"],
        f_id.as_str(),
        "{}",
        p.state()
    );
    // The pending update and delete were warned about and cleared, as Pulumi does.
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("Updating") && all.contains("Deleting"),
        "{all}"
    );
    let left: Vec<String> = pending(&p)
        .iter()
        .map(|o| o["resource"]["urn"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, vec![g_urn.clone()], "{}", p.state());

    // Following the message: import g too; then everything converges with no create again.
    p.run(&[
        "refresh",
        "--import-pending-creates",
        &format!("{g_urn}={g_id}"),
    ])
    .ok();
    assert!(pending(&p).is_empty());
    let r = p.run(&["up"]).ok();
    for name in ["f", "g", "h", "d"] {
        assert!(
            r.steps().contains(&s("same", name, "ok")),
            "{name}: {}",
            r.describe()
        );
    }
}

#[test]
fn a_pending_update_or_delete_alone_does_not_stop_up() {
    let p = Project::local(TWO_FILES);
    p.run(&["up"]).ok();
    interrupted(&p, &[("h", "updating"), ("d", "deleting")]);
    let r = p.run(&["up"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("clearing them"), "{}", r.describe());
    assert!(pending(&p).is_empty(), "{}", p.state());
}
