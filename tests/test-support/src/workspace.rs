//! The workspace's own folders and binaries, as the running test sees them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

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

/// The path of workspace binary `bin` (the example provider, a fixture plugin), built once per
/// test process. A failed build panics with cargo's output.
///
/// It must not run `cargo build -p <package>`: cargo resolves features per selection, so a
/// build of one package compiles most dependencies a second time with other features, and
/// overwrites the binary the workspace build made. Building `--workspace --bins --tests`
/// selects what `cargo test --workspace` selects, so under the README's test command it finds
/// everything fresh and compiles nothing.
pub fn workspace_binary(bin: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let profile_dir = profile_dir();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
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
    });
    let path = profile_dir.join(bin);
    assert!(
        path.is_file(),
        "cargo built the workspace but {} does not exist; is `{bin}` a binary of a workspace member?",
        path.display()
    );
    path
}
