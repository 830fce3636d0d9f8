//! Secret propagation from inputs (and recorded state) to outputs; the rule is documented on
//! the [`typed`](super) module.

use crate::value::{PropertyMap, PropertyValue};

/// Marks output properties secret following the typed layer's rule: same-named secret inputs,
/// any secret input for everything not copied from a plain input, and properties that were
/// secret in `previous` (the recorded state).
pub(crate) fn propagate(
    outputs: PropertyMap,
    inputs: &PropertyMap,
    previous: Option<&PropertyMap>,
) -> PropertyMap {
    let any_secret = inputs.values().any(PropertyValue::contains_secrets);
    outputs
        .into_iter()
        .map(|(name, value)| {
            if value.is_secret() {
                return (name, value);
            }
            let input = inputs.get(&name);
            let from_secret_input = input.is_some_and(PropertyValue::contains_secrets);
            let copied_from_plain_input =
                input.is_some_and(|i| !i.contains_secrets() && *i == value);
            let was_secret = previous
                .and_then(|p| p.get(&name))
                .is_some_and(PropertyValue::contains_secrets);
            let secret =
                from_secret_input || was_secret || (any_secret && !copied_from_plain_input);
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
        let out = propagate(outputs.clone(), &inputs, None);
        assert!(!out["length"].is_secret());
        assert!(out["prefix"].is_secret());
        assert!(out["result"].is_secret());

        let plain = PropertyMap::from([
            ("length".into(), 8.0.into()),
            ("prefix".into(), "p-".into()),
        ]);
        let out = propagate(outputs.clone(), &plain, None);
        assert!(out.values().all(|v| !v.is_secret()));
        let previous = PropertyMap::from([("result".into(), PropertyValue::secret("x".into()))]);
        let out = propagate(outputs, &plain, Some(&previous));
        assert!(out["result"].is_secret());
        assert!(!out["prefix"].is_secret());
    }
}
