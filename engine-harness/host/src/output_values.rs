//! Output values: how Pulumi's engine hands a component provider its inputs (`Construct`,
//! `Call`) and reads what it answers.
//!
//! An output value is `{"4dabf…": "d0e6a8…", "value": v, "secret": true, "dependencies": [urn…]}`
//! with `value` left out when it is unknown. The engine upgrades every secret and every unknown
//! of a component's inputs to one (Pulumi's `UpgradeToOutputValues`), so that an object holding a
//! secret reaches the component as a plain object whose one leaf is secret, and an unknown stays
//! unknown whatever its type; it sends them only to a provider whose `Configure` answered
//! `acceptOutputs`. What a provider answers may hold output values too: they are turned back into
//! secrets and unknowns, their dependencies added to the property's.

use crate::value::{self, OUTPUT_SIG, PropertyMap, SIG_KEY};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};

/// An output value.
pub fn output(value: Option<Json>, secret: bool, dependencies: &[String]) -> Json {
    let mut m = Map::new();
    m.insert(SIG_KEY.into(), Json::String(OUTPUT_SIG.into()));
    if let Some(v) = value {
        m.insert("value".into(), v);
    }
    if secret {
        m.insert("secret".into(), Json::Bool(true));
    }
    if !dependencies.is_empty() {
        m.insert(
            "dependencies".into(),
            Json::Array(dependencies.iter().cloned().map(Json::String).collect()),
        );
    }
    Json::Object(m)
}

/// Is `v` an output value?
pub fn is_output(v: &Json) -> bool {
    matches!(v, Json::Object(m) if m.get(SIG_KEY).and_then(Json::as_str) == Some(OUTPUT_SIG))
}

/// `v` with every secret and every unknown, at any depth, made an output value.
pub fn upgrade(v: &Json) -> Json {
    if value::is_secret(v) {
        let inner = match v {
            Json::Object(m) => m.get("value").cloned().unwrap_or(Json::Null),
            _ => Json::Null,
        };
        let (inner, _) = value::unwrap_secrets(&inner);
        if value::is_unknown(&inner) {
            return output(None, true, &[]);
        }
        return output(Some(upgrade(&inner)), true, &[]);
    }
    if is_output(v) {
        return v.clone();
    }
    if value::is_unknown(v) {
        return output(None, false, &[]);
    }
    match v {
        Json::Array(a) => Json::Array(a.iter().map(upgrade).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), upgrade(x))).collect()),
        other => other.clone(),
    }
}

/// A property map with [`upgrade`] applied to each value.
pub fn upgrade_map(m: &PropertyMap) -> PropertyMap {
    m.iter().map(|(k, v)| (k.clone(), upgrade(v))).collect()
}

/// `v` with every output value turned back into its value (made secret when it was secret,
/// the unknown sentinel when it had none), and the URNs those output values depended on.
pub fn downgrade(v: &Json, deps: &mut BTreeSet<String>) -> Json {
    if is_output(v) {
        let Json::Object(m) = v else { unreachable!() };
        if let Some(Json::Array(d)) = m.get("dependencies") {
            deps.extend(d.iter().filter_map(Json::as_str).map(str::to_string));
        }
        let secret = m.get("secret").and_then(Json::as_bool).unwrap_or(false);
        let inner = match m.get("value") {
            Some(x) => downgrade(x, deps),
            None => value::unknown(),
        };
        return if secret { value::secret(inner) } else { inner };
    }
    match v {
        Json::Array(a) => Json::Array(a.iter().map(|x| downgrade(x, deps)).collect()),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), downgrade(x, deps)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A provider's answer (`Construct`'s state, `Call`'s return) with its output values turned
/// back into values, and each property's dependencies extended with those they carried.
pub fn downgrade_map(
    m: &PropertyMap,
    dependencies: &mut BTreeMap<String, Vec<String>>,
) -> PropertyMap {
    m.iter()
        .map(|(k, v)| {
            let mut found = BTreeSet::new();
            let plain = downgrade(v, &mut found);
            if !found.is_empty() {
                let entry = dependencies.entry(k.clone()).or_default();
                for urn in found {
                    if !entry.contains(&urn) {
                        entry.push(urn);
                    }
                }
            }
            (k.clone(), plain)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_and_unknowns_become_output_values_at_any_depth() {
        let v = json!({"a": "plain", "b": {"c": value::secret(json!("pw"))}, "u": value::UNKNOWN});
        let up = upgrade(&v);
        assert_eq!(up["a"], json!("plain"));
        assert!(!is_output(&up["b"]), "the object itself stays plain");
        assert_eq!(up["b"]["c"], output(Some(json!("pw")), true, &[]));
        assert_eq!(up["u"], output(None, false, &[]));
    }

    #[test]
    fn output_values_come_back_as_secrets_and_unknowns_with_their_dependencies() {
        let urn = "urn:pulumi:s::p::a:b:C::n".to_string();
        let m = json!({
            "s": output(Some(json!(1)), true, std::slice::from_ref(&urn)),
            "u": output(None, false, &[]),
            "n": [output(Some(json!("x")), false, &[])],
        });
        let mut deps = BTreeMap::new();
        let plain = downgrade_map(m.as_object().unwrap(), &mut deps);
        assert_eq!(plain["s"], value::secret(json!(1)));
        assert!(value::is_unknown(&plain["u"]));
        assert_eq!(plain["n"], json!(["x"]));
        assert_eq!(deps.get("s"), Some(&vec![urn]));
        assert!(!deps.contains_key("u"));
    }
}
