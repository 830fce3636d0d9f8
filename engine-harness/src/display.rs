//! What the user sees: one line per step, provider logs tied to their resource, a summary; or,
//! with `--json`, one JSON event per line on stdout (secrets always masked).

use serde::Serialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// One line of a detailed diff.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffLine {
    /// The property path.
    pub path: String,
    /// `add`, `delete` or `update`.
    pub kind: String,
    /// Whether this change forces a replacement.
    pub replace: bool,
    /// The old value (masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Json>,
    /// The new value (masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Json>,
}

/// An event of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Event {
    /// The run started.
    #[serde(rename_all = "camelCase")]
    Start {
        /// `preview`, `up`, `refresh` or `destroy`.
        operation: String,
        /// Project name.
        project: String,
        /// Stack name.
        stack: String,
    },
    /// A plugin is ready.
    #[serde(rename_all = "camelCase")]
    Plugin {
        /// The package.
        package: String,
        /// The version it reported.
        version: String,
        /// The binary.
        path: String,
    },
    /// A step started (JSON stream only).
    #[serde(rename_all = "camelCase")]
    StepStart {
        /// `create`, `update`, `replace`, `delete`, `refresh`, ...
        op: String,
        /// The resource URN.
        urn: String,
    },
    /// A step finished.
    #[serde(rename_all = "camelCase")]
    Step {
        /// `same`, `create`, `update`, `replace`, `delete`, `refresh`, `read-delete`.
        op: String,
        /// The resource URN.
        urn: String,
        /// The logical name.
        name: String,
        /// The type token.
        #[serde(rename = "type")]
        type_token: String,
        /// `ok`, `failed`, `partial` (created but failed to initialize) or `planned` (preview).
        status: String,
        /// Seconds the step took.
        seconds: f64,
        /// Detailed diff.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        diff: Vec<DiffLine>,
        /// Why it failed, or other detail.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A log message, from a provider (with its resource) or from the engine.
    #[serde(rename_all = "camelCase")]
    Log {
        /// `debug`, `info`, `warning` or `error`.
        severity: String,
        /// The resource it is about.
        #[serde(skip_serializing_if = "Option::is_none")]
        urn: Option<String>,
        /// The message.
        message: String,
    },
    /// Progress while steps run.
    #[serde(rename_all = "camelCase")]
    Progress {
        /// Steps done.
        done: usize,
        /// Steps running.
        running: usize,
    },
    /// Stack outputs (masked).
    #[serde(rename_all = "camelCase")]
    Outputs {
        /// The outputs.
        outputs: BTreeMap<String, Json>,
    },
    /// The run ended.
    #[serde(rename_all = "camelCase")]
    Summary {
        /// Step counts by kind (`create`, `same`, ...).
        counts: BTreeMap<String, usize>,
        /// Steps that failed.
        failed: usize,
        /// Wall-clock seconds.
        seconds: f64,
        /// Bytes of state written (journal and checkpoint).
        state_bytes_written: u64,
    },
}

struct Inner {
    json: bool,
    out: Box<dyn Write + Send>,
}

/// Where events go. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct Display {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Display {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Display").finish_non_exhaustive()
    }
}

fn symbol(op: &str) -> &'static str {
    match op {
        "create" => "+",
        "update" => "~",
        "replace" => "+-",
        "delete" | "delete-replaced" => "-",
        "refresh" => "~",
        "read-delete" => "-",
        _ => " ",
    }
}

fn short_name(urn: &str) -> &str {
    urn.rsplit("::").next().unwrap_or(urn)
}

impl Display {
    /// Writes to stdout: human lines, or JSON events when `json`.
    pub fn stdout(json: bool) -> Self {
        Self::to_writer(json, Box::new(std::io::stdout()))
    }

    /// Writes to any writer.
    pub fn to_writer(json: bool, out: Box<dyn Write + Send>) -> Self {
        Display {
            inner: Arc::new(Mutex::new(Inner { json, out })),
        }
    }

    /// Whether this display emits JSON.
    pub fn is_json(&self) -> bool {
        self.inner.lock().map(|i| i.json).unwrap_or(false)
    }

    /// Emits an event.
    pub fn emit(&self, ev: Event) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let text = if inner.json {
            serde_json::to_string(&ev).ok()
        } else {
            human(&ev)
        };
        if let Some(text) = text {
            let _ = writeln!(inner.out, "{text}");
            let _ = inner.out.flush();
        }
    }

    /// Emits an engine diagnostic.
    pub fn log(&self, severity: &str, message: impl Into<String>) {
        self.emit(Event::Log {
            severity: severity.into(),
            urn: None,
            message: message.into(),
        });
    }
}

fn human(ev: &Event) -> Option<String> {
    Some(match ev {
        Event::Start {
            operation,
            project,
            stack,
        } => format!("{operation} {project}/{stack}"),
        Event::Plugin {
            package,
            version,
            path,
        } => format!("  plugin {package} {version} ({path})"),
        Event::StepStart { .. } => return None,
        Event::Step {
            op,
            name,
            type_token,
            status,
            seconds,
            diff,
            message,
            ..
        } => {
            let mut s = format!(
                "  {:<2} {:<8} {:<28} {:<24} {:<7} {:.2}s",
                symbol(op),
                op,
                type_token,
                name,
                status,
                seconds
            );
            for d in diff {
                let arrow = match (&d.old, &d.new) {
                    (Some(o), Some(n)) => {
                        format!("{} => {}", crate::value::render(o), crate::value::render(n))
                    }
                    (None, Some(n)) => crate::value::render(n),
                    (Some(o), None) => crate::value::render(o),
                    (None, None) => String::new(),
                };
                let mark = match d.kind.as_str() {
                    "add" => "+",
                    "delete" | "delete-replaced" => "-",
                    _ => "~",
                };
                s.push_str(&format!(
                    "\n        {mark} {}: {arrow}{}",
                    d.path,
                    if d.replace {
                        "  (forces replacement)"
                    } else {
                        ""
                    }
                ));
            }
            if let Some(m) = message {
                s.push_str(&format!("\n        {m}"));
            }
            s
        }
        Event::Log {
            severity,
            urn,
            message,
        } => match urn {
            Some(u) if !u.is_empty() => {
                format!("        [{}] {severity}: {message}", short_name(u))
            }
            _ => format!("{severity}: {message}"),
        },
        Event::Progress { done, running } => format!("  ... {done} steps done, {running} running"),
        Event::Outputs { outputs } => {
            if outputs.is_empty() {
                return None;
            }
            let mut s = "Outputs:".to_string();
            for (k, v) in outputs {
                s.push_str(&format!("\n  {k}: {}", crate::value::render(v)));
            }
            s
        }
        Event::Summary {
            counts,
            failed,
            seconds,
            state_bytes_written,
        } => {
            let parts: Vec<String> = counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            format!(
                "Resources: {}{}. Duration {:.2}s, {} bytes of state written.",
                if parts.is_empty() {
                    "no changes".to_string()
                } else {
                    parts.join(", ")
                },
                if *failed > 0 {
                    format!("; {failed} failed")
                } else {
                    String::new()
                },
                seconds,
                state_bytes_written
            )
        }
    })
}
