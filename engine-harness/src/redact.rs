//! Masking the secret values the engine knows wherever it prints or stores text: step
//! messages, provider and program log lines, errors, recorded initialization errors.
//!
//! Secret values travel wrapped, and the display masks the wrappers; but a provider's error
//! or log line is plain text, and it may quote a secret it was given (a failing script's
//! stderr, a path). As Pulumi's engine filters its diagnostics with the stack's secret config
//! values, every text the engine shows goes through one [`Redactor`] that knows the secret
//! config values and the secret inputs and outputs of the resources of the run, and replaces
//! each occurrence with [`MASK`].
//!
//! ```
//! use engine_harness::redact::Redactor;
//! let r = Redactor::default();
//! r.add("hunter2-token");
//! assert_eq!(r.mask("auth failed for hunter2-token"), "auth failed for [secret]");
//! ```

use crate::value::{self, PropertyMap};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

/// What a masked secret reads as.
pub const MASK: &str = "[secret]";

/// Secrets shorter than this are not masked: masking every `ab` in the output would hide far
/// more than the secret and tell what it is (Pulumi's filter makes the same trade-off).
const MIN_LEN: usize = 3;

/// The secret texts to mask, shared by clones (the display, the engine service, the steps).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so that a secret containing another is masked whole.
    patterns: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// Masks `secret` from now on (with its JSON-escaped form, as it reads inside `--json`
    /// events). A secret shorter than 3 characters, `true` and `false` are not masked. A
    /// multi-line secret is also masked line by line, since an error often quotes one line.
    pub fn add(&self, secret: &str) {
        let mut forms: BTreeSet<String> = BTreeSet::new();
        let mut push = |s: &str| {
            let s = s.trim();
            if s.chars().count() >= MIN_LEN
                && !s.eq_ignore_ascii_case("true")
                && !s.eq_ignore_ascii_case("false")
            {
                forms.insert(s.to_string());
                if let Ok(quoted) = serde_json::to_string(s) {
                    forms.insert(quoted[1..quoted.len() - 1].to_string());
                }
            }
        };
        push(secret);
        if secret.contains('\n') {
            secret.lines().for_each(&mut push);
        }
        if forms.is_empty() {
            return;
        }
        let mut patterns = self.patterns.write().unwrap_or_else(|p| p.into_inner());
        let before = patterns.len();
        for f in forms {
            if !patterns.contains(&f) {
                patterns.push(f);
            }
        }
        if patterns.len() != before {
            patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
        }
    }

    /// Masks every text inside the secrets of `v` (at any depth; a value under a secret is
    /// secret as a whole).
    pub fn add_secrets_of(&self, v: &Json) {
        if value::is_secret(v) {
            let (plain, _) = value::unwrap_secrets(v);
            self.add_texts(&plain);
            return;
        }
        match v {
            Json::Array(a) => a.iter().for_each(|x| self.add_secrets_of(x)),
            Json::Object(m) => m.values().for_each(|x| self.add_secrets_of(x)),
            _ => {}
        }
    }

    /// [`Redactor::add_secrets_of`] for each value of a property map.
    pub fn add_secrets_of_map(&self, m: &PropertyMap) {
        m.values().for_each(|v| self.add_secrets_of(v));
    }

    /// Masks the secret config values of a project: its own and its providers'.
    pub fn add_config_secrets(&self, project: &crate::program::Project) {
        project.config.values().for_each(|v| self.add_secrets_of(v));
        project
            .provider_config
            .values()
            .for_each(|m| self.add_secrets_of_map(m));
    }

    /// Masks the secrets recorded in a state: the inputs and outputs of its resources and of
    /// its pending operations (a delete or refresh may quote them).
    pub fn add_state_secrets(&self, snap: &crate::state::Snapshot) {
        for r in snap.iter_all() {
            self.add_secrets_of_map(&r.inputs);
            self.add_secrets_of_map(&r.outputs);
        }
    }

    fn add_texts(&self, v: &Json) {
        match v {
            Json::String(s) => self.add(s),
            Json::Array(a) => a.iter().for_each(|x| self.add_texts(x)),
            Json::Object(m) => m.values().for_each(|x| self.add_texts(x)),
            _ => {}
        }
    }

    /// `text` with every known secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let patterns = self.patterns.read().unwrap_or_else(|p| p.into_inner());
        let mut out = text.to_string();
        for p in patterns.iter() {
            if out.contains(p.as_str()) {
                out = out.replace(p.as_str(), MASK);
            }
        }
        out
    }

    /// [`Redactor::mask`] over every string value inside `v` (not the keys: a `--json` event
    /// stays well-formed whatever the secret is).
    pub fn mask_json(&self, v: &mut Json) {
        match v {
            Json::String(s) => {
                let masked = self.mask(s);
                if masked != *s {
                    *s = masked;
                }
            }
            Json::Array(a) => a.iter_mut().for_each(|x| self.mask_json(x)),
            Json::Object(m) => m.values_mut().for_each(|x| self.mask_json(x)),
            _ => {}
        }
    }

    /// [`Redactor::mask`] over each text of a list (recorded initialization errors).
    pub fn mask_all(&self, texts: &[String]) -> Vec<String> {
        texts.iter().map(|t| self.mask(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_secrets_of_values_in_plain_and_json_text_and_leaves_short_ones() {
        let r = Redactor::default();
        r.add_secrets_of(&json!({
            "a": value::secret(json!("s3cr\"et")),
            "b": [value::secret(json!({"k": "tok-123", "n": 7}))],
            "c": "plain-value",
            "d": value::secret(json!("ab")),
        }));
        assert_eq!(r.mask("x s3cr\"et y"), "x [secret] y");
        let event = serde_json::to_string(&json!({"message": "bad s3cr\"et"})).unwrap();
        assert!(!r.mask(&event).contains("s3cr"), "{}", r.mask(&event));
        assert_eq!(
            r.mask("tok-123 and plain-value"),
            "[secret] and plain-value"
        );
        assert_eq!(r.mask("ab stays"), "ab stays");
        // In JSON only values are masked, so an event stays well-formed.
        r.add("message");
        let mut ev = json!({"message": "message and tok-123", "n": 1});
        r.mask_json(&mut ev);
        assert_eq!(ev, json!({"message": "[secret] and [secret]", "n": 1}));
    }

    #[test]
    fn a_longer_secret_containing_a_shorter_one_is_masked_whole_and_lines_alone() {
        let r = Redactor::default();
        r.add("abc");
        r.add("xxabcxx\nsecond line");
        assert_eq!(r.mask("[xxabcxx] abc"), "[[secret]] [secret]");
        assert_eq!(r.mask("failed at: second line"), "failed at: [secret]");
    }
}
