//! Property-based round trips: `PropertyValue` <-> `Struct` for every kind of value at any
//! nesting, and typed values <-> `PropertyMap` <-> `Struct`, including through secret wrappers.

use std::collections::BTreeMap;

use proptest::prelude::*;
use provider_sdk::value::{
    Archive, ArchiveSource, Asset, AssetOrArchive, AssetSource, OutputValue, ResourceReference,
    UnknownKind,
};
use provider_sdk::wire::{decode_struct, encode_map};
use provider_sdk::{PropertyMap, PropertyValue, Secret, serde_bridge};
use serde::{Deserialize, Serialize};

fn unknown_kind() -> impl Strategy<Value = UnknownKind> {
    prop_oneof![
        Just(UnknownKind::Any),
        Just(UnknownKind::Bool),
        Just(UnknownKind::Number),
        Just(UnknownKind::Array),
        Just(UnknownKind::Object),
        Just(UnknownKind::Asset),
        Just(UnknownKind::Archive),
    ]
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._/:-]{0,12}"
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z][a-zA-Z0-9_]{0,8}", "[a-z .\\[\\]\"-]{1,6}"]
}

fn asset() -> impl Strategy<Value = Asset> {
    (
        proptest::option::of("[0-9a-f]{8}"),
        prop_oneof![
            text().prop_map(AssetSource::Text),
            text().prop_map(AssetSource::Path),
            text().prop_map(AssetSource::Uri)
        ],
    )
        .prop_map(|(hash, source)| Asset { hash, source })
}

fn archive() -> impl Strategy<Value = Archive> {
    let leaf = (
        proptest::option::of("[0-9a-f]{8}"),
        prop_oneof![
            text().prop_map(ArchiveSource::Path),
            text().prop_map(ArchiveSource::Uri)
        ],
    )
        .prop_map(|(hash, source)| Archive { hash, source });
    leaf.prop_recursive(3, 12, 4, |inner| {
        (
            proptest::option::of("[0-9a-f]{8}"),
            proptest::collection::btree_map(
                key(),
                prop_oneof![
                    asset().prop_map(AssetOrArchive::Asset),
                    inner.prop_map(AssetOrArchive::Archive)
                ],
                0..4,
            ),
        )
            .prop_map(|(hash, members)| Archive {
                hash,
                source: ArchiveSource::Assets(members),
            })
    })
}

fn scalar() -> impl Strategy<Value = PropertyValue> {
    prop_oneof![
        Just(PropertyValue::Null),
        any::<bool>().prop_map(PropertyValue::Bool),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |n| !n.is_nan())
            .prop_map(PropertyValue::Number),
        text().prop_map(PropertyValue::String),
        unknown_kind().prop_map(PropertyValue::Unknown),
        asset().prop_map(PropertyValue::Asset),
        archive().prop_map(PropertyValue::Archive),
        (
            text(),
            proptest::option::of(prop_oneof![
                text().prop_map(PropertyValue::String),
                Just(PropertyValue::Unknown(UnknownKind::Any))
            ]),
            proptest::option::of("[0-9]\\.[0-9]\\.[0-9]")
        )
            .prop_map(
                |(urn, id, package_version)| PropertyValue::ResourceReference(ResourceReference {
                    urn: format!("urn:pulumi:s::p::t::{urn}"),
                    id: id.map(Box::new),
                    package_version,
                })
            ),
    ]
}

/// Any property value, nested up to a few levels, in canonical form (a secret never directly
/// wraps another secret: the model collapses those).
fn property_value() -> impl Strategy<Value = PropertyValue> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(PropertyValue::Array),
            proptest::collection::btree_map(key(), inner.clone(), 0..5)
                .prop_map(PropertyValue::Object),
            inner.clone().prop_map(PropertyValue::secret),
            (
                proptest::option::of(inner),
                any::<bool>(),
                proptest::collection::vec("urn:[a-z]{1,6}", 0..3)
            )
                .prop_map(|(value, secret, dependencies)| PropertyValue::Output(
                    OutputValue {
                        value: value.map(Box::new),
                        secret,
                        dependencies
                    }
                )),
        ]
    })
}

fn property_map() -> impl Strategy<Value = PropertyMap> {
    proptest::collection::btree_map(key(), property_value(), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn struct_round_trip_is_lossless(map in property_map()) {
        let encoded = encode_map(&map);
        let decoded = decode_struct(Some(&encoded)).expect("what was encoded decodes");
        prop_assert_eq!(&decoded, &map);
        // And the encoding is stable.
        prop_assert_eq!(encode_map(&decoded), encoded);
    }

    #[test]
    fn debug_never_shows_secret_strings(secret in "[a-z]{12,16}", map in property_map()) {
        let mut map = map;
        map.insert("hidden".into(), PropertyValue::secret(PropertyValue::Array(vec![secret.clone().into()])));
        let shown = format!("{map:?}");
        prop_assert!(!shown.contains(&secret));
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Inner {
    port: u16,
    label: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
enum Mode {
    Fast,
    SlowAndSteady,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Shape {
    Circle { radius: f64 },
    Square(u32),
    Pair(i8, String),
    Empty,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Everything {
    count: u32,
    offset: i64,
    ratio: f64,
    name: String,
    enabled: bool,
    note: Option<String>,
    items: Vec<Inner>,
    tags: BTreeMap<String, u16>,
    mode: Mode,
    shape: Shape,
    password: Secret<String>,
    inner_secret: Option<Secret<Inner>>,
    nested: Inner,
    pair: (u8, String),
    matrix: Vec<Vec<i32>>,
}

fn inner() -> impl Strategy<Value = Inner> {
    (any::<u16>(), proptest::option::of(text())).prop_map(|(port, label)| Inner { port, label })
}

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |f| f.is_finite())
}

fn everything() -> impl Strategy<Value = Everything> {
    let shape = prop_oneof![
        finite().prop_map(|radius| Shape::Circle { radius }),
        any::<u32>().prop_map(Shape::Square),
        (any::<i8>(), text()).prop_map(|(a, b)| Shape::Pair(a, b)),
        Just(Shape::Empty),
    ];
    let mode = prop_oneof![Just(Mode::Fast), Just(Mode::SlowAndSteady)];
    (
        (
            any::<u32>(),
            -(1i64 << 53)..(1i64 << 53),
            finite(),
            text(),
            any::<bool>(),
            proptest::option::of(text()),
        ),
        (
            proptest::collection::vec(inner(), 0..4),
            proptest::collection::btree_map(key(), any::<u16>(), 0..4),
            mode,
            shape,
            text(),
            proptest::option::of(inner()),
            inner(),
            (any::<u8>(), text()),
            proptest::collection::vec(proptest::collection::vec(any::<i32>(), 0..3), 0..3),
        ),
    )
        .prop_map(
            |(
                (count, offset, ratio, name, enabled, note),
                (items, tags, mode, shape, password, inner_secret, nested, pair, matrix),
            )| {
                Everything {
                    count,
                    offset,
                    ratio,
                    name,
                    enabled,
                    note,
                    items,
                    tags,
                    mode,
                    shape,
                    password: Secret::new(password),
                    inner_secret: inner_secret.map(Secret::new),
                    nested,
                    pair,
                    matrix,
                }
            },
        )
}

/// Wraps values in secrets (and secret outputs) wherever `coins` says so, at every depth.
fn wrap_in_secrets(v: PropertyValue, coins: &mut impl Iterator<Item = u8>) -> PropertyValue {
    let v = match v {
        PropertyValue::Array(items) => PropertyValue::Array(
            items
                .into_iter()
                .map(|i| wrap_in_secrets(i, coins))
                .collect(),
        ),
        PropertyValue::Object(map) => PropertyValue::Object(
            map.into_iter()
                .map(|(k, i)| (k, wrap_in_secrets(i, coins)))
                .collect(),
        ),
        other => other,
    };
    match coins.next().unwrap_or(0) % 4 {
        0 => PropertyValue::secret(v),
        1 => PropertyValue::Output(OutputValue {
            value: Some(Box::new(v)),
            secret: true,
            dependencies: vec!["urn:x".into()],
        }),
        _ => v,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn typed_values_round_trip_through_struct(value in everything()) {
        let map = serde_bridge::to_property_map(&value).expect("serializes");
        prop_assert!(map["password"].is_secret());
        prop_assert_eq!(map.get("inner_secret").is_some_and(|v| v.is_secret()), value.inner_secret.is_some());
        let decoded = decode_struct(Some(&encode_map(&map))).unwrap();
        prop_assert_eq!(&decoded, &map);
        let back: Everything = serde_bridge::from_property_map(&decoded).expect("deserializes");
        prop_assert_eq!(back, value);
    }

    #[test]
    fn typed_values_read_through_secret_wrappers(value in everything(), coins in proptest::collection::vec(any::<u8>(), 64)) {
        let map = serde_bridge::to_property_map(&value).unwrap();
        let mut coins = coins.into_iter().cycle();
        let wrapped: PropertyMap = map.into_iter().map(|(k, v)| (k, wrap_in_secrets(v, &mut coins))).collect();
        let back: Everything = serde_bridge::from_property_map(&wrapped).expect("reads through secrets");
        prop_assert_eq!(back, value);
    }
}
