//! Language plugins: a program run by `pulumi-language-<runtime>` (Pulumi's own language hosts,
//! or any other that serves `LanguageRuntime`), found and driven the way Pulumi's engine does.
//!
//! Where a plugin is looked for, in Pulumi's order:
//! 1. `plugins.languages` in `Pulumi.yaml` (`{name, path}`: the executable or its directory);
//! 2. `PATH`, unless `PULUMI_IGNORE_AMBIENT_PLUGINS` is set;
//! 3. next to the `pulumi` executable found on `PATH` (where Pulumi's bundled hosts live);
//! 4. the plugin cache, `$PULUMI_HOME/plugins` (default `~/.pulumi/plugins`),
//!    `language-<runtime>-v<version>/pulumi-language-<runtime>`, the highest version.
//!
//! `PULUMI_DEBUG_LANGUAGES=<runtime>:<port>` attaches to a host already listening on that port
//! instead of starting one.
//!
//! The plugin is started with the engine's address as its one argument, in the project
//! directory, and prints its port. The engine then sends `Handshake` (engine address, root and
//! program directories; a host that does not implement it is fine), `GetRequiredPlugins`, and
//! `Run` with this run's monitor address, project, stack, organization, configuration (secret
//! values in clear with their keys in `configSecretKeys`, as Pulumi sends them), preview flag,
//! parallelism and `ProgramInfo`. The plugin is stopped when `Run` returns.

use super::RunRequest;
use super::error::LanguageError;
use super::process::{OutputLine, PluginProcess, Stream};
use super::project::ProjectInfo;
use crate::monitor::RunningMonitor;
use pulumirpc::language_runtime_client::LanguageRuntimeClient;
use pulumirpc::{
    GetRequiredPluginsRequest, LanguageHandshakeRequest, ProgramInfo, RunRequest as RpcRunRequest,
};
use std::path::{Path, PathBuf};
use tokio::process::Command;

/// The plugin being driven: how to name it in errors, and its port.
struct LanguageRuntimeTarget<'a> {
    command: &'a str,
    port: u16,
}

/// How to reach a language plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Start this executable.
    Executable(PathBuf),
    /// Attach to a host already listening on this loopback port (`PULUMI_DEBUG_LANGUAGES`).
    Attach(u16),
}

fn executable_name(runtime: &str) -> String {
    format!("pulumi-language-{runtime}")
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The plugin cache directory: `$PULUMI_HOME/plugins`, else `~/.pulumi/plugins`.
fn plugin_cache() -> Option<PathBuf> {
    let home = std::env::var_os("PULUMI_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pulumi")))?;
    Some(home.join("plugins"))
}

/// `(major, minor, patch)` of `language-<runtime>-v1.2.3`, for picking the newest.
fn cached_version(dir_name: &str, runtime: &str) -> Option<Vec<u64>> {
    let v = dir_name.strip_prefix(&format!("language-{runtime}-v"))?;
    let core = v.split(['-', '+']).next()?;
    core.split('.').map(|n| n.parse().ok()).collect()
}

/// Where the language plugin for `info`'s runtime is, and the places searched (for the error
/// when there is none).
pub fn find(info: &ProjectInfo) -> Result<(Option<Found>, Vec<String>), LanguageError> {
    let runtime = info.runtime.name();
    let name = executable_name(runtime);
    let mut searched = Vec::new();
    if let Ok(spec) = std::env::var("PULUMI_DEBUG_LANGUAGES") {
        for entry in spec.split(',') {
            if let Some((rt, port)) = entry.split_once(':')
                && rt == runtime
            {
                let port = port.parse().map_err(|_| LanguageError::Plugin {
                    command: name.clone(),
                    message: format!(
                        "PULUMI_DEBUG_LANGUAGES names port `{port}` for `{runtime}`, which is not a port number"
                    ),
                })?;
                return Ok((Some(Found::Attach(port)), searched));
            }
        }
    }
    for (plugin, path) in &info.language_plugins {
        if plugin != runtime {
            continue;
        }
        let candidate = if path.is_dir() {
            path.join(&name)
        } else {
            path.clone()
        };
        if !is_executable(&candidate) {
            return Err(LanguageError::Project {
                file: info.dir.join("Pulumi.yaml"),
                message: format!(
                    "`plugins.languages` names {} for `{runtime}`, which is not an executable file",
                    candidate.display()
                ),
            });
        }
        return Ok((Some(Found::Executable(candidate)), searched));
    }
    searched.push("plugins.languages in Pulumi.yaml".into());
    if !env_set("PULUMI_IGNORE_AMBIENT_PLUGINS") {
        if let Some(p) = on_path(&name) {
            return Ok((Some(Found::Executable(p)), searched));
        }
        searched.push("PATH".into());
    }
    if let Some(pulumi) = on_path("pulumi")
        && let Ok(real) = std::fs::canonicalize(&pulumi)
        && let Some(dir) = real.parent()
    {
        let candidate = dir.join(&name);
        if is_executable(&candidate) {
            return Ok((Some(Found::Executable(candidate)), searched));
        }
        searched.push(format!("next to {}", real.display()));
    }
    if let Some(cache) = plugin_cache() {
        let newest = std::fs::read_dir(&cache)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let dir_name = e.file_name().to_string_lossy().into_owned();
                let version = cached_version(&dir_name, runtime)?;
                let exe = e.path().join(&name);
                is_executable(&exe).then_some((version, exe))
            })
            .max_by(|a, b| a.0.cmp(&b.0));
        if let Some((_, exe)) = newest {
            return Ok((Some(Found::Executable(exe)), searched));
        }
        searched.push(cache.display().to_string());
    }
    Ok((None, searched))
}

/// Runs the program of `info` through the language plugin `found` against `monitor`.
pub(super) async fn run(
    found: &Found,
    info: &ProjectInfo,
    request: &RunRequest,
    monitor: &RunningMonitor,
) -> Result<(), LanguageError> {
    let runtime = info.runtime.name();
    let (process, port, command) = match found {
        Found::Attach(port) => (
            None,
            *port,
            format!("{} (attached)", executable_name(runtime)),
        ),
        Found::Executable(exe) => {
            let mut cmd = Command::new(exe);
            // Pulumi passes the engine's address as the last (here the only) argument.
            cmd.arg(monitor.address()).current_dir(&info.dir);
            let process =
                PluginProcess::start(&info.dir, cmd, &request.output, request.connect_timeout)
                    .await?;
            let port = process.port;
            (Some(process), port, exe.display().to_string())
        }
    };
    let target = LanguageRuntimeTarget {
        command: &command,
        port,
    };
    let driven = tokio::time::timeout(request.timeout, drive(&target, info, request, monitor));
    let result = tokio::select! {
        r = driven => r.unwrap_or_else(|_| {
            Err(LanguageError::TimedOut {
                program: info.dir.clone(),
                after: request.timeout,
            })
        }),
        // Interrupted: the plugin (and the program it started in its group) is stopped below.
        _ = request.interrupt.cancelled() => Err(LanguageError::Interrupted {
            program: info.dir.clone(),
        }),
    };
    let tail = process.as_ref().map(PluginProcess::stderr_tail);
    if let Some(p) = process {
        p.stop().await;
    }
    match result {
        Err(LanguageError::Plugin { command, message }) if tail.is_some() => {
            let tail = tail.unwrap_or_default();
            Err(LanguageError::Plugin {
                command,
                message: if tail.is_empty() {
                    message
                } else {
                    format!("{message}\n{tail}")
                },
            })
        }
        other => other,
    }
}

async fn drive(
    target: &LanguageRuntimeTarget<'_>,
    info: &ProjectInfo,
    request: &RunRequest,
    monitor: &RunningMonitor,
) -> Result<(), LanguageError> {
    let rpc_error = |what: &str, status: tonic::Status| LanguageError::Plugin {
        command: target.command.to_string(),
        message: format!("{what} failed: {}", status.message()),
    };
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", target.port))
            .map_err(|e| LanguageError::Plugin {
                command: target.command.to_string(),
                message: e.to_string(),
            })?
            .connect()
            .await
            .map_err(|e| LanguageError::Plugin {
                command: target.command.to_string(),
                message: format!("cannot connect to port {}: {e}", target.port),
            })?;
    let mut client = LanguageRuntimeClient::new(channel)
        .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
    let (program_dir, entry_point) = info.entry();
    let root = info.dir.display().to_string();
    let program_directory = program_dir.display().to_string();
    match client
        .handshake(LanguageHandshakeRequest {
            engine_address: monitor.address().to_string(),
            root_directory: Some(root.clone()),
            program_directory: Some(program_directory.clone()),
        })
        .await
    {
        Ok(_) => {}
        // A host that predates Handshake is fine, as it is for Pulumi.
        Err(s) if s.code() == tonic::Code::Unimplemented => {}
        Err(s) => return Err(rpc_error("Handshake", s)),
    }
    let program_info = ProgramInfo {
        root_directory: root,
        program_directory: program_directory.clone(),
        entry_point: entry_point.clone(),
        options: info.options.as_object().map(crate::value::to_struct),
    };
    match client
        .get_required_plugins(GetRequiredPluginsRequest {
            project: info.name.clone(),
            pwd: program_directory.clone(),
            program: entry_point.clone(),
            info: Some(program_info.clone()),
        })
        .await
    {
        Ok(resp) => {
            let plugins: Vec<String> = resp
                .into_inner()
                .plugins
                .into_iter()
                .map(|p| {
                    format!("{} {} {}", p.kind, p.name, p.version)
                        .trim()
                        .to_string()
                })
                .collect();
            if !plugins.is_empty() {
                (request.output)(OutputLine {
                    stream: Stream::Setup,
                    text: format!("the program requires: {}", plugins.join(", ")),
                });
            }
        }
        Err(s) if s.code() == tonic::Code::Unimplemented => {}
        Err(s) => return Err(rpc_error("GetRequiredPlugins", s)),
    }
    let response = client
        .run(RpcRunRequest {
            project: info.name.clone(),
            stack: request.stack.clone(),
            pwd: program_directory,
            program: entry_point,
            config: request.config.clone().into_iter().collect(),
            dry_run: request.dry_run,
            parallel: i32::try_from(request.parallel).unwrap_or(i32::MAX),
            monitor_address: monitor.address().to_string(),
            config_secret_keys: request.secret_keys.iter().cloned().collect(),
            organization: request.organization.clone(),
            info: Some(program_info),
            ..Default::default()
        })
        .await
        .map_err(|s| rpc_error("Run", s))?
        .into_inner();
    if response.error.is_empty() && !response.bail {
        return Ok(());
    }
    let errors = monitor.logged_errors();
    let message = if !errors.is_empty() {
        errors.join("\n")
    } else if !response.error.is_empty() {
        response.error
    } else {
        "the language host stopped the run (its errors are above)".into()
    };
    Err(LanguageError::ProgramFailed {
        program: info.dir.clone(),
        exit_code: None,
        message,
    })
}
