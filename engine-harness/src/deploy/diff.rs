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
            let old_v = (path == top)
                .then(|| old.get(&top).map(value::masked))
                .flatten();
            let new_v = (path == top)
                .then(|| new.get(&top).map(value::masked))
                .flatten();
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
