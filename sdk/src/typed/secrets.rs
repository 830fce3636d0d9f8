//! Secret propagation from inputs (and recorded state) to outputs; the rule is documented on
//! the [`typed`](super) module.

use std::collections::BTreeMap;

use crate::value::{PropertyMap, PropertyValue};

/// Which inputs each output derives from, for outputs that declare it
/// ([`DERIVED_FROM_SCHEMA_KEY`](super::DERIVED_FROM_SCHEMA_KEY)).
pub(crate) type Sources = BTreeMap<String, Vec<String>>;

/// A resource's own secrecy marks: outputs always secret, outputs that never derive from
/// a secret input, and the inputs each declaring output derives from.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Marks<'a> {
    pub secret: &'static [&'static str],
    pub plain: &'static [&'static str],
    pub sources: Option<&'a Sources>,
}

/// Marks output properties secret following the typed layer's rule: same-named secret inputs,
/// any secret input for everything not copied from a plain input, and properties that were
/// secret in `previous` (the recorded state). Outputs in `marks.secret` are always secret;
/// outputs in `marks.plain` take secrecy only from a same-named input; an output with declared
/// sources is secret exactly when a same-named input or one of its sources holds a secret.
pub(crate) fn propagate(
    outputs: PropertyMap,
    inputs: &PropertyMap,
    previous: Option<&PropertyMap>,
    marks: Marks<'_>,
) -> PropertyMap {
    let any_secret = inputs.values().any(PropertyValue::contains_secrets);
    let secret_input = |name: &str| {
        inputs
            .get(name)
            .is_some_and(PropertyValue::contains_secrets)
    };
    outputs
        .into_iter()
        .map(|(name, value)| {
            if value.is_secret() {
                return (name, value);
            }
            let input = inputs.get(&name);
            let from_secret_input = input.is_some_and(PropertyValue::contains_secrets);
            let declared = marks.sources.and_then(|s| s.get(&name));
            let secret = from_secret_input
                || marks.secret.contains(&name.as_str())
                || match declared {
                    Some(sources) => sources.iter().any(|s| secret_input(s)),
                    None => {
                        let copied_from_plain_input =
                            input.is_some_and(|i| !i.contains_secrets() && *i == value);
                        let was_secret = previous
                            .and_then(|p| p.get(&name))
                            .is_some_and(PropertyValue::contains_secrets);
                        let independent = marks.plain.contains(&name.as_str());
                        !independent && (was_secret || (any_secret && !copied_from_plain_input))
                    }
                };
            (
                name,
                if secret {
                    PropertyValue::secret(value)
                } else {
                    value
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        let inputs = PropertyMap::from([
            ("length".into(), 8.0.into()),
            ("prefix".into(), PropertyValue::secret("p-".into())),
        ]);
        let outputs = PropertyMap::from([
            ("length".into(), 8.0.into()),
            ("prefix".into(), "p-".into()),
            ("result".into(), "p-abc".into()),
        ]);
        let out = propagate(outputs.clone(), &inputs, None, Marks::default());
        assert!(!out["length"].is_secret());
        assert!(out["prefix"].is_secret());
        assert!(out["result"].is_secret());

        let plain = PropertyMap::from([
            ("length".into(), 8.0.into()),
            ("prefix".into(), "p-".into()),
        ]);
        let out = propagate(outputs.clone(), &plain, None, Marks::default());
        assert!(out.values().all(|v| !v.is_secret()));
        let previous = PropertyMap::from([("result".into(), PropertyValue::secret("x".into()))]);
        let out = propagate(outputs.clone(), &plain, Some(&previous), Marks::default());
        assert!(out["result"].is_secret());
        assert!(!out["prefix"].is_secret());

        // The marks: `length` never derives from a secret, `prefix` (a copy of a secret input)
        // stays secret anyway, and `result` is always secret.
        let marks = Marks {
            secret: &["result"],
            plain: &["length", "prefix"],
            sources: None,
        };
        let outputs = PropertyMap::from([
            ("length".into(), 9.0.into()),
            ("prefix".into(), "p-".into()),
            ("result".into(), "p-abc".into()),
        ]);
        let out = propagate(outputs.clone(), &inputs, Some(&previous), marks);
        assert!(
            !out["length"].is_secret(),
            "computed, yet not from a secret"
        );
        assert!(out["prefix"].is_secret());
        assert!(out["result"].is_secret());
        let out = propagate(outputs, &plain, None, marks);
        assert!(out["result"].is_secret());
    }

    #[test]
    fn declared_sources() {
        let sources = Sources::from([
            ("path".to_string(), vec!["file".to_string()]),
            (
                "digest".to_string(),
                vec!["key".to_string(), "file".to_string()],
            ),
            ("version".to_string(), vec![]),
        ]);
        let marks = Marks {
            sources: Some(&sources),
            ..Marks::default()
        };
        let outputs = PropertyMap::from([
            ("path".into(), "/db/x".into()),
            ("digest".into(), "abc".into()),
            ("version".into(), "3".into()),
            ("other".into(), "o".into()),
        ]);
        let key_secret = PropertyMap::from([
            ("file".into(), "x".into()),
            ("key".into(), PropertyValue::secret("k".into())),
        ]);
        let out = propagate(outputs.clone(), &key_secret, None, marks);
        assert!(!out["path"].is_secret(), "derives from `file` alone");
        assert!(out["digest"].is_secret(), "derives from `key`");
        assert!(!out["version"].is_secret(), "derives from no input");
        assert!(out["other"].is_secret(), "undeclared: the safe default");
        let file_secret = PropertyMap::from([
            ("file".into(), PropertyValue::secret("x".into())),
            ("key".into(), "k".into()),
        ]);
        let out = propagate(outputs, &file_secret, None, marks);
        assert!(out["path"].is_secret(), "its source is secret now");
        assert!(out["digest"].is_secret());
        assert!(!out["version"].is_secret());
    }
}
