//! Reading typed values out of a [`PropertyMap`], with errors that name the property.
//!
//! Every reader returns `Ok(None)` for an absent or null property, and reports whether the
//! value was secret so that outputs derived from it can stay secret.

use std::collections::BTreeMap;

use provider_sdk::ops::CheckFailure;
use provider_sdk::value::Asset;
use provider_sdk::{PropertyMap, PropertyValue};

/// A value read from a property, and whether it was secret.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Read<T> {
    pub value: T,
    pub secret: bool,
}

/// Why a property could not be read: a check failure in the making.
pub(crate) type Problem = CheckFailure;

fn wrong(key: &str, expected: &str, got: &PropertyValue) -> Problem {
    CheckFailure::new(
        key,
        format!("`{key}` must be {expected}, got a {}", got.kind_name()),
    )
}

/// The value at `key` with its secrecy; absent, null and unknown values (unknowns appear only
/// during preview, and cannot be checked yet) read as `None`.
fn get<'a>(map: &'a PropertyMap, key: &str) -> Option<(&'a PropertyValue, bool)> {
    match map.get(key).map(PropertyValue::unwrap_secret) {
        None | Some((PropertyValue::Null, _)) | Some((PropertyValue::Unknown(_), _)) => None,
        Some(found) => Some(found),
    }
}

/// Whether `key` holds an unknown value (during preview).
pub(crate) fn is_unknown(map: &PropertyMap, key: &str) -> bool {
    map.get(key).is_some_and(PropertyValue::contains_unknowns)
}

/// A string property.
pub(crate) fn string(map: &PropertyMap, key: &str) -> Result<Option<Read<String>>, Problem> {
    match get(map, key) {
        None => Ok(None),
        Some((PropertyValue::String(s), secret)) => Ok(Some(Read {
            value: s.clone(),
            secret,
        })),
        Some((other, _)) => Err(wrong(key, "a string", other)),
    }
}

/// A required string property (an unknown value reads as an empty placeholder).
pub(crate) fn required_string(
    map: &PropertyMap,
    key: &str,
    what: &str,
) -> Result<Read<String>, Problem> {
    if is_unknown(map, key) {
        return Ok(Read {
            value: String::new(),
            secret: false,
        });
    }
    string(map, key)?.ok_or_else(|| CheckFailure::new(key, format!("`{key}` is required: {what}")))
}

/// A boolean property (absent reads as `false`).
pub(crate) fn flag(map: &PropertyMap, key: &str) -> Result<bool, Problem> {
    match get(map, key) {
        None => Ok(false),
        Some((PropertyValue::Bool(b), _)) => Ok(*b),
        Some((other, _)) => Err(wrong(key, "true or false", other)),
    }
}

/// A whole-number property within `min..=max`.
pub(crate) fn whole(
    map: &PropertyMap,
    key: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, Problem> {
    match get(map, key) {
        None => Ok(None),
        Some((PropertyValue::Number(n), _))
            if n.fract() == 0.0 && *n >= min as f64 && *n <= max as f64 =>
        {
            Ok(Some(*n as u64))
        }
        Some((PropertyValue::Number(n), _)) => Err(CheckFailure::new(
            key,
            format!("`{key}` must be a whole number from {min} to {max}, got {n}"),
        )),
        Some((other, _)) => Err(wrong(key, "a number", other)),
    }
}

/// An asset property.
pub(crate) fn asset(map: &PropertyMap, key: &str) -> Result<Option<Read<Asset>>, Problem> {
    match get(map, key) {
        None => Ok(None),
        Some((PropertyValue::Asset(a), secret)) => Ok(Some(Read {
            value: a.clone(),
            secret,
        })),
        Some((other, _)) => Err(wrong(
            key,
            "an asset (fn::fileAsset or fn::stringAsset)",
            other,
        )),
    }
}

/// A map of strings (such as environment variables); secret if any part of it is.
pub(crate) fn string_map(
    map: &PropertyMap,
    key: &str,
) -> Result<Read<BTreeMap<String, String>>, Problem> {
    let Some((value, mut secret)) = get(map, key) else {
        return Ok(Read {
            value: BTreeMap::new(),
            secret: false,
        });
    };
    let PropertyValue::Object(entries) = value else {
        return Err(wrong(key, "a map of strings", value));
    };
    let mut out = BTreeMap::new();
    for (name, v) in entries {
        match v.unwrap_secret() {
            (PropertyValue::String(s), s_secret) => {
                secret |= s_secret;
                out.insert(name.clone(), s.clone());
            }
            (other, _) => {
                return Err(CheckFailure::new(
                    format!("{key}.{name}"),
                    format!(
                        "`{key}.{name}` must be a string, got a {}",
                        other.kind_name()
                    ),
                ));
            }
        }
    }
    Ok(Read { value: out, secret })
}

/// Failures for every property of `map` not in `known`, naming the ones that are.
pub(crate) fn unknown_keys(map: &PropertyMap, resource: &str, known: &[&str]) -> Vec<Problem> {
    map.keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| {
            CheckFailure::new(
                k.clone(),
                format!(
                    "unknown property `{k}`; {resource} takes {}",
                    known.join(", ")
                ),
            )
        })
        .collect()
}

/// `value` as a property, secret when `secret`.
pub(crate) fn maybe_secret(value: impl Into<PropertyValue>, secret: bool) -> PropertyValue {
    let value = value.into();
    if secret {
        PropertyValue::secret(value)
    } else {
        value
    }
}

/// The inputs among `state` (the outputs minus the `computed` keys).
pub(crate) fn inputs_of(state: &PropertyMap, computed: &[&str]) -> PropertyMap {
    state
        .iter()
        .filter(|(k, _)| !computed.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_the_property_and_keep_secrecy() {
        let map = PropertyMap::from([
            ("s".to_string(), PropertyValue::secret("x".into())),
            ("n".to_string(), 2.5.into()),
            (
                "env".to_string(),
                PropertyValue::Object(PropertyMap::from([("A".to_string(), 1.into())])),
            ),
        ]);
        assert_eq!(
            string(&map, "s").unwrap(),
            Some(Read {
                value: "x".into(),
                secret: true
            })
        );
        assert_eq!(string(&map, "missing").unwrap(), None);
        assert!(
            whole(&map, "n", 0, 10)
                .unwrap_err()
                .reason
                .contains("whole number")
        );
        assert_eq!(string_map(&map, "env").unwrap_err().property, "env.A");
        assert!(
            required_string(&map, "path", "where")
                .unwrap_err()
                .reason
                .contains("required")
        );
        assert_eq!(unknown_keys(&map, "X", &["s", "n"]).len(), 1);
    }
}
