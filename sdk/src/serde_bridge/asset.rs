//! [`Asset`] and [`Archive`] as typed field types: serde and JSON Schema for the value model's
//! own types, so a field `source: Asset` reads the program's `fn::fileAsset`/`fn::stringAsset`
//! and is declared `pulumi.json#/Asset` in the schema.
//!
//! Through this module's (de)serializers they travel as [`PropertyValue::Asset`] and
//! [`PropertyValue::Archive`] (Pulumi's asset and archive sentinel objects on the wire). With
//! other serde formats they are plain objects: `{"text" | "path" | "uri": ..., "hash": ...}`
//! and `{"path" | "uri" | "assets": ..., "hash": ...}`.
//!
//! ```
//! use provider_sdk::value::{Asset, AssetSource};
//! use provider_sdk::{PropertyValue, serde_bridge};
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! struct Page { source: Asset }
//!
//! let page = Page { source: Asset { hash: None, source: AssetSource::Path("index.html".into()) } };
//! let map = serde_bridge::to_property_map(&page).unwrap();
//! assert!(matches!(map["source"], PropertyValue::Asset(_)));
//! let back: Page = serde_bridge::from_property_map(&map).unwrap();
//! assert_eq!(back.source, page.source);
//! ```
//!
//! Reading an archive made of assets (`fn::assetArchive`) into [`Archive`] is not supported
//! yet: it fails with a message saying so; path and URI archives read.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ARCHIVE_NEWTYPE, ASSET_NEWTYPE, PULUMI_REF_SCHEMA_KEY};
use crate::value::{Archive, ArchiveSource, Asset, AssetOrArchive, AssetSource, PropertyValue};

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AssetFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
}

impl Serialize for Asset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = AssetFields {
            hash: self.hash.clone(),
            ..Default::default()
        };
        match &self.source {
            AssetSource::Text(t) => fields.text = Some(t.clone()),
            AssetSource::Path(p) => fields.path = Some(p.clone()),
            AssetSource::Uri(u) => fields.uri = Some(u.clone()),
        }
        serializer.serialize_newtype_struct(ASSET_NEWTYPE, &fields)
    }
}

impl<'de> Deserialize<'de> for Asset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = AssetFields::deserialize(deserializer)?;
        let source = match (fields.text, fields.path, fields.uri) {
            (Some(t), None, None) => AssetSource::Text(t),
            (None, Some(p), None) => AssetSource::Path(p),
            (None, None, Some(u)) => AssetSource::Uri(u),
            _ => {
                return Err(serde::de::Error::custom(
                    "an asset has exactly one of `text`, `path` or `uri`",
                ));
            }
        };
        Ok(Asset {
            hash: fields.hash,
            source,
        })
    }
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ArchiveFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assets: Option<BTreeMap<String, Member>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
}

/// A member of an archive of assets, written as itself.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Member {
    Asset(Asset),
    Archive(Archive),
}

impl Serialize for Archive {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = ArchiveFields {
            hash: self.hash.clone(),
            ..Default::default()
        };
        match &self.source {
            ArchiveSource::Path(p) => fields.path = Some(p.clone()),
            ArchiveSource::Uri(u) => fields.uri = Some(u.clone()),
            ArchiveSource::Assets(members) => {
                fields.assets = Some(
                    members
                        .iter()
                        .map(|(name, m)| {
                            let m = match m {
                                AssetOrArchive::Asset(a) => Member::Asset(a.clone()),
                                AssetOrArchive::Archive(a) => Member::Archive(a.clone()),
                            };
                            (name.clone(), m)
                        })
                        .collect(),
                )
            }
        }
        serializer.serialize_newtype_struct(ARCHIVE_NEWTYPE, &fields)
    }
}

impl<'de> Deserialize<'de> for Archive {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = ArchiveFields::deserialize(deserializer)?;
        let source = match (fields.path, fields.uri, fields.assets) {
            (Some(p), None, None) => ArchiveSource::Path(p),
            (None, Some(u), None) => ArchiveSource::Uri(u),
            (None, None, Some(members)) => ArchiveSource::Assets(
                members
                    .into_iter()
                    .map(|(name, m)| {
                        let m = match m {
                            Member::Asset(a) => AssetOrArchive::Asset(a),
                            Member::Archive(a) => AssetOrArchive::Archive(a),
                        };
                        (name, m)
                    })
                    .collect(),
            ),
            _ => {
                return Err(serde::de::Error::custom(
                    "an archive has exactly one of `path`, `uri` or `assets`",
                ));
            }
        };
        Ok(Archive {
            hash: fields.hash,
            source,
        })
    }
}

impl JsonSchema for Asset {
    fn schema_name() -> Cow<'static, str> {
        "Asset".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "object", PULUMI_REF_SCHEMA_KEY: "pulumi.json#/Asset"})
    }
}

impl JsonSchema for Archive {
    fn schema_name() -> Cow<'static, str> {
        "Archive".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "object", PULUMI_REF_SCHEMA_KEY: "pulumi.json#/Archive"})
    }
}

/// The value the serializer built for a newtype named `name`, made an asset or archive when
/// the name says so (its fields came out as an object; archive members as assets and
/// archives already).
pub(super) fn special(name: &str, inner: PropertyValue) -> Result<PropertyValue, String> {
    if name != ASSET_NEWTYPE && name != ARCHIVE_NEWTYPE {
        return Ok(inner);
    }
    let PropertyValue::Object(map) = inner else {
        return Err(format!("expected fields, got {}", inner.kind_name()));
    };
    let text = |key: &str| map.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let hash = text("hash");
    if name == ASSET_NEWTYPE {
        let source = match (text("text"), text("path"), text("uri")) {
            (Some(t), _, _) => AssetSource::Text(t),
            (_, Some(p), _) => AssetSource::Path(p),
            (_, _, Some(u)) => AssetSource::Uri(u),
            _ => return Err("an asset has exactly one of `text`, `path` or `uri`".into()),
        };
        return Ok(PropertyValue::Asset(Asset { hash, source }));
    }
    let source = match (text("path"), text("uri"), map.get("assets")) {
        (Some(p), _, _) => ArchiveSource::Path(p),
        (_, Some(u), _) => ArchiveSource::Uri(u),
        (_, _, Some(PropertyValue::Object(members))) => {
            let mut out = BTreeMap::new();
            for (k, v) in members {
                let m = match v {
                    PropertyValue::Asset(a) => AssetOrArchive::Asset(a.clone()),
                    PropertyValue::Archive(a) => AssetOrArchive::Archive(a.clone()),
                    other => return Err(format!("archive member `{k}` is {}", other.kind_name())),
                };
                out.insert(k.clone(), m);
            }
            ArchiveSource::Assets(out)
        }
        _ => return Err("an archive has exactly one of `path`, `uri` or `assets`".into()),
    };
    Ok(PropertyValue::Archive(Archive { hash, source }))
}
