//! End to end: bad input is refused with the rule, never used silently. Stack names that could
//! leave the state folder, a new stack used without a word, a reference to a property that does
//! not exist, and a resource whose provider is missing from the state.

use crate::support;
use support::*;

const FILE_FROM_RANDOM: &str = "resources:\n  r0:\n    type: local:index:Random\n    properties:\n      length: 6\n  f:\n    type: local:index:File\n    properties:\n      path: out.txt\n      content: ${r0.result}\n";

#[test]
fn stack_names_are_checked_as_pulumi_does() {
    let p = Project::local("resources: {}\n");
    let outside = tempfile::tempdir().unwrap();
    let escape = format!("../../{}/x", outside.path().display());
    for bad in [
        "../evil",
        ".",
        "..",
        "a/b",
        "a\\b",
        "",
        escape.as_str(),
        "sp ace",
    ] {
        for cmd in [
            vec!["up", "--yes", "--stack", bad],
            vec!["preview", "--stack", bad],
            vec!["config", "--stack", bad],
            vec!["stack", "export", "--stack", bad],
        ] {
            let r = Run::from(p.command(&cmd).output().unwrap());
            assert_eq!(r.code, 2, "{cmd:?}: {}", r.describe());
            assert!(
                r.stderr.contains("letters, digits") && r.stderr.contains("`-`"),
                "the rule is named: {}",
                r.stderr
            );
        }
    }
    assert!(!p.path().join("evil.json").exists());
    assert!(!p.path().parent().unwrap().join("evil.json").exists());
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    // A name Pulumi accepts works.
    p.run(&["up", "--stack", "my-stack_1.prod"]).ok();
    assert!(
        p.path()
            .join(".pulumi-harness/my-stack_1.prod.json")
            .is_file()
    );
}

#[test]
fn a_new_stack_is_announced_once() {
    let p = Project::local("resources: {}\n");
    let r = p.run(&["up"]).ok();
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("created stack dev"), "{}", r.describe());
    let r = p.run(&["up"]).ok();
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains("created stack"), "{}", r.describe());
}

#[test]
fn a_reference_to_a_missing_property_is_an_error_naming_it_and_the_real_ones() {
    let p = Project::local(FILE_FROM_RANDOM);
    p.run(&["up"]).ok();
    let before = std::fs::read_to_string(p.path().join("out.txt")).unwrap();
    assert_eq!(before.len(), 6);

    // The typo on an existing resource (outputs known).
    p.write_local(&FILE_FROM_RANDOM.replace("${r0.result}", "${r0.resul}"));
    for cmd in ["preview", "up"] {
        let r = p.run(&[cmd]);
        assert_ne!(r.code, 0, "{cmd}: {}", r.describe());
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(
            all.contains("resul`") && all.contains("result") && all.contains("Pulumi.yaml:"),
            "{cmd}: names the property, the real ones and the line: {}",
            r.describe()
        );
    }
    assert_eq!(
        std::fs::read_to_string(p.path().join("out.txt")).unwrap(),
        before,
        "the file is not rewritten"
    );

    // The typo on a resource created in the same run.
    let fresh = Project::local(&FILE_FROM_RANDOM.replace("${r0.result}", "${r0.resul}"));
    let r = fresh.run(&["up"]);
    assert_ne!(r.code, 0, "{}", r.describe());
    assert!(r.stderr.contains("resul`"), "{}", r.describe());
    assert!(!fresh.path().join("out.txt").exists());

    // A preview of a stack that has nothing yet: the outputs are unknown, so only the schema
    // can tell; it is a program error (exit 2) at the reference's line, before any step.
    let unborn = Project::local(&FILE_FROM_RANDOM.replace("${r0.result}", "${r0.resul}"));
    let r = unborn.run(&["preview"]);
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.stderr.contains("Pulumi.yaml:14:")
            && r.stderr.contains("has no property `resul`")
            && r.stderr.contains("length, prefix, result"),
        "{}",
        r.describe()
    );
    assert!(r.steps().is_empty(), "{}", r.describe());

    // A stack output with the typo fails the run too.
    let out = Project::local(
        "resources:\n  r0:\n    type: local:index:Random\n    properties:\n      length: 6\noutputs:\n  o: ${r0.resul}\n",
    );
    let r = out.run(&["up"]);
    assert_ne!(r.code, 0, "{}", r.describe());
    assert!(r.stderr.contains("resul`"), "{}", r.describe());
}

#[test]
fn a_missing_provider_reference_is_an_error_with_the_fix() {
    let p = Project::local(FILE_FROM_RANDOM);
    p.run(&["up"]).ok();
    let path = p.path().join(".pulumi-harness/dev.json");
    let mut state = p.state();
    let resources = state["deployment"]["resources"].as_array_mut().unwrap();
    resources.retain(|r| r["type"] != "pulumi:providers:local");
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    let damaged = std::fs::read(&path).unwrap();
    for cmd in ["preview", "up", "destroy", "refresh"] {
        let r = p.run(&[cmd]);
        assert_eq!(r.code, 5, "{cmd}: {}", r.describe());
        assert!(
            r.stderr.contains("pulumi:providers:local::default")
                && r.stderr.contains("stack import"),
            "{cmd}: names the reference and the fix: {}",
            r.stderr
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            damaged,
            "{cmd}: state untouched"
        );
    }
    assert!(
        p.path().join("out.txt").exists(),
        "destroy did not go ahead"
    );
}
