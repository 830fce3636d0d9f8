//! `google.protobuf.Struct` <-> [`PropertyMap`], lossless for every kind of value.
//!
//! Special values are objects whose key [`SIG_KEY`] holds a signature; unknowns are sentinel
//! strings, one per kind. Decoding accepts all of them; encoding emits the sentinel that matches
//! the unknown's kind.

use std::collections::BTreeMap;

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};

use crate::value::{
    Archive, ArchiveSource, Asset, AssetOrArchive, AssetSource, OutputValue, PropertyMap,
    PropertyValue, ResourceReference, UnknownKind,
};

pub use pulumirpc::sentinels::{
    SIG_ARCHIVE, SIG_ASSET, SIG_KEY, SIG_OUTPUT, SIG_RESOURCE_REFERENCE, SIG_SECRET, UNKNOWN_ANY,
    UNKNOWN_ARCHIVE, UNKNOWN_ARRAY, UNKNOWN_ASSET, UNKNOWN_BOOL, UNKNOWN_NUMBER, UNKNOWN_OBJECT,
};

/// A `Struct` that cannot be decoded, with the path of the offending property.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property `{path}`: {problem}")]
pub struct DecodeError {
    /// Path of the property, such as `tags["env"]` or `rules[2].port`.
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
}

fn unknown_from_sentinel(s: &str) -> Option<UnknownKind> {
    Some(match s {
        UNKNOWN_ANY => UnknownKind::Any,
        UNKNOWN_BOOL => UnknownKind::Bool,
        UNKNOWN_NUMBER => UnknownKind::Number,
        UNKNOWN_ARRAY => UnknownKind::Array,
        UNKNOWN_ASSET => UnknownKind::Asset,
        UNKNOWN_ARCHIVE => UnknownKind::Archive,
        UNKNOWN_OBJECT => UnknownKind::Object,
        _ => return None,
    })
}

fn sentinel(kind: UnknownKind) -> &'static str {
    match kind {
        UnknownKind::Any => UNKNOWN_ANY,
        UnknownKind::Bool => UNKNOWN_BOOL,
        UnknownKind::Number => UNKNOWN_NUMBER,
        UnknownKind::Array => UNKNOWN_ARRAY,
        UnknownKind::Asset => UNKNOWN_ASSET,
        UnknownKind::Archive => UNKNOWN_ARCHIVE,
        UnknownKind::Object => UNKNOWN_OBJECT,
    }
}

/// Property paths in Pulumi's syntax: `a.b`, `a[0]`, `a["key with.dot"]`.
pub(crate) fn join_key(parent: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '$')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    match (parent.is_empty(), simple) {
        (true, true) => key.to_string(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{key:?}]"),
    }
}

pub(crate) fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Decodes a `Struct` (absent means empty) into a [`PropertyMap`].
pub fn decode_struct(s: Option<&Struct>) -> Result<PropertyMap, DecodeError> {
    let Some(s) = s else {
        return Ok(PropertyMap::new());
    };
    decode_fields(&s.fields, "")
}

fn decode_fields(fields: &BTreeMap<String, Value>, path: &str) -> Result<PropertyMap, DecodeError> {
    fields
        .iter()
        .map(|(k, v)| Ok((k.clone(), decode_at(v, &join_key(path, k))?)))
        .collect()
}

/// Decodes one `Value`; `path` names it in errors.
pub fn decode_value(v: &Value, path: &str) -> Result<PropertyValue, DecodeError> {
    decode_at(v, path)
}

fn err(path: &str, problem: impl Into<String>) -> DecodeError {
    DecodeError {
        path: if path.is_empty() {
            "<root>".into()
        } else {
            path.to_string()
        },
        problem: problem.into(),
    }
}

fn decode_at(v: &Value, path: &str) -> Result<PropertyValue, DecodeError> {
    Ok(match &v.kind {
        None | Some(Kind::NullValue(_)) => PropertyValue::Null,
        Some(Kind::BoolValue(b)) => PropertyValue::Bool(*b),
        Some(Kind::NumberValue(n)) => PropertyValue::Number(*n),
        Some(Kind::StringValue(s)) => match unknown_from_sentinel(s) {
            Some(kind) => PropertyValue::Unknown(kind),
            None => PropertyValue::String(s.clone()),
        },
        Some(Kind::ListValue(list)) => PropertyValue::Array(
            list.values
                .iter()
                .enumerate()
                .map(|(i, v)| decode_at(v, &join_index(path, i)))
                .collect::<Result<_, _>>()?,
        ),
        Some(Kind::StructValue(s)) => match s.fields.get(SIG_KEY) {
            None => PropertyValue::Object(decode_fields(&s.fields, path)?),
            Some(sig) => decode_special(sig, &s.fields, path)?,
        },
    })
}

fn string_field<'a>(
    fields: &'a BTreeMap<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, DecodeError> {
    match fields.get(key).and_then(|v| v.kind.as_ref()) {
        None | Some(Kind::NullValue(_)) => Ok(None),
        Some(Kind::StringValue(s)) => Ok(Some(s)),
        Some(_) => Err(err(
            path,
            format!("field `{key}` of this special value must be a string"),
        )),
    }
}

fn decode_special(
    sig: &Value,
    fields: &BTreeMap<String, Value>,
    path: &str,
) -> Result<PropertyValue, DecodeError> {
    let Some(Kind::StringValue(sig)) = &sig.kind else {
        return Err(err(
            path,
            "the signature key of a special value must hold a string",
        ));
    };
    match sig.as_str() {
        SIG_SECRET => {
            let inner = fields
                .get("value")
                .ok_or_else(|| err(path, "a secret must carry a `value`"))?;
            Ok(PropertyValue::secret(decode_at(inner, path)?))
        }
        SIG_OUTPUT => {
            let value = fields
                .get("value")
                .map(|v| decode_at(v, path))
                .transpose()?
                .map(Box::new);
            let secret = match fields.get("secret").and_then(|v| v.kind.as_ref()) {
                None => false,
                Some(Kind::BoolValue(b)) => *b,
                Some(_) => {
                    return Err(err(
                        path,
                        "field `secret` of an output value must be a bool",
                    ));
                }
            };
            let dependencies = match fields.get("dependencies").and_then(|v| v.kind.as_ref()) {
                None | Some(Kind::NullValue(_)) => Vec::new(),
                Some(Kind::ListValue(list)) => list
                    .values
                    .iter()
                    .map(|d| match &d.kind {
                        Some(Kind::StringValue(s)) => Ok(s.clone()),
                        _ => Err(err(
                            path,
                            "the dependencies of an output value must be URN strings",
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => {
                    return Err(err(
                        path,
                        "field `dependencies` of an output value must be a list",
                    ));
                }
            };
            Ok(PropertyValue::Output(OutputValue {
                value,
                secret,
                dependencies,
            }))
        }
        SIG_RESOURCE_REFERENCE => {
            let urn = string_field(fields, "urn", path)?
                .ok_or_else(|| err(path, "a resource reference must carry a `urn`"))?
                .to_string();
            let id = fields
                .get("id")
                .map(|v| decode_at(v, path))
                .transpose()?
                .map(Box::new);
            let package_version = string_field(fields, "packageVersion", path)?.map(str::to_string);
            Ok(PropertyValue::ResourceReference(ResourceReference {
                urn,
                id,
                package_version,
            }))
        }
        SIG_ASSET => Ok(PropertyValue::Asset(decode_asset(fields, path)?)),
        SIG_ARCHIVE => Ok(PropertyValue::Archive(decode_archive(fields, path)?)),
        other => Err(err(
            path,
            format!("unknown special-value signature `{other}`"),
        )),
    }
}

fn decode_asset(fields: &BTreeMap<String, Value>, path: &str) -> Result<Asset, DecodeError> {
    let hash = string_field(fields, "hash", path)?.map(str::to_string);
    let source = if let Some(t) = string_field(fields, "text", path)? {
        AssetSource::Text(t.to_string())
    } else if let Some(p) = string_field(fields, "path", path)? {
        AssetSource::Path(p.to_string())
    } else if let Some(u) = string_field(fields, "uri", path)? {
        AssetSource::Uri(u.to_string())
    } else {
        return Err(err(
            path,
            "an asset must carry one of `text`, `path` or `uri`",
        ));
    };
    Ok(Asset { hash, source })
}

fn decode_archive(fields: &BTreeMap<String, Value>, path: &str) -> Result<Archive, DecodeError> {
    let hash = string_field(fields, "hash", path)?.map(str::to_string);
    let source = if let Some(v) = fields.get("assets") {
        let Some(Kind::StructValue(members)) = &v.kind else {
            return Err(err(path, "field `assets` of an archive must be an object"));
        };
        let mut assets = BTreeMap::new();
        for (name, member) in &members.fields {
            let member_path = join_key(path, name);
            let decoded = match decode_at(member, &member_path)? {
                PropertyValue::Asset(a) => AssetOrArchive::Asset(a),
                PropertyValue::Archive(a) => AssetOrArchive::Archive(a),
                other => {
                    return Err(err(
                        &member_path,
                        format!(
                            "an archive member must be an asset or archive, not {}",
                            other.kind_name()
                        ),
                    ));
                }
            };
            assets.insert(name.clone(), decoded);
        }
        ArchiveSource::Assets(assets)
    } else if let Some(p) = string_field(fields, "path", path)? {
        ArchiveSource::Path(p.to_string())
    } else if let Some(u) = string_field(fields, "uri", path)? {
        ArchiveSource::Uri(u.to_string())
    } else {
        return Err(err(
            path,
            "an archive must carry one of `assets`, `path` or `uri`",
        ));
    };
    Ok(Archive { hash, source })
}

fn string(s: impl Into<String>) -> Value {
    Value {
        kind: Some(Kind::StringValue(s.into())),
    }
}

fn object(fields: BTreeMap<String, Value>) -> Value {
    Value {
        kind: Some(Kind::StructValue(Struct { fields })),
    }
}

fn special(sig: &str, mut fields: BTreeMap<String, Value>) -> Value {
    fields.insert(SIG_KEY.to_string(), string(sig));
    object(fields)
}

/// Encodes a [`PropertyMap`] as a `Struct`.
pub fn encode_map(map: &PropertyMap) -> Struct {
    Struct {
        fields: map
            .iter()
            .map(|(k, v)| (k.clone(), encode_value(v)))
            .collect(),
    }
}

/// Encodes one value.
pub fn encode_value(v: &PropertyValue) -> Value {
    match v {
        PropertyValue::Null => Value {
            kind: Some(Kind::NullValue(0)),
        },
        PropertyValue::Bool(b) => Value {
            kind: Some(Kind::BoolValue(*b)),
        },
        PropertyValue::Number(n) => Value {
            kind: Some(Kind::NumberValue(*n)),
        },
        PropertyValue::String(s) => string(s.clone()),
        PropertyValue::Array(items) => Value {
            kind: Some(Kind::ListValue(ListValue {
                values: items.iter().map(encode_value).collect(),
            })),
        },
        PropertyValue::Object(map) => object(
            map.iter()
                .map(|(k, v)| (k.clone(), encode_value(v)))
                .collect(),
        ),
        PropertyValue::Secret(inner) => special(
            SIG_SECRET,
            BTreeMap::from([("value".to_string(), encode_value(inner))]),
        ),
        PropertyValue::Unknown(kind) => string(sentinel(*kind)),
        PropertyValue::Output(o) => {
            let mut fields = BTreeMap::new();
            if let Some(v) = &o.value {
                fields.insert("value".to_string(), encode_value(v));
            }
            if o.secret {
                fields.insert(
                    "secret".to_string(),
                    Value {
                        kind: Some(Kind::BoolValue(true)),
                    },
                );
            }
            if !o.dependencies.is_empty() {
                let deps = o.dependencies.iter().map(|d| string(d.clone())).collect();
                fields.insert(
                    "dependencies".to_string(),
                    Value {
                        kind: Some(Kind::ListValue(ListValue { values: deps })),
                    },
                );
            }
            special(SIG_OUTPUT, fields)
        }
        PropertyValue::Asset(a) => encode_asset(a),
        PropertyValue::Archive(a) => encode_archive(a),
        PropertyValue::ResourceReference(r) => {
            let mut fields = BTreeMap::from([("urn".to_string(), string(r.urn.clone()))]);
            if let Some(id) = &r.id {
                fields.insert("id".to_string(), encode_value(id));
            }
            if let Some(version) = &r.package_version {
                fields.insert("packageVersion".to_string(), string(version.clone()));
            }
            special(SIG_RESOURCE_REFERENCE, fields)
        }
    }
}

fn encode_asset(a: &Asset) -> Value {
    let mut fields = BTreeMap::new();
    if let Some(h) = &a.hash {
        fields.insert("hash".to_string(), string(h.clone()));
    }
    let (key, value) = match &a.source {
        AssetSource::Text(t) => ("text", t),
        AssetSource::Path(p) => ("path", p),
        AssetSource::Uri(u) => ("uri", u),
    };
    fields.insert(key.to_string(), string(value.clone()));
    special(SIG_ASSET, fields)
}

fn encode_archive(a: &Archive) -> Value {
    let mut fields = BTreeMap::new();
    if let Some(h) = &a.hash {
        fields.insert("hash".to_string(), string(h.clone()));
    }
    let (key, value) = match &a.source {
        ArchiveSource::Assets(members) => {
            let encoded = members
                .iter()
                .map(|(name, m)| {
                    let v = match m {
                        AssetOrArchive::Asset(a) => encode_asset(a),
                        AssetOrArchive::Archive(a) => encode_archive(a),
                    };
                    (name.clone(), v)
                })
                .collect();
            ("assets", object(encoded))
        }
        ArchiveSource::Path(p) => ("path", string(p.clone())),
        ArchiveSource::Uri(u) => ("uri", string(u.clone())),
    };
    fields.insert(key.to_string(), value);
    special(SIG_ARCHIVE, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: PropertyValue) {
        let map = PropertyMap::from([("p".to_string(), v)]);
        let decoded = decode_struct(Some(&encode_map(&map))).expect("decodes");
        assert_eq!(decoded, map);
    }

    #[test]
    fn every_kind_round_trips() {
        roundtrip(PropertyValue::Null);
        roundtrip(true.into());
        roundtrip(1.5.into());
        roundtrip("s".into());
        roundtrip(vec![PropertyValue::from(1), "x".into()].into());
        roundtrip(PropertyValue::secret(PropertyValue::Object(
            PropertyMap::from([("k".into(), 1.into())]),
        )));
        for kind in [
            UnknownKind::Any,
            UnknownKind::Bool,
            UnknownKind::Number,
            UnknownKind::Array,
            UnknownKind::Object,
            UnknownKind::Asset,
            UnknownKind::Archive,
        ] {
            roundtrip(PropertyValue::Unknown(kind));
        }
        roundtrip(PropertyValue::Output(OutputValue {
            value: None,
            secret: true,
            dependencies: vec!["urn:a".into()],
        }));
        roundtrip(PropertyValue::Output(OutputValue {
            value: Some(Box::new(3.into())),
            secret: false,
            dependencies: vec![],
        }));
        roundtrip(PropertyValue::Asset(Asset {
            hash: Some("h".into()),
            source: AssetSource::Path("/x".into()),
        }));
        roundtrip(PropertyValue::Archive(Archive {
            hash: None,
            source: ArchiveSource::Assets(BTreeMap::from([(
                "a.txt".into(),
                AssetOrArchive::Asset(Asset {
                    hash: None,
                    source: AssetSource::Text("hi".into()),
                }),
            )])),
        }));
        roundtrip(PropertyValue::ResourceReference(ResourceReference {
            urn: "urn:pulumi:s::p::t::n".into(),
            id: Some(Box::new(PropertyValue::Unknown(UnknownKind::Any))),
            package_version: Some("1.0.0".into()),
        }));
    }

    #[test]
    fn malformed_special_values_name_their_path() {
        let bad_secret = special(SIG_SECRET, BTreeMap::new());
        let s = Struct {
            fields: BTreeMap::from([(
                "tags".to_string(),
                object(BTreeMap::from([("env".to_string(), bad_secret)])),
            )]),
        };
        let e = decode_struct(Some(&s)).unwrap_err();
        assert_eq!(e.path, "tags.env");
        assert!(e.problem.contains("value"), "{e}");

        let odd = special("nope", BTreeMap::new());
        let s = Struct {
            fields: BTreeMap::from([(
                "rules".to_string(),
                Value {
                    kind: Some(Kind::ListValue(ListValue { values: vec![odd] })),
                },
            )]),
        };
        let e = decode_struct(Some(&s)).unwrap_err();
        assert_eq!(e.path, "rules[0]");
    }

    #[test]
    fn paths_quote_keys_that_need_it() {
        assert_eq!(join_key("tags", "env"), "tags.env");
        assert_eq!(join_key("tags", "a.b"), "tags[\"a.b\"]");
        assert_eq!(join_index("rules", 2), "rules[2]");
    }
}
