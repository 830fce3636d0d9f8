//! The URNs a run has registered: what makes a second registration of the same URN, an unknown
//! parent or a reference to a provider that does not exist an error. One [`Registry`] per run,
//! shared by the monitor (which claims what a program registers) and the engine (which claims
//! what it evaluates itself, and asks which recorded resources the program still declares).

use super::error::MonitorError;
use super::request::ProviderReference;
use super::urn::PROVIDER_TYPE_PREFIX;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

#[derive(Debug)]
struct Known {
    type_token: String,
    aliases: Vec<String>,
    /// Registered by the program as a remote component: the provider that constructs it
    /// registers the same URN once more, as the component itself.
    remote: bool,
}

/// The URNs registered so far, with their types and aliases.
#[derive(Debug, Default)]
pub struct Registry {
    types: Mutex<HashMap<String, Known>>,
    /// The earlier URNs (aliases) the registered resources took over.
    aliases: Mutex<HashSet<String>>,
    /// The provider of each remote component: the one that runs its methods.
    providers: Mutex<HashMap<String, ProviderReference>>,
}

impl Registry {
    /// Records `urn` (of type `type_token`, known before as `aliases`; `remote` for a
    /// component a provider constructs), or fails when it was registered before. The one
    /// second registration allowed is the constructing provider's, of a remote component.
    pub fn claim(
        &self,
        urn: &str,
        type_token: &str,
        aliases: &[String],
        remote: bool,
    ) -> Result<(), MonitorError> {
        let mut types = self.types.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = types.get(urn) {
            let constructing = known.remote && !remote && known.type_token == type_token;
            if !constructing {
                return Err(MonitorError::DuplicateUrn {
                    urn: urn.to_string(),
                });
            }
        }
        if !aliases.is_empty() {
            let mut taken = self.aliases.lock().unwrap_or_else(|e| e.into_inner());
            taken.extend(aliases.iter().cloned());
        }
        types.insert(
            urn.to_string(),
            Known {
                type_token: type_token.to_string(),
                aliases: aliases.to_vec(),
                remote,
            },
        );
        Ok(())
    }

    /// Was `urn` registered in this run, or taken over as an alias by a resource that was?
    pub fn is_claimed(&self, urn: &str) -> bool {
        self.type_of(urn).is_some()
            || self
                .aliases
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(urn)
    }

    /// The type of a registered URN.
    pub fn type_of(&self, urn: &str) -> Option<String> {
        let types = self.types.lock().unwrap_or_else(|e| e.into_inner());
        types.get(urn).map(|k| k.type_token.clone())
    }

    /// The earlier URNs of a registered resource.
    pub fn aliases_of(&self, urn: &str) -> Vec<String> {
        let types = self.types.lock().unwrap_or_else(|e| e.into_inner());
        types
            .get(urn)
            .map(|k| k.aliases.clone())
            .unwrap_or_default()
    }

    /// Notes the provider that constructs the remote component `urn`.
    pub fn note_provider(&self, urn: &str, provider: ProviderReference) {
        let mut p = self.providers.lock().unwrap_or_else(|e| e.into_inner());
        p.insert(urn.to_string(), provider);
    }

    /// The provider that constructed the remote component `urn`, when the program named one.
    pub fn provider_of(&self, urn: &str) -> Option<ProviderReference> {
        let p = self.providers.lock().unwrap_or_else(|e| e.into_inner());
        p.get(urn).cloned()
    }

    /// Fails unless `parent` was registered.
    pub fn check_parent(&self, urn: &str, parent: &str) -> Result<(), MonitorError> {
        match self.type_of(parent) {
            Some(_) => Ok(()),
            None => Err(MonitorError::UnknownParent {
                urn: urn.to_string(),
                parent: parent.to_string(),
            }),
        }
    }

    /// Parses and checks a provider reference made by `by` (a URN or function token): it must
    /// name a registered `pulumi:providers:*` resource.
    pub fn provider(&self, by: &str, reference: &str) -> Result<ProviderReference, MonitorError> {
        let bad = |reason: String| MonitorError::BadProvider {
            urn: by.to_string(),
            reference: reference.to_string(),
            reason,
        };
        let parsed = ProviderReference::parse(reference)
            .ok_or_else(|| bad("is not of the form `<provider URN>::<provider id>`".into()))?;
        match self.type_of(&parsed.urn) {
            Some(ty) if ty.starts_with(PROVIDER_TYPE_PREFIX) => Ok(parsed),
            Some(ty) => Err(bad(format!(
                "names a resource of type `{ty}`, which is not a provider (`{PROVIDER_TYPE_PREFIX}<package>`)"
            ))),
            None => Err(bad(
                "names a provider that was not registered; register the provider resource first"
                    .into(),
            )),
        }
    }
}
