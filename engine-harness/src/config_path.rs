//! Paths into structured config values, as `pulumi config set/get/rm --path` reads them:
//! `outer.inner`, `names[0]`, `["key.with.dots"].x`. The first segment names the config key;
//! the rest walk into the key's object or list.
//!
//! Setting follows Pulumi's rules: a missing container is made from the next segment (an index
//! makes a list, a name a map); a list may grow by one element at its end; a value set below the
//! top level that reads `true`, `false` or a decimal integer without a leading zero is stored as
//! that boolean or number; maps are written with sorted keys (Pulumi re-encodes the whole value).
//!
//! ```
//! use engine_harness::config_path::{ConfigPath, Segment};
//! let p = ConfigPath::parse("servers[0].host").unwrap();
//! assert_eq!(p.root, "servers");
//! assert_eq!(p.rest, vec![Segment::Index(0), Segment::Key("host".into())]);
//! ```

use serde_yaml::{Mapping, Value as Yaml};

pub use crate::property_path::Segment;
use crate::property_path::{self, PropertyPath};

/// A parsed path: the config key's name and the steps below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPath {
    /// The first segment: the name of the config key (without namespace).
    pub root: String,
    /// The steps inside the key's value.
    pub rest: Vec<Segment>,
}

impl ConfigPath {
    /// Parses `path` (the name part of a key, after any `namespace:`). Errors say what is wrong
    /// with the path, for the caller to prefix with the key.
    pub fn parse(path: &str) -> Result<Self, String> {
        let mut segments = PropertyPath::parse(path)?.into_segments().into_iter();
        let root = match segments.next() {
            Some(Segment::Key(k)) if !k.is_empty() => k,
            Some(Segment::Key(_)) => return Err("the config key is empty".into()),
            Some(Segment::Index(_)) | None => {
                return Err("the first segment of a config path must be a name".into());
            }
        };
        Ok(ConfigPath {
            root,
            rest: segments.collect(),
        })
    }

    fn describe(&self, depth: usize) -> String {
        let mut segments = vec![Segment::Key(self.root.clone())];
        segments.extend_from_slice(&self.rest[..depth]);
        property_path::print(&segments)
    }

    /// The value at the path below `root`, if there is one.
    pub fn get<'a>(&self, root: &'a Yaml) -> Option<&'a Yaml> {
        let mut v = root;
        for seg in &self.rest {
            v = match (seg, v) {
                (Segment::Key(k), Yaml::Mapping(m)) => m.get(k.as_str())?,
                (Segment::Index(i), Yaml::Sequence(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// Sets the value at the path below `root` (`None`: the key is not set yet) to `leaf` and
    /// returns the new value of the key.
    pub fn set(&self, root: Option<Yaml>, leaf: Yaml) -> Result<Yaml, String> {
        if self.rest.is_empty() {
            return Ok(leaf);
        }
        let mut root = match root {
            // Pulumi replaces a top-level scalar rather than refusing it.
            Some(v @ (Yaml::Mapping(_) | Yaml::Sequence(_))) => v,
            _ => container_for(&self.rest[0]),
        };
        self.set_in(&mut root, 0, leaf)?;
        sort_maps(&mut root);
        Ok(root)
    }

    fn set_in(&self, v: &mut Yaml, depth: usize, leaf: Yaml) -> Result<(), String> {
        let Some(seg) = self.rest.get(depth) else {
            *v = leaf;
            return Ok(());
        };
        if v.is_null() {
            *v = container_for(seg);
        }
        let here = self.describe(depth);
        match (seg, v) {
            (Segment::Index(i), Yaml::Sequence(items)) => {
                if *i > items.len() {
                    return Err(format!(
                        "{}: index {i} is out of range (the list has {} elements; a list grows one element at a time)",
                        self.describe(depth + 1),
                        items.len()
                    ));
                }
                if *i == items.len() {
                    items.push(Yaml::Null);
                }
                self.set_in(&mut items[*i], depth + 1, leaf)
            }
            (Segment::Key(k), Yaml::Mapping(m)) => {
                if depth + 1 == self.rest.len() && m.is_empty() && k == "secure" && leaf.is_string()
                {
                    return Err(format!(
                        "{here}: `secure` is reserved: an object with one `secure` string would read as an encrypted value"
                    ));
                }
                let entry = m.entry(Yaml::String(k.clone())).or_insert(Yaml::Null);
                self.set_in(entry, depth + 1, leaf)
            }
            (Segment::Index(_), _) => Err(format!("{here}: expected a list")),
            (Segment::Key(_), _) => Err(format!("{here}: expected a map")),
        }
    }

    /// Removes the value at the path below `root`; whether it was there.
    pub fn remove(&self, root: &mut Yaml) -> bool {
        let Some((last, parents)) = self.rest.split_last() else {
            return false;
        };
        let mut v = root;
        for seg in parents {
            v = match (seg, v) {
                (Segment::Key(k), Yaml::Mapping(m)) => match m.get_mut(k.as_str()) {
                    Some(v) => v,
                    None => return false,
                },
                (Segment::Index(i), Yaml::Sequence(items)) => match items.get_mut(*i) {
                    Some(v) => v,
                    None => return false,
                },
                _ => return false,
            };
        }
        match (last, v) {
            (Segment::Key(k), Yaml::Mapping(m)) => m.remove(k.as_str()).is_some(),
            (Segment::Index(i), Yaml::Sequence(items)) if *i < items.len() => {
                items.remove(*i);
                true
            }
            _ => false,
        }
    }
}

/// The value `pulumi config set --path` stores for `text` below the top level: `true`/`false`
/// as booleans, decimal integers without a leading zero as numbers, anything else as a string.
pub fn coerce(text: &str) -> Yaml {
    match text {
        "true" => return Yaml::Bool(true),
        "false" => return Yaml::Bool(false),
        _ => {}
    }
    if text.len() > 1 && text.starts_with('0') {
        return Yaml::String(text.into());
    }
    if let Ok(i) = text.parse::<i64>() {
        return Yaml::Number(i.into());
    }
    if let Ok(u) = text.parse::<u64>() {
        return Yaml::Number(u.into());
    }
    Yaml::String(text.into())
}

fn container_for(seg: &Segment) -> Yaml {
    match seg {
        Segment::Index(_) => Yaml::Sequence(Vec::new()),
        Segment::Key(_) => Yaml::Mapping(Mapping::new()),
    }
}

fn sort_maps(v: &mut Yaml) {
    match v {
        Yaml::Mapping(m) => {
            let mut entries: Vec<(Yaml, Yaml)> = std::mem::take(m).into_iter().collect();
            entries.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
            for (k, mut v) in entries {
                sort_maps(&mut v);
                m.insert(k, v);
            }
        }
        Yaml::Sequence(items) => items.iter_mut().for_each(sort_maps),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{ConfigPath, Segment, coerce};
    use serde_yaml::Value as Yaml;

    fn y(text: &str) -> Yaml {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn parses_names_indexes_and_quoted_keys() {
        let p = ConfigPath::parse(r#"a["b.c"][2].d"#).unwrap();
        assert_eq!(p.root, "a");
        assert_eq!(
            p.rest,
            vec![
                Segment::Key("b.c".into()),
                Segment::Index(2),
                Segment::Key("d".into())
            ]
        );
        assert_eq!(ConfigPath::parse(r#"["x.y"]"#).unwrap().root, "x.y");
        for bad in ["", ".a", "a.", "a.[0]", "a[x]", "a[0", r#"a["b]"#, "[0]"] {
            assert!(ConfigPath::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn set_makes_containers_coerces_below_the_top_and_sorts_maps() {
        let p = ConfigPath::parse("db.port").unwrap();
        let v = p.set(None, coerce("5432")).unwrap();
        let p = ConfigPath::parse("db.host").unwrap();
        let v = p.set(Some(v), coerce("h")).unwrap();
        assert_eq!(serde_yaml::to_string(&v).unwrap(), "host: h\nport: 5432\n");
        let p = ConfigPath::parse("names[0]").unwrap();
        let v = p.set(Some(y("plain")), coerce("0123")).unwrap();
        assert_eq!(v, y("['0123']"));
        let p = ConfigPath::parse("names[2]").unwrap();
        let err = p.set(Some(v), coerce("x")).unwrap_err();
        assert!(
            err.contains("names[2]") && err.contains("out of range"),
            "{err}"
        );
        let p = ConfigPath::parse("a.secure").unwrap();
        assert!(p.set(None, coerce("x")).unwrap_err().contains("reserved"));
        let p = ConfigPath::parse("a.b.c").unwrap();
        assert!(
            p.set(Some(y("{b: 1}")), coerce("x"))
                .unwrap_err()
                .contains("expected a map")
        );
    }

    #[test]
    fn get_and_remove_walk_the_same_path() {
        let mut v = y("{xs: [1, {k: v}], m: {a: 1}}");
        let p = ConfigPath::parse("root.xs[1].k").unwrap();
        assert_eq!(p.get(&v), Some(&y("v")));
        assert!(p.remove(&mut v));
        assert!(!p.remove(&mut v));
        assert_eq!(v, y("{xs: [1, {}], m: {a: 1}}"));
    }
}
