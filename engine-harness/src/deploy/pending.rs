//! The operations an interrupted run left pending: which the engine clears itself, which need
//! an operator, and how an imported pending create is checked against what it was to create.
//!
//! As Pulumi's engine does, a pending update, delete or read is warned about and cleared: the
//! state keeps the resource as it was recorded before the operation, and the next `refresh`
//! reads what it is now (`up` applies the program again, `destroy` deletes it again). Only a
//! pending create needs an operator, since the state does not know whether a real resource
//! exists: it is imported (`refresh --import-pending-creates URN=ID`) or dropped
//! (`--clear-pending`).

use crate::display::Display;
use crate::state::{self, OperationType};
use crate::value::{self, PropertyMap};
use crate::{Error, deploy::Operation};
use serde_json::Value as Json;
use std::collections::{BTreeSet, HashSet};

/// What a run does with the pending operations it found.
#[derive(Debug, Default)]
pub(super) struct PendingPlan {
    /// The operations to clear before the run starts (not in a preview).
    pub(super) clear: Vec<u64>,
    /// Pending creates no one resolved, while others are imported: the imports are recorded
    /// first, then the run stops with this error.
    pub(super) after_imports: Option<Error>,
}

/// The advice for a pending create, as the exit-3 message gives it.
fn create_choices(urn: &str) -> String {
    format!(
        "the provider may have created it.\n      If it exists: `engine-harness refresh --yes --import-pending-creates {urn}=<ID>` (ID: the provider's id for it; for local:index:File its absolute path) reads it, checks it against the inputs the create began with, and records it in the state.\n      If it does not exist: --clear-pending drops the record. If it does exist, that leaves a real resource unknown to the state, and the next `up` may fail creating it again."
    )
}

/// Decides about the pending operations of an interrupted run. Pending updates, deletes and
/// reads are warned about and cleared (in a preview: only warned about). Pending creates being
/// imported are left to the import. Other pending creates are an error listing the choices,
/// unless this is a preview (a warning) or `--clear-pending` drops them (a warning saying what
/// may be left behind); when creates are imported in the same run, the error comes after the
/// imports are recorded ([`PendingPlan::after_imports`]).
pub(super) fn plan(
    pending: &[(u64, state::Operation)],
    opts: &super::Options,
    display: &Display,
) -> Result<PendingPlan, Error> {
    let importing: HashSet<&str> = opts
        .import_pending_creates
        .iter()
        .map(|(u, _)| u.as_str())
        .collect();
    let preview = opts.operation == Operation::Preview;
    let mut out = PendingPlan::default();

    let others: Vec<&(u64, state::Operation)> = pending
        .iter()
        .filter(|(_, op)| op.op != OperationType::Creating)
        .collect();
    if !others.is_empty() {
        let mut msg = format!(
            "{} operation(s) from an interrupted run were never confirmed; {}:",
            others.len(),
            if preview {
                "`up`, `refresh` and `destroy` clear them"
            } else {
                "clearing them"
            }
        );
        for (id, op) in &others {
            let what = match op.op {
                OperationType::Updating => {
                    "it may be partly updated: the state keeps it as it was before the update; `refresh` reads what it is now, and `up` applies the program again"
                }
                OperationType::Deleting => {
                    "it may already be deleted: the state keeps it; `refresh` drops it if it is gone, and `up` or `destroy` deletes it again"
                }
                _ => "harmless: the record is dropped",
            };
            msg.push_str(&format!("\n  - {:?} {}: {what}", op.op, op.resource.urn));
            if !preview {
                out.clear.push(*id);
            }
        }
        display.log("warning", msg);
    }

    let creates: Vec<&(u64, state::Operation)> = pending
        .iter()
        .filter(|(_, op)| {
            op.op == OperationType::Creating && !importing.contains(op.resource.urn.as_str())
        })
        .collect();
    if creates.is_empty() {
        return Ok(out);
    }
    let mut msg = format!(
        "{} create(s) from an interrupted run were never confirmed:",
        creates.len()
    );
    for (_, op) in &creates {
        let urn = &op.resource.urn;
        msg.push_str(&format!("\n  - {:?} {urn}: {}", op.op, create_choices(urn)));
    }
    if preview {
        display.log("warning", msg);
    } else if opts.clear_pending {
        let urns: Vec<&str> = creates
            .iter()
            .map(|(_, op)| op.resource.urn.as_str())
            .collect();
        msg.push_str(&format!(
            "\nClearing them (--clear-pending). A real resource may be left behind, unknown to the state: the provider may have created {} before the run stopped. Check, and delete it by hand or import it with `refresh --import-pending-creates URN=ID`.",
            urns.join(", ")
        ));
        display.log("warning", msg);
        out.clear.extend(creates.iter().map(|(id, _)| *id));
    } else {
        msg.push_str("\nResolve them, then run again (with --clear-pending for the records left).");
        if importing.is_empty() {
            return Err(Error::PendingOperations(msg));
        }
        out.after_imports = Some(Error::PendingOperations(format!(
            "the imports given were recorded; {msg}"
        )));
    }
    Ok(out)
}

/// The top-level input properties whose value a provider's Read found different from the
/// inputs a pending create began with (secrets compared by their values). `read` is what the
/// Read returned as the resource's inputs, or its outputs when it returned none. A property
/// the create did not set is not compared; one it set and the Read lacks differs (unless null).
pub(super) fn differing_inputs(recorded: &PropertyMap, read: &PropertyMap) -> Vec<String> {
    let plain = |v: Option<&Json>| v.map(|v| value::unwrap_secrets(v).0).unwrap_or(Json::Null);
    let keys: BTreeSet<&String> = recorded.keys().collect();
    keys.into_iter()
        .filter(|k| !value::contains_unknown(&recorded[*k]))
        .filter(|k| plain(recorded.get(*k)) != plain(read.get(*k)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::differing_inputs;
    use crate::value;
    use serde_json::json;

    #[test]
    fn differing_inputs_name_each_property_and_see_through_secrets() {
        let recorded =
            json!({"path": "out/f1.txt", "content": value::secret(json!("x")), "mode": null})
                .as_object()
                .unwrap()
                .clone();
        let same = json!({"path": "out/f1.txt", "content": "x", "size": 1})
            .as_object()
            .unwrap()
            .clone();
        assert!(differing_inputs(&recorded, &same).is_empty());
        let other = json!({"path": "/elsewhere/g.txt", "content": "y"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(differing_inputs(&recorded, &other), vec!["content", "path"]);
    }
}
