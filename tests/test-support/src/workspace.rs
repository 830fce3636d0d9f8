//! The workspace's own folders and binaries, as the running test sees them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

/// The workspace's root folder (this crate lives at `tests/test-support`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("test-support lives two folders below the workspace root")
        .to_path_buf()
}

/// The directory holding the binaries of the profile this test was built with
/// (`<target-dir>/<profile>`), found from the test executable's own location
/// (`<target-dir>/<profile>/deps/<test>`), so `CARGO_TARGET_DIR`, `--target-dir` and
/// `--release` are all honoured.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "deps"))
        .and_then(Path::parent)
        .expect("test executables live in <target-dir>/<profile>/deps")
        .to_path_buf()
}

/// The target directory this test was built in.
pub fn target_dir() -> PathBuf {
    profile_dir()
        .parent()
        .expect("a profile directory lives in a target directory")
        .to_path_buf()
}

/// The path of workspace binary `bin` (the example provider, a fixture plugin). A failed build
/// panics with cargo's output.
///
/// Under the README's test command this runs no cargo at all: `cargo test --workspace` has
/// already built every binary a test launches (each package that has one also has an
/// integration test, so cargo builds its binaries before any test runs), so the binary is
/// newer than every source file it could be built from, and is used as it is. (Nothing may be
/// rebuilt mid-run: relinking a binary another test is executing fails that test with "text
/// file busy".) When it is missing or older than a source file (a run of one package's tests
/// after an edit), the workspace's binaries are built once per test process with
/// `cargo build --workspace --bins --tests`, the selection `cargo test --workspace` makes.
///
/// It must not run `cargo build -p <package>`: cargo resolves features per selection, so a
/// build of one package compiles most dependencies a second time with other features, and
/// overwrites the binary the workspace build made.
pub fn workspace_binary(bin: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let path = profile_dir().join(bin);
    let built_after_sources = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .is_ok_and(|built| newest_source().is_none_or(|source| source <= built));
    if !built_after_sources {
        BUILT.get_or_init(build_workspace_binaries);
    }
    assert!(
        path.is_file(),
        "cargo built the workspace but {} does not exist; is `{bin}` a binary of a workspace member?",
        path.display()
    );
    path
}

/// The modification time of the newest file a workspace binary may be built from: Rust
/// sources, `.proto` files, manifests and the lock file, outside the test suites
/// (`tests/testsuite/`), build output and installed packages.
fn newest_source() -> Option<SystemTime> {
    static NEWEST: OnceLock<Option<SystemTime>> = OnceLock::new();
    *NEWEST.get_or_init(|| {
        let mut newest = None;
        let mut dirs = vec![workspace_root()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    let skipped = name.starts_with('.')
                        || ["target", "node_modules", "__pycache__", "testsuite"]
                            .contains(&name.as_ref());
                    if !skipped {
                        dirs.push(entry.path());
                    }
                } else if (name.ends_with(".rs")
                    || name.ends_with(".proto")
                    || name == "Cargo.toml"
                    || name == "Cargo.lock")
                    && let Ok(modified) = entry.metadata().and_then(|m| m.modified())
                {
                    newest = newest.max(Some(modified));
                }
            }
        }
        newest
    })
}

/// Builds the workspace's binaries with the selection `cargo test --workspace` makes.
fn build_workspace_binaries() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let profile_dir = profile_dir();
    let mut build = Command::new(&cargo);
    build
        .current_dir(workspace_root())
        .args(["build", "--quiet", "--workspace", "--bins", "--tests"])
        .arg("--target-dir")
        .arg(target_dir())
        .stdin(Stdio::null());
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(other) => {
            build.args(["--profile", other]);
        }
    }
    let output = build
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?} to build the workspace: {e}"));
    assert!(
        output.status.success(),
        "building the workspace's binaries failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}
