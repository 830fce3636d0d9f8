//! Property values.
//!
//! The engine keeps property values as [`serde_json::Value`] in the wire encoding of
//! Pulumi's special values: a secret is `{"4dabf…": "1b47…", "value": v}`, an unknown is the
//! sentinel string [`UNKNOWN`] (or a typed sentinel). This module converts them to and from
//! `google.protobuf.Struct`, to and from the state file's encoding, and renders them for
//! display with secrets masked.

use pulumirpc::google::{Kind, ListValue, Struct, Value};
use serde_json::{Map, Value as Json};

pub use pulumirpc::sentinels::{
    SIG_KEY, SIG_OUTPUT as OUTPUT_SIG, SIG_SECRET as SECRET_SIG, UNKNOWN_ANY as UNKNOWN, UNKNOWNS,
};

/// A property map: top-level property names to values.
pub type PropertyMap = Map<String, Json>;

/// An unknown value.
pub fn unknown() -> Json {
    Json::String(UNKNOWN.to_string())
}

/// Wraps `v` as a secret (no-op when it already is one).
pub fn secret(v: Json) -> Json {
    if is_secret(&v) {
        return v;
    }
    let mut m = Map::new();
    m.insert(SIG_KEY.into(), Json::String(SECRET_SIG.into()));
    m.insert("value".into(), v);
    Json::Object(m)
}

/// Is `v` a secret wrapper?
pub fn is_secret(v: &Json) -> bool {
    matches!(v, Json::Object(m) if m.get(SIG_KEY).and_then(Json::as_str) == Some(SECRET_SIG))
}

/// Is `v` (itself) an unknown: a sentinel, or an output value without `value`?
pub fn is_unknown(v: &Json) -> bool {
    match v {
        Json::String(s) => UNKNOWNS.contains(&s.as_str()),
        Json::Object(m) => {
            m.get(SIG_KEY).and_then(Json::as_str) == Some(OUTPUT_SIG) && !m.contains_key("value")
        }
        _ => false,
    }
}

/// Does `v` contain an unknown anywhere?
pub fn contains_unknown(v: &Json) -> bool {
    if is_unknown(v) {
        return true;
    }
    match v {
        Json::Array(a) => a.iter().any(contains_unknown),
        Json::Object(m) => m.values().any(contains_unknown),
        _ => false,
    }
}

/// Does `v` contain a secret anywhere?
pub fn contains_secret(v: &Json) -> bool {
    match v {
        _ if is_secret(v) => true,
        Json::Array(a) => a.iter().any(contains_secret),
        Json::Object(m) => m.values().any(contains_secret),
        _ => false,
    }
}

/// Removes secret wrappers (deeply), returning the plain value and whether any secret was seen.
pub fn unwrap_secrets(v: &Json) -> (Json, bool) {
    match v {
        Json::Object(m) if is_secret(v) => {
            let (inner, _) = unwrap_secrets(m.get("value").unwrap_or(&Json::Null));
            (inner, true)
        }
        Json::Array(a) => {
            let mut any = false;
            let items = a
                .iter()
                .map(|x| {
                    let (y, s) = unwrap_secrets(x);
                    any |= s;
                    y
                })
                .collect();
            (Json::Array(items), any)
        }
        Json::Object(m) => {
            let mut any = false;
            let items = m
                .iter()
                .map(|(k, x)| {
                    let (y, s) = unwrap_secrets(x);
                    any |= s;
                    (k.clone(), y)
                })
                .collect();
            (Json::Object(items), any)
        }
        other => (other.clone(), false),
    }
}

/// Converts a JSON value to a protobuf `Value`.
pub fn to_proto_value(v: &Json) -> Value {
    let kind = match v {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(a) => Kind::ListValue(ListValue {
            values: a.iter().map(to_proto_value).collect(),
        }),
        Json::Object(m) => Kind::StructValue(to_struct(m)),
    };
    Value { kind: Some(kind) }
}

/// Converts a property map to a protobuf `Struct`.
pub fn to_struct(m: &PropertyMap) -> Struct {
    Struct {
        fields: m
            .iter()
            .map(|(k, v)| (k.clone(), to_proto_value(v)))
            .collect(),
    }
}

/// Converts a protobuf `Value` to JSON. Whole numbers stay whole.
pub fn from_proto_value(v: &Value) -> Json {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(from_proto_value).collect()),
        Some(Kind::StructValue(s)) => Json::Object(from_struct(s)),
    }
}

/// Converts a protobuf `Struct` to a property map.
pub fn from_struct(s: &Struct) -> PropertyMap {
    s.fields
        .iter()
        .map(|(k, v)| (k.clone(), from_proto_value(v)))
        .collect()
}

/// Converts a protobuf `Value` to JSON, moving its strings rather than copying them.
pub fn into_json(v: Value) -> Json {
    match v.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(b),
        Some(Kind::NumberValue(n)) => number(n),
        Some(Kind::StringValue(s)) => Json::String(s),
        Some(Kind::ListValue(l)) => Json::Array(l.values.into_iter().map(into_json).collect()),
        Some(Kind::StructValue(s)) => Json::Object(into_map(s)),
    }
}

/// Converts a protobuf `Struct` the caller owns (a decoded request or reply) to a property map,
/// moving its keys and strings: [`from_struct`] without the copy.
pub fn into_map(s: Struct) -> PropertyMap {
    s.fields
        .into_iter()
        .map(|(k, v)| (k, into_json(v)))
        .collect()
}

/// Converts an optional protobuf `Struct` (a message field) to a property map; absent is empty.
pub fn from_optional_struct(s: Option<&Struct>) -> PropertyMap {
    s.map(from_struct).unwrap_or_default()
}

/// A JSON number for `n`: an integer when `n` is whole and exactly representable.
pub fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Json::Number)
            .unwrap_or(Json::Null)
    }
}

/// Encodes a value for the state file: secrets become
/// `{"4dabf…": "1b47…", "plaintext": "<JSON text>"}` as in an unencrypted `pulumi stack export`.
pub fn to_state(v: &Json) -> Json {
    match v {
        Json::Object(m) if is_secret(v) => {
            let inner = m.get("value").cloned().unwrap_or(Json::Null);
            let mut out = Map::new();
            out.insert(SIG_KEY.into(), Json::String(SECRET_SIG.into()));
            out.insert(
                "plaintext".into(),
                Json::String(to_state(&inner).to_string()),
            );
            Json::Object(out)
        }
        Json::Array(a) => Json::Array(a.iter().map(to_state).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), to_state(x))).collect()),
        other => other.clone(),
    }
}

/// Decodes a value from the state file (the inverse of [`to_state`]). Encrypted secrets
/// (`ciphertext`) cannot be decrypted here and are kept as they are.
pub fn from_state(v: &Json) -> Json {
    match v {
        Json::Object(m) if m.get(SIG_KEY).and_then(Json::as_str) == Some(SECRET_SIG) => {
            if let Some(text) = m.get("plaintext").and_then(Json::as_str) {
                let inner: Json =
                    serde_json::from_str(text).unwrap_or(Json::String(text.to_string()));
                secret(from_state(&inner))
            } else if let Some(inner) = m.get("value") {
                secret(from_state(inner))
            } else {
                v.clone()
            }
        }
        Json::Array(a) => Json::Array(a.iter().map(from_state).collect()),
        Json::Object(m) => {
            Json::Object(m.iter().map(|(k, x)| (k.clone(), from_state(x))).collect())
        }
        other => other.clone(),
    }
}

/// Encodes a whole property map for the state file.
pub fn map_to_state(m: &PropertyMap) -> PropertyMap {
    m.iter().map(|(k, v)| (k.clone(), to_state(v))).collect()
}

/// Decodes a whole property map from the state file.
pub fn map_from_state(m: &PropertyMap) -> PropertyMap {
    m.iter().map(|(k, v)| (k.clone(), from_state(v))).collect()
}

/// Renders a value for humans: secrets as `[secret]`, unknowns as `[unknown]`, compact JSON otherwise.
pub fn render(v: &Json) -> String {
    masked(v)
        .to_string()
        .replace("\"[secret]\"", "[secret]")
        .replace("\"[unknown]\"", "[unknown]")
}

/// A copy of `v` with every secret replaced by the string `[secret]` and every unknown by
/// `[unknown]`: safe to print or to emit as a JSON event.
pub fn masked(v: &Json) -> Json {
    match v {
        _ if is_secret(v) => Json::String("[secret]".into()),
        _ if is_unknown(v) => Json::String("[unknown]".into()),
        Json::Array(a) => Json::Array(a.iter().map(masked).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), masked(x))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owned_conversion_agrees_with_the_borrowing_one() {
        let m: PropertyMap = serde_json::from_value(json!({
            "n": 3, "f": 1.5, "s": "x", "b": true, "z": null,
            "l": [1, "a", {"k": [null]}], "sec": secret(json!({"p": "w"}))
        }))
        .unwrap();
        let s = to_struct(&m);
        assert_eq!(into_map(s.clone()), from_struct(&s));
        assert_eq!(into_map(s), m);
    }

    #[test]
    fn struct_round_trip_keeps_whole_numbers_and_specials() {
        let m = json!({"a": 3, "b": 1.5, "c": [true, null, "x"], "s": secret(json!("pw")), "u": UNKNOWN});
        let m = m.as_object().unwrap().clone();
        let back = from_struct(&to_struct(&m));
        assert_eq!(Json::Object(back.clone()), Json::Object(m));
        assert!(is_secret(&back["s"]));
        assert!(is_unknown(&back["u"]));
        assert_eq!(back["a"], json!(3));
    }

    #[test]
    fn state_encoding_round_trips_secrets_and_masks_them() {
        let v = json!({"k": secret(json!({"n": 1}))});
        let s = to_state(&v);
        assert_eq!(s["k"]["plaintext"], json!("{\"n\":1}"));
        assert_eq!(from_state(&s), v);
        assert_eq!(render(&v), "{\"k\":[secret]}");
        assert!(!render(&v).contains("\"n\""));
    }
}
