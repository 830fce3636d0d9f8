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
    /// Whether the value is secret.
    pub fn is_secret(&self) -> bool {
        matches!(self, ConfigValue::Secure(_))
    }

    /// The value of `key` as text: secrets decrypted with `secrets`. A `secure:` value that is
    /// not `v1:` ciphertext is an error naming `key`.
    pub fn reveal(&self, key: &str, secrets: &SecretsManager) -> Result<String, Error> {
        match self {
            ConfigValue::Plain(Yaml::String(s)) => Ok(s.clone()),
            ConfigValue::Plain(v) => Ok(serde_yaml::to_string(v)
                .unwrap_or_default()
                .trim_end()
                .to_string()),
            ConfigValue::Secure(s) if is_encrypted(s) => secrets.decrypt(s),
            ConfigValue::Secure(_) => Err(Error::Secrets(not_ciphertext(key))),
        }
    }
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
    if let Some(m) = v.as_mapping()
        && m.len() == 1
        && let Some(s) = m.get("secure").and_then(Yaml::as_str)
    {
        return ConfigValue::Secure(s.to_string());
    }
    ConfigValue::Plain(v.clone())
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
