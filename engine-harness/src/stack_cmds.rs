//! The CLI's `config`, `stack export`/`stack import` and `cancel` commands.

use engine_harness::Error;
use engine_harness::deploy::default_state_dir;
use engine_harness::secrets::SecretsManager;
use engine_harness::stack_config::{self, StackConfig};
use engine_harness::state::StateFiles;
use engine_harness::state::lock::{self, Liveness, StackLock};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long `config set`, `stack export` and the like wait for another such brief command to
/// release the stack's lock.
const BRIEF_PATIENCE: Duration = Duration::from_secs(30);

/// How long `cancel` waits for a signalled run to save its state and release the lock.
const CANCEL_WAIT: Duration = Duration::from_secs(60);

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
    fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| default_state_dir(&self.cwd))
    }

    /// Takes the stack's lock for `operation`, waiting a little for another brief command.
    pub fn lock(&self, operation: &str) -> Result<StackLock, Error> {
        let lock = StackLock::acquire(&self.state_dir(), &self.stack, operation, BRIEF_PATIENCE)?;
        for w in lock.broken() {
            eprintln!("warning: {w}");
        }
        Ok(lock)
    }

    /// The stack's state files, with the secrets provider of its stack file.
    pub fn state_files(&self) -> Result<StateFiles, Error> {
        let dir = self.state_dir();
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
    Get {
        /// The key.
        key: String,
        /// The key is a path into a map or list (`a.b`, `a[0]`).
        path: bool,
    },
    /// Set a value.
    Set {
        /// The key (namespaced with the project when it has no `ns:`).
        key: String,
        /// The value.
        value: String,
        /// Encrypt it.
        secret: bool,
        /// The key is a path into a map or list (`a.b`, `a[0]`).
        path: bool,
    },
    /// Remove a value.
    Rm {
        /// The key.
        key: String,
        /// The key is a path into a map or list (`a.b`, `a[0]`).
        path: bool,
    },
}

fn not_set(cfg: &StackConfig, key: &str) -> Error {
    Error::Usage(format!(
        "configuration key `{}` is not set in {}",
        cfg.full_key(key),
        cfg.path.display()
    ))
}

/// Runs a `config` command.
pub fn config(loc: &Location, action: ConfigAction) -> Result<(), Error> {
    // A change reads, edits and writes the stack file: under the stack's lock, so that two
    // at once cannot lose one of the changes.
    let _lock = match &action {
        ConfigAction::Set { .. } => Some(loc.lock("config set")?),
        ConfigAction::Rm { .. } => Some(loc.lock("config rm")?),
        _ => None,
    };
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
                        v.reveal(&cfg.display_key(&k), &secrets)?
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
        ConfigAction::Get { key, path } => {
            let value = if path {
                cfg.get_path(&key)?
            } else {
                cfg.get(&key)
            };
            match value {
                Some(v) => println!("{}", v.reveal(&key, &secrets)?),
                None => return Err(not_set(&cfg, &key)),
            }
        }
        ConfigAction::Set {
            key,
            value,
            secret,
            path,
        } => {
            if path {
                cfg.set_path(&key, &value, secret, &secrets)?;
            } else {
                cfg.set(&key, &value, secret, &secrets)?;
            }
            cfg.save(&secrets)?;
        }
        ConfigAction::Rm { key, path } => {
            let removed = if path {
                cfg.remove_path(&key)?
            } else {
                cfg.remove(&key)
            };
            if !removed {
                return Err(not_set(&cfg, &key));
            }
            cfg.save(&secrets)?;
        }
    }
    Ok(())
}

/// `stack export`: to `file` (made 0600, even when it exists) or stdout.
pub fn export(loc: &Location, file: Option<&Path>, show_secrets: bool) -> Result<(), Error> {
    let lock = loc.lock("stack export")?;
    let doc = loc.state_files()?.export(show_secrets)?;
    drop(lock);
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| Error::Usage(e.to_string()))?;
    text.push('\n');
    match file {
        None => print!("{text}"),
        Some(f) => {
            let io = |e: std::io::Error| Error::Io {
                context: format!("cannot write {}", f.display()),
                source: e,
            };
            // `mode` applies to a new file only: an existing one is made 0600 after it is
            // emptied and before anything is written to it.
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(f)
                .and_then(|mut w| {
                    w.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                    w.write_all(text.as_bytes())
                })
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
    let _lock = loc.lock("stack import")?;
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

/// `cancel`: stops the command holding the stack's lock as Ctrl-C stops it (SIGINT: running
/// steps finish, the state is saved, the lock released), and waits for it. A second `cancel`
/// sends a second SIGINT, which stops it at once. A lock whose process is gone is removed; one
/// held on another host (or unreadable) is removed only with `force`.
pub fn cancel(loc: &Location, force: bool) -> Result<(), Error> {
    let dir = loc.state_dir();
    let found = lock::held(&dir, &loc.stack)?;
    if found.is_empty() {
        println!("stack `{}` is not locked: no command to cancel", loc.stack);
        return Ok(());
    }
    let mut signalled = Vec::new();
    let mut refused = Vec::new();
    for f in &found {
        let remove = |why: &str| -> Result<(), Error> {
            match std::fs::remove_file(&f.path) {
                Ok(()) => {
                    println!("removed {why}: {}", f.describe());
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::State {
                    path: f.path.clone(),
                    message: format!("cannot remove: {e}"),
                }),
            }
        };
        match f.holder.as_ref().map(|h| (h, h.liveness())) {
            Some((h, Liveness::Running)) => {
                // SAFETY: kill has no memory preconditions; the pid was checked to be the
                // holder (same host, same process start time) just now.
                let rc = unsafe { libc::kill(h.pid, libc::SIGINT) };
                if rc != 0 {
                    let e = std::io::Error::last_os_error();
                    return Err(Error::Locked(format!(
                        "cannot signal {}: {e}",
                        f.describe()
                    )));
                }
                println!(
                    "sent SIGINT (as Ctrl-C) to {}; waiting for it to save its state and stop",
                    h.describe()
                );
                signalled.push(f.path.clone());
            }
            Some((_, Liveness::Gone)) => remove("the stale lock of a process that is gone")?,
            _ if force => remove("the lock (--force)")?,
            _ => refused.push(f.describe()),
        }
    }
    if !refused.is_empty() {
        return Err(Error::Locked(format!(
            "cannot stop these from this host:\n  - {}\nIf that command has ended (or its host is gone), `engine-harness cancel --stack {} --force` removes its lock. Removing the lock of a command still running lets another run beside it.",
            refused.join("\n  - "),
            loc.stack
        )));
    }
    let start = Instant::now();
    while signalled.iter().any(|p| p.exists()) {
        if start.elapsed() >= CANCEL_WAIT {
            return Err(Error::Locked(format!(
                "the command is still running {}s after SIGINT (its running steps are finishing); run `engine-harness cancel --stack {}` again to stop it at once (as a second Ctrl-C does)",
                CANCEL_WAIT.as_secs(),
                loc.stack
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !signalled.is_empty() {
        println!("stopped: stack `{}` is unlocked", loc.stack);
    }
    Ok(())
}
