//! The resource calls (Check, Diff, Create, Update, Delete, Read, Invoke, Cancel) and shutdown.
//!
//! Each gRPC call's future is boxed: tonic's futures are large, and unboxed they would sit
//! inline in every step's future, which is moved (copied) whole when a step is started.

use super::{CallError, Change, DiffResult, Plugin, Recorded, Target};
use crate::value;
use crate::value::PropertyMap;
use plugin_host::details;
use pulumirpc::{
    CheckRequest, CreateRequest, DeleteRequest, DiffRequest, GetSchemaRequest, InvokeRequest,
    ReadRequest, UpdateRequest,
};
use serde_json::Value as Json;
use std::time::Duration;
use tonic::Status;

impl Plugin {
    /// Encodes properties for the wire, removing secret wrappers if the provider does not accept them.
    pub(super) fn send(&self, m: &PropertyMap) -> pulumirpc::google::Struct {
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
    pub(super) fn receive(&self, inputs: &PropertyMap, mut out: PropertyMap) -> PropertyMap {
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

    pub(super) fn call_err(&self, s: Status) -> CallError {
        if let Some(e) = details::resource_init_failed(&s) {
            return CallError::InitFailed {
                id: e.id,
                outputs: value::from_optional_struct(e.properties.as_ref()),
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
        let no_reply = self.no_reply(&s);
        // The SDK's `Error::OutcomeUnknown` says so in its reply: the provider itself cannot
        // tell whether the work was done, so the engine must not say it was not.
        let outcome_unknown = no_reply || s.message().starts_with("outcome unknown:");
        let mut message = format!("{} ({:?})", details::message_with_problems(&s), s.code());
        if no_reply {
            message.push_str(&format!(
                "; the provider gave no answer (it may have crashed). Its stderr:\n{}",
                self.stderr_tail()
            ));
        }
        CallError::Failed {
            message,
            outcome_unknown,
        }
    }

    /// Whether a failed call got no reply from the provider: the connection broke or the
    /// plugin died mid-call, so what it did is unknown. A status the provider sent (whatever its
    /// code: a Python SDK provider that raises answers UNKNOWN) is its answer that the operation
    /// failed, as Pulumi's engine takes it.
    pub(super) fn no_reply(&self, s: &Status) -> bool {
        // tonic keeps the transport error as the source of a status it made itself; a status
        // decoded from the provider's reply has none. A body cut short is a broken reply too.
        std::error::Error::source(s).is_some()
            || s.message().contains("Unexpected EOF decoding stream")
            || self.process.as_ref().is_some_and(|p| p.exited().is_some())
    }

    /// The autonaming proposal Check carries for `urn`: only to a provider that announced
    /// support, as Pulumi's engine does.
    fn autonaming_for(
        &self,
        urn: &str,
        seed: &[u8],
    ) -> Option<pulumirpc::check_request::AutonamingOptions> {
        let proposal = self.autonaming.as_ref()?.for_resource(urn, seed)?;
        if !self.supports_autonaming {
            if proposal.warn_if_no_support {
                tracing::warn!(
                    "{urn} has a custom autonaming setting but the `{}` provider does not support autonaming configuration",
                    self.package
                );
            }
            return None;
        }
        Some(proposal.options)
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
        let r = Box::pin(self.client.clone().check(CheckRequest {
            urn: urn.into(),
            olds: Some(self.send(olds)),
            news: Some(self.send(news)),
            autonaming: self.autonaming_for(urn, &seed),
            random_seed: seed,
            name: name.into(),
            r#type: ty.into(),
            // Sent only to a provider whose handshake asked for it; this engine's doesn't.
            old_outputs: None,
        }))
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
            .map(value::into_map)
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
        let r = Box::pin(self.client.clone().diff(DiffRequest {
            id: id.into(),
            urn: urn.into(),
            olds: Some(self.send(old_outputs)),
            news: Some(self.send(news)),
            ignore_changes: ignore_changes.to_vec(),
            old_inputs: Some(self.send(old_inputs)),
            name: name.into(),
            r#type: ty.into(),
        }))
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

    pub(super) fn check_known(&self, what: &str, out: &PropertyMap) -> Result<(), CallError> {
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
        let r = Box::pin(self.client.clone().create(CreateRequest {
            urn: urn.into(),
            properties: Some(self.send(inputs)),
            timeout,
            preview,
            name: name.into(),
            r#type: ty.into(),
            resource_status_address: String::new(),
            resource_status_token: String::new(),
        }))
        .await
        .map_err(|s| self.call_err(s))?
        .into_inner();
        let out = self.receive(
            inputs,
            r.properties.map(value::into_map).unwrap_or_default(),
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
        let r = Box::pin(self.client.clone().update(UpdateRequest {
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
        }))
        .await
        .map_err(|s| self.call_err(s))?
        .into_inner();
        let out = self.receive(news, r.properties.map(value::into_map).unwrap_or_default());
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
        Box::pin(self.client.clone().delete(DeleteRequest {
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
        }))
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
        let r = Box::pin(self.client.clone().read(ReadRequest {
            id: id.into(),
            urn: urn.into(),
            properties: Some(self.send(outputs)),
            inputs: Some(self.send(inputs)),
            name: name.into(),
            r#type: ty.into(),
            resource_status_address: String::new(),
            resource_status_token: String::new(),
            old_views: vec![],
            // No custom read timeout: the provider's own default applies.
            timeout: 0.0,
        }))
        .await
        .map_err(|s| self.call_err(s))?
        .into_inner();
        let out = self.receive(
            outputs,
            r.properties.map(value::into_map).unwrap_or_default(),
        );
        let ins = r
            .inputs
            .as_ref()
            .map(value::from_struct)
            .filter(|m| !m.is_empty())
            .map(|m| self.receive(inputs, m));
        Ok((r.id, out, ins))
    }

    /// `Invoke`: calls the provider function `token`; returns its result, or the argument
    /// failures as `(property, reason)` pairs (the result is then empty).
    pub async fn invoke(
        &self,
        token: &str,
        args: &PropertyMap,
    ) -> Result<(PropertyMap, Vec<(String, String)>), CallError> {
        let r = Box::pin(self.client.clone().invoke(InvokeRequest {
            tok: token.into(),
            args: Some(self.send(args)),
            // Meaningful only after a handshake with `invoke_with_preview`, which this
            // engine does not send.
            preview: false,
        }))
        .await
        .map_err(|s| self.call_err(s))?
        .into_inner();
        let failures = r
            .failures
            .into_iter()
            .map(|f| (f.property, f.reason))
            .collect();
        Ok((
            self.receive(args, value::from_optional_struct(r.r#return.as_ref())),
            failures,
        ))
    }

    /// `GetSchema`: the package schema as JSON; `None` when the provider has none (an empty
    /// answer, an error or text that is not JSON).
    pub async fn schema(&self) -> Option<Json> {
        let r = Box::pin(self.client.clone().get_schema(GetSchemaRequest {
            version: 0,
            subpackage_name: String::new(),
            subpackage_version: String::new(),
        }))
        .await
        .ok()?
        .into_inner();
        serde_json::from_str(&r.schema).ok()
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
