//! `engine-harness watch`: a provider author's loop. Whenever the program or the source of a
//! provider crate named in `plugins.providers` changes, the changed crates are rebuilt with
//! cargo (a failed build is shown and nothing runs), then `up` (or `preview`) runs.
//!
//! Changes are found by polling file sizes and modification times (no platform watcher
//! needed). Runs never overlap and are never cut short by a change: a change that lands
//! during a build or a run starts one more round when the run has finished and saved its
//! state, so the state is always the one of a complete run. Ctrl-C stops the current run as
//! it would stop `up` (state saved) and ends the watch.

use clap::Args;
use engine_harness::deploy::{Operation, Options, run};
use engine_harness::display::Display;
use engine_harness::{Error, plugin, program};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// `engine-harness watch` flags.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The project directory (holding Pulumi.yaml).
    #[arg(long, default_value = ".")]
    cwd: PathBuf,
    /// The stack name (default: the selected stack, else `dev`).
    #[arg(long, short = 's', value_parser = stack_name)]
    stack: Option<String>,
    /// Where state is kept (default: <cwd>/.pulumi-harness).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Run `preview` instead of `up`.
    #[arg(long)]
    preview: bool,
    /// Also watch this file or folder (relative to --cwd). Repeatable.
    #[arg(long)]
    path: Vec<PathBuf>,
    /// At most this many resource operations at once.
    #[arg(long, short = 'p', default_value_t = 16)]
    parallel: usize,
    /// Emit JSON events of each run on stdout.
    #[arg(long)]
    json: bool,
    /// How often to look for changes, in milliseconds.
    #[arg(long, default_value_t = 300)]
    poll_ms: u64,
    /// Stop after this many rounds (build and run); default: until Ctrl-C.
    #[arg(long)]
    max_runs: Option<usize>,
}

fn stack_name(s: &str) -> Result<String, String> {
    program::validate_stack_name(s).map(|()| s.to_string())
}

/// Size and modification time of each watched file.
type Fingerprint = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

/// Folders never watched: build output, dependencies, state, version control.
fn skipped_dir(name: &str) -> bool {
    matches!(
        name,
        "target" | "node_modules" | "__pycache__" | "venv" | ".venv" | ".git" | ".pulumi-harness"
    )
}

/// Files of a program that make up its source: what a change of the program touches (and not
/// what its resources may write into the project folder).
fn program_file(name: &str) -> bool {
    name.starts_with("Pulumi.")
        || [
            ".py", ".ts", ".js", ".mjs", ".cjs", ".mts", ".cts", ".yaml", ".yml",
        ]
        .iter()
        .any(|e| name.ends_with(e))
        || matches!(name, "package.json" | "tsconfig.json" | "requirements.txt")
}

fn scan(root: &Path, keep: &dyn Fn(&str) -> bool, skip: &[PathBuf], into: &mut Fingerprint) {
    let Ok(meta) = std::fs::metadata(root) else {
        return;
    };
    if meta.is_file() {
        into.insert(root.to_path_buf(), (meta.len(), meta.modified().ok()));
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if !skipped_dir(&name) && !skip.iter().any(|s| s == &path) {
                scan(&path, keep, skip, into);
            }
        } else if keep(&name)
            && let Ok(m) = e.metadata()
        {
            into.insert(path, (m.len(), m.modified().ok()));
        }
    }
}

/// What is watched: the program's files, each provider crate's sources, and --path.
struct Watched {
    project_dir: PathBuf,
    /// Provider crates: (package, crate folder).
    crates: Vec<(String, PathBuf)>,
    extra: Vec<PathBuf>,
    state_dir: PathBuf,
}

impl Watched {
    fn program(&self) -> Fingerprint {
        let mut f = Fingerprint::new();
        // Crates inside the project folder are watched as crates, not as program files.
        let mut skip: Vec<PathBuf> = self.crates.iter().map(|(_, d)| d.clone()).collect();
        skip.push(self.state_dir.clone());
        scan(&self.project_dir, &program_file, &skip, &mut f);
        for p in &self.extra {
            scan(p, &|_| true, &skip, &mut f);
        }
        f
    }

    fn krate(dir: &Path) -> Fingerprint {
        let mut f = Fingerprint::new();
        scan(dir, &|n| n != "Cargo.lock", &[], &mut f);
        f
    }
}

/// The provider crates of `plugins.providers` (those whose path holds a Cargo.toml).
fn provider_crates(project: &program::Project) -> Vec<(String, PathBuf)> {
    project
        .plugins
        .iter()
        .map(|p| {
            let dir = if p.path.is_absolute() {
                p.path.clone()
            } else {
                project.dir.join(&p.path)
            };
            (p.name.clone(), dir)
        })
        .filter(|(_, d)| d.join("Cargo.toml").is_file())
        .map(|(n, d)| (n, d.canonicalize().unwrap_or(d)))
        .collect()
}

fn say(json: bool, msg: &str) {
    // Human lines of the watch itself go to stderr when stdout carries the JSON stream.
    if json {
        eprintln!("watch: {msg}");
    } else {
        println!("watch: {msg}");
    }
}

/// Runs the watch loop until Ctrl-C (or --max-runs rounds).
pub async fn watch(a: WatchArgs) -> ExitCode {
    match watch_loop(a).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

async fn watch_loop(a: WatchArgs) -> Result<(), Error> {
    let stack = crate::workspace::resolve(&a.cwd, a.state_dir.as_deref(), a.stack.clone())?;
    let op = if a.preview {
        Operation::Preview
    } else {
        Operation::Up
    };
    let interrupt = CancellationToken::new();
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| Error::Io {
            context: "cannot listen for Ctrl-C".into(),
            source: e,
        })?;
    {
        let t = interrupt.clone();
        tokio::spawn(async move {
            if sigint.recv().await.is_some() {
                t.cancel();
                if sigint.recv().await.is_some() {
                    plugin::kill_all_launched();
                    std::process::exit(130);
                }
            }
        });
    }
    let poll = Duration::from_millis(a.poll_ms.max(20));
    let mut built: BTreeMap<PathBuf, Fingerprint> = BTreeMap::new();
    let mut last_program: Option<Fingerprint> = None;
    let mut rounds = 0usize;
    say(
        a.json,
        &format!(
            "watching {} (stack {stack}); Ctrl-C to stop",
            a.cwd.display()
        ),
    );
    loop {
        // The project is read again each round: an edit may add a provider crate.
        let watched = match program::load(&a.cwd, &stack) {
            Ok(project) => Some(Watched {
                crates: provider_crates(&project),
                state_dir: a
                    .state_dir
                    .clone()
                    .unwrap_or_else(|| engine_harness::deploy::default_state_dir(&project.dir)),
                project_dir: project.dir,
                extra: a.path.iter().map(|p| a.cwd.join(p)).collect(),
            }),
            Err(_) => None,
        };
        let program_now = match &watched {
            Some(w) => w.program(),
            None => {
                let mut f = Fingerprint::new();
                scan(&a.cwd, &program_file, &[], &mut f);
                f
            }
        };
        let crates_now: Vec<(String, PathBuf, Fingerprint)> = watched
            .iter()
            .flat_map(|w| w.crates.iter())
            .map(|(n, d)| (n.clone(), d.clone(), Watched::krate(d)))
            .collect();
        let stale: Vec<&(String, PathBuf, Fingerprint)> = crates_now
            .iter()
            .filter(|(_, d, f)| built.get(d) != Some(f))
            .collect();
        let program_changed = last_program.as_ref() != Some(&program_now);
        if !program_changed && stale.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = interrupt.cancelled() => {}
            }
            if interrupt.is_cancelled() {
                say(a.json, "stopped");
                return Ok(());
            }
            continue;
        }
        // Let a burst of saves settle: wait until one poll sees no further change.
        tokio::time::sleep(poll).await;
        let settled = match &watched {
            Some(w) => w.program(),
            None => program_now.clone(),
        };
        if settled != program_now || stale.iter().any(|(_, d, f)| &Watched::krate(d) != f) {
            continue;
        }
        last_program = Some(program_now);
        rounds += 1;
        let mut build_failed = false;
        for (package, dir, fingerprint) in &stale {
            say(a.json, &format!("building {package} ({})", dir.display()));
            match plugin::build_cargo(dir, package, !a.json).await {
                Ok(_) => {
                    built.insert(dir.clone(), fingerprint.clone());
                }
                Err(e) => {
                    // Remember the failed sources: the next edit retries.
                    built.insert(dir.clone(), fingerprint.clone());
                    say(a.json, &format!("build failed, not running: {e}"));
                    build_failed = true;
                }
            }
        }
        if !build_failed {
            let display = Display::stdout(a.json);
            let mut opts = Options::new(&a.cwd, &stack, op)
                .parallel(a.parallel.max(1))
                .display(display.clone())
                .interrupt(interrupt.clone());
            if let Some(d) = &a.state_dir {
                opts = opts.state_dir(d);
            }
            let result = run(opts).await;
            display.settle();
            let name = if a.preview { "preview" } else { "up" };
            match result {
                Ok(s) => {
                    let changed: usize = s
                        .counts
                        .iter()
                        .filter(|(k, _)| !matches!(k.as_str(), "same" | "read"))
                        .map(|(_, n)| n)
                        .sum();
                    say(
                        a.json,
                        &format!("{name} #{rounds} succeeded ({changed} changes)"),
                    );
                }
                Err(e) => say(
                    a.json,
                    &format!("{name} #{rounds} failed (exit {}): {e}", e.exit_code()),
                ),
            }
        }
        if interrupt.is_cancelled() {
            say(a.json, "stopped");
            return Ok(());
        }
        if a.max_runs.is_some_and(|m| rounds >= m) {
            return Ok(());
        }
    }
}
