//! What a step changes: diff lines for the display, `ignoreChanges`, custom timeouts.

#[allow(unused_imports)]
use super::*;

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

pub(super) fn apply_ignore_changes(news: &mut PropertyMap, old: &PropertyMap, ignore: &[String]) {
    for path in ignore {
        let top = path.split(['.', '[']).next().unwrap_or(path);
        match old.get(top) {
            Some(v) => {
                news.insert(top.to_string(), v.clone());
            }
            None => {
                news.remove(top);
            }
        }
    }
}

pub(super) fn timeouts_json(t: &program::CustomTimeouts) -> Option<Json> {
    if t.create.is_none() && t.update.is_none() && t.delete.is_none() {
        return None;
    }
    let s = |d: Option<Duration>| d.map(|d| d.as_secs_f64()).unwrap_or(0.0);
    Some(serde_json::json!({"create": s(t.create), "update": s(t.update), "delete": s(t.delete)}))
}

pub(super) fn secs(d: Option<Duration>) -> f64 {
    d.map(|d| d.as_secs_f64()).unwrap_or(0.0)
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
