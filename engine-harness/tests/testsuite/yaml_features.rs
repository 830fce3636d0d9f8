//! End to end: what Pulumi YAML programs gain from the one engine path, against the example
//! provider as a real process: `fn::invoke`, explicit provider resources, `parent`,
//! `aliases`, `import`, `get:` and `additionalSecretOutputs`.

use crate::support;

use serde_json::Value as Json;
use std::process::Command;
use support::*;

/// The hex SHA-256 of `hello`.
const HELLO_SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

fn outputs(r: &Run) -> Json {
    r.events
        .iter()
        .find(|e| e["event"] == "outputs")
        .map(|e| e["outputs"].clone())
        .unwrap_or(Json::Null)
}

/// The URNs of every resource in state (stack and default providers included).
fn urns(p: &Project) -> Vec<String> {
    p.state()["deployment"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| r["urn"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn invoke_results_feed_inputs_and_outputs() {
    let p = Project::local(
        "variables:\n  digest:\n    fn::invoke:\n      function: local:index:hash\n      arguments:\n        content: ${src.content}\n      return: sha256\nresources:\n  src:\n    type: local:index:File\n    properties:\n      path: src.txt\n      content: hello\n  copy:\n    type: local:index:File\n    properties:\n      path: copy.txt\n      content: ${digest}\noutputs:\n  digest: ${digest}\n  whole:\n    fn::invoke:\n      function: local:index:hash\n      arguments: {content: hello}\n",
    );
    let r = p.run(&["preview"]).ok();
    assert!(!p.path().join("copy.txt").exists(), "{}", r.describe());
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("create", "copy", "ok"), s("create", "src", "ok")],
        "{}",
        r.describe()
    );
    assert_eq!(
        std::fs::read_to_string(p.path().join("copy.txt")).unwrap(),
        HELLO_SHA
    );
    let out = outputs(&r);
    assert_eq!(out["digest"], HELLO_SHA, "{}", r.describe());
    assert_eq!(out["whole"]["sha256"], HELLO_SHA, "{}", r.describe());
    // The invoke's argument came from `src`: `copy` depends on it in the state.
    let copy = p.resource("copy").unwrap();
    assert!(
        copy["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().ends_with("::src")),
        "{copy}"
    );
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("same", "copy", "ok"), s("same", "src", "ok")],
        "{}",
        r.describe()
    );
    p.run(&["destroy"]).ok();
    assert!(!p.path().join("copy.txt").exists());
}

#[test]
fn a_failing_invoke_names_the_file_and_line() {
    let p = Project::local(
        "resources:\n  f:\n    type: local:index:File\n    properties:\n      path: f.txt\n      content:\n        fn::invoke:\n          function: local:index:hash\n          arguments: {contnet: hello}\n",
    );
    let r = p.run(&["up"]);
    assert_ne!(r.code, 0, "{}", r.describe());
    let all = format!("{}{}", r.stdout, r.stderr);
    // The project file has 8 lines of header (see `Project::write_local`), so the
    // `fn::invoke` key is on line 8 + 7.
    assert!(
        all.contains("Pulumi.yaml:15: fn::invoke local:index:hash"),
        "{all}"
    );
    assert!(all.contains("contnet"), "{all}");
    assert!(!p.path().join("f.txt").exists());
    assert!(p.resource("f").is_none());
}

#[test]
fn an_explicit_provider_with_its_own_root() {
    let p = Project::local(
        "resources:\n  sub-root:\n    type: pulumi:providers:local\n    properties:\n      root: ./sub\n  f:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: in sub\n    options:\n      provider: ${sub-root}\n  g:\n    type: local:index:File\n    properties:\n      path: b.txt\n      content:\n        fn::invoke:\n          function: local:index:readFile\n          arguments:\n            path: ${f.path}\n          options:\n            provider: ${sub-root}\n          return: content\n",
    );
    std::fs::create_dir(p.path().join("sub")).unwrap();
    let r = p.run(&["up"]).ok();
    assert_eq!(
        std::fs::read_to_string(p.path().join("sub/a.txt")).unwrap(),
        "in sub",
        "{}",
        r.describe()
    );
    assert!(!p.path().join("a.txt").exists());
    // `g` uses the default provider (root `.`), with content read through the explicit one.
    assert_eq!(
        std::fs::read_to_string(p.path().join("b.txt")).unwrap(),
        "in sub"
    );
    let provider_urn = "urn:pulumi:dev::t::pulumi:providers:local::sub-root";
    let state = p.state();
    let all = state["deployment"]["resources"].as_array().unwrap();
    let prov = all
        .iter()
        .find(|r| r["urn"] == provider_urn)
        .unwrap_or_else(|| panic!("provider resource in state: {state:#}"));
    assert_eq!(prov["inputs"]["root"], "./sub");
    let f = p.resource("f").unwrap();
    assert!(
        f["provider"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{provider_urn}::")),
        "{f}"
    );
    let g = p.resource("g").unwrap();
    assert!(
        g["provider"]
            .as_str()
            .unwrap()
            .starts_with("urn:pulumi:dev::t::pulumi:providers:local::default::"),
        "{g}"
    );
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![
            s("same", "f", "ok"),
            s("same", "g", "ok"),
            s("same", "sub-root", "ok")
        ],
        "{}",
        r.describe()
    );
    // Destroy starts the explicit provider from its recorded configuration.
    p.run(&["destroy"]).ok();
    assert!(!p.path().join("sub/a.txt").exists());
    assert!(!p.path().join("b.txt").exists());
    assert!(p.resources().is_empty());
}

#[test]
fn a_provider_option_that_names_a_non_provider_fails_before_anything_runs() {
    let p = Project::local(
        "resources:\n  r:\n    type: local:index:Random\n    properties: {length: 4}\n  f:\n    type: local:index:File\n    properties: {path: a.txt, content: x}\n    options:\n      provider: ${r}\n",
    );
    let r = p.run(&["up"]);
    assert_ne!(r.code, 0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("Pulumi.yaml:17"), "{all}");
    assert!(all.contains("not a provider resource"), "{all}");
    assert!(!p.path().join("a.txt").exists());
}

#[test]
fn aliases_keep_a_renamed_or_reparented_resource() {
    let file = |name: &str, options: &str| {
        format!(
            "resources:\n  dir:\n    type: local:index:Directory\n    properties: {{path: d}}\n  {name}:\n    type: local:index:File\n    properties:\n      path: d/f.txt\n      content: hi\n    options:\n      dependsOn: ['${{dir}}']\n{options}"
        )
    };
    let p = Project::local(&file("old", ""));
    p.run(&["up"]).ok();
    let id = p.resource("old").unwrap()["id"].clone();

    p.write_local(&file("new", "      aliases:\n        - name: old\n"));
    let r = p.run(&["preview"]).ok();
    assert_eq!(r.step("new")["op"], "same", "{}", r.describe());
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("same", "dir", "ok"), s("same", "new", "ok")],
        "no replace, no delete: {}",
        r.describe()
    );
    let all = urns(&p);
    assert!(all.contains(&"urn:pulumi:dev::t::local:index:File::new".to_string()));
    assert!(!all.iter().any(|u| u.ends_with("::old")), "{all:?}");
    assert_eq!(p.resource("new").unwrap()["id"], id);

    // Under a parent: the URN's type chain starts with the parent's type; the alias says
    // it had none.
    p.write_local(&file(
        "new",
        "      parent: ${dir}\n      aliases:\n        - noParent: true\n",
    ));
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("new")["op"], "same", "{}", r.describe());
    let all = urns(&p);
    let child = "urn:pulumi:dev::t::local:index:Directory$local:index:File::new";
    assert!(all.contains(&child.to_string()), "{all:?}");
    assert_eq!(
        all.iter().filter(|u| u.ends_with("::new")).count(),
        1,
        "{all:?}"
    );
    let new = p.resource("new").unwrap();
    assert_eq!(
        new["parent"],
        "urn:pulumi:dev::t::local:index:Directory::dir"
    );
    assert_eq!(new["id"], id);
    p.run(&["destroy"]).ok();
    assert!(!p.path().join("d").exists());
}

#[test]
fn import_adopts_an_existing_file() {
    let p = Project::local("resources: {}\n");
    let path = p.path().canonicalize().unwrap().join("existing.txt");
    std::fs::write(&path, "hello").unwrap();
    p.write_local(&format!(
        "resources:\n  adopted:\n    type: local:index:File\n    properties:\n      path: existing.txt\n      content: hello\n    options:\n      import: {}\n",
        path.display()
    ));
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("import", "adopted", "ok")],
        "{}",
        r.describe()
    );
    let adopted = p.resource("adopted").unwrap();
    assert_eq!(adopted["id"], path.display().to_string());
    assert_eq!(adopted["outputs"]["sha256"], HELLO_SHA);
    // Imported, it is managed from now on: a no-op up, then destroy deletes it.
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("same", "adopted", "ok")],
        "{}",
        r.describe()
    );
    p.run(&["destroy"]).ok();
    assert!(!path.exists());
}

#[test]
fn get_reads_an_existing_resource_without_managing_it() {
    let p = Project::local("resources: {}\n");
    let path = p.path().canonicalize().unwrap().join("outside.txt");
    std::fs::write(&path, "hello").unwrap();
    p.write_local(&format!(
        "resources:\n  seen:\n    type: local:index:File\n    get:\n      id: {0}\n      state:\n        path: {0}\n        content: hello\n        sha256: ''\n        size: 0\n  copy:\n    type: local:index:File\n    properties:\n      path: copy.txt\n      content: ${{seen.sha256}}\noutputs:\n  size: ${{seen.size}}\n",
        path.display()
    ));
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("create", "copy", "ok"), s("read", "seen", "ok")],
        "{}",
        r.describe()
    );
    assert_eq!(outputs(&r)["size"], 5, "{}", r.describe());
    assert_eq!(
        std::fs::read_to_string(p.path().join("copy.txt")).unwrap(),
        HELLO_SHA
    );
    let seen = p.resource("seen").unwrap();
    assert_eq!(seen["external"], true, "{seen}");
    assert_eq!(seen["id"], path.display().to_string());
    // Destroy drops it from the state but leaves the file: the stack never owned it.
    p.run(&["destroy"]).ok();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello");
    assert!(p.resources().is_empty());
}

#[test]
fn additional_secret_outputs_are_secret_in_the_state() {
    const PASS: &str = "yaml features";
    let p = Project::local(
        "resources:\n  f:\n    type: local:index:File\n    properties:\n      path: f.txt\n      content: hello\n    options:\n      additionalSecretOutputs: [sha256]\n",
    );
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--json", "--yes"]);
        let mut c: Command = p.command(&all);
        c.env("PULUMI_CONFIG_PASSPHRASE", PASS);
        Run::from(c.output().unwrap())
    };
    // Without the passphrase the run stops before creating anything: the outputs it would
    // record are secret.
    let mut c: Command = p.command(&["up", "--json", "--yes"]);
    c.env_remove("PULUMI_CONFIG_PASSPHRASE")
        .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE");
    let r = Run::from(c.output().unwrap());
    assert_eq!(r.code, 6, "{}", r.describe());
    assert!(!p.path().join("f.txt").exists());
    run(&["up"]).ok();
    let text = std::fs::read_to_string(p.path().join(".pulumi-harness/dev.json")).unwrap();
    assert!(!text.contains(HELLO_SHA), "the hash is in clear: {text}");
    let f = p.resource("f").unwrap();
    assert!(
        f["outputs"]["sha256"]["ciphertext"].is_string(),
        "not a secret: {f}"
    );
    assert_eq!(f["outputs"]["size"], 5);
    assert_eq!(f["additionalSecretOutputs"][0], "sha256", "{f}");
    let r = run(&["up"]).ok();
    assert_eq!(r.steps(), vec![s("same", "f", "ok")], "{}", r.describe());
    run(&["destroy"]).ok();
}
