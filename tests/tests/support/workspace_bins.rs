//! The workspace's plugin binaries for tests, built once and with the workspace's own feature
//! resolution.
//!
//! A test that needs a binary of another package (the example provider, a fixture plugin) must
//! not run `cargo build -p <package>`: cargo resolves features per selection, so a build of one
//! package compiles most dependencies a second time with other features, and overwrites the
//! binary the workspace build made. Building `--workspace --bins --tests` selects what
//! `cargo test --workspace` selects, so under the README's test command it finds everything
//! fresh and compiles nothing; run from a single package's tests it builds the workspace once.
//!
//! This file is shared by the test crates that need it with
//! `#[path = ".../tests/tests/support/workspace_bins.rs"] mod workspace_bins;`: a source file,
//! not a crate, so no product crate depends on test code.

#![allow(dead_code)] // each including crate uses a different subset.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

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

/// The workspace's root directory, as cargo locates it from `manifest_dir`.
pub fn workspace_root(manifest_dir: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(manifest_dir)
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .stdin(Stdio::null())
        .output()
        .expect("cannot run cargo locate-project");
    assert!(
        out.status.success(),
        "cargo locate-project failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    manifest
        .parent()
        .expect("a manifest lives in a directory")
        .to_path_buf()
}

/// The path of workspace binary `bin`, after building the workspace's binaries once per test
/// process (see the module doc). `manifest_dir` is the calling crate's
/// `env!("CARGO_MANIFEST_DIR")`. A failed build panics with cargo's output.
pub fn workspace_binary(manifest_dir: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let profile_dir = profile_dir();
    BUILT.get_or_init(|| {
        let target_dir = profile_dir
            .parent()
            .expect("a profile directory lives in a target directory");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(&cargo);
        build
            .current_dir(workspace_root(manifest_dir))
            .args(["build", "--quiet", "--workspace", "--bins", "--tests"])
            .arg("--target-dir")
            .arg(target_dir)
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
