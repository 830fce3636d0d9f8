//! The `plugin` and `package` subcommands, spelled as `pulumi plugin` and `pulumi package`
//! spell them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use plugin_host::cache::{PluginCache, parse_version};
use provider_conformance::kit::SchemaAnswer;
use serde_json::Value as Json;

use crate::Error;
use crate::package::pack::{PackRequest, pack};

/// `engine-harness plugin ...`: the plugin cache (`$PULUMI_HOME/plugins`, default
/// `~/.pulumi/plugins`), shared with the `pulumi` CLI.
#[derive(Debug, Args)]
pub struct PluginCmd {
    #[command(subcommand)]
    action: PluginAction,
}

#[derive(Debug, Subcommand)]
enum PluginAction {
    /// Install a plugin release from a tarball: `plugin install resource NAME VERSION --file TARBALL`.
    Install {
        /// The plugin kind (`resource`).
        kind: String,
        /// The plugin name (`local` for `pulumi-resource-local`).
        name: String,
        /// Its version (`1.2.0` or `v1.2.0`).
        version: String,
        /// The release tarball (`pulumi-resource-<name>-v<version>-<os>-<arch>.tar.gz`).
        #[arg(long, short = 'f')]
        file: Option<PathBuf>,
        /// Install again even when that version is installed.
        #[arg(long)]
        reinstall: bool,
    },
    /// List the installed plugins.
    #[command(alias = "list")]
    Ls {
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove installed plugins: every one of KIND NAME, or only VERSION.
    #[command(alias = "remove")]
    Rm {
        /// The plugin kind (`resource`).
        kind: String,
        /// The plugin name.
        name: String,
        /// Only this version.
        version: Option<String>,
        /// Accepted for `pulumi plugin rm --yes` scripts (engine-harness never prompts).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// `engine-harness package ...`: release files and schemas.
#[derive(Debug, Args)]
pub struct PackageCmd {
    #[command(subcommand)]
    action: PackageAction,
}

#[derive(Debug, Subcommand)]
enum PackageAction {
    /// Build the release files of a provider crate: a tarball per target and schema.json.
    Pack {
        /// The provider crate (its Cargo.toml declares the `pulumi-resource-<name>` binary).
        crate_dir: PathBuf,
        /// Where to write the release files.
        #[arg(long)]
        out: PathBuf,
        /// Use this host binary instead of building one with `cargo build --release`.
        #[arg(long)]
        binary: Option<PathBuf>,
        /// Build for this target (repeatable); default: the host and every installed cross target.
        #[arg(long = "target", value_name = "TRIPLE")]
        targets: Vec<String>,
        /// `pluginDownloadURL` to record in schema.json (where the release tarballs are published).
        #[arg(long, value_name = "URL")]
        plugin_download_url: Option<String>,
    },
    /// Print a plugin's package schema (PLUGIN: an executable, a release .tar.gz or NAME[@VERSION] installed).
    GetSchema {
        /// The plugin.
        plugin: String,
    },
    /// Compare two releases' schemas (each a schema file or a plugin); exit 1 on a breaking change.
    DiffSchema {
        /// The previous release.
        old: String,
        /// The new release.
        new: String,
        /// The report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn finish(result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Runs a `plugin` command.
pub fn run_plugin(cmd: PluginCmd) -> ExitCode {
    finish(plugin(cmd))
}

fn plugin(cmd: PluginCmd) -> Result<(), Error> {
    let cache = PluginCache::from_env()?;
    match cmd.action {
        PluginAction::Install {
            kind,
            name,
            version,
            file,
            reinstall,
        } => {
            let version = parse_version(&version).map_err(Error::Usage)?;
            let Some(file) = file else {
                return Err(Error::Usage(format!(
                    "engine-harness installs from a release file only: pass --file pulumi-{kind}-{name}-v{version}-<os>-<arch>.tar.gz (make one with `engine-harness package pack`)"
                )));
            };
            let p = cache.install(&kind, &name, &version, &file, reinstall)?;
            println!(
                "installed {kind} plugin {name} {version} in {}",
                p.dir.display()
            );
            Ok(())
        }
        PluginAction::Ls { json } => {
            let plugins = cache.list()?;
            if json {
                let list: Vec<Json> = plugins
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "name": p.name,
                            "kind": p.kind,
                            "version": p.version.to_string(),
                            "size": p.size(),
                            "path": p.dir.display().to_string(),
                        })
                    })
                    .collect();
                println!("{}", Json::Array(list));
                return Ok(());
            }
            if plugins.is_empty() {
                println!("no plugins installed in {}", cache.dir().display());
                return Ok(());
            }
            println!(
                "{:<24} {:<10} {:<14} {:>10}  PATH",
                "NAME", "KIND", "VERSION", "SIZE"
            );
            for p in &plugins {
                println!(
                    "{:<24} {:<10} {:<14} {:>10}  {}",
                    p.name,
                    p.kind,
                    p.version,
                    p.size(),
                    p.dir.display()
                );
            }
            Ok(())
        }
        PluginAction::Rm {
            kind,
            name,
            version,
            yes: _,
        } => {
            let version = version
                .as_deref()
                .map(parse_version)
                .transpose()
                .map_err(Error::Usage)?;
            let removed = cache.remove(&kind, &name, version.as_ref())?;
            if removed.is_empty() {
                return Err(Error::Usage(format!(
                    "no {kind} plugin {name}{} is installed in {}; see `engine-harness plugin ls`",
                    version.map(|v| format!(" {v}")).unwrap_or_default(),
                    cache.dir().display()
                )));
            }
            for p in removed {
                println!("removed {} plugin {} {}", p.kind, p.name, p.version);
            }
            Ok(())
        }
    }
}

/// Runs a `package` command.
pub async fn run_package(cmd: PackageCmd) -> ExitCode {
    match cmd.action {
        PackageAction::Pack {
            crate_dir,
            out,
            binary,
            targets,
            plugin_download_url,
        } => finish(
            pack(&PackRequest {
                crate_dir,
                out,
                binary,
                targets,
                plugin_download_url,
            })
            .await
            .map(|packed| {
                for t in &packed.tarballs {
                    println!("{}", t.display());
                }
                println!("{}", packed.schema.display());
            }),
        ),
        PackageAction::GetSchema { plugin } => finish(get_schema(&plugin).await.map(|schema| {
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
        })),
        PackageAction::DiffSchema { old, new, json } => {
            let schemas =
                async { Ok::<_, Error>((schema_of(&old).await?, schema_of(&new).await?)) };
            match schemas.await {
                Err(e) => finish(Err(e)),
                Ok((o, n)) => {
                    let diff = provider_conformance::schema_diff::compare(&o, &n);
                    if json {
                        println!("{}", diff.json());
                    } else {
                        print!("{}", diff.text());
                    }
                    if diff.is_breaking() {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    }
                }
            }
        }
    }
}

/// The schema of a plugin (an executable, a release tarball, or NAME[@VERSION] installed).
pub async fn get_schema(plugin: &str) -> Result<Json, Error> {
    let name = plugin_name(plugin);
    let (command, _unpacked) = provider_conformance::upgrade::resolve_release(plugin)
        .map_err(|e| Error::plugin(&name, e.to_string()))?;
    match provider_conformance::kit::fetch_schema(&command, Duration::from_secs(60)).await {
        SchemaAnswer::Json(j) => Ok(j),
        SchemaAnswer::Unimplemented => Err(Error::plugin(
            &name,
            "the plugin does not implement GetSchema",
        )),
        SchemaAnswer::NotJson(e) => Err(Error::plugin(
            &name,
            format!("GetSchema returned no JSON: {e}"),
        )),
        SchemaAnswer::Failed(e) | SchemaAnswer::NotStarted(e) => Err(Error::plugin(&name, e)),
    }
}

/// A schema file (JSON), or the schema of a plugin.
async fn schema_of(spec: &str) -> Result<Json, Error> {
    let path = Path::new(spec);
    if path.is_file() && !spec.ends_with(".tar.gz") && !spec.ends_with(".tgz") {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            context: format!("reading {spec}"),
            source,
        })?;
        if let Ok(json) = serde_json::from_slice::<Json>(&bytes) {
            return Ok(json);
        }
        if spec.ends_with(".json") {
            return Err(Error::Usage(format!(
                "{spec} is not valid JSON; give a package schema (schema.json) or a plugin"
            )));
        }
    }
    get_schema(spec).await
}

/// A name for messages: the plugin's package when the spec shows it.
fn plugin_name(spec: &str) -> String {
    let file = Path::new(spec)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| spec.to_string());
    let file = file.split('@').next().unwrap_or(&file).to_string();
    file.strip_prefix("pulumi-resource-")
        .map(|n| n.split("-v").next().unwrap_or(n).to_string())
        .unwrap_or(file)
}
