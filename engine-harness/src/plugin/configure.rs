//! Handshake, GetPluginInfo, CheckConfig, DiffConfig and Configure.

use super::launch::tail_text;
use super::{Plugin, STDERR_TAIL_LINES};
use crate::value::PropertyMap;
use crate::{Error, value};
use plugin_host::{PluginProcess, ProviderClient, details};
use pulumirpc::{CheckRequest, ConfigureRequest, DiffRequest, ProviderHandshakeRequest};
use serde_json::Value as Json;
use std::path::Path;
use tonic::{Code, Status};

pub(super) fn missing_keys(status: &Status) -> Option<Vec<String>> {
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
    pub(super) fn new(
        package: &str,
        path: &Path,
        client: ProviderClient,
        process: Option<PluginProcess>,
    ) -> Plugin {
        Plugin {
            package: package.to_string(),
            path: path.to_path_buf(),
            version: String::new(),
            accept_secrets: false,
            supports_preview: false,
            config_replaces: Vec::new(),
            supports_autonaming: false,
            autonaming: None,
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

    pub(super) fn plugin_err(&self, what: &str, s: &Status) -> Error {
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
                ..Default::default()
            })
            .await;
        let handshook = match hs {
            Ok(r) => {
                let r = r.into_inner();
                self.accept_secrets = r.accept_secrets;
                self.supports_preview = true;
                self.supports_autonaming = r.supports_autonaming_configuration;
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
                old_outputs: None,
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
                self.supports_autonaming |= r.supports_autonaming_configuration;
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
}
