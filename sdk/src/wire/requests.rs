//! Operation requests and responses <-> their `pulumirpc` messages, and errors <-> statuses.

use std::sync::atomic::{AtomicBool, Ordering};

use prost::{Message, Name};
use prost_types::Struct;
use pulumirpc as pb;
use tonic::Status;

use super::values::{decode_struct, encode_map};
use crate::error::Error;
use crate::ops::*;
use crate::value::{PropertyMap, PropertyValue};

/// What the engine and the provider agreed on, which shapes every response.
#[derive(Debug)]
pub(crate) struct Negotiated {
    /// Secrets go back wrapped only when the engine accepts them.
    pub accept_secrets: AtomicBool,
    /// Resource references go back as references only when the engine accepts them.
    pub accept_resources: AtomicBool,
}

impl Default for Negotiated {
    fn default() -> Self {
        // Engines that handshake always accept both; older ones say otherwise in Configure.
        Negotiated {
            accept_secrets: AtomicBool::new(true),
            accept_resources: AtomicBool::new(true),
        }
    }
}

impl Negotiated {
    pub fn outputs(&self, map: &PropertyMap) -> Struct {
        let secrets = self.accept_secrets.load(Ordering::Relaxed);
        let resources = self.accept_resources.load(Ordering::Relaxed);
        if secrets && resources {
            return encode_map(map);
        }
        let adapted: PropertyMap = map
            .iter()
            .map(|(k, v)| (k.clone(), downgrade(v, secrets, resources)))
            .collect();
        encode_map(&adapted)
    }
}

fn downgrade(v: &PropertyValue, secrets: bool, resources: bool) -> PropertyValue {
    match v {
        PropertyValue::Secret(inner) if !secrets => downgrade(inner, secrets, resources),
        PropertyValue::Secret(inner) => PropertyValue::secret(downgrade(inner, secrets, resources)),
        PropertyValue::ResourceReference(r) if !resources => match &r.id {
            Some(id) => (**id).clone(),
            None => PropertyValue::String(r.urn.clone()),
        },
        PropertyValue::Array(items) => PropertyValue::Array(
            items
                .iter()
                .map(|i| downgrade(i, secrets, resources))
                .collect(),
        ),
        PropertyValue::Object(map) => PropertyValue::Object(
            map.iter()
                .map(|(k, i)| (k.clone(), downgrade(i, secrets, resources)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn decode(field: &str, s: Option<&Struct>) -> Result<PropertyMap, Status> {
    decode_struct(s)
        .map_err(|e| Status::invalid_argument(format!("malformed request field `{field}`: {e}")))
}

pub(crate) fn check_request(r: pb::CheckRequest) -> Result<CheckRequest, Status> {
    Ok(CheckRequest {
        olds: decode("olds", r.olds.as_ref())?,
        news: decode("news", r.news.as_ref())?,
        urn: r.urn,
        name: r.name,
        type_token: r.r#type,
        random_seed: r.random_seed,
        autonaming: r.autonaming.map(|a| {
            use pb::check_request::autonaming_options::Mode;
            let mode = match Mode::try_from(a.mode) {
                Ok(Mode::Enforce) => AutonamingMode::Enforce,
                Ok(Mode::Disable) => AutonamingMode::Disable,
                // An unknown mode (a newer engine) is taken as the least binding.
                _ => AutonamingMode::Propose,
            };
            Autonaming::new(a.proposed_name, mode)
        }),
    })
}

pub(crate) fn check_response(r: CheckResponse, n: &Negotiated) -> pb::CheckResponse {
    pb::CheckResponse {
        inputs: Some(n.outputs(&r.inputs)),
        failures: failures(r.failures),
    }
}

fn failures(f: Vec<CheckFailure>) -> Vec<pb::CheckFailure> {
    f.into_iter()
        .map(|f| pb::CheckFailure {
            property: f.property,
            reason: f.reason,
        })
        .collect()
}

pub(crate) fn diff_request(r: pb::DiffRequest) -> Result<DiffRequest, Status> {
    Ok(DiffRequest {
        olds: decode("olds", r.olds.as_ref())?,
        old_inputs: decode("old_inputs", r.old_inputs.as_ref())?,
        news: decode("news", r.news.as_ref())?,
        id: r.id,
        urn: r.urn,
        name: r.name,
        type_token: r.r#type,
        ignore_changes: r.ignore_changes,
    })
}

pub(crate) fn diff_response(r: DiffResponse) -> pb::DiffResponse {
    use pb::diff_response::DiffChanges as W;
    use pb::property_diff::Kind as K;
    let changes = match r.changes {
        DiffChanges::Unknown => W::DiffUnknown,
        DiffChanges::None => W::DiffNone,
        DiffChanges::Some => W::DiffSome,
    };
    let has_detailed_diff = !r.detailed_diff.is_empty();
    let detailed_diff = r
        .detailed_diff
        .into_iter()
        .map(|(path, d)| {
            let kind = match d.kind {
                DiffKind::Add => K::Add,
                DiffKind::AddReplace => K::AddReplace,
                DiffKind::Delete => K::Delete,
                DiffKind::DeleteReplace => K::DeleteReplace,
                DiffKind::Update => K::Update,
                DiffKind::UpdateReplace => K::UpdateReplace,
            };
            (
                path,
                pb::PropertyDiff {
                    kind: kind as i32,
                    input_diff: d.input_diff,
                },
            )
        })
        .collect();
    pb::DiffResponse {
        replaces: r.replaces,
        stables: r.stables,
        delete_before_replace: r.delete_before_replace,
        changes: changes as i32,
        diffs: r.diffs,
        detailed_diff,
        // An explicit "no changes" is a complete detailed diff too.
        has_detailed_diff: has_detailed_diff || r.changes == DiffChanges::None,
    }
}

pub(crate) fn create_request(r: pb::CreateRequest) -> Result<CreateRequest, Status> {
    Ok(CreateRequest {
        properties: decode("properties", r.properties.as_ref())?,
        urn: r.urn,
        name: r.name,
        type_token: r.r#type,
        preview: r.preview,
    })
}

pub(crate) fn create_response(r: CreateResponse, n: &Negotiated) -> pb::CreateResponse {
    pb::CreateResponse {
        id: r.id,
        properties: Some(n.outputs(&r.properties)),
        refresh_before_update: false,
    }
}

pub(crate) fn read_request(r: pb::ReadRequest) -> Result<ReadRequest, Status> {
    Ok(ReadRequest {
        properties: decode("properties", r.properties.as_ref())?,
        inputs: decode("inputs", r.inputs.as_ref())?,
        id: r.id,
        urn: r.urn,
        name: r.name,
        type_token: r.r#type,
    })
}

pub(crate) fn read_response(r: ReadResponse, n: &Negotiated) -> pb::ReadResponse {
    pb::ReadResponse {
        id: r.id,
        properties: Some(n.outputs(&r.properties)),
        inputs: Some(n.outputs(&r.inputs)),
        refresh_before_update: false,
    }
}

pub(crate) fn update_request(r: pb::UpdateRequest) -> Result<UpdateRequest, Status> {
    Ok(UpdateRequest {
        olds: decode("olds", r.olds.as_ref())?,
        old_inputs: decode("old_inputs", r.old_inputs.as_ref())?,
        news: decode("news", r.news.as_ref())?,
        id: r.id,
        urn: r.urn,
        name: r.name,
        type_token: r.r#type,
        ignore_changes: r.ignore_changes,
        preview: r.preview,
    })
}

pub(crate) fn update_response(r: UpdateResponse, n: &Negotiated) -> pb::UpdateResponse {
    pb::UpdateResponse {
        properties: Some(n.outputs(&r.properties)),
        refresh_before_update: false,
    }
}

pub(crate) fn delete_request(r: pb::DeleteRequest) -> Result<DeleteRequest, Status> {
    Ok(DeleteRequest {
        properties: decode("properties", r.properties.as_ref())?,
        old_inputs: decode("old_inputs", r.old_inputs.as_ref())?,
        id: r.id,
        urn: r.urn,
        name: r.name,
        type_token: r.r#type,
    })
}

pub(crate) fn configure_request(r: pb::ConfigureRequest) -> Result<ConfigureRequest, Status> {
    let mut args = decode("args", r.args.as_ref())?;
    if r.args.is_none() {
        // Older engines send only `variables`: `<pkg>:config:<key>` -> string (JSON for
        // non-strings).
        for (key, raw) in r.variables {
            let name = key.rsplit(':').next().unwrap_or(&key).to_string();
            let value = match serde_json::from_str::<serde_json::Value>(&raw) {
                Ok(serde_json::Value::String(s)) => PropertyValue::String(s),
                Ok(json) if !json.is_string() && !raw.trim().is_empty() => json_to_value(json),
                _ => PropertyValue::String(raw),
            };
            args.insert(name, value);
        }
    }
    Ok(ConfigureRequest { args, urn: r.urn })
}

fn json_to_value(json: serde_json::Value) -> PropertyValue {
    match json {
        serde_json::Value::Null => PropertyValue::Null,
        serde_json::Value::Bool(b) => PropertyValue::Bool(b),
        serde_json::Value::Number(n) => PropertyValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => PropertyValue::String(s),
        serde_json::Value::Array(a) => {
            PropertyValue::Array(a.into_iter().map(json_to_value).collect())
        }
        serde_json::Value::Object(o) => {
            PropertyValue::Object(o.into_iter().map(|(k, v)| (k, json_to_value(v))).collect())
        }
    }
}

pub(crate) fn invoke_request(r: pb::InvokeRequest) -> Result<InvokeRequest, Status> {
    Ok(InvokeRequest {
        args: decode("args", r.args.as_ref())?,
        token: r.tok,
    })
}

pub(crate) fn invoke_response(r: InvokeResponse, n: &Negotiated) -> pb::InvokeResponse {
    pb::InvokeResponse {
        r#return: Some(n.outputs(&r.result)),
        failures: failures(r.failures),
    }
}

/// The status the engine sees for `error` raised by operation `op`.
pub(crate) fn status_from_error(op: &str, error: Error) -> Status {
    let code = error.code();
    let message = format!("{op}: {error}");
    match error {
        Error::InitFailed(f) => {
            let detail = pb::ErrorResourceInitFailed {
                id: f.id,
                properties: Some(encode_map(&f.properties)),
                reasons: f.reasons,
                inputs: (!f.inputs.is_empty()).then(|| encode_map(&f.inputs)),
                refresh_before_update: false,
            };
            with_detail(code, message, &detail)
        }
        Error::MissingConfig(keys) => {
            let detail = pb::ConfigureErrorMissingKeys {
                missing_keys: keys
                    .into_iter()
                    .map(|k| pb::configure_error_missing_keys::MissingKey {
                        name: k.name,
                        description: k.description,
                    })
                    .collect(),
            };
            with_detail(code, message, &detail)
        }
        Error::InvalidInputs(failures) => {
            let detail = pb::InputPropertiesError {
                errors: failures
                    .into_iter()
                    .map(|f| pb::input_properties_error::PropertyError {
                        property_path: f.property,
                        reason: f.reason,
                    })
                    .collect(),
            };
            with_detail(code, message, &detail)
        }
        _ => Status::new(code, message),
    }
}

fn with_detail<M: Message + Name>(code: tonic::Code, message: String, detail: &M) -> Status {
    let any = prost_types::Any {
        type_url: M::type_url(),
        value: detail.encode_to_vec(),
    };
    let rpc = tonic_types::Status {
        code: code as i32,
        message: message.clone(),
        details: vec![any],
    };
    Status::with_details(code, message, rpc.encode_to_vec().into())
}
