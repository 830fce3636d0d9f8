//! Delete, idempotency, partial initialization and Cancel.

use super::resource::{cleanup, compare_state, expect_no_change};
use super::{CaseResult, Rec, Stop, start};
use crate::fixture::ResourceFixture;
use crate::kit::Ctx;
use crate::values::{PropertyMap, decode_struct, show_map, unwrap_map};
use prost::Message;
use std::time::Duration;

/// How `provider-sdk` reports a resource that no longer exists.
const READ_GONE: &str = "return `Ok(None)` from `Resource::read` when the resource no longer exists \
     (with the untyped `ResourceProvider`: `ReadResponse::gone()`)";

pub(super) async fn delete_then_read(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    if let Some(why) = &r.lives_in_state {
        return Err(Stop::NotApplicable(format!(
            "the fixture says the resource lives only in state: {why}"
        )));
    }
    let s = start(ctx).await?;
    let inputs = s
        .check_valid(
            r,
            &PropertyMap::new(),
            &ResourceFixture::map(&r.inputs),
            "inputs",
        )
        .await?;
    let (id, outputs) = s.create_ok(r, &inputs).await?;
    s.delete(r, &id, &outputs, &inputs).await.map_err(|e| {
        e.finding(
            format!("Delete({})", r.type_token),
            "Delete must remove a resource that Create made",
        )
    })?;
    let check = format!("Read({}) after Delete", r.type_token);
    match s.read(r, &id, &outputs, &inputs).await {
        Ok((read_id, _, _)) if read_id.is_empty() => {}
        Ok((read_id, props, _)) => rec.fail(
            check,
            "an empty id: the resource is gone",
            format!("id {read_id:?} with {}", show_map(&props)),
            "when the resource no longer exists, Read must return an empty id (not the old state)",
        ),
        Err(e) => rec.fail(
            check,
            "a response with an empty id",
            e.explanation,
            "report a missing resource with an empty id, not an error: refresh then drops it from state",
        ),
    }
    rec.sdk_fix(READ_GONE);
    Ok(())
}

pub(super) async fn idempotency(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    let news = ResourceFixture::map(&r.inputs);
    let inputs = s
        .check_valid(r, &PropertyMap::new(), &news, "inputs")
        .await?;
    let (id, outputs) = s.create_ok(r, &inputs).await?;
    // Second `up`: Check against the recorded inputs, then Diff.
    let again = or_cleanup!(
        s.check_valid(r, &inputs, &news, "inputs (second up)").await,
        (&s, rec, r, &id, &outputs, &inputs)
    );
    if unwrap_map(&again) != unwrap_map(&inputs) {
        rec.fail(
            format!("{}: Check on the second up", r.type_token),
            show_map(&inputs),
            show_map(&again),
            "Check must be deterministic for the same inputs, olds and random seed",
        );
    }
    match s.diff(r, &id, &outputs, &inputs, &again).await {
        Err(e) => rec.findings.push(e.finding(
            format!("Diff({}) on the second up", r.type_token),
            "answer Diff",
        )),
        Ok(d) => expect_no_change(rec, &format!("Diff({}) on the second up", r.type_token), &d),
    }
    // Refresh right after up: Read shows no drift, and the next Diff is still a no-op.
    let check = format!("refresh (Read of {}) right after up", r.type_token);
    match s.read(r, &id, &outputs, &inputs).await {
        Err(e) => rec.findings.push(e.finding(check, "answer Read")),
        Ok((read_id, props, read_inputs)) if !read_id.is_empty() => {
            compare_state(
                rec,
                &check,
                &outputs,
                &props,
                "Read must return the same state when nothing changed outside Pulumi",
            );
            let recorded_inputs = if read_inputs.is_empty() {
                inputs.clone()
            } else {
                read_inputs
            };
            match s.diff(r, &id, &props, &recorded_inputs, &again).await {
                Err(e) => rec.findings.push(e.finding(
                    format!("Diff({}) after refresh", r.type_token),
                    "answer Diff",
                )),
                Ok(d) => {
                    expect_no_change(rec, &format!("Diff({}) after refresh", r.type_token), &d)
                }
            }
        }
        Ok(_) => rec.fail(
            check,
            format!("id {id:?}"),
            "an empty id: Read reported the resource gone",
            "Read must find the resource",
        ),
    }
    cleanup(&s, rec, r, &id, &outputs, &inputs).await;
    Ok(())
}

pub(super) async fn partial_init(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let Some(fx) = &r.partial_init else {
        return Err(Stop::NotApplicable(
            "the fixture names no way to provoke a partial-initialization error".into(),
        ));
    };
    let r = &r.retyped(fx.type_token.as_ref());
    let s = start(ctx).await?;
    let inputs = s
        .check_valid(
            r,
            &PropertyMap::new(),
            &ResourceFixture::map(&fx.inputs),
            "partial_init inputs",
        )
        .await?;
    let check = format!("Create({}) that fails to initialise", r.type_token);
    let error = match s.create(r, &inputs, false).await {
        Ok((id, outputs)) => {
            rec.fail(
                check,
                "an UNKNOWN error with an ErrorResourceInitFailed detail",
                format!("success with id {id:?}"),
                "the fixture's partial_init inputs must provoke the error",
            );
            if !id.is_empty() {
                cleanup(&s, rec, r, &id, &outputs, &inputs).await;
            }
            return Ok(());
        }
        Err(e) => e,
    };
    let Some(status) = error.status else {
        rec.fail(
            check,
            "an UNKNOWN error with an ErrorResourceInitFailed detail",
            error.explanation,
            "answer with the error",
        );
        rec.sdk_fix(
            "return `Err(Error::init_failed(..))` from `Resource::create` with the id and state of what was made",
        );
        return Ok(());
    };
    if status.code() != tonic::Code::Unknown {
        rec.fail(
            check.clone(),
            "gRPC code UNKNOWN",
            format!("{:?}: {}", status.code(), status.message()),
            "report a partial failure with code UNKNOWN",
        );
    }
    let detail = pulumirpc::google::RpcStatus::decode(status.details())
        .ok()
        .and_then(|st| {
            st.details
                .into_iter()
                .find(|a| a.type_url == "type.googleapis.com/pulumirpc.ErrorResourceInitFailed")
        });
    let Some(any) = detail else {
        rec.fail(
            check,
            "a grpc-status-details-bin trailer holding Any(type.googleapis.com/pulumirpc.ErrorResourceInitFailed)",
            "no such detail",
            "attach ErrorResourceInitFailed{id, properties, reasons, inputs} so the engine keeps the resource in state",
        );
        return Ok(());
    };
    let failed = match pulumirpc::ErrorResourceInitFailed::decode(any.value.as_slice()) {
        Ok(f) => f,
        Err(e) => {
            rec.fail(
                check,
                "a decodable ErrorResourceInitFailed",
                e.to_string(),
                "encode the detail as the protobuf message",
            );
            return Ok(());
        }
    };
    if failed.id.is_empty() {
        rec.fail(
            format!("{check}: detail id"),
            "the id of the resource that was created",
            "empty",
            "set `id`: the engine records the resource under it",
        );
    }
    if failed.reasons.is_empty() || failed.reasons.iter().any(|r| r.trim().is_empty()) {
        rec.fail(
            format!("{check}: detail reasons"),
            "at least one non-empty reason",
            format!("{:?}", failed.reasons),
            "say why initialisation failed",
        );
    }
    let props = decode_struct(failed.properties.as_ref());
    match &props {
        Err(e) => rec.fail(
            format!("{check}: detail properties"),
            "a well-formed Struct",
            e.to_string(),
            "encode properties as Pulumi does",
        ),
        Ok(p) if p.is_empty() => rec.fail(
            format!("{check}: detail properties"),
            "the state of the created resource",
            "empty",
            "set `properties`",
        ),
        Ok(_) => {}
    }
    rec.note(format!("{}: reasons {:?}", r.type_token, failed.reasons));
    if !failed.id.is_empty() {
        cleanup(&s, rec, r, &failed.id, &props.unwrap_or_default(), &inputs).await;
    }
    Ok(())
}

pub(super) async fn cancel(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let s = start(ctx).await?;
    match s.call("Cancel", s.plugin.client().cancel(())).await {
        Ok(()) => {}
        Err(e) if e.unimplemented() => {
            rec.note("Cancel answered UNIMPLEMENTED (tolerated by the engine)")
        }
        Err(e) => rec
            .findings
            .push(e.finding("Cancel", "answer Cancel promptly (Empty or UNIMPLEMENTED)")),
    }
    s.plugin.signal(plugin_host::Signal::INT);
    match s.plugin.wait_exit(Duration::from_secs(5)).await {
        Some(status) if status.code() == Some(0) => {}
        Some(status) => rec.fail(
            "exit after Cancel then SIGINT",
            "exit code 0",
            status.to_string(),
            "shut down cleanly after Cancel",
        ),
        None => rec.fail(
            "exit after Cancel then SIGINT",
            "exit within 5 s",
            "still running",
            "after Cancel, stop work and exit promptly on SIGINT",
        ),
    }
    let slow: Vec<&ResourceFixture> = ctx
        .fixture
        .resources
        .iter()
        .filter(|r| r.slow_create.is_some())
        .collect();
    if slow.is_empty() {
        rec.note("no `slow_create` in the fixture: Cancel of an in-flight Create not tried");
    }
    for r in slow {
        if let Err(Stop::Failed(f)) = cancel_in_flight(ctx, rec, r).await {
            rec.findings.push(f);
        }
    }
    Ok(())
}

pub(super) async fn cancel_in_flight(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let Some(fx) = &r.slow_create else {
        return Ok(());
    };
    let r = &r.retyped(fx.type_token.as_ref());
    let within = Duration::from_secs_f64(fx.cancel_within.unwrap_or(10.0).max(0.1));
    let s = start(ctx).await?;
    let inputs = s
        .check_valid(
            r,
            &PropertyMap::new(),
            &ResourceFixture::map(&fx.inputs),
            "slow_create inputs",
        )
        .await?;
    let create = async {
        let created = s.create(r, &inputs, false).await;
        (created, std::time::Instant::now())
    };
    let cancel = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let sent = std::time::Instant::now();
        (s.call("Cancel", s.plugin.client().cancel(())).await, sent)
    };
    let ((created, ended), (cancelled, sent)) = tokio::join!(create, cancel);
    let check = format!("Create({}) in flight when Cancel came", r.type_token);
    if ended < sent {
        rec.fail(
            check,
            "a Create still running 1 s after it started",
            format!(
                "it ended first ({})",
                if created.is_ok() {
                    "succeeded"
                } else {
                    "failed"
                }
            ),
            "make the fixture's slow_create inputs run longer",
        );
        return Ok(());
    }
    if let Err(e) = &cancelled {
        if e.unimplemented() {
            rec.note("Cancel answered UNIMPLEMENTED");
        } else {
            rec.findings
                .push(e.finding("Cancel during a Create", "answer Cancel promptly"));
        }
    }
    let after = ended.duration_since(sent);
    if after > within {
        rec.fail(
            check.clone(),
            format!("Create ends within {within:?} of Cancel"),
            format!("it ran on for {:.1} s after Cancel", after.as_secs_f64()),
            "watch for cancellation in long operations and stop them when Cancel arrives",
        );
        rec.sdk_fix(
            "race long work against `ctx.cancelled().await` (or poll `ctx.is_cancelled()`) and return an error when it fires",
        );
    } else {
        rec.note(format!(
            "{}: Create ended {:.2} s after Cancel",
            r.type_token,
            after.as_secs_f64()
        ));
    }
    if let Ok((id, outputs)) = created {
        rec.note(format!(
            "{}: the cancelled Create still succeeded (id {id:?})",
            r.type_token
        ));
        if !id.is_empty() {
            let _ = s.delete(r, &id, &outputs, &inputs).await;
        }
    }
    Ok(())
}
