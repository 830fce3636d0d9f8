//! A configured plugin, and the engine's calls on it with the kit's own decoding.
//!
//! Every call has a timeout; a failed call becomes a [`Finding`] that says whether the plugin
//! answered with an error or died, with the tail of its stderr.

use std::future::Future;
use std::time::Duration;

use tonic::{Code, Status};

use crate::fixture::ResourceFixture;
use crate::plugin::{LaunchOptions, Plugin, PluginCommand};
use crate::report::Finding;
use crate::values::{PropertyMap, Value, decode_struct, encode_struct, show_map};

/// Who a failed call's failure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The provider answered: with an error status of its own, or with a malformed response.
    Provider,
    /// The call never got an answer: the connection failed or the process died.
    Transport,
    /// No answer within the kit's timeout.
    Timeout,
}

/// A failed call: the status (when the plugin answered) and an explanation for a report.
#[derive(Debug)]
pub struct CallError {
    /// The plugin's status, `None` on a timeout or a malformed response.
    pub status: Option<Status>,
    /// Who the failure came from.
    pub cause: Cause,
    /// What happened, including whether the process died.
    pub explanation: String,
}

impl CallError {
    /// Whether the plugin answered `UNIMPLEMENTED`.
    pub fn unimplemented(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(|s| s.code() == Code::Unimplemented)
    }

    /// A finding for this failure.
    pub fn finding(&self, check: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            check: check.into(),
            expected: "a successful response".into(),
            actual: self.explanation.clone(),
            fix: fix.into(),
            sdk_fix: None,
        }
    }
}

/// What `Check` (or `CheckConfig`, or `Invoke`) returned.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The validated inputs (for `Invoke`, the result).
    pub inputs: PropertyMap,
    /// `(property, reason)` for each failure.
    pub failures: Vec<(String, String)>,
}

/// What `Diff` returned, decoded.
#[derive(Debug, Clone)]
pub struct Diffed {
    /// The raw response.
    pub response: pulumirpc::DiffResponse,
}

impl Diffed {
    /// `changes` as a name.
    pub fn changes(&self) -> &'static str {
        match self.response.changes {
            1 => "DIFF_NONE",
            2 => "DIFF_SOME",
            _ => "DIFF_UNKNOWN",
        }
    }

    /// Properties whose change forces a replacement (`replaces`, or a `*_REPLACE` kind).
    pub fn replacing(&self) -> Vec<String> {
        let mut keys = self.response.replaces.clone();
        for (path, d) in &self.response.detailed_diff {
            // ADD_REPLACE = 1, DELETE_REPLACE = 3, UPDATE_REPLACE = 5.
            if matches!(d.kind, 1 | 3 | 5) && !keys.contains(path) {
                keys.push(path.clone());
            }
        }
        keys.sort();
        keys
    }

    /// Properties named as changed (`diffs` and `detailedDiff` keys).
    pub fn changed(&self) -> Vec<String> {
        let mut keys = self.response.diffs.clone();
        keys.extend(self.response.detailed_diff.keys().cloned());
        keys.extend(self.response.replaces.iter().cloned());
        keys.sort();
        keys.dedup();
        keys
    }

    /// A one-line summary for reports.
    pub fn summary(&self) -> String {
        format!(
            "changes={}, replaces={:?}, diffs={:?}, detailedDiff keys={:?}",
            self.changes(),
            self.response.replaces,
            self.response.diffs,
            self.response.detailed_diff.keys().collect::<Vec<_>>()
        )
    }
}

/// Whether a failure's property path names `property` (`tags` names `tags.x` and `tags[0]`).
pub fn names_property(path: &str, property: &str) -> bool {
    path == property
        || path.starts_with(&format!("{property}."))
        || path.starts_with(&format!("{property}["))
}

/// A launched, handshaken and configured plugin.
pub struct Session {
    /// The plugin.
    pub plugin: Plugin,
    /// The Handshake answer, `None` when the plugin answered `UNIMPLEMENTED`.
    pub handshake: Option<pulumirpc::ProviderHandshakeResponse>,
    /// The Configure answer.
    pub configure: Option<pulumirpc::ConfigureResponse>,
    timeout: Duration,
}

/// The stack and project used in URNs.
pub(crate) const STACK: &str = "conformance";

/// A URN for a resource of `type_token` named `name`.
pub fn urn(type_token: &str, name: &str) -> String {
    format!("urn:pulumi:{STACK}::{STACK}::{type_token}::{name}")
}

impl Session {
    /// Launches the plugin (tolerating a misplaced port line: that is the port-line case's
    /// business) without handshaking.
    pub async fn launch(command: &PluginCommand, timeout: Duration) -> Result<Session, Finding> {
        let options = LaunchOptions {
            tolerate_port_line: true,
            ..LaunchOptions::default()
        };
        let plugin = Plugin::launch(command, &options).await.map_err(|e| Finding {
            check: "launch the plugin".into(),
            expected: "a port line on stdout and a gRPC server on that port".into(),
            actual: e.to_string(),
            fix: "the plugin must start with the engine's address as its argument, listen on 127.0.0.1 and print the port".into(),
            sdk_fix: None,
        })?;
        Ok(Session {
            plugin,
            handshake: None,
            configure: None,
            timeout,
        })
    }

    /// A session on an already launched plugin (nothing called yet).
    pub fn from_plugin(plugin: Plugin, timeout: Duration) -> Session {
        Session {
            plugin,
            handshake: None,
            configure: None,
            timeout,
        }
    }

    /// Launches, then Handshake (UNIMPLEMENTED tolerated), GetPluginInfo, CheckConfig
    /// (UNIMPLEMENTED tolerated) and Configure with `config`, as the engine does.
    pub async fn start(
        command: &PluginCommand,
        config: &PropertyMap,
        package: &str,
        timeout: Duration,
    ) -> Result<Session, Finding> {
        let mut s = Session::launch(command, timeout).await?;
        s.handshake = s.handshake().await?;
        s.call("GetPluginInfo", s.plugin.client().get_plugin_info(()))
            .await
            .map_err(|e| {
                e.finding(
                    "GetPluginInfo",
                    "answer GetPluginInfo with the plugin's version",
                )
            })?;
        let config = s.check_config(config, package).await?;
        s.configure = Some(s.configure(&config, package).await?);
        Ok(s)
    }

    /// Runs one call with the session's timeout, explaining failures.
    pub async fn call<T>(
        &self,
        op: &str,
        fut: impl Future<Output = Result<tonic::Response<T>, Status>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => {
                let explanation = self.plugin.explain(op, &status).await;
                let cause =
                    if crate::plugin::is_transport(&status) || self.plugin.exited().is_some() {
                        Cause::Transport
                    } else {
                        Cause::Provider
                    };
                Err(CallError {
                    status: Some(status),
                    cause,
                    explanation,
                })
            }
            Err(_) => Err(CallError {
                status: None,
                cause: Cause::Timeout,
                explanation: format!("{op} did not answer within {:?}", self.timeout),
            }),
        }
    }

    /// Handshake, as the engine sends it; `None` when UNIMPLEMENTED.
    pub async fn handshake(&self) -> Result<Option<pulumirpc::ProviderHandshakeResponse>, Finding> {
        let dir = std::env::temp_dir().display().to_string();
        let req = pulumirpc::ProviderHandshakeRequest {
            engine_address: self.plugin.engine.address().to_string(),
            root_directory: Some(dir.clone()),
            program_directory: Some(dir),
            configure_with_urn: false,
            supports_views: false,
            supports_refresh_before_update: true,
            // Every Invoke below says whether it is a preview (it never is).
            invoke_with_preview: true,
            ..Default::default()
        };
        match self
            .call("Handshake", self.plugin.client().handshake(req))
            .await
        {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.unimplemented() => Ok(None),
            Err(e) => Err(e.finding("Handshake", "answer Handshake, or return UNIMPLEMENTED")),
        }
    }

    /// CheckConfig of `config` (as the default provider of `package`).
    pub async fn check_config_call(
        &self,
        config: &PropertyMap,
        package: &str,
    ) -> Result<Checked, CallError> {
        let req = pulumirpc::CheckRequest {
            urn: provider_urn(package),
            olds: Some(encode_struct(&PropertyMap::new())),
            news: Some(encode_struct(config)),
            name: "default".into(),
            r#type: format!("pulumi:providers:{package}"),
            random_seed: vec![7; 32],
            ..Default::default()
        };
        let resp = self
            .call("CheckConfig", self.plugin.client().check_config(req))
            .await?;
        let inputs = decode_struct(resp.inputs.as_ref()).map_err(|e| CallError {
            status: None,
            cause: Cause::Provider,
            explanation: format!("CheckConfig returned inputs that do not decode: {e}"),
        })?;
        Ok(Checked {
            inputs,
            failures: resp
                .failures
                .into_iter()
                .map(|f| (f.property, f.reason))
                .collect(),
        })
    }

    /// CheckConfig of the fixture's config, which must pass (UNIMPLEMENTED tolerated).
    async fn check_config(
        &self,
        config: &PropertyMap,
        package: &str,
    ) -> Result<PropertyMap, Finding> {
        match self.check_config_call(config, package).await {
            Err(e) if e.unimplemented() => Ok(config.clone()),
            Err(e) => Err(e.finding("CheckConfig", "answer CheckConfig, or return UNIMPLEMENTED")),
            Ok(r) if !r.failures.is_empty() => Err(Finding {
                check: "CheckConfig of the fixture's config".into(),
                expected: "no failures".into(),
                actual: failures_text(&r.failures),
                fix: "correct the fixture's `config`, or make CheckConfig accept it".into(),
                sdk_fix: None,
            }),
            Ok(r) => Ok(r.inputs),
        }
    }

    /// DiffConfig of the recorded `olds` against `news`.
    pub async fn diff_config(
        &self,
        olds: &PropertyMap,
        news: &PropertyMap,
        package: &str,
    ) -> Result<Diffed, CallError> {
        let req = pulumirpc::DiffRequest {
            urn: provider_urn(package),
            olds: Some(encode_struct(olds)),
            news: Some(encode_struct(news)),
            old_inputs: Some(encode_struct(olds)),
            name: "default".into(),
            r#type: format!("pulumi:providers:{package}"),
            ..Default::default()
        };
        let response = self
            .call("DiffConfig", self.plugin.client().diff_config(req))
            .await?;
        Ok(Diffed { response })
    }

    /// Invoke of `token` with `args`; returns the result and the failures.
    pub async fn invoke(&self, token: &str, args: &PropertyMap) -> Result<Checked, CallError> {
        let req = pulumirpc::InvokeRequest {
            tok: token.to_string(),
            args: Some(encode_struct(args)),
            preview: false,
        };
        let resp = self
            .call("Invoke", self.plugin.client().invoke(req))
            .await?;
        let result = decode_struct(resp.r#return.as_ref()).map_err(|e| CallError {
            status: None,
            cause: Cause::Provider,
            explanation: format!("Invoke returned a result that does not decode: {e}"),
        })?;
        Ok(Checked {
            inputs: result,
            failures: resp
                .failures
                .into_iter()
                .map(|f| (f.property, f.reason))
                .collect(),
        })
    }

    /// Configure with `config`, secrets and resources accepted.
    pub async fn configure(
        &self,
        config: &PropertyMap,
        package: &str,
    ) -> Result<pulumirpc::ConfigureResponse, Finding> {
        let variables = config
            .iter()
            .map(|(k, v)| {
                let text = match v.unwrapped() {
                    Value::String(s) => s,
                    other => serde_json::to_string(&to_json(&other)).unwrap_or_default(),
                };
                (format!("{package}:config:{k}"), text)
            })
            .collect();
        let req = pulumirpc::ConfigureRequest {
            variables,
            args: Some(encode_struct(config)),
            accept_secrets: true,
            accept_resources: true,
            sends_old_inputs: true,
            sends_old_inputs_to_delete: true,
            ..Default::default()
        };
        self.call("Configure", self.plugin.client().configure(req))
            .await
            .map_err(|e| {
                e.finding(
                    "Configure with the fixture's config",
                    "Configure must accept a valid configuration",
                )
            })
    }

    /// Check of `news` against `olds`.
    pub async fn check(
        &self,
        r: &ResourceFixture,
        olds: &PropertyMap,
        news: &PropertyMap,
    ) -> Result<Checked, CallError> {
        let name = r.name.clone().unwrap_or_else(|| "conformance".into());
        let req = pulumirpc::CheckRequest {
            urn: urn(&r.type_token, &name),
            olds: Some(encode_struct(olds)),
            news: Some(encode_struct(news)),
            random_seed: vec![42; 32],
            name,
            r#type: r.type_token.clone(),
            ..Default::default()
        };
        let resp = self.call("Check", self.plugin.client().check(req)).await?;
        let inputs = decode_struct(resp.inputs.as_ref()).map_err(|e| CallError {
            status: None,
            cause: Cause::Provider,
            explanation: format!("Check returned inputs that do not decode: {e}"),
        })?;
        Ok(Checked {
            inputs,
            failures: resp
                .failures
                .into_iter()
                .map(|f| (f.property, f.reason))
                .collect(),
        })
    }

    /// Check that must succeed without failures; returns the validated inputs.
    pub async fn check_valid(
        &self,
        r: &ResourceFixture,
        olds: &PropertyMap,
        news: &PropertyMap,
        what: &str,
    ) -> Result<PropertyMap, Finding> {
        let checked = self.check(r, olds, news).await.map_err(|e| {
            e.finding(
                format!("Check({}) of the fixture's {what}", r.type_token),
                "Check must accept valid inputs",
            )
        })?;
        if !checked.failures.is_empty() {
            return Err(Finding {
                check: format!(
                    "Check({}) of the fixture's {what} {}",
                    r.type_token,
                    show_map(news)
                ),
                expected: "no failures".into(),
                actual: failures_text(&checked.failures),
                fix: "correct the fixture, or make Check accept these inputs".into(),
                sdk_fix: None,
            });
        }
        Ok(checked.inputs)
    }

    /// Create; returns the id and the outputs.
    pub async fn create(
        &self,
        r: &ResourceFixture,
        inputs: &PropertyMap,
        preview: bool,
    ) -> Result<(String, PropertyMap), CallError> {
        let name = r.name.clone().unwrap_or_else(|| "conformance".into());
        let req = pulumirpc::CreateRequest {
            urn: urn(&r.type_token, &name),
            properties: Some(encode_struct(inputs)),
            timeout: 300.0,
            preview,
            name,
            r#type: r.type_token.clone(),
            ..Default::default()
        };
        let resp = self
            .call("Create", self.plugin.client().create(req))
            .await?;
        let outputs = decode_struct(resp.properties.as_ref()).map_err(|e| CallError {
            status: None,
            cause: Cause::Provider,
            explanation: format!("Create returned properties that do not decode: {e}"),
        })?;
        Ok((resp.id, outputs))
    }

    /// Create that must succeed with a non-empty id.
    pub async fn create_ok(
        &self,
        r: &ResourceFixture,
        inputs: &PropertyMap,
    ) -> Result<(String, PropertyMap), Finding> {
        let (id, outputs) = self.create(r, inputs, false).await.map_err(|e| {
            e.finding(
                format!("Create({}) of {}", r.type_token, show_map(inputs)),
                "Create must succeed for valid inputs",
            )
        })?;
        if id.is_empty() {
            return Err(empty_id_finding(r));
        }
        Ok((id, outputs))
    }

    /// Read; returns (id, properties, inputs).
    pub async fn read(
        &self,
        r: &ResourceFixture,
        id: &str,
        properties: &PropertyMap,
        inputs: &PropertyMap,
    ) -> Result<(String, PropertyMap, PropertyMap), CallError> {
        let name = r.name.clone().unwrap_or_else(|| "conformance".into());
        let req = pulumirpc::ReadRequest {
            id: id.to_string(),
            urn: urn(&r.type_token, &name),
            properties: Some(encode_struct(properties)),
            inputs: Some(encode_struct(inputs)),
            name,
            r#type: r.type_token.clone(),
            ..Default::default()
        };
        let resp = self.call("Read", self.plugin.client().read(req)).await?;
        let props = decode_struct(resp.properties.as_ref()).map_err(|e| CallError {
            status: None,
            cause: Cause::Provider,
            explanation: format!("Read returned properties that do not decode: {e}"),
        })?;
        let ins = decode_struct(resp.inputs.as_ref()).map_err(|e| CallError {
            status: None,
            cause: Cause::Provider,
            explanation: format!("Read returned inputs that do not decode: {e}"),
        })?;
        Ok((resp.id, props, ins))
    }

    /// Diff of recorded `olds` (outputs) and `old_inputs` against `news`.
    pub async fn diff(
        &self,
        r: &ResourceFixture,
        id: &str,
        olds: &PropertyMap,
        old_inputs: &PropertyMap,
        news: &PropertyMap,
    ) -> Result<Diffed, CallError> {
        let name = r.name.clone().unwrap_or_else(|| "conformance".into());
        let req = pulumirpc::DiffRequest {
            id: id.to_string(),
            urn: urn(&r.type_token, &name),
            olds: Some(encode_struct(olds)),
            news: Some(encode_struct(news)),
            old_inputs: Some(encode_struct(old_inputs)),
            name,
            r#type: r.type_token.clone(),
            ..Default::default()
        };
        let response = self.call("Diff", self.plugin.client().diff(req)).await?;
        Ok(Diffed { response })
    }

    /// Update; returns the new outputs.
    pub async fn update(
        &self,
        r: &ResourceFixture,
        id: &str,
        olds: &PropertyMap,
        old_inputs: &PropertyMap,
        news: &PropertyMap,
    ) -> Result<PropertyMap, CallError> {
        let name = r.name.clone().unwrap_or_else(|| "conformance".into());
        let req = pulumirpc::UpdateRequest {
            id: id.to_string(),
            urn: urn(&r.type_token, &name),
            olds: Some(encode_struct(olds)),
            news: Some(encode_struct(news)),
            old_inputs: Some(encode_struct(old_inputs)),
            timeout: 300.0,
            name,
            r#type: r.type_token.clone(),
            ..Default::default()
        };
        let resp = self
            .call("Update", self.plugin.client().update(req))
            .await?;
        decode_struct(resp.properties.as_ref()).map_err(|e| CallError {
            status: None,
            cause: Cause::Provider,
            explanation: format!("Update returned properties that do not decode: {e}"),
        })
    }

    /// Delete.
    pub async fn delete(
        &self,
        r: &ResourceFixture,
        id: &str,
        properties: &PropertyMap,
        inputs: &PropertyMap,
    ) -> Result<(), CallError> {
        let name = r.name.clone().unwrap_or_else(|| "conformance".into());
        let req = pulumirpc::DeleteRequest {
            id: id.to_string(),
            urn: urn(&r.type_token, &name),
            properties: Some(encode_struct(properties)),
            old_inputs: Some(encode_struct(inputs)),
            timeout: 300.0,
            name,
            r#type: r.type_token.clone(),
            ..Default::default()
        };
        self.call("Delete", self.plugin.client().delete(req)).await
    }
}

/// The URN of `package`'s default provider.
fn provider_urn(package: &str) -> String {
    format!("urn:pulumi:{STACK}::{STACK}::pulumi:providers:{package}::default")
}

/// The finding for an empty id from a non-preview Create.
pub fn empty_id_finding(r: &ResourceFixture) -> Finding {
    Finding {
        check: format!("Create({}) id", r.type_token),
        expected: "a non-empty id (outside preview)".into(),
        actual: "an empty id: Create returned an empty id, which the engine reads as \"nothing was created\"".into(),
        fix: "return the new resource's id from Create; the engine rejects an empty id and loses track of the resource".into(),
        sdk_fix: Some(
            "return `Created::new(id, outputs)` from `Resource::create` with the real resource's id, never \"\"".into(),
        ),
    }
}

/// Check failures as text.
pub fn failures_text(failures: &[(String, String)]) -> String {
    if failures.is_empty() {
        return "no failures".into();
    }
    failures
        .iter()
        .map(|(p, r)| format!("`{p}`: {r}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A value as plain JSON (secrets unwrapped; unknowns as null). For config variables only.
fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null | Value::Unknown(_) => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => serde_json::Number::from_f64(*n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::String(s) => s.clone().into(),
        Value::Array(items) => items.iter().map(to_json).collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Value::Secret(inner)
        | Value::Output {
            value: Some(inner), ..
        } => to_json(inner),
        Value::Output { value: None, .. } | Value::Special { .. } => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_paths_match_their_roots() {
        assert!(
            names_property("tags.env", "tags")
                && names_property("tags[0]", "tags")
                && names_property("x", "x")
        );
        assert!(!names_property("tagsx", "tags"));
    }
}
