//! Finding a plugin: `plugins.providers` in `Pulumi.yaml`, `$PATH`, or a cargo build.

use super::PluginSource;
use crate::Error;
use crate::program::Project;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::Command;

/// The executable name of a package's plugin.
pub fn binary_name(package: &str) -> String {
    format!("pulumi-resource-{package}")
}

/// Finds the plugin for `package`: `plugins.providers` in `Pulumi.yaml` first, then `$PATH`.
pub fn find(project: &Project, package: &str) -> Result<PluginSource, Error> {
    let bin = binary_name(package);
    if let Some(decl) = project.plugins.iter().find(|p| p.name == package) {
        let p = &decl.path;
        if p.join("Cargo.toml").is_file() {
            return Ok(PluginSource::Cargo(
                p.canonicalize().unwrap_or_else(|_| p.clone()),
            ));
        }
        if p.is_dir() && p.join(&bin).is_file() {
            return Ok(PluginSource::Binary(p.join(&bin)));
        }
        if p.is_file() {
            return Ok(PluginSource::Binary(p.clone()));
        }
        return Err(Error::plugin(
            package,
            format!(
                "Pulumi.yaml names plugin path {} but it holds neither `{bin}` nor a Cargo.toml; fix `plugins.providers[].path`",
                p.display()
            ),
        ));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(&bin);
            if candidate.is_file() {
                return Ok(PluginSource::Binary(candidate));
            }
        }
    }
    Err(Error::plugin(
        package,
        format!(
            "no `{bin}` found in Pulumi.yaml `plugins.providers` or on PATH; add `plugins: providers: [{{name: {package}, path: <dir>}}]` to Pulumi.yaml or put `{bin}` on PATH"
        ),
    ))
}

/// Builds the `pulumi-resource-<package>` binary of the Cargo package in `dir` and returns its path.
///
/// With `show_progress`, cargo's progress and diagnostics go straight to this process's stderr
/// (a first build can take minutes); otherwise they are captured and the end of them is quoted
/// if the build fails.
pub async fn build_cargo(dir: &Path, package: &str, show_progress: bool) -> Result<PathBuf, Error> {
    let bin = binary_name(package);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .arg("build")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--bin")
        .arg(&bin)
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if show_progress { Stdio::inherit() } else { Stdio::piped() })
        .output()
        .await
        .map_err(|e| Error::plugin(package, format!("cannot run cargo to build {}: {e}; install Rust (rustup) or point plugins.providers at a binary", dir.display())))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(Error::plugin(
            package,
            format!(
                "`cargo build --bin {bin}` in {} failed{}{}",
                dir.display(),
                if tail.is_empty() {
                    " (see cargo's messages above)"
                } else {
                    ":\n"
                },
                tail.join("\n")
            ),
        ));
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Json>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && msg["target"]["name"] == bin.as_str()
            && let Some(exe) = msg["executable"].as_str()
        {
            return Ok(PathBuf::from(exe));
        }
    }
    Err(Error::plugin(
        package,
        format!(
            "cargo built {} but reported no `{bin}` executable; does the package declare `[[bin]] name = \"{bin}\"`?",
            dir.display()
        ),
    ))
}
