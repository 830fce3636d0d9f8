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
}
