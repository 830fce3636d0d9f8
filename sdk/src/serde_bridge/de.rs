//! A serde `Deserializer` over [`PropertyValue`]s.
//!
//! Secret and output wrappers are looked through (a plain field reads a secret's value; a
//! [`Secret`](super::Secret) field keeps it secret); whole numbers read into integer fields;
//! every error carries the path of the property it concerns.

use std::collections::HashSet;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::error::{ConvertError, ConvertErrorKind};
use super::{MAYBE_NEWTYPE, SECRET_NEWTYPE};
use crate::value::{ArchiveSource, AssetSource, PropertyMap, PropertyValue};
use crate::wire::values::join_key;

type Result<T> = std::result::Result<T, ConvertError>;

/// Where a value sits in the tree being read; rendered into a path only when needed.
#[derive(Clone, Copy)]
pub(crate) enum Path<'s> {
    Root,
    Field(&'s Path<'s>, &'s str),
    Key(&'s Path<'s>, &'s str),
    Index(&'s Path<'s>, usize),
}

impl Path<'_> {
    pub(crate) fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Field(parent, name) => join_key(&parent.render(), name),
            Path::Key(parent, key) => format!("{}[{key:?}]", parent.render()),
            Path::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

/// How lenient a read is (used by Check to find every bad property in one go).
#[derive(Default)]
pub(crate) struct Options {
    /// Unknown values read as placeholders instead of failing.
    pub unknowns_as_placeholders: bool,
    /// Paths whose value (present or missing) reads as a placeholder.
    pub placeholders: HashSet<String>,
    /// Paths of properties to skip.
    pub skipped: HashSet<String>,
}

impl Options {
    fn is_lenient(&self) -> bool {
        !self.placeholders.is_empty() || !self.skipped.is_empty()
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Src<'de> {
    Value(&'de PropertyValue),
    Map(&'de PropertyMap),
}

/// The deserializer for one value.
pub(crate) struct De<'s, 'de> {
    pub src: Src<'de>,
    pub path: Path<'s>,
    pub secret: bool,
    pub opts: &'s Options,
}

/// A value with its wrappers removed.
enum View<'de> {
    Null,
    Bool(bool),
    Number(f64),
    Str(&'de str),
    Array(&'de [PropertyValue]),
    Object(&'de PropertyMap),
    Placeholder,
    Special(&'static str),
    /// An asset, archive or resource reference read as an object of strings.
    Fields(&'static str, Vec<(&'static str, &'de str)>),
}

static NULL: PropertyValue = PropertyValue::Null;

impl<'s, 'de: 's> De<'s, 'de> {
    pub(crate) fn root(src: Src<'de>, opts: &'s Options) -> Self {
        De {
            src,
            path: Path::Root,
            secret: false,
            opts,
        }
    }

    /// Looks through wrappers; decides whether this value is a placeholder.
    fn view(&mut self) -> Result<View<'de>> {
        if self.opts.is_lenient() && self.opts.placeholders.contains(&self.path.render()) {
            return Ok(View::Placeholder);
        }
        let mut v = match self.src {
            Src::Map(m) => return Ok(View::Object(m)),
            Src::Value(v) => v,
        };
        loop {
            match v {
                PropertyValue::Secret(inner) => {
                    self.secret = true;
                    v = inner;
                }
                PropertyValue::Output(o) => {
                    self.secret |= o.secret;
                    match &o.value {
                        Some(inner) => v = inner,
                        None => return self.unknown(),
                    }
                }
                PropertyValue::Unknown(_) => return self.unknown(),
                PropertyValue::Null => return Ok(View::Null),
                PropertyValue::Bool(b) => return Ok(View::Bool(*b)),
                PropertyValue::Number(n) => return Ok(View::Number(*n)),
                PropertyValue::String(s) => return Ok(View::Str(s)),
                PropertyValue::Array(items) => return Ok(View::Array(items)),
                PropertyValue::Object(map) => return Ok(View::Object(map)),
                PropertyValue::Asset(a) => {
                    let mut fields = vec![match &a.source {
                        AssetSource::Text(t) => ("text", t.as_str()),
                        AssetSource::Path(p) => ("path", p.as_str()),
                        AssetSource::Uri(u) => ("uri", u.as_str()),
                    }];
                    fields.extend(a.hash.as_deref().map(|h| ("hash", h)));
                    return Ok(View::Fields("an asset", fields));
                }
                PropertyValue::Archive(a) => {
                    let mut fields = match &a.source {
                        ArchiveSource::Path(p) => vec![("path", p.as_str())],
                        ArchiveSource::Uri(u) => vec![("uri", u.as_str())],
                        ArchiveSource::Assets(_) => {
                            return Ok(View::Special("an archive of assets"));
                        }
                    };
                    fields.extend(a.hash.as_deref().map(|h| ("hash", h)));
                    return Ok(View::Fields("an archive", fields));
                }
                PropertyValue::ResourceReference(r) => {
                    let mut fields = vec![("urn", r.urn.as_str())];
                    if let Some(PropertyValue::String(id)) = r.id.as_deref() {
                        fields.push(("id", id.as_str()));
                    }
                    fields.extend(r.package_version.as_deref().map(|v| ("packageVersion", v)));
                    return Ok(View::Fields("a resource reference", fields));
                }
            }
        }
    }

    /// Whether this value is unknown (looking through secret and output wrappers), and is
    /// not read as a placeholder.
    fn is_unknown_value(&self) -> bool {
        let placeholder =
            self.opts.is_lenient() && self.opts.placeholders.contains(&self.path.render());
        matches!(self.src, Src::Value(v) if v.is_unknown()) && !placeholder
    }

    fn unknown(&self) -> Result<View<'de>> {
        if self.opts.unknowns_as_placeholders {
            Ok(View::Placeholder)
        } else {
            Err(ConvertError::new(
                ConvertErrorKind::Unknown,
                "the value is not known yet (it is computed during the deployment)",
            ))
        }
    }

    fn locate(&self, e: ConvertError) -> ConvertError {
        let mut e = e;
        if !e.located {
            if let (Some(field), ConvertErrorKind::MissingProperty) = (&e.field, &e.kind) {
                let field = field.clone();
                return e.located(|| Path::Field(&self.path, &field).render());
            }
            if self.secret && matches!(e.kind, ConvertErrorKind::InvalidValue) {
                e.message =
                    "the value is not acceptable (details not shown: the value is secret)".into();
            }
        }
        e.located(|| self.path.render())
    }

    fn mismatch(&self, expected: &str, view: &View<'_>) -> ConvertError {
        let got = match view {
            View::Null => "null",
            View::Bool(_) => "a boolean",
            View::Number(_) => "a number",
            View::Str(_) => "a string",
            View::Array(_) => "an array",
            View::Object(_) => "an object",
            View::Placeholder => "a placeholder",
            View::Special(kind) | View::Fields(kind, _) => kind,
        };
        let kind = if matches!(view, View::Special(_) | View::Fields(..)) {
            ConvertErrorKind::Unsupported
        } else {
            ConvertErrorKind::TypeMismatch
        };
        self.locate(ConvertError::new(
            kind,
            format!("expected {expected}, got {got}"),
        ))
    }

    fn child<'c>(&'c self, value: &'de PropertyValue, path: Path<'c>) -> De<'c, 'de> {
        De {
            src: Src::Value(value),
            path,
            secret: self.secret,
            opts: self.opts,
        }
    }

    fn whole(&self, n: f64, min: f64, max: f64, expected: &str) -> Result<f64> {
        if n.fract() != 0.0 || !n.is_finite() {
            return Err(self.locate(ConvertError::new(
                ConvertErrorKind::TypeMismatch,
                format!("expected {expected}, got a number with a fractional part"),
            )));
        }
        if n < min || n > max {
            return Err(self.locate(ConvertError::new(
                ConvertErrorKind::TypeMismatch,
                format!("expected {expected}, got a number out of its range ({min} to {max})"),
            )));
        }
        Ok(n)
    }

    fn integer<V: Visitor<'de>>(
        mut self,
        visitor: V,
        min: f64,
        max: f64,
        expected: &str,
        signed: bool,
    ) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder => {
                if signed {
                    visitor.visit_i64(0)
                } else {
                    visitor.visit_u64(0)
                }
            }
            View::Number(n) => {
                let n = self.whole(n, min, max, expected)?;
                if signed {
                    visitor.visit_i64(n as i64)
                } else {
                    visitor.visit_u64(n as u64)
                }
            }
            other => Err(self.mismatch(expected, &other)),
        }
        .map_err(|e| self.locate(e))
    }
}

macro_rules! ints {
    ($($method:ident => $ty:ty, $signed:expr;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let min = <$ty>::MIN as f64;
            // Beyond 2^53 a double cannot say exactly which integer it is.
            let max = (<$ty>::MAX as f64).min(9_007_199_254_740_992.0);
            let min = min.max(-9_007_199_254_740_992.0);
            self.integer(visitor, min, max, concat!("a whole number (", stringify!($ty), ")"), $signed)
        }
    )*};
}

impl<'s, 'de: 's> de::Deserializer<'de> for De<'s, 'de> {
    type Error = ConvertError;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        let r = match self.view()? {
            View::Placeholder | View::Null => visitor.visit_unit(),
            View::Bool(b) => visitor.visit_bool(b),
            View::Number(n) => {
                if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
                    if n >= 0.0 {
                        visitor.visit_u64(n as u64)
                    } else {
                        visitor.visit_i64(n as i64)
                    }
                } else {
                    visitor.visit_f64(n)
                }
            }
            View::Str(s) => visitor.visit_borrowed_str(s),
            View::Array(items) => visitor.visit_seq(Seq {
                de: &self,
                items: items.iter().enumerate(),
                len: None,
            }),
            View::Object(map) => visitor.visit_map(Map::new(&self, map, None)),
            View::Fields(_, fields) => visitor.visit_map(de::value::MapDeserializer::new(
                fields.into_iter().map(|(k, v)| (k, StrValue(v))),
            )),
            other @ View::Special(_) => Err(self.mismatch("a plain value", &other)),
        };
        r.map_err(|e| self.locate(e))
    }

    ints! {
        deserialize_i8 => i8, true;
        deserialize_i16 => i16, true;
        deserialize_i32 => i32, true;
        deserialize_i64 => i64, true;
        deserialize_u8 => u8, false;
        deserialize_u16 => u16, false;
        deserialize_u32 => u32, false;
        deserialize_u64 => u64, false;
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder => visitor.visit_f64(0.0),
            View::Number(n) => visitor.visit_f64(n),
            other => Err(self.mismatch("a number", &other)),
        }
        .map_err(|e| self.locate(e))
    }

    fn deserialize_bool<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder => visitor.visit_bool(false),
            View::Bool(b) => visitor.visit_bool(b),
            other => Err(self.mismatch("a boolean", &other)),
        }
        .map_err(|e| self.locate(e))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder => visitor.visit_borrowed_str(""),
            View::Str(s) => visitor.visit_borrowed_str(s),
            other => Err(self.mismatch("a string", &other)),
        }
        .map_err(|e| self.locate(e))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        if self.is_unknown_value() && !self.opts.unknowns_as_placeholders {
            // Present but unknown: `Some`, so that an `Option<Maybe<T>>` reads it as unknown
            // (a plain `T` inside fails as it would without the `Option`).
            return visitor.visit_some(self);
        }
        let secret = self.secret;
        let path = self.path;
        match self.view()? {
            View::Placeholder | View::Null => visitor.visit_none(),
            _ => {
                // The inner read starts again from the wrappers, so a `Secret` inside sees them.
                self.secret = secret;
                visitor.visit_some(self)
            }
        }
        .map_err(|e| e.located(|| path.render()))
    }

    fn deserialize_unit<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder | View::Null => visitor.visit_unit(),
            other => Err(self.mismatch("null", &other)),
        }
        .map_err(|e| self.locate(e))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        if name == SECRET_NEWTYPE {
            // `Secret<T>`: the inner value is read through the same wrappers.
            return visitor.visit_newtype_struct(self);
        }
        if name == MAYBE_NEWTYPE && self.is_unknown_value() {
            // `Maybe<T>`: an unknown value is `Maybe::Unknown`, not an error.
            return visitor.visit_unit();
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder => visitor.visit_seq(Placeholders { remaining: 0 }),
            View::Array(items) => visitor.visit_seq(Seq {
                de: &self,
                items: items.iter().enumerate(),
                len: None,
            }),
            other => Err(self.mismatch("an array", &other)),
        }
        .map_err(|e| self.locate(e))
    }

    fn deserialize_tuple<V: Visitor<'de>>(mut self, len: usize, visitor: V) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder => visitor.visit_seq(Placeholders { remaining: len }),
            View::Array(items) => visitor.visit_seq(Seq {
                de: &self,
                items: items.iter().enumerate(),
                len: Some(len),
            }),
            other => Err(self.mismatch("an array", &other)),
        }
        .map_err(|e| self.locate(e))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder => visitor.visit_map(PlaceholderFields { fields: [].iter() }),
            View::Object(map) => visitor.visit_map(Map::new(&self, map, None)),
            View::Fields(_, fields) => visitor.visit_map(de::value::MapDeserializer::new(
                fields.into_iter().map(|(k, v)| (k, StrValue(v))),
            )),
            other => Err(self.mismatch("an object", &other)),
        }
        .map_err(|e| self.locate(e))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder => visitor.visit_map(PlaceholderFields {
                fields: fields.iter(),
            }),
            View::Object(map) => visitor.visit_map(Map::new(&self, map, Some(fields))),
            View::Fields(_, pairs) => visitor.visit_map(de::value::MapDeserializer::new(
                pairs.into_iter().map(|(k, v)| (k, StrValue(v))),
            )),
            other => Err(self.mismatch("an object", &other)),
        }
        .map_err(|e| self.locate(e))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.view()? {
            View::Placeholder => visitor.visit_enum(PlaceholderEnum {
                variant: variants.first().copied().unwrap_or(""),
            }),
            View::Str(s) => visitor.visit_enum(s.into_deserializer()),
            View::Object(map) if map.len() == 1 => {
                let (name, value) = map.iter().next().expect("one entry");
                visitor.visit_enum(Variant {
                    name,
                    value: self.child(value, Path::Field(&self.path, name)),
                })
            }
            other => Err(self.mismatch(
                "one of the accepted values (a string, or an object with one key)",
                &other,
            )),
        }
        .map_err(|e| self.locate(e))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

struct Seq<'c, 's, 'de> {
    de: &'c De<'s, 'de>,
    items: std::iter::Enumerate<std::slice::Iter<'de, PropertyValue>>,
    len: Option<usize>,
}

impl<'s, 'de: 's> de::SeqAccess<'de> for Seq<'_, 's, 'de> {
    type Error = ConvertError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        let Some((i, item)) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(&self.de.path, i);
        let child = self.de.child(item, path);
        let value = seed
            .deserialize(child)
            .map_err(|e| e.located(|| path.render()))?;
        Ok(Some(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len.unwrap_or(self.items.len()).min(self.items.len()))
    }
}

/// Reads an object, as a struct (with `fields`) or a map.
struct Map<'c, 's, 'de> {
    de: &'c De<'s, 'de>,
    entries: std::collections::btree_map::Iter<'de, String, PropertyValue>,
    fields: Option<&'static [&'static str]>,
    map: &'de PropertyMap,
    current: Option<(&'de String, &'de PropertyValue)>,
    /// Lenient reads: missing fields still to be offered as placeholders.
    missing: Vec<&'static str>,
    offering_missing: Option<&'static str>,
}

impl<'c, 's, 'de: 's> Map<'c, 's, 'de> {
    fn new(
        de: &'c De<'s, 'de>,
        map: &'de PropertyMap,
        fields: Option<&'static [&'static str]>,
    ) -> Self {
        let missing = match (fields, de.opts.is_lenient()) {
            (Some(fields), true) => fields
                .iter()
                .copied()
                .filter(|f| {
                    !map.contains_key(*f)
                        && de
                            .opts
                            .placeholders
                            .contains(&Path::Field(&de.path, f).render())
                })
                .collect(),
            _ => Vec::new(),
        };
        Map {
            de,
            entries: map.iter(),
            fields,
            map,
            current: None,
            missing,
            offering_missing: None,
        }
    }

    fn path_of<'k>(&'k self, key: &'de str) -> Path<'k> {
        if self.fields.is_some() {
            Path::Field(&self.de.path, key)
        } else {
            Path::Key(&self.de.path, key)
        }
    }
}

impl<'s, 'de: 's> de::MapAccess<'de> for Map<'_, 's, 'de> {
    type Error = ConvertError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        loop {
            match self.entries.next() {
                Some((key, value)) => {
                    if self.de.opts.is_lenient()
                        && self.de.opts.skipped.contains(&self.path_of(key).render())
                    {
                        continue;
                    }
                    self.current = Some((key, value));
                    let path = self.path_of(key);
                    let k = seed
                        .deserialize(de::value::BorrowedStrDeserializer::<ConvertError>::new(key))
                        .map_err(|e| e.located(|| path.render()))?;
                    return Ok(Some(k));
                }
                None => {
                    let Some(field) = self.missing.pop() else {
                        return Ok(None);
                    };
                    self.offering_missing = Some(field);
                    return seed
                        .deserialize(de::value::BorrowedStrDeserializer::<ConvertError>::new(
                            field,
                        ))
                        .map(Some);
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        if let Some(field) = self.offering_missing.take() {
            let path = Path::Field(&self.de.path, field);
            return seed.deserialize(De {
                src: Src::Value(&NULL),
                path,
                secret: self.de.secret,
                opts: self.de.opts,
            });
        }
        let (key, value) = self
            .current
            .take()
            .expect("next_value_seed follows next_key_seed");
        let path = self.path_of(key);
        let child = self.de.child(value, path);
        seed.deserialize(child)
            .map_err(|e| e.located(|| path.render()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.map.len())
    }
}

struct Variant<'c, 'de> {
    name: &'de str,
    value: De<'c, 'de>,
}

impl<'c, 'de: 'c> de::EnumAccess<'de> for Variant<'c, 'de> {
    type Error = ConvertError;
    type Variant = De<'c, 'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, De<'c, 'de>)> {
        let v = seed.deserialize(de::value::BorrowedStrDeserializer::<ConvertError>::new(
            self.name,
        ))?;
        Ok((v, self.value))
    }
}

impl<'s, 'de: 's> de::VariantAccess<'de> for De<'s, 'de> {
    type Error = ConvertError;

    fn unit_variant(self) -> Result<()> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_tuple(self, len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

/// Stands in for a value already reported as bad (or not known yet), so that reading can go on
/// and find the other bad values.
struct Placeholder;

impl<'de> de::Deserializer<'de> for Placeholder {
    type Error = ConvertError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_bool(false)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i64(0)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_f64(0.0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str("")
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_none()
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Placeholders { remaining: 0 })
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Placeholders { remaining: len })
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_seq(Placeholders { remaining: len })
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_map(PlaceholderFields { fields: [].iter() })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_map(PlaceholderFields {
            fields: fields.iter(),
        })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_enum(PlaceholderEnum {
            variant: variants.first().copied().unwrap_or(""),
        })
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! { unit unit_struct ignored_any bytes byte_buf identifier }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_char('?')
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }
}

struct Placeholders {
    remaining: usize,
}

impl<'de> de::SeqAccess<'de> for Placeholders {
    type Error = ConvertError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(Placeholder).map(Some)
    }
}

struct PlaceholderFields {
    fields: std::slice::Iter<'static, &'static str>,
}

impl<'de> de::MapAccess<'de> for PlaceholderFields {
    type Error = ConvertError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.fields.next() {
            Some(f) => seed
                .deserialize(de::value::BorrowedStrDeserializer::<ConvertError>::new(f))
                .map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(Placeholder)
    }
}

struct PlaceholderEnum {
    variant: &'static str,
}

impl<'de> de::EnumAccess<'de> for PlaceholderEnum {
    type Error = ConvertError;
    type Variant = Placeholder;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Placeholder)> {
        let v = seed.deserialize(de::value::BorrowedStrDeserializer::<ConvertError>::new(
            self.variant,
        ))?;
        Ok((v, Placeholder))
    }
}

impl<'de> de::VariantAccess<'de> for Placeholder {
    type Error = ConvertError;
    fn unit_variant(self) -> Result<()> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(Placeholder)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Placeholders { remaining: len })
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_map(PlaceholderFields {
            fields: fields.iter(),
        })
    }
}

/// A string field of an asset, archive or resource reference.
pub(crate) struct StrValue<'de>(&'de str);

impl<'de> de::Deserializer<'de> for StrValue<'de> {
    type Error = ConvertError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, ConvertError> for StrValue<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}
