//! The checkpoint's temp files: named after the stack and the writing process, and removed
//! by a later load when a run died mid-write and left one behind.

use super::StateFiles;
use std::path::Path;

/// A checkpoint temp file at least this old belongs to a run that died mid-write (a write takes
/// well under a second) and is removed by the next load.
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(60);

impl StateFiles {
    /// The name prefix of this stack's checkpoint temp files: `.<stack>.json.tmp-` (then a pid).
    pub(super) fn temp_prefix(&self) -> String {
        format!(
            ".{}.tmp-",
            self.checkpoint
                .file_name()
                .and_then(|s| s.to_str())
                .unwrap_or("state")
        )
    }

    /// Removes this stack's checkpoint temp files left by a run that died mid-write. Only names
    /// of the exact pattern, and only those older than [`STALE_TEMP_AGE`]: a younger one may be
    /// another run's write under way. Best effort: a file that cannot be removed is left.
    pub(super) fn remove_stale_temp_files(&self) {
        let dir = self.checkpoint.parent().unwrap_or(Path::new("."));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let prefix = self.temp_prefix();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= STALE_TEMP_AGE);
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
