//! The CLI's `config` and `stack export`/`stack import` commands.

use engine_harness::Error;
use engine_harness::deploy::default_state_dir;
use engine_harness::secrets::SecretsManager;
use engine_harness::stack_config::{self, StackConfig};
use engine_harness::state::StateFiles;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where a stack lives.
pub struct Location {
    /// The project directory.
    pub cwd: PathBuf,
    /// The stack name.
    pub stack: String,
    /// The state directory (default `<cwd>/.pulumi-harness`).
    pub state_dir: Option<PathBuf>,
}

impl Location {
    /// The stack's state files, with the secrets provider of its stack file.
    pub fn state_files(&self) -> Result<StateFiles, Error> {
        let dir = self
            .state_dir
            .clone()
            .unwrap_or_else(|| default_state_dir(&self.cwd));
        let salt = stack_config::encryption_salt(&self.cwd, &self.stack)?;
        Ok(StateFiles::new(&dir, &self.stack).with_secrets(SecretsManager::from_env(salt)))
    }

    /// The stack file and the secrets provider for its values: the stack file's salt, else the
    /// state's (so that config and state share one key), else a new one on the first secret.
    fn config(&self) -> Result<(StackConfig, SecretsManager), Error> {
        let cfg = StackConfig::open(&self.cwd, &self.stack)?;
        let salt = match cfg.salt() {
            Some(s) => Some(s),
            None => self.state_files()?.recorded_salt()?,
        };
        Ok((cfg, SecretsManager::from_env(salt)))
    }
}

/// What `config` does.
pub enum ConfigAction {
    /// List every value.
    List {
        /// Show secrets in clear.
        show_secrets: bool,
    },
    /// Print one value.
    Get(String),
    /// Set a value.
    Set {
        /// The key (namespaced with the project when it has no `ns:`).
        key: String,
        /// The value.
        value: String,
        /// Encrypt it.
        secret: bool,
    },
    /// Remove a value.
    Rm(String),
}

/// Runs a `config` command.
pub fn config(loc: &Location, action: ConfigAction) -> Result<(), Error> {
    let (mut cfg, secrets) = loc.config()?;
    match action {
        ConfigAction::List { show_secrets } => {
            let rows = cfg
                .entries()
                .into_iter()
                .map(|(k, v)| {
                    let shown = if v.is_secret() && !show_secrets {
                        "[secret]".to_string()
                    } else {
                        v.reveal(&secrets)?
                    };
                    Ok((cfg.display_key(&k), shown))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0).max(3);
            let mut out = format!("{:width$}  VALUE\n", "KEY");
            for (k, v) in rows {
                out.push_str(&format!("{k:width$}  {v}\n"));
            }
            print!("{out}");
        }
        ConfigAction::Get(key) => match cfg.get(&key) {
            Some(v) => println!("{}", v.reveal(&secrets)?),
            None => {
                return Err(Error::Usage(format!(
                    "configuration key `{}` is not set in {}",
                    cfg.full_key(&key),
                    cfg.path.display()
                )));
            }
        },
        ConfigAction::Set { key, value, secret } => {
            cfg.set(&key, &value, secret, &secrets)?;
            cfg.save(&secrets)?;
        }
        ConfigAction::Rm(key) => {
            if !cfg.remove(&key) {
                return Err(Error::Usage(format!(
                    "configuration key `{}` is not set in {}",
                    cfg.full_key(&key),
                    cfg.path.display()
                )));
            }
            cfg.save(&secrets)?;
        }
    }
    Ok(())
}

/// `stack export`: to `file` (created 0600) or stdout.
pub fn export(loc: &Location, file: Option<&Path>, show_secrets: bool) -> Result<(), Error> {
    let doc = loc.state_files()?.export(show_secrets)?;
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| Error::Usage(e.to_string()))?;
    text.push('\n');
    match file {
        None => print!("{text}"),
        Some(f) => {
            let io = |e: std::io::Error| Error::Io {
                context: format!("cannot write {}", f.display()),
                source: e,
            };
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(f)
                .and_then(|mut w| w.write_all(text.as_bytes()))
                .map_err(io)?;
        }
    }
    Ok(())
}

/// `stack import --file F`.
pub fn import(loc: &Location, file: &Path) -> Result<(), Error> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::Io {
        context: format!("cannot read {}", file.display()),
        source: e,
    })?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{} is not JSON ({e}); pass a file written by `pulumi stack export` or `engine-harness stack export`",
            file.display()
        ))
    })?;
    let files = loc.state_files()?;
    for w in files.import(&doc, file)? {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "imported {} into stack `{}` ({})",
        file.display(),
        loc.stack,
        files.checkpoint.display()
    );
    Ok(())
}
