//! `stack output`, `stack ls`, `stack init`, `stack select` and `stack rm`, as `pulumi stack`
//! spells and does them; and the stack's update history they read.

use crate::stack_cmds::Location;
use crate::workspace;
use engine_harness::Error;
use engine_harness::deploy::default_state_dir;
use engine_harness::state::Snapshot;
use engine_harness::value;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const STACK_TYPE: &str = "pulumi:pulumi:Stack";

fn state_dir(loc: &Location) -> PathBuf {
    loc.state_dir
        .clone()
        .unwrap_or_else(|| default_state_dir(&loc.cwd))
}

fn history_file(dir: &Path, stack: &str) -> PathBuf {
    dir.join(format!("{stack}.history.jsonl"))
}

/// Does the stack exist (has a checkpoint or a journal)?
fn exists(loc: &Location) -> Result<bool, Error> {
    let files = loc.state_files()?;
    Ok(files.checkpoint.exists() || files.journal.exists())
}

fn no_stack(loc: &Location) -> Error {
    Error::Usage(format!(
        "stack `{}` does not exist in {}; `engine-harness stack ls` lists the stacks, `stack init {}` creates it",
        loc.stack,
        state_dir(loc).display(),
        loc.stack
    ))
}

/// `stack output [NAME] [--json] [--show-secrets]`.
pub fn output(
    loc: &Location,
    name: Option<&str>,
    json: bool,
    show_secrets: bool,
) -> Result<(), Error> {
    if !exists(loc)? {
        return Err(no_stack(loc));
    }
    let (snap, _) = loc.state_files()?.load()?;
    let outputs: BTreeMap<String, Json> = snap
        .resources()
        .into_iter()
        .find(|r| r.type_token == STACK_TYPE)
        .map(|r| r.outputs.into_iter().collect())
        .unwrap_or_default();
    let shown = |v: &Json| {
        if show_secrets {
            value::unwrap_secrets(v).0
        } else {
            value::masked(v)
        }
    };
    let mut out = String::new();
    match name {
        Some(n) => {
            let v = outputs.get(n).ok_or_else(|| {
                Error::Usage(format!(
                    "current stack `{}` has no output named `{n}`; it has: {}",
                    loc.stack,
                    if outputs.is_empty() {
                        "none".to_string()
                    } else {
                        outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                ))
            })?;
            let v = shown(v);
            match (&v, json) {
                (Json::String(s), false) => out.push_str(s),
                _ if json => out.push_str(&pretty(&v)),
                _ => out.push_str(&v.to_string()),
            }
            out.push('\n');
        }
        None if json => {
            let all: serde_json::Map<String, Json> =
                outputs.iter().map(|(k, v)| (k.clone(), shown(v))).collect();
            out.push_str(&pretty(&Json::Object(all)));
            out.push('\n');
        }
        None => {
            out.push_str(&format!("Current stack outputs ({}):\n", outputs.len()));
            if outputs.is_empty() {
                out.push_str("    No output values currently in this stack\n");
            } else {
                let width = outputs.keys().map(String::len).max().unwrap_or(0).max(6);
                out.push_str(&format!("    {:width$}  VALUE\n", "OUTPUT"));
                for (k, v) in &outputs {
                    let v = shown(v);
                    let text = match &v {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    out.push_str(&format!("    {k:width$}  {text}\n"));
                }
            }
        }
    }
    print!("{out}");
    Ok(())
}

fn pretty(v: &Json) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// One line of a stack's history: an `up`, `refresh` or `destroy` that ran.
pub fn record_update(
    dir: &Path,
    stack: &str,
    kind: &str,
    message: Option<&str>,
    result: &str,
) -> Result<(), Error> {
    let path = history_file(dir, stack);
    let line = serde_json::json!({
        "kind": kind,
        "message": message.unwrap_or_default(),
        "result": result,
        "endTime": SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    });
    let io = |e: std::io::Error| Error::Io {
        context: format!("cannot write {}", path.display()),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    writeln!(f, "{line}").map_err(io)
}

/// The end time and message of the stack's last update, if it had one.
fn last_update(dir: &Path, stack: &str) -> Option<(u64, String)> {
    let text = std::fs::read_to_string(history_file(dir, stack)).ok()?;
    let last: Json = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())?;
    Some((
        last["endTime"].as_u64()?,
        last["message"].as_str().unwrap_or_default().to_string(),
    ))
}

fn ago(secs: u64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let d = now.saturating_sub(secs);
    let (n, unit) = match d {
        0..60 => return "just now".into(),
        60..3600 => (d / 60, "minute"),
        3600..86400 => (d / 3600, "hour"),
        _ => (d / 86400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// The number of resources in a checkpoint, read without decrypting anything.
fn resource_count(checkpoint: &Path) -> Result<usize, Error> {
    let text = std::fs::read_to_string(checkpoint).map_err(|e| Error::Io {
        context: format!("cannot read {}", checkpoint.display()),
        source: e,
    })?;
    let doc: Json = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("{} is not valid JSON: {e}", checkpoint.display())))?;
    Ok(doc["deployment"]["resources"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0))
}

/// `stack ls`: every stack of the state folder, the current one marked `*`.
pub fn ls(cwd: &Path, state_dir_flag: Option<&Path>) -> Result<(), Error> {
    let dir = state_dir_flag
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_state_dir(cwd));
    let current = workspace::selected(cwd, state_dir_flag)?;
    let mut stacks: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let stem = name
                    .strip_suffix(".json")
                    .or_else(|| name.strip_suffix(".journal"))?;
                (stem != "workspace" && engine_harness::program::validate_stack_name(stem).is_ok())
                    .then(|| stem.to_string())
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(Error::Io {
                context: format!("cannot list {}", dir.display()),
                source: e,
            });
        }
    };
    stacks.sort();
    stacks.dedup();
    let mut rows = vec![(
        "NAME".to_string(),
        "LAST UPDATE".to_string(),
        "RESOURCE COUNT".to_string(),
    )];
    for s in &stacks {
        let checkpoint = dir.join(format!("{s}.json"));
        let count = if checkpoint.is_file() {
            resource_count(&checkpoint)?.to_string()
        } else {
            "n/a".to_string()
        };
        let updated = last_update(&dir, s)
            .map(|(t, _)| ago(t))
            .unwrap_or_else(|| "n/a".into());
        let mark = if current.as_deref() == Some(s.as_str()) {
            "*"
        } else {
            ""
        };
        rows.push((format!("{s}{mark}"), updated, count));
    }
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (a, b, c) in rows {
        out.push_str(&format!("{a:w0$}  {b:w1$}  {c}\n"));
    }
    print!("{out}");
    Ok(())
}

/// `stack init NAME`: creates an empty stack and selects it.
pub fn init(loc: &Location) -> Result<(), Error> {
    if exists(loc)? {
        return Err(Error::Usage(format!(
            "stack `{}` already exists; `engine-harness stack select {}` makes it current",
            loc.stack, loc.stack
        )));
    }
    let lock = loc.lock("stack init")?;
    loc.state_files()?.write_checkpoint(&Snapshot::default())?;
    drop(lock);
    workspace::select(&loc.cwd, loc.state_dir.as_deref(), &loc.stack)?;
    eprintln!("Created stack '{}'", loc.stack);
    Ok(())
}

/// `stack select NAME [--create]`.
pub fn select(loc: &Location, create: bool) -> Result<(), Error> {
    if !exists(loc)? {
        if !create {
            return Err(Error::Usage(format!(
                "no stack named `{}` found; `engine-harness stack select --create {}` (or `stack init {}`) creates it",
                loc.stack, loc.stack, loc.stack
            )));
        }
        loc.state_files()?.write_checkpoint(&Snapshot::default())?;
    }
    workspace::select(&loc.cwd, loc.state_dir.as_deref(), &loc.stack)
}

/// `stack rm [NAME] [--force] [--preserve-config]`: refuses a stack that still has resources
/// unless forced (the real resources are then left alone, unknown to any state).
pub fn rm(loc: &Location, force: bool, preserve_config: bool) -> Result<(), Error> {
    if !exists(loc)? {
        return Err(no_stack(loc));
    }
    let lock = loc.lock("stack rm")?;
    let files = loc.state_files()?;
    let count = if files.checkpoint.is_file() {
        resource_count(&files.checkpoint)?
    } else {
        0
    };
    let journal_left = files.journal.exists();
    if (count > 0 || journal_left) && !force {
        return Err(Error::Usage(format!(
            "stack `{}` still has resources ({count} in its state{}); removal rejected. Run `engine-harness destroy --stack {} --yes` to delete them first, or `stack rm --force` to drop the state and leave the resources where they are",
            loc.stack,
            if journal_left {
                ", and a journal of an interrupted run"
            } else {
                ""
            },
            loc.stack
        )));
    }
    let dir = state_dir(loc);
    let mut remove = vec![
        files.checkpoint.clone(),
        files.journal.clone(),
        history_file(&dir, &loc.stack),
    ];
    if !preserve_config {
        remove.push(loc.cwd.join(format!("Pulumi.{}.yaml", loc.stack)));
    }
    for f in remove {
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::Io {
                    context: format!("cannot remove {}", f.display()),
                    source: e,
                });
            }
        }
    }
    drop(lock);
    workspace::forget(&loc.cwd, loc.state_dir.as_deref(), &loc.stack)?;
    eprintln!("Stack '{}' has been removed!", loc.stack);
    Ok(())
}
