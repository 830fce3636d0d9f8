//! What a step changes: diff lines for the display, `ignoreChanges`, custom timeouts.

use crate::display::DiffLine;
use crate::plugin;
use crate::program;
use crate::value::{self, PropertyMap};
use serde_json::Value as Json;
use std::time::Duration;

pub(super) fn diff_lines(
    d: &plugin::DiffResult,
    old: &PropertyMap,
    new: &PropertyMap,
    forced: &[String],
) -> Vec<DiffLine> {
    let mut paths: Vec<(String, i32)> = d.detailed.clone();
    if paths.is_empty() {
        for k in &d.diffs {
            let kind = match (old.contains_key(k), new.contains_key(k)) {
                (false, _) => 0,
                (_, false) => 2,
                _ => 4,
            };
            paths.push((
                k.clone(),
                kind + i32::from(d.replaces.contains(k) || forced.contains(k)),
            ));
        }
    }
    paths
        .into_iter()
        .map(|(path, kind)| {
            let top = path.split(['.', '[']).next().unwrap_or(&path).to_string();
            let replace = kind % 2 == 1 || d.replaces.contains(&top) || forced.contains(&top);
            // Nested paths (`columns[2]`, `tags.env`) show the values they name too.
            let old_v = value_at(old, &path).map(value::masked);
            let new_v = value_at(new, &path).map(value::masked);
            let kind = match kind {
                0 | 1 => "add",
                2 | 3 => "delete",
                _ => "update",
            };
            DiffLine {
                path,
                kind: kind.into(),
                replace,
                old: old_v,
                new: new_v,
            }
        })
        .collect()
}

/// The value at a property path of a detailed diff (`a`, `a.b`, `a[2]`, `a["k.x"]`); a
/// secret on the way is returned whole, so that it stays masked.
fn value_at<'a>(map: &'a PropertyMap, path: &str) -> Option<&'a Json> {
    let (first, mut rest) = match path.strip_prefix('[') {
        Some(_) => {
            let end = path.find(']')?;
            let key: String = serde_json::from_str(&path[1..end]).ok()?;
            (map.get(&key)?, &path[end + 1..])
        }
        None => {
            let end = path.find(['.', '[']).unwrap_or(path.len());
            (map.get(&path[..end])?, &path[end..])
        }
    };
    let mut here = first;
    while !rest.is_empty() {
        if value::is_secret(here) {
            return Some(here);
        }
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            here = here.get(&after[..end])?;
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let inner = &after[..end];
            here = match inner.parse::<usize>() {
                Ok(i) => here.get(i)?,
                Err(_) => here.get(serde_json::from_str::<String>(inner).ok()?)?,
            };
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some(here)
}

/// Applies `ignoreChanges` to a registration's inputs: at each path (`a`, `a.b`, `a[0]`,
/// `a["k"]`, with `*` for every key or element), the new inputs take the old value, or lose
/// the value when the old inputs have none there. Only that path is touched: a path found in
/// neither changes nothing.
pub(super) fn apply_ignore_changes(news: &mut PropertyMap, old: &PropertyMap, ignore: &[String]) {
    if ignore.is_empty() {
        return;
    }
    let mut new_root = Json::Object(std::mem::take(news));
    let old_root = Json::Object(old.clone());
    for path in ignore {
        if let Some(segs) = parse_path(path) {
            reset(&mut new_root, Some(&old_root), &segs);
        }
    }
    if let Json::Object(m) = new_root {
        *news = m;
    }
}

/// One segment of a property path.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
    Any,
}

/// Parses `a.b[0]["k"].*`; `None` when it is not a path.
fn parse_path(path: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    let mut rest = path;
    let mut first = true;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            segs.push(if inner == "*" {
                Seg::Any
            } else if let Ok(i) = inner.parse::<usize>() {
                Seg::Index(i)
            } else {
                Seg::Key(serde_json::from_str::<String>(inner).ok()?)
            });
            rest = &r[end + 1..];
        } else {
            let r = if first { rest } else { rest.strip_prefix('.')? };
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return None;
            }
            segs.push(if name == "*" {
                Seg::Any
            } else {
                Seg::Key(name.to_string())
            });
            rest = &r[end..];
        }
        first = false;
    }
    (!segs.is_empty()).then_some(segs)
}

/// The child of `v` at `seg` (not a wildcard).
fn child<'a>(v: &'a Json, seg: &Seg) -> Option<&'a Json> {
    match (v, seg) {
        (Json::Object(m), Seg::Key(k)) => m.get(k),
        (Json::Array(a), Seg::Index(i)) => a.get(*i),
        _ => None,
    }
}

/// Sets the value at `segs` in `new` to the one in `old`, or removes it when `old` has none.
fn reset(new: &mut Json, old: Option<&Json>, segs: &[Seg]) {
    let Some((seg, rest)) = segs.split_first() else {
        return;
    };
    if *seg == Seg::Any {
        let concrete: Vec<Seg> = match &*new {
            Json::Object(m) => m.keys().cloned().map(Seg::Key).collect(),
            Json::Array(a) => (0..a.len()).map(Seg::Index).collect(),
            _ => vec![],
        };
        let old_keys: Vec<Seg> = match old {
            Some(Json::Object(m)) => m.keys().cloned().map(Seg::Key).collect(),
            _ => vec![],
        };
        for c in concrete.into_iter().chain(old_keys) {
            let mut one = vec![c];
            one.extend_from_slice(rest);
            reset(new, old, &one);
        }
        return;
    }
    let old_child = old.and_then(|o| child(o, seg));
    if rest.is_empty() {
        match (new, seg, old_child) {
            (Json::Object(m), Seg::Key(k), Some(v)) => {
                m.insert(k.clone(), v.clone());
            }
            (Json::Object(m), Seg::Key(k), None) => {
                m.remove(k);
            }
            (Json::Array(a), Seg::Index(i), Some(v)) if *i < a.len() => a[*i] = v.clone(),
            _ => {}
        }
        return;
    }
    let next = match (new, seg) {
        (Json::Object(m), Seg::Key(k)) => m.get_mut(k),
        (Json::Array(a), Seg::Index(i)) => a.get_mut(*i),
        _ => None,
    };
    if let Some(n) = next {
        reset(n, old_child, rest);
    }
}

#[cfg(test)]
mod tests {
    use super::apply_ignore_changes;
    use serde_json::json;

    fn ignore(new: serde_json::Value, old: serde_json::Value, paths: &[&str]) -> serde_json::Value {
        let mut n = new.as_object().unwrap().clone();
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        apply_ignore_changes(&mut n, old.as_object().unwrap(), &paths);
        serde_json::Value::Object(n)
    }

    #[test]
    fn nested_paths_ignore_exactly_their_path() {
        let old = json!({"a": {"b": 1, "c": 2}, "t": ["x", "y"], "m": {"k": 1, "j": 2}});
        let new = json!({"a": {"b": 9, "c": 9}, "t": ["X", "Y"], "m": {"k": 9, "j": 9}});
        assert_eq!(
            ignore(new.clone(), old.clone(), &["a.b", "t[0]", "m[\"k\"]"]),
            json!({"a": {"b": 1, "c": 9}, "t": ["x", "Y"], "m": {"k": 1, "j": 9}})
        );
        assert_eq!(
            ignore(new.clone(), old.clone(), &["m.*"]),
            json!({"a": {"b": 9, "c": 9}, "t": ["X", "Y"], "m": {"k": 1, "j": 2}})
        );
        assert_eq!(ignore(new.clone(), old.clone(), &["*"]), old);
        // A path in neither ignores nothing else.
        assert_eq!(ignore(new.clone(), old.clone(), &["a.zz", "nope"]), new);
        // A path the old inputs lack is dropped from the new ones.
        assert_eq!(
            ignore(
                json!({"a": {"b": 1, "n": 5}}),
                json!({"a": {"b": 1}}),
                &["a.n"]
            ),
            json!({"a": {"b": 1}})
        );
    }
}

pub(super) fn timeouts_json(t: &program::CustomTimeouts) -> Option<Json> {
    if t.create.is_none() && t.update.is_none() && t.delete.is_none() {
        return None;
    }
    let s = |d: Option<Duration>| d.map(|d| d.as_secs_f64()).unwrap_or(0.0);
    Some(serde_json::json!({"create": s(t.create), "update": s(t.update), "delete": s(t.delete)}))
}

#[cfg(test)]
mod value_at_tests {
    use super::value_at;
    use crate::value::PropertyMap;
    use serde_json::json;

    #[test]
    fn nested_paths_name_their_values() {
        let map: PropertyMap = serde_json::from_value(json!({
            "columns": ["id", "name", "price"],
            "tags": {"env": "dev", "a.b": {"c": 1}},
        }))
        .unwrap();
        assert_eq!(value_at(&map, "columns[2]"), Some(&json!("price")));
        assert_eq!(value_at(&map, "tags.env"), Some(&json!("dev")));
        assert_eq!(value_at(&map, r#"tags["a.b"].c"#), Some(&json!(1)));
        assert_eq!(value_at(&map, "columns[7]"), None);
        assert_eq!(value_at(&map, "columns"), map.get("columns"));
    }
}
