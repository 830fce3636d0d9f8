//! Many Creates, then many Deletes, at once on one connection: each call with the inputs of its
//! own instance (`${N}` replaced per call), and the provider's own refusals told apart from
//! calls the transport lost.

use super::{CaseResult, Rec, start};
use crate::fixture::ResourceFixture;
use crate::kit::Ctx;
use crate::values::PropertyMap;
use std::collections::BTreeSet;

use crate::placeholders::INSTANCE;
use crate::session::{CallError, Cause};

pub(super) async fn concurrency(
    ctx: &Ctx,
    rec: &mut Rec,
    template: &ResourceFixture,
) -> CaseResult {
    let n = ctx.kit.concurrency.max(1);
    let distinct = serde_json::Value::Object(template.inputs.clone())
        .to_string()
        .contains(INSTANCE);
    let s = start(ctx).await?;
    let instances: Vec<ResourceFixture> = (0..n)
        .map(|_| template.instance(ctx.next_instance()))
        .collect();
    let (empty, news): (PropertyMap, Vec<PropertyMap>) = (
        PropertyMap::new(),
        instances
            .iter()
            .map(|r| ResourceFixture::map(&r.inputs))
            .collect(),
    );
    let checks = futures::future::join_all(
        instances
            .iter()
            .zip(&news)
            .map(|(r, news)| s.check_valid(r, &empty, news, "inputs")),
    )
    .await;
    let inputs = checks.into_iter().collect::<Result<Vec<_>, _>>()?;
    let type_token = &template.type_token;
    let started = std::time::Instant::now();
    let creates = futures::future::join_all(
        instances
            .iter()
            .zip(&inputs)
            .map(|(r, inputs)| s.create(r, inputs, false)),
    )
    .await;
    let mut made = Vec::new();
    let mut errors: Vec<CallError> = Vec::new();
    for ((r, inputs), c) in instances.iter().zip(&inputs).zip(creates) {
        match c {
            Ok((id, outputs)) if !id.is_empty() => made.push((r, id, outputs, inputs)),
            Ok(_) => errors.push(CallError {
                status: None,
                cause: Cause::Provider,
                explanation: "an empty id".into(),
            }),
            Err(e) => errors.push(e),
        }
    }
    let same_inputs = if distinct {
        ""
    } else {
        "; every call sent the same inputs (the fixture's inputs have no `${N}`): if two resources with \
         these inputs cannot exist at once, put `${N}` in an input that names the resource, or skip the case"
    };
    let ids: BTreeSet<&String> = made.iter().map(|(_, id, _, _)| id).collect();
    if ids.len() != made.len() {
        rec.fail(
            format!("{n} concurrent Creates({type_token})"),
            "a distinct id per resource",
            format!("{} distinct ids for {} resources", ids.len(), made.len()),
            format!("do not share state between concurrent calls{same_inputs}"),
        );
    }
    report_errors(
        rec,
        &format!("{n} concurrent Creates({type_token}) on one connection"),
        n,
        &errors,
        same_inputs,
    );
    let deletes = futures::future::join_all(
        made.iter()
            .map(|(r, id, outputs, inputs)| s.delete(r, id, outputs, inputs)),
    )
    .await;
    let errors: Vec<CallError> = deletes.into_iter().filter_map(Result::err).collect();
    report_errors(
        rec,
        &format!(
            "{} concurrent Deletes({type_token}) on one connection",
            made.len()
        ),
        made.len(),
        &errors,
        "",
    );
    rec.note(format!(
        "{type_token}: {n} Creates and Deletes in {:.2} s, {}",
        started.elapsed().as_secs_f64(),
        if distinct {
            "each with its own inputs (`${N}`)"
        } else {
            "all with the same inputs"
        }
    ));
    Ok(())
}

/// One finding for the calls the provider refused and one for those the transport lost, each
/// with a sample of the distinct messages.
fn report_errors(
    rec: &mut Rec,
    check: &str,
    total: usize,
    errors: &[CallError],
    refused_hint: &str,
) {
    let (refused, lost): (Vec<&CallError>, Vec<&CallError>) =
        errors.iter().partition(|e| e.cause == Cause::Provider);
    if !refused.is_empty() {
        rec.fail(
            format!("{check}: errors the provider returned"),
            format!("all {total} calls succeed"),
            format!(
                "the provider answered {} of {total} with an error: {}",
                refused.len(),
                sample(&refused)
            ),
            format!(
                "each call is a different resource: make concurrent operations on distinct resources independent{refused_hint}"
            ),
        );
    }
    if !lost.is_empty() {
        rec.fail(
            format!("{check}: calls without an answer"),
            format!("all {total} calls answered"),
            format!(
                "{} of {total} got no answer (transport failure, crash or timeout): {}",
                lost.len(),
                sample(&lost)
            ),
            "serve concurrent calls on one HTTP/2 connection without dropping or cancelling any",
        );
        rec.sdk_fix(
            "`Plugin::main` serves calls concurrently; a blocking call (std::thread::sleep, a blocking lock or \
             file I/O) in an async method stalls the others: use tokio's async equivalents or `spawn_blocking`",
        );
    }
}

/// The first line of up to three distinct messages, with how often each came.
fn sample(errors: &[&CallError]) -> String {
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for e in errors {
        let first = e.explanation.lines().next().unwrap_or("").to_string();
        match kinds.iter_mut().find(|(k, _)| *k == first) {
            Some((_, n)) => *n += 1,
            None => kinds.push((first, 1)),
        }
    }
    kinds
        .iter()
        .take(3)
        .map(|(k, n)| format!("{n}× {k}"))
        .collect::<Vec<_>>()
        .join("; ")
}
