//! The provider's configuration: the root directory every relative path is resolved against.
//!
//! `local:root` is optional. When absent, relative paths resolve against the provider's
//! working directory, which is the program's directory when an engine launches the plugin. A
//! program sets it with `pulumi config set local:root ./out` (or `config: local:root:` in a
//! YAML project); [`Root::from_config`] checks it when the engine calls `Configure`: it must
//! exist, be a directory and be writable, and the error names the key otherwise. A relative
//! root is resolved against the working directory too.

use std::path::{Component, Path, PathBuf};

use provider_sdk::ops::CheckFailure;
use provider_sdk::typed::ProviderConfig;
use provider_sdk::{Context, Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The configuration key, as users write it.
pub const ROOT_KEY: &str = "local:root";

/// Configuration of the `local` provider.
///
/// The typed layer reads it in `Configure` (empty configuration included), and
/// [`ProviderConfig::validate`] rejects a root that is not an existing, writable directory.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// The directory that every relative path of this provider's resources is resolved
    /// against; it must exist and be writable. Optional: when absent, relative paths resolve
    /// against the provider's working directory (the program's directory when the engine
    /// launches the plugin). Set it with `pulumi config set local:root <dir>`.
    pub root: Option<String>,
}

impl ProviderConfig for LocalConfig {
    fn validate(&self) -> Vec<CheckFailure> {
        let Some(root) = &self.root else {
            return Vec::new();
        };
        match Root::from_config(root) {
            Ok(_) => Vec::new(),
            Err(Error::InvalidRequest(reason)) => vec![CheckFailure::new("root", reason)],
            Err(other) => vec![CheckFailure::new("root", other.to_string())],
        }
    }
}

/// The configured root, for a resource to resolve paths against: `local:root`, or the working
/// directory when it is absent; an error when the provider has not been configured.
pub(crate) fn configured(ctx: &Context) -> Result<Root> {
    let config = ctx.config::<LocalConfig>()?;
    Ok(Root::checked_before(config.root.as_deref().unwrap_or(".")))
}

/// A checked root directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    /// Checks `value`, the configured `local:root`: when it is empty, not a directory, or not
    /// writable, an [`Error::InvalidRequest`] naming `local:root` and the resolved path.
    pub fn from_config(value: &str) -> Result<Root> {
        if value.trim().is_empty() {
            return Err(invalid(
                "is empty; set it to an existing, writable directory",
            ));
        }
        let given = Path::new(value);
        let dir = if given.is_absolute() {
            given.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| {
                    invalid(&format!(
                        "is relative ({value}) and the working directory is unknown: {e}"
                    ))
                })?
                .join(given)
        };
        let meta = std::fs::metadata(&dir).map_err(|e| {
            invalid(&format!(
                "is {}, which cannot be used: {e}; create the directory first",
                dir.display()
            ))
        })?;
        if !meta.is_dir() {
            return Err(invalid(&format!(
                "is {}, which is not a directory",
                dir.display()
            )));
        }
        let dir = dir.canonicalize().unwrap_or(dir);
        check_writable(&dir)?;
        Ok(Root { dir })
    }

    /// The root that [`Root::from_config`] accepted for `value` earlier, resolved again without
    /// re-checking it (the check writes a probe file, which is not for every operation).
    pub(crate) fn checked_before(value: &str) -> Root {
        let given = Path::new(value);
        let dir = if given.is_absolute() {
            given.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|cwd| cwd.join(given))
                .unwrap_or_else(|_| given.to_path_buf())
        };
        Root {
            dir: dir.canonicalize().unwrap_or(dir),
        }
    }

    /// The root directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Resolves `path` (a resource's property, named `property` in errors): a relative path is
    /// joined to the root; an absolute path stays as it is. `.` and `..` segments are
    /// normalized lexically, so the result names the file the user meant even if it does not
    /// exist yet.
    pub fn resolve(&self, property: &str, path: &str) -> Result<PathBuf> {
        if path.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "`{property}` is empty; give a file path"
            )));
        }
        if path.contains('\0') {
            return Err(Error::InvalidRequest(format!(
                "`{property}` contains a NUL byte"
            )));
        }
        let joined = self.dir.join(path);
        let mut out = PathBuf::new();
        for part in joined.components() {
            match part {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
        Ok(out)
    }

    /// `path` (absolute) as a program would give it: relative to the root when it is inside
    /// the root, else absolute. The inverse of [`Root::resolve`], used when importing.
    pub fn relative(&self, path: &Path) -> String {
        match path.strip_prefix(&self.dir) {
            Ok(inside) if !inside.as_os_str().is_empty() => inside.display().to_string(),
            _ => path.display().to_string(),
        }
    }
}

/// The path that the id of an imported file or directory names: ids are absolute paths (what
/// `create` records), and anything else is an error naming the resource type.
pub(crate) fn path_of_id(token: &str, id: &str) -> Result<PathBuf> {
    if Path::new(id).is_absolute() {
        return Ok(PathBuf::from(id));
    }
    Err(Error::InvalidRequest(format!(
        "a `{token}` is imported by its absolute path (the id its create records), such as `/srv/site/index.html`; got `{id}`"
    )))
}

fn invalid(what: &str) -> Error {
    Error::InvalidRequest(format!("configuration `{ROOT_KEY}` {what}"))
}

fn check_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(format!(".local-provider-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(invalid(&format!(
            "is {}, which is not writable: {e}",
            dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_root_is_the_working_directory() {
        let config = LocalConfig { root: None };
        assert!(config.validate().is_empty());
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        assert_eq!(Root::checked_before(".").dir(), cwd);
    }

    #[test]
    fn a_root_that_is_not_a_directory_is_rejected_with_the_key_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        for bad in [
            file.to_str().unwrap().to_string(),
            dir.path().join("nope").display().to_string(),
            " ".into(),
        ] {
            let err = Root::from_config(&bad).unwrap_err();
            assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
            assert!(err.to_string().contains("local:root"), "{err}");
        }
    }

    #[test]
    fn a_read_only_root_is_rejected() {
        // root can write anywhere; the check is meaningful only for other users.
        if running_as_root() {
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        let err = Root::from_config(dir.path().to_str().unwrap()).unwrap_err();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(err.to_string().contains("not writable"), "{err}");
    }

    fn running_as_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
            })
            .unwrap_or(false)
    }

    #[test]
    fn relative_paths_resolve_against_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::from_config(dir.path().to_str().unwrap()).unwrap();
        let base = dir.path().canonicalize().unwrap();
        assert_eq!(
            root.resolve("path", "a/./b.txt").unwrap(),
            base.join("a/b.txt")
        );
        assert_eq!(root.resolve("path", "a/../c").unwrap(), base.join("c"));
        assert_eq!(
            root.resolve("path", "/etc/hosts").unwrap(),
            PathBuf::from("/etc/hosts")
        );
        assert!(
            root.resolve("path", "")
                .unwrap_err()
                .to_string()
                .contains("`path`")
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the writability probe is cleaned up"
        );
        assert_eq!(root.relative(&base.join("a/b.txt")), "a/b.txt");
        assert_eq!(root.relative(Path::new("/etc/hosts")), "/etc/hosts");
        assert_eq!(root.relative(&base), base.display().to_string());
    }

    #[test]
    fn an_id_to_import_must_be_an_absolute_path() {
        assert_eq!(path_of_id("t", "/a/b").unwrap(), PathBuf::from("/a/b"));
        let err = path_of_id("local:index:File", "a/b").unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
        for want in ["local:index:File", "absolute path", "`a/b`"] {
            assert!(err.to_string().contains(want), "{err}");
        }
    }
}
