//! Secrets through a component: a value the component got as a secret stays secret in every
//! child input and output it ends up in.
//!
//! A component's code reads its inputs as plain Rust values (a `String`, not a secret), so
//! secrecy cannot ride on the values themselves. Instead the component remembers every secret
//! it has seen (secret inputs, secret outputs of its children) and marks secret, in what it
//! sends on (a child's inputs, the component's outputs), every value that is one of them or
//! contains one of them (a string built around a secret). Values that are secret already stay
//! so, and [`Secret<T>`](crate::Secret) fields are always secret.

use std::collections::BTreeSet;

use crate::value::{PropertyMap, PropertyValue};

/// Secrets shorter than this are matched only as whole values: a short secret (`1`, `on`)
/// inside a longer string is more likely a coincidence than a copy.
const MIN_EMBEDDED: usize = 4;

/// The secrets a component has seen, as the text of each secret leaf value.
#[derive(Default, Clone)]
pub(crate) struct Taint {
    secrets: BTreeSet<String>,
}

/// Shows how many secrets, never one of them.
impl std::fmt::Debug for Taint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Taint({} secrets)", self.secrets.len())
    }
}

impl Taint {
    /// Remembers every secret leaf value in `map`.
    pub(crate) fn learn(&mut self, map: &PropertyMap) {
        for value in map.values() {
            self.learn_value(value, false);
        }
    }

    fn learn_value(&mut self, value: &PropertyValue, secret: bool) {
        match value {
            PropertyValue::Secret(inner) => self.learn_value(inner, true),
            PropertyValue::Output(o) => {
                if let Some(inner) = &o.value {
                    self.learn_value(inner, secret || o.secret);
                }
            }
            PropertyValue::Array(items) => items.iter().for_each(|i| self.learn_value(i, secret)),
            PropertyValue::Object(map) => map.values().for_each(|i| self.learn_value(i, secret)),
            leaf if secret => {
                if let Some(text) = leaf_text(leaf)
                    && !text.is_empty()
                {
                    self.secrets.insert(text);
                }
            }
            _ => {}
        }
    }

    /// Whether no secret has been seen.
    pub(crate) fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `map` with every value that holds a remembered secret marked secret.
    pub(crate) fn mark(&self, map: PropertyMap) -> PropertyMap {
        if self.is_empty() {
            return map;
        }
        map.into_iter()
            .map(|(k, v)| (k, self.mark_value(v)))
            .collect()
    }

    fn mark_value(&self, value: PropertyValue) -> PropertyValue {
        match value {
            PropertyValue::Array(items) => {
                PropertyValue::Array(items.into_iter().map(|i| self.mark_value(i)).collect())
            }
            PropertyValue::Object(map) => PropertyValue::Object(self.mark(map)),
            leaf if !leaf.is_secret() && self.holds_secret(&leaf) => PropertyValue::secret(leaf),
            other => other,
        }
    }

    fn holds_secret(&self, leaf: &PropertyValue) -> bool {
        let Some(text) = leaf_text(leaf) else {
            return false;
        };
        if self.secrets.contains(&text) {
            return true;
        }
        matches!(leaf, PropertyValue::String(_))
            && self
                .secrets
                .iter()
                .any(|s| s.len() >= MIN_EMBEDDED && text.contains(s.as_str()))
    }
}

/// The text of a string or number leaf (booleans and nulls are too common to track).
fn leaf_text(value: &PropertyValue) -> Option<String> {
    match value {
        PropertyValue::String(s) => Some(s.clone()),
        PropertyValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_and_embeddings_of_secrets_are_marked_and_nothing_else() {
        let mut taint = Taint::default();
        taint.learn(&PropertyMap::from([
            (
                "files".to_string(),
                PropertyValue::Object(PropertyMap::from([(
                    "key.txt".to_string(),
                    PropertyValue::secret("hunter22".into()),
                )])),
            ),
            ("port".to_string(), 8080.into()),
        ]));
        let marked = taint.mark(PropertyMap::from([
            ("content".to_string(), "hunter22".into()),
            ("banner".to_string(), "pw=hunter22;".into()),
            ("path".to_string(), "site/key.txt".into()),
            ("port".to_string(), 8080.into()),
            (
                "nested".to_string(),
                PropertyValue::Array(vec!["x".into(), "hunter22".into()]),
            ),
        ]));
        assert!(marked["content"].is_secret());
        assert!(marked["banner"].is_secret());
        assert!(!marked["path"].is_secret());
        assert!(!marked["port"].is_secret(), "the port was not secret");
        let PropertyValue::Array(items) = &marked["nested"] else {
            panic!("still an array")
        };
        assert!(!items[0].is_secret() && items[1].is_secret());
        assert!(
            !format!("{taint:?}").contains("hunter22"),
            "Debug never shows a secret"
        );
    }
}
