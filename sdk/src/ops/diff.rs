//! `Diff` and `DiffConfig`: what changed between the recorded state and the new inputs.

use std::collections::BTreeMap;

use crate::value::PropertyMap;

/// Compare recorded state with new inputs.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DiffRequest {
    /// The resource's id.
    pub id: String,
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The resource's type token.
    pub type_token: String,
    /// The outputs last recorded.
    pub olds: PropertyMap,
    /// The inputs last recorded.
    pub old_inputs: PropertyMap,
    /// The new checked inputs.
    pub news: PropertyMap,
    /// Property paths the user asked to leave unchanged.
    pub ignore_changes: Vec<String>,
}

impl DiffRequest {
    /// Diff resource `id` of type `type_token`: its recorded `olds` (outputs) and
    /// `old_inputs` against the checked `news`.
    pub fn new(
        type_token: impl Into<String>,
        id: impl Into<String>,
        olds: PropertyMap,
        old_inputs: PropertyMap,
        news: PropertyMap,
    ) -> Self {
        DiffRequest {
            type_token: type_token.into(),
            id: id.into(),
            olds,
            old_inputs,
            news,
            ..Default::default()
        }
    }
}

/// Whether anything changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffChanges {
    /// The provider cannot tell; the engine decides.
    #[default]
    Unknown,
    /// Nothing changed.
    None,
    /// Something changed: an update, or a replace when any change requires one.
    Some,
}

/// The kind of change at one property path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// Added.
    Add,
    /// Added, and the resource must be replaced.
    AddReplace,
    /// Removed.
    Delete,
    /// Removed, and the resource must be replaced.
    DeleteReplace,
    /// Changed.
    Update,
    /// Changed, and the resource must be replaced.
    UpdateReplace,
}

impl DiffKind {
    /// Whether this change requires a replace.
    pub fn is_replace(self) -> bool {
        matches!(
            self,
            DiffKind::AddReplace | DiffKind::DeleteReplace | DiffKind::UpdateReplace
        )
    }

    /// The same change, requiring a replace.
    pub fn replacing(self) -> DiffKind {
        match self {
            DiffKind::Add | DiffKind::AddReplace => DiffKind::AddReplace,
            DiffKind::Delete | DiffKind::DeleteReplace => DiffKind::DeleteReplace,
            DiffKind::Update | DiffKind::UpdateReplace => DiffKind::UpdateReplace,
        }
    }
}

/// The change at one property path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PropertyDiff {
    /// What kind of change.
    pub kind: DiffKind,
    /// True when the change is between old and new inputs (rather than outputs).
    pub input_diff: bool,
}

impl PropertyDiff {
    /// An input change of `kind`.
    pub fn input(kind: DiffKind) -> Self {
        PropertyDiff {
            kind,
            input_diff: true,
        }
    }
}

/// The result of a diff.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DiffResponse {
    /// Whether anything changed.
    pub changes: DiffChanges,
    /// Top-level properties whose change requires a replace.
    pub replaces: Vec<String>,
    /// Top-level properties that will not change.
    pub stables: Vec<String>,
    /// Delete the old resource before creating its replacement.
    pub delete_before_replace: bool,
    /// Top-level properties that changed.
    pub diffs: Vec<String>,
    /// The change at each property path.
    pub detailed_diff: BTreeMap<String, PropertyDiff>,
}

impl DiffResponse {
    /// No changes.
    pub fn none() -> Self {
        DiffResponse {
            changes: DiffChanges::None,
            ..Default::default()
        }
    }

    /// Builds a response from per-path changes, filling `changes`, `diffs` and `replaces`
    /// consistently with `detailed_diff`.
    pub fn from_detailed(detailed_diff: BTreeMap<String, PropertyDiff>) -> Self {
        let mut diffs: Vec<String> = Vec::new();
        let mut replaces: Vec<String> = Vec::new();
        for (path, change) in &detailed_diff {
            let top = top_level_key(path).to_string();
            if !diffs.contains(&top) {
                diffs.push(top.clone());
            }
            if change.kind.is_replace() && !replaces.contains(&top) {
                replaces.push(top);
            }
        }
        let changes = if detailed_diff.is_empty() {
            DiffChanges::None
        } else {
            DiffChanges::Some
        };
        DiffResponse {
            changes,
            replaces,
            diffs,
            detailed_diff,
            ..Default::default()
        }
    }

    /// Whether this diff requires a replace.
    pub fn requires_replace(&self) -> bool {
        !self.replaces.is_empty() || self.detailed_diff.values().any(|d| d.kind.is_replace())
    }
}

/// The first segment of a property path: `a` of `a.b`, `a[0]` and `a["k"]`.
pub(crate) fn top_level_key(path: &str) -> &str {
    if let Some(rest) = path.strip_prefix("[\"") {
        // A quoted top-level key: `["a.b"].c`.
        if let Some(end) = rest.find("\"]") {
            return &path[..end + 4];
        }
    }
    let end = path.find(['.', '[']).unwrap_or(path.len());
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_detailed_keeps_the_invariants() {
        let detailed = BTreeMap::from([
            (
                "length".to_string(),
                PropertyDiff::input(DiffKind::UpdateReplace),
            ),
            ("tags.env".to_string(), PropertyDiff::input(DiffKind::Add)),
            (
                "tags.team".to_string(),
                PropertyDiff::input(DiffKind::Delete),
            ),
        ]);
        let d = DiffResponse::from_detailed(detailed);
        assert_eq!(d.changes, DiffChanges::Some);
        assert_eq!(d.diffs, vec!["length".to_string(), "tags".to_string()]);
        assert_eq!(d.replaces, vec!["length".to_string()]);
        assert!(d.requires_replace());
        assert_eq!(
            DiffResponse::from_detailed(BTreeMap::new()).changes,
            DiffChanges::None
        );
    }

    #[test]
    fn top_level_keys() {
        assert_eq!(top_level_key("a.b"), "a");
        assert_eq!(top_level_key("a[0]"), "a");
        assert_eq!(top_level_key("a"), "a");
    }
}
