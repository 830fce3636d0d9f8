//! The kit: what to test and how, and the runner that turns cases into a [`Report`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cases::{self, CASES, Rec, Stop};
use crate::error::Error;
use crate::fixture::{Fixture, ResourceFixture};
use crate::placeholders::Scratch;
use crate::plugin::PluginCommand;
use crate::prerequisites::Prerequisites;
use crate::report::{CaseReport, Report, Status};
use crate::session::Session;

/// What the plugin said to `GetSchema`.
#[derive(Debug, Clone)]
pub enum SchemaAnswer {
    /// A schema that parsed as JSON.
    Json(serde_json::Value),
    /// `UNIMPLEMENTED`.
    Unimplemented,
    /// Text that is not JSON.
    NotJson(String),
    /// Any other failure of the call, explained.
    Failed(String),
    /// The plugin did not start at all, explained.
    NotStarted(String),
}

/// A configured conformance run.
///
/// ```no_run
/// # async fn demo() -> Result<(), provider_conformance::Error> {
/// use provider_conformance::{Kit, PluginCommand, Fixture};
/// let kit = Kit::new(PluginCommand::new(vec!["target/debug/pulumi-resource-local".into()]))
///     .with_fixture(Fixture::load("tests/fixtures/local.yaml".as_ref())?);
/// let report = kit.run(&[]).await?;
/// assert!(report.passed(), "{}", report.table());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Kit {
    /// How to launch the plugin.
    pub command: PluginCommand,
    /// The fixture; without one, or when it lists no resources (only `config`), inputs are
    /// derived from the schema where possible.
    pub fixture: Option<Fixture>,
    /// Pulumi's published package metaschema, an extra check beside the kit's own schema rules
    /// ([`schema_rules`](crate::schema_rules)); default: `$PULUMI_METASCHEMA`; none when unset.
    pub metaschema: Option<PathBuf>,
    /// Timeout of each call.
    pub call_timeout: Duration,
    /// How many Creates (and then Deletes) the concurrency case runs at once.
    pub concurrency: usize,
}

/// Everything a case needs.
pub(crate) struct Ctx {
    pub(crate) kit: Kit,
    pub(crate) fixture: Fixture,
    pub(crate) schema: SchemaAnswer,
    pub(crate) package: String,
    pub(crate) derived: Vec<String>,
    /// The last `${N}` given to a resource instance.
    pub(crate) instances: std::sync::atomic::AtomicU64,
}

impl Ctx {
    /// The schema's entry for resource `type_token`, when the plugin has a schema.
    pub(crate) fn schema_resource(&self, type_token: &str) -> Option<&serde_json::Value> {
        match &self.schema {
            SchemaAnswer::Json(schema) => schema.get("resources")?.get(type_token),
            _ => None,
        }
    }

    /// Whether the schema declares `type_token` a component (`isComponent: true`): the
    /// provider builds it with Construct, not Create.
    pub(crate) fn is_component(&self, type_token: &str) -> bool {
        self.schema_resource(type_token)
            .and_then(|r| r.get("isComponent"))
            .and_then(|c| c.as_bool())
            == Some(true)
    }

    /// The provider configuration as the engine passes it to a plugin's process and to
    /// Construct: `<package>:<key>` to text (secrets unwrapped), and the keys that are secret.
    pub(crate) fn config_text(&self) -> (serde_json::Map<String, serde_json::Value>, Vec<String>) {
        config_text(&self.package, &self.fixture)
    }

    /// A fresh `${N}` for the next resource instance.
    pub(crate) fn next_instance(&self) -> u64 {
        self.instances
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }
}

impl Kit {
    /// A kit for `command` with default settings.
    pub fn new(command: PluginCommand) -> Self {
        Kit {
            command,
            fixture: None,
            metaschema: None,
            call_timeout: Duration::from_secs(60),
            concurrency: 200,
        }
    }

    /// Uses `fixture` for the resource cases.
    pub fn with_fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = Some(fixture);
        self
    }

    /// The stable names of every case, in run order.
    pub fn case_names() -> Vec<&'static str> {
        CASES.iter().map(|case| case.name).collect()
    }

    /// Runs the cases named in `only` (all when empty) and reports on each.
    pub async fn run(&self, only: &[String]) -> Result<Report, Error> {
        for name in only {
            if cases::find(name).is_none() {
                return Err(Error::UnknownCase {
                    name: name.clone(),
                    known: Kit::case_names().join(", "),
                });
            }
        }
        let schema = self.fetch_schema().await;
        let mut fixture = self.fixture.clone().unwrap_or_default();
        let scratch = Scratch::substitute(&mut fixture)?;
        let mut derived = Vec::new();
        if let (SchemaAnswer::Json(schema), true) = (&schema, fixture.resources.is_empty())
            && let Some(resources) = schema.get("resources").and_then(|r| r.as_object())
        {
            // A component's inputs cannot be made up safely (it creates real children).
            for (token, resource) in resources
                .iter()
                .filter(|(_, r)| r.get("isComponent").and_then(|c| c.as_bool()) != Some(true))
                .take(10)
            {
                if let Some(r) = ResourceFixture::derive(token, resource) {
                    derived.push(token.clone());
                    fixture.resources.push(r);
                }
            }
        }
        let package = match &schema {
            SchemaAnswer::Json(s) => s.get("name").and_then(|n| n.as_str()).map(str::to_string),
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
        // Setup commands, and the resources other entries need, before any case.
        let prerequisites = Prerequisites::prepare(
            &self.command,
            &package,
            self.call_timeout,
            &mut fixture,
            scratch.path(),
        )
        .await?;
        // The environment the engine gives a plugin: the project, and this package's config.
        let mut kit = self.clone();
        let (config, _) = config_text(&package, &fixture);
        kit.command
            .env
            .push(("PULUMI_PROJECT".into(), "conformance".into()));
        kit.command
            .env
            .push(("PULUMI_STACK".into(), "conformance".into()));
        kit.command.env.push((
            "PULUMI_CONFIG".into(),
            serde_json::Value::Object(config).to_string(),
        ));
        let ctx = Ctx {
            kit,
            fixture,
            schema,
            package,
            derived,
            instances: Default::default(),
        };
        let mut report = Report {
            plugin: self.command.display(),
            cases: Vec::new(),
        };
        for case in CASES {
            let (name, description) = (&case.name, &case.description);
            if !only.is_empty() && !only.iter().any(|n| n == name) {
                continue;
            }
            let started = Instant::now();
            let mut rec = Rec::default();
            let outcome = match &ctx.schema {
                // Nothing can run; the port-line case still explains the launch.
                SchemaAnswer::NotStarted(why) if *name != "process.port-line" => {
                    Err(Stop::Failed(crate::report::Finding {
                        check: "launch the plugin".into(),
                        expected: "a plugin that starts and prints its port".into(),
                        actual: format!("not run: the plugin did not start: {why}"),
                        fix: "make the plugin start (see process.port-line)".into(),
                        sdk_fix: None,
                    }))
                }
                _ => cases::run_case(case, &ctx, &mut rec).await,
            };
            let status = match outcome {
                Ok(()) if rec.findings.is_empty() => Status::Pass,
                Ok(()) => Status::Fail,
                Err(Stop::Failed(f)) => {
                    rec.findings.push(f);
                    Status::Fail
                }
                Err(Stop::NotApplicable(why)) if rec.findings.is_empty() => {
                    rec.notes.insert(0, format!("not applicable: {why}"));
                    Status::NotApplicable
                }
                Err(Stop::NotApplicable(why)) => {
                    rec.notes.push(format!("not applicable: {why}"));
                    Status::Fail
                }
            };
            report.cases.push(CaseReport {
                name: name.to_string(),
                description: description.to_string(),
                status,
                duration: started.elapsed(),
                findings: rec.findings,
                notes: rec.notes,
            });
        }
        let problems = prerequisites.finish().await;
        if !problems.is_empty() {
            // Not a case of the registry: what the fixture's own clean-up met.
            report.cases.push(CaseReport {
                name: "fixture.teardown".into(),
                description: "the resources other entries needed are deleted and `teardown` runs".into(),
                status: Status::Fail,
                duration: Duration::ZERO,
                findings: problems
                    .into_iter()
                    .map(|p| crate::report::Finding {
                        check: "clean up after the cases".into(),
                        expected: "every needed resource deleted, every teardown command successful".into(),
                        actual: p,
                        fix: "make Delete succeed for the needed resources, or fix the teardown command".into(),
                        sdk_fix: None,
                    })
                    .collect(),
                notes: Vec::new(),
            });
        }
        Ok(report)
    }

    async fn fetch_schema(&self) -> SchemaAnswer {
        fetch_schema(&self.command, self.call_timeout).await
    }

    /// The metaschema's path, searched as [`Kit::metaschema`] describes.
    pub fn metaschema_path(&self) -> Option<PathBuf> {
        let candidates = [
            self.metaschema.clone(),
            std::env::var_os("PULUMI_METASCHEMA")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        ];
        candidates.into_iter().flatten().next()
    }
}

/// Launches `command`, handshakes and asks for its schema (`GetSchema`, version 0).
pub async fn fetch_schema(command: &PluginCommand, call_timeout: Duration) -> SchemaAnswer {
    let session = match Session::launch(command, call_timeout).await {
        Ok(s) => s,
        Err(f) => return SchemaAnswer::NotStarted(f.actual),
    };
    let _ = session.handshake().await;
    let req = pulumirpc::GetSchemaRequest {
        version: 0,
        ..Default::default()
    };
    match session
        .call("GetSchema", session.plugin.client().get_schema(req))
        .await
    {
        Ok(r) => match serde_json::from_str(&r.schema) {
            Ok(json) => SchemaAnswer::Json(json),
            Err(e) => SchemaAnswer::NotJson(format!(
                "{e} (the text starts {:?})",
                r.schema.chars().take(80).collect::<String>()
            )),
        },
        Err(e) if e.unimplemented() => SchemaAnswer::Unimplemented,
        Err(e) => SchemaAnswer::Failed(e.explanation),
    }
}

/// The fixture's provider configuration as the engine gives it to a plugin: `<package>:<key>`
/// to text (secrets unwrapped), and the keys whose values are secret.
pub(crate) fn config_text(
    package: &str,
    fixture: &Fixture,
) -> (serde_json::Map<String, serde_json::Value>, Vec<String>) {
    let mut secret = Vec::new();
    let config = fixture
        .config
        .iter()
        .map(|(k, v)| {
            let key = format!("{package}:{k}");
            let v = match v.get("$secret") {
                Some(inner) => {
                    secret.push(key.clone());
                    inner
                }
                None => v,
            };
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key, serde_json::Value::String(text))
        })
        .collect();
    (config, secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reaches_the_plugin_as_text_with_its_secret_keys() {
        let fixture =
            Fixture::parse("config: {root: /tmp, port: 8080, token: {$secret: hush}}\n").unwrap();
        let (config, secret) = config_text("local", &fixture);
        assert_eq!(config["local:root"], "/tmp");
        assert_eq!(config["local:port"], "8080");
        assert_eq!(config["local:token"], "hush");
        assert_eq!(secret, vec!["local:token".to_string()]);
    }
}
