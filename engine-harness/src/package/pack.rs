//! `package pack`: a provider crate into the files of a Pulumi provider release.
//!
//! For each target (the host's, and every cross target rustup has installed, or those given):
//! `pulumi-resource-<name>-v<version>-<os>-<arch>.tar.gz`, holding the executable
//! `pulumi-resource-<name>` (mode 0755) at its top beside the crate's README and LICENSE when
//! it has them, the layout `pulumi plugin install` unpacks; and once, `schema.json`, the
//! plugin's `GetSchema` with `version` (and `pluginDownloadURL` when given) set.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value as Json;
use tokio::process::Command;

use crate::Error;
use crate::plugin;

/// What to pack.
#[derive(Debug, Clone, Default)]
pub struct PackRequest {
    /// The provider crate (its `Cargo.toml` declares a `pulumi-resource-<name>` binary).
    pub crate_dir: PathBuf,
    /// Where the release files go (created when missing).
    pub out: PathBuf,
    /// A host binary already built, instead of `cargo build --release`.
    pub binary: Option<PathBuf>,
    /// The targets to build (none: the host's and the installed cross targets).
    pub targets: Vec<String>,
    /// `pluginDownloadURL` for the schema (where `pulumi plugin install` fetches the release).
    pub plugin_download_url: Option<String>,
}

/// What was packed.
#[derive(Debug, Clone)]
pub struct Packed {
    /// The package name.
    pub name: String,
    /// The crate's version.
    pub version: String,
    /// The tarballs written.
    pub tarballs: Vec<PathBuf>,
    /// The schema file written.
    pub schema: PathBuf,
    /// Installed cross targets that did not build, and why (only when no target was named).
    pub skipped: Vec<(String, String)>,
}

/// The provider's name, version and binary target, read with `cargo metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateInfo {
    /// `<name>` of the `pulumi-resource-<name>` binary.
    pub name: String,
    /// The crate's version.
    pub version: String,
}

async fn output(cmd: &mut Command, what: &str) -> Result<String, Error> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| Error::Io {
            context: format!("running {what}"),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Reads the crate in `dir`: its version and its one `pulumi-resource-<name>` binary.
pub async fn crate_info(dir: &Path) -> Result<CrateInfo, Error> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(Error::Usage(format!(
            "{} has no Cargo.toml; give the provider crate's folder",
            dir.display()
        )));
    }
    let text = output(
        cargo()
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--manifest-path",
            ])
            .arg(&manifest),
        "cargo metadata",
    )
    .await?;
    let meta: Json = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("cargo metadata printed no JSON: {e}")))?;
    let wanted = manifest.canonicalize().unwrap_or_else(|_| manifest.clone());
    let package = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .is_some_and(|m| Path::new(m) == wanted)
        })
        .ok_or_else(|| {
            Error::Usage(format!(
                "cargo metadata lists no package for {}",
                manifest.display()
            ))
        })?;
    let bins: Vec<&str> = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str())
        .filter_map(|n| n.strip_prefix("pulumi-resource-"))
        .collect();
    let name = match bins.as_slice() {
        [one] => one.to_string(),
        [] => {
            return Err(Error::Usage(format!(
                "{} declares no `pulumi-resource-<name>` binary; add `[[bin]] name = \"pulumi-resource-<name>\"` (Pulumi finds a provider by that name)",
                manifest.display()
            )));
        }
        many => {
            return Err(Error::Usage(format!(
                "{} declares several plugin binaries ({}); pack one crate per provider",
                manifest.display(),
                many.join(", ")
            )));
        }
    };
    let version = package["version"].as_str().unwrap_or_default().to_string();
    Ok(CrateInfo { name, version })
}

/// The host's target triple (`rustc -vV`).
async fn host_triple() -> Result<String, Error> {
    let text = output(Command::new("rustc").arg("-vV"), "rustc -vV").await?;
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| Error::Usage("rustc -vV named no host target".into()))
}

/// The targets whose standard library is installed (`<sysroot>/lib/rustlib/<triple>/lib`).
async fn installed_targets() -> Vec<String> {
    let Ok(sysroot) = output(Command::new("rustc").args(["--print", "sysroot"]), "rustc").await
    else {
        return Vec::new();
    };
    let dir = Path::new(sysroot.trim()).join("lib").join("rustlib");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut targets: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("lib").is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.contains('-'))
        .collect();
    targets.sort();
    targets
}

/// Pulumi's `<os>-<arch>` for a target triple (`linux-amd64`, `darwin-arm64`, ...).
pub fn os_arch(triple: &str) -> Result<(String, String), Error> {
    let arch = match triple.split('-').next().unwrap_or_default() {
        "x86_64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "i686" | "i586" => "386",
        "armv7" | "arm" => "arm",
        "powerpc64le" => "ppc64le",
        "s390x" => "s390x",
        "riscv64gc" => "riscv64",
        other => {
            return Err(Error::Usage(format!(
                "target {triple}: no Pulumi architecture name for `{other}`"
            )));
        }
    };
    let os = if triple.contains("-linux") {
        "linux"
    } else if triple.contains("-apple-darwin") {
        "darwin"
    } else if triple.contains("-windows") {
        "windows"
    } else {
        return Err(Error::Usage(format!(
            "target {triple}: Pulumi releases plugins for linux, darwin and windows only"
        )));
    };
    Ok((os.to_string(), arch.to_string()))
}

/// The tarball's file name.
pub fn tarball_name(name: &str, version: &str, os: &str, arch: &str) -> String {
    format!("pulumi-resource-{name}-v{version}-{os}-{arch}.tar.gz")
}

/// Writes a release tarball: `exe` as `pulumi-resource-<name>` (mode 0755) and `extras` by
/// file name, with fixed owners and times so the same inputs give the same bytes.
pub fn write_tarball(
    path: &Path,
    name: &str,
    windows: bool,
    exe: &Path,
    extras: &[PathBuf],
) -> Result<(), Error> {
    let io = |what: &str| {
        let context = format!("{what} {}", path.display());
        move |source| Error::Io { context, source }
    };
    let file = std::fs::File::create(path).map_err(io("creating"))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let exe_name = format!(
        "pulumi-resource-{name}{}",
        if windows { ".exe" } else { "" }
    );
    let mut add = |entry: &str, source: &Path, mode: u32| -> Result<(), Error> {
        let data = std::fs::read(source).map_err(|e| Error::Io {
            context: format!("reading {}", source.display()),
            source: e,
        })?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append_data(&mut header, entry, data.as_slice())
            .map_err(io("writing"))
    };
    add(&exe_name, exe, 0o755)?;
    for extra in extras {
        let entry = extra
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        add(&entry, extra, 0o644)?;
    }
    let gz = tar.into_inner().map_err(io("finishing"))?;
    gz.finish().map_err(io("finishing"))?;
    Ok(())
}

/// Asks the plugin at `exe` for its version (`GetPluginInfo`) and schema (`GetSchema`).
pub async fn plugin_info_and_schema(
    name: &str,
    exe: &Path,
) -> Result<(String, Option<Json>), Error> {
    use provider_conformance::kit::SchemaAnswer;
    use provider_conformance::session::Session;
    let command = provider_conformance::PluginCommand::new(vec![exe.display().to_string()]);
    let timeout = Duration::from_secs(60);
    let session = Session::launch(&command, timeout)
        .await
        .map_err(|f| Error::plugin(name, f.actual))?;
    let _ = session.handshake().await;
    let info = session
        .call("GetPluginInfo", session.plugin.client().get_plugin_info(()))
        .await
        .map_err(|e| Error::plugin(name, e.explanation))?;
    drop(session);
    let schema = match provider_conformance::kit::fetch_schema(&command, timeout).await {
        SchemaAnswer::Json(j) => Some(j),
        SchemaAnswer::Unimplemented => None,
        SchemaAnswer::NotJson(e) => {
            return Err(Error::plugin(
                name,
                format!("GetSchema returned no JSON: {e}"),
            ));
        }
        SchemaAnswer::Failed(e) | SchemaAnswer::NotStarted(e) => {
            return Err(Error::plugin(name, e));
        }
    };
    Ok((info.version, schema))
}

/// Packs the crate: see the module docs. Progress goes to stderr.
pub async fn pack(req: &PackRequest) -> Result<Packed, Error> {
    let info = crate_info(&req.crate_dir).await?;
    let version = plugin::cache::parse_version(&info.version).map_err(Error::Usage)?;
    let host = host_triple().await?;
    let explicit = !req.targets.is_empty();
    let mut targets = if explicit {
        req.targets.clone()
    } else {
        let mut t = vec![host.clone()];
        if req.binary.is_none() {
            t.extend(installed_targets().await.into_iter().filter(|t| *t != host));
        }
        t
    };
    targets.dedup();
    if req.binary.is_some() && targets.iter().any(|t| *t != host) {
        return Err(Error::Usage(format!(
            "--binary is a build for this host ({host}); leave out --target, or drop --binary to build each target"
        )));
    }
    std::fs::create_dir_all(&req.out).map_err(|source| Error::Io {
        context: format!("creating {}", req.out.display()),
        source,
    })?;
    let extras: Vec<PathBuf> = ["README.md", "LICENSE", "LICENSE.md", "LICENSE.txt"]
        .iter()
        .map(|f| req.crate_dir.join(f))
        .filter(|p| p.is_file())
        .collect();
    let mut packed = Packed {
        name: info.name.clone(),
        version: version.to_string(),
        tarballs: Vec::new(),
        schema: req.out.join("schema.json"),
        skipped: Vec::new(),
    };
    let mut host_exe = None;
    for target in &targets {
        let (os, arch) = os_arch(target)?;
        let exe = match (&req.binary, target == &host) {
            (Some(b), true) => b.clone(),
            _ => {
                let mut args = vec!["--release".to_string()];
                if explicit || target != &host {
                    args.extend(["--target".to_string(), target.clone()]);
                }
                eprintln!("building pulumi-resource-{} for {target}", info.name);
                match plugin::build_cargo_with(&req.crate_dir, &info.name, true, &args).await {
                    Ok(exe) => exe,
                    Err(e) if !explicit && target != &host => {
                        eprintln!("warning: skipped {target}: {e}");
                        packed.skipped.push((target.clone(), e.to_string()));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let tarball = req
            .out
            .join(tarball_name(&info.name, &packed.version, &os, &arch));
        write_tarball(&tarball, &info.name, os == "windows", &exe, &extras)?;
        eprintln!("wrote {}", tarball.display());
        packed.tarballs.push(tarball);
        if target == &host {
            host_exe = Some(exe);
        }
    }
    let Some(host_exe) = host_exe else {
        return Err(Error::Usage(format!(
            "no build for this host ({host}) among the targets: the schema comes from running the plugin; include --target {host}"
        )));
    };
    let (reported, schema) = plugin_info_and_schema(&info.name, &host_exe).await?;
    let reported = reported.trim_start_matches('v');
    if !reported.is_empty() && reported != packed.version {
        return Err(Error::plugin(
            &info.name,
            format!(
                "the plugin reports version {reported} in GetPluginInfo but the crate is {}; serve it with `provider_sdk::Plugin::new(provider, env!(\"CARGO_PKG_VERSION\"))` (and `ProviderBuilder::new(name, env!(\"CARGO_PKG_VERSION\"))`)",
                packed.version
            ),
        ));
    }
    let Some(mut schema) = schema else {
        return Err(Error::plugin(
            &info.name,
            "the plugin does not implement GetSchema, so there is no schema.json to publish; a typed provider (provider_sdk::typed) derives one".to_string(),
        ));
    };
    match schema.get("version").and_then(Json::as_str) {
        Some(v) if v.trim_start_matches('v') != packed.version => {
            return Err(Error::plugin(
                &info.name,
                format!(
                    "the schema says version {v} but the crate is {}; build the schema with the crate's version (`env!(\"CARGO_PKG_VERSION\")`)",
                    packed.version
                ),
            ));
        }
        _ => schema["version"] = Json::String(packed.version.clone()),
    }
    if let Some(url) = &req.plugin_download_url {
        schema["pluginDownloadURL"] = Json::String(url.clone());
    }
    let text = serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n";
    std::fs::write(&packed.schema, text).map_err(|source| Error::Io {
        context: format!("writing {}", packed.schema.display()),
        source,
    })?;
    eprintln!("wrote {}", packed.schema.display());
    Ok(packed)
}

#[cfg(test)]
mod tests {
    use super::{os_arch, tarball_name};

    #[test]
    fn targets_get_pulumis_os_and_arch_names() {
        let pair = |t: &str| os_arch(t).unwrap();
        assert_eq!(
            pair("x86_64-unknown-linux-gnu"),
            ("linux".into(), "amd64".into())
        );
        assert_eq!(
            pair("aarch64-apple-darwin"),
            ("darwin".into(), "arm64".into())
        );
        assert_eq!(
            pair("x86_64-pc-windows-msvc"),
            ("windows".into(), "amd64".into())
        );
        assert!(os_arch("wasm32-unknown-unknown").is_err());
        assert_eq!(
            tarball_name("local", "0.1.0", "linux", "amd64"),
            "pulumi-resource-local-v0.1.0-linux-amd64.tar.gz"
        );
    }
}
