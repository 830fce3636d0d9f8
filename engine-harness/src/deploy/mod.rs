//! Planning and running a deployment: preview, up, refresh and destroy.
//!
//! Program resources run in parallel along their dependency graph (at most `parallel` steps at
//! once); deletions run in reverse dependency order. When a step fails, steps already running
//! finish, no new step starts, and the state keeps everything that succeeded.

use crate::display::{Display, Event};
use crate::monitor::Registry;
use crate::monitor::urn::package_of;
use crate::plugin;
use crate::program::Project;
use crate::secrets::{self, SecretsManager};
use crate::stack_config;
use crate::state::{self, Journal, OperationType, Resource, Snapshot, StateFiles};
use crate::value::{self, PropertyMap};
use crate::{Error, engine_service, program};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

mod builtin;
mod delete;
mod dependents;
mod destroy;
mod diff;
mod execute;
mod generate;
mod hooks;
mod import;
mod import_op;
mod pending;
mod providers;
mod refresh;
mod register;
mod remote;
mod schedule;
mod sink;
mod source_program;
mod source_yaml;
mod step;
mod targets;
mod unsealable;
mod up;

pub use import_op::{ImportSpec, import_urn};
pub use targets::{Selection, urn_matches};

use destroy::destroy;
use refresh::{PendingImport, import_pending, refresh};
use register::STACK_TYPE;
use up::up;

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Show what `up` would do; change nothing.
    Preview,
    /// Create, update, replace and delete resources to match the program.
    Up,
    /// Read every resource and record what really exists.
    Refresh,
    /// Delete every resource of the stack.
    Destroy,
    /// Adopt existing resources ([`Options::imports`]) into the state, without a program.
    Import,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Preview => "preview",
            Operation::Up => "up",
            Operation::Refresh => "refresh",
            Operation::Destroy => "destroy",
            Operation::Import => "import",
        }
    }
}

/// Options of a run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The project directory.
    pub dir: PathBuf,
    /// The stack name.
    pub stack: String,
    /// The operation.
    pub operation: Operation,
    /// At most this many steps at once (at least 1).
    pub parallel: usize,
    /// Drop pending operations left by an interrupted run instead of refusing to run.
    pub clear_pending: bool,
    /// `refresh` only: pending creates to import, as `(URN, provider id)` pairs.
    pub import_pending_creates: Vec<(String, String)>,
    /// Import a pending create even when the provider's Read of its id differs from the inputs
    /// the create began with (the operator has checked it is the same resource).
    pub import_despite_differences: bool,
    /// Where output goes (default: human output on stdout).
    pub display: Option<Display>,
    /// Where state lives (default: `<dir>/.pulumi-harness`).
    pub state_dir: Option<PathBuf>,
    /// Cancelled on Ctrl-C: stop starting steps, send Cancel to providers, save state.
    pub interrupt: CancellationToken,
    /// `--target`, `--exclude`, `--replace`: the resources the run may change or must replace.
    pub selection: Selection,
    /// `up --refresh`, `preview --refresh`: refresh the state before running the program.
    pub refresh_first: bool,
    /// `--expect-no-changes`: a run that changes something fails ([`Error::UnexpectedChanges`]).
    pub expect_no_changes: bool,
    /// `--show-secrets`: the stack outputs shown in clear.
    pub show_secrets: bool,
    /// [`Operation::Import`]: the resources to adopt.
    pub imports: Vec<ImportSpec>,
}

impl Options {
    /// Options with defaults: 16 parallel steps, human output.
    pub fn new(dir: impl Into<PathBuf>, stack: impl Into<String>, operation: Operation) -> Self {
        Options {
            dir: dir.into(),
            stack: stack.into(),
            operation,
            parallel: 16,
            clear_pending: false,
            import_pending_creates: Vec::new(),
            import_despite_differences: false,
            display: None,
            state_dir: None,
            interrupt: CancellationToken::new(),
            selection: Selection::default(),
            refresh_first: false,
            expect_no_changes: false,
            show_secrets: false,
            imports: Vec::new(),
        }
    }

    /// Sets the resources [`Operation::Import`] adopts.
    pub fn imports(mut self, specs: Vec<ImportSpec>) -> Self {
        self.imports = specs;
        self
    }

    /// Limits the run to, or makes it replace, some resources (`--target`, `--exclude`,
    /// `--replace`).
    pub fn selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    /// Refreshes the state before `up` or `preview` runs the program (`--refresh`).
    pub fn refresh_first(mut self, yes: bool) -> Self {
        self.refresh_first = yes;
        self
    }

    /// Fails the run when it changes something (`--expect-no-changes`).
    pub fn expect_no_changes(mut self, yes: bool) -> Self {
        self.expect_no_changes = yes;
        self
    }

    /// Shows the stack outputs' secrets in clear (`--show-secrets`).
    pub fn show_secrets(mut self, yes: bool) -> Self {
        self.show_secrets = yes;
        self
    }

    /// Sets the parallelism.
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n.max(1);
        self
    }

    /// Sets the display.
    pub fn display(mut self, d: Display) -> Self {
        self.display = Some(d);
        self
    }

    /// Sets whether pending operations are cleared.
    pub fn clear_pending(mut self, yes: bool) -> Self {
        self.clear_pending = yes;
        self
    }

    /// Sets the pending creates `refresh` imports, as `(URN, provider id)` pairs.
    pub fn import_pending_creates(mut self, pairs: Vec<(String, String)>) -> Self {
        self.import_pending_creates = pairs;
        self
    }

    /// Sets whether pending creates are imported even when what the provider reads differs from
    /// the inputs their create began with.
    pub fn import_despite_differences(mut self, yes: bool) -> Self {
        self.import_despite_differences = yes;
        self
    }

    /// Sets the interrupt token.
    pub fn interrupt(mut self, token: CancellationToken) -> Self {
        self.interrupt = token;
        self
    }

    /// Sets the state directory.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Summary {
    /// Steps by kind (`create`, `update`, `replace`, `delete`, `same`, `refresh`, ...).
    pub counts: BTreeMap<String, usize>,
    /// Steps that failed.
    pub failed: usize,
    /// Stack outputs (secrets wrapped).
    pub outputs: BTreeMap<String, Json>,
    /// Bytes of state written (journal plus checkpoint).
    pub state_bytes_written: u64,
    /// Wall-clock duration.
    pub duration: Duration,
}

/// The state directory of a project.
pub fn default_state_dir(project_dir: &std::path::Path) -> PathBuf {
    project_dir.join(".pulumi-harness")
}

struct Ctx {
    project: Project,
    preview: bool,
    /// The stack's secrets provider (shared with the state files).
    secrets: SecretsManager,
    providers: providers::Providers,
    journal: Journal,
    display: Display,
    stack_urn: String,
    /// URNs the program declared in this run (and the aliases they took over), claimed once:
    /// by the monitor for a program's registrations, by the YAML source for its own.
    registry: Arc<Registry>,
    /// The stack outputs the program registered.
    stack_outputs: Mutex<PropertyMap>,
    counts: Mutex<BTreeMap<String, usize>>,
    failures: Mutex<Vec<String>>,
    /// A state write that failed while answering the program: it ends the run.
    fatal: Mutex<Option<Error>>,
    /// The resource monitor of this run, once served: where providers register the children
    /// of the components they construct.
    monitor_address: Mutex<Option<String>>,
    /// What each registration of this run answered (`pulumi:pulumi:getResource`).
    run_resources: builtin::RunResources,
    /// `--target`, `--exclude` and `--replace` as this run applies them.
    chosen: targets::Chosen,
    /// The resource hooks the program registered.
    hooks: hooks::RunHooks,
    /// Resources deleted as dependents of a delete-before-replace (`deploy/dependents.rs`).
    recreating: Mutex<HashSet<String>>,
}

impl Ctx {
    fn count(&self, op: &str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(op.to_string()).or_default() += 1;
        }
    }

    /// Has a step (or anything else of this run) failed so far?
    fn any_failed(&self) -> bool {
        self.failures.lock().map(|f| !f.is_empty()).unwrap_or(true)
    }

    fn fail(&self, msg: String) {
        // The failures end up in the command's error: no secret the run knows in clear there.
        let msg = self.display.redactor().mask(&msg);
        if let Ok(mut f) = self.failures.lock() {
            f.push(msg);
        }
    }
}

fn urn(p: &Project, ty: &str, name: &str) -> String {
    format!("urn:pulumi:{}::{}::{ty}::{name}", p.stack, p.name)
}

fn stack_urn(p: &Project) -> String {
    urn(p, "pulumi:pulumi:Stack", &format!("{}-{}", p.name, p.stack))
}

/// The URN of a package's default provider.
fn provider_urn(p: &Project, pkg: &str) -> String {
    urn(p, &format!("pulumi:providers:{pkg}"), "default")
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Matches each `--import-pending-creates URN=ID` with a pending create. Only `refresh` imports;
/// a URN without a pending create is a usage error listing the pending creates there are.
fn pending_imports(
    pending: &[(u64, state::Operation)],
    opts: &Options,
) -> Result<Vec<PendingImport>, Error> {
    if opts.import_pending_creates.is_empty() {
        return Ok(Vec::new());
    }
    if opts.operation != Operation::Refresh {
        return Err(Error::Usage(
            "--import-pending-creates works with `refresh` only".into(),
        ));
    }
    let creates: Vec<&(u64, state::Operation)> = pending
        .iter()
        .filter(|(_, op)| op.op == OperationType::Creating)
        .collect();
    opts.import_pending_creates
        .iter()
        .map(|(urn, id)| {
            let (op, o) = creates
                .iter()
                .find(|(_, o)| &o.resource.urn == urn)
                .ok_or_else(|| {
                    let there: Vec<&str> =
                        creates.iter().map(|(_, o)| o.resource.urn.as_str()).collect();
                    Error::Usage(format!(
                        "--import-pending-creates: `{urn}` has no pending create; pending creates: {}",
                        if there.is_empty() { "none".to_string() } else { there.join(", ") }
                    ))
                })?;
            Ok(PendingImport {
                op: *op,
                resource: o.resource.clone(),
                id: id.clone(),
                despite_differences: opts.import_despite_differences,
            })
        })
        .collect()
}

/// Says that the stack has no state yet (so a mistyped `--stack` is seen at once), and whether
/// it has a stack file.
/// `up` says `created stack NAME` only once the stack is written (see [`operate`]): a run that
/// stops before (a missing passphrase, a bad program) has created nothing.
fn announce_new_stack(opts: &Options, project: &Project, display: &Display) {
    let stack = &project.stack;
    let msg = match opts.operation {
        Operation::Up => return,
        Operation::Preview => format!("stack {stack} does not exist yet; `up` creates it"),
        _ => format!("stack {stack} has no state yet"),
    };
    display.log("info", format!("{msg}{}", stack_file_note(project)));
}

/// ` (no Pulumi.<stack>.yaml: ...)` when the stack has no stack file, else nothing.
fn stack_file_note(project: &Project) -> String {
    let stack = &project.stack;
    if project.dir.join(format!("Pulumi.{stack}.yaml")).is_file() {
        String::new()
    } else {
        format!(" (no Pulumi.{stack}.yaml: only the program's config defaults apply)")
    }
}

/// The packages a run needs: the program's (for preview and up) and those of the resources
/// already in state.
fn needed_packages(opts: &Options, project: &Project, snap: &Snapshot) -> BTreeSet<String> {
    let mut packages: BTreeSet<String> = match opts.operation {
        Operation::Preview | Operation::Up => project.packages(),
        Operation::Import => opts
            .imports
            .iter()
            .map(|i| package_of(&i.type_token).to_string())
            .collect(),
        _ => BTreeSet::new(),
    };
    for r in snap.iter_all() {
        // A resource of a versioned default provider (`default_1_2_0`) needs that version's
        // plugin, started when its step comes, not the package's unversioned default.
        let versioned = r
            .provider
            .split("::")
            .nth(3)
            .is_some_and(|name| name.starts_with("default_"));
        if r.custom && !r.type_token.starts_with("pulumi:") && !versioned {
            packages.insert(package_of(&r.type_token).to_string());
        }
    }
    packages
}

/// On Ctrl-C, sends Cancel to every provider once.
fn watch_interrupt(token: &CancellationToken, ctx: &Arc<Ctx>) -> tokio::task::JoinHandle<()> {
    let token = token.clone();
    let ctx = ctx.clone();
    tokio::spawn(async move {
        token.cancelled().await;
        ctx.display.log("warning", "interrupted: cancelling providers and waiting for running steps to finish (press Ctrl-C again to stop at once)");
        for p in ctx.providers.plugins() {
            p.cancel().await;
        }
    })
}

/// Runs an operation. Errors carry exit codes ([`Error::exit_code`]); a run with failed steps
/// returns [`Error::StepsFailed`] after saving state.
pub async fn run(opts: Options) -> Result<Summary, Error> {
    let started = Instant::now();
    let display = opts
        .display
        .clone()
        .unwrap_or_else(|| Display::stdout(false));
    if opts.show_secrets {
        display.reveal_outputs();
    }
    let project = program::load(&opts.dir, &opts.stack)?;
    display.emit(Event::Start {
        operation: opts.operation.name().into(),
        project: project.name.clone(),
        stack: project.stack.clone(),
    });
    let state_dir = opts
        .state_dir
        .clone()
        .unwrap_or_else(|| default_state_dir(&project.dir));
    // One command at a time per stack; held until this function returns.
    let lock = state::lock::StackLock::acquire(
        &state_dir,
        &project.stack,
        opts.operation.name(),
        Duration::ZERO,
    )?;
    for w in lock.broken() {
        display.log("warning", w.clone());
    }
    let Opened {
        snap,
        journal,
        secrets,
        provider_records,
        imports,
        after_imports,
        new_stack,
    } = open_state(&opts, &project, &display, &state_dir).await?;
    let preview = opts.operation == Operation::Preview;
    let stack_urn = stack_urn(&project);
    let engine = engine_service::serve(display.clone(), stack_urn.clone())
        .await
        .map_err(|e| Error::Io {
            context: "cannot serve the engine on 127.0.0.1".into(),
            source: e,
        })?;
    let packages = needed_packages(&opts, &project, &snap);
    let records = matches!(
        opts.operation,
        Operation::Up | Operation::Refresh | Operation::Import
    ) && !preview;
    let ctx = Arc::new(Ctx {
        project: project.clone(),
        preview,
        secrets,
        providers: providers::Providers::new(
            &project,
            provider_records,
            &display,
            engine.address(),
            records.then(|| journal.clone()),
        ),
        journal: journal.clone(),
        display: display.clone(),
        stack_urn,
        registry: Arc::default(),
        stack_outputs: Mutex::new(PropertyMap::new()),
        counts: Mutex::new(BTreeMap::new()),
        failures: Mutex::new(Vec::new()),
        fatal: Mutex::new(None),
        monitor_address: Mutex::new(None),
        run_resources: builtin::RunResources::default(),
        chosen: targets::Chosen::new(opts.selection.clone()),
        hooks: hooks::RunHooks::default(),
        recreating: Mutex::new(HashSet::new()),
    });
    let result = operate(
        &ctx,
        &opts,
        &snap,
        &packages,
        &imports,
        after_imports,
        new_stack,
    )
    .await;
    for p in ctx.providers.plugins() {
        p.shutdown(plugin::SHUTDOWN_GRACE).await;
    }
    drop(engine);
    let outputs = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = journal.compact();
            return Err(e);
        }
    };
    let bytes = journal.compact()?;
    finish(&ctx, &opts, outputs, bytes, started)
}

/// The state a run starts from: the snapshot, the journal, the provider records and the
/// pending creates to import.
struct Opened {
    snap: Snapshot,
    journal: Journal,
    /// The stack's secrets provider (shared with the state files).
    secrets: SecretsManager,
    provider_records: HashMap<String, Resource>,
    imports: Vec<PendingImport>,
    /// Pending creates no one resolved while others are imported: the error to stop with after
    /// the imports (see [`pending::PendingPlan::after_imports`]).
    after_imports: Option<Error>,
    /// The stack had no state files: `up` announces it created the stack once it wrote it.
    new_stack: bool,
}

/// Loads the stack's state (replaying an interrupted run's journal), unlocks its secrets when
/// they will be written, checks the pending operations and opens the journal.
async fn open_state(
    opts: &Options,
    project: &Project,
    display: &Display,
    state_dir: &std::path::Path,
) -> Result<Opened, Error> {
    let secrets =
        SecretsManager::from_env(stack_config::encryption_salt(&project.dir, &project.stack)?);
    let files = StateFiles::new(state_dir, &project.stack).with_secrets(secrets);
    let new_stack = !files.exists()?;
    let (snap, replayed) = files.load()?;
    display.redactor().add_config_secrets(project);
    display.redactor().add_state_secrets(&snap);
    if new_stack {
        announce_new_stack(opts, project, display);
    }
    let preview = opts.operation == Operation::Preview;
    if !preview
        && (snap.has_secrets()
            || secrets::program_uses_secrets(project)
            || files.secrets().has_passphrase())
    {
        // Unlock now, not when the first secret (perhaps one a provider marks) must be written.
        files.secrets().unlock()?;
    }
    if replayed {
        display.log(
            "warning",
            format!(
                "recovered the state of an interrupted run from {}",
                files.journal.display()
            ),
        );
    }
    let provider_records = providers::check_references(&snap, &files.checkpoint)?;
    let pending = snap.pending();
    let imports = pending_imports(&pending, opts)?;
    let pending_plan = pending::plan(&pending, opts, display)?;
    let journal = Journal::open(files.clone(), snap.clone(), preview)?;
    if !preview {
        for id in &pending_plan.clear {
            journal.end(Some(*id), vec![], vec![]).await?;
        }
    }
    Ok(Opened {
        snap,
        journal,
        secrets: files.secrets().clone(),
        provider_records,
        imports,
        after_imports: pending_plan.after_imports,
        new_stack,
    })
}

/// Starts the packages known up front, then runs the operation. Returns the stack outputs.
async fn operate(
    ctx: &Arc<Ctx>,
    opts: &Options,
    snap: &Snapshot,
    packages: &BTreeSet<String>,
    imports: &[PendingImport],
    after_imports: Option<Error>,
    new_stack: bool,
) -> Result<BTreeMap<String, Json>, Error> {
    // The packages known before the program runs start now, so that a plugin that cannot
    // start stops the run before any step.
    for pkg in packages {
        if ctx.providers.default(pkg).await.is_err()
            && let Some(e) = ctx.providers.take_fatal()
        {
            return Err(e);
        }
    }
    let watcher = watch_interrupt(&opts.interrupt, ctx);
    let outputs = match opts.operation {
        Operation::Preview | Operation::Up => {
            if !ctx.preview && snap.get(&ctx.stack_urn).is_none() {
                let stack = Resource {
                    urn: ctx.stack_urn.clone(),
                    custom: false,
                    type_token: STACK_TYPE.into(),
                    created: Some(state::now_rfc3339()),
                    ..Default::default()
                };
                ctx.journal.write(vec![stack], vec![]).await?;
                if new_stack {
                    let project = &ctx.project;
                    ctx.display.log(
                        "info",
                        format!(
                            "created stack {}{}",
                            project.stack,
                            stack_file_note(project)
                        ),
                    );
                }
            }
            if opts.refresh_first {
                refresh(ctx, opts.parallel, &opts.interrupt).await?;
            }
            up(ctx, opts.parallel, &opts.interrupt).await?
        }
        Operation::Import => {
            if snap.get(&ctx.stack_urn).is_none() {
                let stack = Resource {
                    urn: ctx.stack_urn.clone(),
                    custom: false,
                    type_token: STACK_TYPE.into(),
                    created: Some(state::now_rfc3339()),
                    ..Default::default()
                };
                ctx.journal.write(vec![stack], vec![]).await?;
            }
            import_op::import_all(ctx, &opts.imports).await?;
            BTreeMap::new()
        }
        Operation::Refresh => {
            for i in imports {
                import_pending(ctx, i).await?;
            }
            if let Some(e) = after_imports {
                return Err(e);
            }
            refresh(ctx, opts.parallel, &opts.interrupt).await?;
            BTreeMap::new()
        }
        Operation::Destroy => {
            if opts.refresh_first {
                refresh(ctx, opts.parallel, &opts.interrupt).await?;
            }
            destroy(ctx, opts.parallel, &opts.interrupt).await?;
            BTreeMap::new()
        }
    };
    watcher.abort();
    if let Some(e) = ctx.providers.take_fatal() {
        return Err(e);
    }
    let unmatched = ctx.chosen.unmatched_literals();
    if !unmatched.is_empty() {
        ctx.fail(format!(
            "no resource of the program or the state has the URN {}; `engine-harness stack export` lists the URNs",
            unmatched.join(", ")
        ));
    }
    Ok(outputs)
}

/// Shows the outputs and the summary; an interrupted run or one with failed steps is an error.
fn finish(
    ctx: &Ctx,
    opts: &Options,
    outputs: BTreeMap<String, Json>,
    bytes: u64,
    started: Instant,
) -> Result<Summary, Error> {
    let display = &ctx.display;
    let counts = ctx.counts.lock().map(|c| c.clone()).unwrap_or_default();
    let failures = ctx.failures.lock().map(|f| f.clone()).unwrap_or_default();
    if !outputs.is_empty() {
        display.emit(Event::Outputs {
            outputs: outputs
                .iter()
                .map(|(k, v)| {
                    let shown = if opts.show_secrets && !display.is_json() {
                        value::unwrap_secrets(v).0
                    } else {
                        value::masked(v)
                    };
                    (k.clone(), shown)
                })
                .collect(),
        });
    }
    let summary = Summary {
        counts: counts.clone(),
        failed: failures.len(),
        outputs,
        state_bytes_written: bytes,
        duration: started.elapsed(),
    };
    display.emit(Event::Summary {
        counts,
        failed: failures.len(),
        seconds: summary.duration.as_secs_f64(),
        state_bytes_written: bytes,
    });
    if opts.interrupt.is_cancelled() {
        let mut msg = "state saved; run the command again to finish".to_string();
        if !failures.is_empty() {
            msg.push_str(&format!(
                ". Steps that failed while stopping:\n  - {}",
                failures.join("\n  - ")
            ));
        }
        return Err(Error::Interrupted(msg));
    }
    if opts.expect_no_changes {
        let changed: Vec<String> = summary
            .counts
            .iter()
            .filter(|(op, n)| **n > 0 && !matches!(op.as_str(), "same" | "read" | "refresh"))
            .map(|(op, n)| format!("{n} {op}"))
            .collect();
        if !changed.is_empty() {
            return Err(Error::UnexpectedChanges(format!(
                "no changes were expected (--expect-no-changes), but this {} {}",
                opts.operation.name(),
                if ctx.preview {
                    format!("would make {}", changed.join(", "))
                } else {
                    format!("made {}", changed.join(", "))
                }
            )));
        }
    }
    if !failures.is_empty() {
        return Err(Error::StepsFailed(format!(
            "{} step(s) failed:\n  - {}",
            failures.len(),
            failures.join("\n  - ")
        )));
    }
    Ok(summary)
}
