//! Remote components end to end: the example provider's `local:index:StaticSite`, constructed
//! by the real plugin through the engine's resource monitor, from a YAML, a Python and a
//! TypeScript program. An HTTP GET of its url returns the file; changing one file's content
//! updates that child only; adding and removing an entry adds and deletes one File; destroy
//! leaves no process, file or listening port.

use crate::support;

use serde_json::Value as Json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::*;

/// The body of `GET url`, or `None` when nothing answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_millis(500),
    )
    .is_ok()
}

fn site_yaml(port: u16, files: &[(&str, &str)]) -> String {
    let mut body = format!(
        "resources:\n  site:\n    type: local:index:StaticSite\n    properties:\n      path: site\n      port: {port}\n      files:\n"
    );
    for (name, content) in files {
        body.push_str(&format!("        {name}: {content:?}\n"));
    }
    body.push_str("outputs:\n  url: ${site.url}\n  fileCount: ${site.fileCount}\n");
    body
}

/// (op, name) of the steps that changed something.
fn changes(run: &Run) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = run
        .steps()
        .into_iter()
        .filter(|(op, _, _)| op != "same")
        .map(|(op, name, _)| (op, name))
        .collect();
    v.sort();
    v
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

/// Every child in the state has the component as its parent.
fn assert_children_parented(p: &Project) {
    let state = p.state();
    let resources = state["deployment"]["resources"].as_array().unwrap();
    let site = resources
        .iter()
        .find(|r| r["type"] == "local:index:StaticSite")
        .expect("the component is in the state");
    assert_eq!(site["custom"], false, "{site}");
    let children: Vec<&Json> = resources
        .iter()
        .filter(|r| {
            let ty = r["type"].as_str().unwrap_or_default();
            ty.starts_with("local:index:") && ty != "local:index:StaticSite"
        })
        .collect();
    assert!(children.len() >= 3, "{resources:#?}");
    for c in children {
        assert_eq!(c["parent"], site["urn"], "{c}");
        let urn = c["urn"].as_str().unwrap();
        assert!(
            urn.contains("local:index:StaticSite$local:index:"),
            "a child's URN carries its parent's type: {urn}"
        );
    }
}

fn assert_gone(p: &Project, port: u16) {
    assert!(!p.path().join("site").exists(), "the directory is deleted");
    assert!(!listening(port), "nothing listens on {port} after destroy");
    let left: Vec<Json> = p.resources();
    assert!(left.is_empty(), "{left:#?}");
}

#[test]
fn static_site_from_yaml_updates_one_child_at_a_time() {
    let port = free_port();
    let p = Project::local(&site_yaml(
        port,
        &[("index.html", "<h1>hello</h1>"), ("about.html", "about")],
    ));
    let preview = p.run(&["preview"]).ok();
    assert!(
        preview.steps().iter().any(|(_, n, _)| n == "site-server"),
        "preview plans the children: {}",
        preview.describe()
    );
    let up = p.run(&["up"]).ok();
    assert_eq!(up.summary()["counts"]["create"], 5, "{}", up.describe());
    assert_eq!(
        http_get(port, "/index.html").as_deref(),
        Some("<h1>hello</h1>")
    );
    assert_children_parented(&p);

    let noop = p.run(&["up"]).ok();
    assert_eq!(changes(&noop), vec![], "{}", noop.describe());

    p.write_local(&site_yaml(
        port,
        &[("index.html", "<h1>hello</h1>"), ("about.html", "about v2")],
    ));
    let update = p.run(&["up"]).ok();
    assert_eq!(
        changes(&update),
        vec![pair("update", "site-about.html")],
        "{}",
        update.describe()
    );
    assert_eq!(http_get(port, "/about.html").as_deref(), Some("about v2"));

    p.write_local(&site_yaml(
        port,
        &[("index.html", "<h1>hello</h1>"), ("new.html", "new")],
    ));
    let swap = p.run(&["up"]).ok();
    assert_eq!(
        changes(&swap),
        vec![
            pair("create", "site-new.html"),
            pair("delete", "site-about.html")
        ],
        "{}",
        swap.describe()
    );
    assert!(!p.path().join("site/about.html").exists());

    p.run(&["destroy"]).ok();
    assert_gone(&p, port);
}

#[test]
fn a_component_with_invalid_inputs_fails_naming_each_property() {
    let p = Project::local(
        "resources:\n  site:\n    type: local:index:StaticSite\n    properties:\n      path: site\n      port: 80\n      files: {}\n",
    );
    let run = p.run(&["up"]);
    assert_eq!(run.code, 1, "{}", run.describe());
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(text.contains("port"), "{text}");
    assert!(text.contains("site"), "{text}");
}

/// A program in `lang` (`python` or `typescript`) using StaticSite as a remote component.
fn program_project(lang: &str, port: u16) -> Project {
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    let plugin = local_provider();
    let plugins = format!(
        "plugins:\n  providers:\n    - name: local\n      path: {}\nconfig:\n  local:root: .\n",
        plugin.display()
    );
    match lang {
        "python" => {
            let venv = support::programs::python_venv();
            p.write(
                "Pulumi.yaml",
                &format!(
                    "name: t\nruntime:\n  name: python\n  options:\n    virtualenv: {}\n{plugins}",
                    venv.display()
                ),
            );
            p.write(
                "__main__.py",
                &format!(
                    r#"import pulumi

class StaticSite(pulumi.ComponentResource):
    def __init__(self, name, args, opts=None):
        props = dict(args)
        props["url"] = None
        props["fileCount"] = None
        super().__init__("local:index:StaticSite", name, props, opts, remote=True)

site = StaticSite("site", {{"path": "site", "port": {port}, "files": {{"index.html": "<h1>hello</h1>"}}}})
pulumi.export("url", site.url)
"#
                ),
            );
        }
        _ => {
            let modules = support::programs::node_modules();
            p.write(
                "Pulumi.yaml",
                &format!("name: t\nruntime: nodejs\n{plugins}"),
            );
            std::os::unix::fs::symlink(&modules, p.path().join("node_modules")).unwrap();
            p.write(
                "package.json",
                r#"{"name": "t", "main": "index.ts", "dependencies": {"@pulumi/pulumi": "*"}}"#,
            );
            // Transpile only, as the TypeScript fixtures (`tests/programs/*/tsconfig.json`).
            p.write("tsconfig.json", r#"{"compilerOptions": {"noCheck": true}}"#);
            p.write(
                "index.ts",
                &format!(
                    r#"import * as pulumi from "@pulumi/pulumi";

class StaticSite extends pulumi.ComponentResource {{
    public readonly url!: pulumi.Output<string>;
    constructor(name: string, args: Record<string, unknown>, opts?: pulumi.ComponentResourceOptions) {{
        super("local:index:StaticSite", name, {{ ...args, url: undefined, fileCount: undefined }}, opts, true);
    }}
}}

const site = new StaticSite("site", {{ path: "site", port: {port}, files: {{ "index.html": "<h1>hello</h1>" }} }});
export const url = site.url;
"#
                ),
            );
        }
    }
    p
}

fn static_site_from_program(lang: &str) {
    let port = free_port();
    let p = program_project(lang, port);
    let up = p.run(&["up"]).ok();
    assert_eq!(up.summary()["counts"]["create"], 4, "{}", up.describe());
    assert_eq!(
        http_get(port, "/index.html").as_deref(),
        Some("<h1>hello</h1>"),
        "{}",
        up.describe()
    );
    assert_children_parented(&p);
    let noop = p.run(&["up"]).ok();
    assert_eq!(changes(&noop), vec![], "{}", noop.describe());
    p.run(&["destroy"]).ok();
    assert_gone(&p, port);
}

#[test]
fn static_site_from_python() {
    static_site_from_program("python");
}

#[test]
fn static_site_from_typescript() {
    static_site_from_program("typescript");
}
