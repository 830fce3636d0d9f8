//! Conversions between [`PropertyMap`]s and serde types.
//!
//! A provider's inputs and outputs are plain Rust types deriving `Serialize` and `Deserialize`;
//! this module reads them from, and writes them to, the SDK's [`PropertyValue`] model:
//!
//! - every number is a double on the wire; whole numbers read into integer fields
//!   (`3.0` into a `u32`), fractional or out-of-range numbers are an error;
//! - secrets are looked through when reading: a `String` field reads a secret string. To keep a
//!   value secret, give the field the type [`Secret<T>`], which is always written as a secret;
//! - `None` struct fields are left out when writing; absent and `null` both read as `None`;
//! - enums are written as their variant name (unit variants) or `{variant: value}`;
//! - assets, archives (by path or URI) and resource references read as objects of strings:
//!   `{text | path | uri, hash}`, `{path | uri, hash}` and `{urn, id, packageVersion}`, so a
//!   struct with those fields (all but one `Option`) can receive them;
//! - an error names the property path, such as `rules[2].port` (a struct field) or
//!   `tags["env"]` (a map key), and never shows a value, so it is safe to log.
//!
//! ```
//! use std::collections::BTreeMap;
//! use provider_sdk::{PropertyMap, PropertyValue, serde_bridge};
//!
//! #[derive(serde::Deserialize, Debug)]
//! struct Rule { port: u16 }
//! #[derive(serde::Deserialize, Debug)]
//! struct Firewall { rules: Vec<Rule>, tags: BTreeMap<String, String> }
//!
//! let map = PropertyMap::from([
//!     ("rules".into(), PropertyValue::Array(vec![
//!         PropertyValue::Object(PropertyMap::from([("port".into(), 443.0.into())])),
//!         PropertyValue::Object(PropertyMap::from([("port".into(), "http".into())])),
//!     ])),
//!     ("tags".into(), PropertyValue::Object(PropertyMap::new())),
//! ]);
//! let err = serde_bridge::from_property_map::<Firewall>(&map).unwrap_err();
//! assert_eq!(err.path, "rules[1].port");
//! assert_eq!(err.to_string(), "property `rules[1].port`: expected a whole number (u16), got a string");
//! ```

mod asset;
mod de;
mod error;
mod maybe;
mod secret;
mod ser;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use error::{ConvertError, ConvertErrorKind};
pub use maybe::Maybe;
pub use secret::Secret;

use crate::value::{PropertyMap, PropertyValue};
use de::{De, Options, Src};

/// The newtype name by which [`Secret`] announces itself to this module's (de)serializers.
pub(crate) const SECRET_NEWTYPE: &str = "$__provider_sdk_secret";

/// The newtype name by which [`Maybe::Unknown`] announces itself, and by which [`Maybe`]
/// asks to be told about unknown values.
pub(crate) const MAYBE_NEWTYPE: &str = "$__provider_sdk_maybe";

/// The newtype name by which [`Asset`](crate::value::Asset) announces itself.
pub(crate) const ASSET_NEWTYPE: &str = "$__provider_sdk_asset";

/// The newtype name by which [`Archive`](crate::value::Archive) announces itself.
pub(crate) const ARCHIVE_NEWTYPE: &str = "$__provider_sdk_archive";

/// The JSON Schema key by which a type says it is one of Pulumi's built-in types (its value
/// is the `$ref`, such as `pulumi.json#/Asset`).
pub const PULUMI_REF_SCHEMA_KEY: &str = "x-pulumi-ref";

/// The JSON Schema key with which [`Secret`] marks its schema.
pub const SECRET_SCHEMA_KEY: &str = "x-pulumi-secret";

/// Writes `value` as a [`PropertyValue`].
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<PropertyValue, ConvertError> {
    value.serialize(ser::Ser)
}

/// Writes `value`, which must serialize as an object (a struct or a map), as a [`PropertyMap`].
///
/// Null properties are left out: for Pulumi a null property is an absent one, and so a `None`
/// field is absent whether it sits in the struct itself or in one `#[serde(flatten)]`ed into it.
pub fn to_property_map<T: Serialize + ?Sized>(value: &T) -> Result<PropertyMap, ConvertError> {
    match to_value(value)? {
        PropertyValue::Object(mut map) => {
            map.retain(|_, v| *v != PropertyValue::Null);
            Ok(map)
        }
        other => Err(ConvertError::new(
            ConvertErrorKind::TypeMismatch,
            format!(
                "expected the type to serialize as an object (a struct or map), got {}",
                other.kind_name()
            ),
        )),
    }
}

/// Reads a `T` from one value.
pub fn from_value<'a, T: Deserialize<'a>>(value: &'a PropertyValue) -> Result<T, ConvertError> {
    let opts = Options::default();
    T::deserialize(De::root(Src::Value(value), &opts)).map_err(|e| e.located(String::new))
}

/// Reads a `T` from a property map (as from an object).
pub fn from_property_map<'a, T: Deserialize<'a>>(map: &'a PropertyMap) -> Result<T, ConvertError> {
    let opts = Options::default();
    T::deserialize(De::root(Src::Map(map), &opts)).map_err(|e| e.located(String::new))
}

/// Reads a `T` from a property map, reporting every bad property rather than only the first.
///
/// Unknown values are reported too (with [`ConvertErrorKind::Unknown`]).
pub fn from_property_map_all<T: for<'a> Deserialize<'a>>(
    map: &PropertyMap,
) -> Result<T, Vec<ConvertError>> {
    match read_all(map, false) {
        (Some(v), errors) if errors.is_empty() => Ok(v),
        (_, errors) => Err(errors),
    }
}

/// The most passes [`read_all`] makes; each pass finds at least one new bad property.
const MAX_PASSES: usize = 64;

/// Reads `map` leniently: each bad property is recorded and then read as a placeholder, so that
/// the next pass finds the next one. With `unknowns_ok`, unknown values read as placeholders and
/// are not errors; the value is returned only when there were no errors and no unknowns.
pub(crate) fn read_all<T: for<'a> Deserialize<'a>>(
    map: &PropertyMap,
    unknowns_ok: bool,
) -> (Option<T>, Vec<ConvertError>) {
    let lenient = read_lenient(map, unknowns_ok);
    let complete = lenient.errors.is_empty() && !lenient.has_unknowns;
    (lenient.value.filter(|_| complete), lenient.errors)
}

/// What [`read_lenient`] read: every bad property, and the value with a placeholder (an empty
/// string, zero, `None`, an empty list) in place of each bad or unknown one, when the type
/// accepts placeholders.
pub(crate) struct Lenient<T> {
    /// The value read with placeholders; `None` when even that could not be read.
    pub value: Option<T>,
    /// Every bad property, once each.
    pub errors: Vec<ConvertError>,
    /// Whether some value was unknown (read as a placeholder, with `unknowns_ok`).
    pub has_unknowns: bool,
}

/// Reads `map` as [`read_all`] does, keeping the value read with placeholders.
pub(crate) fn read_lenient<T: for<'a> Deserialize<'a>>(
    map: &PropertyMap,
    unknowns_ok: bool,
) -> Lenient<T> {
    let mut opts = Options {
        unknowns_as_placeholders: unknowns_ok,
        placeholders: HashSet::new(),
        skipped: HashSet::new(),
    };
    let has_unknowns = unknowns_ok && map.values().any(PropertyValue::contains_unknowns);
    let mut errors: Vec<ConvertError> = Vec::new();
    for _ in 0..MAX_PASSES {
        match T::deserialize(De::root(Src::Map(map), &opts)) {
            Ok(v) => {
                return Lenient {
                    value: Some(v),
                    errors,
                    has_unknowns,
                };
            }
            Err(e) => {
                let e = e.located(String::new);
                if opts.placeholders.contains(&e.path) || opts.skipped.contains(&e.path) {
                    // The placeholder itself was refused (a type validating in `try_from`
                    // refuses the empty value): the property is reported already.
                    break;
                }
                if !errors
                    .iter()
                    .any(|x| x.path == e.path && x.message == e.message)
                {
                    errors.push(e.clone());
                }
                if e.path.is_empty() {
                    break;
                }
                if e.kind == ConvertErrorKind::UnknownProperty {
                    opts.skipped.insert(e.path);
                } else {
                    opts.placeholders.insert(e.path);
                }
            }
        }
    }
    Lenient {
        value: None,
        errors,
        has_unknowns,
    }
}

#[cfg(test)]
mod tests;
