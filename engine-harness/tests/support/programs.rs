//! Language programs for the tests: Pulumi's Python SDK (PyPI `pulumi`) in a virtualenv and the
//! Node.js SDK (npm `@pulumi/pulumi` and `typescript`) in a `node_modules`, each installed once
//! and cached under the target directory; and copies of the fixture programs in
//! `tests/programs/`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// The fixture program `name` under `tests/programs/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(name)
}

/// The virtualenv with Pulumi's Python SDK, made once by the workspace's own script.
pub fn python_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = target_dir().join("monitor-e2e").join("py-venv");
        let out = std::process::Command::new("bash")
            .arg(workspace().join("tests/python/setup-venv.sh"))
            .env("PULUMI_TEST_VENV", &venv)
            .output()
            .expect("run tests/python/setup-venv.sh");
        assert!(
            out.status.success(),
            "setup-venv.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        venv
    })
    .clone()
}

/// `node_modules` with `@pulumi/pulumi` and TypeScript, installed once with npm from the
/// `nodejs-basic` fixture's package.json (every TypeScript fixture pins the same versions).
pub fn node_modules() -> PathBuf {
    static MODULES: OnceLock<PathBuf> = OnceLock::new();
    MODULES
        .get_or_init(|| {
            let cache = target_dir().join("monitor-e2e").join("node-cache");
            let wanted =
                std::fs::read_to_string(fixture("nodejs-basic").join("package.json")).unwrap();
            let stamp = cache.join(".installed-package.json");
            if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
                let _ = std::fs::remove_dir_all(&cache);
                std::fs::create_dir_all(&cache).unwrap();
                std::fs::write(cache.join("package.json"), &wanted).unwrap();
                let out = std::process::Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund"])
                    .current_dir(&cache)
                    .output()
                    .expect("run npm install");
                assert!(
                    out.status.success(),
                    "npm install failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                std::fs::write(&stamp, &wanted).unwrap();
            }
            cache.join("node_modules")
        })
        .clone()
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
