//! The structural diff: one `detailedDiff` entry per changed path.

use std::collections::BTreeMap;

use crate::ops::{DiffKind, DiffResponse, PropertyDiff};
use crate::value::{PropertyMap, PropertyValue};
use crate::wire::values::join_key;

/// Compares old and new inputs path by path.
///
/// Nested objects and arrays are compared element by element, so a change deep inside yields a
/// path such as `rules[1].port` or `tags.env`. Secrets are compared by their values (making a
/// value secret is not a change); a new value that is unknown is an update. A null property is
/// the same as an absent one. A change whose top-level property is in `replace_on_changes`, or
/// any change when `updates_in_place` is false, requires a replace. Paths equal to or under an
/// entry of `ignore_changes` are left out.
///
/// ```
/// use provider_sdk::{PropertyMap, PropertyValue, typed::structural_diff, ops::DiffKind};
/// let old = PropertyMap::from([("tags".into(), PropertyValue::Object(PropertyMap::from([("env".into(), "dev".into())])))]);
/// let new = PropertyMap::from([("tags".into(), PropertyValue::Object(PropertyMap::from([("env".into(), "prod".into())])))]);
/// let d = structural_diff(&old, &new, &[], true, &[]);
/// assert_eq!(d.detailed_diff["tags.env"].kind, DiffKind::Update);
/// assert_eq!(d.diffs, vec!["tags".to_string()]);
/// ```
pub fn structural_diff(
    olds: &PropertyMap,
    news: &PropertyMap,
    replace_on_changes: &[&str],
    updates_in_place: bool,
    ignore_changes: &[String],
) -> DiffResponse {
    let mut changes = BTreeMap::new();
    diff_maps("", olds, news, &mut changes);
    let detailed = changes
        .into_iter()
        .filter(|(path, _)| !ignore_changes.iter().any(|ic| is_under(path, ic)))
        .map(|(path, kind)| {
            let top = top_level_name(&path);
            let replace = !updates_in_place
                || replace_on_changes
                    .iter()
                    .any(|r| *r == top || is_under(&path, r));
            let kind = if replace { kind.replacing() } else { kind };
            (path, PropertyDiff::input(kind))
        })
        .collect();
    DiffResponse::from_detailed(detailed)
}

/// The top-level property name of a path: `a` of `a.b`, `a[0]`; `a.b` of `["a.b"].c`.
pub(crate) fn top_level_name(path: &str) -> String {
    if let Some(rest) = path.strip_prefix('[')
        && let Some(end) = rest.find(']')
    {
        return serde_json::from_str::<String>(&rest[..end])
            .unwrap_or_else(|_| rest[..end].to_string());
    }
    path[..path.find(['.', '[']).unwrap_or(path.len())].to_string()
}

/// Whether `path` is `prefix` or lies under it.
fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

fn present(v: Option<&PropertyValue>) -> Option<&PropertyValue> {
    v.filter(|v| !matches!(v.unwrap_secret().0, PropertyValue::Null))
}

fn diff_maps(
    path: &str,
    olds: &PropertyMap,
    news: &PropertyMap,
    out: &mut BTreeMap<String, DiffKind>,
) {
    for key in olds
        .keys()
        .chain(news.keys().filter(|k| !olds.contains_key(*k)))
    {
        let child = join_key(path, key);
        match (present(olds.get(key)), present(news.get(key))) {
            (Some(_), None) => {
                out.insert(child, DiffKind::Delete);
            }
            (None, Some(_)) => {
                out.insert(child, DiffKind::Add);
            }
            (Some(old), Some(new)) => diff_values(&child, old, new, out),
            (None, None) => {}
        }
    }
}

fn diff_values(
    path: &str,
    old: &PropertyValue,
    new: &PropertyValue,
    out: &mut BTreeMap<String, DiffKind>,
) {
    let (old, _) = old.unwrap_secret();
    let (new, _) = new.unwrap_secret();
    if new.is_unknown() {
        out.insert(path.to_string(), DiffKind::Update);
        return;
    }
    match (old, new) {
        (PropertyValue::Object(o), PropertyValue::Object(n)) => diff_maps(path, o, n, out),
        (PropertyValue::Array(o), PropertyValue::Array(n)) => {
            for i in 0..o.len().max(n.len()) {
                let child = format!("{path}[{i}]");
                match (o.get(i), n.get(i)) {
                    (Some(a), Some(b)) => diff_values(&child, a, b, out),
                    (Some(_), None) => {
                        out.insert(child, DiffKind::Delete);
                    }
                    (None, Some(_)) => {
                        out.insert(child, DiffKind::Add);
                    }
                    (None, None) => {}
                }
            }
        }
        (o, n) => {
            if o.reveal() != n.reveal() {
                out.insert(path.to_string(), DiffKind::Update);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::DiffChanges;

    fn obj(entries: Vec<(&str, PropertyValue)>) -> PropertyValue {
        PropertyValue::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    fn map(entries: Vec<(&str, PropertyValue)>) -> PropertyMap {
        match obj(entries) {
            PropertyValue::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn nested_paths_and_replaces() {
        let old = map(vec![
            ("name", "a".into()),
            (
                "rules",
                PropertyValue::Array(vec![
                    obj(vec![("port", 22.0.into())]),
                    obj(vec![("port", 80.0.into())]),
                ]),
            ),
            (
                "tags",
                obj(vec![("env", "dev".into()), ("team", "x".into())]),
            ),
            ("gone", 1.0.into()),
        ]);
        let new = map(vec![
            ("name", PropertyValue::secret("a".into())),
            (
                "rules",
                PropertyValue::Array(vec![
                    obj(vec![("port", 22.0.into())]),
                    obj(vec![("port", 443.0.into())]),
                    obj(vec![]),
                ]),
            ),
            (
                "tags",
                obj(vec![("env", "prod".into()), ("owner", "me".into())]),
            ),
            ("zone", PropertyValue::Unknown(Default::default())),
        ]);
        let d = structural_diff(&old, &new, &["rules"], true, &[]);
        let kinds: Vec<(&str, DiffKind)> = d
            .detailed_diff
            .iter()
            .map(|(k, v)| (k.as_str(), v.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("gone", DiffKind::Delete),
                ("rules[1].port", DiffKind::UpdateReplace),
                ("rules[2]", DiffKind::AddReplace),
                ("tags.env", DiffKind::Update),
                ("tags.owner", DiffKind::Add),
                ("tags.team", DiffKind::Delete),
                ("zone", DiffKind::Add),
            ]
        );
        assert_eq!(d.replaces, vec!["rules".to_string()]);
        assert_eq!(
            d.diffs,
            vec![
                "gone".to_string(),
                "rules".into(),
                "tags".into(),
                "zone".into()
            ]
        );

        let ignored = structural_diff(
            &old,
            &new,
            &[],
            false,
            &["tags".to_string(), "rules[2]".to_string()],
        );
        assert!(
            ignored
                .detailed_diff
                .keys()
                .all(|k| !k.starts_with("tags") && k != "rules[2]")
        );
        assert!(ignored.detailed_diff.values().all(|d| d.kind.is_replace()));
        assert_eq!(
            structural_diff(&old, &old, &[], true, &[]).changes,
            DiffChanges::None
        );
    }
}
