//! Wire requests to typed requests and typed answers to wire responses.

use super::error::MonitorError;
use super::registry::Registry;
use super::request::*;
use super::urn;
use crate::value::{self, PropertyMap};
use pulumirpc::alias::{Alias as AliasKind, spec::Parent};
use pulumirpc::{Alias, RegisterResourceRequest};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::time::Duration;

/// The signature of a resource reference (`{"4dabf…": "5cf8…", "urn": …, "id": …}`).
pub const RESOURCE_REF_SIG: &str = "5cf8f73096256a8f31e491e813e4eb8e";

/// Which stack and project URNs are built for.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The stack name.
    pub stack: String,
    /// The project name.
    pub project: String,
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Converts a `RegisterResourceRequest`, assigning and claiming its URN.
pub fn registration(
    scope: &Scope,
    registry: &Registry,
    req: RegisterResourceRequest,
) -> Result<Registration, MonitorError> {
    if req.r#type.is_empty() || req.name.is_empty() {
        return Err(MonitorError::InvalidField {
            urn: format!("(type `{}`, name `{}`)", req.r#type, req.name),
            field: if req.r#type.is_empty() {
                "type"
            } else {
                "name"
            },
            message: "must not be empty".into(),
        });
    }
    let parent = non_empty(req.parent);
    let urn = urn::new(
        &scope.stack,
        &scope.project,
        parent.as_deref(),
        &req.r#type,
        &req.name,
    );
    if let Some(p) = &parent {
        registry.check_parent(&urn, p)?;
    }
    let provider = non_empty(req.provider)
        .map(|r| registry.provider(&urn, &r))
        .transpose()?;
    let mut providers = BTreeMap::new();
    for (package, reference) in req.providers {
        providers.insert(package, registry.provider(&urn, &reference)?);
    }
    let custom_timeouts = match req.custom_timeouts {
        None => CustomTimeouts::default(),
        Some(t) => CustomTimeouts {
            create: timeout(&urn, &t.create)?,
            update: timeout(&urn, &t.update)?,
            delete: timeout(&urn, &t.delete)?,
        },
    };
    let mut aliases = req.alias_ur_ns;
    for alias in req.aliases {
        aliases.push(alias_urn(
            scope,
            &urn,
            &req.r#type,
            &req.name,
            parent.as_deref(),
            alias,
        )?);
    }
    if let Some(p) = &parent {
        inherit_parent_aliases(registry, p, &req.r#type, &req.name, &mut aliases);
    }
    let options = ResourceOptions {
        protect: req.protect,
        dependencies: req.dependencies,
        property_dependencies: req
            .property_dependencies
            .into_iter()
            .map(|(k, v)| (k, v.urns))
            .collect(),
        provider,
        providers,
        delete_before_replace: (req.delete_before_replace_defined || req.delete_before_replace)
            .then_some(req.delete_before_replace),
        ignore_changes: req.ignore_changes,
        replace_on_changes: req.replace_on_changes,
        retain_on_delete: req.retain_on_delete,
        custom_timeouts,
        additional_secret_outputs: req.additional_secret_outputs,
        aliases,
        import_id: non_empty(req.import_id),
        version: non_empty(req.version),
        plugin_download_url: non_empty(req.plugin_download_url),
        deleted_with: non_empty(req.deleted_with),
        hooks: super::hooks::bindings_of(req.hooks),
    };
    // Claimed last, so a request refused above can be corrected and sent again.
    registry.claim(
        &urn,
        &req.r#type,
        &options.aliases,
        req.remote && !req.custom,
    )?;
    if req.remote && !req.custom {
        let package = super::urn::package_of(&req.r#type);
        if let Some(p) = options
            .provider
            .clone()
            .or_else(|| options.providers.get(package).cloned())
        {
            registry.note_provider(&urn, p);
        }
    }
    Ok(Registration {
        urn,
        type_token: req.r#type,
        name: req.name,
        parent,
        custom: req.custom,
        remote: req.remote,
        inputs: req.object.map(value::into_map).unwrap_or_default(),
        options,
    })
}

/// Converts a `ReadResourceRequest`, assigning and claiming its URN.
pub fn read(
    scope: &Scope,
    registry: &Registry,
    req: pulumirpc::ReadResourceRequest,
) -> Result<ReadRequest, MonitorError> {
    let parent = non_empty(req.parent);
    let urn = urn::new(
        &scope.stack,
        &scope.project,
        parent.as_deref(),
        &req.r#type,
        &req.name,
    );
    if let Some(p) = &parent {
        registry.check_parent(&urn, p)?;
    }
    if req.id.is_empty() {
        return Err(MonitorError::InvalidField {
            urn,
            field: "id",
            message: "a read (`get`) needs the id of the resource to read".into(),
        });
    }
    let provider = non_empty(req.provider)
        .map(|r| registry.provider(&urn, &r))
        .transpose()?;
    registry.claim(&urn, &req.r#type, &[], false)?;
    Ok(ReadRequest {
        urn,
        type_token: req.r#type,
        name: req.name,
        id: req.id,
        parent,
        properties: req
            .properties
            .as_ref()
            .map(value::from_struct)
            .unwrap_or_default(),
        dependencies: req.dependencies,
        provider,
        version: non_empty(req.version),
        additional_secret_outputs: req.additional_secret_outputs,
    })
}

/// Converts a `ResourceInvokeRequest`.
pub fn invoke(
    registry: &Registry,
    req: pulumirpc::ResourceInvokeRequest,
) -> Result<InvokeRequest, MonitorError> {
    let provider = non_empty(req.provider)
        .map(|r| registry.provider(&req.tok, &r))
        .transpose()?;
    Ok(InvokeRequest {
        args: req
            .args
            .as_ref()
            .map(value::from_struct)
            .unwrap_or_default(),
        token: req.tok,
        provider,
        version: non_empty(req.version),
        dependencies: req.depends_on,
    })
}

/// Converts a `ResourceCallRequest`: the provider is the one named, else the one that
/// constructed the component its `__self__` argument refers to.
pub fn call(
    registry: &Registry,
    req: pulumirpc::ResourceCallRequest,
) -> Result<CallRequest, MonitorError> {
    let args = req
        .args
        .as_ref()
        .map(value::from_struct)
        .unwrap_or_default();
    let provider = match non_empty(req.provider) {
        Some(r) => Some(registry.provider(&req.tok, &r)?),
        None => args
            .get("__self__")
            .and_then(self_urn)
            .and_then(|urn| registry.provider_of(&urn)),
    };
    Ok(CallRequest {
        args,
        arg_dependencies: req
            .arg_dependencies
            .into_iter()
            .map(|(k, v)| (k, v.urns))
            .collect(),
        token: req.tok,
        provider,
        version: non_empty(req.version),
    })
}

/// The URN of the resource a `__self__` argument refers to: a resource reference, or an output
/// value or a secret around one, or the URN itself.
fn self_urn(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => urn::parse(s).map(|_| s.clone()),
        Json::Object(m) => {
            if let Some(Json::String(u)) = m.get("urn") {
                return Some(u.clone());
            }
            m.get("value").and_then(self_urn)
        }
        _ => None,
    }
}

/// Adds the aliases a child has because its parent has some, as Pulumi's engine multiplies
/// them out: under each earlier URN of the parent, the child with its own type and name and
/// with the type and name of each of its own aliases; a name that starts with the parent's name
/// is renamed along with it (so that renaming a component does not replace its children). The
/// parent's aliases include those it inherited, so renames and retypes at several levels at
/// once are matched.
fn inherit_parent_aliases(
    registry: &Registry,
    parent: &str,
    ty: &str,
    name: &str,
    aliases: &mut Vec<String>,
) {
    let Some(parent_name) = urn::parse(parent).map(|p| p.name.to_string()) else {
        return;
    };
    // The child's own (type, name) pairs: its current ones, then those of its own aliases.
    let mut own: Vec<(String, String)> = vec![(ty.to_string(), name.to_string())];
    for a in aliases.iter() {
        if let Some(parts) = urn::parse(a) {
            let pair = (parts.own_type().to_string(), parts.name.to_string());
            if !own.contains(&pair) {
                own.push(pair);
            }
        }
    }
    for parent_alias in registry.aliases_of(parent) {
        let Some(alias_parts) = urn::parse(&parent_alias) else {
            continue;
        };
        for (own_ty, own_name) in &own {
            let alias_name = match own_name.strip_prefix(parent_name.as_str()) {
                Some(rest) => format!("{}{rest}", alias_parts.name),
                None => own_name.clone(),
            };
            let inherited = urn::new(
                alias_parts.stack,
                alias_parts.project,
                Some(&parent_alias),
                own_ty,
                &alias_name,
            );
            if !aliases.contains(&inherited) {
                aliases.push(inherited);
            }
        }
    }
}

/// The URN an alias stands for: the parts the alias leaves out are the resource's own.
fn alias_urn(
    scope: &Scope,
    urn: &str,
    ty: &str,
    name: &str,
    parent: Option<&str>,
    alias: Alias,
) -> Result<String, MonitorError> {
    match alias.alias {
        Some(AliasKind::Urn(u)) => {
            if urn::parse(&u).is_none() {
                return Err(MonitorError::InvalidField {
                    urn: urn.to_string(),
                    field: "aliases",
                    message: format!("`{u}` is not a URN"),
                });
            }
            Ok(u)
        }
        Some(AliasKind::Spec(spec)) => {
            let parent = match spec.parent {
                Some(Parent::ParentUrn(p)) if !p.is_empty() => Some(p),
                Some(Parent::NoParent(true)) => None,
                _ => parent.map(str::to_string),
            };
            let pick = |s: &str, own: &str| if s.is_empty() { own } else { s }.to_string();
            Ok(urn::new(
                &pick(&spec.stack, &scope.stack),
                &pick(&spec.project, &scope.project),
                parent.as_deref(),
                &pick(&spec.r#type, ty),
                &pick(&spec.name, name),
            ))
        }
        None => Err(MonitorError::InvalidField {
            urn: urn.to_string(),
            field: "aliases",
            message: "an alias must give a URN or a spec".into(),
        }),
    }
}

fn timeout(urn: &str, text: &str) -> Result<Option<Duration>, MonitorError> {
    if text.is_empty() {
        return Ok(None);
    }
    // One duration syntax for YAML programs and SDK requests alike.
    crate::duration::parse(text)
        .map(Some)
        .ok_or_else(|| MonitorError::InvalidField {
            urn: urn.to_string(),
            field: "customTimeouts",
            message: format!(
                "`{text}` is not a duration; write it like `30s`, `5m` or `1h30m` (units ns, us, ms, s, m, h)"
            ),
        })
}

/// A property map encoded for a program: [`for_program`]'s map, without copying it first when
/// the program accepts secrets and resource references as they are (both SDKs do).
pub fn to_program_struct(
    map: &PropertyMap,
    accept_secrets: bool,
    accept_resources: bool,
) -> pulumirpc::google::Struct {
    if accept_secrets && accept_resources {
        value::to_struct(map)
    } else {
        value::to_struct(&for_program(map, accept_secrets, accept_resources))
    }
}

/// Prepares a property map for a program: without `accept_secrets` secrets are unwrapped, and
/// without `accept_resources` a resource reference becomes its id (custom) or URN (component).
pub fn for_program(map: &PropertyMap, accept_secrets: bool, accept_resources: bool) -> PropertyMap {
    map.iter()
        .map(|(k, v)| (k.clone(), downgrade(v, accept_secrets, accept_resources)))
        .collect()
}

fn downgrade(v: &Json, accept_secrets: bool, accept_resources: bool) -> Json {
    match v {
        Json::Object(m) if !accept_secrets && value::is_secret(v) => downgrade(
            m.get("value").unwrap_or(&Json::Null),
            accept_secrets,
            accept_resources,
        ),
        Json::Object(m)
            if !accept_resources
                && m.get(value::SIG_KEY).and_then(Json::as_str) == Some(RESOURCE_REF_SIG) =>
        {
            match m.get("id") {
                Some(Json::String(id)) if !id.is_empty() => Json::String(id.clone()),
                _ => m.get("urn").cloned().unwrap_or(Json::Null),
            }
        }
        Json::Array(a) => Json::Array(
            a.iter()
                .map(|x| downgrade(x, accept_secrets, accept_resources))
                .collect(),
        ),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), downgrade(x, accept_secrets, accept_resources)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_and_references_downgraded_only_when_not_accepted() {
        let reference = json!({value::SIG_KEY: RESOURCE_REF_SIG, "urn": "urn:pulumi:s::p::a:b:C::n", "id": "i-1"});
        let m = json!({"s": value::secret(json!("pw")), "r": reference, "l": [value::secret(json!(1))]});
        let m = m.as_object().unwrap().clone();
        assert_eq!(for_program(&m, true, true), m);
        let plain = for_program(&m, false, false);
        assert_eq!(
            Json::Object(plain),
            json!({"s": "pw", "r": "i-1", "l": [1]})
        );
    }
}
