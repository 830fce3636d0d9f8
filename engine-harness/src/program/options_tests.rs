//! Tests of what the engine path makes possible in YAML: `fn::invoke`, provider resources,
//! `provider`, `parent`, `aliases`, `import`, `additionalSecretOutputs` and `get`.

use super::eval::Evaluator;
use super::load::load;
use super::{AliasDecl, AliasParent, Project};
use crate::Error;
use serde_json::Value as Json;
use std::collections::HashMap;

fn project(yaml: &str) -> Result<Project, Error> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Pulumi.yaml"), yaml).unwrap();
    load(dir.path(), "dev")
}

fn err_line(e: Error) -> (usize, String) {
    match e {
        Error::Program { line, message, .. } => (line, message),
        other => panic!("expected a program error, got {other}"),
    }
}

const HEAD: &str = "name: d\nruntime: yaml\n";

#[test]
fn invokes_are_lifted_into_the_graph_with_their_lines() {
    let p = project(&format!(
        "{HEAD}variables:\n  digest:\n    fn::invoke:\n      function: local:index:hash\n      arguments:\n        content: ${{src.content}}\n      return: sha256\nresources:\n  src:\n    type: local:index:File\n    properties:\n      path: a.txt\n      content: hi\n  copy:\n    type: local:index:File\n    properties:\n      path: b.txt\n      content: ${{digest}}\n      note:\n        fn::invoke:\n          function: local:index:hash\n          arguments:\n            content:\n              fn::invoke:\n                function: local:index:hash\n                arguments: {{content: inner}}\n                return: sha256\noutputs:\n  d: ${{digest}}\n"
    ))
    .unwrap();
    assert_eq!(p.invokes.len(), 3, "{:#?}", p.invokes);
    let digest = p
        .invokes
        .iter()
        .position(|i| i.return_field.as_deref() == Some("sha256") && i.line == 5)
        .expect("the variable's invoke, at its `fn::invoke` line");
    assert_eq!(p.invokes[digest].function, "local:index:hash");
    assert_eq!(
        p.invokes[digest].dependencies.iter().collect::<Vec<_>>(),
        vec!["src"]
    );
    // The inner invoke (line 26) is called before the outer one (line 22), which uses it.
    let inner = p.invokes.iter().position(|i| i.line == 26).unwrap();
    let outer = p.invokes.iter().position(|i| i.line == 22).unwrap();
    assert!(p.invokes[outer].invokes.contains(&inner));
    let copy = p.resource("copy").unwrap();
    // `copy` waits for the variable's invoke and, through its argument, for `src`.
    assert!(copy.invokes.contains(&digest) && copy.invokes.contains(&outer));
    assert!(copy.dependencies.contains("src"));
    // Only the default provider of `local` is needed.
    assert_eq!(p.packages().into_iter().collect::<Vec<_>>(), vec!["local"]);
}

#[test]
fn invoke_results_fill_their_slots() {
    let p = project(&format!(
        "{HEAD}variables:\n  d:\n    fn::invoke:\n      function: local:index:hash\n      arguments: {{content: x}}\n      return: sha256\nresources: {{}}\n"
    ))
    .unwrap();
    let resources = HashMap::new();
    let mut invokes = HashMap::new();
    let ev = Evaluator {
        project: &p,
        resources: &resources,
        invokes: &invokes,
    };
    let e = ev.eval(&Json::String("${d}".into())).unwrap_err();
    assert!(e.contains("before the function was called"), "{e}");
    invokes.insert(0, Json::String("abc".into()));
    let ev = Evaluator {
        project: &p,
        resources: &resources,
        invokes: &invokes,
    };
    assert_eq!(
        ev.eval(&Json::String("sum=${d}".into())).unwrap(),
        Json::String("sum=abc".into())
    );
}

#[test]
fn bad_invokes_name_their_line() {
    let cases = [
        (
            "      v:\n        fn::invoke:\n          arguments: {content: x}\n",
            8,
            "no `function`",
        ),
        (
            "      v:\n        fn::invoke:\n          function: local:index:hash\n          retrun: sha256\n",
            10,
            "unknown key `retrun`",
        ),
        (
            "      v:\n        fn::invoke:\n          function: hash\n",
            8,
            "not a function token",
        ),
        (
            "      v:\n        fn::invoke:\n          function: local:index:hash\n          options: {parent: x}\n",
            10,
            "option `parent`",
        ),
        (
            "      v:\n        fn::invoke:\n          function: local:index:hash\n          arguments: {content: '${nope}'}\n",
            10,
            "`nope`",
        ),
        (
            "      v:\n        fn::invoke:\n          function: local:index:hash\n          options: {provider: '${a}'}\n",
            8,
            "not a provider resource",
        ),
    ];
    for (props, want_line, want) in cases {
        let e = project(&format!(
            "{HEAD}resources:\n  a:\n    type: local:index:File\n    properties:\n{props}"
        ))
        .unwrap_err();
        let (line, msg) = err_line(e);
        assert!(msg.contains(want), "{want}: {msg}");
        assert_eq!(line, want_line, "{want}: {msg}");
    }
}

#[test]
fn provider_resources_and_their_users() {
    let p = project(&format!(
        "{HEAD}resources:\n  prov:\n    type: pulumi:providers:local\n    properties:\n      root: ./sub\n  f:\n    type: local:index:File\n    properties: {{path: a, content: b}}\n    options:\n      provider: ${{prov}}\n"
    ))
    .unwrap();
    let prov = p.resource("prov").unwrap();
    assert!(prov.is_provider());
    assert_eq!(prov.package, "local");
    let f = p.resource("f").unwrap();
    assert_eq!(f.options.provider.as_deref(), Some("prov"));
    assert!(f.dependencies.contains("prov"));
    // Nothing uses the default provider.
    assert!(p.packages().is_empty(), "{:?}", p.packages());
}

#[test]
fn a_provider_option_must_name_a_provider_resource() {
    let base = "  f:\n    type: local:index:File\n    properties: {path: a, content: b}\n    options:\n      provider: ${x}\n";
    for (x, want) in [
        (
            "  x:\n    type: local:index:Random\n    properties: {length: 2}\n",
            "not a provider resource",
        ),
        ("", "not a resource of this program"),
        (
            "  x:\n    type: pulumi:providers:other\n",
            "package `other`",
        ),
    ] {
        let e = project(&format!("{HEAD}resources:\n{base}{x}")).unwrap_err();
        let (line, msg) = err_line(e);
        assert_eq!(line, 8, "{msg}");
        assert!(msg.contains(want), "{want}: {msg}");
    }
    let (line, msg) = err_line(
        project(&format!(
            "{HEAD}resources:\n  f:\n    type: local:index:File\n    options:\n      provider: prov\n"
        ))
        .unwrap_err(),
    );
    assert_eq!(line, 7);
    assert!(msg.contains("${name}"), "{msg}");
    let (line, msg) = err_line(
        project(&format!(
            "{HEAD}resources:\n  x:\n    type: pulumi:pulumi:StackReference\n"
        ))
        .unwrap_err(),
    );
    assert_eq!(line, 5);
    assert!(msg.contains("pulumi:providers:"), "{msg}");
}

#[test]
fn parent_aliases_import_and_secret_outputs() {
    let p = project(&format!(
        "{HEAD}resources:\n  dir:\n    type: local:index:Directory\n    properties: {{path: d}}\n  f:\n    type: local:index:File\n    properties: {{path: d/a, content: b}}\n    options:\n      parent: ${{dir}}\n      aliases:\n        - name: old\n        - urn:pulumi:dev::d::local:index:File::older\n        - {{noParent: true}}\n        - {{parent: '${{dir}}', type: 'local:index:Old'}}\n      import: /tmp/a\n      additionalSecretOutputs: [content]\n"
    ))
    .unwrap();
    let f = p.resource("f").unwrap();
    let o = &f.options;
    assert_eq!(o.parent.as_deref(), Some("dir"));
    assert!(f.dependencies.contains("dir"));
    assert_eq!(o.import.as_deref(), Some("/tmp/a"));
    assert_eq!(o.additional_secret_outputs, vec!["content"]);
    assert_eq!(
        o.aliases,
        vec![
            AliasDecl::Spec {
                name: Some("old".into()),
                type_token: None,
                parent: AliasParent::Same,
                stack: None,
                project: None
            },
            AliasDecl::Urn("urn:pulumi:dev::d::local:index:File::older".into()),
            AliasDecl::Spec {
                name: None,
                type_token: None,
                parent: AliasParent::Root,
                stack: None,
                project: None
            },
            AliasDecl::Spec {
                name: None,
                type_token: Some("local:index:Old".into()),
                parent: AliasParent::Resource("dir".into()),
                stack: None,
                project: None
            },
        ]
    );
}

#[test]
fn bad_options_name_their_line() {
    let opts = |o: &str| {
        project(&format!(
            "{HEAD}resources:\n  f:\n    type: local:index:File\n    properties: {{path: a, content: b}}\n    options:\n{o}"
        ))
        .unwrap_err()
    };
    for (o, line, want) in [
        ("      parent: ${nope}\n", 8, "`parent` of `f` names `nope`"),
        ("      parent: ${f}\n", 4, "depends on itself"),
        ("      aliases: [old]\n", 8, "not a URN"),
        (
            "      aliases: [{nmae: old}]\n",
            8,
            "unknown alias key `nmae`",
        ),
        ("      aliases: [{parent: '${nope}'}]\n", 8, "parent `nope`"),
        ("      import: ''\n", 8, "non-empty"),
        (
            "      additionalSecretOutputs: content\n",
            8,
            "list of strings",
        ),
    ] {
        let (l, msg) = err_line(opts(o));
        assert!(msg.contains(want), "{want}: {msg}");
        assert_eq!(l, line, "{want}: {msg}");
    }
}

#[test]
fn get_resources() {
    let p = project(&format!(
        "{HEAD}resources:\n  seen:\n    type: local:index:Directory\n    get:\n      id: /tmp/x\n      state: {{path: /tmp/x}}\n"
    ))
    .unwrap();
    let g = p.resource("seen").unwrap().get.clone().unwrap();
    assert_eq!(g.id, Json::String("/tmp/x".into()));
    assert_eq!(g.state["path"], "/tmp/x");
    for (body, line, want) in [
        ("    get: {state: {}}\n", 6, "no `id`"),
        ("    get: {id: x, bogus: 1}\n", 6, "unknown key `bogus`"),
        (
            "    get: {id: x}\n    properties: {path: a}\n",
            4,
            "both `get` and `properties`",
        ),
        ("    get: {id: '${nope.id}'}\n", 6, "`nope`"),
    ] {
        let e = project(&format!(
            "{HEAD}resources:\n  seen:\n    type: local:index:Directory\n{body}"
        ))
        .unwrap_err();
        let (l, msg) = err_line(e);
        assert!(msg.contains(want), "{want}: {msg}");
        assert_eq!(l, line, "{want}: {msg}");
    }
}

#[test]
fn a_secret_inside_an_invoke_still_needs_the_passphrase() {
    let p = project(&format!(
        "{HEAD}variables:\n  d:\n    fn::invoke:\n      function: local:index:hash\n      arguments:\n        content:\n          fn::secret: hunter2\nresources: {{}}\n"
    ))
    .unwrap();
    assert!(crate::secrets::program_uses_secrets(&p));
    let plain = project(&format!(
        "{HEAD}variables:\n  d:\n    fn::invoke:\n      function: local:index:hash\n      arguments: {{content: x}}\nresources: {{}}\n"
    ))
    .unwrap();
    assert!(!crate::secrets::program_uses_secrets(&plain));
    let marked = project(&format!(
        "{HEAD}resources:\n  f:\n    type: local:index:File\n    properties: {{path: a, content: b}}\n    options:\n      additionalSecretOutputs: [sha256]\n"
    ))
    .unwrap();
    assert!(crate::secrets::program_uses_secrets(&marked));
}
