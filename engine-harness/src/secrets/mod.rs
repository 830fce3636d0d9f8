//! Secrets at rest: Pulumi's passphrase secrets provider.
//!
//! Every secret the engine writes (in the state, the journal, and `secure:` values in
//! `Pulumi.<stack>.yaml`) is encrypted as the pulumi CLI's passphrase provider encrypts it, so
//! the same files work with both tools. The passphrase comes from `PULUMI_CONFIG_PASSPHRASE`,
//! or from the file named by `PULUMI_CONFIG_PASSPHRASE_FILE` (an empty passphrase is allowed,
//! as in Pulumi). A stack that holds no secrets needs no passphrase.
//!
//! ```
//! use engine_harness::secrets::SecretsManager;
//! use serde_json::json;
//! // A stack with no salt yet: the first secret creates one.
//! let secrets = SecretsManager::with_passphrase(None, Some("correct horse"));
//! let sealed = secrets.encrypt("hunter2")?;
//! assert!(sealed.starts_with("v1:"));
//! assert_eq!(secrets.decrypt(&sealed)?, "hunter2");
//! assert!(secrets.salt().is_some());
//! # Ok::<(), engine_harness::Error>(())
//! ```

mod crypter;

use crate::Error;
use crate::value::{self, PropertyMap, SECRET_SIG, SIG_KEY};
use crypter::{CryptError, Crypter};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The variable holding the passphrase.
pub const PASSPHRASE_VAR: &str = "PULUMI_CONFIG_PASSPHRASE";
/// The variable naming a file that holds the passphrase.
pub const PASSPHRASE_FILE_VAR: &str = "PULUMI_CONFIG_PASSPHRASE_FILE";
/// The `secrets_providers.type` of a deployment encrypted with a passphrase.
pub const PROVIDER_TYPE: &str = "passphrase";

/// Reads the passphrase as the pulumi CLI does: `PULUMI_CONFIG_PASSPHRASE` when it is set (even
/// to the empty string), else the contents of the file named by `PULUMI_CONFIG_PASSPHRASE_FILE`
/// with surrounding whitespace trimmed, else `None`.
pub fn passphrase_from_env() -> Result<Option<String>, Error> {
    if let Some(p) = std::env::var_os(PASSPHRASE_VAR) {
        return p
            .into_string()
            .map(Some)
            .map_err(|_| Error::Secrets(format!("{PASSPHRASE_VAR} is not valid UTF-8")));
    }
    match std::env::var_os(PASSPHRASE_FILE_VAR) {
        Some(f) if !f.is_empty() => {
            let text = std::fs::read_to_string(&f).map_err(|e| {
                Error::Secrets(format!(
                    "cannot read the passphrase file {} named by {PASSPHRASE_FILE_VAR}: {e}",
                    std::path::Path::new(&f).display()
                ))
            })?;
            Ok(Some(text.trim().to_string()))
        }
        _ => Ok(None),
    }
}

fn missing() -> Error {
    Error::Secrets(format!(
        "this stack's secrets need the passphrase: set {PASSPHRASE_VAR}, or {PASSPHRASE_FILE_VAR} to a file that holds it (an empty passphrase is allowed); nothing was written"
    ))
}

fn wrong() -> Error {
    Error::Secrets(format!(
        "incorrect passphrase: the passphrase from {PASSPHRASE_VAR} or {PASSPHRASE_FILE_VAR} does not open this stack's secrets; set the one they were encrypted with. Nothing was written"
    ))
}

/// Derived keys by (salt state, passphrase) digest: PBKDF2 is slow on purpose, and one command
/// opens the same salt for the stack file and for the state.
fn cached(salt: &str, passphrase: &str) -> Result<Arc<Crypter>, Error> {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Arc<Crypter>>>> = OnceLock::new();
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(passphrase.as_bytes());
    let id: [u8; 32] = h.finalize().into();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().ok().and_then(|m| m.get(&id).cloned()) {
        return Ok(c);
    }
    let c = Arc::new(Crypter::unlock(passphrase, salt).map_err(|e| match e {
        CryptError::Mismatch => wrong(),
        CryptError::Malformed(m) => {
            Error::Secrets(format!("the encryption salt `{salt}` is malformed: {m}"))
        }
    })?);
    if let Ok(mut m) = cache.lock() {
        m.insert(id, c.clone());
    }
    Ok(c)
}

#[derive(Clone)]
enum Source {
    Env,
    Given(Option<String>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never show the passphrase.
        match self {
            Source::Env => f.write_str("Env"),
            Source::Given(Some(_)) => f.write_str("Given([secret])"),
            Source::Given(None) => f.write_str("Given(None)"),
        }
    }
}

#[derive(Debug)]
struct Inner {
    source: Source,
    salt: Option<String>,
    crypter: Option<Arc<Crypter>>,
}

/// A stack's secrets provider: its salt state (once known or created) and, once unlocked, its key.
///
/// Cloneable; clones share the salt and the key. Nothing is derived until a secret is actually
/// encrypted or decrypted (or [`SecretsManager::unlock`] is called).
#[derive(Debug, Clone)]
pub struct SecretsManager {
    inner: Arc<Mutex<Inner>>,
}

impl SecretsManager {
    /// A manager reading the passphrase from the environment when first needed.
    pub fn from_env(salt: Option<String>) -> Self {
        Self::make(Source::Env, salt)
    }

    /// A manager with a given passphrase (`None`: there is none).
    pub fn with_passphrase(salt: Option<String>, passphrase: Option<&str>) -> Self {
        Self::make(Source::Given(passphrase.map(str::to_string)), salt)
    }

    fn make(source: Source, salt: Option<String>) -> Self {
        SecretsManager {
            inner: Arc::new(Mutex::new(Inner {
                source,
                salt,
                crypter: None,
            })),
        }
    }

    /// Another manager with the same passphrase source, for a different salt (another stack's
    /// secrets, as in an imported deployment).
    pub fn for_salt(&self, salt: Option<String>) -> Self {
        let source = self.lock().source.clone();
        Self::make(source, salt)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-call; the data is still whole.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The salt state (`v1:…`), if the stack has one yet.
    pub fn salt(&self) -> Option<String> {
        self.lock().salt.clone()
    }

    /// Uses `salt` from now on (the state's salt takes precedence over the stack file's).
    pub fn use_salt(&self, salt: String) {
        let mut inner = self.lock();
        if inner.salt.as_deref() != Some(salt.as_str()) {
            inner.salt = Some(salt);
            inner.crypter = None;
        }
    }

    fn passphrase(&self) -> Result<Option<String>, Error> {
        let source = self.lock().source.clone();
        match source {
            Source::Env => passphrase_from_env(),
            Source::Given(p) => Ok(p),
        }
    }

    /// Whether a passphrase is available (without checking it).
    pub fn has_passphrase(&self) -> bool {
        matches!(self.passphrase(), Ok(Some(_)))
    }

    /// Derives and checks the key: with the stack's salt when it has one (a wrong passphrase is
    /// refused here), else with a new salt. Errors say which variables to set.
    pub fn unlock(&self) -> Result<(), Error> {
        self.crypter().map(|_| ())
    }

    /// When a passphrase is given and a salt is known, checks it now, so that a wrong one is
    /// refused before anything is written. Without a passphrase this does nothing.
    pub fn check_if_given(&self) -> Result<(), Error> {
        if self.salt().is_some() && self.passphrase()?.is_some() {
            self.unlock()?;
        }
        Ok(())
    }

    fn crypter(&self) -> Result<Arc<Crypter>, Error> {
        if let Some(c) = self.lock().crypter.clone() {
            return Ok(c);
        }
        let passphrase = self.passphrase()?.ok_or_else(missing)?;
        let salt = self.salt();
        let c = match salt {
            Some(salt) => cached(&salt, &passphrase)?,
            None => {
                let (salt, c) = Crypter::create(&passphrase);
                self.lock().salt = Some(salt);
                Arc::new(c)
            }
        };
        self.lock().crypter = Some(c.clone());
        Ok(c)
    }

    /// Encrypts `plaintext` as a `v1:<nonce>:<ciphertext>` value.
    pub fn encrypt(&self, plaintext: &str) -> Result<String, Error> {
        Ok(self.crypter()?.encrypt(plaintext))
    }

    /// Decrypts a `v1:<nonce>:<ciphertext>` value.
    pub fn decrypt(&self, value: &str) -> Result<String, Error> {
        self.crypter()?.decrypt(value).map_err(|e| match e {
            CryptError::Mismatch => Error::Secrets(
                "a secret does not decrypt with this stack's key: it was encrypted with another salt or passphrase, or it is damaged".into(),
            ),
            CryptError::Malformed(m) => Error::Secrets(format!("a secret value is malformed: {m}")),
        })
    }

    /// A state value with every `{"4dabf…": "1b47…", "plaintext": …}` secret replaced by its
    /// `ciphertext` form (as in `pulumi stack export`). Needs the passphrase only if there is a
    /// secret.
    pub fn seal(&self, v: &Json) -> Result<Json, Error> {
        map_secrets(v, &|m| match m.get("plaintext").and_then(Json::as_str) {
            Some(text) => Ok(Some(secret_with("ciphertext", self.encrypt(text)?))),
            None => Ok(None),
        })
    }

    /// The inverse of [`SecretsManager::seal`]: `ciphertext` secrets decrypted to `plaintext`.
    pub fn open(&self, v: &Json) -> Result<Json, Error> {
        map_secrets(v, &|m| match m.get("ciphertext").and_then(Json::as_str) {
            Some(text) => Ok(Some(secret_with("plaintext", self.decrypt(text)?))),
            None => Ok(None),
        })
    }

    /// [`SecretsManager::seal`] over a property map.
    pub fn seal_map(&self, m: &PropertyMap) -> Result<PropertyMap, Error> {
        m.iter()
            .map(|(k, v)| Ok((k.clone(), self.seal(v)?)))
            .collect()
    }

    /// [`SecretsManager::open`] over a property map.
    pub fn open_map(&self, m: &PropertyMap) -> Result<PropertyMap, Error> {
        m.iter()
            .map(|(k, v)| Ok((k.clone(), self.open(v)?)))
            .collect()
    }
}

/// Rewrites each secret object in a state value with `f` (`None`: keep it).
type SecretFn<'a> = dyn Fn(&Map<String, Json>) -> Result<Option<Json>, Error> + 'a;

fn map_secrets(v: &Json, f: &SecretFn<'_>) -> Result<Json, Error> {
    Ok(match v {
        Json::Object(m) if m.get(SIG_KEY).and_then(Json::as_str) == Some(SECRET_SIG) => {
            match f(m)? {
                Some(out) => out,
                None => v.clone(),
            }
        }
        Json::Array(a) => Json::Array(
            a.iter()
                .map(|x| map_secrets(x, f))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), map_secrets(x, f)?)))
                .collect::<Result<_, Error>>()?,
        ),
        other => other.clone(),
    })
}

fn secret_with(field: &str, text: String) -> Json {
    let mut m = Map::new();
    m.insert(SIG_KEY.into(), Json::String(SECRET_SIG.into()));
    m.insert(field.into(), Json::String(text));
    Json::Object(m)
}

/// Does the program use secrets (secret config, `fn::secret`, secret values anywhere,
/// `additionalSecretOutputs`)? Such a program needs the passphrase before `up` changes
/// anything, so a missing one is reported before any resource is touched rather than when its
/// state is written.
pub fn program_uses_secrets(project: &crate::program::Project) -> bool {
    fn mentions(v: &Json) -> bool {
        match v {
            _ if value::is_secret(v) => true,
            Json::Array(a) => a.iter().any(mentions),
            Json::Object(m) => m.iter().any(|(k, x)| k == "fn::secret" || mentions(x)),
            _ => false,
        }
    }
    project.config.values().any(mentions)
        || project
            .provider_config
            .values()
            .any(|m| m.values().any(mentions))
        || project.variables.values().any(mentions)
        || project.outputs.iter().any(|(_, v)| mentions(v))
        || project.resources.iter().any(|r| {
            // `additionalSecretOutputs`: the state will hold secrets once the step is done.
            !r.options.additional_secret_outputs.is_empty()
                || r.properties.values().any(mentions)
                || r.get
                    .as_ref()
                    .is_some_and(|g| mentions(&g.id) || g.state.values().any(mentions))
        })
        || project
            .invokes
            .iter()
            .any(|i| i.arguments.values().any(mentions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn debug_output_never_shows_the_passphrase() {
        let m = SecretsManager::with_passphrase(None, Some("hunter2-pass"));
        m.unlock().unwrap();
        assert!(!format!("{m:?}").contains("hunter2-pass"));
    }

    #[test]
    fn state_values_seal_to_ciphertext_and_open_back() {
        let m = SecretsManager::with_passphrase(None, Some(""));
        let v = value::to_state(&json!({"a": 1, "s": value::secret(json!({"pw": "hunter2"}))}));
        let sealed = m.seal(&v).unwrap();
        assert_eq!(sealed["a"], 1);
        assert!(
            sealed["s"]["ciphertext"]
                .as_str()
                .unwrap()
                .starts_with("v1:")
        );
        assert!(!sealed.to_string().contains("hunter2"));
        assert!(sealed["s"].get("plaintext").is_none());
        assert_eq!(m.open(&sealed).unwrap(), v);
        // Another manager with the same salt and passphrase opens it; a wrong one is refused.
        let same = SecretsManager::with_passphrase(m.salt(), Some(""));
        assert_eq!(same.open(&sealed).unwrap(), v);
        let bad = SecretsManager::with_passphrase(m.salt(), Some("nope"));
        assert!(
            matches!(bad.open(&sealed), Err(Error::Secrets(e)) if e.contains("incorrect passphrase"))
        );
        let none = SecretsManager::with_passphrase(m.salt(), None);
        let err = none.open(&sealed).unwrap_err().to_string();
        assert!(err.contains(PASSPHRASE_VAR) && err.contains(PASSPHRASE_FILE_VAR));
        // No secret, no passphrase needed.
        assert_eq!(
            none.seal(&json!({"a": [1, 2]})).unwrap(),
            json!({"a": [1, 2]})
        );
    }
}
