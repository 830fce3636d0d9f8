//! Releasing a provider: `package pack`, `plugin install|ls|rm` over a scratch `PULUMI_HOME`
//! in Pulumi's cache layout, plugin versions in one stack, and the upgrade checks (the kit's
//! `--upgrade-from` and `package diff-schema`) against `pulumi-resource-versioned`, one
//! fixture binary whose release (version and variant) a `versioned.json` beside it chooses.

use crate::support;

use serde_json::Value as Json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::{Project, workspace_binary, workspace_root};

fn harness(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_engine-harness"));
    c.args(args).env("PULUMI_HOME", home).stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("run engine-harness");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Pulumi's `<os>-<arch>` for this machine.
fn host_os_arch() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    format!("{os}-{arch}")
}

/// Reads a plugin cache folder the way Pulumi's plugin manager does (`GetPluginsFromDir`:
/// directories named `<kind>-<name>-v<version>` with a semantic version, skipping those with
/// a `.partial` marker; the executable is `pulumi-<kind>-<name>` inside).
fn pulumi_sees(plugins: &Path) -> Vec<(String, String, String, PathBuf)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(plugins).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.file_type().unwrap().is_dir() {
            continue;
        }
        let (kind, rest) = name.split_once('-').unwrap();
        let (plugin, version) = rest.rsplit_once("-v").unwrap();
        let parts: Vec<&str> = version.split(['.', '-', '+']).collect();
        assert!(
            parts.len() >= 3 && parts[..3].iter().all(|p| p.parse::<u64>().is_ok()),
            "{name}: not a semantic version"
        );
        if plugins.join(format!("{name}.partial")).exists() {
            continue;
        }
        let exe = e.path().join(format!("pulumi-{kind}-{plugin}"));
        found.push((kind.into(), plugin.into(), version.into(), exe));
    }
    found.sort();
    found
}

#[test]
fn the_example_provider_is_packed_installed_and_found_by_a_program_as_pulumi_lays_it_out() {
    let home = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let local = workspace_binary("pulumi-resource-local");
    let crate_dir = workspace_root().join("provider-example");
    let (code, stdout, stderr) = run(harness(
        home.path(),
        &[
            "package",
            "pack",
            crate_dir.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--binary",
            local.to_str().unwrap(),
            "--plugin-download-url",
            "https://example.invalid/releases",
        ],
    ));
    assert_eq!(code, 0, "pack failed:\n{stdout}\n{stderr}");
    let version = env!("CARGO_PKG_VERSION");
    let tarball = out.path().join(format!(
        "pulumi-resource-local-v{version}-{}.tar.gz",
        host_os_arch()
    ));
    assert!(tarball.is_file(), "no {}: {stdout}", tarball.display());
    let schema: Json =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("schema.json")).unwrap())
            .unwrap();
    assert_eq!(schema["name"], "local");
    assert_eq!(schema["version"], version);
    assert_eq!(
        schema["pluginDownloadURL"],
        "https://example.invalid/releases"
    );

    let (code, stdout, stderr) = run(harness(
        home.path(),
        &[
            "plugin",
            "install",
            "resource",
            "local",
            version,
            "--file",
            tarball.to_str().unwrap(),
        ],
    ));
    assert_eq!(code, 0, "install failed:\n{stdout}\n{stderr}");

    // The cache, read as Pulumi reads it.
    let plugins = home.path().join("plugins");
    let seen = pulumi_sees(&plugins);
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (kind, name, v, exe) = &seen[0];
    assert_eq!(
        (kind.as_str(), name.as_str(), v.as_str()),
        ("resource", "local", version)
    );
    let folder = plugins.join(format!("resource-local-v{version}"));
    assert_eq!(exe, &folder.join("pulumi-resource-local"));
    assert!(
        exe.metadata().unwrap().permissions().mode() & 0o111 != 0,
        "not executable"
    );
    assert_eq!(std::fs::read(exe).unwrap(), std::fs::read(&local).unwrap());
    assert!(
        plugins
            .join(format!("resource-local-v{version}.lock"))
            .is_file()
    );
    assert!(
        !plugins
            .join(format!("resource-local-v{version}.partial"))
            .exists()
    );
    assert_eq!(
        folder.metadata().unwrap().permissions().mode() & 0o777,
        0o700
    );

    let (code, stdout, _) = run(harness(home.path(), &["plugin", "ls", "--json"]));
    assert_eq!(code, 0);
    let listed: Json = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed[0]["name"], "local");
    assert_eq!(listed[0]["version"], version);

    // A program with no `plugins.providers`: the engine finds the plugin in the cache.
    let project = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    project.write(
        "Pulumi.yaml",
        "name: t\nruntime: yaml\nconfig:\n  local:root: .\nresources:\n  f:\n    type: local:index:File\n    properties:\n      path: hello.txt\n      content: hi\n",
    );
    let (code, stdout, stderr) = run({
        let mut c = harness(home.path(), &["up", "--yes", "--json", "--cwd"]);
        c.arg(project.path());
        c
    });
    assert_eq!(code, 0, "up failed:\n{stdout}\n{stderr}");
    let plugin_paths: Vec<String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .filter(|e| e["event"] == "plugin")
        .filter_map(|e| e["path"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        plugin_paths,
        vec![exe.display().to_string()],
        "the plugin should come from the cache:\n{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(project.path().join("hello.txt")).unwrap(),
        "hi"
    );
    assert!(
        plugins
            .join(format!("resource-local-v{version}.lastused"))
            .is_file()
    );

    // Removed, the plugin is missing, and the error says how to install it.
    let (code, stdout, _) = run(harness(
        home.path(),
        &["plugin", "rm", "resource", "local", version, "--yes"],
    ));
    assert_eq!(code, 0, "{stdout}");
    assert!(pulumi_sees(&plugins).is_empty());
    assert!(
        !plugins
            .join(format!("resource-local-v{version}.lock"))
            .exists()
    );
    let (code, stdout, stderr) = run({
        let mut c = harness(home.path(), &["preview", "--cwd"]);
        // An empty PATH entry list except the system's: no pulumi-resource-local on it.
        c.arg(project.path()).env("PATH", "/usr/bin:/bin");
        c
    });
    assert_eq!(code, 4, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("engine-harness plugin install resource local VERSION --file TARBALL"),
        "{stderr}"
    );
}

/// A release folder of `pulumi-resource-versioned`: a copy of the binary and its flag file.
fn release(root: &Path, version: &str, variant: &str) -> PathBuf {
    let dir = root.join(format!("{variant}-{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("pulumi-resource-versioned");
    std::fs::copy(workspace_binary("pulumi-resource-versioned"), &exe).unwrap();
    std::fs::write(
        dir.join("versioned.json"),
        format!("{{\"version\": \"{version}\", \"variant\": \"{variant}\"}}"),
    )
    .unwrap();
    exe
}

/// The release tarball of a `release` folder.
fn tarball(root: &Path, exe: &Path) -> PathBuf {
    let path = root.join(format!(
        "{}.tar.gz",
        exe.parent().unwrap().file_name().unwrap().to_string_lossy()
    ));
    engine_harness::package::pack::write_tarball(
        &path,
        "versioned",
        false,
        exe,
        &[exe.with_file_name("versioned.json")],
    )
    .unwrap();
    path
}

fn install(home: &Path, version: &str, tarball: &Path) {
    let (code, stdout, stderr) = run(harness(
        home,
        &[
            "plugin",
            "install",
            "resource",
            "versioned",
            version,
            "--file",
            tarball.to_str().unwrap(),
        ],
    ));
    assert_eq!(code, 0, "install {version}:\n{stdout}\n{stderr}");
}

#[test]
fn two_versions_of_a_provider_serve_their_own_resources_in_one_stack() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let v1 = release(work.path(), "1.0.0", "base");
    let v2 = release(work.path(), "2.0.0", "harmless");
    install(home.path(), "1.0.0", &tarball(work.path(), &v1));
    install(home.path(), "2.0.0", &tarball(work.path(), &v2));
    let log = work.path().join("operations.log");
    let project = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    let thing = |name: &str, size: u32, version: &str| {
        format!(
            "  {name}:\n    type: versioned:index:Thing\n    properties:\n      size: {size}\n    options:\n      version: {version}\n"
        )
    };
    let up = |body: &str| {
        project.write(
            "Pulumi.yaml",
            &format!("name: t\nruntime: yaml\nresources:\n{body}"),
        );
        let mut c = harness(home.path(), &["up", "--yes", "--json", "--cwd"]);
        c.arg(project.path()).env("VERSIONED_FIXTURE_LOG", &log);
        run(c)
    };
    let (code, stdout, stderr) = up(&(thing("old", 1, "1.0.0") + &thing("new", 2, "2.0.0")));
    assert_eq!(code, 0, "up failed:\n{stdout}\n{stderr}");

    let old = project.resource("old").expect("old in state");
    let new = project.resource("new").expect("new in state");
    assert_eq!(old["outputs"]["servedBy"], "1.0.0");
    assert_eq!(new["outputs"]["servedBy"], "2.0.0");
    let provider_urn = |r: &Json| {
        let p = r["provider"].as_str().unwrap();
        p.rsplit_once("::").unwrap().0.to_string()
    };
    assert!(
        provider_urn(&old).ends_with("pulumi:providers:versioned::default_1_0_0"),
        "{old}"
    );
    assert!(
        provider_urn(&new).ends_with("pulumi:providers:versioned::default_2_0_0"),
        "{new}"
    );
    let providers: Vec<Json> = project.state()["deployment"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "pulumi:providers:versioned")
        .cloned()
        .collect();
    assert_eq!(
        providers.len(),
        2,
        "one default provider per version: {providers:?}"
    );
    for p in &providers {
        let v = p["inputs"]["version"].as_str().unwrap();
        assert!(
            p["urn"]
                .as_str()
                .unwrap()
                .ends_with(&format!("default_{}", v.replace('.', "_")))
        );
    }
    let plugin_events: Vec<(String, String)> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .filter(|e| e["event"] == "plugin")
        .map(|e| {
            (
                e["version"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let plugins = home.path().join("plugins");
    let mut expected = vec![
        (
            "1.0.0".to_string(),
            plugins
                .join("resource-versioned-v1.0.0/pulumi-resource-versioned")
                .display()
                .to_string(),
        ),
        (
            "2.0.0".to_string(),
            plugins
                .join("resource-versioned-v2.0.0/pulumi-resource-versioned")
                .display()
                .to_string(),
        ),
    ];
    let mut got = plugin_events;
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{stdout}");

    // Dropping the old-version resource deletes it with the old plugin.
    let old_id = old["id"].as_str().unwrap().to_string();
    let (code, stdout, stderr) = up(&thing("new", 2, "2.0.0"));
    assert_eq!(code, 0, "second up failed:\n{stdout}\n{stderr}");
    assert!(project.resource("old").is_none());
    let ops = std::fs::read_to_string(&log).unwrap();
    assert!(
        ops.lines().any(|l| l == format!("1.0.0 delete {old_id}")),
        "the 1.0.0 plugin should delete {old_id}:\n{ops}"
    );
    assert!(!ops.contains("2.0.0 delete"), "{ops}");

    // A version nobody installed is an error that names the install command.
    let (code, stdout, stderr) = up(&thing("newer", 3, "3.0.0"));
    assert_ne!(code, 0);
    assert!(
        format!("{stdout}{stderr}")
            .contains("engine-harness plugin install resource versioned 3.0.0 --file"),
        "{stdout}\n{stderr}"
    );
}

/// `conformance --upgrade-from OLD --format json -- NEW`: (exit code, report).
fn upgrade(home: &Path, fixture: &Path, old: &Path, new: &Path) -> (i32, Json) {
    let (code, stdout, stderr) = run(harness(
        home,
        &[
            "conformance",
            "--upgrade-from",
            old.to_str().unwrap(),
            "--fixture",
            fixture.to_str().unwrap(),
            "--format",
            "json",
            "--",
            new.to_str().unwrap(),
        ],
    ));
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{stdout}\n{stderr}"));
    (code, report)
}

fn case<'a>(report: &'a Json, name: &str) -> &'a Json {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in {report}"))
}

fn findings(case: &Json) -> String {
    case["findings"].to_string()
}

#[test]
fn upgrade_checks_catch_a_rename_and_a_new_replacement_and_pass_a_harmless_release() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let fixture = workspace_root().join("tests/fixtures/versioned.yaml");
    let v1 = release(work.path(), "1.0.0", "base");
    // The old release as its tarball, as CI would keep it.
    let v1_tarball = tarball(work.path(), &v1);

    let rename = release(work.path(), "2.0.0", "rename");
    let (code, report) = upgrade(home.path(), &fixture, &v1_tarball, &rename);
    assert_eq!(code, 1, "{report}");
    let read = case(&report, "upgrade.read");
    assert_eq!(read["status"], "fail", "{report}");
    assert!(
        findings(read).contains("output `size`"),
        "{}",
        findings(read)
    );
    assert!(findings(read).contains("dropped"), "{}", findings(read));
    let no_diff = case(&report, "upgrade.no-diff");
    assert_eq!(no_diff["status"], "fail");
    assert!(
        findings(no_diff).contains("property `size`"),
        "{}",
        findings(no_diff)
    );
    let schema = case(&report, "upgrade.schema");
    assert!(findings(schema).contains("`size`"), "{}", findings(schema));

    let replace = release(work.path(), "2.0.0", "replace");
    let (code, report) = upgrade(home.path(), &fixture, &v1, &replace);
    assert_eq!(code, 1, "{report}");
    let update = case(&report, "upgrade.update-in-place");
    assert_eq!(update["status"], "fail", "{report}");
    assert!(
        findings(update).contains("property `size`"),
        "{}",
        findings(update)
    );
    assert!(
        findings(update).contains("a replacement"),
        "{}",
        findings(update)
    );
    assert_eq!(case(&report, "upgrade.read")["status"], "pass", "{report}");
    assert_eq!(
        case(&report, "upgrade.no-diff")["status"],
        "pass",
        "{report}"
    );

    let harmless = release(work.path(), "2.0.0", "harmless");
    let (code, report) = upgrade(home.path(), &fixture, &v1, &harmless);
    assert_eq!(code, 0, "{report}");
    for name in [
        "upgrade.schema",
        "upgrade.read",
        "upgrade.no-diff",
        "upgrade.update-in-place",
    ] {
        assert_eq!(case(&report, name)["status"], "pass", "{name}: {report}");
    }
}

/// `package diff-schema OLD NEW --json`: (exit code, report).
fn diff_schema(home: &Path, old: &Path, new: &Path) -> (i32, Json) {
    let (code, stdout, stderr) = run(harness(
        home,
        &[
            "package",
            "diff-schema",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "--json",
        ],
    ));
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}):\n{stdout}\n{stderr}"));
    (code, report)
}

#[test]
fn the_schema_comparison_catches_the_same_rename_and_replacement_and_passes_the_harmless_release() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let v1 = release(work.path(), "1.0.0", "base");
    // OLD as a published schema file (from get-schema), NEW as plugins.
    let (code, stdout, stderr) = run(harness(
        home.path(),
        &["package", "get-schema", v1.to_str().unwrap()],
    ));
    assert_eq!(code, 0, "{stderr}");
    let old_schema = work.path().join("schema-1.0.0.json");
    std::fs::write(&old_schema, &stdout).unwrap();
    assert_eq!(
        serde_json::from_str::<Json>(&stdout).unwrap()["version"],
        "1.0.0"
    );
    let thing = "resources.versioned:index:Thing";

    let (code, report) = diff_schema(
        home.path(),
        &old_schema,
        &release(work.path(), "2.0.0", "rename"),
    );
    assert_eq!(code, 1, "{report}");
    let breaking = report["breaking"].as_array().unwrap();
    assert!(
        breaking.iter().any(|c| c["kind"] == "property-removed"
            && c["path"] == format!("{thing}.inputProperties.size")
            && c["message"]
                .as_str()
                .unwrap()
                .contains("renamed to `length`?")),
        "{report}"
    );
    assert!(
        breaking.iter().any(|c| c["kind"] == "input-newly-required"
            && c["path"] == format!("{thing}.inputProperties.length")),
        "{report}"
    );

    let (code, report) = diff_schema(
        home.path(),
        &old_schema,
        &release(work.path(), "2.0.0", "replace"),
    );
    assert_eq!(code, 1, "{report}");
    let breaking = report["breaking"].as_array().unwrap();
    assert_eq!(breaking.len(), 2, "{report}");
    assert!(
        breaking.iter().all(|c| c["kind"] == "newly-replaces"),
        "{report}"
    );
    assert!(
        breaking
            .iter()
            .any(|c| c["path"] == format!("{thing}.inputProperties.size"))
    );

    let (code, report) = diff_schema(
        home.path(),
        &old_schema,
        &release(work.path(), "2.0.0", "harmless"),
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["breaking"], serde_json::json!([]));
    let added: Vec<&str> = report["additions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert!(
        added.contains(&"resources.versioned:index:Extra"),
        "{added:?}"
    );
    assert!(
        added.contains(&format!("{thing}.inputProperties.note").as_str()),
        "{added:?}"
    );
}
