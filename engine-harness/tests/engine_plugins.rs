//! End to end: launching plugins. A provider this project did not write (Pulumi's own Python
//! SDK) driven through preview, up, refresh and destroy; and plugins that misbehave at launch
//! (no port, garbage, early exit), each failing clearly with the plugin's stderr.

mod support;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use support::*;

fn python_venv() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/setup-venv.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .output()
        .expect("run setup-venv.sh");
    assert!(
        out.status.success(),
        "setup-venv.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn python_sdk_provider_through_preview_up_refresh_destroy() {
    python_venv();
    let launcher_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/python/pyprovider")
        .canonicalize()
        .unwrap();
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    let program = |prefix: &str, length: u32| {
        format!(
            "name: py\nruntime: yaml\nplugins:\n  providers:\n    - name: pyrandom\n      path: {}\nresources:\n  r:\n    type: pyrandom:index:Random\n    properties:\n      length: {length}\n      prefix: {prefix}\n  s:\n    type: pyrandom:index:Random\n    properties:\n      length: 3\n      prefix: ${{r.result}}.\noutputs:\n  s: ${{s.result}}\n",
            launcher_dir.display()
        )
    };
    p.write("Pulumi.yaml", &program("a-", 6));
    let r = p.run(&["preview"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("create", "r", "planned"), s("create", "s", "planned")]
    );
    let r = p.run(&["up"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("create", "r", "ok"), s("create", "s", "ok")]
    );
    let res = p.resource("r").unwrap();
    let result = res["outputs"]["result"].as_str().unwrap().to_string();
    assert!(result.starts_with("a-") && result.len() == 8, "{result}");
    assert!(res["id"].as_str().unwrap().starts_with("pyrandom-"));
    assert!(
        p.resource("s").unwrap()["outputs"]["result"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{result}."))
    );
    // Update (prefix) keeps the random part; replace (length) makes a new one.
    p.write("Pulumi.yaml", &program("b-", 6));
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("r")["op"], "update", "{}", r.describe());
    assert_eq!(
        p.resource("r").unwrap()["outputs"]["result"]
            .as_str()
            .unwrap(),
        result.replacen("a-", "b-", 1)
    );
    p.write("Pulumi.yaml", &program("b-", 9));
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("r")["op"], "replace", "{}", r.describe());
    assert_ne!(p.resource("r").unwrap()["id"], res["id"]);
    let r = p.run(&["refresh"]).ok();
    assert_eq!(r.steps(), vec![s("same", "r", "ok"), s("same", "s", "ok")]);
    let r = p.run(&["destroy"]).ok();
    assert_eq!(
        r.steps(),
        vec![s("delete", "r", "ok"), s("delete", "s", "ok")]
    );
    // Reverse dependency order: `s` (which uses `r`) goes first.
    let order: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e["event"] == "step")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec!["s", "r"]);
    assert!(p.resources().is_empty());
}

fn fake_plugin(dir: &Path, script: &str) -> PathBuf {
    let path = dir.join("pulumi-resource-fake");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn launch_failure(script: &str, env: &[(&str, &str)]) -> Run {
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    let bin = p.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    fake_plugin(&bin, script);
    p.write(
        "Pulumi.yaml",
        &format!("name: f\nruntime: yaml\nplugins:\n  providers:\n    - name: fake\n      path: {}\nresources:\n  x:\n    type: fake:index:Thing\n", bin.display()),
    );
    let mut c = p.command(&["preview"]);
    for (k, v) in env {
        c.env(k, v);
    }
    Run::from(c.output().unwrap())
}

#[test]
fn plugin_that_exits_early_shows_its_stderr() {
    let r = launch_failure(
        "echo 'missing credentials: set FAKE_TOKEN' >&2; exit 3",
        &[],
    );
    assert_eq!(r.code, 4, "{}", r.describe());
    assert!(
        r.stderr.contains("exited") && r.stderr.contains("missing credentials: set FAKE_TOKEN"),
        "{}",
        r.stderr
    );
}

#[test]
fn plugin_that_prints_garbage_instead_of_a_port_is_rejected() {
    // The plugin starts a child first: rejecting the plugin must stop that child too.
    let scratch = tempfile::tempdir().unwrap();
    let pidfile = scratch.path().join("child.pid");
    let r = launch_failure(
        "sleep 30 & echo $! > \"$CHILD_PIDFILE\"; echo 'hello from a chatty plugin'; echo 'about to serve' >&2; wait",
        &[("CHILD_PIDFILE", pidfile.to_str().unwrap())],
    );
    assert_eq!(r.code, 4, "{}", r.describe());
    assert!(
        r.stderr.contains("hello from a chatty plugin") && r.stderr.contains("port"),
        "{}",
        r.stderr
    );
    let child = read_pid(&pidfile).expect("the fake plugin wrote its child's pid");
    let _guard = KillOnDrop(vec![pidfile.clone()]);
    wait_for(
        "the plugin's child to be killed",
        std::time::Duration::from_secs(30),
        || {
            // SAFETY: signal 0 only checks whether the process exists.
            !alive(child)
        },
    );
}

#[test]
fn plugin_that_never_prints_a_port_times_out() {
    let r = launch_failure(
        "echo 'stuck starting' >&2; exec sleep 30",
        &[("ENGINE_HARNESS_PLUGIN_TIMEOUT", "2")],
    );
    assert_eq!(r.code, 4, "{}", r.describe());
    assert!(
        r.stderr.contains("did not print its port") && r.stderr.contains("stuck starting"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_plugin_says_where_it_looked() {
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    p.write(
        "Pulumi.yaml",
        "name: f\nruntime: yaml\nresources:\n  x:\n    type: nosuchpkg:index:Thing\n",
    );
    let r = Run::from(
        p.command(&["preview"])
            .env("PATH", "/nonexistent")
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 4, "{}", r.describe());
    assert!(
        r.stderr.contains("pulumi-resource-nosuchpkg") && r.stderr.contains("PATH"),
        "{}",
        r.stderr
    );
}

#[test]
fn cargo_package_path_builds_and_runs_the_provider() {
    let pkg = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../provider-example")
        .canonicalize()
        .unwrap();
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    p.write(
        "Pulumi.yaml",
        &format!("name: c\nruntime: yaml\nconfig:\n  local:root: .\nplugins:\n  providers:\n    - name: local\n      path: {}\nresources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 5\n", pkg.display()),
    );
    let r = p.run(&["preview"]).ok();
    assert!(
        r.events.iter().any(
            |e| e["event"] == "log" && e["message"].as_str().unwrap_or("").contains("building")
        ),
        "{}",
        r.describe()
    );
    assert_eq!(r.steps(), vec![s("create", "r", "planned")]);
}

#[test]
fn attaches_to_a_running_provider_with_pulumi_debug_providers() {
    use std::io::{BufRead, BufReader};
    // No engine address: the provider waits for `Attach`.
    let mut provider = std::process::Command::new(local_provider())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(provider.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("port line");
    let p = Project::local(
        "resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 4\n",
    );
    let mut c = p.command(&["up", "--yes", "--json"]);
    c.env("PULUMI_DEBUG_PROVIDERS", format!("local:{port}"));
    let r = Run::from(c.output().unwrap());
    let _ = provider.kill();
    let _ = provider.wait();
    assert_eq!(r.code, 0, "{}", r.describe());
    assert!(
        r.events
            .iter()
            .any(|e| e["event"] == "log"
                && e["message"].as_str().unwrap_or("").contains("attaching"))
    );
    assert_eq!(r.steps(), vec![s("create", "r", "ok")]);
}

#[test]
fn invalid_provider_configuration_names_the_key() {
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    let program = |config: &str| {
        format!(
            "name: c\nruntime: yaml\nplugins:\n  providers:\n    - name: local\n      path: {}\n{config}resources:\n  r:\n    type: local:index:Random\n    properties:\n      length: 5\n",
            local_provider().display()
        )
    };
    // `local:root` is optional: with no configuration at all the provider starts.
    p.write("Pulumi.yaml", &program(""));
    let r = p.run(&["preview"]);
    assert_eq!(r.code, 0, "{}", r.describe());
    // A root that is not a directory is refused, naming the key.
    p.write(
        "Pulumi.yaml",
        &program("config:\n  local:root: ./no-such-directory\n"),
    );
    let r = p.run(&["preview"]);
    assert_eq!(r.code, 4, "{}", r.describe());
    assert!(
        r.stderr.contains("local:root") && r.stderr.contains("no-such-directory"),
        "{}",
        r.stderr
    );
}

/// Auto-naming end to end, engine and plugin both real processes: with no configuration a
/// resource gets its logical name plus a 7-character suffix, kept across updates; with
/// `pulumi:autonaming` set to a pattern in Pulumi.yaml, the engine sends the proposal in Check
/// (the plugin announced it supports it) and a new resource gets the name from the pattern.
#[test]
fn an_auto_named_resource_keeps_its_suffixed_name_and_takes_the_configured_pattern() {
    let bin = workspace_binary("pulumi-resource-named");
    let p = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    let write = |config: &str, resources: &str| {
        p.write(
            "Pulumi.yaml",
            &format!(
                "name: t\nruntime: yaml\nplugins:\n  providers:\n    - name: named\n      path: {}\n{config}resources:\n{resources}",
                bin.display()
            ),
        )
    };
    let bucket = |name: &str, note: &str| {
        format!("  {name}:\n    type: named:index:Bucket\n    properties:\n      note: {note}\n")
    };
    let name_of = |r: &str| -> String {
        p.resource(r).unwrap_or_else(|| panic!("{r} in state"))["outputs"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let suffixed = |name: &str, prefix: &str, n: usize| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.len() == n && rest.chars().all(|c| c.is_ascii_hexdigit()))
    };

    write("", &bucket("a", "one"));
    let r = p.run(&["up"]).ok();
    let first = name_of("a");
    assert!(suffixed(&first, "a-", 7), "{first}: {}", r.describe());

    write("", &bucket("a", "two"));
    let r = p.run(&["up"]).ok();
    assert_eq!(r.step("a")["op"], "update", "{}", r.describe());
    assert_eq!(name_of("a"), first, "the name is stable across updates");

    let pattern = "config:\n  pulumi:autonaming:\n    value:\n      pattern: ${project}-${stack}-${name}-${hex(4)}\n";
    write(
        pattern,
        &format!("{}{}", bucket("a", "two"), bucket("b", "new")),
    );
    let r = p.run(&["up"]).ok();
    let b = name_of("b");
    assert!(suffixed(&b, "t-dev-b-", 4), "{b}: {}", r.describe());
    assert_eq!(name_of("a"), first, "a recorded name is kept");
    assert_eq!(r.step("a")["op"], "same", "{}", r.describe());
}
