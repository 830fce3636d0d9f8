//! Launching a plugin through the engine-side host, or attaching to one started by hand.

use super::{DEFAULT_PORT_TIMEOUT, Plugin, STDERR_TAIL_LINES};
use crate::value::PropertyMap;
use crate::{Error, value};
use plugin_host::connect::CONNECT_WITHIN;
use plugin_host::launch::NoPort;
use plugin_host::{Launch, LaunchError};
use pulumirpc::PluginAttach;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::Code;

pub use plugin_host::launch::kill_all_launched;

pub(super) fn port_timeout() -> Duration {
    std::env::var("ENGINE_HARNESS_PLUGIN_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_PORT_TIMEOUT)
}

pub(super) fn tail_text(text: &str) -> String {
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
    let env_config = env_config(package, r.config);
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

/// `PULUMI_CONFIG` for a provider: its package's config, `package:key` to the value as a string.
///
/// Pulumi's engine puts the whole decrypted config of the package there, secrets included. A
/// plugin's environment is inherited by everything it runs (a `Command`'s script can print it
/// into the state), so secret values are left out here: a provider gets them only through
/// `Configure`, which carries them marked secret.
pub(super) fn env_config(package: &str, config: &PropertyMap) -> serde_json::Map<String, Json> {
    config
        .iter()
        .filter(|(_, v)| !value::contains_secret(v))
        .map(|(k, v)| {
            let s = match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            (format!("{package}:{k}"), Json::String(s))
        })
        .collect()
}

/// The engine's words for a plugin that gave no port.
pub(super) fn launch_message(path: &Path, e: LaunchError) -> String {
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
                (NoPort::Read(e), _) => {
                    format!("{shown} reading its stdout failed: {e}. stderr:\n{tail}")
                }
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

pub(super) fn last_lines(text: &str, n: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::env_config;
    use crate::value;
    use serde_json::json;

    #[test]
    fn secret_provider_config_stays_out_of_the_plugin_environment() {
        let config = json!({
            "root": "/srv/x",
            "token": value::secret(json!("hunter2-token")),
            "nested": {"k": value::secret(json!("inner-secret"))},
            "n": 3,
        })
        .as_object()
        .unwrap()
        .clone();
        let env = serde_json::Value::Object(env_config("local", &config)).to_string();
        assert!(env.contains("\"local:root\":\"/srv/x\""), "{env}");
        assert!(env.contains("\"local:n\":\"3\""), "{env}");
        assert!(
            !env.contains("hunter2") && !env.contains("inner-secret"),
            "{env}"
        );
        assert!(
            !env.contains("local:token") && !env.contains("local:nested"),
            "{env}"
        );
    }
}
