//! `--diff`: a step's full property diff, as `pulumi preview --diff` shows it. A create lists
//! every input, a delete every old input, an update or a replace every changed property down
//! to the nested key or array element that changed, with its old and new values.
//!
//! The paths are those of a detailed diff (`tags.env`, `columns[2]`, `tags["a.b"]`). Secrets
//! show as `[secret]` unless the user asked for them (`--show-secrets`); unknowns as
//! `[unknown]`.

use crate::display::DiffLine;
use crate::property_path::{self, PropertyPath};
use crate::value::{self, PropertyMap};
use serde_json::Value as Json;

/// The inputs a step started from and ends with (`None`: the resource does not exist on that
/// side), carried with a step's event when the display shows full diffs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepInputs {
    /// The inputs recorded before the step.
    pub old: Option<PropertyMap>,
    /// The inputs after it.
    pub new: Option<PropertyMap>,
}

/// Whether [`render`] shows steps of `op` (others keep the provider's diff lines).
pub fn covers(op: &str) -> bool {
    matches!(
        op,
        "create"
            | "create-replacement"
            | "read"
            | "import"
            | "delete"
            | "read-delete"
            | "update"
            | "replace"
    )
}

/// One property line: its mark (`+`, `-`, `~`), path and shown value.
struct Line {
    mark: char,
    path: String,
    text: String,
}

/// The property lines of step `op`, indented for the display. `provider` holds the provider's
/// own diff of the step: which properties force a replacement, and changes that are not in the
/// inputs (kept as they are). `reveal` shows secrets in clear.
pub fn render(op: &str, inputs: &StepInputs, provider: &[DiffLine], reveal: bool) -> Vec<String> {
    let show = |v: &Json| {
        if reveal {
            value::render(&value::unwrap_secrets(v).0)
        } else {
            value::render(v)
        }
    };
    let empty = PropertyMap::new();
    let mut lines = Vec::new();
    match op {
        "create" | "create-replacement" | "read" | "import" => {
            for (k, v) in visible(inputs.new.as_ref().unwrap_or(&empty)) {
                lines.push(Line {
                    mark: '+',
                    path: PropertyPath::child_key("", k),
                    text: show(v),
                });
            }
        }
        "delete" | "read-delete" => {
            for (k, v) in visible(inputs.old.as_ref().unwrap_or(&empty)) {
                lines.push(Line {
                    mark: '-',
                    path: PropertyPath::child_key("", k),
                    text: show(v),
                });
            }
        }
        "update" | "replace" => {
            let old = inputs.old.as_ref().unwrap_or(&empty);
            let new = inputs.new.as_ref().unwrap_or(&empty);
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys.into_iter().filter(|k| !k.starts_with("__")) {
                changes(
                    &PropertyPath::child_key("", k),
                    old.get(k),
                    new.get(k),
                    &show,
                    &mut lines,
                );
            }
            // What the provider reports beyond the inputs (a change of an output, or of a
            // property the inputs do not show) is kept.
            for d in provider {
                let top = property_path::top_level(&d.path);
                if !lines
                    .iter()
                    .any(|l| property_path::top_level(&l.path) == top)
                {
                    let (mark, text) = match (&d.old, &d.new) {
                        (Some(o), Some(n)) => ('~', format!("{} => {}", show(o), show(n))),
                        (None, Some(n)) => ('+', show(n)),
                        (Some(o), None) => ('-', show(o)),
                        (None, None) => ('~', String::new()),
                    };
                    lines.push(Line {
                        mark,
                        path: d.path.clone(),
                        text,
                    });
                }
            }
        }
        _ => return Vec::new(),
    }
    let forcing: Vec<String> = provider
        .iter()
        .filter(|d| d.replace)
        .map(|d| property_path::top_level(&d.path))
        .collect();
    lines
        .into_iter()
        .map(|l| {
            let note = if forcing.contains(&property_path::top_level(&l.path)) {
                "  (forces replacement)"
            } else {
                ""
            };
            format!("        {} {}: {}{note}", l.mark, l.path, l.text)
        })
        .collect()
}

/// The properties a user wrote (not the engine's bookkeeping, `__defaults` and the like).
fn visible(map: &PropertyMap) -> impl Iterator<Item = (&String, &Json)> {
    let mut items: Vec<(&String, &Json)> =
        map.iter().filter(|(k, _)| !k.starts_with("__")).collect();
    items.sort_by(|a, b| a.0.cmp(b.0));
    items.into_iter()
}

/// The lines of what changed from `old` to `new` at `path`: down to the key or element that
/// changed; a secret or a value of another shape is one change.
fn changes(
    path: &str,
    old: Option<&Json>,
    new: Option<&Json>,
    show: &dyn Fn(&Json) -> String,
    out: &mut Vec<Line>,
) {
    let line = |mark, text| Line {
        mark,
        path: path.to_string(),
        text,
    };
    match (old, new) {
        (None, None) => {}
        (None, Some(n)) => out.push(line('+', show(n))),
        (Some(o), None) => out.push(line('-', show(o))),
        (Some(o), Some(n)) if o == n => {}
        (Some(o), Some(n)) if value::is_secret(o) || value::is_secret(n) => {
            out.push(line('~', format!("{} => {}", show(o), show(n))))
        }
        (Some(Json::Object(o)), Some(Json::Object(n))) => {
            let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                changes(
                    &PropertyPath::child_key(path, k),
                    o.get(k),
                    n.get(k),
                    show,
                    out,
                );
            }
        }
        (Some(Json::Array(o)), Some(Json::Array(n))) => {
            for i in 0..o.len().max(n.len()) {
                changes(&format!("{path}[{i}]"), o.get(i), n.get(i), show, out);
            }
        }
        (Some(o), Some(n)) => out.push(line('~', format!("{} => {}", show(o), show(n)))),
    }
}

#[cfg(test)]
mod tests {
    use super::{StepInputs, render};
    use crate::display::DiffLine;
    use crate::value;
    use serde_json::json;

    fn map(v: serde_json::Value) -> Option<crate::value::PropertyMap> {
        v.as_object().cloned()
    }

    #[test]
    fn nested_keys_and_elements_show_their_old_and_new_values() {
        let inputs = StepInputs {
            old: map(
                json!({"columns": ["id", "name"], "tags": {"env": "dev", "a.b": 1}, "same": 1}),
            ),
            new: map(
                json!({"columns": ["id", "title", "price"], "tags": {"env": "prod"}, "same": 1}),
            ),
        };
        let provider = [DiffLine {
            path: "columns".into(),
            kind: "update".into(),
            replace: true,
            old: None,
            new: None,
        }];
        let lines = render("replace", &inputs, &provider, false);
        assert_eq!(
            lines,
            [
                "        ~ columns[1]: \"name\" => \"title\"  (forces replacement)",
                "        + columns[2]: \"price\"  (forces replacement)",
                "        - tags[\"a.b\"]: 1",
                "        ~ tags.env: \"dev\" => \"prod\"",
            ]
        );
    }

    #[test]
    fn secrets_stay_masked_unless_revealed() {
        let inputs = StepInputs {
            old: None,
            new: map(json!({"key": value::secret(json!("hunter2")), "path": "a.txt"})),
        };
        let masked = render("create", &inputs, &[], false).join("\n");
        assert!(
            masked.contains("+ key: [secret]") && !masked.contains("hunter2"),
            "{masked}"
        );
        let shown = render("create", &inputs, &[], true).join("\n");
        assert!(shown.contains("+ key: \"hunter2\""), "{shown}");
    }
}
