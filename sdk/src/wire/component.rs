//! `Construct` and `Call` requests and responses <-> their `pulumirpc` messages.

use std::collections::BTreeMap;

use prost_types::Struct;
use pulumirpc as pb;
use tonic::Status;

use super::requests::Negotiated;
use super::values::decode_struct;
use crate::ops::{
    CallRequest, CallResponse, CheckFailure, ConstructRequest, ConstructResponse, CustomTimeouts,
    DeploymentInfo, ResourceOptions,
};
use crate::value::PropertyMap;

fn decode(field: &str, s: Option<&Struct>) -> Result<PropertyMap, Status> {
    decode_struct(s)
        .map_err(|e| Status::invalid_argument(format!("malformed request field `{field}`: {e}")))
}

/// The URN an alias names: as given, or built from its spec with the component's own name,
/// type, parent, stack and project filling what the spec leaves out (Pulumi's rule).
fn alias_urn(alias: pb::Alias, r: &pb::ConstructRequest) -> Option<String> {
    use pb::alias::{Alias as Kind, spec::Parent};
    let spec = match alias.alias? {
        Kind::Urn(urn) => return Some(urn),
        Kind::Spec(spec) => spec,
    };
    let or = |s: String, d: &str| if s.is_empty() { d.to_string() } else { s };
    let parent = match spec.parent {
        Some(Parent::ParentUrn(urn)) => Some(urn),
        Some(Parent::NoParent(true)) => None,
        Some(Parent::NoParent(false)) | None => Some(r.parent.clone()),
    }
    .filter(|p| !p.is_empty());
    let r#type = or(spec.r#type, &r.r#type);
    // A child's qualified type is its parent's qualified type, `$`, its own; the stack is no
    // parent for this purpose.
    let qualified = match parent.as_deref().and_then(|p| p.split("::").nth(2)) {
        Some(parent_type) if parent_type != "pulumi:pulumi:Stack" => {
            format!("{parent_type}${}", r#type)
        }
        _ => r#type,
    };
    Some(format!(
        "urn:pulumi:{}::{}::{qualified}::{}",
        or(spec.stack, &r.stack),
        or(spec.project, &r.project),
        or(spec.name, &r.name),
    ))
}

pub(crate) fn construct_request(mut r: pb::ConstructRequest) -> Result<ConstructRequest, Status> {
    let aliases = std::mem::take(&mut r.aliases)
        .into_iter()
        .filter_map(|a| alias_urn(a, &r))
        .collect();
    let options = ResourceOptions {
        depends_on: r.dependencies,
        protect: r.protect,
        provider: None,
        providers: r.providers.into_iter().collect(),
        aliases,
        additional_secret_outputs: r.additional_secret_outputs,
        custom_timeouts: r
            .custom_timeouts
            .map(|t| CustomTimeouts::new(t.create, t.update, t.delete)),
        deleted_with: r.deleted_with,
        delete_before_replace: r.delete_before_replace,
        ignore_changes: r.ignore_changes,
        replace_on_changes: r.replace_on_changes,
        retain_on_delete: r.retain_on_delete,
    };
    Ok(ConstructRequest {
        inputs: decode("inputs", r.inputs.as_ref())?,
        input_dependencies: r
            .input_dependencies
            .into_iter()
            .map(|(k, v)| (k, v.urns))
            .collect(),
        type_token: r.r#type,
        name: r.name,
        parent: r.parent,
        options,
        deployment: DeploymentInfo {
            monitor_endpoint: r.monitor_endpoint,
            project: r.project,
            stack: r.stack,
            organization: r.organization,
            dry_run: r.dry_run,
            parallel: r.parallel,
            config: r.config.into_iter().collect(),
            config_secret_keys: r.config_secret_keys,
        },
    })
}

pub(crate) fn construct_response(r: ConstructResponse, n: &Negotiated) -> pb::ConstructResponse {
    pb::ConstructResponse {
        urn: r.urn,
        state: Some(n.outputs(&r.state)),
        state_dependencies: r
            .state_dependencies
            .into_iter()
            .map(|(k, urns)| (k, pb::construct_response::PropertyDependencies { urns }))
            .collect(),
    }
}

pub(crate) fn call_request(r: pb::CallRequest) -> Result<CallRequest, Status> {
    Ok(CallRequest {
        args: decode("args", r.args.as_ref())?,
        arg_dependencies: r
            .arg_dependencies
            .into_iter()
            .map(|(k, v)| (k, v.urns))
            .collect::<BTreeMap<_, _>>(),
        token: r.tok,
        deployment: DeploymentInfo {
            monitor_endpoint: r.monitor_endpoint,
            project: r.project,
            stack: r.stack,
            organization: r.organization,
            dry_run: r.dry_run,
            parallel: r.parallel,
            config: r.config.into_iter().collect(),
            config_secret_keys: r.config_secret_keys,
        },
    })
}

pub(crate) fn call_response(r: CallResponse, n: &Negotiated) -> pb::CallResponse {
    pb::CallResponse {
        r#return: Some(n.outputs(&r.result)),
        return_dependencies: r
            .return_dependencies
            .into_iter()
            .map(|(k, urns)| (k, pb::call_response::ReturnDependencies { urns }))
            .collect(),
        failures: r
            .failures
            .into_iter()
            .map(|f: CheckFailure| pb::CheckFailure {
                property: f.property,
                reason: f.reason,
            })
            .collect(),
    }
}

pub(crate) fn register_request(r: crate::monitor::RegisterRequest) -> pb::RegisterResourceRequest {
    use pb::register_resource_request as rr;
    let o = r.options;
    pb::RegisterResourceRequest {
        r#type: r.type_token,
        name: r.name,
        parent: r.parent,
        custom: r.custom,
        object: Some(super::values::encode_map(&r.inputs)),
        protect: o.protect,
        dependencies: o.depends_on,
        provider: o.provider.unwrap_or_default(),
        property_dependencies: r
            .property_dependencies
            .into_iter()
            .map(|(k, urns)| (k, rr::PropertyDependencies { urns }))
            .collect(),
        delete_before_replace: o.delete_before_replace.unwrap_or(false),
        delete_before_replace_defined: o.delete_before_replace.is_some(),
        ignore_changes: o.ignore_changes,
        accept_secrets: true,
        additional_secret_outputs: o.additional_secret_outputs,
        alias_ur_ns: o.aliases,
        custom_timeouts: o.custom_timeouts.map(|t| rr::CustomTimeouts {
            create: t.create,
            update: t.update,
            delete: t.delete,
            read: String::new(),
        }),
        supports_partial_values: true,
        accept_resources: true,
        providers: o.providers.into_iter().collect(),
        replace_on_changes: o.replace_on_changes,
        retain_on_delete: o.retain_on_delete,
        deleted_with: o.deleted_with,
        ..Default::default()
    }
}
