//! [`Maybe<T>`]: a value that may not be known yet (during a preview).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::MAYBE_NEWTYPE;

/// A value that is either known, or not known yet because it is computed during the
/// deployment (a preview's "known after apply").
///
/// Components run during previews too, when some of their inputs and their children's outputs
/// are not known yet. A field of type `Maybe<T>` reads an unknown value as
/// [`Maybe::Unknown`] instead of failing, and writes [`Maybe::Unknown`] as an unknown value,
/// so an unknown output of one child can be passed on as an input of the next. A known value
/// reads and writes exactly as a `T` would; the schema of `Maybe<T>` is the schema of `T`.
///
/// Use `Maybe<T>` where a value may be unknown during a preview and plain `T` where it never
/// is. With other serde formats (JSON, YAML) a known value is transparent.
///
/// ```
/// use provider_sdk::{Maybe, PropertyMap, PropertyValue, serde_bridge};
/// use provider_sdk::value::UnknownKind;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Site { port: Maybe<u16> }
///
/// let unknown = PropertyMap::from([("port".to_string(), PropertyValue::Unknown(UnknownKind::Number))]);
/// let site: Site = serde_bridge::from_property_map(&unknown).unwrap();
/// assert!(site.port.is_unknown());
/// assert!(serde_bridge::to_property_map(&site).unwrap()["port"].is_unknown());
///
/// let known = PropertyMap::from([("port".to_string(), 8080.into())]);
/// let site: Site = serde_bridge::from_property_map(&known).unwrap();
/// assert_eq!(site.port, Maybe::Known(8080));
/// assert_eq!(site.port.map(|p| format!("http://127.0.0.1:{p}/")).known(), Some("http://127.0.0.1:8080/".to_string()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Maybe<T> {
    /// The value is known.
    Known(T),
    /// The value is not known yet.
    Unknown,
}

impl<T> Maybe<T> {
    /// Whether the value is known.
    pub fn is_known(&self) -> bool {
        matches!(self, Maybe::Known(_))
    }

    /// Whether the value is not known yet.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Maybe::Unknown)
    }

    /// The value, if known.
    pub fn known(self) -> Option<T> {
        match self {
            Maybe::Known(v) => Some(v),
            Maybe::Unknown => None,
        }
    }

    /// A reference to the value, if known.
    pub fn as_known(&self) -> Option<&T> {
        match self {
            Maybe::Known(v) => Some(v),
            Maybe::Unknown => None,
        }
    }

    /// A `Maybe` of a reference.
    pub fn as_ref(&self) -> Maybe<&T> {
        match self {
            Maybe::Known(v) => Maybe::Known(v),
            Maybe::Unknown => Maybe::Unknown,
        }
    }

    /// Applies `f` to a known value; an unknown value stays unknown.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Maybe<U> {
        match self {
            Maybe::Known(v) => Maybe::Known(f(v)),
            Maybe::Unknown => Maybe::Unknown,
        }
    }

    /// Combines two values: known only when both are.
    pub fn zip<U>(self, other: Maybe<U>) -> Maybe<(T, U)> {
        match (self, other) {
            (Maybe::Known(a), Maybe::Known(b)) => Maybe::Known((a, b)),
            _ => Maybe::Unknown,
        }
    }
}

impl<T> From<T> for Maybe<T> {
    fn from(value: T) -> Self {
        Maybe::Known(value)
    }
}

impl<T: Serialize> Serialize for Maybe<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Maybe::Known(v) => v.serialize(serializer),
            Maybe::Unknown => serializer.serialize_newtype_struct(MAYBE_NEWTYPE, &()),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Maybe<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value, known or not")
            }
            // The SDK's deserializer visits a unit for an unknown value.
            fn visit_unit<E: serde::de::Error>(self) -> Result<Maybe<T>, E> {
                Ok(Maybe::Unknown)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Maybe<T>, D::Error> {
                T::deserialize(d).map(Maybe::Known)
            }
        }
        deserializer.deserialize_newtype_struct(MAYBE_NEWTYPE, V(std::marker::PhantomData))
    }
}

/// The schema of `T`: a `Maybe<T>` property is a `T` property that may be unknown in a
/// preview, which every Pulumi property may be.
impl<T: schemars::JsonSchema> schemars::JsonSchema for Maybe<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<T>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde_bridge::{from_property_map, to_property_map};
    use crate::value::{PropertyMap, PropertyValue, UnknownKind};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Args {
        port: Maybe<u16>,
        name: Option<Maybe<String>>,
        tags: Vec<Maybe<String>>,
    }

    fn unknown() -> PropertyValue {
        PropertyValue::Unknown(UnknownKind::Any)
    }

    #[test]
    fn unknowns_read_as_unknown_at_any_depth_and_plain_values_are_unchanged() {
        let map = PropertyMap::from([
            ("port".to_string(), PropertyValue::secret(unknown())),
            ("name".to_string(), unknown()),
            (
                "tags".to_string(),
                PropertyValue::Array(vec!["a".into(), unknown()]),
            ),
        ]);
        let args: Args = from_property_map(&map).unwrap();
        assert_eq!(
            args,
            Args {
                port: Maybe::Unknown,
                name: Some(Maybe::Unknown),
                tags: vec![Maybe::Known("a".into()), Maybe::Unknown],
            }
        );
        let back = to_property_map(&args).unwrap();
        assert!(back["port"].is_unknown() && back["name"].is_unknown());

        let absent = PropertyMap::from([
            ("port".to_string(), 80.into()),
            ("tags".to_string(), PropertyValue::Array(vec![])),
        ]);
        let args: Args = from_property_map(&absent).unwrap();
        assert_eq!((args.port, args.name), (Maybe::Known(80), None));
        // A `T` that is not a `Maybe` still refuses an unknown, naming the property.
        #[derive(Deserialize, Debug)]
        struct Plain {
            #[allow(dead_code)]
            port: Option<u16>,
        }
        let err = from_property_map::<Plain>(&PropertyMap::from([("port".to_string(), unknown())]))
            .unwrap_err();
        assert_eq!(err.path, "port");
        // Other formats see a known value as the plain value.
        assert_eq!(serde_json::to_string(&Maybe::Known(3)).unwrap(), "3");
        assert_eq!(
            serde_json::from_str::<Maybe<u8>>("3").unwrap(),
            Maybe::Known(3)
        );
    }
}
