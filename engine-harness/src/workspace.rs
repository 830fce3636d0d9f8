//! The current stack of a project, as `pulumi stack select` remembers it: the `--stack`
//! default. Kept in `<state dir>/workspace.json` (`{"stack": NAME}`); without one, `dev`.

use engine_harness::Error;
use engine_harness::deploy::default_state_dir;
use std::path::{Path, PathBuf};

/// The stack used when `--stack` is not given and none was selected.
pub const DEFAULT_STACK: &str = "dev";

fn file(cwd: &Path, state_dir: Option<&Path>) -> PathBuf {
    state_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_state_dir(cwd))
        .join("workspace.json")
}

/// The selected stack, if one was selected.
pub fn selected(cwd: &Path, state_dir: Option<&Path>) -> Result<Option<String>, Error> {
    let path = file(cwd, state_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Io {
                context: format!(
                    "cannot read the state folder's selected stack {}; nothing was read or written. Give the user running engine-harness access to the folder, or pass --stack",
                    path.display()
                ),
                source: e,
            });
        }
    };
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{} is not valid JSON ({e}); run `engine-harness stack select NAME` to rewrite it",
            path.display()
        ))
    })?;
    Ok(doc["stack"].as_str().map(str::to_string))
}

/// `--stack` if given, else the selected stack, else [`DEFAULT_STACK`].
pub fn resolve(
    cwd: &Path,
    state_dir: Option<&Path>,
    given: Option<String>,
) -> Result<String, Error> {
    match given {
        Some(s) => Ok(s),
        None => Ok(selected(cwd, state_dir)?.unwrap_or_else(|| DEFAULT_STACK.to_string())),
    }
}

/// Remembers `stack` as the project's current stack.
pub fn select(cwd: &Path, state_dir: Option<&Path>, stack: &str) -> Result<(), Error> {
    let path = file(cwd, state_dir);
    let io = |e: std::io::Error| Error::Io {
        context: format!("cannot write {}", path.display()),
        source: e,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::json!({ "stack": stack }).to_string();
    std::fs::write(&path, text + "\n").map_err(io)
}

/// Forgets the current stack if it is `stack` (after `stack rm`).
pub fn forget(cwd: &Path, state_dir: Option<&Path>, stack: &str) -> Result<(), Error> {
    if selected(cwd, state_dir)?.as_deref() == Some(stack) {
        let path = file(cwd, state_dir);
        std::fs::remove_file(&path).map_err(|e| Error::Io {
            context: format!("cannot remove {}", path.display()),
            source: e,
        })?;
    }
    Ok(())
}
