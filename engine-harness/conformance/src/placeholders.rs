//! Placeholders in fixture values: `${TEMPDIR}`, a scratch directory for the whole run, and
//! `${N}`, a number of its own for each resource the kit makes, so that resources made side by
//! side (the `concurrency` case makes hundreds at once) get distinct inputs, such as distinct
//! file paths. Both are replaced inside strings, anywhere in `config` and `resources`
//! (`${N}` in resources only: the configuration is one per plugin).

use crate::error::Error;
use crate::fixture::{Fixture, ResourceFixture};

/// Replaced by the run's scratch directory.
pub const TEMPDIR: &str = "${TEMPDIR}";
/// Replaced by a number unique to each resource instance within a run (1, 2, ...).
pub const INSTANCE: &str = "${N}";

/// The scratch directory behind `${TEMPDIR}`, removed when dropped.
pub(crate) struct Scratch(#[allow(dead_code)] Option<tempfile::TempDir>);

impl Scratch {
    /// The scratch directory, when the fixture uses one.
    pub(crate) fn path(&self) -> Option<&std::path::Path> {
        self.0.as_ref().map(|d| d.path())
    }

    /// Replaces `${TEMPDIR}` everywhere in `fixture` with a fresh directory (made only when the
    /// fixture uses it).
    pub(crate) fn substitute(fixture: &mut Fixture) -> Result<Scratch, Error> {
        let mut json = to_json(fixture)?;
        if !json.to_string().contains(TEMPDIR) {
            return Ok(Scratch(None));
        }
        let dir = tempfile::Builder::new().prefix("conformance-").tempdir()?;
        replace_in(&mut json, TEMPDIR, &dir.path().display().to_string());
        *fixture = from_json(json, "fixture")?;
        Ok(Scratch(Some(dir)))
    }
}

impl ResourceFixture {
    /// This resource with `${N}` replaced by `n` everywhere (inputs, expected outputs, updates,
    /// replacements, ...), so that one instance's values stay consistent with each other.
    pub fn instance(&self, n: u64) -> ResourceFixture {
        let Ok(mut json) = to_json(self) else {
            return self.clone();
        };
        if !json.to_string().contains(INSTANCE) {
            return self.clone();
        }
        replace_in(&mut json, INSTANCE, &n.to_string());
        from_json(json, &self.type_token).unwrap_or_else(|_| self.clone())
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::Fixture {
        path: "fixture".into(),
        problem: format!("cannot substitute placeholders: {e}"),
    })
}

fn from_json<T: serde::de::DeserializeOwned>(
    json: serde_json::Value,
    what: &str,
) -> Result<T, Error> {
    serde_json::from_value(json).map_err(|e| Error::Fixture {
        path: what.into(),
        problem: format!("after substituting placeholders: {e}"),
    })
}

/// Replaces `mark` with `with` in every string (and object key) of `value`.
fn replace_in(value: &mut serde_json::Value, mark: &str, with: &str) {
    match value {
        serde_json::Value::String(s) => *s = s.replace(mark, with),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| replace_in(i, mark, with)),
        serde_json::Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut v) in entries {
                replace_in(&mut v, mark, with);
                map.insert(k.replace(mark, with), v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempdir_reaches_inputs_and_n_differs_per_instance() {
        let mut f = Fixture::parse(
            "config: {root: \"${TEMPDIR}\"}\nresources:\n  - type: a:b:C\n    inputs: {path: \"${TEMPDIR}/f-${N}.txt\"}\n    outputs: {path: \"${TEMPDIR}/f-${N}.txt\"}\n    update: {path: \"${TEMPDIR}/f-${N}.txt\", content: x}\n",
        )
        .unwrap();
        let scratch = Scratch::substitute(&mut f).unwrap();
        let dir = scratch.0.as_ref().unwrap().path().display().to_string();
        assert_eq!(f.config["root"], dir.as_str());
        let r = &f.resources[0];
        assert_eq!(r.inputs["path"], format!("{dir}/f-${{N}}.txt").as_str());
        let (one, two) = (r.instance(1), r.instance(2));
        assert_eq!(one.inputs["path"], format!("{dir}/f-1.txt").as_str());
        assert_eq!(two.inputs["path"], format!("{dir}/f-2.txt").as_str());
        assert_eq!(one.outputs.as_ref().unwrap()["path"], one.inputs["path"]);
        assert_eq!(one.update.as_ref().unwrap()["path"], one.inputs["path"]);
        drop(scratch);
        assert!(!std::path::Path::new(&dir).exists());
        let err = Fixture::parse("config: {root: \"/tmp/r-${N}\"}\n").unwrap_err();
        assert!(err.contains("config uses `${N}`"), "{err}");
    }
}
