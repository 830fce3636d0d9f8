//! The property value model: every kind of value the engine exchanges with a provider.
//!
//! Values on the wire are `google.protobuf.Struct`s in which secrets, unknowns, assets,
//! archives, resource references and output values are encoded with signature keys and
//! sentinel strings. [`PropertyValue`] names each of those kinds, so provider code never sees
//! the encoding; [`crate::wire`] converts losslessly between the two.

use std::collections::BTreeMap;
use std::fmt;

/// A map of property names to values: the inputs, outputs or state of a resource.
pub type PropertyMap = BTreeMap<String, PropertyValue>;

/// One property value, as the engine and a provider exchange it.
///
/// `Debug` never prints what a [`PropertyValue::Secret`] holds, so values can be logged safely.
#[derive(Clone, PartialEq, Default)]
pub enum PropertyValue {
    /// The absence of a value.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A number; the protocol carries every number as a double.
    Number(f64),
    /// A UTF-8 string.
    String(String),
    /// An ordered list of values.
    Array(Vec<PropertyValue>),
    /// A map of names to values.
    Object(PropertyMap),
    /// A value that must not be shown; it stays secret in state and in outputs derived from it.
    Secret(Box<PropertyValue>),
    /// A value that is not known yet (during preview); the kind says what it will be.
    Unknown(UnknownKind),
    /// An output value: a possibly-unknown, possibly-secret value with resource dependencies.
    Output(OutputValue),
    /// A file-like blob (text, a local path or a URI).
    Asset(Asset),
    /// A collection of assets (a map of assets, a local path or a URI).
    Archive(Archive),
    /// A reference to another resource by URN (and id, for custom resources).
    ResourceReference(ResourceReference),
}

/// What an unknown value will be once known. Each kind has its own wire sentinel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum UnknownKind {
    /// Any value, or a string (the generic sentinel).
    #[default]
    Any,
    /// A boolean.
    Bool,
    /// A number.
    Number,
    /// An array.
    Array,
    /// An object.
    Object,
    /// An asset.
    Asset,
    /// An archive.
    Archive,
}

/// An output value: Pulumi's richest value form, carrying known-ness, secrecy and dependencies.
#[derive(Clone, PartialEq, Default)]
pub struct OutputValue {
    /// The value, or `None` when it is unknown.
    pub value: Option<Box<PropertyValue>>,
    /// Whether the value is secret.
    pub secret: bool,
    /// URNs of the resources this value depends on.
    pub dependencies: Vec<String>,
}

/// An asset: a single blob of content.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Asset {
    /// The SHA-256 hash of the content, when the engine computed it.
    pub hash: Option<String>,
    /// Where the content comes from.
    pub source: AssetSource,
}

/// Where an asset's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssetSource {
    /// Inline text.
    Text(String),
    /// A path on the local file system.
    Path(String),
    /// A URI (`file://`, `http(s)://`, ...).
    Uri(String),
}

impl Default for AssetSource {
    fn default() -> Self {
        AssetSource::Text(String::new())
    }
}

/// An archive: a collection of assets and archives.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Archive {
    /// The SHA-256 hash of the content, when the engine computed it.
    pub hash: Option<String>,
    /// Where the content comes from.
    pub source: ArchiveSource,
}

/// Where an archive's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveSource {
    /// A map of names to assets or archives.
    Assets(BTreeMap<String, AssetOrArchive>),
    /// A path on the local file system (a directory or an archive file).
    Path(String),
    /// A URI of an archive file.
    Uri(String),
}

impl Default for ArchiveSource {
    fn default() -> Self {
        ArchiveSource::Assets(BTreeMap::new())
    }
}

/// A member of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssetOrArchive {
    /// A single asset.
    Asset(Asset),
    /// A nested archive.
    Archive(Archive),
}

/// A reference to a resource.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ResourceReference {
    /// The URN of the referenced resource.
    pub urn: String,
    /// The id of a custom resource: a string, or unknown during preview. `None` for components.
    pub id: Option<Box<PropertyValue>>,
    /// The version of the package that defines the resource, if known.
    pub package_version: Option<String>,
}

impl PropertyValue {
    /// Wraps a value as a secret (a secret stays a single layer deep).
    pub fn secret(value: PropertyValue) -> PropertyValue {
        match value {
            PropertyValue::Secret(_) => value,
            other => PropertyValue::Secret(Box::new(other)),
        }
    }

    /// Whether this value is secret at its top level (a secret, or a secret output value).
    pub fn is_secret(&self) -> bool {
        matches!(self, PropertyValue::Secret(_))
            || matches!(self, PropertyValue::Output(o) if o.secret)
    }

    /// Whether this value, or anything inside it, is secret.
    pub fn contains_secrets(&self) -> bool {
        match self {
            PropertyValue::Secret(_) => true,
            PropertyValue::Output(o) => {
                o.secret || o.value.as_ref().is_some_and(|v| v.contains_secrets())
            }
            PropertyValue::Array(items) => items.iter().any(PropertyValue::contains_secrets),
            PropertyValue::Object(map) => map.values().any(PropertyValue::contains_secrets),
            _ => false,
        }
    }

    /// Whether this value is unknown at its top level (an unknown, or an unknown output value).
    pub fn is_unknown(&self) -> bool {
        match self {
            PropertyValue::Unknown(_) => true,
            PropertyValue::Output(o) => o.value.is_none(),
            PropertyValue::Secret(inner) => inner.is_unknown(),
            _ => false,
        }
    }

    /// Whether this value, or anything inside it, is unknown.
    pub fn contains_unknowns(&self) -> bool {
        match self {
            PropertyValue::Unknown(_) => true,
            PropertyValue::Output(o) => o.value.as_ref().is_none_or(|v| v.contains_unknowns()),
            PropertyValue::Secret(inner) => inner.contains_unknowns(),
            PropertyValue::Array(items) => items.iter().any(PropertyValue::contains_unknowns),
            PropertyValue::Object(map) => map.values().any(PropertyValue::contains_unknowns),
            PropertyValue::ResourceReference(r) => {
                r.id.as_ref().is_some_and(|id| id.contains_unknowns())
            }
            _ => false,
        }
    }

    /// The value with secret and output wrappers removed at the top level, with whether any
    /// wrapper made it secret. Unknown outputs become [`PropertyValue::Unknown`].
    pub fn unwrap_secret(&self) -> (&PropertyValue, bool) {
        const UNKNOWN: PropertyValue = PropertyValue::Unknown(UnknownKind::Any);
        match self {
            PropertyValue::Secret(inner) => (inner.unwrap_secret().0, true),
            PropertyValue::Output(o) => match &o.value {
                Some(v) => {
                    let (inner, secret) = v.unwrap_secret();
                    (inner, secret || o.secret)
                }
                None => (&UNKNOWN, o.secret),
            },
            other => (other, false),
        }
    }

    /// A copy with every secret and output wrapper removed, at every depth: what a provider
    /// that did not negotiate secrets must answer with.
    pub fn reveal(&self) -> PropertyValue {
        match self {
            PropertyValue::Secret(inner) => inner.reveal(),
            PropertyValue::Output(o) => match &o.value {
                Some(v) => v.reveal(),
                None => PropertyValue::Unknown(UnknownKind::Any),
            },
            PropertyValue::Array(items) => {
                PropertyValue::Array(items.iter().map(PropertyValue::reveal).collect())
            }
            PropertyValue::Object(map) => {
                PropertyValue::Object(map.iter().map(|(k, v)| (k.clone(), v.reveal())).collect())
            }
            other => other.clone(),
        }
    }

    /// The string inside, if this is a plain string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropertyValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number inside, if this is a plain number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PropertyValue::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean inside, if this is a plain boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            PropertyValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The map inside, if this is a plain object.
    pub fn as_object(&self) -> Option<&PropertyMap> {
        match self {
            PropertyValue::Object(m) => Some(m),
            _ => None,
        }
    }

    /// A short name of this value's kind, for error messages (never the value itself).
    pub fn kind_name(&self) -> &'static str {
        match self {
            PropertyValue::Null => "null",
            PropertyValue::Bool(_) => "bool",
            PropertyValue::Number(_) => "number",
            PropertyValue::String(_) => "string",
            PropertyValue::Array(_) => "array",
            PropertyValue::Object(_) => "object",
            PropertyValue::Secret(_) => "secret",
            PropertyValue::Unknown(_) => "unknown",
            PropertyValue::Output(_) => "output",
            PropertyValue::Asset(_) => "asset",
            PropertyValue::Archive(_) => "archive",
            PropertyValue::ResourceReference(_) => "resource reference",
        }
    }
}

impl fmt::Debug for PropertyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyValue::Null => f.write_str("null"),
            PropertyValue::Bool(b) => write!(f, "{b}"),
            PropertyValue::Number(n) => write!(f, "{n}"),
            PropertyValue::String(s) => write!(f, "{s:?}"),
            PropertyValue::Array(items) => f.debug_list().entries(items).finish(),
            PropertyValue::Object(map) => f.debug_map().entries(map).finish(),
            PropertyValue::Secret(_) => f.write_str("[secret]"),
            PropertyValue::Unknown(kind) => write!(f, "[unknown {kind:?}]"),
            PropertyValue::Output(o) => o.fmt(f),
            PropertyValue::Asset(a) => a.fmt(f),
            PropertyValue::Archive(a) => a.fmt(f),
            PropertyValue::ResourceReference(r) => r.fmt(f),
        }
    }
}

impl fmt::Debug for OutputValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Output");
        match (&self.value, self.secret) {
            (_, true) => s.field("value", &"[secret]"),
            (Some(v), false) => s.field("value", v),
            (None, false) => s.field("value", &"[unknown]"),
        };
        s.field("dependencies", &self.dependencies).finish()
    }
}

macro_rules! from_impl {
    ($($t:ty => $variant:ident $(as $cast:ty)?),* $(,)?) => {$(
        impl From<$t> for PropertyValue {
            fn from(v: $t) -> Self {
                PropertyValue::$variant((v $(as $cast)?).into())
            }
        }
    )*};
}

from_impl! {
    bool => Bool,
    f64 => Number,
    i32 => Number as f64,
    i64 => Number as f64,
    u32 => Number as f64,
    String => String,
    &str => String,
    PropertyMap => Object,
    Asset => Asset,
    Archive => Archive,
    ResourceReference => ResourceReference,
}

impl<T: Into<PropertyValue>> From<Vec<T>> for PropertyValue {
    fn from(items: Vec<T>) -> Self {
        PropertyValue::Array(items.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<PropertyValue>> From<Option<T>> for PropertyValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(PropertyValue::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let v = PropertyValue::Object(PropertyMap::from([(
            "password".to_string(),
            PropertyValue::secret("hunter2".into()),
        )]));
        let shown = format!("{v:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[secret]"));
        let out = PropertyValue::Output(OutputValue {
            value: Some(Box::new("hunter2".into())),
            secret: true,
            dependencies: vec![],
        });
        assert!(!format!("{out:?}").contains("hunter2"));
    }

    #[test]
    fn secrets_and_unknowns_are_found_at_depth() {
        let v: PropertyValue = vec![PropertyValue::Object(PropertyMap::from([(
            "k".to_string(),
            PropertyValue::secret(1.0.into()),
        )]))]
        .into();
        assert!(v.contains_secrets());
        assert!(!v.is_secret());
        assert!(!v.contains_unknowns());
        let u: PropertyValue = vec![PropertyValue::Unknown(UnknownKind::Number)].into();
        assert!(u.contains_unknowns());
        assert_eq!(
            PropertyValue::secret(PropertyValue::secret("x".into())),
            PropertyValue::secret("x".into())
        );
    }

    #[test]
    fn reveal_strips_every_wrapper() {
        let v = PropertyValue::Object(PropertyMap::from([(
            "a".to_string(),
            PropertyValue::Array(vec![PropertyValue::secret("s".into())]),
        )]));
        let revealed = v.reveal();
        assert!(!revealed.contains_secrets());
        assert_eq!(
            revealed.as_object().unwrap()["a"],
            PropertyValue::Array(vec!["s".into()])
        );
    }
}
