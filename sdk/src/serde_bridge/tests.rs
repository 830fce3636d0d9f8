use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;
use crate::value::{OutputValue, UnknownKind};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Rule {
    port: u16,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
#[serde(rename_all = "camelCase")]
enum Mode {
    Fast,
    Careful,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Firewall {
    name: String,
    rules: Vec<Rule>,
    tags: BTreeMap<String, String>,
    mode: Mode,
    password: Option<Secret<String>>,
    weight: f64,
}

fn obj(entries: Vec<(&str, PropertyValue)>) -> PropertyValue {
    PropertyValue::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn good() -> PropertyMap {
    let PropertyValue::Object(map) = obj(vec![
        ("name", "fw".into()),
        (
            "rules",
            PropertyValue::Array(vec![
                obj(vec![("port", 22.0.into())]),
                obj(vec![("port", 443.0.into())]),
            ]),
        ),
        ("tags", obj(vec![("env", "prod".into())])),
        ("mode", "careful".into()),
        ("password", PropertyValue::secret("hunter2".into())),
        ("weight", 0.5.into()),
    ]) else {
        unreachable!()
    };
    map
}

#[test]
fn reads_whole_floats_into_integers_and_looks_through_secrets() {
    let mut map = good();
    map.insert("name".into(), PropertyValue::secret("fw".into()));
    let fw: Firewall = from_property_map(&map).unwrap();
    assert_eq!(fw.rules[1].port, 443);
    assert_eq!(fw.name, "fw");
    assert_eq!(fw.mode, Mode::Careful);
    assert_eq!(fw.password.as_ref().unwrap().expose(), "hunter2");
    let back = to_property_map(&fw).unwrap();
    assert!(back["password"].is_secret());
    assert!(!back["name"].is_secret());
    assert_eq!(back["rules"], map["rules"]);
}

#[test]
fn mismatches_name_their_path() {
    let mut map = good();
    map.insert("tags".into(), obj(vec![("env", 3.0.into())]));
    let e = from_property_map::<Firewall>(&map).unwrap_err();
    assert_eq!(e.path, "tags[\"env\"]");
    assert_eq!(e.kind, ConvertErrorKind::TypeMismatch);

    let mut map = good();
    map.insert(
        "rules".into(),
        PropertyValue::Array(vec![
            obj(vec![("port", 1.0.into())]),
            obj(vec![("port", 2.5.into())]),
        ]),
    );
    let e = from_property_map::<Firewall>(&map).unwrap_err();
    assert_eq!(e.path, "rules[1].port");
    assert!(e.message.contains("fractional"), "{e}");

    let mut map = good();
    map.insert(
        "rules".into(),
        PropertyValue::Array(vec![obj(vec![("port", 70000.0.into())])]),
    );
    assert_eq!(
        from_property_map::<Firewall>(&map).unwrap_err().path,
        "rules[0].port"
    );
}

#[test]
fn every_bad_property_is_reported() {
    let mut map = good();
    map.remove("name");
    map.insert(
        "rules".into(),
        PropertyValue::Array(vec![obj(vec![("port", "x".into())]), obj(vec![])]),
    );
    map.insert("tags".into(), obj(vec![("env", true.into())]));
    map.insert("mode".into(), "sloppy".into());
    let errors = from_property_map_all::<Firewall>(&map).unwrap_err();
    let mut paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "mode",
            "name",
            "rules[0].port",
            "rules[1].port",
            "tags[\"env\"]"
        ],
        "{errors:?}"
    );
}

#[test]
fn secret_values_never_appear_in_errors() {
    let mut map = good();
    map.insert("mode".into(), PropertyValue::secret("topsecretmode".into()));
    let e = from_property_map::<Firewall>(&map).unwrap_err();
    assert_eq!(e.path, "mode");
    assert!(!e.to_string().contains("topsecretmode"), "{e}");
    let mut map = good();
    map.insert("weight".into(), PropertyValue::secret("s3cr3t".into()));
    assert!(
        !from_property_map::<Firewall>(&map)
            .unwrap_err()
            .to_string()
            .contains("s3cr3t")
    );
}

#[test]
fn unknowns_are_errors_unless_lenient() {
    let mut map = good();
    map.insert("name".into(), PropertyValue::Unknown(UnknownKind::Any));
    map.insert(
        "weight".into(),
        PropertyValue::Output(OutputValue {
            value: None,
            secret: false,
            dependencies: vec![],
        }),
    );
    let e = from_property_map::<Firewall>(&map).unwrap_err();
    assert_eq!(e.kind, ConvertErrorKind::Unknown);
    let (value, errors) = read_all::<Firewall>(&map, true);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(value.is_none());
}

#[test]
fn assets_and_references_read_as_objects() {
    use crate::value::{Asset, AssetSource, ResourceReference};
    #[derive(Deserialize, Debug, PartialEq)]
    struct AssetArg {
        text: Option<String>,
        path: Option<String>,
        hash: Option<String>,
    }
    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Reference {
        urn: String,
        id: Option<String>,
    }
    let asset = PropertyValue::secret(PropertyValue::Asset(Asset {
        hash: Some("abc".into()),
        source: AssetSource::Path("/tmp/x".into()),
    }));
    let read: AssetArg = from_value(&asset).unwrap();
    assert_eq!(
        read,
        AssetArg {
            text: None,
            path: Some("/tmp/x".into()),
            hash: Some("abc".into())
        }
    );
    let reference = PropertyValue::ResourceReference(ResourceReference {
        urn: "urn:pulumi:s::p::t::n".into(),
        id: Some(Box::new("i-1".into())),
        package_version: None,
    });
    let read: Reference = from_value(&reference).unwrap();
    assert_eq!(read.id.as_deref(), Some("i-1"));
    let e = from_value::<String>(&reference).unwrap_err();
    assert_eq!(e.kind, ConvertErrorKind::Unsupported);
}
