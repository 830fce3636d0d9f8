//! Property values as they travel on the wire, decoded by the kit itself.
//!
//! The kit does not trust any SDK to decode what a plugin sends: it reads
//! `google.protobuf.Struct` itself, recognising secrets, unknowns, outputs, resource references,
//! assets and archives by their signatures (see Pulumi's `sig.go` and `rpc.go`). When a value is
//! shown in a report, secret payloads are replaced by `[secret]`: the kit never prints a secret.

use std::collections::BTreeMap;
use std::fmt;

use prost_types::value::Kind;
use prost_types::{ListValue, Struct};

use pulumirpc::sentinels as sig;
pub use pulumirpc::sentinels::{
    SIG_ARCHIVE, SIG_ASSET, SIG_KEY, SIG_OUTPUT, SIG_RESOURCE_REFERENCE, SIG_SECRET,
};

/// The unknown sentinels, by kind: any/string, bool, number, array, asset, archive, object.
pub const UNKNOWN_SENTINELS: [(&str, UnknownKind); 7] = [
    (sig::UNKNOWN_ANY, UnknownKind::Any),
    (sig::UNKNOWN_BOOL, UnknownKind::Bool),
    (sig::UNKNOWN_NUMBER, UnknownKind::Number),
    (sig::UNKNOWN_ARRAY, UnknownKind::Array),
    (sig::UNKNOWN_ASSET, UnknownKind::Asset),
    (sig::UNKNOWN_ARCHIVE, UnknownKind::Archive),
    (sig::UNKNOWN_OBJECT, UnknownKind::Object),
];

/// The kind an unknown value was announced with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownKind {
    /// Any value, or a string.
    Any,
    /// A boolean.
    Bool,
    /// A number.
    Number,
    /// An array.
    Array,
    /// An asset.
    Asset,
    /// An archive.
    Archive,
    /// An object.
    Object,
}

impl UnknownKind {
    fn sentinel(self) -> &'static str {
        UNKNOWN_SENTINELS
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(s, _)| *s)
            .unwrap_or(UNKNOWN_SENTINELS[0].0)
    }

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "any" | "string" => UnknownKind::Any,
            "bool" | "boolean" => UnknownKind::Bool,
            "number" | "integer" => UnknownKind::Number,
            "array" => UnknownKind::Array,
            "asset" => UnknownKind::Asset,
            "archive" => UnknownKind::Archive,
            "object" => UnknownKind::Object,
            _ => return None,
        })
    }
}

/// A property value as decoded from the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (always a double on the wire).
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(PropertyMap),
    /// A secret wrapping a value.
    Secret(Box<Value>),
    /// An unknown (computed) value.
    Unknown(UnknownKind),
    /// An output value: possibly unknown, possibly secret, with dependencies.
    Output {
        /// The value, `None` when unknown.
        value: Option<Box<Value>>,
        /// Whether the output is secret.
        secret: bool,
        /// URNs the output depends on.
        dependencies: Vec<String>,
    },
    /// Any other signed object (resource reference, asset, archive, or a signature the kit does
    /// not know), kept as its fields.
    Special {
        /// The signature.
        sig: String,
        /// The other fields.
        fields: PropertyMap,
    },
}

/// An object's properties, sorted by key.
pub type PropertyMap = BTreeMap<String, Value>;

/// A `Struct` that does not decode, with the property path at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property `{path}`: {problem}")]
pub struct DecodeError {
    /// Path of the offending property.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Decodes a `Struct` (absent is empty).
pub fn decode_struct(s: Option<&Struct>) -> Result<PropertyMap, DecodeError> {
    let Some(s) = s else {
        return Ok(PropertyMap::new());
    };
    decode_fields(&s.fields, "")
}

fn decode_fields(
    fields: &BTreeMap<String, prost_types::Value>,
    path: &str,
) -> Result<PropertyMap, DecodeError> {
    fields
        .iter()
        .map(|(k, v)| Ok((k.clone(), decode_value(v, &join(path, k))?)))
        .collect()
}

/// Decodes one wire value; `path` names it in errors.
pub fn decode_value(v: &prost_types::Value, path: &str) -> Result<Value, DecodeError> {
    let err = |problem: String| DecodeError {
        path: if path.is_empty() {
            "<root>".into()
        } else {
            path.into()
        },
        problem,
    };
    Ok(match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => Value::Number(*n),
        Some(Kind::StringValue(s)) => {
            match UNKNOWN_SENTINELS.iter().find(|(sentinel, _)| sentinel == s) {
                Some((_, kind)) => Value::Unknown(*kind),
                None => Value::String(s.clone()),
            }
        }
        Some(Kind::ListValue(l)) => Value::Array(
            l.values
                .iter()
                .enumerate()
                .map(|(i, v)| decode_value(v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Some(Kind::StructValue(s)) => {
            let Some(sig) = s.fields.get(SIG_KEY) else {
                return Ok(Value::Object(decode_fields(&s.fields, path)?));
            };
            let Some(Kind::StringValue(sig)) = &sig.kind else {
                return Err(err(format!(
                    "the signature key `{SIG_KEY}` must hold a string"
                )));
            };
            let mut fields = decode_fields(&s.fields, path)?;
            fields.remove(SIG_KEY);
            match sig.as_str() {
                SIG_SECRET => match fields.remove("value") {
                    Some(inner) => Value::Secret(Box::new(inner)),
                    None => return Err(err("a secret must carry a `value`".into())),
                },
                SIG_OUTPUT => {
                    let secret = match fields.get("secret") {
                        None | Some(Value::Null) => false,
                        Some(Value::Bool(b)) => *b,
                        Some(_) => {
                            return Err(err(
                                "field `secret` of an output value must be a bool".into()
                            ));
                        }
                    };
                    let dependencies = match fields.get("dependencies") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(Value::Array(items)) => items
                            .iter()
                            .map(|d| match d {
                                Value::String(s) => Ok(s.clone()),
                                _ => Err(err("output dependencies must be strings (URNs)".into())),
                            })
                            .collect::<Result<_, _>>()?,
                        Some(_) => {
                            return Err(err(
                                "field `dependencies` of an output value must be an array".into(),
                            ));
                        }
                    };
                    Value::Output {
                        value: fields.remove("value").map(Box::new),
                        secret,
                        dependencies,
                    }
                }
                _ => Value::Special {
                    sig: sig.clone(),
                    fields,
                },
            }
        }
    })
}

/// Encodes a property map as a `Struct`.
pub fn encode_struct(map: &PropertyMap) -> Struct {
    Struct {
        fields: map
            .iter()
            .map(|(k, v)| (k.clone(), encode_value(v)))
            .collect(),
    }
}

fn string(s: &str) -> prost_types::Value {
    prost_types::Value {
        kind: Some(Kind::StringValue(s.to_string())),
    }
}

fn signed(sig: &str, mut fields: BTreeMap<String, prost_types::Value>) -> prost_types::Value {
    fields.insert(SIG_KEY.to_string(), string(sig));
    prost_types::Value {
        kind: Some(Kind::StructValue(Struct { fields })),
    }
}

/// Encodes one value.
pub fn encode_value(v: &Value) -> prost_types::Value {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(*n),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(encode_value).collect(),
        }),
        Value::Object(map) => Kind::StructValue(encode_struct(map)),
        Value::Secret(inner) => {
            return signed(
                SIG_SECRET,
                BTreeMap::from([("value".to_string(), encode_value(inner))]),
            );
        }
        Value::Unknown(kind) => Kind::StringValue(kind.sentinel().to_string()),
        Value::Output {
            value,
            secret,
            dependencies,
        } => {
            let mut fields = BTreeMap::new();
            if let Some(value) = value {
                fields.insert("value".to_string(), encode_value(value));
            }
            if *secret {
                fields.insert(
                    "secret".to_string(),
                    prost_types::Value {
                        kind: Some(Kind::BoolValue(true)),
                    },
                );
            }
            if !dependencies.is_empty() {
                let deps = dependencies.iter().map(|d| string(d)).collect();
                fields.insert(
                    "dependencies".to_string(),
                    prost_types::Value {
                        kind: Some(Kind::ListValue(ListValue { values: deps })),
                    },
                );
            }
            return signed(SIG_OUTPUT, fields);
        }
        Value::Special { sig, fields } => {
            return signed(
                sig,
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), encode_value(v)))
                    .collect(),
            );
        }
    };
    prost_types::Value { kind: Some(kind) }
}

impl Value {
    /// Reads a fixture value: plain JSON, where `{"$secret": V}` is a secret and
    /// `{"$unknown": "KIND"}` (KIND one of any, string, bool, number, array, object, asset,
    /// archive; or `true`) is an unknown.
    pub fn from_fixture(json: &serde_json::Value, path: &str) -> Result<Value, DecodeError> {
        use serde_json::Value as J;
        Ok(match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            J::String(s) => Value::String(s.clone()),
            J::Array(items) => Value::Array(
                items.iter().enumerate().map(|(i, v)| Value::from_fixture(v, &format!("{path}[{i}]"))).collect::<Result<_, _>>()?,
            ),
            J::Object(map) if map.len() == 1 && map.contains_key("$secret") => {
                Value::Secret(Box::new(Value::from_fixture(&map["$secret"], path)?))
            }
            J::Object(map) if map.len() == 1 && map.contains_key("$unknown") => match &map["$unknown"] {
                J::Bool(true) => Value::Unknown(UnknownKind::Any),
                J::String(kind) => Value::Unknown(UnknownKind::parse(kind).ok_or_else(|| DecodeError {
                    path: path.to_string(),
                    problem: format!(
                        "`$unknown` kind `{kind}` is not one of any, string, bool, number, array, object, asset, archive"
                    ),
                })?),
                _ => {
                    return Err(DecodeError {
                        path: path.to_string(),
                        problem: "`$unknown` takes a kind name such as \"string\" or \"number\"".into(),
                    });
                }
            },
            J::Object(map) => Value::Object(
                map.iter().map(|(k, v)| Ok((k.clone(), Value::from_fixture(v, &join(path, k))?))).collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Whether this value is secret at its top level (a secret, or a secret output).
    pub fn is_secret(&self) -> bool {
        matches!(self, Value::Secret(_) | Value::Output { secret: true, .. })
    }

    /// Whether this value is unknown at its top level (an unknown, or an output without value).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_) | Value::Output { value: None, .. })
    }

    /// Whether this value or anything inside it is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) | Value::Output { value: None, .. } => true,
            Value::Array(items) => items.iter().any(Value::contains_unknown),
            Value::Object(map) | Value::Special { fields: map, .. } => {
                map.values().any(Value::contains_unknown)
            }
            Value::Secret(inner)
            | Value::Output {
                value: Some(inner), ..
            } => inner.contains_unknown(),
            _ => false,
        }
    }

    /// Whether this value or anything inside it is secret.
    pub fn contains_secret(&self) -> bool {
        match self {
            Value::Secret(_) | Value::Output { secret: true, .. } => true,
            Value::Array(items) => items.iter().any(Value::contains_secret),
            Value::Object(map) | Value::Special { fields: map, .. } => {
                map.values().any(Value::contains_secret)
            }
            Value::Output {
                value: Some(inner), ..
            } => inner.contains_secret(),
            _ => false,
        }
    }

    /// The value without any secret or output wrapping, anywhere inside it.
    pub fn unwrapped(&self) -> Value {
        match self {
            Value::Secret(inner)
            | Value::Output {
                value: Some(inner), ..
            } => inner.unwrapped(),
            Value::Output { value: None, .. } => Value::Unknown(UnknownKind::Any),
            Value::Array(items) => Value::Array(items.iter().map(Value::unwrapped).collect()),
            Value::Object(map) => Value::Object(unwrap_map(map)),
            other => other.clone(),
        }
    }

    /// Whether a string containing `needle` appears anywhere in this value outside a secret.
    pub fn leaks(&self, needle: &str) -> bool {
        match self {
            Value::String(s) => !needle.is_empty() && s.contains(needle),
            Value::Array(items) => items.iter().any(|v| v.leaks(needle)),
            Value::Object(map) | Value::Special { fields: map, .. } => map
                .iter()
                .any(|(k, v)| (!needle.is_empty() && k.contains(needle)) || v.leaks(needle)),
            Value::Output {
                value: Some(inner),
                secret: false,
                ..
            } => inner.leaks(needle),
            _ => false,
        }
    }

    /// A short name of this value's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Secret(_) => "secret",
            Value::Unknown(_) => "unknown",
            Value::Output { .. } => "output",
            Value::Special { sig, .. } => match sig.as_str() {
                SIG_RESOURCE_REFERENCE => "resource reference",
                SIG_ASSET => "asset",
                SIG_ARCHIVE => "archive",
                _ => "special value",
            },
        }
    }
}

/// Strips secret and output wrappings from every value of `map`.
pub fn unwrap_map(map: &PropertyMap) -> PropertyMap {
    map.iter()
        .map(|(k, v)| (k.clone(), v.unwrapped()))
        .collect()
}

/// Shows a map like JSON, with secrets redacted.
pub fn show_map(map: &PropertyMap) -> String {
    Value::Object(map.clone()).to_string()
}

impl fmt::Display for Value {
    /// JSON-like, with every secret payload shown as `[secret]` and unknowns as `<unknown>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Array(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Object(map) => {
                write!(f, "{{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k:?}: {v}")?;
                }
                write!(f, "}}")
            }
            Value::Secret(_) | Value::Output { secret: true, .. } => write!(f, "[secret]"),
            Value::Unknown(kind) => write!(f, "<unknown {kind:?}>"),
            Value::Output { value: None, .. } => write!(f, "<unknown output>"),
            Value::Output { value: Some(v), .. } => write!(f, "output({v})"),
            Value::Special { .. } => write!(f, "<{}>", self.kind_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_unknowns_survive_a_round_trip() {
        let map = PropertyMap::from([
            (
                "s".to_string(),
                Value::Secret(Box::new(Value::String("hush".into()))),
            ),
            ("u".to_string(), Value::Unknown(UnknownKind::Number)),
            (
                "o".to_string(),
                Value::Output {
                    value: None,
                    secret: true,
                    dependencies: vec!["urn:x".into()],
                },
            ),
            (
                "n".to_string(),
                Value::Array(vec![Value::Number(1.0), Value::Null]),
            ),
        ]);
        let back = decode_struct(Some(&encode_struct(&map))).unwrap();
        assert_eq!(back, map);
        assert!(back["s"].is_secret() && back["u"].is_unknown() && back["o"].is_unknown());
    }

    #[test]
    fn display_never_shows_a_secret() {
        let v = Value::Object(PropertyMap::from([(
            "p".to_string(),
            Value::Secret(Box::new(Value::String("hush".into()))),
        )]));
        assert!(!v.to_string().contains("hush"));
        assert!(!v.leaks("hush"));
        assert!(Value::String("a-hush-b".into()).leaks("hush"));
    }

    #[test]
    fn fixture_markers_decode() {
        let json = serde_json::json!({"a": {"$secret": "x"}, "b": {"$unknown": "number"}});
        let Value::Object(map) = Value::from_fixture(&json, "").unwrap() else {
            panic!("not an object")
        };
        assert!(map["a"].is_secret());
        assert_eq!(map["b"], Value::Unknown(UnknownKind::Number));
        let bad = serde_json::json!({"$unknown": "colour"});
        assert!(
            Value::from_fixture(&bad, "x")
                .unwrap_err()
                .problem
                .contains("colour")
        );
    }
}
