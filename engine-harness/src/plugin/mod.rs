//! Provider plugins: find the binary (or build it with cargo), launch it as Pulumi's engine
//! does, read its port, dial it, handshake, configure, call it, and shut it down.

use crate::Error;
use crate::program::Project;
use crate::value::{self, PropertyMap};
use plugin_host::connect::CONNECT_WITHIN;
use plugin_host::details;
use plugin_host::launch::NoPort;
use plugin_host::{Launch, LaunchError, PluginProcess, ProviderClient};
use pulumirpc::*;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;
use tonic::{Code, Status};

/// How long to wait for a plugin to print its port (override with
/// `ENGINE_HARNESS_PLUGIN_TIMEOUT`, in seconds).
pub const DEFAULT_PORT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a plugin has to exit after SIGINT before it is killed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const STDERR_TAIL_LINES: usize = 30;

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A ready binary.
    Binary(PathBuf),
    /// A Cargo package directory: build it, then run its `pulumi-resource-<pkg>` binary.
    Cargo(PathBuf),
}

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

/// Why a resource call failed.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The resource exists but failed to initialize (`ErrorResourceInitFailed`).
    InitFailed {
        /// Its id.
        id: String,
        /// Its outputs.
        outputs: PropertyMap,
        /// Its inputs, when the provider sent them.
        inputs: Option<PropertyMap>,
        /// The reasons.
        reasons: Vec<String>,
    },
    /// The call failed.
    Failed {
        /// What happened.
        message: String,
        /// The provider may or may not have done the work (crash, Unknown/Internal/DataLoss).
        outcome_unknown: bool,
    },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::InitFailed { reasons, .. } => write!(
                f,
                "created but failed to initialize: {}",
                reasons.join("; ")
            ),
            CallError::Failed { message, .. } => f.write_str(message),
        }
    }
}

/// The result of `Diff`.
#[derive(Debug, Clone, Default)]
pub struct DiffResult {
    /// `DIFF_UNKNOWN` = 0, `DIFF_NONE` = 1, `DIFF_SOME` = 2.
    pub changes: i32,
    /// Properties whose change forces replacement.
    pub replaces: Vec<String>,
    /// Changed top-level properties.
    pub diffs: Vec<String>,
    /// Path -> (kind, input diff).
    pub detailed: Vec<(String, i32)>,
    /// The provider asks for delete-before-replace.
    pub delete_before_replace: bool,
}

/// Which resource a call is about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Its URN.
    pub urn: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its type token.
    pub ty: &'a str,
}

/// What the state records of a resource: its id, outputs and inputs.
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its outputs.
    pub outputs: &'a PropertyMap,
    /// Its inputs.
    pub inputs: &'a PropertyMap,
}

impl<'a> Recorded<'a> {
    /// The record of a resource in the state.
    pub fn of(r: &'a crate::state::Resource) -> Self {
        Recorded {
            id: &r.id,
            outputs: &r.outputs,
            inputs: &r.inputs,
        }
    }
}

/// The new inputs of an `Update`, and how to apply them.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// The new (checked) inputs.
    pub news: &'a PropertyMap,
    /// Seconds the provider may take (0: its default).
    pub timeout: f64,
    /// Properties whose changes are ignored.
    pub ignore_changes: &'a [String],
    /// A preview: nothing is changed.
    pub preview: bool,
}

/// A launched, connected plugin.
pub struct Plugin {
    /// The package.
    pub package: String,
    /// The binary.
    pub path: PathBuf,
    /// The version from `GetPluginInfo`.
    pub version: String,
    /// Whether the provider accepts secrets.
    pub accept_secrets: bool,
    /// Whether the provider supports `preview=true` calls.
    pub supports_preview: bool,
    /// Set when `DiffConfig` says the new provider configuration would replace the provider's
    /// resources (engine-harness reports this but does not replace them).
    pub config_replaces: Vec<String>,
    client: ProviderClient,
    /// The process, when launched (not attached).
    process: Option<PluginProcess>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("package", &self.package)
            .field("path", &self.path)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

pub use plugin_host::launch::kill_all_launched;

fn port_timeout() -> Duration {
    std::env::var("ENGINE_HARNESS_PLUGIN_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_PORT_TIMEOUT)
}

fn tail_text(text: &str) -> String {
    if text.trim().is_empty() {
        "(the plugin wrote nothing to stderr)".into()
    } else {
        text.to_string()
    }
}

/// What to launch: [`launch`]'s request.
#[derive(Debug, Clone, Copy)]
pub struct LaunchRequest<'a> {
    /// The plugin binary.
    pub path: &'a Path,
    /// Its package.
    pub package: &'a str,
    /// The program directory (the plugin's working directory).
    pub dir: &'a Path,
    /// The engine's address.
    pub engine_address: &'a str,
    /// The project name (`PULUMI_PROJECT`).
    pub project: &'a str,
    /// The package's provider config (for `PULUMI_CONFIG`).
    pub config: &'a PropertyMap,
}

/// Launches a plugin and connects to it.
pub async fn launch(r: LaunchRequest<'_>) -> Result<Plugin, Error> {
    let (path, package) = (r.path, r.package);
    let env_config: serde_json::Map<String, Json> = r
        .config
        .iter()
        .map(|(k, v)| {
            let (plain, _) = value::unwrap_secrets(v);
            let s = match plain {
                Json::String(s) => s,
                other => other.to_string(),
            };
            (format!("{package}:{k}"), Json::String(s))
        })
        .collect();
    let timeout = port_timeout();
    let process = Launch::new(path)
        .engine(r.engine_address)
        .current_dir(r.dir)
        .env("PULUMI_PROJECT", r.project)
        .env("PULUMI_CONFIG", Json::Object(env_config).to_string())
        .port_timeout(timeout)
        .label(package)
        .start()
        .await
        .map_err(|e| Error::plugin(package, launch_message(path, e)))?;
    let port = process.port();
    let client = match plugin_host::connect(port, CONNECT_WITHIN).await {
        Ok(client) => client,
        Err(e) => {
            process.kill();
            return Err(Error::plugin(
                package,
                format!(
                    "cannot connect to port {port} within 10s: {}. stderr:\n{}",
                    e.reason,
                    tail_text(&process.stderr_lines(STDERR_TAIL_LINES))
                ),
            ));
        }
    };
    Ok(Plugin::new(package, path, client, Some(process)))
}

/// The engine's words for a plugin that gave no port.
fn launch_message(path: &Path, e: LaunchError) -> String {
    let shown = path.display();
    match e {
        LaunchError::Spawn { source, .. } => {
            format!("cannot start {shown}: {source}; check that it exists and is executable")
        }
        LaunchError::NoPort {
            why, exit, stderr, ..
        } => {
            let tail = tail_text(&last_lines(&stderr, STDERR_TAIL_LINES));
            match (why, exit) {
                (NoPort::Timeout(after, _), _) => format!(
                    "{shown} did not print its port within {after:.0?}; a plugin must print its port as the first stdout line. stderr:\n{tail}"
                ),
                (NoPort::NotAPort(line), _) => {
                    let line: String = line.trim().chars().take(80).collect();
                    format!(
                        "{shown} printed `{line}` where its port number (1-65535) was expected; nothing may precede the port on stdout. stderr:\n{tail}"
                    )
                }
                (NoPort::Read(e), _) => format!("{shown} reading its stdout failed: {e}. stderr:\n{tail}"),
                (_, Some(status)) => {
                    format!("{shown} exited ({status}) before printing its port. stderr:\n{tail}")
                }
                (_, None) => {
                    format!("{shown} closed its stdout before printing its port. stderr:\n{tail}")
                }
            }
        }
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The port of a provider to attach to instead of launching it, from
/// `PULUMI_DEBUG_PROVIDERS=<pkg>:<port>[,<pkg>:<port>...]`.
pub fn debug_port(package: &str) -> Option<u32> {
    let spec = std::env::var("PULUMI_DEBUG_PROVIDERS").ok()?;
    spec.split(',').find_map(|entry| {
        let (pkg, port) = entry.trim().split_once(':')?;
        (pkg == package).then(|| port.parse().ok()).flatten()
    })
}

/// Attaches to a provider already serving on `127.0.0.1:<port>` (a provider started by hand in
/// a debugger): it is not launched, and shutting it down only sends `Cancel`.
pub async fn attach(package: &str, port: u32, engine_address: &str) -> Result<Plugin, Error> {
    let path = PathBuf::from(format!("attached:127.0.0.1:{port}"));
    let dial = u16::try_from(port)
        .map_err(|_| Error::plugin(package, format!("port {port} is not a TCP port")))?;
    let client = plugin_host::connect(dial, CONNECT_WITHIN)
        .await
        .map_err(|e| {
            Error::plugin(
                package,
                format!("cannot connect to port {port} within 10s: {}", e.reason),
            )
        })?;
    let plugin = Plugin::new(package, &path, client, None);
    match plugin
        .client
        .clone()
        .attach(PluginAttach {
            address: engine_address.to_string(),
        })
        .await
    {
        Ok(_) => Ok(plugin),
        Err(s) if s.code() == Code::Unimplemented => Ok(plugin),
        Err(s) => Err(plugin.plugin_err("Attach", &s)),
    }
}

fn missing_keys(status: &Status) -> Option<Vec<String>> {
    let m = details::missing_keys(status)?;
    Some(
        m.missing_keys
            .into_iter()
            .map(|k| {
                if k.description.is_empty() {
                    k.name
                } else {
                    format!("{} ({})", k.name, k.description)
                }
            })
            .collect(),
    )
}

/// Provider configuration for [`Plugin::configure`].
#[derive(Debug, Clone)]
pub struct ConfigureArgs<'a> {
    /// The provider resource URN.
    pub urn: &'a str,
    /// The provider resource id.
    pub id: &'a str,
    /// Project directory.
    pub program_dir: &'a Path,
    /// Engine address.
    pub engine_address: &'a str,
    /// Config from the last run, if any.
    pub olds: Option<&'a PropertyMap>,
    /// Config now.
    pub news: &'a PropertyMap,
}

impl Plugin {
    fn new(package: &str, path: &Path, client: ProviderClient, process: Option<PluginProcess>) -> Plugin {
        Plugin {
            package: package.to_string(),
            path: path.to_path_buf(),
            version: String::new(),
            accept_secrets: false,
            supports_preview: false,
            config_replaces: Vec::new(),
            client,
            process,
        }
    }

    /// The last lines the plugin wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        tail_text(
            &self
                .process
                .as_ref()
                .map(|p| p.stderr_lines(STDERR_TAIL_LINES))
                .unwrap_or_default(),
        )
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.pid())
    }

    fn plugin_err(&self, what: &str, s: &Status) -> Error {
        let mut msg = format!("{what} failed: {} ({:?})", s.message(), s.code());
        if matches!(s.code(), Code::Unavailable | Code::Unknown | Code::Internal) {
            msg.push_str(&format!(". stderr:\n{}", self.stderr_tail()));
        }
        Error::plugin(&self.package, msg)
    }

    /// Handshake, GetPluginInfo, CheckConfig, DiffConfig (when there was an old config) and
    /// Configure. Returns the checked config.
    pub async fn configure(&mut self, a: ConfigureArgs<'_>) -> Result<PropertyMap, Error> {
        let ptype = format!("pulumi:providers:{}", self.package);
        let hs = self
            .client
            .handshake(ProviderHandshakeRequest {
                engine_address: a.engine_address.to_string(),
                root_directory: Some(a.program_dir.display().to_string()),
                program_directory: Some(a.program_dir.display().to_string()),
                configure_with_urn: true,
                supports_views: false,
                supports_refresh_before_update: false,
            })
            .await;
        let handshook = match hs {
            Ok(r) => {
                let r = r.into_inner();
                self.accept_secrets = r.accept_secrets;
                self.supports_preview = true;
                true
            }
            Err(s) if s.code() == Code::Unimplemented => false,
            Err(s) => return Err(self.plugin_err("Handshake", &s)),
        };
        self.version = match self.client.get_plugin_info(()).await {
            Ok(r) => r.into_inner().version,
            Err(s) if s.code() == Code::Unimplemented => "unknown".into(),
            Err(s) => return Err(self.plugin_err("GetPluginInfo", &s)),
        };
        let news = self.send(a.news);
        let checked = match self
            .client
            .check_config(CheckRequest {
                urn: a.urn.to_string(),
                olds: a.olds.map(|o| self.send(o)),
                news: Some(news),
                random_seed: vec![],
                name: "default".into(),
                r#type: ptype.clone(),
                autonaming: None,
            })
            .await
        {
            Ok(r) => {
                let r = r.into_inner();
                if !r.failures.is_empty() {
                    let list: Vec<String> = r
                        .failures
                        .iter()
                        .map(|f| format!("`{}:{}`: {}", self.package, f.property, f.reason))
                        .collect();
                    return Err(Error::plugin(
                        &self.package,
                        format!(
                            "invalid provider configuration: {}; fix it under `config:` in the stack file",
                            list.join("; ")
                        ),
                    ));
                }
                r.inputs
                    .as_ref()
                    .map(value::from_struct)
                    .map(|m| self.receive(a.news, m))
                    .unwrap_or_else(|| a.news.clone())
            }
            Err(s) if s.code() == Code::Unimplemented => a.news.clone(),
            Err(s) => return Err(self.plugin_err("CheckConfig", &s)),
        };
        if let Some(olds) = a.olds {
            match self
                .client
                .diff_config(DiffRequest {
                    id: a.id.to_string(),
                    urn: a.urn.to_string(),
                    olds: Some(self.send(olds)),
                    news: Some(self.send(&checked)),
                    ignore_changes: vec![],
                    old_inputs: Some(self.send(olds)),
                    name: "default".into(),
                    r#type: ptype.clone(),
                })
                .await
            {
                Ok(r) => {
                    let r = r.into_inner();
                    let mut keys = r.replaces;
                    keys.extend(
                        r.detailed_diff
                            .iter()
                            .filter(|(_, d)| d.kind % 2 == 1)
                            .map(|(k, _)| k.clone()),
                    );
                    keys.sort();
                    keys.dedup();
                    self.config_replaces = keys;
                }
                Err(s) if s.code() == Code::Unimplemented => {}
                Err(s) => return Err(self.plugin_err("DiffConfig", &s)),
            }
        }
        let variables = checked
            .iter()
            .map(|(k, v)| {
                let (plain, _) = value::unwrap_secrets(v);
                let s = match plain {
                    Json::String(s) => s,
                    other => other.to_string(),
                };
                (format!("{}:config:{k}", self.package), s)
            })
            .collect();
        let resp = self
            .client
            .configure(ConfigureRequest {
                variables,
                args: Some(self.send(&checked)),
                accept_secrets: true,
                accept_resources: true,
                sends_old_inputs: true,
                sends_old_inputs_to_delete: true,
                id: Some(a.id.to_string()),
                urn: Some(a.urn.to_string()),
                name: Some("default".into()),
                r#type: Some(ptype),
            })
            .await;
        match resp {
            Ok(r) => {
                let r = r.into_inner();
                if !handshook {
                    self.accept_secrets = r.accept_secrets;
                    self.supports_preview = r.supports_preview;
                } else {
                    self.accept_secrets |= r.accept_secrets;
                }
            }
            Err(s) => {
                if let Some(keys) = missing_keys(&s) {
                    return Err(Error::plugin(
                        &self.package,
                        format!(
                            "missing required configuration: {}; set each as `{}:<key>: <value>` under `config:` in the stack file",
                            keys.join(", "),
                            self.package
                        ),
                    ));
                }
                return Err(self.plugin_err("Configure", &s));
            }
        }
        Ok(checked)
    }

    /// Encodes properties for the wire, removing secret wrappers if the provider does not accept them.
    fn send(&self, m: &PropertyMap) -> pulumirpc::google::Struct {
        if self.accept_secrets {
            value::to_struct(m)
        } else {
            let plain: PropertyMap = m
                .iter()
                .map(|(k, v)| (k.clone(), value::unwrap_secrets(v).0))
                .collect();
            value::to_struct(&plain)
        }
    }

    /// Marks outputs secret where the same-named input was secret.
    fn receive(&self, inputs: &PropertyMap, mut out: PropertyMap) -> PropertyMap {
        for (k, v) in inputs {
            if value::contains_secret(v)
                && let Some(o) = out.get_mut(k)
                && !value::contains_secret(o)
            {
                *o = value::secret(o.clone());
            }
        }
        out
    }

    fn call_err(&self, s: Status) -> CallError {
        if let Some(e) = details::resource_init_failed(&s) {
            return CallError::InitFailed {
                id: e.id,
                outputs: e
                    .properties
                    .as_ref()
                    .map(value::from_struct)
                    .unwrap_or_default(),
                inputs: e
                    .inputs
                    .as_ref()
                    .map(value::from_struct)
                    .filter(|m| !m.is_empty()),
                reasons: if e.reasons.is_empty() {
                    vec![s.message().to_string()]
                } else {
                    e.reasons
                },
            };
        }
        // A crashed provider shows as Unavailable (or Unknown): what it did is unknown.
        let outcome_unknown = matches!(
            s.code(),
            Code::Unknown | Code::Internal | Code::DataLoss | Code::Unavailable
        );
        let mut message = format!("{} ({:?})", s.message(), s.code());
        if matches!(s.code(), Code::Unavailable | Code::Unknown) {
            message.push_str(&format!(
                "; the provider may have crashed. Its stderr:\n{}",
                self.stderr_tail()
            ));
        }
        CallError::Failed {
            message,
            outcome_unknown,
        }
    }

    /// `Check`: returns the checked inputs, or the failures as `property: reason` lines.
    pub async fn check(
        &self,
        urn: &str,
        name: &str,
        ty: &str,
        olds: &PropertyMap,
        news: &PropertyMap,
    ) -> Result<PropertyMap, CallError> {
        let seed: Vec<u8> = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            urn.hash(&mut h);
            h.finish().to_le_bytes().repeat(4)
        };
        let r = self
            .client
            .clone()
            .check(CheckRequest {
                urn: urn.into(),
                olds: Some(self.send(olds)),
                news: Some(self.send(news)),
                random_seed: seed,
                name: name.into(),
                r#type: ty.into(),
                autonaming: None,
            })
            .await
            .map_err(|s| self.call_err(s))?
            .into_inner();
        if !r.failures.is_empty() {
            let list: Vec<String> = r
                .failures
                .iter()
                .map(|f| {
                    if f.property.is_empty() {
                        f.reason.clone()
                    } else {
                        format!("`{}`: {}", f.property, f.reason)
                    }
                })
                .collect();
            return Err(CallError::Failed {
                message: format!("invalid inputs: {}", list.join("; ")),
                outcome_unknown: false,
            });
        }
        let out = r
            .inputs
            .as_ref()
            .map(value::from_struct)
            .unwrap_or_else(|| news.clone());
        Ok(self.receive(news, out))
    }

    /// `Diff`.
    pub async fn diff(
        &self,
        t: Target<'_>,
        old: Recorded<'_>,
        news: &PropertyMap,
        ignore_changes: &[String],
    ) -> Result<DiffResult, CallError> {
        let Target { urn, name, ty } = t;
        let Recorded {
            id,
            outputs: old_outputs,
            inputs: old_inputs,
        } = old;
        let r = self
            .client
            .clone()
            .diff(DiffRequest {
                id: id.into(),
                urn: urn.into(),
                olds: Some(self.send(old_outputs)),
                news: Some(self.send(news)),
                ignore_changes: ignore_changes.to_vec(),
                old_inputs: Some(self.send(old_inputs)),
                name: name.into(),
                r#type: ty.into(),
            })
            .await
            .map_err(|s| self.call_err(s))?
            .into_inner();
        let mut detailed: Vec<(String, i32)> = r
            .detailed_diff
            .iter()
            .map(|(k, v)| (k.clone(), v.kind))
            .collect();
        detailed.sort();
        Ok(DiffResult {
            changes: r.changes,
            replaces: r.replaces,
            diffs: r.diffs,
            detailed,
            delete_before_replace: r.delete_before_replace,
        })
    }

    fn check_known(&self, what: &str, out: &PropertyMap) -> Result<(), CallError> {
        if let Some((k, _)) = out.iter().find(|(_, v)| value::contains_unknown(v)) {
            return Err(CallError::Failed {
                message: format!(
                    "the provider returned an unknown value for `{k}` from a non-preview {what}; this is a provider bug"
                ),
                outcome_unknown: true,
            });
        }
        Ok(())
    }

    /// `Create`: returns the id and outputs.
    pub async fn create(
        &self,
        urn: &str,
        name: &str,
        ty: &str,
        inputs: &PropertyMap,
        timeout: f64,
        preview: bool,
    ) -> Result<(String, PropertyMap), CallError> {
        let r = self
            .client
            .clone()
            .create(CreateRequest {
                urn: urn.into(),
                properties: Some(self.send(inputs)),
                timeout,
                preview,
                name: name.into(),
                r#type: ty.into(),
                resource_status_address: String::new(),
                resource_status_token: String::new(),
            })
            .await
            .map_err(|s| self.call_err(s))?
            .into_inner();
        let out = self.receive(
            inputs,
            r.properties
                .as_ref()
                .map(value::from_struct)
                .unwrap_or_default(),
        );
        if !preview {
            self.check_known("Create", &out)?;
            if r.id.is_empty() {
                return Err(CallError::Failed {
                    message: "the provider's Create returned an empty id; this is a provider bug"
                        .into(),
                    outcome_unknown: true,
                });
            }
        }
        Ok((r.id, out))
    }

    /// `Update`: returns the new outputs.
    pub async fn update(
        &self,
        t: Target<'_>,
        old: Recorded<'_>,
        change: Change<'_>,
    ) -> Result<PropertyMap, CallError> {
        let Target { urn, name, ty } = t;
        let Recorded {
            id,
            outputs: old_outputs,
            inputs: old_inputs,
        } = old;
        let Change {
            news,
            timeout,
            ignore_changes,
            preview,
        } = change;
        let r = self
            .client
            .clone()
            .update(UpdateRequest {
                id: id.into(),
                urn: urn.into(),
                olds: Some(self.send(old_outputs)),
                news: Some(self.send(news)),
                timeout,
                ignore_changes: ignore_changes.to_vec(),
                preview,
                old_inputs: Some(self.send(old_inputs)),
                name: name.into(),
                r#type: ty.into(),
                resource_status_address: String::new(),
                resource_status_token: String::new(),
                old_views: vec![],
            })
            .await
            .map_err(|s| self.call_err(s))?
            .into_inner();
        let out = self.receive(
            news,
            r.properties
                .as_ref()
                .map(value::from_struct)
                .unwrap_or_default(),
        );
        if !preview {
            self.check_known("Update", &out)?;
        }
        Ok(out)
    }

    /// `Delete`.
    pub async fn delete(
        &self,
        t: Target<'_>,
        old: Recorded<'_>,
        timeout: f64,
    ) -> Result<(), CallError> {
        let Target { urn, name, ty } = t;
        let Recorded {
            id,
            outputs,
            inputs,
        } = old;
        self.client
            .clone()
            .delete(DeleteRequest {
                id: id.into(),
                urn: urn.into(),
                properties: Some(self.send(outputs)),
                timeout,
                old_inputs: Some(self.send(inputs)),
                name: name.into(),
                r#type: ty.into(),
                resource_status_address: String::new(),
                resource_status_token: String::new(),
                old_views: vec![],
            })
            .await
            .map_err(|s| self.call_err(s))?;
        Ok(())
    }

    /// `Read`: returns `(id, outputs, inputs)`; an empty id means the resource is gone.
    pub async fn read(
        &self,
        t: Target<'_>,
        old: Recorded<'_>,
    ) -> Result<(String, PropertyMap, Option<PropertyMap>), CallError> {
        let Target { urn, name, ty } = t;
        let Recorded {
            id,
            outputs,
            inputs,
        } = old;
        let r = self
            .client
            .clone()
            .read(ReadRequest {
                id: id.into(),
                urn: urn.into(),
                properties: Some(self.send(outputs)),
                inputs: Some(self.send(inputs)),
                name: name.into(),
                r#type: ty.into(),
                resource_status_address: String::new(),
                resource_status_token: String::new(),
                old_views: vec![],
            })
            .await
            .map_err(|s| self.call_err(s))?
            .into_inner();
        let out = self.receive(
            outputs,
            r.properties
                .as_ref()
                .map(value::from_struct)
                .unwrap_or_default(),
        );
        let ins = r
            .inputs
            .as_ref()
            .map(value::from_struct)
            .filter(|m| !m.is_empty())
            .map(|m| self.receive(inputs, m));
        Ok((r.id, out, ins))
    }

    /// Sends `Cancel` (errors, including UNIMPLEMENTED, are ignored), waiting at most 5 s.
    pub async fn cancel(&self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.client.clone().cancel(())).await;
    }

    /// Shuts the plugin down: Cancel, then SIGINT to its process group, then SIGKILL after `grace`.
    pub async fn shutdown(&self, grace: Duration) {
        self.cancel().await;
        if let Some(process) = &self.process {
            process.shutdown(grace).await;
        }
    }

    /// Whether the plugin process has exited.
    pub async fn exited(&self) -> bool {
        self.process.as_ref().is_none_or(|p| p.exited().is_some())
    }
}
