//! Planning and running a deployment: preview, up, refresh and destroy.
//!
//! Program resources run in parallel along their dependency graph (at most `parallel` steps at
//! once); deletions run in reverse dependency order. When a step fails, steps already running
//! finish, no new step starts, and the state keeps everything that succeeded.

use crate::display::{DiffLine, Display, Event};
use crate::plugin::{self, CallError, ConfigureArgs, Plugin, PluginSource};
use crate::program::{Evaluator, Project, ResolvedResource};
use crate::state::{self, Journal, OperationType, Resource, Snapshot, StateFiles};
use crate::value::{self, PropertyMap};
use crate::{Error, engine_service, program};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

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
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Preview => "preview",
            Operation::Up => "up",
            Operation::Refresh => "refresh",
            Operation::Destroy => "destroy",
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
    /// Where output goes (default: human output on stdout).
    pub display: Option<Display>,
    /// Where state lives (default: `<dir>/.pulumi-harness`).
    pub state_dir: Option<PathBuf>,
    /// Cancelled on Ctrl-C: stop starting steps, send Cancel to providers, save state.
    pub interrupt: CancellationToken,
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
            display: None,
            state_dir: None,
            interrupt: CancellationToken::new(),
        }
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
    plugins: HashMap<String, Arc<Plugin>>,
    provider_refs: HashMap<String, String>,
    journal: Journal,
    display: Display,
    stack_urn: String,
    resolved: Mutex<HashMap<String, ResolvedResource>>,
    counts: Mutex<BTreeMap<String, usize>>,
    failures: Mutex<Vec<String>>,
}

impl Ctx {
    fn urn(&self, ty: &str, name: &str) -> String {
        urn(&self.project, ty, name)
    }

    fn count(&self, op: &str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(op.to_string()).or_default() += 1;
        }
    }

    fn fail(&self, msg: String) {
        if let Ok(mut f) = self.failures.lock() {
            f.push(msg);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        op: &str,
        urn: &str,
        ty: &str,
        status: &str,
        t0: Instant,
        diff: Vec<DiffLine>,
        message: Option<String>,
    ) {
        if status != "failed" {
            self.count(op);
        }
        self.display.emit(Event::Step {
            op: op.into(),
            urn: urn.into(),
            name: urn.rsplit("::").next().unwrap_or(urn).into(),
            type_token: ty.into(),
            status: status.into(),
            seconds: t0.elapsed().as_secs_f64(),
            diff,
            message,
        });
    }
}

fn urn(p: &Project, ty: &str, name: &str) -> String {
    format!("urn:pulumi:{}::{}::{ty}::{name}", p.stack, p.name)
}

fn stack_urn(p: &Project) -> String {
    urn(p, "pulumi:pulumi:Stack", &format!("{}-{}", p.name, p.stack))
}

fn provider_urn(p: &Project, pkg: &str) -> String {
    urn(p, &format!("pulumi:providers:{pkg}"), "default")
}

fn new_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn package_of(type_token: &str) -> &str {
    type_token.split(':').next().unwrap_or(type_token)
}

/// Runs an operation. Errors carry exit codes ([`Error::exit_code`]); a run with failed steps
/// returns [`Error::StepsFailed`] after saving state.
pub async fn run(opts: Options) -> Result<Summary, Error> {
    let started = Instant::now();
    let display = opts
        .display
        .clone()
        .unwrap_or_else(|| Display::stdout(false));
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
    let files = StateFiles::new(&state_dir, &project.stack);
    let (snap, replayed) = files.load()?;
    if replayed {
        display.log(
            "warning",
            format!(
                "recovered the state of an interrupted run from {}",
                files.journal.display()
            ),
        );
    }
    let preview = opts.operation == Operation::Preview;
    let pending = snap.pending();
    if !pending.is_empty() {
        let mut msg = format!(
            "{} operation(s) from an interrupted run were never confirmed:",
            pending.len()
        );
        for (_, op) in &pending {
            let advice = match op.op {
                OperationType::Creating => {
                    "the provider may have created it; check, and delete or import it by hand if it exists"
                }
                OperationType::Updating => {
                    "it may be partly updated; `refresh` reads its real state"
                }
                OperationType::Deleting => "it may already be deleted; `refresh` finds out",
                OperationType::Reading => "harmless",
            };
            msg.push_str(&format!("\n  - {:?} {}: {advice}", op.op, op.resource.urn));
        }
        msg.push_str("\nThen run again with --clear-pending to drop these records.");
        if preview {
            display.log("warning", msg);
        } else if !opts.clear_pending {
            return Err(Error::PendingOperations(msg));
        } else {
            display.log(
                "warning",
                msg.replace(
                    "\nThen run again with --clear-pending to drop these records.",
                    "\nClearing them (--clear-pending).",
                ),
            );
        }
    }
    let journal = Journal::open(files.clone(), snap.clone(), preview)?;
    if opts.clear_pending && !preview {
        for (id, _) in &pending {
            journal.end(Some(*id), vec![], vec![]).await?;
        }
    }
    let stack_urn = stack_urn(&project);
    let engine = engine_service::serve(display.clone(), stack_urn.clone())
        .await
        .map_err(|e| Error::Io {
            context: "cannot serve the engine on 127.0.0.1".into(),
            source: e,
        })?;

    // Which packages are needed: the program's, and those of resources already in state.
    let mut packages: BTreeSet<String> = match opts.operation {
        Operation::Preview | Operation::Up => project.packages(),
        _ => BTreeSet::new(),
    };
    for r in snap.resources() {
        if r.custom && !r.type_token.starts_with("pulumi:") {
            packages.insert(package_of(&r.type_token).to_string());
        }
    }
    let mut plugins = HashMap::new();
    let mut provider_refs = HashMap::new();
    let mut provider_states = Vec::new();
    let result = async {
        for pkg in &packages {
            let config = project.provider_config.get(pkg).cloned().unwrap_or_default();
            let (mut p, path) = if let Some(port) = plugin::debug_port(pkg) {
                display.log("info", format!("attaching to the `{pkg}` provider on port {port} (PULUMI_DEBUG_PROVIDERS)"));
                (plugin::attach(pkg, port, engine.address()).await?, PathBuf::from(format!("127.0.0.1:{port}")))
            } else {
                let path = match plugin::find(&project, pkg)? {
                    PluginSource::Binary(p) => p,
                    PluginSource::Cargo(dir) => {
                        display.log("info", format!("building the `{pkg}` provider with cargo in {}", dir.display()));
                        plugin::build_cargo(&dir, pkg, !display.is_json()).await?
                    }
                };
                (plugin::launch(plugin::LaunchRequest { path: &path, package: pkg, dir: &project.dir, engine_address: engine.address(), project: &project.name, config: &config }).await?, path)
            };
            let purn = provider_urn(&project, pkg);
            let old = snap.get(&purn).cloned();
            let id = old.as_ref().map(|o| o.id.clone()).filter(|s| !s.is_empty()).unwrap_or_else(new_uuid);
            let checked = p
                .configure(ConfigureArgs {
                    urn: &purn,
                    id: &id,
                    program_dir: &project.dir,
                    engine_address: engine.address(),
                    olds: old.as_ref().map(|o| &o.inputs),
                    news: &config,
                })
                .await;
            let checked = match checked {
                Ok(c) => c,
                Err(e) => {
                    p.shutdown(plugin::SHUTDOWN_GRACE).await;
                    return Err(e);
                }
            };
            if !p.config_replaces.is_empty() {
                display.log(
                    "warning",
                    format!(
                        "the `{pkg}` provider says its configuration change ({}) requires replacing its resources; engine-harness keeps them: run `destroy` then `up` to recreate them",
                        p.config_replaces.join(", ")
                    ),
                );
            }
            display.emit(Event::Plugin { package: pkg.clone(), version: p.version.clone(), path: path.display().to_string() });
            provider_refs.insert(pkg.clone(), format!("{purn}::{id}"));
            provider_states.push(Resource {
                urn: purn,
                custom: true,
                id,
                type_token: format!("pulumi:providers:{pkg}"),
                inputs: checked.clone(),
                outputs: checked,
                created: old.as_ref().and_then(|o| o.created.clone()).or_else(|| Some(state::now_rfc3339())),
                ..Default::default()
            });
            plugins.insert(pkg.clone(), Arc::new(p));
        }
        let ctx = Arc::new(Ctx {
            project: project.clone(),
            preview,
            plugins: plugins.clone(),
            provider_refs,
            journal: journal.clone(),
            display: display.clone(),
            stack_urn: stack_urn.clone(),
            resolved: Mutex::new(HashMap::new()),
            counts: Mutex::new(BTreeMap::new()),
            failures: Mutex::new(Vec::new()),
        });
        // Ctrl-C: send Cancel to every provider once.
        let watcher = {
            let token = opts.interrupt.clone();
            let plugins: Vec<Arc<Plugin>> = plugins.values().cloned().collect();
            let display = display.clone();
            tokio::spawn(async move {
                token.cancelled().await;
                display.log("warning", "interrupted: cancelling providers and waiting for running steps to finish (press Ctrl-C again to stop at once)");
                for p in plugins {
                    p.cancel().await;
                }
            })
        };
        let outputs = match opts.operation {
            Operation::Preview | Operation::Up => {
                if !preview {
                    let mut meta = provider_states.clone();
                    let old_stack = snap.get(&stack_urn).cloned();
                    meta.push(Resource {
                        urn: stack_urn.clone(),
                        custom: false,
                        type_token: "pulumi:pulumi:Stack".into(),
                        outputs: old_stack.map(|s| s.outputs).unwrap_or_default(),
                        ..Default::default()
                    });
                    let changed: Vec<Resource> = meta.into_iter().filter(|r| snap.get(&r.urn) != Some(r)).collect();
                    if !changed.is_empty() {
                        journal.write(changed, vec![]).await?;
                    }
                }
                up(&ctx, &snap, opts.parallel, &opts.interrupt).await?
            }
            Operation::Refresh => {
                if !provider_states.is_empty() {
                    let changed: Vec<Resource> =
                        provider_states.iter().filter(|r| snap.get(&r.urn) != Some(*r)).cloned().collect();
                    if !changed.is_empty() {
                        journal.write(changed, vec![]).await?;
                    }
                }
                refresh(&ctx, &snap, opts.parallel, &opts.interrupt).await?;
                BTreeMap::new()
            }
            Operation::Destroy => {
                destroy(&ctx, &snap, opts.parallel, &opts.interrupt).await?;
                BTreeMap::new()
            }
        };
        watcher.abort();
        Ok::<_, Error>((ctx, outputs))
    }
    .await;
    for p in plugins.values() {
        p.shutdown(plugin::SHUTDOWN_GRACE).await;
    }
    drop(engine);
    let (ctx, outputs) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = journal.compact();
            return Err(e);
        }
    };
    let bytes = journal.compact()?;
    let counts = ctx.counts.lock().map(|c| c.clone()).unwrap_or_default();
    let failures = ctx.failures.lock().map(|f| f.clone()).unwrap_or_default();
    if !outputs.is_empty() {
        display.emit(Event::Outputs {
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.clone(), value::masked(v)))
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
    if !failures.is_empty() {
        return Err(Error::StepsFailed(format!(
            "{} step(s) failed:\n  - {}",
            failures.len(),
            failures.join("\n  - ")
        )));
    }
    Ok(summary)
}

/// [`schedule`] for engine steps: a step's `Err` (a state-file failure, which must stop the
/// whole operation) is shown, counts as a failed step, and the first one is returned.
async fn schedule_steps<F, Fut>(
    ctx: &Arc<Ctx>,
    deps: Vec<Vec<usize>>,
    parallel: usize,
    interrupt: &CancellationToken,
    step: F,
) -> Result<Vec<bool>, Error>
where
    F: Fn(Arc<Ctx>, usize) -> Fut,
    Fut: Future<Output = Result<bool, Error>> + Send + 'static,
{
    let first_error: Arc<Mutex<Option<Error>>> = Arc::new(Mutex::new(None));
    let ok = schedule(&ctx.display, deps, parallel, interrupt, |i| {
        let ctx = ctx.clone();
        let first_error = first_error.clone();
        let fut = step(ctx.clone(), i);
        async move {
            fut.await.unwrap_or_else(|e| {
                ctx.fail(e.to_string());
                if let Ok(mut slot) = first_error.lock() {
                    slot.get_or_insert(e);
                }
                false
            })
        }
    })
    .await;
    match first_error.lock().ok().and_then(|mut slot| slot.take()) {
        Some(e) => Err(e),
        None => Ok(ok),
    }
}

/// Runs `f(i)` for every node once all of `deps[i]` succeeded, at most `parallel` at once. After
/// a failure or an interrupt, running steps finish and no new step starts. Returns which succeeded.
async fn schedule<F, Fut>(
    display: &Display,
    deps: Vec<Vec<usize>>,
    parallel: usize,
    interrupt: &CancellationToken,
    f: F,
) -> Vec<bool>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let n = deps.len();
    let mut indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|i| indegree[*i] == 0).collect();
    let mut ok = vec![false; n];
    let mut set = JoinSet::new();
    let mut halted = false;
    let mut done = 0usize;
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.tick().await;
    loop {
        while !halted && !interrupt.is_cancelled() && set.len() < parallel {
            let Some(i) = ready.pop_front() else { break };
            let fut = f(i);
            set.spawn(async move { (i, fut.await) });
        }
        if set.is_empty() {
            break;
        }
        tokio::select! {
            joined = set.join_next() => {
                let Some(joined) = joined else { break };
                done += 1;
                match joined {
                    Ok((i, true)) => {
                        ok[i] = true;
                        for &d in &dependents[i] {
                            indegree[d] -= 1;
                            if indegree[d] == 0 {
                                ready.push_back(d);
                            }
                        }
                    }
                    Ok((_, false)) => halted = true,
                    Err(e) => {
                        display.log("error", format!("a step panicked: {e}"));
                        halted = true;
                    }
                }
            }
            _ = tick.tick() => {
                if !display.is_json() {
                    display.emit(Event::Progress { done, running: set.len() });
                }
            }
        }
    }
    ok
}

fn diff_lines(
    d: &plugin::DiffResult,
    old: &PropertyMap,
    new: &PropertyMap,
    forced: &[String],
) -> Vec<DiffLine> {
    let mut paths: Vec<(String, i32)> = d.detailed.clone();
    if paths.is_empty() {
        for k in &d.diffs {
            let kind = match (old.contains_key(k), new.contains_key(k)) {
                (false, _) => 0,
                (_, false) => 2,
                _ => 4,
            };
            paths.push((
                k.clone(),
                kind + i32::from(d.replaces.contains(k) || forced.contains(k)),
            ));
        }
    }
    paths
        .into_iter()
        .map(|(path, kind)| {
            let top = path.split(['.', '[']).next().unwrap_or(&path).to_string();
            let replace = kind % 2 == 1 || d.replaces.contains(&top) || forced.contains(&top);
            let old_v = (path == top)
                .then(|| old.get(&top).map(value::masked))
                .flatten();
            let new_v = (path == top)
                .then(|| new.get(&top).map(value::masked))
                .flatten();
            let kind = match kind {
                0 | 1 => "add",
                2 | 3 => "delete",
                _ => "update",
            };
            DiffLine {
                path,
                kind: kind.into(),
                replace,
                old: old_v,
                new: new_v,
            }
        })
        .collect()
}

fn apply_ignore_changes(news: &mut PropertyMap, old: &PropertyMap, ignore: &[String]) {
    for path in ignore {
        let top = path.split(['.', '[']).next().unwrap_or(path);
        match old.get(top) {
            Some(v) => {
                news.insert(top.to_string(), v.clone());
            }
            None => {
                news.remove(top);
            }
        }
    }
}

fn timeouts_json(t: &program::CustomTimeouts) -> Option<Json> {
    if t.create.is_none() && t.update.is_none() && t.delete.is_none() {
        return None;
    }
    let s = |d: Option<Duration>| d.map(|d| d.as_secs_f64()).unwrap_or(0.0);
    Some(serde_json::json!({"create": s(t.create), "update": s(t.update), "delete": s(t.delete)}))
}

fn secs(d: Option<Duration>) -> f64 {
    d.map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

async fn up(
    ctx: &Arc<Ctx>,
    snap: &Snapshot,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<BTreeMap<String, Json>, Error> {
    let p = &ctx.project;
    let index: HashMap<&str, usize> = p
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let deps: Vec<Vec<usize>> = p
        .resources
        .iter()
        .map(|r| r.dependencies.iter().map(|d| index[d.as_str()]).collect())
        .collect();
    let ok = schedule_steps(ctx, deps, parallel, interrupt, |ctx, i| async move {
        resource_step(&ctx, i).await
    })
    .await?;
    let all_ok = ok.iter().all(|b| *b);
    let mut outputs = BTreeMap::new();
    if all_ok && !interrupt.is_cancelled() {
        // Deletions: resources no longer in the program, and old copies of replaced resources.
        let program_urns: HashSet<String> = p
            .resources
            .iter()
            .map(|r| ctx.urn(&r.type_token, &r.name))
            .collect();
        let current = ctx.journal.snapshot();
        let doomed: Vec<Resource> = current
            .resources()
            .into_iter()
            .filter(|r| {
                r.custom
                    && !r.type_token.starts_with("pulumi:")
                    && (r.delete || !program_urns.contains(&r.urn))
            })
            .collect();
        delete_all(ctx, doomed, parallel, interrupt).await?;
        // Stack outputs.
        let resolved = ctx.resolved.lock().map(|r| r.clone()).unwrap_or_default();
        let ev = Evaluator {
            project: p,
            resources: &resolved,
        };
        for (name, tmpl) in &p.outputs {
            match ev.eval(tmpl) {
                Ok(v) => {
                    outputs.insert(name.clone(), v);
                }
                Err(e) => ctx.display.log("error", format!("output `{name}`: {e}")),
            }
        }
        if !ctx.preview {
            let stack = Resource {
                urn: ctx.stack_urn.clone(),
                custom: false,
                type_token: "pulumi:pulumi:Stack".into(),
                outputs: outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..Default::default()
            };
            if ctx.journal.get(&stack.urn).as_ref() != Some(&stack) {
                ctx.journal.write(vec![stack], vec![]).await?;
            }
        }
    }
    let _ = snap;
    Ok(outputs)
}

/// One program resource: evaluate, Check, Diff, then create/update/replace or nothing.
/// `Ok(false)` = the step failed (already reported); `Err` = state could not be written.
async fn resource_step(ctx: &Arc<Ctx>, i: usize) -> Result<bool, Error> {
    let decl = &ctx.project.resources[i];
    let ty = decl.type_token.as_str();
    let name = decl.name.as_str();
    let urn = ctx.urn(ty, name);
    let t0 = Instant::now();
    let plugin = ctx.plugins[&decl.package].clone();
    let evaluated = {
        let empty = HashMap::new();
        let guard = ctx.resolved.lock();
        let resolved = guard.as_deref().unwrap_or(&empty);
        let ev = Evaluator {
            project: &ctx.project,
            resources: resolved,
        };
        ev.eval(&Json::Object(decl.properties.clone()))
    };
    let mut news = match evaluated {
        Ok(Json::Object(m)) => m,
        Ok(_) => PropertyMap::new(),
        Err(e) => {
            let msg = format!("{}:{}: {name}: {e}", ctx.project.file.display(), decl.line);
            ctx.step("create", &urn, ty, "failed", t0, vec![], Some(msg.clone()));
            ctx.fail(msg);
            return Ok(false);
        }
    };
    let old = ctx.journal.get(&urn);
    let opts = &decl.options;
    if let Some(o) = &old {
        apply_ignore_changes(&mut news, &o.inputs, &opts.ignore_changes);
    }
    let empty = PropertyMap::new();
    let old_inputs = old.as_ref().map(|o| &o.inputs).unwrap_or(&empty);
    let failed = |op: &str, msg: String| {
        let full = format!("{name} ({ty}): {msg}");
        ctx.step(op, &urn, ty, "failed", t0, vec![], Some(msg));
        ctx.fail(full);
        Ok(false)
    };
    let checked = match plugin.check(&urn, name, ty, old_inputs, &news).await {
        Ok(c) => c,
        Err(e) => {
            return failed(
                if old.is_some() { "update" } else { "create" },
                format!("Check: {e}"),
            );
        }
    };
    let deps: Vec<String> = decl
        .dependencies
        .iter()
        .map(|d| {
            ctx.urn(
                &ctx.project
                    .resource(d)
                    .map(|r| r.type_token.clone())
                    .unwrap_or_default(),
                d,
            )
        })
        .collect();
    let now = state::now_rfc3339();
    let mut new_res = Resource {
        urn: urn.clone(),
        custom: true,
        type_token: ty.to_string(),
        inputs: checked.clone(),
        parent: ctx.stack_urn.clone(),
        protect: opts.protect,
        dependencies: deps,
        provider: ctx
            .provider_refs
            .get(&decl.package)
            .cloned()
            .unwrap_or_default(),
        retain_on_delete: opts.retain_on_delete,
        custom_timeouts: timeouts_json(&opts.custom_timeouts),
        ignore_changes: opts.ignore_changes.clone(),
        replace_on_changes: opts.replace_on_changes.clone(),
        created: Some(now.clone()),
        modified: Some(now),
        ..Default::default()
    };
    let status_ok = if ctx.preview { "planned" } else { "ok" };

    // Decide.
    enum Kind {
        Create,
        Same,
        Update(Vec<DiffLine>),
        Replace(Vec<DiffLine>, bool),
    }
    let kind = match &old {
        None => Kind::Create,
        Some(o) => {
            let d = match plugin
                .diff(
                    &urn,
                    name,
                    ty,
                    &o.id,
                    &o.outputs,
                    &o.inputs,
                    &checked,
                    &opts.ignore_changes,
                )
                .await
            {
                Ok(d) => d,
                Err(e) => return failed("update", format!("Diff: {e}")),
            };
            let mut changed: Vec<String> = d.diffs.clone();
            changed.extend(
                d.detailed
                    .iter()
                    .map(|(k, _)| k.split(['.', '[']).next().unwrap_or(k).to_string()),
            );
            let has_changes = match d.changes {
                2 => true,
                1 => false,
                _ => {
                    // DIFF_UNKNOWN: compare inputs ourselves.
                    let mut keys: BTreeSet<&String> = o.inputs.keys().collect();
                    keys.extend(checked.keys());
                    for k in keys {
                        if o.inputs.get(k) != checked.get(k) {
                            changed.push(k.clone());
                        }
                    }
                    !changed.is_empty()
                }
            };
            let forced: Vec<String> = opts
                .replace_on_changes
                .iter()
                .filter(|r| r.as_str() == "*" || changed.iter().any(|c| c == *r))
                .cloned()
                .collect();
            let replace = has_changes
                && (!d.replaces.is_empty()
                    || d.detailed.iter().any(|(_, k)| k % 2 == 1)
                    || !forced.is_empty());
            let mut dd = d.clone();
            if dd.diffs.is_empty() && dd.detailed.is_empty() {
                dd.diffs = changed.clone();
            }
            let lines = diff_lines(&dd, &o.inputs, &checked, &forced);
            if replace {
                Kind::Replace(lines, opts.delete_before_replace || d.delete_before_replace)
            } else if has_changes || !o.init_errors.is_empty() {
                Kind::Update(lines)
            } else {
                Kind::Same
            }
        }
    };
    let create_timeout = secs(opts.custom_timeouts.create);
    match kind {
        Kind::Same => {
            let o = old.expect("same implies old state");
            new_res.id = o.id.clone();
            new_res.outputs = o.outputs.clone();
            new_res.inputs = o.inputs.clone();
            new_res.created = o.created.clone();
            new_res.modified = o.modified.clone();
            if !ctx.preview && new_res != o {
                ctx.journal.write(vec![new_res.clone()], vec![]).await?;
            }
            ctx.step("same", &urn, ty, status_ok, t0, vec![], None);
            resolve(ctx, name, &urn, Json::String(o.id), o.outputs);
            Ok(true)
        }
        Kind::Create => {
            if ctx.preview {
                let outputs =
                    preview_create(&plugin, &urn, name, ty, &checked, create_timeout).await;
                match outputs {
                    Ok(out) => {
                        ctx.step("create", &urn, ty, status_ok, t0, vec![], None);
                        resolve(ctx, name, &urn, value::unknown(), out);
                        Ok(true)
                    }
                    Err(e) => failed("create", e.to_string()),
                }
            } else {
                create(ctx, &plugin, new_res, "create", t0, None, vec![]).await
            }
        }
        Kind::Update(lines) => {
            let o = old.expect("update implies old state");
            new_res.id = o.id.clone();
            new_res.created = o.created.clone();
            if ctx.preview {
                let out = if plugin.supports_preview {
                    plugin
                        .update(
                            &urn,
                            name,
                            ty,
                            &o.id,
                            &o.outputs,
                            &o.inputs,
                            &checked,
                            secs(opts.custom_timeouts.update),
                            &opts.ignore_changes,
                            true,
                        )
                        .await
                } else {
                    let mut m = o.outputs.clone();
                    m.extend(checked.clone());
                    Ok(m)
                };
                return match out {
                    Ok(out) => {
                        ctx.step("update", &urn, ty, status_ok, t0, lines, None);
                        resolve(ctx, name, &urn, Json::String(o.id), out);
                        Ok(true)
                    }
                    Err(e) => failed("update", format!("Update (preview): {e}")),
                };
            }
            ctx.display.emit(Event::StepStart {
                op: "update".into(),
                urn: urn.clone(),
            });
            let op = ctx.journal.begin(OperationType::Updating, &o).await?;
            match plugin
                .update(
                    &urn,
                    name,
                    ty,
                    &o.id,
                    &o.outputs,
                    &o.inputs,
                    &checked,
                    secs(opts.custom_timeouts.update),
                    &opts.ignore_changes,
                    false,
                )
                .await
            {
                Ok(out) => {
                    new_res.outputs = out.clone();
                    ctx.journal.end(Some(op), vec![new_res], vec![]).await?;
                    ctx.step("update", &urn, ty, "ok", t0, lines, None);
                    resolve(ctx, name, &urn, Json::String(o.id), out);
                    Ok(true)
                }
                Err(CallError::InitFailed {
                    outputs, reasons, ..
                }) => {
                    // The update half-happened: keep the old inputs, record the new outputs.
                    new_res.inputs = o.inputs.clone();
                    new_res.outputs = outputs;
                    new_res.init_errors = reasons.clone();
                    ctx.journal.end(Some(op), vec![new_res], vec![]).await?;
                    let msg = format!("updated but failed to initialize: {}", reasons.join("; "));
                    ctx.step("update", &urn, ty, "partial", t0, lines, Some(msg.clone()));
                    ctx.fail(format!("{name} ({ty}): {msg}; the next `up` retries it"));
                    Ok(false)
                }
                Err(CallError::Failed {
                    message,
                    outcome_unknown,
                }) => {
                    if !outcome_unknown {
                        ctx.journal.end(Some(op), vec![], vec![]).await?;
                    }
                    failed("update", format!("Update: {message}"))
                }
            }
        }
        Kind::Replace(lines, delete_first) => {
            let o = old.expect("replace implies old state");
            if ctx.preview {
                return match preview_create(&plugin, &urn, name, ty, &checked, create_timeout).await
                {
                    Ok(out) => {
                        ctx.step("replace", &urn, ty, status_ok, t0, lines, None);
                        resolve(ctx, name, &urn, value::unknown(), out);
                        Ok(true)
                    }
                    Err(e) => failed("replace", e.to_string()),
                };
            }
            if delete_first {
                if o.protect {
                    return failed("replace", "it is protected, so it cannot be deleted to be replaced; set `protect: false` first".into());
                }
                if !o.retain_on_delete {
                    let op = ctx.journal.begin(OperationType::Deleting, &o).await?;
                    match plugin
                        .delete(
                            &urn,
                            name,
                            ty,
                            &o.id,
                            &o.outputs,
                            &o.inputs,
                            secs(opts.custom_timeouts.delete),
                        )
                        .await
                    {
                        Ok(()) => {
                            ctx.journal
                                .end(Some(op), vec![], vec![(urn.clone(), false)])
                                .await?
                        }
                        Err(e) => {
                            if !matches!(
                                e,
                                CallError::Failed {
                                    outcome_unknown: true,
                                    ..
                                }
                            ) {
                                ctx.journal.end(Some(op), vec![], vec![]).await?;
                            }
                            return failed("replace", format!("Delete (before replace): {e}"));
                        }
                    }
                } else {
                    ctx.journal
                        .write(vec![], vec![(urn.clone(), false)])
                        .await?;
                }
                create(ctx, &plugin, new_res, "replace", t0, None, lines).await
            } else {
                let mut old_marked = o.clone();
                old_marked.delete = true;
                create(
                    ctx,
                    &plugin,
                    new_res,
                    "replace",
                    t0,
                    Some(old_marked),
                    lines,
                )
                .await
            }
        }
    }
}

async fn preview_create(
    plugin: &Plugin,
    urn: &str,
    name: &str,
    ty: &str,
    checked: &PropertyMap,
    timeout: f64,
) -> Result<PropertyMap, CallError> {
    if plugin.supports_preview {
        plugin
            .create(urn, name, ty, checked, timeout, true)
            .await
            .map(|(_, out)| out)
    } else {
        Ok(checked.clone())
    }
}

fn resolve(ctx: &Ctx, name: &str, urn: &str, id: Json, outputs: PropertyMap) {
    if let Ok(mut r) = ctx.resolved.lock() {
        r.insert(
            name.to_string(),
            ResolvedResource {
                urn: urn.to_string(),
                id,
                outputs,
            },
        );
    }
}

/// Create (also the create half of a replace). `old_marked` = the old copy, marked for deletion,
/// written in the same record as the new resource when the create succeeds.
async fn create(
    ctx: &Arc<Ctx>,
    plugin: &Plugin,
    mut res: Resource,
    op_name: &str,
    t0: Instant,
    old_marked: Option<Resource>,
    lines: Vec<DiffLine>,
) -> Result<bool, Error> {
    let name = res.name().to_string();
    let urn = res.urn.clone();
    let ty = res.type_token.clone();
    let timeout = res
        .custom_timeouts
        .as_ref()
        .and_then(|t| t["create"].as_f64())
        .unwrap_or(0.0);

    let mut extra = Vec::new();
    let mut remove = Vec::new();
    if let Some(o) = &old_marked {
        extra.push(o.clone());
        remove.push((urn.clone(), false));
    }
    ctx.display.emit(Event::StepStart {
        op: op_name.into(),
        urn: urn.clone(),
    });
    let op = ctx.journal.begin(OperationType::Creating, &res).await?;
    match plugin
        .create(&urn, &name, &ty, &res.inputs, timeout, false)
        .await
    {
        Ok((id, out)) => {
            res.id = id.clone();
            res.outputs = out.clone();
            let mut put = extra;
            put.push(res);
            ctx.journal.end(Some(op), put, remove).await?;
            ctx.step(op_name, &urn, &ty, "ok", t0, lines, None);
            resolve(ctx, &name, &urn, Json::String(id), out);
            Ok(true)
        }
        Err(CallError::InitFailed {
            id,
            outputs,
            inputs,
            reasons,
        }) => {
            res.id = id;
            res.outputs = outputs;
            if let Some(i) = inputs {
                res.inputs = i;
            }
            res.init_errors = reasons.clone();
            let mut put = extra;
            put.push(res);
            ctx.journal.end(Some(op), put, remove).await?;
            let msg = format!("created but failed to initialize: {}", reasons.join("; "));
            ctx.step(op_name, &urn, &ty, "partial", t0, lines, Some(msg.clone()));
            ctx.fail(format!(
                "{name} ({ty}): {msg}; the next `up` retries it with an update"
            ));
            Ok(false)
        }
        Err(CallError::Failed {
            message,
            outcome_unknown,
        }) => {
            let advice = if outcome_unknown {
                "; the outcome is unknown, so the pending operation stays recorded".to_string()
            } else {
                ctx.journal.end(Some(op), vec![], vec![]).await?;
                String::new()
            };
            let msg = format!("Create: {message}{advice}");
            ctx.step(op_name, &urn, &ty, "failed", t0, lines, Some(msg.clone()));
            ctx.fail(format!("{name} ({ty}): {msg}"));
            Ok(false)
        }
    }
}

/// Deletes `doomed` in reverse dependency order.
async fn delete_all(
    ctx: &Arc<Ctx>,
    doomed: Vec<Resource>,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<(), Error> {
    if doomed.is_empty() {
        return Ok(());
    }
    let mut by_urn: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in doomed.iter().enumerate() {
        by_urn.entry(r.urn.as_str()).or_default().push(i);
    }
    // i waits for every doomed resource that depends on it.
    let mut deps = vec![Vec::new(); doomed.len()];
    for (j, r) in doomed.iter().enumerate() {
        for d in &r.dependencies {
            for &i in by_urn.get(d.as_str()).into_iter().flatten() {
                if i != j {
                    deps[i].push(j);
                }
            }
        }
    }
    let doomed = Arc::new(doomed);
    schedule_steps(ctx, deps, parallel, interrupt, |ctx, i| {
        let doomed = doomed.clone();
        async move { delete_one(&ctx, &doomed[i]).await }
    })
    .await?;
    Ok(())
}

async fn delete_one(ctx: &Arc<Ctx>, r: &Resource) -> Result<bool, Error> {
    let t0 = Instant::now();
    let ty = r.type_token.as_str();
    let op_name = if r.delete {
        "delete-replaced"
    } else {
        "delete"
    };
    let status_ok = if ctx.preview { "planned" } else { "ok" };
    if r.protect && !r.delete {
        let msg =
            "it is protected; set `protect: false` in the program and run `up` before deleting it"
                .to_string();
        ctx.step(op_name, &r.urn, ty, "failed", t0, vec![], Some(msg.clone()));
        ctx.fail(format!("{} ({ty}): {msg}", r.name()));
        return Ok(false);
    }
    if ctx.preview {
        ctx.step(op_name, &r.urn, ty, status_ok, t0, vec![], None);
        return Ok(true);
    }
    if r.retain_on_delete {
        ctx.journal
            .write(vec![], vec![(r.urn.clone(), r.delete)])
            .await?;
        ctx.step(
            op_name,
            &r.urn,
            ty,
            "ok",
            t0,
            vec![],
            Some("retained (retainOnDelete): dropped from state, not deleted".into()),
        );
        return Ok(true);
    }
    let Some(plugin) = ctx.plugins.get(package_of(ty)).cloned() else {
        let msg = format!("no plugin for package `{}`", package_of(ty));
        ctx.step(op_name, &r.urn, ty, "failed", t0, vec![], Some(msg.clone()));
        ctx.fail(msg);
        return Ok(false);
    };
    let timeout = r
        .custom_timeouts
        .as_ref()
        .and_then(|t| t["delete"].as_f64())
        .unwrap_or(0.0);
    ctx.display.emit(Event::StepStart {
        op: op_name.into(),
        urn: r.urn.clone(),
    });
    let op = ctx.journal.begin(OperationType::Deleting, r).await?;
    match plugin
        .delete(&r.urn, r.name(), ty, &r.id, &r.outputs, &r.inputs, timeout)
        .await
    {
        Ok(()) => {
            ctx.journal
                .end(Some(op), vec![], vec![(r.urn.clone(), r.delete)])
                .await?;
            ctx.step(op_name, &r.urn, ty, "ok", t0, vec![], None);
            Ok(true)
        }
        Err(e) => {
            if !matches!(
                e,
                CallError::Failed {
                    outcome_unknown: true,
                    ..
                }
            ) {
                ctx.journal.end(Some(op), vec![], vec![]).await?;
            }
            let msg = format!("Delete: {e}");
            ctx.step(op_name, &r.urn, ty, "failed", t0, vec![], Some(msg.clone()));
            ctx.fail(format!("{} ({ty}): {msg}", r.name()));
            Ok(false)
        }
    }
}

async fn destroy(
    ctx: &Arc<Ctx>,
    snap: &Snapshot,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<(), Error> {
    let doomed: Vec<Resource> = snap
        .resources()
        .into_iter()
        .filter(|r| r.custom && !r.type_token.starts_with("pulumi:"))
        .collect();
    delete_all(ctx, doomed, parallel, interrupt).await?;
    let left = ctx.journal.snapshot().resources();
    if left.iter().all(|r| r.type_token.starts_with("pulumi:")) {
        ctx.journal
            .write(
                vec![],
                left.iter().map(|r| (r.urn.clone(), r.delete)).collect(),
            )
            .await?;
    }
    Ok(())
}

async fn refresh(
    ctx: &Arc<Ctx>,
    snap: &Snapshot,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<(), Error> {
    let targets: Arc<Vec<Resource>> = Arc::new(
        snap.resources()
            .into_iter()
            .filter(|r| r.custom && !r.type_token.starts_with("pulumi:"))
            .collect(),
    );
    let deps = vec![Vec::new(); targets.len()];
    schedule_steps(ctx, deps, parallel, interrupt, |ctx, i| {
        let targets = targets.clone();
        async move { refresh_one(&ctx, &targets[i]).await }
    })
    .await?;
    Ok(())
}

async fn refresh_one(ctx: &Arc<Ctx>, r: &Resource) -> Result<bool, Error> {
    let t0 = Instant::now();
    let ty = r.type_token.as_str();
    let Some(plugin) = ctx.plugins.get(package_of(ty)).cloned() else {
        ctx.fail(format!("no plugin for package `{}`", package_of(ty)));
        return Ok(false);
    };
    let (id, outputs, inputs, init_errors) = match plugin
        .read(&r.urn, r.name(), ty, &r.id, &r.outputs, &r.inputs)
        .await
    {
        Ok((id, out, ins)) => (id, out, ins, vec![]),
        Err(CallError::InitFailed {
            id,
            outputs,
            inputs,
            reasons,
        }) => (id, outputs, inputs, reasons),
        Err(e) => {
            let msg = format!("Read: {e}");
            ctx.step(
                "refresh",
                &r.urn,
                ty,
                "failed",
                t0,
                vec![],
                Some(msg.clone()),
            );
            ctx.fail(format!("{} ({ty}): {msg}", r.name()));
            return Ok(false);
        }
    };
    if id.is_empty() {
        ctx.journal
            .write(vec![], vec![(r.urn.clone(), r.delete)])
            .await?;
        ctx.step(
            "read-delete",
            &r.urn,
            ty,
            "ok",
            t0,
            vec![],
            Some("the resource no longer exists; removed from state".into()),
        );
        return Ok(true);
    }
    let mut keys: BTreeSet<&String> = r.outputs.keys().collect();
    keys.extend(outputs.keys());
    let drift: Vec<DiffLine> = keys
        .into_iter()
        .filter(|k| r.outputs.get(*k) != outputs.get(*k))
        .map(|k| DiffLine {
            path: k.clone(),
            kind: match (r.outputs.contains_key(k), outputs.contains_key(k)) {
                (false, _) => "add".into(),
                (_, false) => "delete".into(),
                _ => "update".into(),
            },
            replace: false,
            old: r.outputs.get(k).map(value::masked),
            new: outputs.get(k).map(value::masked),
        })
        .collect();
    let mut updated = r.clone();
    updated.id = id;
    updated.outputs = outputs;
    if let Some(i) = inputs {
        updated.inputs = i;
    }
    updated.init_errors = init_errors;
    if updated != *r {
        updated.modified = Some(state::now_rfc3339());
        ctx.journal.write(vec![updated], vec![]).await?;
    }
    let op = if drift.is_empty() { "same" } else { "refresh" };
    ctx.step(op, &r.urn, ty, "ok", t0, drift, None);
    Ok(true)
}
