//! The stack lock: one command at a time reads or writes a stack.
//!
//! The layout follows Pulumi's self-managed ("diy", formerly "filestate") backend, which keeps
//! `.pulumi/locks/<stack>/<lock-id>.json` with the holder's `pid`, `username`, `hostname` and
//! `timestamp`: here it is `<state folder>/locks/<stack>/<lock-id>.json` (the state folder is
//! already per project), with the same four fields plus the command (`operation`) and the
//! holder's process start time (`processStart`, Linux), so that a recycled pid is not taken for
//! the holder. Taking the lock is Pulumi's protocol: look for other lock files, write ours
//! (temp file and rename, so a reader never sees half of one), look again, and if another
//! appeared meanwhile remove ours and give way. Two commands racing may both give way; neither
//! ever proceeds beside the other.
//!
//! Unlike Pulumi, a lock whose holder is gone is recognised and removed: held on this host by a
//! process that no longer exists (or a pid now used by another process). A lock held on another
//! host cannot be checked; `engine-harness cancel --force` removes it, as `pulumi cancel` removes
//! the lock files of a diy stack.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The commands that hold the lock only for a moment: one that finds the stack locked by one of
/// these waits for it (up to the patience it was given) instead of giving up at once.
const BRIEF: [&str; 4] = ["config set", "config rm", "stack export", "stack import"];

/// Who holds a lock: the content of a lock file (Pulumi's four fields and two of ours).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    /// The holder's process id.
    pub pid: i32,
    /// The user it runs as.
    #[serde(default)]
    pub username: String,
    /// The host it runs on.
    #[serde(default)]
    pub hostname: String,
    /// When it took the lock (RFC 3339).
    #[serde(default)]
    pub timestamp: String,
    /// The command: `up`, `destroy`, `config set`, ...
    #[serde(default)]
    pub operation: String,
    /// The process's start time in clock ticks since boot (Linux `/proc/<pid>/stat`), to tell
    /// the holder from a later process given the same pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
}

impl Holder {
    /// This process, about to run `operation`.
    fn current(operation: &str) -> Holder {
        let pid = std::process::id() as i32;
        Holder {
            pid,
            username: username(),
            hostname: hostname(),
            timestamp: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            operation: operation.to_string(),
            process_start: process_start(pid),
        }
    }

    /// `engine-harness up` by root@host (pid 42) since 2026-…
    pub fn describe(&self) -> String {
        let what = if self.operation.is_empty() {
            "a command".to_string()
        } else {
            format!("`engine-harness {}`", self.operation)
        };
        format!(
            "{what} by {}@{} (pid {}) since {}",
            self.username, self.hostname, self.pid, self.timestamp
        )
    }

    /// Whether the process holding the lock still exists, as far as this host can tell.
    pub fn liveness(&self) -> Liveness {
        if self.hostname != hostname() {
            return Liveness::Elsewhere;
        }
        if !pid_alive(self.pid) {
            return Liveness::Gone;
        }
        match (self.process_start, process_start(self.pid)) {
            (Some(recorded), Some(now)) if recorded != now => Liveness::Gone,
            (Some(_), None) if cfg!(target_os = "linux") => Liveness::Gone,
            _ => Liveness::Running,
        }
    }
}

/// Whether a lock's holder runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// The holder runs on this host.
    Running,
    /// The holder was on this host and is gone: the lock is stale.
    Gone,
    /// The holder is on another host: it cannot be checked from here.
    Elsewhere,
}

/// A lock file of a stack as found on disk.
#[derive(Debug, Clone)]
pub struct Found {
    /// The lock file.
    pub path: PathBuf,
    /// Its holder; `None` when the file cannot be read or parsed.
    pub holder: Option<Holder>,
}

impl Found {
    /// One line naming the holder and the file.
    pub fn describe(&self) -> String {
        match &self.holder {
            Some(h) => format!("{} (lock file {})", h.describe(), self.path.display()),
            None => format!(
                "an unreadable lock file, {}: remove it once no command is using the stack",
                self.path.display()
            ),
        }
    }

    fn is_brief(&self) -> bool {
        self.holder
            .as_ref()
            .is_some_and(|h| BRIEF.contains(&h.operation.as_str()))
    }
}

/// Lock files held by this process, removed by [`release_all`] on a hard exit.
static HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The lock of one stack, held until dropped (the lock file is then removed).
#[derive(Debug)]
pub struct StackLock {
    path: PathBuf,
    broken: Vec<String>,
}

impl StackLock {
    /// Takes the lock of `stack` in `state_dir` for `operation` (`up`, `config set`, ...).
    ///
    /// The state folder is checked first: one that exists but cannot be read is an error
    /// ([`Error::State`], exit 5) and nothing is written. A lock held by a live command is
    /// [`Error::Locked`], naming the holder; while every holder is a brief command (`config
    /// set`, `stack export`, ...) this waits up to `patience` for it instead. Locks of holders
    /// that are gone are removed (see [`StackLock::broken`]).
    pub fn acquire(
        state_dir: &Path,
        stack: &str,
        operation: &str,
        patience: Duration,
    ) -> Result<StackLock, Error> {
        let dir = prepare(state_dir, stack)?;
        let me = Holder::current(operation);
        let mine = dir.join(format!("{}.json", uuid::Uuid::new_v4()));
        let deadline = Instant::now() + patience;
        let mut broken = Vec::new();
        loop {
            let mut others = scan(&dir, &mine, &mut broken)?;
            if others.is_empty() {
                write_lock_file(&mine, &me)?;
                others = scan(&dir, &mine, &mut broken)?;
                if others.is_empty() {
                    if let Ok(mut held) = HELD.lock() {
                        held.push(mine.clone());
                    }
                    return Ok(StackLock { path: mine, broken });
                }
                // Another command wrote its lock at the same moment: give way.
                let _ = std::fs::remove_file(&mine);
            }
            if Instant::now() >= deadline || !others.iter().all(Found::is_brief) {
                return Err(locked_error(stack, &others));
            }
            let jitter = u64::from(rand::random::<u8>() % 100);
            std::thread::sleep(Duration::from_millis(30 + jitter));
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stale locks removed while taking this one, each as a sentence for a warning.
    pub fn broken(&self) -> &[String] {
        &self.broken
    }
}

impl Drop for StackLock {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(
                "cannot remove the stack lock {}: {e}; remove it by hand",
                self.path.display()
            );
        }
        if let Ok(mut held) = HELD.lock() {
            held.retain(|p| *p != self.path);
        }
    }
}

/// Removes every lock file this process holds: for a hard exit (a second Ctrl-C) that skips
/// the destructors.
pub fn release_all() {
    let held = HELD
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    for path in held {
        let _ = std::fs::remove_file(path);
    }
}

/// The lock files of `stack` in `state_dir` (none when there is no lock folder).
pub fn held(state_dir: &Path, stack: &str) -> Result<Vec<Found>, Error> {
    let dir = lock_dir(state_dir, stack);
    match std::fs::metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::state(&dir, format!("cannot read: {e}"))),
        Ok(_) => {}
    }
    list(&dir)
}

/// `<state_dir>/locks/<stack>`.
pub fn lock_dir(state_dir: &Path, stack: &str) -> PathBuf {
    state_dir.join("locks").join(stack)
}

/// Checks the state folder (absent, or a folder this process can read) and makes the lock
/// folder. Nothing is created or changed when the state folder exists but cannot be read.
fn prepare(state_dir: &Path, stack: &str) -> Result<PathBuf, Error> {
    super::check_state_dir(state_dir)?;
    let dir = lock_dir(state_dir, stack);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Error::state(&dir, format!("cannot create the lock folder: {e}")))?;
    Ok(dir)
}

/// The lock files in `dir` (names `*.json`; temp files start with a dot).
fn list(dir: &Path) -> Result<Vec<Found>, Error> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::state(dir, format!("cannot read: {e}")))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::state(dir, format!("cannot read: {e}")))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        let path = entry.path();
        let holder = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Holder>(&bytes).ok(),
            // Released between the listing and the read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => None,
        };
        found.push(Found { path, holder });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// The locks in `dir` other than `mine`, after removing those whose holder is gone (each
/// removal described in `broken`).
fn scan(dir: &Path, mine: &Path, broken: &mut Vec<String>) -> Result<Vec<Found>, Error> {
    let mut others = Vec::new();
    for f in list(dir)? {
        if f.path == mine {
            continue;
        }
        if let Some(h) = &f.holder
            && h.liveness() == Liveness::Gone
        {
            match std::fs::remove_file(&f.path) {
                Ok(()) => broken.push(format!(
                    "removed the stale lock of {}: that process is gone (it was killed or crashed before releasing the lock)",
                    h.describe()
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::state(
                        &f.path,
                        format!("cannot remove this stale lock ({}): {e}", h.describe()),
                    ));
                }
            }
            continue;
        }
        others.push(f);
    }
    Ok(others)
}

fn locked_error(stack: &str, others: &[Found]) -> Error {
    let mut msg = format!("stack `{stack}` is locked by another command:");
    for f in others {
        msg.push_str(&format!("\n  - {}", f.describe()));
    }
    msg.push_str(&format!(
        "\nWait for it to end, or stop it with `engine-harness cancel --stack {stack}` (it stops as on Ctrl-C and saves its state). \
A lock whose process is gone from this host is removed by the next command; one held on another host is removed by `engine-harness cancel --stack {stack} --force` once you are sure that command has ended."
    ));
    Error::Locked(msg)
}

/// Writes a lock file whole: a temp file (owner-only), then a rename.
fn write_lock_file(path: &Path, holder: &Holder) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("lock");
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |e: std::io::Error| Error::state(path, format!("cannot write the stack lock: {e}"));
    let bytes = serde_json::to_vec(holder).map_err(|e| Error::state(path, e.to_string()))?;
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// The host name (`gethostname`).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The name of the user this process runs as (from the password database, else `uid N`).
fn username() -> String {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; getpwuid_r fills `pwd` with pointers into
    // `buf`, which outlives their use below.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: pw_name points to a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return name.to_string_lossy().into_owned();
    }
    format!("uid {uid}")
}

/// Whether a process `pid` exists and is not a zombie (signal 0; EPERM means it exists).
pub fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for the process.
    let rc = unsafe { libc::kill(pid, 0) };
    let exists = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && !is_zombie(pid)
}

/// `/proc/<pid>/stat` after the command name: state, then fields 4 onwards.
fn proc_stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn is_zombie(pid: i32) -> bool {
    proc_stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s == "Z" || s == "X"))
}

/// The start time of process `pid` in clock ticks since boot (field 22 of `/proc/<pid>/stat`),
/// where there is a `/proc`.
pub fn process_start(pid: i32) -> Option<u64> {
    // Fields after the name start at field 3 (state): field 22 is index 19.
    proc_stat_fields(pid)?.get(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{Holder, Liveness, StackLock, held, hostname, process_start};
    use crate::Error;
    use std::time::Duration;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".pulumi-harness");
        let first = StackLock::acquire(&state, "dev", "up", Duration::ZERO).unwrap();
        let text = std::fs::read_to_string(first.path()).unwrap();
        let h: Holder = serde_json::from_str(&text).unwrap();
        assert_eq!(h.pid, std::process::id() as i32);
        assert_eq!(h.operation, "up");
        assert_eq!(h.hostname, hostname());
        let e = StackLock::acquire(&state, "dev", "destroy", Duration::ZERO).unwrap_err();
        assert!(matches!(e, Error::Locked(_)), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("`engine-harness up`"), "{msg}");
        assert!(msg.contains(&format!("pid {}", h.pid)), "{msg}");
        assert!(msg.contains("engine-harness cancel --stack dev"), "{msg}");
        // Another stack is not locked.
        drop(StackLock::acquire(&state, "prod", "up", Duration::ZERO).unwrap());
        drop(first);
        assert!(held(&state, "dev").unwrap().is_empty());
        drop(StackLock::acquire(&state, "dev", "destroy", Duration::ZERO).unwrap());
    }

    #[test]
    fn a_lock_of_a_process_that_is_gone_is_removed_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().to_path_buf();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        let locks = super::lock_dir(&state, "dev");
        std::fs::create_dir_all(&locks).unwrap();
        let dead = Holder {
            pid,
            username: "someone".into(),
            hostname: hostname(),
            timestamp: "2026-01-01T00:00:00Z".into(),
            operation: "up".into(),
            process_start: Some(1),
        };
        assert_eq!(dead.liveness(), Liveness::Gone);
        std::fs::write(locks.join("old.json"), serde_json::to_vec(&dead).unwrap()).unwrap();
        let lock = StackLock::acquire(&state, "dev", "up", Duration::ZERO).unwrap();
        assert_eq!(lock.broken().len(), 1, "{:?}", lock.broken());
        assert!(lock.broken()[0].contains(&format!("pid {pid}")));
        assert!(!locks.join("old.json").exists());
    }

    #[test]
    fn a_recycled_pid_or_another_host_is_told_apart() {
        let me = std::process::id() as i32;
        let mut h = Holder::current("up");
        assert_eq!(h.liveness(), Liveness::Running);
        if process_start(me).is_some() {
            h.process_start = Some(h.process_start.unwrap() + 1);
            assert_eq!(h.liveness(), Liveness::Gone);
        }
        h.hostname = format!("{}-elsewhere", hostname());
        assert_eq!(h.liveness(), Liveness::Elsewhere);
    }
}
