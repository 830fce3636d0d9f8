//! Starting the providers a run needs: attach or launch, configure, and their state records.
//!
//! [`Providers`] starts each provider once, when a step first needs it: the default provider
//! of a package (configured from the stack file), a provider resource the program registers
//! (`pulumi:providers:<package>` with its own configuration), or a provider resource recorded
//! in the state that a deletion or refresh needs.

use super::{new_uuid, package_of, provider_urn, urn};
use crate::Error;
use crate::display::{Display, Event};
use crate::plugin::{self, ConfigureArgs, Plugin, PluginSource};
use crate::program::Project;
use crate::state::{self, Journal, Resource, Snapshot};
use crate::value::PropertyMap;
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// A started provider: the plugin and the reference its resources carry (`URN::id`).
#[derive(Clone)]
pub(super) struct Handle {
    pub(super) plugin: Arc<Plugin>,
    pub(super) reference: String,
    /// Its provider resource, as the state records it.
    pub(super) record: Resource,
}

type Cell = Arc<OnceCell<Result<Handle, String>>>;

/// The providers of one run, each started at most once.
pub(super) struct Providers {
    project: Project,
    /// The provider resources of the state, by URN: all a provider is looked up in. (Not a
    /// copy of the whole state: that held 24 MiB more for the whole run at 10,000 resources.)
    records: HashMap<String, Resource>,
    display: Display,
    engine_address: String,
    /// Where provider records go before any resource refers to them; `None` when the run
    /// records nothing (preview, destroy).
    journal: Option<Journal>,
    /// By key: `default:<package>` or a provider reference.
    cells: Mutex<HashMap<String, Cell>>,
    /// Explicit provider resources registered in this run, by URN.
    explicit: Mutex<HashMap<String, Handle>>,
    /// Every provider started, in start order.
    started: Mutex<Vec<Arc<Plugin>>>,
    /// The first failure to start a provider: it ends the run with the plugin's exit code.
    fatal: Mutex<Option<Error>>,
    /// Each package's schema, fetched once.
    schemas: Mutex<HashMap<String, Arc<OnceCell<Option<Json>>>>>,
}

impl Providers {
    pub(super) fn new(
        project: &Project,
        records: HashMap<String, Resource>,
        display: &Display,
        engine_address: &str,
        journal: Option<Journal>,
    ) -> Self {
        Providers {
            project: project.clone(),
            records,
            display: display.clone(),
            engine_address: engine_address.to_string(),
            journal,
            cells: Mutex::new(HashMap::new()),
            explicit: Mutex::new(HashMap::new()),
            started: Mutex::new(Vec::new()),
            fatal: Mutex::new(None),
            schemas: Mutex::new(HashMap::new()),
        }
    }

    /// Looks at the schema of resource type `type_token` (its entry under `resources` in the
    /// package schema, fetched once per package from the provider that manages it: `provider`,
    /// else the package's default at `version`) without copying it. `None` when that provider
    /// cannot start or its schema does not describe the type.
    pub(super) async fn with_resource_schema<T>(
        &self,
        type_token: &str,
        provider: Option<&crate::monitor::ProviderReference>,
        version: Option<&str>,
        look: impl FnOnce(&Json) -> Option<T>,
    ) -> Option<T> {
        let package = package_of(type_token);
        let cell = {
            let mut schemas = self.schemas.lock().unwrap_or_else(|e| e.into_inner());
            let key = match version {
                Some(v) => format!("{package}@{v}"),
                None => package.to_string(),
            };
            schemas.entry(key).or_default().clone()
        };
        let schema = cell
            .get_or_try_init(|| async {
                match self.for_registration(package, provider, version).await {
                    Ok(h) => Ok(h.plugin.schema().await),
                    Err(e) => Err(e),
                }
            })
            .await
            .ok()?;
        let pointer = format!(
            "/resources/{}",
            type_token.replace('~', "~0").replace('/', "~1")
        );
        look(schema.as_ref()?.pointer(&pointer)?)
    }

    /// Does the schema say `type_token` is a component (`isComponent`), which its provider
    /// constructs?
    pub(super) async fn is_component(
        &self,
        type_token: &str,
        provider: Option<&crate::monitor::ProviderReference>,
        version: Option<&str>,
    ) -> bool {
        self.with_resource_schema(type_token, provider, version, |r| {
            r.get("isComponent").and_then(Json::as_bool)
        })
        .await
        .unwrap_or(false)
    }

    fn cell(&self, key: &str) -> Cell {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.entry(key.to_string()).or_default().clone()
    }

    async fn start_once(&self, key: &str, request: StartRequest) -> Result<Handle, String> {
        let cell = self.cell(key);
        cell.get_or_init(|| async {
            // Boxed: starting a plugin (launch, handshake, configure) is a large future that
            // would otherwise sit inline in every step's future, though it runs once.
            match Box::pin(start(ProviderRequest {
                package: &request.package,
                version: request.version.as_ref(),
                project: &self.project,
                urn: request.urn.clone(),
                old: request.old.clone(),
                config: request.config.clone(),
                display: &self.display,
                engine_address: &self.engine_address,
            }))
            .await
            {
                Ok(mut s) => {
                    s.state.parent = request.parent.clone().unwrap_or_default();
                    let plugin = Arc::new(s.plugin);
                    self.started
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(plugin.clone());
                    if let Some(journal) = &self.journal
                        && journal.get(&s.state.urn).as_ref() != Some(&s.state)
                        && let Err(e) = journal.write(vec![s.state.clone()], vec![]).await
                    {
                        let msg = e.to_string();
                        self.fatal
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(e);
                        return Err(msg);
                    }
                    Ok(Handle {
                        plugin,
                        reference: s.reference,
                        record: s.state,
                    })
                }
                Err(e) => {
                    let msg = e.to_string();
                    self.fatal
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(e);
                    Err(msg)
                }
            }
        })
        .await
        .clone()
    }

    /// The default provider of `package`, configured from the stack file.
    pub(super) async fn default(&self, package: &str) -> Result<Handle, String> {
        self.default_version(package, None).await
    }

    /// The default provider of `package` at `version` (one per package and version, as in
    /// Pulumi: `default` when no version is asked for, else `default_<major>_<minor>_<patch>`),
    /// configured from the stack file. Its record keeps `version` among its inputs, so a later
    /// run deletes its resources with the same plugin version.
    pub(super) async fn default_version(
        &self,
        package: &str,
        version: Option<&str>,
    ) -> Result<Handle, String> {
        let version = match version.map(plugin::cache::parse_version).transpose() {
            Ok(v) => v,
            Err(e) => return Err(format!("the `{package}` provider's version: {e}")),
        };
        let urn = match &version {
            None => provider_urn(&self.project, package),
            Some(v) => urn(
                &self.project,
                &format!("pulumi:providers:{package}"),
                &default_provider_name(v),
            ),
        };
        let mut config = self
            .project
            .provider_config
            .get(package)
            .cloned()
            .unwrap_or_default();
        if let Some(v) = &version {
            config.insert("version".into(), Json::String(v.to_string()));
        }
        self.start_once(
            &format!("provider:{urn}"),
            StartRequest {
                package: package.to_string(),
                version: None,
                old: self.records.get(&urn).cloned(),
                urn,
                config,
                parent: None,
            },
        )
        .await
    }

    /// A provider resource the program registers: started with the registration's inputs as
    /// its configuration.
    pub(super) async fn explicit(
        &self,
        urn: &str,
        package: &str,
        config: &PropertyMap,
        parent: Option<&str>,
    ) -> Result<Handle, String> {
        let handle = self
            .start_once(
                &format!("provider:{urn}"),
                StartRequest {
                    package: package.to_string(),
                    version: None,
                    urn: urn.to_string(),
                    old: self.records.get(urn).cloned(),
                    config: config.clone(),
                    parent: parent.map(str::to_string),
                },
            )
            .await?;
        self.explicit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(urn.to_string(), handle.clone());
        Ok(handle)
    }

    /// The provider for a registration: the explicit provider it names (registered earlier in
    /// this run), else the package's default provider at the `version` the registration asks
    /// for (the `version` resource option).
    pub(super) async fn for_registration(
        &self,
        package: &str,
        provider: Option<&crate::monitor::ProviderReference>,
        version: Option<&str>,
    ) -> Result<Handle, String> {
        match provider {
            Some(p) if p.urn != provider_urn(&self.project, package) => self
                .explicit
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&p.urn)
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "provider {} was not registered in this run; register the provider resource before the resources that use it",
                        p.urn
                    )
                }),
            _ => self.default_version(package, version).await,
        }
    }

    /// The provider that manages a resource recorded in the state: its default provider, or
    /// the explicit provider resource it names (started with its recorded configuration).
    pub(super) async fn for_state(&self, r: &Resource) -> Result<Handle, String> {
        let package = package_of(&r.type_token);
        let purn = r.provider.rsplit_once("::").map(|(u, _)| u).unwrap_or("");
        if r.provider.is_empty() || purn == provider_urn(&self.project, package) {
            return self.default(package).await;
        }
        if let Some(h) = self
            .explicit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(purn)
            .cloned()
        {
            return Ok(h);
        }
        let Some(p) = self.records.get(purn).cloned() else {
            return Err(format!("its provider {} is not in the state", r.provider));
        };
        let pkg = p
            .type_token
            .strip_prefix("pulumi:providers:")
            .unwrap_or(package)
            .to_string();
        self.start_once(
            &format!("provider:{purn}"),
            StartRequest {
                package: pkg,
                version: None,
                urn: purn.to_string(),
                config: p.inputs.clone(),
                parent: (!p.parent.is_empty()).then(|| p.parent.clone()),
                old: Some(p),
            },
        )
        .await
    }

    /// Every plugin started so far.
    pub(super) fn plugins(&self) -> Vec<Arc<Plugin>> {
        let started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        started.clone()
    }

    /// The first provider that failed to start, if one did.
    pub(super) fn take_fatal(&self) -> Option<Error> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

struct StartRequest {
    package: String,
    /// The plugin version, when not given as the `version` input of `config`.
    version: Option<semver::Version>,
    urn: String,
    old: Option<Resource>,
    config: PropertyMap,
    parent: Option<String>,
}

/// What starting one provider needs.
pub(super) struct ProviderRequest<'a> {
    /// The package.
    pub(super) package: &'a str,
    /// The plugin version asked for; else the `version` input of `config`, else any version.
    pub(super) version: Option<&'a semver::Version>,
    /// The program.
    pub(super) project: &'a Project,
    /// The provider resource's URN.
    pub(super) urn: String,
    /// Its record in the state before the run.
    pub(super) old: Option<Resource>,
    /// Its configuration.
    pub(super) config: PropertyMap,
    /// Where progress goes.
    pub(super) display: &'a Display,
    /// The engine's address, for the plugin.
    pub(super) engine_address: &'a str,
}

/// A started, configured provider.
pub(super) struct StartedProvider {
    /// The plugin.
    pub(super) plugin: Plugin,
    /// Its provider resource, as the state records it.
    pub(super) state: Resource,
    /// The provider reference its resources carry (`URN::id`).
    pub(super) reference: String,
}

/// Attaches to the package's provider (`PULUMI_DEBUG_PROVIDERS`) or finds, builds and launches
/// it, then configures it; a provider that fails to configure is shut down.
pub(super) async fn start(r: ProviderRequest<'_>) -> Result<StartedProvider, Error> {
    let ProviderRequest {
        package: pkg,
        version,
        project,
        urn: purn,
        old,
        mut config,
        display,
        engine_address,
    } = r;
    // The SDKs and default providers carry the plugin version as the `version` input: it picks
    // the plugin and stays in the provider's record, but it is not configuration.
    let version_input = config.remove("version");
    let version = match (version, &version_input) {
        (Some(v), _) => Some(v.clone()),
        (None, Some(Json::String(v))) if !v.is_empty() => Some(
            plugin::cache::parse_version(v)
                .map_err(|e| Error::plugin(pkg, format!("the provider's `version` input: {e}")))?,
        ),
        _ => None,
    };
    let (mut p, path) = open(
        pkg,
        version.as_ref(),
        project,
        display,
        engine_address,
        &config,
    )
    .await?;
    let old_config = old.as_ref().map(|o| {
        let mut c = o.inputs.clone();
        c.remove("version");
        c
    });
    let id = old
        .as_ref()
        .map(|o| o.id.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(new_uuid);
    let checked = p
        .configure(ConfigureArgs {
            urn: &purn,
            id: &id,
            program_dir: &project.dir,
            engine_address,
            olds: old_config.as_ref(),
            news: &config,
        })
        .await;
    let checked = match checked.and_then(|c| {
        p.autonaming = crate::autonaming::from_project(project)?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            p.shutdown(plugin::SHUTDOWN_GRACE).await;
            return Err(e);
        }
    };
    if !p.config_replaces.is_empty() {
        display.log(
            "warning",
            format!(
                "the `{pkg}` provider says its configuration change ({}) requires replacing its resources; engine-harness keeps them: run `destroy` then `up` to recreate them",
                p.config_replaces.join(", ")
            ),
        );
    }
    display.emit(Event::Plugin {
        package: pkg.to_string(),
        version: p.version.clone(),
        path: path.display().to_string(),
    });
    if let Err(e) = check_reported_version(pkg, version.as_ref(), &p, project, &path) {
        p.shutdown(plugin::SHUTDOWN_GRACE).await;
        return Err(e);
    }
    let reference = format!("{purn}::{id}");
    let mut checked = checked;
    if let Some(v) = version_input {
        checked.insert("version".into(), v);
    }
    let state = Resource {
        urn: purn,
        custom: true,
        id,
        type_token: format!("pulumi:providers:{pkg}"),
        inputs: checked.clone(),
        outputs: checked,
        created: old
            .as_ref()
            .and_then(|o| o.created.clone())
            .or_else(|| Some(state::now_rfc3339())),
        ..Default::default()
    };
    Ok(StartedProvider {
        plugin: p,
        state,
        reference,
    })
}

/// Attaches to the provider a developer runs under a debugger (`PULUMI_DEBUG_PROVIDERS`), or
/// finds (building it with cargo when the project names a crate) and launches its plugin.
async fn open(
    pkg: &str,
    version: Option<&semver::Version>,
    project: &Project,
    display: &Display,
    engine_address: &str,
    config: &PropertyMap,
) -> Result<(Plugin, PathBuf), Error> {
    Ok(if let Some(port) = plugin::debug_port(pkg) {
        display.log(
            "info",
            format!("attaching to the `{pkg}` provider on port {port} (PULUMI_DEBUG_PROVIDERS)"),
        );
        (
            plugin::attach(pkg, port, engine_address).await?,
            PathBuf::from(format!("127.0.0.1:{port}")),
        )
    } else {
        let path = match plugin::find_version(project, pkg, version)? {
            PluginSource::Binary(p) => p,
            PluginSource::Cargo(dir) => {
                display.log(
                    "info",
                    format!(
                        "building the `{pkg}` provider with cargo in {}",
                        dir.display()
                    ),
                );
                plugin::build_cargo(&dir, pkg, !display.is_json()).await?
            }
        };
        (
            plugin::launch(plugin::LaunchRequest {
                path: &path,
                package: pkg,
                dir: &project.dir,
                engine_address,
                project: &project.name,
                config,
            })
            .await?,
            path,
        )
    })
}

/// Refuses a plugin that reports another version than the one asked for, unless the project
/// names the plugin's path itself.
fn check_reported_version(
    pkg: &str,
    version: Option<&semver::Version>,
    p: &Plugin,
    project: &Project,
    path: &std::path::Path,
) -> Result<(), Error> {
    if let Some(v) = version
        && !p.version.is_empty()
        && plugin::cache::parse_version(&p.version).is_ok_and(|reported| &reported != v)
        && !project.plugins.iter().any(|d| d.name == pkg)
    {
        return Err(Error::plugin(
            pkg,
            format!(
                "version {v} was asked for, but the plugin found at {} is version {}; install {v} with `engine-harness plugin install resource {pkg} {v} --file pulumi-resource-{pkg}-v{v}-<os>-<arch>.tar.gz`",
                path.display(),
                p.version
            ),
        ));
    }
    Ok(())
}

/// Refuses a state in which a resource names a provider the state does not hold: which
/// provider (and which configuration) manages it is then unknown, and attaching it to the
/// default provider could update or delete it with the wrong one. Returns the state's provider
/// resources by URN, for [`Providers::new`].
pub(super) fn check_references(
    snap: &Snapshot,
    checkpoint: &std::path::Path,
) -> Result<HashMap<String, Resource>, Error> {
    let known: HashSet<String> = snap
        .iter()
        .filter(|r| r.type_token.starts_with("pulumi:providers:"))
        .map(|r| format!("{}::{}", r.urn, r.id))
        .collect();
    let is_broken = |r: &&Resource| {
        r.custom
            && !r.type_token.starts_with("pulumi:")
            && !r.provider.is_empty()
            && !known.contains(&r.provider)
    };
    if !snap.iter().any(|r| is_broken(&r)) {
        // In state order: of two entries of one URN (an old copy and the live one), the later.
        return Ok(snap
            .sorted()
            .into_iter()
            .filter(|r| r.type_token.starts_with("pulumi:providers:"))
            .map(|r| (r.urn.clone(), r.clone()))
            .collect());
    }
    let broken: Vec<&Resource> = snap.sorted().into_iter().filter(is_broken).collect();
    let mut msg = String::from(
        "resources refer to a provider that is not in the state, so engine-harness cannot tell which provider manages them and will not guess:",
    );
    for r in &broken {
        msg.push_str(&format!("\n  - {} -> provider {}", r.urn, r.provider));
    }
    let existing: Vec<String> = known.into_iter().collect();
    msg.push_str(&format!(
        "\nFix the state: `engine-harness stack export --file state.json`, then either add the provider resource back (its `urn`, `id` and `type: pulumi:providers:<package>`) or point each resource's `provider` at one the state has ({}), then `engine-harness stack import --file state.json`. Restoring a backup of the state also works.",
        if existing.is_empty() {
            "none now".to_string()
        } else {
            existing.join(", ")
        }
    ));
    Err(Error::state(checkpoint, msg))
}

/// Pulumi's name for the default provider of a version: `default_<major>_<minor>_<patch>`,
/// then `_<pre>` per pre-release part and `_<build>` per build part.
fn default_provider_name(v: &semver::Version) -> String {
    let mut name = format!("default_{}_{}_{}", v.major, v.minor, v.patch);
    for part in v.pre.as_str().split('.').filter(|p| !p.is_empty()) {
        name.push('_');
        name.push_str(part);
    }
    for part in v.build.as_str().split('.').filter(|p| !p.is_empty()) {
        name.push('_');
        name.push_str(part);
    }
    name
}
