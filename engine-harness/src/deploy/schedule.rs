//! Running steps in parallel along the dependency graph, stopping cleanly at the first failure.

use super::Ctx;
use crate::Error;
use crate::display::{Display, Event};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// [`schedule`] for engine steps: a step's `Err` (a state-file failure, which must stop the
/// whole operation) is shown, counts as a failed step, and the first one is returned.
pub(super) async fn schedule_steps<F, Fut>(
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
        // A step's future holds every provider call and journal write of the step (tens of
        // kilobytes): boxed once here, it is not copied again into the wrapper and the task.
        let fut = Box::pin(step(ctx.clone(), i));
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
pub(super) async fn schedule<F, Fut>(
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
