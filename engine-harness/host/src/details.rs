//! The typed details a provider packs into a failed call's status
//! (`grpc-status-details-bin`), decoded.

use prost::Message;
use pulumirpc::google::Any;
use pulumirpc::{ConfigureErrorMissingKeys, ErrorResourceInitFailed};
use tonic::Status;

/// Every detail of `status`; empty when there are none or they do not
/// decode as a `google.rpc.Status`.
pub fn all(status: &Status) -> Vec<Any> {
    if status.details().is_empty() {
        return Vec::new();
    }
    pulumirpc::google::RpcStatus::decode(status.details())
        .map(|rpc| rpc.details)
        .unwrap_or_default()
}

/// The first detail of message type `T` (matched on the type URL's last segment).
pub fn find<T: Message + Default>(status: &Status, full_name: &str) -> Option<T> {
    all(status)
        .into_iter()
        .find(|a| a.type_url.rsplit('/').next() == Some(full_name))
        .and_then(|a| T::decode(a.value.as_slice()).ok())
}

/// The `ErrorResourceInitFailed` detail: the resource was created but did not initialize.
pub fn resource_init_failed(status: &Status) -> Option<ErrorResourceInitFailed> {
    find(status, "pulumirpc.ErrorResourceInitFailed")
}

/// One problem a provider reported with its inputs: the property (a path such as `a.b[0]`;
/// `None` when the problem is not about one property) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyProblem {
    /// The property path, as the provider wrote it.
    pub property: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

/// `pulumirpc.InputPropertiesError` (a component provider's per-property failure) and
/// `google.rpc.BadRequest` share this shape: a list of (path, reason) pairs in fields 1 and 2.
#[derive(Clone, PartialEq, prost::Message)]
struct PropertyErrors {
    #[prost(message, repeated, tag = "1")]
    errors: Vec<PropertyError>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PropertyError {
    #[prost(string, tag = "1")]
    path: String,
    #[prost(string, tag = "2")]
    reason: String,
}

/// Every per-property problem the details of `status` carry, in order: Pulumi's
/// `InputPropertiesError` (also under its older name `InvalidInputPropertiesError`), the
/// field violations of a `google.rpc.BadRequest`, and the reasons of an
/// `ErrorResourceInitFailed`.
pub fn property_problems(status: &Status) -> Vec<PropertyProblem> {
    let mut out = Vec::new();
    for any in all(status) {
        let name = any.type_url.rsplit('/').next().unwrap_or_default();
        match name {
            "pulumirpc.InputPropertiesError"
            | "pulumirpc.InvalidInputPropertiesError"
            | "google.rpc.BadRequest" => {
                if let Ok(e) = PropertyErrors::decode(any.value.as_slice()) {
                    out.extend(e.errors.into_iter().map(|e| PropertyProblem {
                        property: (!e.path.is_empty()).then_some(e.path),
                        reason: e.reason,
                    }));
                }
            }
            "pulumirpc.ErrorResourceInitFailed" => {
                if let Ok(e) = ErrorResourceInitFailed::decode(any.value.as_slice()) {
                    out.extend(e.reasons.into_iter().map(|reason| PropertyProblem {
                        property: None,
                        reason,
                    }));
                }
            }
            _ => {}
        }
    }
    out
}

/// The message of a failed call with every problem its details carry, one line each
/// (`property a.b: reason`), as Pulumi shows a component provider's failure.
pub fn message_with_problems(status: &Status) -> String {
    let problems = property_problems(status);
    let mut message = status.message().to_string();
    for p in problems {
        if message.contains(&p.reason) && p.property.is_none() {
            continue;
        }
        let line = match &p.property {
            Some(path) => format!("property {path} has a problem: {}", p.reason),
            None => p.reason.clone(),
        };
        if message.is_empty() {
            message = line;
        } else {
            message.push_str("\n  - ");
            message.push_str(&line);
        }
    }
    message
}

/// The `ConfigureErrorMissingKeys` detail of a failed `Configure`.
pub fn missing_keys(status: &Status) -> Option<ConfigureErrorMissingKeys> {
    find(status, "pulumirpc.ConfigureErrorMissingKeys")
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Name;

    #[test]
    fn an_init_failure_round_trips() {
        let detail = ErrorResourceInitFailed {
            id: "id-1".into(),
            reasons: vec!["not ready".into()],
            ..Default::default()
        };
        let rpc = pulumirpc::google::RpcStatus {
            code: 2,
            message: "init".into(),
            details: vec![pulumirpc::google::Any {
                type_url: ErrorResourceInitFailed::type_url(),
                value: detail.encode_to_vec(),
            }],
        };
        let status = Status::with_details(tonic::Code::Unknown, "init", rpc.encode_to_vec().into());
        let found = resource_init_failed(&status).expect("the detail decodes");
        assert_eq!(found.id, "id-1");
        assert!(missing_keys(&status).is_none());
        assert!(resource_init_failed(&Status::unknown("plain")).is_none());
    }

    #[test]
    fn per_property_problems_are_read_from_every_kind_of_detail() {
        let errors = PropertyErrors {
            errors: vec![PropertyError {
                path: "site.index".into(),
                reason: "must end in .html".into(),
            }],
        };
        let rpc = pulumirpc::google::RpcStatus {
            code: 3,
            message: "bad inputs".into(),
            details: vec![
                pulumirpc::google::Any {
                    type_url: "type.googleapis.com/pulumirpc.InputPropertiesError".into(),
                    value: errors.encode_to_vec(),
                },
                pulumirpc::google::Any {
                    type_url: "type.googleapis.com/google.rpc.BadRequest".into(),
                    value: errors.encode_to_vec(),
                },
            ],
        };
        let status = Status::with_details(
            tonic::Code::InvalidArgument,
            "bad inputs",
            rpc.encode_to_vec().into(),
        );
        let problems = property_problems(&status);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].property.as_deref(), Some("site.index"));
        assert_eq!(
            message_with_problems(&status),
            "bad inputs\n  - property site.index has a problem: must end in .html\n  - property site.index has a problem: must end in .html"
        );
        assert_eq!(message_with_problems(&Status::unknown("plain")), "plain");
    }
}
