//! `Pulumi.<stack>.yaml` as `engine-harness config` reads and writes it, in the pulumi CLI's
//! layout: `encryptionsalt: v1:…` (the passphrase secrets provider's salt, created with the
//! first secret) and `config:` with keys namespaced by the project name (`proj:key`) or a
//! package (`aws:region`); secret values as `secure: v1:…`.
//!
//! ```no_run
//! use engine_harness::secrets::SecretsManager;
//! use engine_harness::stack_config::StackConfig;
//! let mut cfg = StackConfig::open("./my-project".as_ref(), "dev")?;
//! let secrets = SecretsManager::from_env(cfg.salt());
//! cfg.set("apiToken", "s3cr3t", true, &secrets)?; // stored as `my-project:apiToken: {secure: v1:…}`
//! cfg.save(&secrets)?;
//! # Ok::<(), engine_harness::Error>(())
//! ```

use crate::Error;
use crate::config_path::{self, ConfigPath};
use crate::secrets::SecretsManager;
use serde_yaml::{Mapping, Value as Yaml};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const SALT_KEY: &str = "encryptionsalt";

/// A config value as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A plain value.
    Plain(Yaml),
    /// A `secure:` value: `v1:…` ciphertext (anything else is refused when read, as Pulumi's
    /// passphrase provider refuses it: a `secure:` value is never taken as plaintext).
    Secure(String),
}

impl ConfigValue {
    /// Whether the value is secret: a `secure:` value, or a list or object with a `secure:`
    /// leaf anywhere inside (as `pulumi config set --path --secret` writes them).
    pub fn is_secret(&self) -> bool {
        match self {
            ConfigValue::Secure(_) => true,
            ConfigValue::Plain(v) => has_secure_leaf(v),
        }
    }

    /// The value of `key` as text, as Pulumi's CLI and language hosts give it: a string as
    /// itself, any other value as compact JSON, every `secure:` leaf decrypted with `secrets`.
    /// A `secure:` value that is not `v1:` ciphertext is an error naming `key`.
    pub fn reveal(&self, key: &str, secrets: &SecretsManager) -> Result<String, Error> {
        match self {
            ConfigValue::Plain(Yaml::String(s)) => Ok(s.clone()),
            ConfigValue::Plain(v) => Ok(decrypted_json(key, v, secrets)?.to_string()),
            ConfigValue::Secure(s) => open_secure(key, s, secrets),
        }
    }
}

fn open_secure(key: &str, s: &str, secrets: &SecretsManager) -> Result<String, Error> {
    if is_encrypted(s) {
        secrets.decrypt(s)
    } else {
        Err(Error::Secrets(not_ciphertext(key)))
    }
}

/// Whether `v` is or holds a `{secure: …}` leaf.
pub fn has_secure_leaf(v: &Yaml) -> bool {
    if secure_text(v).is_some() {
        return true;
    }
    match v {
        Yaml::Mapping(m) => m.values().any(has_secure_leaf),
        Yaml::Sequence(items) => items.iter().any(has_secure_leaf),
        _ => false,
    }
}

/// `v` as JSON with every `secure:` leaf replaced by its plaintext.
fn decrypted_json(
    key: &str,
    v: &Yaml,
    secrets: &SecretsManager,
) -> Result<serde_json::Value, Error> {
    use serde_json::Value as Json;
    if let Some(s) = secure_text(v) {
        return Ok(Json::String(open_secure(key, s, secrets)?));
    }
    Ok(match v {
        Yaml::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| Ok((key_text(k), decrypted_json(key, v, secrets)?)))
                .collect::<Result<_, Error>>()?,
        ),
        Yaml::Sequence(items) => Json::Array(
            items
                .iter()
                .map(|v| decrypted_json(key, v, secrets))
                .collect::<Result<_, Error>>()?,
        ),
        Yaml::Tagged(t) => decrypted_json(key, &t.value, secrets)?,
        other => serde_json::to_value(other).unwrap_or(Json::Null),
    })
}

/// The ciphertext (or whatever else is written there) of a `{secure: …}` value.
fn secure_text(v: &Yaml) -> Option<&str> {
    let m = v.as_mapping()?;
    if m.len() != 1 {
        return None;
    }
    m.get("secure").and_then(Yaml::as_str)
}

/// The error for a `secure:` value of `key` that is not passphrase ciphertext.
pub fn not_ciphertext(key: &str) -> String {
    format!(
        "`{key}`: its `secure:` value is not ciphertext of the passphrase secrets provider (`v1:…`), so it cannot be decrypted, and a `secure:` value is never read as plaintext; set it with `engine-harness config set {key} <value> --secret`"
    )
}

fn is_encrypted(s: &str) -> bool {
    s.starts_with("v1:")
}

/// A project's stack file, loaded for editing.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// `<dir>/Pulumi.<stack>.yaml`.
    pub path: PathBuf,
    /// The project name (namespace of unqualified keys).
    pub project: String,
    doc: Mapping,
}

impl StackConfig {
    /// Reads the project name from `Pulumi.yaml` and the stack file (empty when it does not exist).
    pub fn open(dir: &Path, stack: &str) -> Result<Self, Error> {
        let project_file = ["Pulumi.yaml", "Pulumi.yml"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::Program {
                file: dir.join("Pulumi.yaml"),
                line: 0,
                message: "no Pulumi.yaml here; pass --cwd with the project directory".into(),
            })?;
        let project_doc = read_yaml(&project_file)?;
        let project = project_doc
            .get("name")
            .and_then(Yaml::as_str)
            .ok_or_else(|| Error::Program {
                file: project_file.clone(),
                line: 0,
                message: "the project has no `name:`".into(),
            })?
            .to_string();
        let path = dir.join(format!("Pulumi.{stack}.yaml"));
        let doc = if path.is_file() {
            match read_yaml(&path)? {
                Yaml::Mapping(m) => m,
                Yaml::Null => Mapping::new(),
                _ => {
                    return Err(Error::Program {
                        file: path,
                        line: 1,
                        message: "a stack file is a mapping with `config:`".into(),
                    });
                }
            }
        } else {
            Mapping::new()
        };
        let cfg = StackConfig { path, project, doc };
        cfg.config_map()?;
        Ok(cfg)
    }

    /// The passphrase provider's salt state (`encryptionsalt`), if any.
    pub fn salt(&self) -> Option<String> {
        self.doc
            .get(SALT_KEY)
            .and_then(Yaml::as_str)
            .map(str::to_string)
    }

    /// `key` with the project namespace when it has none.
    pub fn full_key(&self, key: &str) -> String {
        if key.contains(':') {
            key.to_string()
        } else {
            format!("{}:{key}", self.project)
        }
    }

    /// `key` as `config` lists it: project keys without their namespace.
    pub fn display_key(&self, key: &str) -> String {
        key.strip_prefix(&format!("{}:", self.project))
            .unwrap_or(key)
            .to_string()
    }

    fn config_map(&self) -> Result<Option<&Mapping>, Error> {
        match self.doc.get("config") {
            None | Some(Yaml::Null) => Ok(None),
            Some(Yaml::Mapping(m)) => Ok(Some(m)),
            Some(_) => Err(Error::Program {
                file: self.path.clone(),
                line: 0,
                message: "`config:` must be a mapping of `namespace:key: value`".into(),
            }),
        }
    }

    fn config_map_mut(&mut self) -> &mut Mapping {
        if !matches!(self.doc.get("config"), Some(Yaml::Mapping(_))) {
            self.doc
                .insert(Yaml::String("config".into()), Yaml::Mapping(Mapping::new()));
        }
        match self.doc.get_mut("config") {
            Some(Yaml::Mapping(m)) => m,
            _ => unreachable!("config was just made a mapping"),
        }
    }

    /// Every entry, in file order, with full keys.
    pub fn entries(&self) -> Vec<(String, ConfigValue)> {
        let Ok(Some(m)) = self.config_map() else {
            return Vec::new();
        };
        m.iter().map(|(k, v)| (key_text(k), classify(v))).collect()
    }

    /// The entry for `key` (namespaced as [`StackConfig::full_key`]).
    pub fn get(&self, key: &str) -> Option<ConfigValue> {
        let full = self.full_key(key);
        self.entries()
            .into_iter()
            .find(|(k, _)| *k == full)
            .map(|(_, v)| v)
    }

    /// Sets `key`; a secret is encrypted with `secrets` (creating the salt on the first one).
    pub fn set(
        &mut self,
        key: &str,
        value: &str,
        secret: bool,
        secrets: &SecretsManager,
    ) -> Result<(), Error> {
        let full = self.full_key(key);
        let v = if secret {
            secure(secrets.encrypt(value)?)
        } else {
            Yaml::String(value.to_string())
        };
        self.config_map_mut().insert(Yaml::String(full), v);
        Ok(())
    }

    /// Splits `key` (`[namespace:]path`) into the full config key and the path below it.
    fn split_path(&self, key: &str) -> Result<(String, ConfigPath), Error> {
        let full = self.full_key(key);
        let (ns, name) = full.split_once(':').unwrap_or(("", full.as_str()));
        let path = ConfigPath::parse(name)
            .map_err(|e| Error::Usage(format!("invalid config key path `{key}`: {e}")))?;
        Ok((format!("{ns}:{}", path.root), path))
    }

    /// The value at `key` read as a path (`pulumi config get --path`): `outer.inner`,
    /// `names[0]`, `["a.b"]`.
    pub fn get_path(&self, key: &str) -> Result<Option<ConfigValue>, Error> {
        let (full, path) = self.split_path(key)?;
        let root = self.config_map()?.and_then(|m| m.get(full.as_str()));
        Ok(root.and_then(|r| path.get(r)).map(classify))
    }

    /// Sets the value at `key` read as a path (`pulumi config set --path`), creating the maps
    /// and lists on the way; a secret leaf is written `{secure: v1:…}` inside the structure.
    pub fn set_path(
        &mut self,
        key: &str,
        value: &str,
        secret: bool,
        secrets: &SecretsManager,
    ) -> Result<(), Error> {
        let (full, path) = self.split_path(key)?;
        let leaf = if secret {
            secure(secrets.encrypt(value)?)
        } else if path.rest.is_empty() {
            Yaml::String(value.to_string())
        } else {
            config_path::coerce(value)
        };
        let map = self.config_map_mut();
        let old = map.get(full.as_str()).cloned();
        let new = path
            .set(old, leaf)
            .map_err(|e| Error::Usage(format!("cannot set config `{key}`: {e}")))?;
        map.insert(Yaml::String(full), new);
        Ok(())
    }

    /// Removes the value at `key` read as a path; whether it was there.
    pub fn remove_path(&mut self, key: &str) -> Result<bool, Error> {
        let (full, path) = self.split_path(key)?;
        if path.rest.is_empty() {
            return Ok(self.remove(&full));
        }
        let map = self.config_map_mut();
        Ok(match map.get_mut(full.as_str()) {
            Some(root) => path.remove(root),
            None => false,
        })
    }

    /// Removes `key`; whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let full = self.full_key(key);
        self.config_map_mut().remove(Yaml::String(full)).is_some()
    }

    /// Writes the file; the salt of `secrets` is recorded as `encryptionsalt` when it
    /// encrypted anything.
    pub fn save(&mut self, secrets: &SecretsManager) -> Result<(), Error> {
        let uses_secrets = self.entries().iter().any(|(_, v)| v.is_secret());
        if let Some(salt) = secrets.salt().filter(|_| uses_secrets)
            && self.salt().as_deref() != Some(salt.as_str())
        {
            // Pulumi writes the salt first.
            let mut doc = Mapping::new();
            doc.insert(Yaml::String(SALT_KEY.into()), Yaml::String(salt));
            for (k, v) in std::mem::take(&mut self.doc) {
                if k.as_str() != Some(SALT_KEY) {
                    doc.insert(k, v);
                }
            }
            self.doc = doc;
        }
        let text = serde_yaml::to_string(&self.doc).map_err(|e| Error::Program {
            file: self.path.clone(),
            line: 0,
            message: format!("cannot encode: {e}"),
        })?;
        write_atomically(&self.path, text.as_bytes())
    }
}

fn secure(ciphertext: String) -> Yaml {
    let mut m = Mapping::new();
    m.insert(Yaml::String("secure".into()), Yaml::String(ciphertext));
    Yaml::Mapping(m)
}

fn classify(v: &Yaml) -> ConfigValue {
    match secure_text(v) {
        Some(s) => ConfigValue::Secure(s.to_string()),
        None => ConfigValue::Plain(v.clone()),
    }
}

fn key_text(k: &Yaml) -> String {
    match k {
        Yaml::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim_end()
            .to_string(),
    }
}

fn read_yaml(path: &Path) -> Result<Yaml, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Program {
        file: path.to_path_buf(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    serde_yaml::from_str(&text).map_err(|e| Error::Program {
        file: path.to_path_buf(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        message: format!("invalid YAML: {e}"),
    })
}

/// Writes `bytes` to `path` through a temp file and a rename, keeping the file's mode (0644 for
/// a new file: a stack file holds only ciphertext and is meant to be committed).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|s| s.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |e: std::io::Error| Error::Io {
        context: format!("cannot write {}", path.display()),
        source: e,
    };
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(0o644);
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// The `encryptionsalt` of `Pulumi.<stack>.yaml` in `dir`, if the file has one.
pub fn encryption_salt(dir: &Path, stack: &str) -> Result<Option<String>, Error> {
    let path = dir.join(format!("Pulumi.{stack}.yaml"));
    if !path.is_file() {
        return Ok(None);
    }
    Ok(read_yaml(&path)?
        .get(SALT_KEY)
        .and_then(Yaml::as_str)
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_namespaced_encrypted_and_salted_like_pulumi_and_plaintext_secure_values_refused()
    {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Pulumi.yaml"),
            "name: proj\nruntime: yaml\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("Pulumi.dev.yaml"),
            "config:\n  proj:old:\n    secure: handwritten\n  aws:region: us-east-1\n",
        )
        .unwrap();
        let mut cfg = StackConfig::open(dir.path(), "dev").unwrap();
        let secrets = SecretsManager::with_passphrase(cfg.salt(), Some("pw"));
        cfg.set("token", "hunter2", true, &secrets).unwrap();
        cfg.set("plain", "x", false, &secrets).unwrap();
        cfg.save(&secrets).unwrap();
        let text = std::fs::read_to_string(dir.path().join("Pulumi.dev.yaml")).unwrap();
        assert!(text.starts_with("encryptionsalt: v1:"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        // A hand-written `secure:` value is left as it is, never encrypted as if it were the
        // secret, and refused when read.
        assert!(text.contains("secure: handwritten"), "{text}");
        assert!(text.contains("proj:token:\n    secure: v1:"), "{text}");
        assert!(text.contains("aws:region: us-east-1"), "{text}");
        let again = StackConfig::open(dir.path(), "dev").unwrap();
        let reader = SecretsManager::with_passphrase(again.salt(), Some("pw"));
        assert_eq!(
            again
                .get("token")
                .unwrap()
                .reveal("token", &reader)
                .unwrap(),
            "hunter2"
        );
        let e = again
            .get("proj:old")
            .unwrap()
            .reveal("proj:old", &reader)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`proj:old`") && !e.contains("handwritten"),
            "{e}"
        );
        assert_eq!(
            again.get("plain"),
            Some(ConfigValue::Plain(Yaml::String("x".into())))
        );
    }
}
