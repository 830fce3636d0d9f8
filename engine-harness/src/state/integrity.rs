//! State integrity, as Pulumi's `Snapshot.VerifyIntegrity` checks it (pkg/resource/deploy), and
//! reading deployments of versions 1 and 2 as Pulumi migrates them to version 3
//! (pkg/resource/stack/migrate).
//!
//! Checked on every load and on `stack import`: each URN well formed
//! (`urn:pulumi:<stack>::<project>::<type>::<name>`), a type, an id on each custom resource and
//! none on a component, at most one live resource per URN (old copies marked `delete` may
//! share it). `stack import` also requires the references to resolve, as Pulumi does: each
//! provider reference names a provider resource in the deployment, each parent and dependency
//! a resource in it, and each URN this stack. On load a dangling parent or dependency is
//! tolerated, since a `refresh` that finds a resource gone removes it without touching the
//! resources that named it.

use super::Resource;
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};

/// Whether the references (providers, parents, dependencies) must resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strictness {
    /// A state this engine wrote: well-formed entries, unique live URNs.
    Load,
    /// A deployment given to `stack import`: also every reference resolved, every URN of the
    /// target stack (`verify`'s `stack`).
    Import,
}

/// A URN's parts: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`. `None` unless the
/// prefix is there and the name delimiter `::` occurs at least three times (Pulumi's rule).
pub fn parse_urn(urn: &str) -> Option<(&str, &str, &str, &str)> {
    let rest = urn.strip_prefix("urn:pulumi:")?;
    let mut parts = rest.splitn(4, "::");
    let stack = parts.next()?;
    let project = parts.next()?;
    let ty = parts.next()?;
    let name = parts.next()?;
    Some((stack, project, ty, name))
}

/// Checks `resources` (in file order); the first problem found, as a sentence naming the
/// resource by index and URN.
pub(super) fn verify(
    resources: &[Resource],
    strict: Strictness,
    stack: &str,
) -> Result<(), String> {
    let mut live: HashMap<&str, usize> = HashMap::new();
    let all: HashSet<&str> = resources.iter().map(|r| r.urn.as_str()).collect();
    let providers: HashSet<String> = resources
        .iter()
        .filter(|r| r.type_token.starts_with("pulumi:providers:"))
        .map(|r| format!("{}::{}", r.urn, r.id))
        .collect();
    for (i, r) in resources.iter().enumerate() {
        let urn = r.urn.as_str();
        if urn.is_empty() {
            return Err(format!("resource {i} has no `urn`"));
        }
        let Some((urn_stack, _, _, _)) = parse_urn(urn) else {
            return Err(format!(
                "resource {i}: `{urn}` is not a well-formed URN (urn:pulumi:<stack>::<project>::<type>::<name>)"
            ));
        };
        if r.type_token.is_empty() {
            return Err(format!("resource {i} ({urn}) has no `type`"));
        }
        if r.custom && r.id.is_empty() {
            return Err(format!(
                "custom resource {i} ({urn}) has no `id`: a provider's resource is known by its id"
            ));
        }
        if !r.custom && !r.id.is_empty() {
            return Err(format!(
                "resource {i} ({urn}) is not custom but has an `id` ({})",
                r.id
            ));
        }
        if !r.delete
            && let Some(first) = live.insert(urn, i)
        {
            return Err(format!(
                "resources {first} and {i} are both the live resource {urn}: a URN names one resource (only old copies marked `delete: true` may share it)"
            ));
        }
        if strict == Strictness::Import {
            if urn_stack != stack {
                return Err(format!(
                    "resource {i} ({urn}) belongs to stack `{urn_stack}`, not `{stack}`"
                ));
            }
            if !r.provider.is_empty() && !providers.contains(&r.provider) {
                return Err(format!(
                    "resource {i} ({urn}) refers to provider {}, which is not in the deployment",
                    r.provider
                ));
            }
            if !r.parent.is_empty() && !all.contains(r.parent.as_str()) {
                return Err(format!(
                    "resource {i} ({urn}) has parent {}, which is not in the deployment",
                    r.parent
                ));
            }
            let deps = r
                .dependencies
                .iter()
                .chain(r.property_dependencies.values().flatten());
            for d in deps {
                if !all.contains(d.as_str()) {
                    return Err(format!(
                        "resource {i} ({urn}) depends on {d}, which is not in the deployment"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Brings a deployment of version 1 or 2 (`{"version": N, "deployment": …}`'s `deployment`) to
/// version 3 as Pulumi does: a version 1 resource's `defaults` are dropped, each resource's
/// `propertyDependencies` become, for every input, all of its `dependencies`, and fields that
/// are `null` are dropped. Version 3 passes through with its `null`s dropped.
pub(super) fn migrate(version: u64, deployment: Json) -> Result<Json, String> {
    if !(1..=3).contains(&version) {
        return Err(format!(
            "deployment version {version} is not supported (versions 1 to 3 are read)"
        ));
    }
    let mut d = deployment;
    let Some(obj) = d.as_object_mut() else {
        return Err("`deployment` is not an object".into());
    };
    let upgrade = |r: &mut Json| {
        let Some(m) = r.as_object_mut() else { return };
        m.retain(|_, v| !v.is_null());
        if version >= 3 {
            return;
        }
        m.remove("defaults");
        let deps = m
            .get("dependencies")
            .cloned()
            .unwrap_or(Json::Array(vec![]));
        let inputs: Vec<String> = m
            .get("inputs")
            .and_then(Json::as_object)
            .map(|i| i.keys().cloned().collect())
            .unwrap_or_default();
        if !inputs.is_empty() && !m.contains_key("propertyDependencies") {
            let pd: serde_json::Map<String, Json> =
                inputs.into_iter().map(|k| (k, deps.clone())).collect();
            m.insert("propertyDependencies".into(), Json::Object(pd));
        }
    };
    if let Some(Json::Array(rs)) = obj.get_mut("resources") {
        rs.iter_mut().for_each(upgrade);
    }
    if let Some(Json::Array(ops)) = obj.get_mut("pending_operations") {
        for op in ops {
            if let Some(r) = op.get_mut("resource") {
                upgrade(r);
            }
        }
    }
    obj.retain(|_, v| !v.is_null());
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::{Strictness, migrate, parse_urn, verify};
    use crate::state::Resource;
    use serde_json::json;

    fn res(urn: &str, custom: bool, id: &str) -> Resource {
        Resource {
            urn: urn.into(),
            custom,
            id: id.into(),
            type_token: "local:index:Random".into(),
            ..Default::default()
        }
    }

    #[test]
    fn urns_parse_as_pulumi_splits_them() {
        assert_eq!(
            parse_urn("urn:pulumi:dev::p::a:b:C$d:e:F::n::x"),
            Some(("dev", "p", "a:b:C$d:e:F", "n::x"))
        );
        assert_eq!(parse_urn("urn:pulumi:dev::p::t"), None);
        assert_eq!(parse_urn("dev::p::t::n"), None);
    }

    #[test]
    fn duplicates_missing_ids_and_dangling_references_are_named() {
        let a = "urn:pulumi:dev::p::local:index:Random::a";
        let ok = vec![res(a, true, "1")];
        assert!(verify(&ok, Strictness::Load, "dev").is_ok());
        let dup = vec![res(a, true, "1"), res(a, true, "2")];
        let e = verify(&dup, Strictness::Load, "dev").unwrap_err();
        assert!(e.contains("resources 0 and 1") && e.contains(a), "{e}");
        let mut old = res(a, true, "0");
        old.delete = true;
        assert!(verify(&[old, res(a, true, "1")], Strictness::Load, "dev").is_ok());
        let e = verify(&[res(a, true, "")], Strictness::Load, "dev").unwrap_err();
        assert!(e.contains("no `id`"), "{e}");
        let e = verify(&[res("a", true, "1")], Strictness::Load, "dev").unwrap_err();
        assert!(e.contains("not a well-formed URN"), "{e}");
        let mut child = res(a, true, "1");
        child.dependencies = vec!["urn:pulumi:dev::p::local:index:Random::gone".into()];
        assert!(verify(std::slice::from_ref(&child), Strictness::Load, "dev").is_ok());
        let e = verify(&[child], Strictness::Import, "dev").unwrap_err();
        assert!(e.contains("::gone, which is not in the deployment"), "{e}");
        let e = verify(&[res(a, true, "1")], Strictness::Import, "prod").unwrap_err();
        assert!(e.contains("belongs to stack `dev`"), "{e}");
    }

    #[test]
    fn version_two_resources_get_property_dependencies_and_lose_nulls() {
        let d = json!({"manifest": {"time": "t", "magic": "", "version": "v"},
            "resources": [{"urn": "u", "custom": true, "id": "1", "type": "t",
                "inputs": {"x": 1}, "defaults": {"y": 2}, "dependencies": ["d"], "initErrors": null}]});
        let m = migrate(1, d.clone()).unwrap();
        let r = &m["resources"][0];
        assert_eq!(r["propertyDependencies"], json!({"x": ["d"]}));
        assert!(r.get("defaults").is_none() && r.get("initErrors").is_none());
        assert!(migrate(4, d).unwrap_err().contains("version 4"));
    }
}
