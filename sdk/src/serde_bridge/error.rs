//! The conversion error: what went wrong, and at which property path.

use std::fmt;

/// What kind of problem a [`ConvertError`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConvertErrorKind {
    /// The value has the wrong kind (a string where a number is expected, a fractional number
    /// for an integer field, a number out of the field's range).
    TypeMismatch,
    /// A required property is absent.
    MissingProperty,
    /// A property the type does not know (for types with `#[serde(deny_unknown_fields)]`).
    UnknownProperty,
    /// The value is not known yet (an unknown during preview) and the type cannot hold that.
    Unknown,
    /// The value has the right kind but is not acceptable (an unknown enum variant, a failed
    /// validation in a `Deserialize` impl).
    InvalidValue,
    /// The value is an asset, archive or resource reference, which this type cannot hold.
    Unsupported,
    /// A value that cannot be written as a property value (a number beyond 2^53, a map with
    /// non-string keys).
    Unrepresentable,
}

/// A value that could not be converted between a [`PropertyMap`](crate::PropertyMap) and a
/// serde type. The message never contains a property's value, so it is safe to log and to
/// show even when the value is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// Path of the property in Pulumi's syntax, such as `rules[2].port` or `tags["env"]`;
    /// empty for the whole value.
    pub path: String,
    /// What kind of problem.
    pub kind: ConvertErrorKind,
    /// What is wrong (without the path).
    pub message: String,
    /// Whether `path` has been filled in (internal: errors get their path on the way out).
    pub(crate) located: bool,
    /// For missing and unknown properties: the property's name, until the path is known.
    pub(crate) field: Option<String>,
}

impl ConvertError {
    pub(crate) fn new(kind: ConvertErrorKind, message: impl Into<String>) -> Self {
        ConvertError {
            path: String::new(),
            kind,
            message: message.into(),
            located: false,
            field: None,
        }
    }

    pub(crate) fn located(mut self, path: impl FnOnce() -> String) -> Self {
        if !self.located {
            self.path = path();
            self.located = true;
        }
        self
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "property `{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConvertError {}

impl From<ConvertError> for crate::Error {
    fn from(e: ConvertError) -> Self {
        crate::Error::InvalidRequest(e.to_string())
    }
}

/// Names the kind of an unexpected value without showing the value.
fn unexpected(u: &serde::de::Unexpected<'_>) -> String {
    use serde::de::Unexpected as U;
    match u {
        U::Bool(_) => "a boolean".into(),
        U::Unsigned(_) | U::Signed(_) | U::Float(_) => "a number".into(),
        U::Char(_) => "a character".into(),
        U::Str(_) => "a string".into(),
        U::Bytes(_) => "bytes".into(),
        U::Unit => "null".into(),
        U::Option => "an optional value".into(),
        U::NewtypeStruct => "a newtype".into(),
        U::Seq => "an array".into(),
        U::Map => "an object".into(),
        U::Enum => "an enum".into(),
        U::UnitVariant | U::NewtypeVariant | U::TupleVariant | U::StructVariant => {
            "an enum variant".into()
        }
        U::Other(other) => (*other).to_string(),
    }
}

impl serde::de::Error for ConvertError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ConvertError::new(ConvertErrorKind::InvalidValue, msg.to_string())
    }

    fn invalid_type(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Self {
        ConvertError::new(
            ConvertErrorKind::TypeMismatch,
            format!("expected {exp}, got {}", unexpected(&unexp)),
        )
    }

    fn invalid_value(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Self {
        ConvertError::new(
            ConvertErrorKind::InvalidValue,
            format!("expected {exp}, got another {}", unexpected(&unexp)),
        )
    }

    fn invalid_length(len: usize, exp: &dyn serde::de::Expected) -> Self {
        ConvertError::new(
            ConvertErrorKind::TypeMismatch,
            format!("expected {exp}, got {len} elements"),
        )
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        ConvertError::new(
            ConvertErrorKind::InvalidValue,
            format!(
                "`{variant}` is not one of the accepted values: {}",
                quoted_list(expected)
            ),
        )
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let mut e = ConvertError::new(
            ConvertErrorKind::UnknownProperty,
            format!(
                "unknown property; the accepted properties are {}",
                quoted_list(expected)
            ),
        );
        e.field = Some(field.to_string());
        e
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = ConvertError::new(
            ConvertErrorKind::MissingProperty,
            "missing required property",
        );
        e.field = Some(field.to_string());
        e
    }
}

impl serde::ser::Error for ConvertError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ConvertError::new(ConvertErrorKind::Unrepresentable, msg.to_string())
    }
}

fn quoted_list(items: &[&str]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
