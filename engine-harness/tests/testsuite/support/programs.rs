//! Language programs for the tests: Pulumi's Python SDK (PyPI `pulumi`) in a virtualenv and the
//! Node.js SDK (npm `@pulumi/pulumi` and `typescript`) in a `node_modules`, each installed once
//! (by `test-support`); and copies of the fixture programs in `tests/programs/`.

use std::path::{Path, PathBuf};

use super::Project;

/// The SDK a fixture program is written for: Pulumi's Python or Node SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sdk {
    /// Pulumi's Python SDK (`runtime: python`), run in the tests' virtualenv.
    Python,
    /// Pulumi's Node SDK (`runtime: nodejs`, TypeScript), with the tests' `node_modules`.
    Node,
}

impl Sdk {
    /// The prefix of this SDK's fixture programs' names (`python-…`, `typescript-…`).
    pub fn fixture_prefix(self) -> &'static str {
        match self {
            Sdk::Python => "python",
            Sdk::Node => "typescript",
        }
    }
}

/// A project of fixture program `name`, copied, with the built example provider as package
/// `local` and, for a program on `sdk`, that SDK installed (none for a YAML program).
pub fn fixture_project(name: &str, sdk: Option<Sdk>) -> Project {
    let dir = copy_fixture(name);
    match sdk {
        Some(Sdk::Python) => use_virtualenv(dir.path(), &python_venv()),
        Some(Sdk::Node) => link_node_modules(dir.path()),
        None => {}
    }
    use_local_provider(dir.path());
    Project { dir }
}

/// The project of fixture `<python|typescript>-<name>` on `sdk` (see [`fixture_project`]).
pub fn sdk_project(sdk: Sdk, name: &str) -> Project {
    fixture_project(&format!("{}-{name}", sdk.fixture_prefix()), Some(sdk))
}

/// The fixture program `name` under `tests/programs/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(name)
}

/// The virtualenv with Pulumi's Python SDK (one per machine, made on first use).
pub fn python_venv() -> PathBuf {
    test_support::programs::python_venv()
}

/// `node_modules` with `@pulumi/pulumi` and TypeScript, installed once from the
/// `nodejs-basic` fixture's package.json (every TypeScript fixture pins the same versions).
pub fn node_modules() -> PathBuf {
    test_support::programs::node_modules(&node_package_json())
}

/// Starts installing both SDKs in the background, once per run (the first harness command of
/// any test starts it), so the tests that run programs find them made or under way.
pub fn prepare_sdks() {
    test_support::programs::prepare_in_background(&node_package_json());
}

/// The package.json [`node_modules`] is installed from.
fn node_package_json() -> PathBuf {
    fixture("nodejs-basic").join("package.json")
}

/// A copy of fixture program `name` in a temporary directory (its files, not its folders).
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// Rewrites the project's `runtime: python` to name `virtualenv` in `runtime.options`.
pub fn use_virtualenv(project: &Path, virtualenv: &Path) {
    let file = project.join("Pulumi.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(
        yaml.contains("runtime: python\n"),
        "{} has no `runtime: python` line",
        file.display()
    );
    let yaml = yaml.replace(
        "runtime: python\n",
        &format!(
            "runtime:\n  name: python\n  options:\n    virtualenv: {}\n",
            virtualenv.display()
        ),
    );
    std::fs::write(file, yaml).unwrap();
}

/// Links the cached `node_modules` into a TypeScript project.
pub fn link_node_modules(project: &Path) {
    std::os::unix::fs::symlink(node_modules(), project.join("node_modules")).unwrap();
}

/// Appends `plugins.providers` naming the built example provider as package `local`.
pub fn use_local_provider(project: &Path) {
    let file = project.join("Pulumi.yaml");
    let mut yaml = std::fs::read_to_string(&file).unwrap();
    assert!(
        !yaml.contains("\nplugins:"),
        "{} has plugins",
        file.display()
    );
    yaml.push_str(&format!(
        "plugins:\n  providers:\n    - name: local\n      path: {}\n",
        super::local_provider().display()
    ));
    std::fs::write(file, yaml).unwrap();
}
