//! Pulumi's language SDKs for the tests, each installed once per machine and reused by every
//! test and every test binary: the Python SDK (PyPI `pulumi`) in one virtualenv, the Node.js
//! SDK (npm `@pulumi/pulumi` and `typescript`) in one `node_modules`. Each install holds a file
//! lock, so test binaries (or two `cargo test` runs) that start at once install it once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Once, OnceLock};

use crate::workspace::{target_dir, workspace_root};

/// Starts making the virtualenv ([`python_venv`]) and the `node_modules` ([`node_modules`] of
/// `package_json`) on two background threads, once per test process, and returns at once.
///
/// A test binary whose tests run programs calls it from the helpers every test uses, so the
/// installs run beside the first tests instead of inside the first test that needs one (where
/// every other test that needs it would wait too). A test that needs an environment still
/// calls [`python_venv`] or [`node_modules`], which waits for the install under way; an install
/// that fails here fails again, with its message, in that test.
pub fn prepare_in_background(package_json: &Path) {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let package_json = package_json.to_path_buf();
        std::thread::spawn(python_venv);
        std::thread::spawn(move || node_modules(&package_json));
    });
}

/// The virtualenv with Pulumi's Python SDK, made on first use by the workspace's own script
/// (`tests/python/setup-venv.sh`, which locks and stamps it) at its default place,
/// `tests/python/.venv`, where the Python-SDK provider's launcher looks for it too.
pub fn python_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let script = workspace_root().join("tests/python/setup-venv.sh");
        let out = Command::new("bash")
            .arg(&script)
            .env_remove("PULUMI_TEST_VENV")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let python = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        python
            .ancestors()
            .nth(2)
            .expect("setup-venv.sh prints <venv>/bin/python")
            .to_path_buf()
    })
    .clone()
}

/// The python of [`python_venv`].
pub fn venv_python() -> PathBuf {
    python_venv().join("bin/python")
}

/// `node_modules` installed with npm from `package_json` (the TypeScript fixtures all pin the
/// same versions), under the target directory; reinstalled only when the file changes.
pub fn node_modules(package_json: &Path) -> PathBuf {
    static MODULES: OnceLock<PathBuf> = OnceLock::new();
    MODULES
        .get_or_init(|| {
            let cache = target_dir().join("test-programs").join("node");
            std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
            let lock = std::fs::File::create(cache.with_extension("lock")).unwrap();
            rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
                .expect("lock the node_modules cache");
            let wanted = std::fs::read_to_string(package_json)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", package_json.display()));
            let stamp = cache.join(".installed-package.json");
            if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
                let _ = std::fs::remove_dir_all(&cache);
                std::fs::create_dir_all(&cache).unwrap();
                std::fs::write(cache.join("package.json"), &wanted).unwrap();
                let out = Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund"])
                    .current_dir(&cache)
                    .stdin(Stdio::null())
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
