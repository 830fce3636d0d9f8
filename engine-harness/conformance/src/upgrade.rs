//! Upgrade checks: is the new release of a provider safe for stacks the previous release made?
//!
//! For each fixture resource, the old plugin checks and creates it; then the new plugin, given
//! the state the old one left, must
//!
//! - `upgrade.read`: find it with Read and return every output the old release recorded, of
//!   the same kind and value (a dropped, renamed or retyped output shows as drift on every
//!   refresh);
//! - `upgrade.no-diff`: accept the same inputs in Check and report no change in Diff against
//!   the old state (a diff means every stack updates, a replacement means it is recreated);
//! - `upgrade.update-in-place`: when the fixture has an `update`, treat that change as the old
//!   release did: a change that updated in place must not replace now.
//!
//! `upgrade.schema` compares the two schemas ([`crate::schema_diff`]). The new plugin deletes
//! what the old one made at the end (the old one when the new one cannot).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::fixture::{Fixture, ResourceFixture};
use crate::kit::{SchemaAnswer, config_text, fetch_schema};
use crate::placeholders::Scratch;
use crate::plugin::PluginCommand;
use crate::report::{CaseReport, Finding, Report, Status};
use crate::schema_diff;
use crate::session::Session;
use crate::values::{PropertyMap, Value, show_map};

/// The upgrade cases: name and what each proves.
pub const UPGRADE_CASES: [(&str, &str); 4] = [
    (
        "upgrade.schema",
        "the new schema breaks nothing of the old one (no removal, retyping, new requirement or new replacement)",
    ),
    (
        "upgrade.read",
        "the new plugin reads a resource the old one made, keeping every output, its kind and its value",
    ),
    (
        "upgrade.no-diff",
        "the new plugin accepts the same inputs and reports no change or replacement against the old state",
    ),
    (
        "upgrade.update-in-place",
        "a fixture `update` that the old plugin applied in place does not force a replacement with the new one",
    ),
];

/// An upgrade check of `new` against the previous release `old`.
///
/// ```no_run
/// # async fn demo() -> Result<(), provider_conformance::Error> {
/// use provider_conformance::{Fixture, PluginCommand, upgrade::Upgrade};
/// let check = Upgrade::new(
///     PluginCommand::new(vec!["old/pulumi-resource-local".into()]),
///     PluginCommand::new(vec!["target/debug/pulumi-resource-local".into()]),
///     Fixture::load("tests/fixtures/local.yaml".as_ref())?,
/// );
/// let report = check.run(&[]).await?;
/// assert!(report.passed(), "{}", report.table());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Upgrade {
    /// The previous release.
    pub old: PluginCommand,
    /// The new release.
    pub new: PluginCommand,
    /// The resources to carry across the upgrade.
    pub fixture: Fixture,
    /// Timeout of each call.
    pub call_timeout: Duration,
}

#[derive(Default)]
struct Rec {
    findings: Vec<Finding>,
    notes: Vec<String>,
    ran: bool,
}

impl Rec {
    fn fail(&mut self, check: String, expected: String, actual: String, fix: &str) {
        self.findings.push(Finding {
            check,
            expected,
            actual,
            fix: fix.to_string(),
            sdk_fix: None,
        });
    }
}

/// `(kind, value)` for a report: a secret's kind is its content's.
fn shown(v: &Value) -> String {
    let plain = v.unwrapped();
    format!("{} {}", plain.kind_name(), v)
}

impl Upgrade {
    /// A check of `new` against `old` with `fixture`'s resources.
    pub fn new(old: PluginCommand, new: PluginCommand, fixture: Fixture) -> Upgrade {
        Upgrade {
            old,
            new,
            fixture,
            call_timeout: Duration::from_secs(60),
        }
    }

    /// Runs the upgrade cases named in `only` (all when empty).
    pub async fn run(&self, only: &[String]) -> Result<Report, Error> {
        for name in only {
            if !UPGRADE_CASES.iter().any(|(n, _)| n == name) {
                return Err(Error::UnknownCase {
                    name: name.clone(),
                    known: UPGRADE_CASES.map(|(n, _)| n).join(", "),
                });
            }
        }
        let wanted = |name: &str| only.is_empty() || only.iter().any(|n| n == name);
        let started = Instant::now();
        let (old_schema, new_schema) = (
            fetch_schema(&self.old, self.call_timeout).await,
            fetch_schema(&self.new, self.call_timeout).await,
        );
        let mut fixture = self.fixture.clone();
        let _scratch = Scratch::substitute(&mut fixture)?;
        let package = match (&new_schema, &old_schema) {
            (SchemaAnswer::Json(s), _) | (_, SchemaAnswer::Json(s)) => {
                s.get("name").and_then(|n| n.as_str()).map(str::to_string)
            }
            _ => None,
        }
        .or_else(|| {
            fixture
                .resources
                .first()
                .and_then(|r| r.type_token.split(':').next())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "provider".into());
        let (config, _) = config_text(&package, &fixture);
        let with_env = |c: &PluginCommand| {
            let mut c = c.clone();
            c.env.push(("PULUMI_PROJECT".into(), "conformance".into()));
            c.env.push(("PULUMI_STACK".into(), "conformance".into()));
            c.env.push((
                "PULUMI_CONFIG".into(),
                serde_json::Value::Object(config.clone()).to_string(),
            ));
            c
        };
        let (old, new) = (with_env(&self.old), with_env(&self.new));

        let mut schema = Rec::default();
        match (&old_schema, &new_schema) {
            (SchemaAnswer::Json(o), SchemaAnswer::Json(n)) => {
                schema.ran = true;
                let diff = schema_diff::compare(o, n);
                for c in &diff.breaking {
                    schema.fail(
                        format!("schema {}", c.path),
                        "no breaking change from the previous release".into(),
                        c.message.clone(),
                        "keep what the previous release published (a renamed resource lists its old type in `aliases`; a renamed property keeps the old name), or release it as a new major version",
                    );
                }
                for c in &diff.additions {
                    schema
                        .notes
                        .push(format!("added: {}: {}", c.path, c.message));
                }
            }
            (o, n) => schema.notes.push(format!(
                "not applicable: no schema to compare (old: {}, new: {})",
                describe(o),
                describe(n)
            )),
        }

        let mut read = Rec::default();
        let mut no_diff = Rec::default();
        let mut update = Rec::default();
        let config_map = fixture.config_map();
        for (i, template) in fixture.resources.iter().enumerate() {
            let r = template.instance(i as u64 + 1);
            let step = ResourceStep {
                r: &r,
                old: &old,
                new: &new,
                config: &config_map,
                package: &package,
                timeout: self.call_timeout,
            };
            if let Err(f) = step.run(&mut read, &mut no_diff, &mut update).await {
                read.findings.push(f);
                read.ran = true;
            }
        }
        if fixture.resources.is_empty() {
            for rec in [&mut read, &mut no_diff, &mut update] {
                rec.notes.push(
                    "not applicable: the fixture lists no resources; pass --fixture with the resources to carry across the upgrade".into(),
                );
            }
        }

        let mut report = Report {
            plugin: format!(
                "{} (upgrading from {})",
                self.new.display(),
                self.old.display()
            ),
            cases: Vec::new(),
        };
        let elapsed = started.elapsed();
        for ((name, description), rec) in UPGRADE_CASES.iter().zip([schema, read, no_diff, update])
        {
            if !wanted(name) {
                continue;
            }
            let status = if !rec.findings.is_empty() {
                Status::Fail
            } else if rec.ran {
                Status::Pass
            } else {
                Status::NotApplicable
            };
            report.cases.push(CaseReport {
                name: name.to_string(),
                description: description.to_string(),
                status,
                duration: elapsed,
                findings: rec.findings,
                notes: rec.notes,
            });
        }
        Ok(report)
    }
}

fn describe(answer: &SchemaAnswer) -> String {
    match answer {
        SchemaAnswer::Json(_) => "a schema".into(),
        SchemaAnswer::Unimplemented => "GetSchema is unimplemented".into(),
        SchemaAnswer::NotJson(e) => format!("not JSON: {e}"),
        SchemaAnswer::Failed(e) => format!("GetSchema failed: {e}"),
        SchemaAnswer::NotStarted(e) => format!("did not start: {e}"),
    }
}

struct ResourceStep<'a> {
    r: &'a ResourceFixture,
    old: &'a PluginCommand,
    new: &'a PluginCommand,
    config: &'a PropertyMap,
    package: &'a str,
    timeout: Duration,
}

impl ResourceStep<'_> {
    /// Creates with the old plugin, checks the new one against it, deletes. A `Err` is a
    /// finding that stopped the step before anything could be compared.
    async fn run(
        &self,
        read: &mut Rec,
        no_diff: &mut Rec,
        update: &mut Rec,
    ) -> Result<(), Finding> {
        let r = self.r;
        let ty = &r.type_token;
        let old = Session::start(self.old, self.config, self.package, self.timeout).await?;
        let inputs = old
            .check_valid(
                r,
                &PropertyMap::new(),
                &ResourceFixture::map(&r.inputs),
                "inputs (old release)",
            )
            .await?;
        let (id, outputs) = old.create_ok(r, &inputs).await?;
        let new = match Session::start(self.new, self.config, self.package, self.timeout).await {
            Ok(s) => s,
            Err(f) => {
                let _ = old.delete(r, &id, &outputs, &inputs).await;
                return Err(f);
            }
        };

        // upgrade.read
        read.ran = true;
        let check = format!("Read({ty}) with the new release of what the old one created");
        match new.read(r, &id, &outputs, &inputs).await {
            Err(e) => read.findings.push(e.finding(
                check,
                "the new release must read resources the old one made",
            )),
            Ok((read_id, _, _)) if read_id.is_empty() => read.fail(
                check,
                format!("the resource {id}"),
                "the resource reported gone".into(),
                "the new release must find resources the old one made (same id format)",
            ),
            Ok((_, props, _)) => compare_outputs(read, ty, &outputs, &props),
        }

        // upgrade.no-diff
        no_diff.ran = true;
        let news = ResourceFixture::map(&r.inputs);
        let checked = match new.check(r, &inputs, &news).await {
            Err(e) => {
                no_diff.findings.push(e.finding(
                    format!("Check({ty}) with the new release"),
                    "the new release must accept the inputs the old one accepted",
                ));
                None
            }
            Ok(c) => {
                for (property, reason) in &c.failures {
                    no_diff.fail(
                        format!("Check({ty}) with the new release: property `{property}`"),
                        format!(
                            "accepted, as the old release did (old input `{property}` = {})",
                            inputs.get(property).map(shown).unwrap_or_else(|| "absent".into())
                        ),
                        format!("rejected: {reason}"),
                        "keep accepting what the previous release accepted: keep the old property name (or accept both), do not newly require inputs",
                    );
                }
                Some(c.inputs)
            }
        };
        let checked = checked.unwrap_or_else(|| news.clone());
        match new.diff(r, &id, &outputs, &inputs, &checked).await {
            Err(e) => no_diff.findings.push(e.finding(
                format!("Diff({ty}) with the new release"),
                "the new release must diff state the old one wrote",
            )),
            Ok(d) => {
                let replacing = d.replacing();
                let changed = d.changed();
                for key in &changed {
                    let top = key.split(['.', '[']).next().unwrap_or(key);
                    let was = inputs
                        .get(top)
                        .or_else(|| outputs.get(top))
                        .map(shown)
                        .unwrap_or_else(|| "absent".into());
                    let now = checked
                        .get(top)
                        .map(shown)
                        .unwrap_or_else(|| "absent".into());
                    let replaces = replacing.contains(key);
                    no_diff.fail(
                        format!("Diff({ty}) with the new release: property `{key}`"),
                        "no change: the inputs are the ones the old release created it with".into(),
                        format!(
                            "{} (old: {was}; new: {now})",
                            if replaces {
                                "a replacement"
                            } else {
                                "a change"
                            }
                        ),
                        "a new release must see no change in unchanged inputs: keep defaults and normalisation as they were, and migrate old state in Read/Diff instead of diffing against it",
                    );
                }
                if changed.is_empty() && d.response.changes == 2 {
                    no_diff.fail(
                        format!("Diff({ty}) with the new release"),
                        "DIFF_NONE".into(),
                        format!("DIFF_SOME without naming a property ({})", d.summary()),
                        "report no change for unchanged inputs",
                    );
                }
            }
        }

        // upgrade.update-in-place
        if let Some(up) = &r.update {
            update.ran = true;
            let up = ResourceFixture::map(up);
            let old_up = old.check(r, &inputs, &up).await.map(|c| c.inputs);
            let new_up = new.check(r, &inputs, &up).await.map(|c| c.inputs);
            if let (Ok(old_up), Ok(new_up)) = (old_up, new_up) {
                let before = old.diff(r, &id, &outputs, &inputs, &old_up).await;
                let after = new.diff(r, &id, &outputs, &inputs, &new_up).await;
                if let (Ok(before), Ok(after)) = (before, after) {
                    let was = before.replacing();
                    for key in after.replacing().iter().filter(|k| !was.contains(k)) {
                        let top = key.split(['.', '[']).next().unwrap_or(key);
                        update.fail(
                            format!("Diff({ty}) of the fixture's update, property `{key}`"),
                            format!(
                                "an update in place, as with the old release ({})",
                                before.summary()
                            ),
                            format!(
                                "a replacement with the new release (`{key}`: {} -> {})",
                                inputs.get(top).map(shown).unwrap_or_else(|| "absent".into()),
                                new_up.get(top).map(shown).unwrap_or_else(|| "absent".into())
                            ),
                            "a property that updated in place must not start forcing replacement in a minor release (replaceOnChanges); if it must, release a new major version and say so",
                        );
                    }
                } else {
                    update
                        .notes
                        .push(format!("{ty}: a Diff of the update failed; not compared"));
                }
            } else {
                update
                    .notes
                    .push(format!("{ty}: Check of the update failed; not compared"));
            }
        }

        if let Err(e) = new.delete(r, &id, &outputs, &inputs).await {
            read.notes.push(format!(
                "Delete({ty}) with the new release failed ({}); deleted with the old one",
                e.explanation
            ));
            let _ = old.delete(r, &id, &outputs, &inputs).await;
        }
        Ok(())
    }
}

/// Every output the old release recorded must come back from the new release's Read with the
/// same kind and value.
fn compare_outputs(rec: &mut Rec, ty: &str, old: &PropertyMap, new: &PropertyMap) {
    for (key, was) in old {
        let check = format!("Read({ty}) with the new release: output `{key}`");
        match new.get(key) {
            None => rec.fail(
                check,
                format!("kept (old: {})", shown(was)),
                format!(
                    "dropped: the new release returns no `{key}` (its outputs: {})",
                    show_map(new)
                ),
                "keep every output a previous release wrote (a renamed property keeps its old name too, or Read migrates it back), or stacks see drift and programs that use it break",
            ),
            Some(now) if now.unwrapped().kind_name() != was.unwrapped().kind_name() => rec.fail(
                check,
                format!("the same kind (old: {})", shown(was)),
                format!("changed kind (new: {})", shown(now)),
                "keep each output's type across releases",
            ),
            Some(now) if now.unwrapped() != was.unwrapped() => rec.fail(
                check,
                format!("the same value (old: {})", shown(was)),
                format!("a different value (new: {})", shown(now)),
                "Read of an unchanged resource must return what the previous release recorded",
            ),
            Some(_) => {}
        }
    }
}

/// Finds the previous release `spec` names: a release tarball (`.tar.gz`, unpacked into a
/// scratch folder that the returned guard removes), an executable, or `NAME@VERSION` installed
/// (or `NAME`, its newest version) in the plugin cache (`$PULUMI_HOME/plugins`).
pub fn resolve_release(spec: &str) -> Result<(PluginCommand, Option<tempfile::TempDir>), Error> {
    let path = Path::new(spec);
    if path.is_file() {
        if spec.ends_with(".tar.gz") || spec.ends_with(".tgz") {
            let dir = tempfile::Builder::new().prefix("upgrade-from-").tempdir()?;
            plugin_host::cache::unpack(path, dir.path())
                .map_err(|e| Error::Launch(e.to_string()))?;
            let exe = plugin_host::cache::release_executable(dir.path())
                .map_err(|e| Error::Launch(e.to_string()))?;
            return Ok((
                PluginCommand::new(vec![exe.display().to_string()]),
                Some(dir),
            ));
        }
        return Ok((PluginCommand::new(vec![spec.to_string()]), None));
    }
    let (name, version) = match spec.split_once('@') {
        Some((name, v)) => (
            name,
            Some(plugin_host::cache::parse_version(v).map_err(Error::Launch)?),
        ),
        None => (spec, None),
    };
    if name.is_empty() || name.contains(['/', '\\']) {
        return Err(Error::Launch(format!(
            "`{spec}` is neither a file (a plugin executable or a release .tar.gz) nor NAME[@VERSION] of an installed plugin"
        )));
    }
    let cache =
        plugin_host::cache::PluginCache::from_env().map_err(|e| Error::Launch(e.to_string()))?;
    let wanted = version
        .as_ref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    match cache
        .find(name, version.as_ref())
        .map_err(|e| Error::Launch(e.to_string()))?
    {
        Some(p) => Ok((
            PluginCommand::new(vec![p.executable().display().to_string()]),
            None,
        )),
        None => Err(Error::Launch(format!(
            "no file `{spec}`, and `{name}`{wanted} is not installed in {}; install it with `engine-harness plugin install resource {name} VERSION --file TARBALL`",
            cache.dir().display()
        ))),
    }
}
