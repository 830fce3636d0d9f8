//! Starting the providers a run needs: attach or launch, configure, and their state records.

#[allow(unused_imports)]
use super::*;

/// What starting one provider needs.
pub(super) struct ProviderRequest<'a> {
    /// The package.
    pub(super) package: &'a str,
    /// The program.
    pub(super) project: &'a Project,
    /// The state before the run.
    pub(super) snap: &'a Snapshot,
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
        project,
        snap,
        display,
        engine_address,
    } = r;
    let config = project
        .provider_config
        .get(pkg)
        .cloned()
        .unwrap_or_default();
    let (mut p, path) = if let Some(port) = plugin::debug_port(pkg) {
        display.log(
            "info",
            format!("attaching to the `{pkg}` provider on port {port} (PULUMI_DEBUG_PROVIDERS)"),
        );
        (
            plugin::attach(pkg, port, engine_address).await?,
            PathBuf::from(format!("127.0.0.1:{port}")),
        )
    } else {
        let path = match plugin::find(project, pkg)? {
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
                config: &config,
            })
            .await?,
            path,
        )
    };
    let purn = provider_urn(project, pkg);
    let old = snap.get(&purn).cloned();
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
            olds: old.as_ref().map(|o| &o.inputs),
            news: &config,
        })
        .await;
    let checked = match checked {
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
    let reference = format!("{purn}::{id}");
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

/// Refuses a state in which a resource names a provider the state does not hold: which
/// provider (and which configuration) manages it is then unknown, and attaching it to the
/// default provider could update or delete it with the wrong one.
pub(super) fn check_references(snap: &Snapshot, checkpoint: &std::path::Path) -> Result<(), Error> {
    let all = snap.resources();
    let known: HashSet<String> = all
        .iter()
        .filter(|r| r.type_token.starts_with("pulumi:providers:"))
        .map(|r| format!("{}::{}", r.urn, r.id))
        .collect();
    let broken: Vec<&Resource> = all
        .iter()
        .filter(|r| r.custom && !r.type_token.starts_with("pulumi:"))
        .filter(|r| !r.provider.is_empty() && !known.contains(&r.provider))
        .collect();
    if broken.is_empty() {
        return Ok(());
    }
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
