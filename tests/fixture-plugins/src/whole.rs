//! The raw provider's configuration and function, like the example provider's: `local:root`
//! must be an existing directory, and `local:index:hash` returns the SHA-256 of `content`.
//! Each has a deliberate [`Bug`] of its own.

use std::collections::BTreeMap;

use prost_types::value::Kind;
use prost_types::{Struct, Value};
use sha2::Digest;
use tonic::Status;

use crate::raw::Bug;

/// The one function: `local:index:hash`.
pub const HASH: &str = "local:index:hash";

fn failure(property: &str, reason: String) -> pulumirpc::CheckFailure {
    pulumirpc::CheckFailure {
        property: property.into(),
        reason,
    }
}

/// What is wrong with a configuration (empty with [`Bug::ConfigAcceptsAnything`]).
pub fn config_failures(config: &BTreeMap<String, Value>, bug: Bug) -> Vec<pulumirpc::CheckFailure> {
    if bug == Bug::ConfigAcceptsAnything {
        return Vec::new();
    }
    let mut failures = Vec::new();
    for (key, v) in config {
        match (key.as_str(), &v.kind) {
            ("root", Some(Kind::StringValue(dir))) if std::path::Path::new(dir).is_dir() => {}
            ("root", Some(Kind::StringValue(dir))) => failures.push(failure(
                "root",
                format!("{dir} is not an existing directory"),
            )),
            ("root", _) => failures.push(failure("root", "must be a string".into())),
            (other, _) => failures.push(failure(other, format!("unknown key `{other}`"))),
        }
    }
    failures
}

/// Configure's answer to `args`: an error naming each bad key.
pub fn configure(args: &BTreeMap<String, Value>, bug: Bug) -> Result<(), Status> {
    let failures = config_failures(args, bug);
    if failures.is_empty() {
        return Ok(());
    }
    let text: Vec<String> = failures
        .iter()
        .map(|f| format!("`{}`: {}", f.property, f.reason))
        .collect();
    Err(Status::invalid_argument(format!(
        "invalid provider configuration: {}",
        text.join("; ")
    )))
}

/// Invoke of `token` with `args`.
pub fn invoke(
    token: &str,
    args: &BTreeMap<String, Value>,
    bug: Bug,
) -> Result<pulumirpc::InvokeResponse, Status> {
    if token != HASH {
        return Err(Status::invalid_argument(format!(
            "unknown function `{token}`; this provider offers {HASH}"
        )));
    }
    let content = match args.get("content").map(|v| &v.kind) {
        Some(Some(Kind::StringValue(s))) => s.clone(),
        _ => {
            return Ok(pulumirpc::InvokeResponse {
                r#return: None,
                failures: vec![failure("content", "`content` must be a string".into())],
            });
        }
    };
    let hashed = if bug == Bug::WrongFunctionResult {
        format!("{content}\n")
    } else {
        content
    };
    let sha256 = hex::encode(sha2::Sha256::digest(hashed.as_bytes()));
    let fields = BTreeMap::from([(
        "sha256".to_string(),
        Value {
            kind: Some(Kind::StringValue(sha256)),
        },
    )]);
    Ok(pulumirpc::InvokeResponse {
        r#return: Some(Struct { fields }),
        failures: Vec::new(),
    })
}
