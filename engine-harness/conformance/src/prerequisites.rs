//! What a fixture needs around its cases: `setup` and `teardown` commands, and resources that
//! other entries depend on (a Table needs a Database).
//!
//! An entry names what it needs by the `name` of earlier entries, with `needs: [db]` or with a
//! reference in any of its strings: `${resources.db.id}` (the id) or `${resources.db.<output>}`
//! (an output; a string that is only the reference takes the output's value, number or object
//! included). Before the first case the kit runs `setup`, then creates every needed entry once
//! (Check, then Create with its `inputs`, in dependency order) with a plugin of its own, and
//! puts the ids and outputs into the entries that refer to them; after the last case it
//! deletes them, last created first, and runs `teardown`. The needed entries still get their
//! own cases like any other entry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::fixture::{Fixture, ResourceFixture, to_map};
use crate::plugin::PluginCommand;
use crate::session::Session;
use crate::values::{PropertyMap, Value};

/// The start of a reference to another entry's id or output.
pub const REFERENCE: &str = "${resources.";

/// One needed resource, once created.
struct Created {
    fixture: ResourceFixture,
    id: String,
    outputs: PropertyMap,
    inputs: PropertyMap,
}

/// The needed resources the kit created, and the plugin that created them.
pub(crate) struct Prerequisites {
    session: Option<Session>,
    created: Vec<Created>,
    teardown: Vec<String>,
    dir: Option<std::path::PathBuf>,
}

/// The entry names `r` refers to (with `needs:` or `${resources.<name>.…}`).
pub(crate) fn needs_of(r: &ResourceFixture) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = r.needs.iter().cloned().collect();
    let text = serde_json::to_string(r).unwrap_or_default();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(REFERENCE) {
        let after = &rest[start + REFERENCE.len()..];
        let end = after.find(['.', '}']).unwrap_or(after.len());
        names.insert(after[..end].to_string());
        rest = &after[end..];
    }
    names
}

/// Checks the fixture's dependencies: every needed name is an earlier entry's, and unique.
pub(crate) fn validate(fixture: &Fixture) -> Result<(), String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in fixture.resources.iter().enumerate() {
        for need in needs_of(r) {
            if !seen.contains_key(need.as_str()) {
                let earlier: Vec<&str> = seen.keys().copied().collect();
                return Err(format!(
                    "resources[{i}] ({}) needs `{need}`, which is not the `name` of an earlier entry{}; give the needed resource `name: {need}` and list it first",
                    r.type_token,
                    if earlier.is_empty() {
                        String::new()
                    } else {
                        format!(" (earlier: {})", earlier.join(", "))
                    }
                ));
            }
            // Needs point to earlier entries only, so they cannot form a cycle.
        }
        if let Some(name) = &r.name
            && seen.insert(name, i).is_some()
            && fixture.resources.iter().any(|o| needs_of(o).contains(name))
        {
            return Err(format!(
                "resources[{i}]: `name: {name}` is used twice, and another entry needs it; names of needed entries must be unique"
            ));
        }
    }
    Ok(())
}

impl Prerequisites {
    /// Runs `setup`, creates the needed entries and puts their ids and outputs into the
    /// entries that refer to them. `dir` is where the commands run (the scratch directory).
    pub(crate) async fn prepare(
        command: &PluginCommand,
        package: &str,
        timeout: Duration,
        fixture: &mut Fixture,
        dir: Option<&Path>,
    ) -> Result<Prerequisites, Error> {
        let mut prepared = Prerequisites {
            session: None,
            created: Vec::new(),
            teardown: fixture.teardown.clone(),
            dir: dir.map(Path::to_path_buf),
        };
        for cmd in &fixture.setup {
            run_command(cmd, dir).map_err(|problem| Error::Fixture {
                path: "setup".into(),
                problem,
            })?;
        }
        let needed: BTreeSet<String> = fixture.resources.iter().flat_map(needs_of).collect();
        if needed.is_empty() {
            return Ok(prepared);
        }
        let session = Session::start(command, &fixture.config_map(), package, timeout)
            .await
            .map_err(|f| Error::Fixture {
                path: "resources".into(),
                problem: format!(
                    "cannot start the plugin to create the resources other entries need: {}",
                    f.actual
                ),
            })?;
        prepared.session = Some(session);
        for i in 0..fixture.resources.len() {
            // Earlier entries are created already: fill in what this one refers to.
            let values = prepared.values();
            substitute(&mut fixture.resources[i], &values)?;
            let name = fixture.resources[i].name.clone().unwrap_or_default();
            if !needed.contains(&name) {
                continue;
            }
            let r = fixture.resources[i].instance(0);
            if let Err(e) = prepared.create(&r).await {
                prepared.finish().await;
                return Err(e);
            }
        }
        Ok(prepared)
    }

    /// The ids and outputs of the created entries, by name, as fixture values.
    fn values(&self) -> BTreeMap<String, BTreeMap<String, serde_json::Value>> {
        self.created
            .iter()
            .map(|c| {
                let mut v: BTreeMap<String, serde_json::Value> = c
                    .outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), to_fixture(v)))
                    .collect();
                v.insert("id".into(), c.id.clone().into());
                (c.fixture.name.clone().unwrap_or_default(), v)
            })
            .collect()
    }

    async fn create(&mut self, r: &ResourceFixture) -> Result<(), Error> {
        let Some(session) = &self.session else {
            return Ok(());
        };
        let problem = |what: String| Error::Fixture {
            path: format!("resources ({})", r.type_token),
            problem: format!(
                "creating `{}`, which another entry needs: {what}",
                r.name.as_deref().unwrap_or_default()
            ),
        };
        let news = to_map(&r.inputs, "inputs")?;
        let inputs = session
            .check_valid(r, &PropertyMap::new(), &news, "inputs")
            .await
            .map_err(|f| problem(format!("{}: {}", f.check, f.actual)))?;
        let (id, outputs) = session
            .create_ok(r, &inputs)
            .await
            .map_err(|f| problem(format!("{}: {}", f.check, f.actual)))?;
        self.created.push(Created {
            fixture: r.clone(),
            id,
            outputs,
            inputs,
        });
        Ok(())
    }

    /// Deletes the created entries (last first), stops their plugin and runs `teardown`; the
    /// problems met, each a sentence.
    pub(crate) async fn finish(mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(session) = self.session.take() {
            for c in self.created.drain(..).rev() {
                if let Err(e) = session
                    .delete(&c.fixture, &c.id, &c.outputs, &c.inputs)
                    .await
                {
                    problems.push(format!(
                        "deleting `{}` ({}, id {}), which the kit created because another entry needs it: {}",
                        c.fixture.name.as_deref().unwrap_or_default(),
                        c.fixture.type_token,
                        c.id,
                        e.explanation
                    ));
                }
            }
            // The plugin process is stopped when its session is dropped.
            drop(session);
        }
        for cmd in &self.teardown {
            if let Err(p) = run_command(cmd, self.dir.as_deref()) {
                problems.push(format!("teardown: {p}"));
            }
        }
        problems
    }
}

/// Puts the created entries' ids and outputs into `r`'s references.
fn substitute(
    r: &mut ResourceFixture,
    values: &BTreeMap<String, BTreeMap<String, serde_json::Value>>,
) -> Result<(), Error> {
    let mut json = serde_json::to_value(&*r).map_err(|e| Error::Fixture {
        path: r.type_token.clone(),
        problem: e.to_string(),
    })?;
    if !json.to_string().contains(REFERENCE) {
        return Ok(());
    }
    replace(&mut json, values).map_err(|problem| Error::Fixture {
        path: format!("resources ({})", r.type_token),
        problem,
    })?;
    *r = serde_json::from_value(json).map_err(|e| Error::Fixture {
        path: r.type_token.clone(),
        problem: format!("after substituting references: {e}"),
    })?;
    Ok(())
}

fn replace(
    value: &mut serde_json::Value,
    values: &BTreeMap<String, BTreeMap<String, serde_json::Value>>,
) -> Result<(), String> {
    use serde_json::Value as J;
    match value {
        J::String(s) if s.contains(REFERENCE) => {
            let lookup = |reference: &str| -> Result<serde_json::Value, String> {
                let (name, field) = reference.split_once('.').ok_or_else(|| {
                    format!("`${{resources.{reference}}}` names no field: write `${{resources.<name>.id}}` or `${{resources.<name>.<output>}}`")
                })?;
                let entry = values.get(name).ok_or_else(|| {
                    format!("`${{resources.{reference}}}`: `{name}` was not created (is it an earlier entry?)")
                })?;
                entry.get(field).cloned().ok_or_else(|| {
                    format!(
                        "`${{resources.{reference}}}`: `{name}` has no output `{field}`; it has: {}",
                        entry.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
            };
            // The whole string is one reference: the value itself, whatever its kind.
            if let Some(inner) = s.strip_prefix(REFERENCE).and_then(|r| r.strip_suffix('}'))
                && !inner.contains('}')
            {
                *value = lookup(inner)?;
                return Ok(());
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find(REFERENCE) {
                out.push_str(&rest[..start]);
                let after = &rest[start + REFERENCE.len()..];
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("`{s}`: a `${{resources.` is not closed"))?;
                match lookup(&after[..end])? {
                    J::String(text) => out.push_str(&text),
                    J::Object(o) if o.contains_key("$secret") => {
                        return Err(format!(
                            "`{s}` puts a secret output into a longer string; refer to it as the whole value"
                        ));
                    }
                    other => out.push_str(&other.to_string()),
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        J::Array(items) => {
            for i in items {
                replace(i, values)?;
            }
        }
        J::Object(map) => {
            for v in map.values_mut() {
                replace(v, values)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A decoded value as a fixture value (`{$secret: V}` for secrets).
fn to_fixture(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null | Value::Unknown(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => serde_json::Number::from_f64(*n)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::String(s) => J::String(s.clone()),
        Value::Array(items) => J::Array(items.iter().map(to_fixture).collect()),
        Value::Object(map) | Value::Special { fields: map, .. } => J::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_fixture(v)))
                .collect(),
        ),
        Value::Secret(inner) => serde_json::json!({"$secret": to_fixture(inner)}),
        Value::Output { value, secret, .. } => {
            let plain = value.as_deref().map(to_fixture).unwrap_or(J::Null);
            if *secret {
                serde_json::json!({"$secret": plain})
            } else {
                plain
            }
        }
    }
}

/// Runs a setup or teardown command with `sh -c` in `dir` (the scratch directory, also in
/// `$TEMPDIR`); an error says how it failed, with the end of its output.
fn run_command(cmd: &str, dir: Option<&Path>) -> Result<(), String> {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(cmd);
    if let Some(dir) = dir {
        c.current_dir(dir).env("TEMPDIR", dir);
    }
    let out = c
        .output()
        .map_err(|e| format!("cannot run `{cmd}` with sh: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    let tail: Vec<&str> = text.lines().rev().take(5).collect();
    Err(format!(
        "`{cmd}` failed ({}){}",
        out.status,
        if tail.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            )
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> Fixture {
        Fixture::parse(text).unwrap()
    }

    #[test]
    fn references_name_earlier_entries() {
        let f = fixture(
            "resources:\n  - type: db:index:Database\n    name: db\n    inputs: {file: x}\n  - type: db:index:Table\n    inputs: {database: \"${resources.db.path}\", n: \"${resources.db.id}\"}\n    needs: [db]\n",
        );
        assert_eq!(
            needs_of(&f.resources[1]),
            BTreeSet::from(["db".to_string()])
        );
        let err = Fixture::parse(
            "resources:\n  - type: db:index:Table\n    inputs: {database: \"${resources.db.path}\"}\n",
        )
        .unwrap_err();
        assert!(err.contains("needs `db`"), "{err}");
    }

    #[test]
    fn substitution_keeps_kinds() {
        let mut f = fixture(
            "resources:\n  - type: db:index:Database\n    name: db\n    inputs: {}\n  - type: db:index:Table\n    inputs: {db: \"${resources.db.id}\", port: \"${resources.db.port}\", url: \"sqlite://${resources.db.path}?p=${resources.db.port}\"}\n",
        );
        let values = BTreeMap::from([(
            "db".to_string(),
            BTreeMap::from([
                ("id".to_string(), serde_json::json!("db-1")),
                ("port".to_string(), serde_json::json!(5432.0)),
                ("path".to_string(), serde_json::json!("/tmp/x.db")),
            ]),
        )]);
        substitute(&mut f.resources[1], &values).unwrap();
        let i = &f.resources[1].inputs;
        assert_eq!(i["db"], "db-1");
        assert_eq!(i["port"], 5432.0);
        assert_eq!(i["url"], "sqlite:///tmp/x.db?p=5432.0");
    }

    #[test]
    fn commands_report_failures() {
        assert!(run_command("true", None).is_ok());
        let err = run_command("echo nope >&2; exit 3", None).unwrap_err();
        assert!(err.contains("nope") && err.contains('3'), "{err}");
    }
}
