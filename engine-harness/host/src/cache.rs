//! The plugin cache Pulumi keeps in `$PULUMI_HOME/plugins` (default `~/.pulumi/plugins`), read
//! and written in Pulumi's own layout so that the `pulumi` CLI sees what engine-harness
//! installed, and the reverse.
//!
//! The layout (Pulumi's `workspace.PluginDescriptor` and `pluginstorage.UnpackContents`):
//!
//! ```text
//! $PULUMI_HOME/plugins/
//!   resource-<name>-v<version>/           the release tarball's files; the executable is
//!     pulumi-resource-<name>              `pulumi-<kind>-<name>` at its top
//!   resource-<name>-v<version>.lock       held (flock) while installing; left behind after
//!   resource-<name>-v<version>.partial    present while installing; a folder with it is ignored
//!   resource-<name>-v<version>.lastused   touched each time the plugin is picked to run
//! ```
//!
//! `<version>` is the semantic version without its `v` (`1.2.0`). Folders whose name ends in
//! `.tmp<digits>` are installs of older Pulumi versions still running, and are skipped too.

use std::fs::File;
use std::path::{Path, PathBuf};

/// Why a cache operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Bad input: a name or version, a tarball that is not a plugin release, no home folder.
    /// The message says what to do.
    #[error("{0}")]
    Invalid(String),
    /// A file of the cache could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

type Error = CacheError;

/// A plugin kind, as the folder names spell it.
pub const RESOURCE: &str = "resource";

/// The plugin cache folder: `$PULUMI_HOME/plugins`, or `~/.pulumi/plugins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCache {
    dir: PathBuf,
}

/// One installed plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPlugin {
    /// `resource`, `language`, ...
    pub kind: String,
    /// The package name (`local` for `pulumi-resource-local`).
    pub name: String,
    /// Its version.
    pub version: semver::Version,
    /// Its folder in the cache.
    pub dir: PathBuf,
}

impl CachedPlugin {
    /// The executable Pulumi runs: `<dir>/pulumi-<kind>-<name>`.
    pub fn executable(&self) -> PathBuf {
        self.dir.join(format!("pulumi-{}-{}", self.kind, self.name))
    }

    /// The folder's size in bytes (the files at any depth).
    pub fn size(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(p) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path()),
                    Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir)
    }
}

/// The folder name of a plugin: `<kind>-<name>-v<version>`.
pub fn folder_name(kind: &str, name: &str, version: &semver::Version) -> String {
    format!("{kind}-{name}-v{version}")
}

/// Parses a version as Pulumi does (a leading `v` is allowed).
pub fn parse_version(text: &str) -> Result<semver::Version, String> {
    let t = text.trim();
    semver::Version::parse(t.strip_prefix('v').unwrap_or(t))
        .map_err(|e| format!("`{text}` is not a semantic version (like 1.2.0): {e}"))
}

/// Splits a folder name `<kind>-<name>-v<version>` (Pulumi's plugin pattern: a lowercase
/// kind, a name that may hold dashes, the last `-v` before a valid version).
fn parse_folder(name: &str) -> Option<(String, String, semver::Version)> {
    let (kind, rest) = name.split_once('-')?;
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let (plugin, version) = rest.rsplit_once("-v")?;
    let version = semver::Version::parse(version).ok()?;
    let valid = !plugin.is_empty()
        && plugin
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    valid.then(|| (kind.to_string(), plugin.to_string(), version))
}

fn is_old_temp_dir(name: &str) -> bool {
    name.rsplit_once(".tmp")
        .is_some_and(|(_, digits)| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

impl PluginCache {
    /// The cache of `$PULUMI_HOME` (`$PULUMI_HOME/plugins`), else of `~/.pulumi`.
    pub fn from_env() -> Result<PluginCache, Error> {
        if let Some(home) = std::env::var_os("PULUMI_HOME").filter(|h| !h.is_empty()) {
            return Ok(PluginCache::at(PathBuf::from(home).join("plugins")));
        }
        match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => Ok(PluginCache::at(
                PathBuf::from(home).join(".pulumi").join("plugins"),
            )),
            None => Err(Error::Invalid(
                "cannot find the plugin cache: neither PULUMI_HOME nor HOME is set; set PULUMI_HOME to the folder that holds (or will hold) `plugins/`".into(),
            )),
        }
    }

    /// The cache in `dir` (the `plugins` folder itself).
    pub fn at(dir: impl Into<PathBuf>) -> PluginCache {
        PluginCache { dir: dir.into() }
    }

    /// The `plugins` folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every fully installed plugin, sorted by kind, name and version. A missing cache folder
    /// is an empty cache.
    pub fn list(&self) -> Result<Vec<CachedPlugin>, Error> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(format!("reading {}", self.dir.display()))(e)),
        };
        let mut plugins = Vec::new();
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            if !entry.file_type().is_ok_and(|t| t.is_dir()) || is_old_temp_dir(name) {
                continue;
            }
            let Some((kind, plugin, version)) = parse_folder(name) else {
                continue;
            };
            let dir = entry.path();
            if marker(&dir, "partial").exists() {
                continue;
            }
            plugins.push(CachedPlugin {
                kind,
                name: plugin,
                version,
                dir,
            });
        }
        plugins.sort_by(|a, b| (&a.kind, &a.name, &a.version).cmp(&(&b.kind, &b.name, &b.version)));
        Ok(plugins)
    }

    /// The installed resource plugin `name` at exactly `version`, or its newest version when
    /// `version` is `None` (Pulumi's selection).
    pub fn find(
        &self,
        name: &str,
        version: Option<&semver::Version>,
    ) -> Result<Option<CachedPlugin>, Error> {
        Ok(self.list()?.into_iter().rev().find(|p| {
            p.kind == RESOURCE && p.name == name && version.is_none_or(|v| &p.version == v)
        }))
    }

    /// Records that `plugin` is about to run (`<folder>.lastused`, as Pulumi does); best effort.
    pub fn mark_used(&self, plugin: &CachedPlugin) {
        let _ = std::fs::write(marker(&plugin.dir, "lastused"), b"");
    }

    /// Installs `tarball` (a release `.tar.gz`) as plugin `kind`/`name`/`version`, the way
    /// `pulumi plugin install --file` does: under the `.lock`, with the `.partial` marker
    /// until every file is written. An installed plugin is left alone unless `reinstall`.
    /// The tarball must hold the executable `pulumi-<kind>-<name>` at its top.
    pub fn install(
        &self,
        kind: &str,
        name: &str,
        version: &semver::Version,
        tarball: &Path,
        reinstall: bool,
    ) -> Result<CachedPlugin, Error> {
        let folder = folder_name(kind, name, version);
        if parse_folder(&folder).is_none_or(|(k, n, _)| k != kind || n != name) {
            return Err(Error::Invalid(format!(
                "`{kind}` `{name}` cannot be a plugin folder name: the kind is lowercase letters, the name letters, digits, `-`, `_` and `.`"
            )));
        }
        let dir = self.dir.join(&folder);
        let plugin = CachedPlugin {
            kind: kind.to_string(),
            name: name.to_string(),
            version: version.clone(),
            dir: dir.clone(),
        };
        std::fs::create_dir_all(&self.dir)
            .map_err(io(format!("creating {}", self.dir.display())))?;
        let _lock = Lock::acquire(&marker(&dir, "lock"))?;
        let partial = marker(&dir, "partial");
        if dir.exists() {
            if !partial.exists() && !reinstall {
                return Ok(plugin);
            }
            std::fs::write(&partial, b"").map_err(io(format!("writing {}", partial.display())))?;
            std::fs::remove_dir_all(&dir).map_err(io(format!("removing {}", dir.display())))?;
        }
        std::fs::write(&partial, b"").map_err(io(format!("writing {}", partial.display())))?;
        create_private_dir(&dir)?;
        unpack(tarball, &dir)?;
        let exe = plugin.executable();
        if !exe.is_file() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Error::Invalid(format!(
                "{} holds no `{}` at its top, so Pulumi could not run it; the release tarball must hold the executable named `pulumi-{kind}-{name}` (what `engine-harness package pack` writes)",
                tarball.display(),
                exe.file_name().unwrap_or_default().to_string_lossy()
            )));
        }
        std::fs::remove_file(&partial).map_err(io(format!("removing {}", partial.display())))?;
        Ok(plugin)
    }

    /// Removes the installed plugins `kind`/`name` (every version, or only `version`) and
    /// their markers; returns what was removed.
    pub fn remove(
        &self,
        kind: &str,
        name: &str,
        version: Option<&semver::Version>,
    ) -> Result<Vec<CachedPlugin>, Error> {
        let doomed: Vec<CachedPlugin> = self
            .list()?
            .into_iter()
            .filter(|p| p.kind == kind && p.name == name)
            .filter(|p| version.is_none_or(|v| &p.version == v))
            .collect();
        for p in &doomed {
            std::fs::remove_dir_all(&p.dir).map_err(io(format!("removing {}", p.dir.display())))?;
            for m in ["partial", "lock", "lastused"] {
                let _ = std::fs::remove_file(marker(&p.dir, m));
            }
        }
        Ok(doomed)
    }
}

/// Unpacks a release tarball (`.tar.gz`) into `dir` (entries that would land outside it are
/// refused by `tar`).
pub fn unpack(tarball: &Path, dir: &Path) -> Result<(), CacheError> {
    let file = File::open(tarball).map_err(io(format!("opening {}", tarball.display())))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive.set_preserve_permissions(true);
    archive.unpack(dir).map_err(|e| {
        Error::Invalid(format!(
            "{} is not a gzipped tar archive of a plugin release ({e}); make one with `engine-harness package pack`",
            tarball.display()
        ))
    })
}

/// The resource plugin executable at the top of an unpacked release: the one file named
/// `pulumi-resource-<name>`.
pub fn release_executable(dir: &Path) -> Result<PathBuf, CacheError> {
    let entries = std::fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))?;
    let found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("pulumi-resource-"))
        })
        .map(|e| e.path())
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Invalid(format!(
            "the release unpacked in {} holds no `pulumi-resource-<name>` executable at its top",
            dir.display()
        ))),
        many => Err(Error::Invalid(format!(
            "the release unpacked in {} holds several plugin executables: {}",
            dir.display(),
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `<dir>.<suffix>`: the marker files beside a plugin's folder.
fn marker(dir: &Path, suffix: &str) -> PathBuf {
    let mut s = dir.as_os_str().to_os_string();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

fn create_private_dir(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(format!("creating {}", dir.display())))
}

/// An exclusive `flock` on the `.lock` file (what Pulumi's file mutex takes), released when
/// dropped; the file stays, as Pulumi leaves it.
struct Lock(File);

impl Lock {
    fn acquire(path: &Path) -> Result<Lock, Error> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io(format!("opening {}", path.display())))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io(format!("locking {}", path.display()))(e.into()))?;
        Ok(Lock(file))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = rustix::fs::flock(&self.0, rustix::fs::FlockOperation::Unlock);
    }
}

#[cfg(test)]
mod tests {
    use super::{folder_name, is_old_temp_dir, parse_folder, parse_version};

    #[test]
    fn folder_names_round_trip_as_pulumi_spells_them() {
        let v = parse_version("v1.2.3-beta.1").unwrap();
        let name = folder_name("resource", "aws-native", &v);
        assert_eq!(name, "resource-aws-native-v1.2.3-beta.1");
        assert_eq!(
            parse_folder(&name),
            Some(("resource".into(), "aws-native".into(), v))
        );
        assert_eq!(parse_folder("resource-local"), None);
        assert_eq!(parse_folder("Resource-local-v1.0.0"), None);
        assert_eq!(parse_folder("resource-local-vnext"), None);
        assert!(is_old_temp_dir("resource-local-v1.0.0.tmp123"));
        assert!(!is_old_temp_dir("resource-local-v1.0.0"));
        assert!(
            parse_version("one")
                .unwrap_err()
                .contains("semantic version")
        );
    }
}
