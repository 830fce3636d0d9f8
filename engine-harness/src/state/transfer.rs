//! `stack export` and `stack import`: the state as a `pulumi stack export` deployment and back.

use super::{
    Checkpoint, Operation, Resource, Snapshot, StateFiles, create_private_dir, in_file, integrity,
    map_props,
};
use crate::value::PropertyMap;
use crate::{Error, secrets};
use serde_json::Value as Json;
use std::path::Path;

/// The resource fields this engine keeps (`Resource`); an import names the others it drops.
const KNOWN_FIELDS: [&str; 23] = [
    "urn",
    "custom",
    "delete",
    "id",
    "type",
    "inputs",
    "outputs",
    "parent",
    "protect",
    "dependencies",
    "initErrors",
    "provider",
    "retainOnDelete",
    "customTimeouts",
    "ignoreChanges",
    "replaceOnChanges",
    "propertyDependencies",
    "additionalSecretOutputs",
    "external",
    "deletedWith",
    "importID",
    "created",
    "modified",
];

impl StateFiles {
    fn refuse_if_journal(&self, what: &str) -> Result<(), Error> {
        if self.journal.exists() {
            return Err(Error::state(
                &self.journal,
                format!(
                    "an interrupted run left this journal; run `engine-harness preview` (it recovers the state) before {what}"
                ),
            ));
        }
        Ok(())
    }

    /// The stack's state as `pulumi stack export` writes it: `{"version": 3, "deployment": …}`,
    /// secrets as `ciphertext` (or, with `show_secrets`, as `plaintext`). Plaintext secrets of an
    /// earlier version are encrypted on the way out. A stack without state exports an empty
    /// deployment.
    pub fn export(&self, show_secrets: bool) -> Result<Json, Error> {
        self.refuse_if_journal("exporting")?;
        let cp = self.read_checkpoint()?;
        self.secrets.check_if_given()?;
        let file = &self.checkpoint;
        let convert = |r: &Resource| {
            let f = |m: &PropertyMap| {
                if show_secrets {
                    self.secrets.open_map(m)
                } else {
                    self.secrets.seal_map(m)
                }
            };
            map_props(r, f).map_err(|e| in_file(e, file))
        };
        let cp = match cp {
            Some(mut cp) => {
                let d = &mut cp.deployment;
                d.resources = d.resources.iter().map(convert).collect::<Result<_, _>>()?;
                d.pending_operations = d
                    .pending_operations
                    .iter()
                    .map(|o| {
                        Ok(Operation {
                            resource: convert(&o.resource)?,
                            op: o.op,
                        })
                    })
                    .collect::<Result<_, Error>>()?;
                d.secrets_providers = self.providers_block();
                cp
            }
            None => self.to_checkpoint(&Snapshot::default())?,
        };
        serde_json::to_value(&cp).map_err(|e| Error::state(file, e.to_string()))
    }

    /// Replaces the stack's state with `doc`, the output of `pulumi stack export` (or
    /// [`StateFiles::export`]). Its secrets are decrypted with the provider it names (the
    /// passphrase from the environment) and written under this stack's provider. Returns
    /// warnings (resource fields this engine does not keep).
    pub fn import(&self, doc: &Json, source: &Path) -> Result<Vec<String>, Error> {
        let bad = |m: String| Error::state(source, m);
        let cp = Checkpoint::from_json(doc.clone()).map_err(|e| {
            bad(format!(
                "is not a deployment as `pulumi stack export` writes it ({e})"
            ))
        })?;
        let mut dropped = std::collections::BTreeSet::new();
        // A version 1 resource's `defaults` were dropped by Pulumi's own migration.
        let raw_fields = doc
            .pointer("/deployment/resources")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .flat_map(|r| r.as_object().into_iter().flat_map(|m| m.keys()));
        for k in raw_fields {
            if !KNOWN_FIELDS.contains(&k.as_str()) && k != "defaults" {
                dropped.insert(k.clone());
            }
        }
        let d = cp.deployment;
        let stack = self
            .checkpoint
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        integrity::verify(&d.resources, integrity::Strictness::Import, stack).map_err(|m| {
            bad(format!(
                "{m}; nothing was imported (Pulumi's `stack import` refuses such a deployment too)"
            ))
        })?;
        self.refuse_if_journal("importing")?;
        // This stack's salt: the checkpoint's, else the stack file's (already in `secrets`).
        self.read_checkpoint()?;
        let theirs = match &d.secrets_providers {
            None => self.secrets.for_salt(None),
            Some(p) => match (p.kind.as_str(), p.state.get("salt").and_then(Json::as_str)) {
                (secrets::PROVIDER_TYPE, Some(salt)) => {
                    if self.secrets.salt().is_none() {
                        self.secrets.use_salt(salt.to_string());
                    }
                    if self.secrets.salt().as_deref() == Some(salt) {
                        self.secrets.clone()
                    } else {
                        self.secrets.for_salt(Some(salt.to_string()))
                    }
                }
                (kind, _) => {
                    return Err(bad(format!(
                        "uses the `{kind}` secrets provider; engine-harness reads the `passphrase` provider only (`pulumi stack change-secrets-provider passphrase` converts a stack)"
                    )));
                }
            },
        };
        theirs.check_if_given()?;
        self.secrets.check_if_given()?;
        let mut snap = Snapshot::default();
        self.fill(&mut snap, d, &theirs, source)?;
        create_private_dir(self.checkpoint.parent().unwrap_or(Path::new(".")))?;
        self.write_checkpoint(&snap)?;
        Ok(dropped
            .into_iter()
            .map(|k| format!("resource field `{k}` is not kept by engine-harness and was dropped"))
            .collect())
    }
}
