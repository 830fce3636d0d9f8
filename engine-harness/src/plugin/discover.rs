//! Finding a plugin: `plugins.providers` in `Pulumi.yaml`, the plugin cache
//! (`$PULUMI_HOME/plugins`, by name and version), `$PATH`, or a cargo build.

use super::PluginSource;
use crate::Error;
use crate::program::Project;
use plugin_host::cache::PluginCache;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::process::Command;

/// The executable name of a package's plugin.
pub fn binary_name(package: &str) -> String {
    format!("pulumi-resource-{package}")
}

/// Finds the plugin for `package` at any version: see [`find_version`].
pub fn find(project: &Project, package: &str) -> Result<PluginSource, Error> {
    find_version(project, package, None)
}

/// Finds the plugin for `package`: `plugins.providers` in `Pulumi.yaml` first, then the
/// plugin cache (`version` exactly, or the newest installed version when `None`), then `$PATH`.
/// A plugin found on `$PATH` for a given `version` is checked once it reports its version.
pub fn find_version(
    project: &Project,
    package: &str,
    version: Option<&semver::Version>,
) -> Result<PluginSource, Error> {
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
    // The cache is optional: without PULUMI_HOME or HOME there is simply none to look in.
    let cache = PluginCache::from_env().ok();
    if let Some(cache) = &cache
        && let Some(found) = cache
            .find(package, version)
            .map_err(|e| Error::plugin(package, e.to_string()))?
    {
        cache.mark_used(&found);
        return Ok(PluginSource::Binary(found.executable()));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(&bin);
            if candidate.is_file() {
                return Ok(PluginSource::Binary(candidate));
            }
        }
    }
    let cache_dir = cache
        .as_ref()
        .map(|c| c.dir().display().to_string())
        .unwrap_or_else(|| "$PULUMI_HOME/plugins".into());
    if let Some(v) = version {
        return Err(Error::plugin(
            package,
            format!(
                "version {v} is not installed: no `resource-{package}-v{v}` in the plugin cache {cache_dir}, nor `{bin}` on PATH; install it with `engine-harness plugin install resource {package} {v} --file pulumi-resource-{package}-v{v}-<os>-<arch>.tar.gz` (or `pulumi plugin install resource {package} {v}`)"
            ),
        ));
    }
    Err(Error::plugin(
        package,
        format!(
            "no `{bin}` found in Pulumi.yaml `plugins.providers`, in the plugin cache {cache_dir} or on PATH; install a release with `engine-harness plugin install resource {package} VERSION --file TARBALL`, add `plugins: providers: [{{name: {package}, path: <dir>}}]` to Pulumi.yaml or put `{bin}` on PATH"
        ),
    ))
}

/// Builds the `pulumi-resource-<package>` binary of the Cargo package in `dir` and returns its path.
///
/// With `show_progress`, cargo's progress and diagnostics go straight to this process's stderr
/// (a first build can take minutes); otherwise they are captured and the end of them is quoted
/// if the build fails.
pub async fn build_cargo(dir: &Path, package: &str, show_progress: bool) -> Result<PathBuf, Error> {
    build_cargo_with(dir, package, show_progress, &[]).await
}

/// [`build_cargo`] with more arguments for `cargo build` (`--release`, `--target T`).
pub async fn build_cargo_with(
    dir: &Path,
    package: &str,
    show_progress: bool,
    extra: &[String],
) -> Result<PathBuf, Error> {
    let bin = binary_name(package);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .arg("build")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--bin")
        .arg(&bin)
        .args(extra)
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
