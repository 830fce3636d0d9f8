//! What a step changes: diff lines for the display, `ignoreChanges`, custom timeouts.

use crate::display::DiffLine;
use crate::plugin;
use crate::program;
use crate::property_path::{self, PropertyPath, Segment};
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
            let top = property_path::top_level(&path);
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
    let path = PropertyPath::parse(path).ok()?;
    let (first, rest) = path.segments().split_first()?;
    let Segment::Key(first) = first else {
        return None;
    };
    let mut here = map.get(first)?;
    for seg in rest {
        if value::is_secret(here) {
            return Some(here);
        }
        here = child(here, seg)?;
    }
    Some(here)
}

/// Applies `ignoreChanges` to a registration's inputs: at each path (`a`, `a.b`, `a[0]`,
/// `a["k"]`, with `*` for every key or element), the new inputs take the old value, or lose
/// the value when the old inputs have none there. Only that path is touched: a path found in
/// neither changes nothing.
pub(super) fn apply_ignore_changes(news: &mut PropertyMap, old: &PropertyMap, ignore: &[String]) {
    let mut new_root = Json::Object(std::mem::take(news));
    let old_root = Json::Object(old.clone());
    for path in ignore {
        if let Ok(path) = PropertyPath::parse(path) {
            reset(&mut new_root, Some(&old_root), path.segments());
        }
    }
    if let Json::Object(m) = new_root {
        *news = m;
    }
}

/// The child of `v` at `seg` (not a wildcard).
fn child<'a>(v: &'a Json, seg: &Segment) -> Option<&'a Json> {
    match (v, seg) {
        (Json::Object(m), Segment::Key(k)) => m.get(k),
        (Json::Array(a), Segment::Index(i)) => a.get(*i),
        _ => None,
    }
}

/// Sets the value at `segs` in `new` to the one in `old`, or removes it when `old` has none.
fn reset(new: &mut Json, old: Option<&Json>, segs: &[Segment]) {
    let Some((seg, rest)) = segs.split_first() else {
        return;
    };
    if seg.is_wildcard() {
        let concrete: Vec<Segment> = match &*new {
            Json::Object(m) => m.keys().cloned().map(Segment::Key).collect(),
            Json::Array(a) => (0..a.len()).map(Segment::Index).collect(),
            _ => vec![],
        };
        let old_keys: Vec<Segment> = match old {
            Some(Json::Object(m)) => m.keys().cloned().map(Segment::Key).collect(),
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
            (Json::Object(m), Segment::Key(k), Some(v)) => {
                m.insert(k.clone(), v.clone());
            }
            (Json::Object(m), Segment::Key(k), None) => {
                m.remove(k);
            }
            (Json::Array(a), Segment::Index(i), Some(v)) if *i < a.len() => a[*i] = v.clone(),
            _ => {}
        }
        return;
    }
    let next = match (new, seg) {
        (Json::Object(m), Segment::Key(k)) => m.get_mut(k),
        (Json::Array(a), Segment::Index(i)) => a.get_mut(*i),
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
