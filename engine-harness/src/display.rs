//! What the user sees: one line per step, provider logs tied to their resource, a summary; or,
//! with `--json`, one JSON event per line on stdout (secrets always masked).
//!
//! A provider's log lines reach the engine on a connection of their own, so one sent while a
//! step ran can arrive just after the step's result. In human output a step's result line is
//! therefore held back for [`SETTLE`]: the provider's log lines about that resource that arrive
//! meanwhile print before it, as they happened. Everything else keeps the order of events.

use crate::diff_view::StepInputs;
use crate::redact::Redactor;
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long a step's result line waits for late log lines of its resource.
pub const SETTLE: Duration = Duration::from_millis(300);

/// The width of the operation column: the longest operation, `delete-replaced`.
const OP_WIDTH: usize = "delete-replaced".len();

/// `message` of a failed `operation`, said once: providers often start their messages with the
/// operation already (`Create: key ... already exists`), and saying it twice reads as a stutter.
pub fn failure_message(operation: &str, message: &str) -> String {
    match message.strip_prefix(operation) {
        Some(rest) if rest.starts_with(": ") => message.to_string(),
        _ => format!("{operation}: {message}"),
    }
}

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
        /// The step's old and new inputs, for the full diff of `--diff` (human output only;
        /// `None` unless [`Display::shows_full_diff`]).
        #[serde(skip)]
        inputs: Option<Box<StepInputs>>,
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
    /// A provider's status message about a resource whose operation runs (an ephemeral log
    /// line): progress, not a diagnostic.
    #[serde(rename_all = "camelCase")]
    Status {
        /// The resource it is about.
        urn: String,
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

/// A line of human output not yet written.
struct Held {
    /// The resource of a step's result line; `None` for other lines.
    urn: Option<String>,
    text: String,
    /// When it may be written.
    due: Instant,
    /// Whether the resource's late log lines still go before it (until its next step starts).
    open: bool,
}

struct Inner {
    json: bool,
    out: Box<dyn Write + Send>,
    /// Human lines waiting, in order (only the head of the queue is ever due first).
    held: VecDeque<Held>,
    /// `--show-secrets`: the stack outputs (and, with `--diff`, the property values of the
    /// steps) are written unmasked (human output only).
    reveal_outputs: bool,
    /// `--diff`: steps show their full property diff (see [`crate::diff_view`]).
    full_diff: bool,
}

impl Inner {
    /// Writes the lines that are due, in order.
    fn write_due(&mut self, now: Instant) {
        while self.held.front().is_some_and(|h| h.due <= now) {
            if let Some(h) = self.held.pop_front() {
                let _ = writeln!(self.out, "{}", h.text);
            }
        }
        let _ = self.out.flush();
    }

    /// Places a human line: a step's result waits, a provider's log line about a resource
    /// whose result waits goes before it, anything else after what waits.
    fn place(&mut self, ev: &Event, text: Option<String>, now: Instant) {
        match ev {
            Event::StepStart { urn, .. } => {
                for h in self.held.iter_mut().filter(|h| h.urn.as_ref() == Some(urn)) {
                    h.open = false;
                }
            }
            Event::Step { urn, .. } => self.held.push_back(Held {
                urn: Some(urn.clone()),
                text: text.unwrap_or_default(),
                due: now + SETTLE,
                open: true,
            }),
            _ => {
                let Some(text) = text else { return };
                let before = match ev {
                    Event::Log { urn: Some(urn), .. } | Event::Status { urn, .. } => self
                        .held
                        .iter()
                        .rposition(|h| h.open && h.urn.as_ref() == Some(urn)),
                    _ => None,
                };
                let line = Held {
                    urn: None,
                    text,
                    due: now,
                    open: false,
                };
                match before {
                    Some(i) => self.held.insert(i, line),
                    None => self.held.push_back(line),
                }
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for h in std::mem::take(&mut self.held) {
            let _ = writeln!(self.out, "{}", h.text);
        }
        let _ = self.out.flush();
    }
}

/// Where events go. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct Display {
    inner: Arc<Mutex<Inner>>,
    /// Masks the secrets the engine knows in every line written (see [`crate::redact`]).
    redactor: Redactor,
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

/// The name part of a URN (what follows its last `::`).
pub(crate) fn short_name(urn: &str) -> &str {
    urn.rsplit("::").next().unwrap_or(urn)
}

impl Display {
    /// Writes to stdout: human lines, or JSON events when `json`.
    pub fn stdout(json: bool) -> Self {
        Self::to_writer(json, Box::new(std::io::stdout()))
    }

    /// Writes to any writer.
    pub fn to_writer(json: bool, out: Box<dyn Write + Send>) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            json,
            out,
            held: VecDeque::new(),
            reveal_outputs: false,
            full_diff: false,
        }));
        if !json {
            // Writes held lines once due, when no further event comes to write them.
            let weak: Weak<Mutex<Inner>> = Arc::downgrade(&inner);
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(SETTLE / 4);
                    let Some(inner) = weak.upgrade() else { return };
                    if let Ok(mut inner) = inner.lock() {
                        inner.write_due(Instant::now());
                    }
                }
            });
        }
        Display {
            inner,
            redactor: Redactor::default(),
        }
    }

    /// The redactor every line written goes through; register the secrets the run knows with it.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// `--show-secrets`: writes the stack's outputs in clear in human output. Every other line,
    /// and every `--json` event, stays masked.
    pub fn reveal_outputs(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.reveal_outputs = true;
        }
    }

    /// `--diff`: each step shows its full property diff (every input of a create or a delete,
    /// every changed key and element of an update or a replace). Human output only; secrets stay
    /// masked unless [`Display::reveal_outputs`] (`--show-secrets`) was asked too.
    pub fn show_full_diff(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.full_diff = true;
        }
    }

    /// Whether steps show their full property diff (so the engine attaches their inputs).
    pub fn shows_full_diff(&self) -> bool {
        self.inner
            .lock()
            .map(|i| i.full_diff && !i.json)
            .unwrap_or(false)
    }

    /// Waits until every held line is written (at most [`SETTLE`]).
    pub fn settle(&self) {
        loop {
            let wait = {
                let Ok(mut inner) = self.inner.lock() else {
                    return;
                };
                let now = Instant::now();
                inner.write_due(now);
                match inner.held.front() {
                    None => return,
                    Some(h) => h.due.saturating_duration_since(now),
                }
            };
            std::thread::sleep(wait);
        }
    }

    /// Whether this display emits JSON.
    pub fn is_json(&self) -> bool {
        self.inner.lock().map(|i| i.json).unwrap_or(false)
    }

    /// Emits an event. The summary comes last: it waits for held lines (see [`SETTLE`]).
    pub fn emit(&self, ev: Event) {
        if matches!(ev, Event::Summary { .. }) {
            self.settle();
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.json {
            if let Ok(mut text) = serde_json::to_string(&ev) {
                if self.redactor.mask(&text) != text
                    && let Ok(mut value) = serde_json::to_value(&ev)
                {
                    // Masked value by value, so the event stays well-formed JSON.
                    self.redactor.mask_json(&mut value);
                    text = value.to_string();
                }
                let _ = writeln!(inner.out, "{text}");
                let _ = inner.out.flush();
            }
            return;
        }
        let now = Instant::now();
        let reveal = inner.reveal_outputs;
        let mask = |t: &str| self.redactor.mask(t);
        let text = human(&ev, &mask, reveal);
        inner.place(&ev, text, now);
        inner.write_due(now);
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

/// The human text of `ev`, each part passed through `mask` except the stack outputs and the
/// property values of a full diff when `reveal` (`--show-secrets`).
fn human(ev: &Event, mask: &dyn Fn(&str) -> String, reveal: bool) -> Option<String> {
    if let Event::Outputs { .. } = ev
        && reveal
    {
        return human_unmasked(ev);
    }
    if let Event::Step {
        op,
        diff,
        message,
        inputs: Some(inputs),
        ..
    } = ev
        && crate::diff_view::covers(op)
    {
        let mut s = mask(&step_row(ev));
        for line in crate::diff_view::render(op, inputs, diff, reveal) {
            s.push('\n');
            s.push_str(&if reveal { line } else { mask(&line) });
        }
        if let Some(m) = message {
            s.push_str(&mask(&format!("\n        {m}")));
        }
        return Some(s);
    }
    human_unmasked(ev).map(|t| mask(&t))
}

/// A step's row: symbol, operation, type, name, status and time.
fn step_row(ev: &Event) -> String {
    let Event::Step {
        op,
        name,
        type_token,
        status,
        seconds,
        ..
    } = ev
    else {
        return String::new();
    };
    format!(
        "  {:<2} {:<OP_WIDTH$} {:<28} {:<24} {:<7} {:.2}s",
        symbol(op),
        op,
        type_token,
        name,
        status,
        seconds
    )
}

fn human_unmasked(ev: &Event) -> Option<String> {
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
        Event::Step { diff, message, .. } => {
            let mut s = step_row(ev);
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
        Event::Status { urn, message } => format!("        [{}] ... {message}", short_name(urn)),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn step(op: &str, urn: &str) -> Event {
        Event::Step {
            op: op.into(),
            urn: urn.into(),
            name: short_name(urn).into(),
            type_token: "t:m:T".into(),
            status: "ok".into(),
            seconds: 0.0,
            diff: vec![],
            message: None,
            inputs: None,
        }
    }

    fn start(op: &str, urn: &str) -> Event {
        Event::StepStart {
            op: op.into(),
            urn: urn.into(),
        }
    }

    fn log(urn: &str, message: &str) -> Event {
        Event::Log {
            severity: "info".into(),
            urn: Some(urn.into()),
            message: message.into(),
        }
    }

    #[test]
    fn the_operation_is_said_once() {
        assert_eq!(
            failure_message("Create", "Create: key k already exists"),
            "Create: key k already exists"
        );
        assert_eq!(
            failure_message("Create", "key k already exists"),
            "Create: key k already exists"
        );
        assert_eq!(failure_message("Read", "Reader: x"), "Read: Reader: x");
    }

    #[test]
    fn late_log_lines_print_before_their_steps_result_and_rows_line_up() {
        let out = Shared::default();
        let d = Display::to_writer(false, Box::new(out.clone()));
        let (a, b) = ("urn:pulumi:s::p::t:m:T::a", "urn:pulumi:s::p::t:m:T::b");
        d.emit(start("replace", b));
        d.emit(log(b, "wrote b2"));
        d.emit(step("replace", b));
        d.emit(start("create", a));
        // Late: after the step's result, from the replacement's Create.
        d.emit(log(b, "late from the create"));
        d.emit(start("delete-replaced", b));
        d.emit(step("create", a));
        d.emit(log(a, "late from a"));
        // From the delete, which started after the replace's result.
        d.emit(log(b, "removed b"));
        d.emit(step("delete-replaced", b));
        d.emit(start("read-delete", a));
        d.emit(step("read-delete", a));
        d.settle();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let order: Vec<String> = lines
            .iter()
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            order,
            [
                "[b] info: wrote",
                "[b] info: late",
                "+- replace t:m:T",
                "[a] info: late",
                "+ create t:m:T",
                "[b] info: removed",
                "- delete-replaced t:m:T",
                "- read-delete t:m:T",
            ],
            "{text}"
        );
        // The type column starts at the same place on every row.
        let rows: Vec<usize> = lines.iter().filter_map(|l| l.find("t:m:T")).collect();
        assert!(rows.windows(2).all(|w| w[0] == w[1]), "{text}");
    }
}
