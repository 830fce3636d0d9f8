//! File-system work behind [`crate::file`], [`crate::directory`] and the functions: writing a
//! file atomically with its permissions, reading it back to detect drift, hashing, and
//! removing directories carefully. Plain Rust, no provider types.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use provider_sdk::value::{Asset, AssetSource};
use provider_sdk::{Error, Result};
use sha2::{Digest, Sha256};

/// The hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parses an octal permission string such as `"0644"` or `"755"` (at most `0777`, no setuid,
/// setgid or sticky bits).
pub(crate) fn parse_permissions(text: &str) -> std::result::Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
        return Err(format!(
            "`permissions` must be an octal mode such as \"0644\" or \"0755\", got {text:?}"
        ));
    }
    let mode = u32::from_str_radix(digits, 8).map_err(|e| e.to_string())?;
    if mode > 0o777 {
        return Err(format!(
            "`permissions` {text:?} sets setuid, setgid or sticky bits; only 0000 to 0777 are allowed"
        ));
    }
    Ok(mode)
}

/// Formats a mode as four octal digits, the way `permissions` is written: `0644`.
pub(crate) fn format_permissions(mode: u32) -> String {
    format!("{:04o}", mode & 0o777)
}

/// A file as it is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveFile {
    /// Its content.
    pub content: Vec<u8>,
    /// Its permission bits.
    pub mode: u32,
}

impl LiveFile {
    /// The hex SHA-256 of its content.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.content)
    }
}

/// Reads the file at `path`; `None` when nothing is there. A directory (or another
/// non-file) at `path` is an error, not a missing file.
pub(crate) fn read_file(path: &Path) -> Result<Option<LiveFile>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::failed(format!(
                "cannot inspect {}: {e}",
                path.display()
            )));
        }
    };
    if !meta.is_file() {
        return Err(Error::failed(format!(
            "{} exists but is not a regular file",
            path.display()
        )));
    }
    let content = std::fs::read(path)
        .map_err(|e| Error::failed(format!("cannot read {}: {e}", path.display())))?;
    Ok(Some(LiveFile {
        content,
        mode: meta.permissions().mode() & 0o777,
    }))
}

/// Writes `content` to `path` with `mode`, atomically: readers see the old file or the new
/// one, never half of it. With `must_not_exist`, an existing file is an error (so a new
/// resource never silently takes over someone's file). The parent directory must exist.
pub(crate) fn write_file(
    path: &Path,
    content: &[u8],
    mode: u32,
    must_not_exist: bool,
) -> Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("/"));
    let name = path.file_name().ok_or_else(|| {
        Error::InvalidRequest(format!("`path` {} does not name a file", path.display()))
    })?;
    if !parent.is_dir() {
        return Err(Error::failed(format!(
            "cannot write {}: its directory {} does not exist; create it first (for example with a \
             local:index:Directory resource the file depends on)",
            path.display(),
            parent.display()
        )));
    }
    if must_not_exist && std::fs::symlink_metadata(path).is_ok() {
        return Err(Error::failed(format!(
            "{} already exists and this provider did not create it; remove it, or set `overwrite: true` to take it over",
            path.display()
        )));
    }
    clean_stale_temp_files(path);
    let tmp = parent.join(format!(
        "{}{}-{}",
        temp_prefix(name),
        std::process::id(),
        rand::random::<u32>()
    ));
    let written = (|| -> io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(content)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::failed(format!("cannot write {}: {e}", path.display()))
    })
}

/// How old a temporary file of [`write_file`] must be before a later write or removal in the
/// same folder deletes it although the process that made it may still run: a write takes well
/// under a second, so an older one was left by a process killed mid-write, and a younger one
/// may belong to a write under way.
const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// The start of the names of [`write_file`]'s temporary files for `name`; the pid and a random
/// number follow, as `.<name>.tmp-<pid>-<random>`.
fn temp_prefix(name: &OsStr) -> String {
    format!(".{}.tmp-", name.to_string_lossy())
}

/// The pid of the writer, when `name` has the pattern of [`write_file`]'s temporary files
/// (`.<name>.tmp-<pid>-<random>`).
fn temp_file_writer(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (file, tail) = rest.rsplit_once(".tmp-")?;
    let (pid, random) = tail.split_once('-')?;
    random.parse::<u32>().ok()?;
    (!file.is_empty()).then(|| pid.parse::<u32>().ok())?
}

/// Whether a process `pid` exists (signal 0: EPERM means it exists but is not ours).
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; it only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Deletes the temporary files that earlier writes in `path`'s folder left behind (a plugin
/// killed between creating one and renaming it into place): only names of [`write_file`]'s own
/// pattern, only regular files, and only those whose writer is gone (its pid runs no process)
/// or older than [`STALE_TEMP_AGE`]. A write or delete of any file of the folder cleans it, so a
/// `destroy` that deletes the folder's files leaves none. Best effort: a file that cannot be
/// removed is logged and left.
fn clean_stale_temp_files(path: &Path) {
    let Some(parent) = path.parent() else {
        return;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let Some(writer) = entry.file_name().to_str().and_then(temp_file_writer) else {
            continue;
        };
        let stale = entry.metadata().is_ok_and(|m| {
            let old = m
                .modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP_AGE);
            m.is_file() && (old || (writer != me && !process_exists(writer)))
        });
        if stale
            && let Err(e) = std::fs::remove_file(entry.path())
            && e.kind() != io::ErrorKind::NotFound
        {
            // Best effort: the plugin's stderr reaches the engine's log.
            eprintln!(
                "warning: cannot remove the stale temporary file {}: {e}",
                entry.path().display()
            );
        }
    }
}

/// Removes the file at `path` (and stale temporary files of earlier writes in its folder); a
/// file that is already gone is fine.
pub(crate) fn remove_file(path: &Path) -> Result<()> {
    clean_stale_temp_files(path);
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::failed(format!(
            "cannot delete {}: {e}",
            path.display()
        ))),
    }
}

/// The bytes of an asset. Text assets are their text; path assets (and `file://` URIs) are
/// read from disk, relative paths resolved against the program's directory (the provider's
/// working directory), as Pulumi defines for assets. Other URIs are not supported.
pub(crate) fn asset_bytes(property: &str, asset: &Asset) -> Result<Vec<u8>> {
    let path: PathBuf = match &asset.source {
        AssetSource::Text(text) => return Ok(text.clone().into_bytes()),
        AssetSource::Path(path) => PathBuf::from(path),
        AssetSource::Uri(uri) => match uri.strip_prefix("file://") {
            Some(path) => PathBuf::from(path),
            None => {
                return Err(Error::InvalidRequest(format!(
                    "`{property}`: asset URI {uri:?} is not supported; use a file path, a file:// URI or text"
                )));
            }
        },
    };
    std::fs::read(&path).map_err(|e| {
        Error::failed(format!(
            "`{property}`: cannot read asset file {}: {e}",
            path.display()
        ))
    })
}

/// Whether the directory at `path` exists: `Some(true)` when it is empty, `Some(false)` when
/// it holds entries, `None` when there is no directory there.
pub(crate) fn directory_state(path: &Path) -> Result<Option<bool>> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let mut entries = std::fs::read_dir(path)
                .map_err(|e| Error::failed(format!("cannot list {}: {e}", path.display())))?;
            Ok(Some(entries.next().is_none()))
        }
        Ok(_) => Err(Error::failed(format!(
            "{} exists but is not a directory",
            path.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::failed(format!(
            "cannot inspect {}: {e}",
            path.display()
        ))),
    }
}

/// Creates the directory at `path` (its parent must exist), with `mode` when given.
pub(crate) fn create_directory(path: &Path, mode: Option<u32>) -> Result<()> {
    match std::fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::failed(format!(
                "{} already exists and this provider did not create it; remove it or choose another `path`",
                path.display()
            )));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::failed(format!(
                "cannot create {}: its parent directory does not exist; create the parent first (another \
                 local:index:Directory it depends on)",
                path.display()
            )));
        }
        Err(e) => {
            return Err(Error::failed(format!(
                "cannot create {}: {e}",
                path.display()
            )));
        }
    }
    if let Some(mode) = mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            Error::failed(format!(
                "created {} but cannot set its permissions: {e}",
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// Deletes the directory at `path`. A non-empty directory is deleted only with `recursive`;
/// otherwise the error names the path and the option. A directory already gone is fine.
pub(crate) fn remove_directory(path: &Path, recursive: bool) -> Result<()> {
    match directory_state(path)? {
        None => Ok(()),
        Some(true) => std::fs::remove_dir(path)
            .map_err(|e| Error::failed(format!("cannot delete {}: {e}", path.display()))),
        Some(false) if recursive => std::fs::remove_dir_all(path).map_err(|e| {
            Error::failed(format!(
                "cannot delete {} and its contents: {e}",
                path.display()
            ))
        }),
        Some(false) => Err(Error::failed(format!(
            "refusing to delete {}: the directory is not empty. Remove its contents, or set `recursive: true` \
             on the Directory to delete it with everything inside",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_parse_and_format() {
        assert_eq!(parse_permissions("0644"), Ok(0o644));
        assert_eq!(parse_permissions("755"), Ok(0o755));
        assert_eq!(parse_permissions("0o600"), Ok(0o600));
        assert!(parse_permissions("0999").unwrap_err().contains("octal"));
        assert!(parse_permissions("4755").unwrap_err().contains("setuid"));
        assert!(parse_permissions("").is_err());
        assert_eq!(format_permissions(0o100644), "0644");
    }

    #[test]
    fn writes_atomically_with_mode_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_file(&path, b"hello", 0o600, true).unwrap();
        let live = read_file(&path).unwrap().unwrap();
        assert_eq!(live.content, b"hello");
        assert_eq!(live.mode, 0o600);
        assert_eq!(
            live.sha256(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let err = write_file(&path, b"again", 0o600, true).unwrap_err();
        assert!(err.to_string().contains("overwrite"), "{err}");
        write_file(&path, b"again", 0o644, false).unwrap();
        assert_eq!(read_file(&path).unwrap().unwrap().content, b"again");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left"
        );
        remove_file(&path).unwrap();
        remove_file(&path).unwrap();
        assert_eq!(read_file(&path).unwrap(), None);
    }

    #[test]
    fn stale_temp_files_of_the_folder_are_removed_by_the_next_write_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str, age: Duration| {
            let path = dir.path().join(name);
            let file = std::fs::File::create(&path).unwrap();
            file.set_modified(std::time::SystemTime::now() - age)
                .unwrap();
            path
        };
        let old = Duration::from_secs(120);
        // A pid above any pid_max: no process has it, as for a plugin killed mid-write.
        let dead = 999_999_999u32;
        let me = std::process::id();
        let stale = make(".a.txt.tmp-4242-17", old);
        let fresh_dead = make(&format!(".a.txt.tmp-{dead}-18"), Duration::ZERO);
        let other_file_dead = make(&format!(".b.txt.tmp-{dead}-19"), Duration::ZERO);
        let fresh_alive = make(&format!(".a.txt.tmp-{me}-22"), Duration::ZERO);
        let not_ours = make(".a.txt.tmp-notes", old);
        let user_file = make("a.txt.tmp-4242-20", old);
        assert_eq!(temp_file_writer(".a.txt.tmp-4242-17"), Some(4242));
        assert_eq!(temp_file_writer(".tmp-4242-17"), None);

        write_file(&dir.path().join("a.txt"), b"x", 0o644, false).unwrap();
        for gone in [&stale, &fresh_dead, &other_file_dead] {
            assert!(!gone.exists(), "{} is removed", gone.display());
        }
        assert!(
            fresh_alive.exists(),
            "a recent one of a live writer may be a write under way"
        );
        for kept in [&not_ours, &user_file] {
            assert!(
                kept.exists(),
                "{} is not a temp file of this provider",
                kept.display()
            );
        }

        let stale = make(&format!(".c.txt.tmp-{dead}-21"), Duration::ZERO);
        remove_file(&dir.path().join("a.txt")).unwrap();
        assert!(
            !stale.exists(),
            "deleting a file of the folder removes a dead writer's temp files too"
        );
        assert!(fresh_alive.exists());
    }

    #[test]
    fn writing_into_a_missing_directory_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_file(&dir.path().join("no/such/a.txt"), b"x", 0o644, true).unwrap_err();
        assert!(err.to_string().contains("Directory"), "{err}");
        assert!(read_file(dir.path()).is_err(), "a directory is not a file");
    }

    #[test]
    fn assets_from_text_and_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("src.txt");
        std::fs::write(&path, "from disk").unwrap();
        let text = Asset {
            hash: None,
            source: AssetSource::Text("inline".into()),
        };
        assert_eq!(asset_bytes("source", &text).unwrap(), b"inline");
        let file = Asset {
            hash: None,
            source: AssetSource::Path(path.display().to_string()),
        };
        assert_eq!(asset_bytes("source", &file).unwrap(), b"from disk");
        let uri = Asset {
            hash: None,
            source: AssetSource::Uri(format!("file://{}", path.display())),
        };
        assert_eq!(asset_bytes("source", &uri).unwrap(), b"from disk");
        let http = Asset {
            hash: None,
            source: AssetSource::Uri("https://example.com/x".into()),
        };
        assert!(
            asset_bytes("source", &http)
                .unwrap_err()
                .to_string()
                .contains("`source`")
        );
    }

    #[test]
    fn a_non_empty_directory_is_kept_unless_recursive() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        create_directory(&d, Some(0o750)).unwrap();
        assert_eq!(directory_state(&d).unwrap(), Some(true));
        assert!(
            create_directory(&d, None)
                .unwrap_err()
                .to_string()
                .contains("already exists")
        );
        std::fs::write(d.join("inside"), "x").unwrap();
        let err = remove_directory(&d, false).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&d.display().to_string()) && msg.contains("recursive"),
            "{msg}"
        );
        assert!(d.join("inside").exists());
        remove_directory(&d, true).unwrap();
        assert_eq!(directory_state(&d).unwrap(), None);
        remove_directory(&d, false).unwrap();
        assert!(
            create_directory(&dir.path().join("x/y"), None)
                .unwrap_err()
                .to_string()
                .contains("parent")
        );
    }
}
