//! End to end: resource options. `deleteBeforeReplace`, `ignoreChanges`, `replaceOnChanges`
//! and `retainOnDelete`, against the example provider as a real process.

use crate::support;
use support::*;

fn file(name: &str, path: &str, content: &str, options: &str) -> String {
    format!(
        "  {name}:\n    type: local:index:File\n    properties:\n      path: {path}\n      content: {content}\n{options}"
    )
}

#[test]
fn delete_before_replace_deletes_the_old_file_first() {
    let opts = "    options:\n      deleteBeforeReplace: true\n";
    let p = Project::local(&format!("resources:\n{}", file("f", "one.txt", "hi", opts)));
    p.run(&["up"]).ok();
    p.write_local(&format!("resources:\n{}", file("f", "two.txt", "hi", opts)));
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("replace", "f", "ok")],
        "no separate delete-replaced step: {}",
        r.describe()
    );
    assert!(!p.path().join("one.txt").exists());
    assert!(p.path().join("two.txt").exists());
    assert_eq!(p.resources().len(), 1);
    p.run(&["destroy"]).ok();
}

#[test]
fn ignore_changes_and_replace_on_changes() {
    let random = |prefix: &str, opts: &str| {
        format!(
            "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 5\n      prefix: {prefix}\n{opts}"
        )
    };
    let ignore = "    options:\n      ignoreChanges: [prefix]\n";
    let p = Project::local(&random("a", ignore));
    p.run(&["up"]).ok();
    let id = p.resource("r").unwrap()["id"].clone();
    p.write_local(&random("b", ignore));
    let r = p.run(&["up"]).ok();
    assert_eq!(r.steps(), vec![s("same", "r", "ok")], "{}", r.describe());
    assert_eq!(p.resource("r").unwrap()["inputs"]["prefix"], "a");

    let replace = "    options:\n      replaceOnChanges: [prefix]\n";
    p.write_local(&random("c", replace));
    let r = p.run(&["preview"]).ok();
    let step = r.step("r");
    assert_eq!(step["op"], "replace", "{}", r.describe());
    assert_eq!(step["diff"][0]["replace"], true);
    p.run(&["up"]).ok();
    assert_ne!(p.resource("r").unwrap()["id"], id);
    p.run(&["destroy"]).ok();
}

#[test]
fn retain_on_delete_drops_from_state_but_keeps_the_file() {
    let p = Project::local(&format!(
        "resources:\n{}",
        file(
            "kept",
            "kept.txt",
            "stay",
            "    options:\n      retainOnDelete: true\n"
        )
    ));
    p.run(&["up"]).ok();
    p.write_local("resources: {}\n");
    let r = p.run(&["up"]).ok();
    assert_eq!(r.steps(), vec![s("delete", "kept", "ok")]);
    assert!(
        r.step("kept")["message"]
            .as_str()
            .unwrap()
            .contains("retained")
    );
    assert!(p.resource("kept").is_none());
    assert_eq!(
        std::fs::read_to_string(p.path().join("kept.txt")).unwrap(),
        "stay"
    );
}
