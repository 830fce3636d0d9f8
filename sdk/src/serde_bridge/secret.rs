//! [`Secret<T>`]: a field type whose value is always sent as a secret.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SECRET_NEWTYPE;

/// A value that is always secret: it is written as a Pulumi secret, the schema marks the
/// property `secret: true`, and `Debug` never shows it.
///
/// Reading accepts secret and plain values alike. With other serde formats (JSON, YAML) it is
/// transparent: `Secret<String>` reads and writes a plain string.
///
/// ```
/// use provider_sdk::{Secret, PropertyValue, serde_bridge};
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Login { user: String, password: Secret<String> }
///
/// let login = Login { user: "ada".into(), password: Secret::new("hunter2".into()) };
/// let map = serde_bridge::to_property_map(&login).unwrap();
/// assert!(map["password"].is_secret());
/// assert!(!map["user"].is_secret());
/// let back: Login = serde_bridge::from_property_map(&map).unwrap();
/// assert_eq!(back.password.expose(), "hunter2");
/// assert_eq!(format!("{:?}", back.password), "[secret]");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps `value` as a secret.
    pub const fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret value. Take care not to log it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The secret value, mutably.
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// Unwraps the secret value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

impl<T: Serialize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(SECRET_NEWTYPE, &self.0)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Secret<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a secret value")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Secret<T>, D::Error> {
                T::deserialize(d).map(Secret)
            }
        }
        deserializer.deserialize_newtype_struct(SECRET_NEWTYPE, V(std::marker::PhantomData))
    }
}

/// The schema of `T`, marked with `x-pulumi-secret` (which the derived Pulumi schema turns into
/// `secret: true`).
impl<T: schemars::JsonSchema> schemars::JsonSchema for Secret<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Secret_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = generator.subschema_for::<T>();
        schema.insert(super::SECRET_SCHEMA_KEY.into(), true.into());
        schema
    }
}
