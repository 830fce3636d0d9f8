//! End to end: a replaced resource's old copy is never forgotten. A run that replaces a resource
//! but fails elsewhere keeps the old copy as a pending delete (`delete: true`); replacing it
//! again adds a second copy instead of overwriting the first, and the next successful `up` (or
//! `destroy`) deletes every copy. No kill is needed to reach this state.

use crate::support;
use support::*;

/// File `a` at `a_path`, and File `b` (after `a`) at `b_path`.
fn program(p: &Project, a_path: &str, b_path: &str) {
    p.write_local(&format!(
        "resources:\n  a:\n    type: local:index:File\n    properties:\n      path: {a_path}\n      content: a\n  b:\n    type: local:index:File\n    properties:\n      path: {b_path}\n      content: b\n    options:\n      dependsOn: [\"${{a}}\"]\n"
    ));
}

/// The ids (absolute paths) of the old copies of `name` awaiting deletion.
fn pending_deletes(p: &Project, name: &str) -> Vec<String> {
    let mut ids: Vec<String> = p
        .resources()
        .into_iter()
        .filter(|r| {
            r["delete"] == true && r["urn"].as_str().unwrap().ends_with(&format!("::{name}"))
        })
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Runs v1, then two runs that replace `a` while `b`'s new path fails (it exists and `b` may
/// not overwrite it). Leaves `a` with two old copies awaiting deletion.
fn two_old_copies(p: &Project) {
    program(p, "a1.txt", "b1.txt");
    p.run(&["up"]).ok();
    p.write("blocker.txt", "not b's");
    for a in ["a2.txt", "a3.txt"] {
        program(p, a, "blocker.txt");
        let r = p.run(&["up"]);
        assert_eq!(r.code, 1, "b must fail: {}", r.describe());
        assert!(
            r.steps().contains(&s("replace", "a", "ok")),
            "{}",
            r.describe()
        );
    }
    let root = std::fs::canonicalize(p.path()).unwrap();
    let want: Vec<String> = ["a1.txt", "a2.txt"]
        .iter()
        .map(|f| root.join(f).display().to_string())
        .collect();
    assert_eq!(
        pending_deletes(p, "a"),
        want,
        "both old copies stay in state: {}",
        p.state()
    );
    assert!(p.path().join("a1.txt").exists() && p.path().join("a2.txt").exists());
}

#[test]
fn every_old_copy_is_kept_shown_in_preview_and_deleted_by_the_next_up() {
    let p = Project::local("resources: {}\n");
    two_old_copies(&p);

    program(&p, "a3.txt", "b3.txt");
    let r = p.run(&["preview"]).ok();
    let planned = r
        .steps()
        .iter()
        .filter(|st| **st == s("delete-replaced", "a", "planned"))
        .count();
    assert_eq!(planned, 2, "each old copy is shown: {}", r.describe());

    let r = p.run(&["up"]).ok();
    let deleted = r
        .steps()
        .iter()
        .filter(|st| **st == s("delete-replaced", "a", "ok"))
        .count();
    assert_eq!(deleted, 2, "{}", r.describe());
    assert!(!p.path().join("a1.txt").exists(), "the v1 file is deleted");
    assert!(!p.path().join("a2.txt").exists(), "the v2 file is deleted");
    assert!(p.path().join("a3.txt").exists() && p.path().join("b3.txt").exists());
    assert!(pending_deletes(&p, "a").is_empty(), "{}", p.state());
}

#[test]
fn destroy_deletes_every_old_copy() {
    let p = Project::local("resources: {}\n");
    two_old_copies(&p);
    p.run(&["destroy"]).ok();
    for f in ["a1.txt", "a2.txt", "a3.txt", "b1.txt"] {
        assert!(!p.path().join(f).exists(), "{f} is left behind");
    }
    assert!(p.path().join("blocker.txt").exists(), "not ours: kept");
    assert!(p.resources().is_empty(), "{}", p.state());
}
