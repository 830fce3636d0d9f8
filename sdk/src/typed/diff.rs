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
/// the same as an absent one. A change at or under an entry of `replace_on_changes` (a
/// property path such as `name`, `columns[0].type`, with `[*]` or `.*` matching any element or
/// key: `columns[*].type`), or any change when `updates_in_place` is false, requires a replace.
/// Paths equal to or under an entry of `ignore_changes` are left out.
///
/// ```
/// use provider_sdk::{PropertyMap, PropertyValue, typed::structural_diff, ops::DiffKind};
/// let old = PropertyMap::from([("tags".into(), PropertyValue::Object(PropertyMap::from([("env".into(), "dev".into())])))]);
/// let new = PropertyMap::from([("tags".into(), PropertyValue::Object(PropertyMap::from([("env".into(), "prod".into())])))]);
/// let d = structural_diff(&old, &new, &[], true, &[]);
/// assert_eq!(d.detailed_diff["tags.env"].kind, DiffKind::Update);
/// assert_eq!(d.diffs, vec!["tags".to_string()]);
/// let d = structural_diff(&old, &new, &["tags.*"], true, &[]);
/// assert_eq!(d.detailed_diff["tags.env"].kind, DiffKind::UpdateReplace);
/// ```
pub fn structural_diff(
    olds: &PropertyMap,
    news: &PropertyMap,
    replace_on_changes: &[&str],
    updates_in_place: bool,
    ignore_changes: &[String],
) -> DiffResponse {
    let rules = ReplaceRules {
        replace_on_changes,
        adds_in_place: &[],
        updates_in_place,
    };
    diff_with_rules(olds, news, &rules, ignore_changes)
}

/// What makes a change a replacement.
pub(crate) struct ReplaceRules<'a> {
    /// Paths (with wildcards) whose changes replace.
    pub replace_on_changes: &'a [&'a str],
    /// Paths (with wildcards) under which an added element or key is made in place, even
    /// when `replace_on_changes` covers it.
    pub adds_in_place: &'a [&'a str],
    /// Whether the resource updates in place at all.
    pub updates_in_place: bool,
}

/// [`structural_diff`] under `rules`.
pub(crate) fn diff_with_rules(
    olds: &PropertyMap,
    news: &PropertyMap,
    rules: &ReplaceRules<'_>,
    ignore_changes: &[String],
) -> DiffResponse {
    let mut changes = BTreeMap::new();
    diff_maps("", olds, news, &mut changes);
    let detailed = changes
        .into_iter()
        .filter(|(path, _)| !ignore_changes.iter().any(|ic| is_under(path, ic)))
        .map(|(path, kind)| {
            let added_in_place = kind == DiffKind::Add
                && rules
                    .adds_in_place
                    .iter()
                    .any(|p| path_matches(&path, p, false));
            let replace = !rules.updates_in_place
                || (!added_in_place
                    && rules
                        .replace_on_changes
                        .iter()
                        .any(|r| path_matches(&path, r, true)));
            let kind = if replace { kind.replacing() } else { kind };
            (path, PropertyDiff::input(kind))
        })
        .collect();
    DiffResponse::from_detailed(detailed)
}

/// One step of a property path: a name or key (`a`, `["a.b"]`) or an index (`[0]`); `*` in a
/// pattern.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(String),
}

/// The steps of a path such as `rules[1].port`, `tags["a.b"]`, `columns[*].type`; `None` when
/// it is malformed.
pub(crate) fn path_steps(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path;
    let mut first = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            if let Some(quoted) = after.strip_prefix('"') {
                // A quoted key: up to the closing quote that is not escaped.
                let mut end = None;
                let mut escaped = false;
                for (i, c) in quoted.char_indices() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => {
                            end = Some(i);
                            break;
                        }
                        _ => escaped = false,
                    }
                }
                let end = end?;
                let key: String = serde_json::from_str(&format!("\"{}\"", &quoted[..end])).ok()?;
                steps.push(Step::Key(key));
                rest = quoted[end + 1..].strip_prefix(']')?;
            } else {
                let end = after.find(']')?;
                let index = &after[..end];
                if index != "*" && index.parse::<usize>().is_err() {
                    return None;
                }
                steps.push(Step::Index(index.to_string()));
                rest = &after[end + 1..];
            }
        } else {
            let name = if first { rest } else { rest.strip_prefix('.')? };
            let end = name.find(['.', '[']).unwrap_or(name.len());
            if end == 0 {
                return None;
            }
            steps.push(Step::Key(name[..end].to_string()));
            rest = &name[end..];
        }
        first = false;
    }
    (!steps.is_empty()).then_some(steps)
}

/// Whether `path` is matched by `pattern` (`*` matching any one key or index): equal to it,
/// or (with `under`) below it.
pub(crate) fn path_matches(path: &str, pattern: &str, under: bool) -> bool {
    let (Some(path), Some(pattern)) = (path_steps(path), path_steps(pattern)) else {
        return false;
    };
    if pattern.len() > path.len() || (!under && pattern.len() != path.len()) {
        return false;
    }
    pattern.iter().zip(&path).all(|(p, s)| match (p, s) {
        (Step::Key(p), Step::Key(s)) | (Step::Index(p), Step::Index(s)) => p == "*" || p == s,
        (Step::Key(p), Step::Index(_)) => p == "*",
        (Step::Index(p), Step::Key(_)) => p == "*",
    })
}

/// Whether `path` is `prefix` or lies under it.
pub(crate) fn is_under(path: &str, prefix: &str) -> bool {
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

    #[test]
    fn paths_and_wildcards() {
        assert_eq!(
            path_steps(r#"a.b[2]["x.y"].c"#).unwrap(),
            vec![
                Step::Key("a".into()),
                Step::Key("b".into()),
                Step::Index("2".into()),
                Step::Key("x.y".into()),
                Step::Key("c".into())
            ]
        );
        assert!(path_steps("a..b").is_none());
        assert!(path_steps("a[x]").is_none());
        assert!(path_matches("columns[3].type", "columns[*].type", true));
        assert!(path_matches("columns[3].type", "columns", true));
        assert!(!path_matches("columns[3]", "columns[*].type", true));
        assert!(path_matches("tags.env", "tags.*", true));
        assert!(!path_matches("columns[3].type", "columns[*]", false));
        assert!(path_matches("columns[3]", "columns[*]", false));
    }

    #[test]
    fn appends_in_place_else_replace() {
        let cols = |names: &[&str]| {
            map(vec![(
                "columns",
                PropertyValue::Array(names.iter().map(|n| (*n).into()).collect()),
            )])
        };
        let rules = ReplaceRules {
            replace_on_changes: &["columns"],
            adds_in_place: &["columns[*]"],
            updates_in_place: true,
        };
        let appended = diff_with_rules(&cols(&["a", "b"]), &cols(&["a", "b", "c"]), &rules, &[]);
        assert_eq!(appended.detailed_diff["columns[2]"].kind, DiffKind::Add);
        assert!(appended.replaces.is_empty());
        let changed = diff_with_rules(&cols(&["a", "b"]), &cols(&["a", "x"]), &rules, &[]);
        assert_eq!(
            changed.detailed_diff["columns[1]"].kind,
            DiffKind::UpdateReplace
        );
        assert_eq!(changed.replaces, vec!["columns".to_string()]);
        let removed = diff_with_rules(&cols(&["a", "b"]), &cols(&["a"]), &rules, &[]);
        assert_eq!(
            removed.detailed_diff["columns[1]"].kind,
            DiffKind::DeleteReplace
        );
    }
}
