//! Requests as the engine builds them, for the serving tests.

use prost_types::Struct;
use pulumirpc as pb;

use super::val::{self, num, string, structure};

/// The example provider's Random resource type.
pub const RANDOM: &str = "local:index:Random";

/// A test URN.
pub fn urn(type_token: &str, name: &str) -> String {
    format!("urn:pulumi:test::serving::{type_token}::{name}")
}

/// A Check request.
pub fn check(type_token: &str, name: &str, news: Struct) -> pb::CheckRequest {
    pb::CheckRequest {
        urn: urn(type_token, name),
        olds: Some(Struct::default()),
        news: Some(news),
        random_seed: vec![7; 32],
        name: name.into(),
        r#type: type_token.into(),
        ..Default::default()
    }
}

/// A Create request.
pub fn create(type_token: &str, name: &str, properties: Struct) -> pb::CreateRequest {
    pb::CreateRequest {
        urn: urn(type_token, name),
        properties: Some(properties),
        name: name.into(),
        r#type: type_token.into(),
        ..Default::default()
    }
}

/// A Diff request for a Random.
pub fn diff(name: &str, id: &str, olds: Struct, news: Struct) -> pb::DiffRequest {
    pb::DiffRequest {
        id: id.into(),
        urn: urn(RANDOM, name),
        old_inputs: Some(olds.clone()),
        olds: Some(olds),
        news: Some(news),
        name: name.into(),
        r#type: RANDOM.into(),
        ..Default::default()
    }
}

/// Random's inputs.
pub fn random_inputs(length: f64, prefix: &str) -> Struct {
    structure([("length", num(length)), ("prefix", string(prefix))])
}

/// Configure as the engine sends it. The example provider needs `local:root`, the directory its
/// resources' relative paths resolve against; Random writes nothing, so the system's temporary
/// directory serves.
pub fn configure_request() -> pb::ConfigureRequest {
    let root = std::env::temp_dir();
    pb::ConfigureRequest {
        args: Some(structure([(
            "root",
            string(root.to_str().expect("a UTF-8 temporary directory")),
        )])),
        accept_secrets: true,
        accept_resources: true,
        ..Default::default()
    }
}

/// The `result` output of a Random resource: (the plain string, whether it was secret).
pub fn result_of(properties: &Struct) -> (String, bool) {
    let value = val::get(properties, "result").expect("outputs carry `result`");
    match val::secret_inner(value) {
        Some(inner) => (
            val::as_str(inner)
                .expect("a secret string result")
                .to_string(),
            true,
        ),
        None => (
            val::as_str(value).expect("a string result").to_string(),
            false,
        ),
    }
}
