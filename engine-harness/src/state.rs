//! Stack state: a checkpoint file in the shape of `pulumi stack export` (deployment version 3)
//! and an append-only, fsync'd step journal.
//!
//! While a run is under way every change (a pending operation begun, a resource written or
//! removed, a pending operation cleared) is one JSON line appended to `<stack>.journal`; writes
//! from parallel steps are grouped into one fsync. At the end of the run the journal is folded
//! into `<stack>.json` (temp file, fsync, rename, fsync of the directory) and removed. Each
//! journal record sets or removes whole entries, so replaying it over the checkpoint it started
//! from, or over the checkpoint it was already folded into, gives the same state: a crash at any
//! point leaves a state that the next run recovers.
//!
//! Secrets never reach a file in clear: in both files a secret is stored as Pulumi stores it in
//! an encrypted deployment, `{"4dabf…": "1b47…", "ciphertext": "v1:…"}`, under the stack's
//! passphrase secrets provider (see [`crate::secrets`]), whose salt the checkpoint records as
//! `secrets_providers: {"type": "passphrase", "state": {"salt": "v1:…"}}`. Plaintext secrets in
//! a checkpoint from an earlier version are read and encrypted on the next write. The state
//! folder is made owner-only (0700) and every file in it is 0600.
//!
//! One command at a time reads or writes a stack: [`lock`]. A state folder or file that exists
//! but cannot be read is an error, never a new stack. Every load checks the state as Pulumi's
//! `VerifyIntegrity` does, and deployments of versions 1 and 2 are read as Pulumi migrates them
//! (`integrity`).

use crate::Error;
use crate::secrets::{self, SecretsManager};
use crate::value::{self, PropertyMap};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

mod integrity;
pub mod lock;
mod temp;
mod transfer;

pub use integrity::parse_urn;

pub use temp::STALE_TEMP_AGE;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A resource in state: Pulumi's `ResourceV3` (the fields this engine uses). Property values
/// are kept in the wire encoding in memory and converted to the state encoding on write.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// The URN.
    pub urn: String,
    /// Managed by a provider plugin.
    pub custom: bool,
    /// Marked for deletion (an old copy awaiting delete after a replacement).
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete: bool,
    /// The provider-assigned id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The type token.
    #[serde(rename = "type")]
    pub type_token: String,
    /// Inputs.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub inputs: PropertyMap,
    /// Outputs.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub outputs: PropertyMap,
    /// The parent URN.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    /// Protected from deletion.
    #[serde(default, skip_serializing_if = "is_false")]
    pub protect: bool,
    /// URNs this resource depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Errors from a create/update that left the resource partially initialized.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_errors: Vec<String>,
    /// Provider reference, `<provider-urn>::<provider-id>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub provider: String,
    /// Drop from state without calling Delete.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retain_on_delete: bool,
    /// Custom timeouts (seconds, as Pulumi stores them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_timeouts: Option<Json>,
    /// Ignored properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<String>,
    /// Properties that force replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_on_changes: Vec<String>,
    /// For each input property, the URNs its value came from (sorted, without repeats).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub property_dependencies: std::collections::BTreeMap<String, Vec<String>>,
    /// Output properties kept secret in addition to those the provider marks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_secret_outputs: Vec<String>,
    /// Read with `get` (ReadResource), not managed by this stack: never deleted, only dropped.
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
    /// The URN of the resource whose deletion takes this one with it (`deletedWith`): when both
    /// are deleted in one operation, this one is not deleted on its own.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deleted_with: String,
    /// The id it was adopted with (`import`), kept as Pulumi keeps it.
    #[serde(default, rename = "importID", skip_serializing_if = "String::is_empty")]
    pub import_id: String,
    /// The resource hooks it binds, by kind (`BeforeCreate`... as Pulumi's `resourceHooks`):
    /// kept so that its delete hooks run when it leaves the program.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub resource_hooks: std::collections::BTreeMap<String, Vec<String>>,
    /// When it was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When it last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

impl Resource {
    /// The logical name (last URN component).
    pub fn name(&self) -> &str {
        self.urn.rsplit("::").next().unwrap_or(&self.urn)
    }

    /// The entry this resource is in the state: its URN, and for an old copy awaiting
    /// deletion also its id, so that any number of old copies of one URN are kept apart.
    pub fn key(&self) -> Key {
        if self.delete {
            Key::old_copy(&self.urn, &self.id)
        } else {
            Key::live(&self.urn)
        }
    }

    /// The state-file encoding (secrets as `plaintext`).
    pub fn encode(&self) -> Resource {
        Resource {
            inputs: value::map_to_state(&self.inputs),
            outputs: value::map_to_state(&self.outputs),
            ..self.clone()
        }
    }

    /// From the state-file encoding.
    pub fn decode(&self) -> Resource {
        Resource {
            inputs: value::map_from_state(&self.inputs),
            outputs: value::map_from_state(&self.outputs),
            ..self.clone()
        }
    }
}

/// A pending operation type.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OperationType {
    /// A create was under way.
    Creating,
    /// An update was under way.
    Updating,
    /// A delete was under way.
    Deleting,
    /// A read was under way.
    Reading,
}

/// Pulumi's `OperationV2`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Operation {
    /// The resource as the operation began.
    pub resource: Resource,
    /// What was under way.
    #[serde(rename = "type")]
    pub op: OperationType,
}

/// Identifies a resource entry: the live resource of a URN, or one old copy of it awaiting
/// deletion (Pulumi's `delete: true` resources, any number per URN).
///
/// An old copy is told apart by its provider id: two copies with one id are one real resource,
/// so keeping them as one entry forgets nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    /// The URN.
    pub urn: String,
    /// An old copy awaiting deletion.
    #[serde(default)]
    pub delete: bool,
    /// The old copy's id (empty for the live resource).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
}

impl Key {
    /// The live resource with `urn`.
    pub fn live(urn: &str) -> Key {
        Key {
            urn: urn.to_string(),
            delete: false,
            id: String::new(),
        }
    }

    /// The old copy of `urn` with provider id `id`, awaiting deletion.
    pub fn old_copy(urn: &str, id: &str) -> Key {
        Key {
            urn: urn.to_string(),
            delete: true,
            id: id.to_string(),
        }
    }
}

/// The stack's state in memory.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    resources: HashMap<Key, (u64, Resource)>,
    pending: BTreeMap<u64, Operation>,
    seq: u64,
}

impl Snapshot {
    /// All resources, dependencies before dependents.
    pub fn resources(&self) -> Vec<Resource> {
        self.sorted().into_iter().cloned().collect()
    }

    /// All resources, dependencies before dependents, borrowed (nothing copied).
    pub fn sorted(&self) -> Vec<&Resource> {
        let mut all: Vec<&(u64, Resource)> = self.resources.values().collect();
        all.sort_by_key(|(s, _)| *s);
        topo_sort(all.into_iter().map(|(_, r)| r).collect())
    }

    /// All resources, in no particular order, borrowed: for a question about every one of
    /// them that needs no order.
    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values().map(|(_, r)| r)
    }

    /// [`Snapshot::iter`] and the resources of the pending operations.
    pub fn iter_all(&self) -> impl Iterator<Item = &Resource> {
        let pending = self.pending.values().map(|op| &op.resource);
        self.iter().chain(pending)
    }

    /// The live (not marked for deletion) resource with this URN.
    pub fn get(&self, urn: &str) -> Option<&Resource> {
        self.resources.get(&Key::live(urn)).map(|(_, r)| r)
    }

    /// Number of resource entries.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether there are no resources.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Whether any resource or pending operation holds a secret.
    pub fn has_secrets(&self) -> bool {
        let props = |r: &Resource| {
            r.inputs
                .values()
                .chain(r.outputs.values())
                .any(value::contains_secret)
        };
        self.resources.values().any(|(_, r)| props(r))
            || self.pending.values().any(|o| props(&o.resource))
    }

    fn insert_loaded(&mut self, r: Resource) {
        let seq = self.next();
        self.resources.insert(r.key(), (seq, r));
    }

    fn insert_pending(&mut self, op: Operation) {
        let id = self.next();
        self.pending.insert(id, op);
    }

    /// Pending operations with their ids.
    pub fn pending(&self) -> Vec<(u64, Operation)> {
        self.pending.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Applies a journal record whose resources `decode` brings to the wire encoding (a
    /// replayed line is in the state encoding; a record of this run already is). Returns
    /// whether a resource entry changed (pending operations aside).
    fn apply(&mut self, rec: Record, decode: impl Fn(Resource) -> Resource) -> bool {
        let mut changed = false;
        for k in &rec.remove {
            let before = self.resources.len();
            if k.delete && k.id.is_empty() {
                // A journal from a version that kept one old copy per URN, named without an id.
                self.resources
                    .retain(|key, _| !(key.delete && key.urn == k.urn));
            } else {
                self.resources.remove(k);
            }
            changed |= self.resources.len() != before;
        }
        for r in rec.put {
            let r = decode(r);
            let key = r.key();
            match self.resources.get_mut(&key) {
                Some((_, existing)) => {
                    if *existing != r {
                        *existing = r;
                        changed = true;
                    }
                }
                None => {
                    self.seq += 1;
                    self.resources.insert(key, (self.seq, r));
                    changed = true;
                }
            }
        }
        if let Some(id) = rec.pending_done {
            self.pending.remove(&id);
        }
        if let Some((id, op)) = rec.pending_begin {
            self.pending.insert(
                id,
                Operation {
                    resource: decode(op.resource),
                    op: op.op,
                },
            );
            self.seq = self.seq.max(id);
        }
        changed
    }
}

/// Orders resources so that each comes after its parent, its provider and its dependencies
/// (Kahn's algorithm, O(resources + edges)), keeping the given order where it is free to.
/// A dependency on a URN that is not in the list, or a cycle, does not block placement.
fn topo_sort<R: std::borrow::Borrow<Resource>>(list: Vec<R>) -> Vec<R> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut by_urn: HashMap<&str, Vec<usize>> = HashMap::new();
    let res = |i: usize| -> &Resource { list[i].borrow() };
    for i in 0..list.len() {
        by_urn.entry(res(i).urn.as_str()).or_default().push(i);
    }
    let n = list.len();
    let mut indegree = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, r) in list.iter().map(|r| r.borrow()).enumerate() {
        let provider_urn = r.provider.rsplit_once("::").map(|(u, _)| u).unwrap_or("");
        let mut seen = HashSet::new();
        let deps = r
            .dependencies
            .iter()
            .map(String::as_str)
            .chain([provider_urn, r.parent.as_str()]);
        for d in deps.filter(|d| !d.is_empty() && *d != r.urn) {
            for &j in by_urn.get(d).into_iter().flatten() {
                // Depend on the live copy only (not on an old copy marked for deletion).
                if !res(j).delete && seen.insert(j) {
                    indegree[i] += 1;
                    dependents[j].push(i);
                }
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|i| indegree[*i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    let mut placed = vec![false; n];
    while order.len() < n {
        let next = match ready.pop() {
            Some(Reverse(i)) => i,
            // A cycle: place the earliest remaining resource and carry on.
            None => (0..n)
                .find(|i| !placed[*i])
                .expect("some resource is not placed"),
        };
        if placed[next] {
            continue;
        }
        placed[next] = true;
        order.push(next);
        for &d in &dependents[next] {
            indegree[d] = indegree[d].saturating_sub(1);
            if indegree[d] == 0 && !placed[d] {
                ready.push(Reverse(d));
            }
        }
    }
    let mut slots: Vec<Option<R>> = list.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// A journal record: one line.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    remove: Vec<Key>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    put: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_begin: Option<(u64, Operation)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_done: Option<u64>,
}

/// The checkpoint file: `{"version": 3, "deployment": {...}}`.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    version: u32,
    deployment: Deployment,
}

impl Checkpoint {
    /// `{"version": 1|2|3, "deployment": …}`, brought to version 3.
    fn from_json(mut doc: Json) -> Result<Checkpoint, String> {
        let version = doc
            .get("version")
            .and_then(Json::as_u64)
            .ok_or("it has no `version` (a `pulumi stack export` file starts `{\"version\": 3, \"deployment\": …}`)")?;
        let raw = doc
            .get_mut("deployment")
            .map(Json::take)
            .ok_or("it has no `deployment`")?;
        let d = integrity::migrate(version, raw)?;
        let deployment = serde_json::from_value(d).map_err(|e| e.to_string())?;
        Ok(Checkpoint {
            version: 3,
            deployment,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Deployment {
    manifest: Manifest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secrets_providers: Option<SecretsProviders>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pending_operations: Vec<Operation>,
}

/// `{"type": "passphrase", "state": {"salt": "v1:…"}}`.
#[derive(Debug, Serialize, Deserialize)]
struct SecretsProviders {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    state: Json,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    time: String,
    magic: String,
    version: String,
}

/// Now, as RFC 3339 UTC (second precision).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The state files of one stack.
#[derive(Debug, Clone)]
pub struct StateFiles {
    /// `<dir>/<stack>.json`.
    pub checkpoint: PathBuf,
    /// `<dir>/<stack>.journal`.
    pub journal: PathBuf,
    secrets: SecretsManager,
    /// The checkpoint read held secrets in clear (an earlier version): rewrite it even if
    /// nothing changes.
    plaintext_read: Arc<std::sync::atomic::AtomicBool>,
}

/// Does a state-encoded value hold a secret in clear (`plaintext`)?
fn has_plaintext_secret(v: &Json) -> bool {
    match v {
        Json::Object(m) if value::is_secret(v) => m.contains_key("plaintext"),
        Json::Array(a) => a.iter().any(has_plaintext_secret),
        Json::Object(m) => m.values().any(has_plaintext_secret),
        _ => false,
    }
}

fn resource_has_plaintext(r: &Resource) -> bool {
    r.inputs
        .values()
        .chain(r.outputs.values())
        .any(has_plaintext_secret)
}

/// Creates the state folder, readable by its owner only.
fn create_private_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::state(dir, format!("cannot create: {e}")))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::state(dir, format!("cannot make it private (0700): {e}")))
}

/// Opens (creating) a file readable and writable by its owner only.
fn open_private(path: &Path, opts: &mut OpenOptions) -> std::io::Result<File> {
    let f = opts.mode(0o600).open(path)?;
    // `mode` applies only when the file is created; an older file may be wider.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

/// Checks the state folder before anything touches it: absent (a new stack) or a folder this
/// process can list. Any other answer (permission denied, not a folder, an I/O error) is an
/// error, so that an unreadable state is never taken for a new, empty one and overwritten.
/// Returns whether the folder exists.
pub(crate) fn check_state_dir(dir: &Path) -> Result<bool, Error> {
    let unreadable = |e: std::io::Error| {
        Error::state(
            dir,
            format!(
                "cannot read the state folder: {e}; nothing was read or written. Give the user running engine-harness access to it (it is made 0700, owned by that user), or pass --state-dir"
            ),
        )
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(unreadable(e)),
        Ok(m) if !m.is_dir() => Err(Error::state(
            dir,
            "the state folder is not a folder; nothing was read or written",
        )),
        Ok(_) => {
            std::fs::read_dir(dir).map_err(unreadable)?;
            Ok(true)
        }
    }
}

/// Whether a state file is there: `false` only when it really is absent (ENOENT); any other
/// error reading it is an error.
fn file_present(path: &Path) -> Result<bool, Error> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::state(
            path,
            format!("cannot read: {e}; nothing was written"),
        )),
        Ok(m) if !m.is_file() => Err(Error::state(path, "is not a file; nothing was written")),
        Ok(_) => Ok(true),
    }
}

/// Applies `f` to the inputs and outputs of a resource.
fn map_props(
    r: &Resource,
    f: impl Fn(&PropertyMap) -> Result<PropertyMap, Error>,
) -> Result<Resource, Error> {
    Ok(Resource {
        inputs: f(&r.inputs)?,
        outputs: f(&r.outputs)?,
        ..r.clone()
    })
}

impl StateFiles {
    /// The files for `stack` in `dir` (usually `<project>/.pulumi-harness`).
    ///
    /// Secrets are encrypted with a passphrase read from the environment when first needed; use
    /// [`StateFiles::with_secrets`] to pass the stack file's salt or another source.
    pub fn new(dir: &Path, stack: &str) -> Self {
        StateFiles {
            checkpoint: dir.join(format!("{stack}.json")),
            journal: dir.join(format!("{stack}.journal")),
            secrets: SecretsManager::from_env(None),
            plaintext_read: Default::default(),
        }
    }

    /// Uses `secrets` to encrypt and decrypt the stack's secrets. A salt recorded in the
    /// checkpoint takes precedence over the one `secrets` starts with.
    pub fn with_secrets(mut self, secrets: SecretsManager) -> Self {
        self.secrets = secrets;
        self
    }

    /// Whether the stack has state: its checkpoint or a journal. `false` only when both are
    /// really absent; a state folder or file that cannot be read is an error (exit 5).
    pub fn exists(&self) -> Result<bool, Error> {
        let dir = self.checkpoint.parent().unwrap_or(Path::new("."));
        if !check_state_dir(dir)? {
            return Ok(false);
        }
        Ok(file_present(&self.checkpoint)? || file_present(&self.journal)?)
    }

    /// The stack's secrets provider.
    pub fn secrets(&self) -> &SecretsManager {
        &self.secrets
    }

    /// A resource with its `ciphertext` secrets decrypted (the state encoding otherwise).
    fn open_resource(&self, r: &Resource, file: &Path) -> Result<Resource, Error> {
        map_props(r, |m| self.secrets.open_map(m)).map_err(|e| in_file(e, file))
    }

    /// A resource in the state encoding with its secrets encrypted.
    fn seal_resource(&self, r: &Resource, file: &Path) -> Result<Resource, Error> {
        let mut e = r.encode();
        let seal = |m: &PropertyMap| self.secrets.seal_map(m).map_err(|e| in_file(e, file));
        e.inputs = seal(&e.inputs)?;
        e.outputs = seal(&e.outputs)?;
        Ok(e)
    }

    /// The `secrets_providers` block for the current salt, if there is one.
    fn providers_block(&self) -> Option<SecretsProviders> {
        self.secrets.salt().map(|salt| SecretsProviders {
            kind: secrets::PROVIDER_TYPE.into(),
            state: serde_json::json!({ "salt": salt }),
        })
    }

    /// Reads the raw checkpoint (secrets still encrypted), if there is one; deployments of
    /// versions 1 and 2 are brought to version 3.
    fn read_checkpoint(&self) -> Result<Option<Checkpoint>, Error> {
        let dir = self.checkpoint.parent().unwrap_or(Path::new("."));
        if !check_state_dir(dir)? || !file_present(&self.checkpoint)? {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&self.checkpoint)
            .map_err(|e| Error::state(&self.checkpoint, format!("cannot read: {e}")))?;
        let invalid = |e: String| {
            Error::state(
                &self.checkpoint,
                format!(
                    "is not a valid deployment file: {e}; restore it from a backup or move it away to start afresh"
                ),
            )
        };
        let doc: Json = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let cp = Checkpoint::from_json(doc).map_err(invalid)?;
        if let Some(p) = &cp.deployment.secrets_providers {
            let salt = p.state.get("salt").and_then(Json::as_str);
            match (p.kind.as_str(), salt) {
                (secrets::PROVIDER_TYPE, Some(salt)) => self.secrets.use_salt(salt.to_string()),
                (kind, _) => {
                    return Err(Error::state(
                        &self.checkpoint,
                        format!(
                            "secrets provider `{kind}` with state {} is not supported: engine-harness reads the `passphrase` provider only (`pulumi stack change-secrets-provider passphrase` converts a stack)",
                            p.state
                        ),
                    ));
                }
            }
        }
        Ok(Some(cp))
    }

    /// Loads the checkpoint, replays a leftover journal over it (a run that crashed), and, when
    /// there was one, compacts it at once. Returns the snapshot and whether a journal was replayed.
    pub fn load(&self) -> Result<(Snapshot, bool), Error> {
        self.remove_stale_temp_files();
        let mut snap = Snapshot::default();
        let cp = self.read_checkpoint()?;
        // A wrong passphrase is refused here, before anything is written.
        self.secrets.check_if_given()?;
        if let Some(cp) = cp {
            let d = &cp.deployment;
            integrity::verify(&d.resources, integrity::Strictness::Load, "").map_err(|m| {
                Error::state(
                    &self.checkpoint,
                    format!(
                        "{m}. The state is not used and nothing was written: fix it (`engine-harness stack export --file state.json`, edit, `engine-harness stack import --file state.json`) or restore a backup"
                    ),
                )
            })?;
            if d.resources.iter().any(resource_has_plaintext)
                || d.pending_operations
                    .iter()
                    .any(|o| resource_has_plaintext(&o.resource))
            {
                self.plaintext_read.store(true, Ordering::Relaxed);
            }
            self.fill(&mut snap, cp.deployment, &self.secrets, &self.checkpoint)?;
        }
        let mut replayed = false;
        if file_present(&self.journal)? {
            let f = File::open(&self.journal)
                .map_err(|e| Error::state(&self.journal, format!("cannot read: {e}")))?;
            let mut lines = BufReader::new(f).lines().peekable();
            while let Some(line) = lines.next() {
                let line =
                    line.map_err(|e| Error::state(&self.journal, format!("cannot read: {e}")))?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Record>(&line) {
                    Ok(rec) => {
                        snap.apply(self.open_record(rec)?, |r| r.decode());
                    }
                    // A torn last line: the engine died while writing it; that step never completed.
                    Err(_) if lines.peek().is_none() => break,
                    Err(e) => {
                        return Err(Error::state(
                            &self.journal,
                            format!(
                                "corrupt journal record: {e}; move the journal away to fall back to the last checkpoint"
                            ),
                        ));
                    }
                }
            }
            // A journal replayed over the checkpoint it was already folded into (a crash between
            // the rename and the journal's removal) may repeat a pending operation: keep one.
            let mut seen: Vec<Operation> = Vec::new();
            snap.pending.retain(|_, op| {
                if seen.contains(op) {
                    false
                } else {
                    seen.push(op.clone());
                    true
                }
            });
            replayed = true;
            self.write_checkpoint(&snap)?;
        }
        Ok((snap, replayed))
    }

    /// Adds a deployment's resources and pending operations to `snap`, decrypting with `secrets`.
    fn fill(
        &self,
        snap: &mut Snapshot,
        d: Deployment,
        secrets: &SecretsManager,
        file: &Path,
    ) -> Result<(), Error> {
        // Each record is taken over, only its property maps rebuilt (decrypted, decoded).
        let open = |mut r: Resource| -> Result<Resource, Error> {
            let open_map = |m: &PropertyMap| {
                secrets
                    .open_map(m)
                    .map(|m| value::map_from_state(&m))
                    .map_err(|e| in_file(e, file))
            };
            r.inputs = open_map(&r.inputs)?;
            r.outputs = open_map(&r.outputs)?;
            Ok(r)
        };
        for r in d.resources {
            snap.insert_loaded(open(r)?);
        }
        for op in d.pending_operations {
            snap.insert_pending(Operation {
                resource: open(op.resource)?,
                op: op.op,
            });
        }
        Ok(())
    }

    /// The salt recorded in the checkpoint (now used by [`StateFiles::secrets`]), if any.
    pub fn recorded_salt(&self) -> Result<Option<String>, Error> {
        match self.read_checkpoint()? {
            Some(cp) if cp.deployment.secrets_providers.is_some() => Ok(self.secrets.salt()),
            _ => Ok(None),
        }
    }

    /// A journal record with its secrets decrypted.
    fn open_record(&self, rec: Record) -> Result<Record, Error> {
        let file = &self.journal;
        Ok(Record {
            put: rec
                .put
                .iter()
                .map(|r| self.open_resource(r, file))
                .collect::<Result<_, _>>()?,
            pending_begin: match rec.pending_begin {
                Some((id, op)) => Some((
                    id,
                    Operation {
                        resource: self.open_resource(&op.resource, file)?,
                        op: op.op,
                    },
                )),
                None => None,
            },
            ..rec
        })
    }

    /// A journal record in the file encoding: state encoding, secrets encrypted.
    fn seal_record(&self, rec: &Record) -> Result<Record, Error> {
        let file = &self.journal;
        Ok(Record {
            put: rec
                .put
                .iter()
                .map(|r| self.seal_resource(r, file))
                .collect::<Result<_, _>>()?,
            pending_begin: match &rec.pending_begin {
                Some((id, op)) => Some((
                    *id,
                    Operation {
                        resource: self.seal_resource(&op.resource, file)?,
                        op: op.op,
                    },
                )),
                None => None,
            },
            ..rec.clone()
        })
    }

    /// Writes the checkpoint atomically (temp file, fsync, rename, directory fsync) and removes
    /// the journal. Returns the bytes written.
    pub fn write_checkpoint(&self, snap: &Snapshot) -> Result<u64, Error> {
        let dir = self.checkpoint.parent().unwrap_or(Path::new("."));
        let cp = self.to_checkpoint(snap)?;
        create_private_dir(dir)?;
        let bytes = serde_json::to_vec_pretty(&cp)
            .map_err(|e| Error::state(&self.checkpoint, e.to_string()))?;
        self.replace_checkpoint(&bytes)?;
        Ok(bytes.len() as u64)
    }

    /// The checkpoint for `snap`, secrets encrypted.
    fn to_checkpoint(&self, snap: &Snapshot) -> Result<Checkpoint, Error> {
        let file = &self.checkpoint;
        let resources = snap
            .sorted()
            .into_iter()
            .map(|r| self.seal_resource(r, file))
            .collect::<Result<_, _>>()?;
        let pending_operations = snap
            .pending
            .values()
            .map(|o| {
                Ok(Operation {
                    resource: self.seal_resource(&o.resource, file)?,
                    op: o.op,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Checkpoint {
            version: 3,
            deployment: Deployment {
                manifest: Manifest {
                    time: now_rfc3339(),
                    magic: String::new(),
                    version: format!("engine-harness {}", env!("CARGO_PKG_VERSION")),
                },
                resources,
                pending_operations,
                // After sealing: the first secret may have created the salt.
                secrets_providers: self.providers_block(),
            },
        })
    }

    /// Replaces the checkpoint with `bytes` (temp file, fsync, rename, directory fsync) and
    /// removes the journal.
    fn replace_checkpoint(&self, bytes: &[u8]) -> Result<(), Error> {
        let dir = self.checkpoint.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!("{}{}", self.temp_prefix(), std::process::id()));
        let io = |e: std::io::Error| Error::state(&tmp, format!("cannot write: {e}"));
        {
            let mut f = open_private(
                &tmp,
                OpenOptions::new().write(true).create(true).truncate(true),
            )
            .map_err(io)?;
            f.write_all(bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.checkpoint)
            .map_err(|e| Error::state(&self.checkpoint, format!("cannot replace: {e}")))?;
        sync_dir(dir);
        if self.journal.exists() {
            std::fs::remove_file(&self.journal)
                .map_err(|e| Error::state(&self.journal, format!("cannot remove: {e}")))?;
            sync_dir(dir);
        }
        Ok(())
    }
}

/// Prefixes a secrets error with the file it concerns.
fn in_file(e: Error, file: &Path) -> Error {
    match e {
        Error::Secrets(m) => Error::Secrets(format!("{}: {m}", file.display())),
        other => other,
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

enum Msg {
    Write(Vec<u8>, tokio::sync::oneshot::Sender<Result<(), String>>),
}

/// The live state during a run: the snapshot plus its journal writer.
///
/// Cloneable; all clones share one snapshot and one journal.
#[derive(Clone)]
pub struct Journal {
    snap: Arc<std::sync::Mutex<Snapshot>>,
    /// The ids of the pending operations the run started with.
    initial_pending: Arc<Vec<u64>>,
    /// Whether a record of this run changed a resource entry (compaction is skipped when
    /// nothing changed).
    changed: Arc<AtomicBool>,
    tx: Option<std::sync::mpsc::Sender<Msg>>,
    bytes: Arc<AtomicU64>,
    files: StateFiles,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Starts a journal over `snap`. With `dry_run` (preview) nothing is written.
    pub fn open(files: StateFiles, snap: Snapshot, dry_run: bool) -> Result<Self, Error> {
        let bytes = Arc::new(AtomicU64::new(0));
        let tx = if dry_run {
            None
        } else {
            let dir = files.journal.parent().unwrap_or(Path::new("."));
            create_private_dir(dir)?;
            let mut file =
                open_private(&files.journal, OpenOptions::new().create(true).append(true))
                    .map_err(|e| Error::state(&files.journal, format!("cannot open: {e}")))?;
            sync_dir(dir);
            let (tx, rx) = std::sync::mpsc::channel::<Msg>();
            let counter = bytes.clone();
            std::thread::Builder::new()
                .name("journal".into())
                .spawn(move || {
                    // Group commit: write everything queued, one fsync, then acknowledge all.
                    while let Ok(first) = rx.recv() {
                        let mut batch = vec![first];
                        while let Ok(more) = rx.try_recv() {
                            batch.push(more);
                        }
                        let mut buf = Vec::new();
                        let mut acks = Vec::new();
                        for Msg::Write(line, ack) in batch {
                            buf.extend_from_slice(&line);
                            acks.push(ack);
                        }
                        let res = file
                            .write_all(&buf)
                            .and_then(|_| file.sync_data())
                            .map_err(|e| e.to_string());
                        counter.fetch_add(buf.len() as u64, Ordering::Relaxed);
                        for a in acks {
                            let _ = a.send(res.clone());
                        }
                    }
                })
                .map_err(|e| {
                    Error::state(
                        &files.journal,
                        format!("cannot start the journal writer: {e}"),
                    )
                })?;
            Some(tx)
        };
        Ok(Journal {
            initial_pending: Arc::new(snap.pending.keys().copied().collect()),
            changed: Arc::new(AtomicBool::new(false)),
            snap: Arc::new(std::sync::Mutex::new(snap)),
            tx,
            bytes,
            files,
        })
    }

    /// A copy of the current snapshot.
    pub fn snapshot(&self) -> Snapshot {
        self.snap.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Reads the live resource with `urn`.
    pub fn get(&self, urn: &str) -> Option<Resource> {
        self.snap.lock().ok().and_then(|s| s.get(urn).cloned())
    }

    /// Answers `f` from the current snapshot, borrowed: for a question about the whole state
    /// that needs no copy of it. (The state is locked meanwhile: `f` must be quick.)
    pub fn with_snapshot<T>(&self, f: impl FnOnce(&Snapshot) -> T) -> T {
        let snap = self.snap.lock().unwrap_or_else(|p| p.into_inner());
        f(&snap)
    }

    /// The files this journal writes (the stack's checkpoint and journal).
    pub fn files(&self) -> &StateFiles {
        &self.files
    }

    /// Bytes appended to the journal so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    async fn commit(&self, rec: Record) -> Result<(), Error> {
        let line = match &self.tx {
            Some(_) => {
                let enc = self.files.seal_record(&rec)?;
                let mut line = serde_json::to_vec(&enc)
                    .map_err(|e| Error::state(&self.files.journal, e.to_string()))?;
                line.push(b'\n');
                Some(line)
            }
            None => None,
        };
        // The record's resources are in the wire encoding already, as the snapshot keeps them.
        if let Ok(mut s) = self.snap.lock()
            && s.apply(rec, |r| r)
        {
            self.changed.store(true, Ordering::Relaxed);
        }
        let (Some(tx), Some(line)) = (&self.tx, line) else {
            return Ok(());
        };
        let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
        tx.send(Msg::Write(line, ack_tx))
            .map_err(|_| Error::state(&self.files.journal, "the journal writer stopped"))?;
        match ack_rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::state(
                &self.files.journal,
                format!("cannot append: {e}"),
            )),
            Err(_) => Err(Error::state(
                &self.files.journal,
                "the journal writer stopped",
            )),
        }
    }

    /// Records (durably) that an operation on `resource` begins. Returns its id.
    pub async fn begin(&self, op: OperationType, resource: &Resource) -> Result<u64, Error> {
        let id = self.snap.lock().map(|mut s| s.next()).unwrap_or(0);
        self.commit(Record {
            pending_begin: Some((
                id,
                Operation {
                    resource: resource.clone(),
                    op,
                },
            )),
            ..Default::default()
        })
        .await?;
        Ok(id)
    }

    /// Records the end of operation `id` (if any) together with resources written and removed.
    pub async fn end(
        &self,
        id: Option<u64>,
        put: Vec<Resource>,
        remove: Vec<Key>,
    ) -> Result<(), Error> {
        self.commit(Record {
            pending_done: id,
            put,
            remove,
            pending_begin: None,
        })
        .await
    }

    /// Writes resources and removals without an operation (metadata changes, refresh).
    pub async fn write(&self, put: Vec<Resource>, remove: Vec<Key>) -> Result<(), Error> {
        self.end(None, put, remove).await
    }

    /// Folds the journal into the checkpoint (skipped when nothing changed). Returns the total
    /// bytes of state written this run.
    pub fn compact(&self) -> Result<u64, Error> {
        if self.tx.is_none() {
            return Ok(0);
        }
        let snap = self.snap.lock().unwrap_or_else(|p| p.into_inner());
        if self.files.checkpoint.is_file()
            && !self.files.plaintext_read.load(Ordering::Relaxed)
            && !self.changed.load(Ordering::Relaxed)
            && snap.pending.keys().eq(self.initial_pending.iter())
        {
            // Nothing changed: the checkpoint already says it all; drop the journal.
            if self.files.journal.exists() {
                std::fs::remove_file(&self.files.journal).map_err(|e| {
                    Error::state(&self.files.journal, format!("cannot remove: {e}"))
                })?;
                sync_dir(self.files.journal.parent().unwrap_or(Path::new(".")));
            }
            return Ok(self.bytes_written());
        }
        let n = self.files.write_checkpoint(&snap)?;
        self.bytes.fetch_add(n, Ordering::Relaxed);
        Ok(self.bytes_written())
    }
}

#[cfg(test)]
mod tests;
