//! A serde `Serializer` producing [`PropertyValue`]s.

use serde::ser::{self, Serialize};

use super::error::{ConvertError, ConvertErrorKind};
use super::{MAYBE_NEWTYPE, SECRET_NEWTYPE};
use crate::value::{PropertyMap, PropertyValue};

type Result<T> = std::result::Result<T, ConvertError>;

const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Serializes into a [`PropertyValue`].
pub(crate) struct Ser;

fn exact(n: f64) -> Result<PropertyValue> {
    if n.abs() > MAX_EXACT {
        return Err(ConvertError::new(
            ConvertErrorKind::Unrepresentable,
            "an integer beyond 2^53 cannot be carried exactly as a Pulumi number; use a string",
        ));
    }
    Ok(PropertyValue::Number(n))
}

impl ser::Serializer for Ser {
    type Ok = PropertyValue;
    type Error = ConvertError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = VariantSer<SeqSer>;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = VariantSer<MapSer>;

    fn serialize_bool(self, v: bool) -> Result<PropertyValue> {
        Ok(PropertyValue::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<PropertyValue> {
        Ok(PropertyValue::Number(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<PropertyValue> {
        Ok(PropertyValue::Number(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<PropertyValue> {
        Ok(PropertyValue::Number(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<PropertyValue> {
        exact(v as f64)
    }
    fn serialize_i128(self, v: i128) -> Result<PropertyValue> {
        exact(v as f64)
    }
    fn serialize_u8(self, v: u8) -> Result<PropertyValue> {
        Ok(PropertyValue::Number(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<PropertyValue> {
        Ok(PropertyValue::Number(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<PropertyValue> {
        Ok(PropertyValue::Number(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<PropertyValue> {
        exact(v as f64)
    }
    fn serialize_u128(self, v: u128) -> Result<PropertyValue> {
        exact(v as f64)
    }
    fn serialize_f32(self, v: f32) -> Result<PropertyValue> {
        Ok(PropertyValue::Number(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<PropertyValue> {
        Ok(PropertyValue::Number(v))
    }
    fn serialize_char(self, v: char) -> Result<PropertyValue> {
        Ok(PropertyValue::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<PropertyValue> {
        Ok(PropertyValue::String(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<PropertyValue> {
        Ok(PropertyValue::Array(
            v.iter()
                .map(|b| PropertyValue::Number((*b).into()))
                .collect(),
        ))
    }
    fn serialize_none(self) -> Result<PropertyValue> {
        Ok(PropertyValue::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<PropertyValue> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<PropertyValue> {
        Ok(PropertyValue::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<PropertyValue> {
        Ok(PropertyValue::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<PropertyValue> {
        Ok(PropertyValue::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<PropertyValue> {
        if name == MAYBE_NEWTYPE {
            return Ok(PropertyValue::Unknown(crate::value::UnknownKind::Any));
        }
        let inner = value.serialize(Ser)?;
        if name == SECRET_NEWTYPE {
            return Ok(PropertyValue::secret(inner));
        }
        super::asset::special(name, inner)
            .map_err(|e| ConvertError::new(ConvertErrorKind::InvalidValue, e))
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<PropertyValue> {
        Ok(PropertyValue::Object(PropertyMap::from([(
            variant.to_string(),
            value.serialize(Ser)?,
        )])))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer> {
        Ok(SeqSer {
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqSer> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSer<SeqSer>> {
        Ok(VariantSer {
            variant,
            inner: SeqSer {
                items: Vec::with_capacity(len),
            },
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer> {
        Ok(MapSer {
            map: PropertyMap::new(),
            key: None,
            skip_nulls: false,
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapSer> {
        Ok(MapSer {
            map: PropertyMap::new(),
            key: None,
            skip_nulls: true,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantSer<MapSer>> {
        Ok(VariantSer {
            variant,
            inner: MapSer {
                map: PropertyMap::new(),
                key: None,
                skip_nulls: true,
            },
        })
    }
}

/// Builds an array.
pub(crate) struct SeqSer {
    items: Vec<PropertyValue>,
}

impl ser::SerializeSeq for SeqSer {
    type Ok = PropertyValue;
    type Error = ConvertError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        let path = self.items.len();
        self.items
            .push(value.serialize(Ser).map_err(|e| prefix_index(e, path))?);
        Ok(())
    }
    fn end(self) -> Result<PropertyValue> {
        Ok(PropertyValue::Array(self.items))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = PropertyValue;
    type Error = ConvertError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<PropertyValue> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = PropertyValue;
    type Error = ConvertError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<PropertyValue> {
        ser::SerializeSeq::end(self)
    }
}

/// Builds an object. Struct fields that serialize to null (`None`) are left out.
pub(crate) struct MapSer {
    map: PropertyMap,
    key: Option<String>,
    skip_nulls: bool,
}

impl MapSer {
    fn insert(&mut self, key: String, value: PropertyValue) {
        if !(self.skip_nulls && value == PropertyValue::Null) {
            self.map.insert(key, value);
        }
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = PropertyValue;
    type Error = ConvertError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.key = Some(match key.serialize(Ser)? {
            PropertyValue::String(s) => s,
            PropertyValue::Number(n) => n.to_string(),
            PropertyValue::Bool(b) => b.to_string(),
            other => {
                return Err(ConvertError::new(
                    ConvertErrorKind::Unrepresentable,
                    format!(
                        "object keys must be strings, numbers or booleans, not {}",
                        other.kind_name()
                    ),
                ));
            }
        });
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .expect("serialize_value follows serialize_key");
        let value = value
            .serialize(Ser)
            .map_err(|e| prefix_key(e, &key, false))?;
        self.insert(key, value);
        Ok(())
    }
    fn end(self) -> Result<PropertyValue> {
        Ok(PropertyValue::Object(self.map))
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = PropertyValue;
    type Error = ConvertError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        let value = value.serialize(Ser).map_err(|e| prefix_key(e, key, true))?;
        self.insert(key.to_string(), value);
        Ok(())
    }
    fn end(self) -> Result<PropertyValue> {
        Ok(PropertyValue::Object(self.map))
    }
}

/// Builds `{variant: inner}`.
pub(crate) struct VariantSer<S> {
    variant: &'static str,
    inner: S,
}

impl ser::SerializeTupleVariant for VariantSer<SeqSer> {
    type Ok = PropertyValue;
    type Error = ConvertError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(&mut self.inner, value)
    }
    fn end(self) -> Result<PropertyValue> {
        let inner = ser::SerializeSeq::end(self.inner)?;
        Ok(PropertyValue::Object(PropertyMap::from([(
            self.variant.to_string(),
            inner,
        )])))
    }
}

impl ser::SerializeStructVariant for VariantSer<MapSer> {
    type Ok = PropertyValue;
    type Error = ConvertError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> Result<PropertyValue> {
        let inner = ser::SerializeStruct::end(self.inner)?;
        Ok(PropertyValue::Object(PropertyMap::from([(
            self.variant.to_string(),
            inner,
        )])))
    }
}

/// Errors are built innermost first; each level puts its own segment in front.
fn prefix_key(mut e: ConvertError, key: &str, field: bool) -> ConvertError {
    let segment = if field {
        crate::wire::values::join_key("", key)
    } else {
        format!("[{key:?}]")
    };
    e.path = if e.path.is_empty() {
        segment
    } else if e.path.starts_with('[') {
        format!("{segment}{}", e.path)
    } else {
        format!("{segment}.{}", e.path)
    };
    e.located = true;
    e
}

fn prefix_index(mut e: ConvertError, index: usize) -> ConvertError {
    e.path = if e.path.is_empty() || e.path.starts_with('[') {
        format!("[{index}]{}", e.path)
    } else {
        format!("[{index}].{}", e.path)
    };
    e.located = true;
    e
}
