//! Property-based: reading inputs reports exactly the bad properties (wrong kind, missing,
//! fractional where a whole number is needed), each with its path, however many there are.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use provider_sdk::{PropertyMap, PropertyValue, serde_bridge};
use serde::Deserialize;

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Item {
    port: u16,
    name: String,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Mode {
    Fast,
    Slow,
}

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Inputs {
    count: u8,
    name: String,
    flag: Option<bool>,
    items: Vec<Item>,
    ports: BTreeMap<String, u16>,
    mode: Mode,
}

/// How to write one leaf: well, badly (with the wrong kind), or not at all.
#[derive(Debug, Clone, Copy)]
enum Leaf {
    Good,
    Bad,
    Missing,
}

fn leaf() -> impl Strategy<Value = Leaf> {
    prop_oneof![3 => Just(Leaf::Good), 1 => Just(Leaf::Bad), 1 => Just(Leaf::Missing)]
}

/// Puts `good` or a bad value at `key`, and records `path` as bad when it should be reported.
#[allow(clippy::too_many_arguments)]
fn put(
    map: &mut PropertyMap,
    key: &str,
    path: String,
    how: Leaf,
    good: PropertyValue,
    bad: PropertyValue,
    required: bool,
    expected: &mut BTreeSet<String>,
) {
    match how {
        Leaf::Good => {
            map.insert(key.into(), good);
        }
        Leaf::Bad => {
            map.insert(key.into(), bad);
            expected.insert(path);
        }
        Leaf::Missing => {
            if required {
                expected.insert(path);
            }
        }
    }
}

fn inputs() -> impl Strategy<Value = (PropertyMap, BTreeSet<String>)> {
    (
        proptest::collection::vec(leaf(), 4),
        proptest::collection::vec((leaf(), leaf()), 0..4),
        proptest::collection::vec(("[a-z]{1,5}", leaf()), 0..4),
    )
        .prop_map(|(top, items, ports)| {
            let mut map = PropertyMap::new();
            let mut expected = BTreeSet::new();
            put(
                &mut map,
                "count",
                "count".into(),
                top[0],
                3.0.into(),
                2.5.into(),
                true,
                &mut expected,
            );
            put(
                &mut map,
                "name",
                "name".into(),
                top[1],
                "n".into(),
                true.into(),
                true,
                &mut expected,
            );
            put(
                &mut map,
                "flag",
                "flag".into(),
                top[2],
                true.into(),
                "yes".into(),
                false,
                &mut expected,
            );
            put(
                &mut map,
                "mode",
                "mode".into(),
                top[3],
                "fast".into(),
                "medium".into(),
                true,
                &mut expected,
            );
            let items = items
                .into_iter()
                .enumerate()
                .map(|(i, (port, name))| {
                    let mut item = PropertyMap::new();
                    put(
                        &mut item,
                        "port",
                        format!("items[{i}].port"),
                        port,
                        80.0.into(),
                        (-1.0).into(),
                        true,
                        &mut expected,
                    );
                    put(
                        &mut item,
                        "name",
                        format!("items[{i}].name"),
                        name,
                        "x".into(),
                        1.0.into(),
                        true,
                        &mut expected,
                    );
                    PropertyValue::Object(item)
                })
                .collect();
            map.insert("items".into(), PropertyValue::Array(items));
            let mut port_map = PropertyMap::new();
            for (key, how) in ports {
                if port_map.contains_key(&key) {
                    continue;
                }
                let how = if matches!(how, Leaf::Missing) {
                    Leaf::Good
                } else {
                    how
                };
                put(
                    &mut port_map,
                    &key,
                    format!("ports[{key:?}]"),
                    how,
                    443.0.into(),
                    "https".into(),
                    true,
                    &mut expected,
                );
            }
            map.insert("ports".into(), PropertyValue::Object(port_map));
            (map, expected)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn exactly_the_bad_properties_are_reported((map, expected) in inputs()) {
        match serde_bridge::from_property_map_all::<Inputs>(&map) {
            Ok(_) => prop_assert!(expected.is_empty(), "accepted, but {expected:?} are bad"),
            Err(errors) => {
                let reported: BTreeSet<String> = errors.iter().map(|e| e.path.clone()).collect();
                prop_assert_eq!(reported, expected, "{:?}", errors);
            }
        }
    }
}
