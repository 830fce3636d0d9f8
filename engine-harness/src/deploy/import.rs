//! Adopting an existing resource (`import`): the provider's Read by id, then Check and Diff of
//! the program's inputs against what was read.

use super::Ctx;
use super::execute::StepResult;
use super::generate::{decide, new_record};
use super::step::{Kind, Op, Report, Status};
use crate::Error;
use crate::display::{DiffLine, failure_message};
use crate::monitor::{RegisteredResource, Registration};
use crate::plugin::{Plugin, Recorded, Target};
use crate::value::PropertyMap;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Adopts an existing resource (`import`): the provider's Read by id, then Check and Diff of
/// the program's inputs against what was read. A difference fails the import with the diff,
/// since importing must not change the resource.
pub(super) async fn import_step(
    ctx: &Arc<Ctx>,
    reg: &Registration,
    plugin: &Plugin,
    reference: &str,
    id: &str,
) -> Result<StepResult, Error> {
    let t0 = Instant::now();
    let ty = reg.type_token.as_str();
    let urn = reg.urn.as_str();
    let fail = |msg: String, diff: Vec<DiffLine>| {
        let r = Report::new(Op::Import, urn, ty, Status::Failed, t0).diff(diff);
        Ok(Err(ctx.failed(r, msg, "")))
    };
    let empty = PropertyMap::new();
    let target = Target {
        urn,
        name: &reg.name,
        ty,
    };
    let read = plugin
        .read(
            Target { ..target },
            // The program's inputs go along as a hint: a provider can then describe what it
            // finds in the program's terms (a path relative to its root, say), so that an
            // import of the same thing shows no difference.
            Recorded {
                id,
                outputs: &empty,
                inputs: &reg.inputs,
            },
        )
        .await;
    let (found_id, outputs, inputs) = match read {
        Ok((found, _, _)) if found.is_empty() => {
            return fail(
                format!("import: the provider found no resource with id `{id}`; check the id"),
                vec![],
            );
        }
        Ok(r) => r,
        Err(e) => {
            return fail(
                format!("import: {}", failure_message("Read", &e.to_string())),
                vec![],
            );
        }
    };
    let read_inputs = inputs.unwrap_or_default();
    let checked = match plugin
        .check(urn, &reg.name, ty, &read_inputs, &reg.inputs)
        .await
    {
        Ok(c) => c,
        Err(e) => return fail(failure_message("Check", &e.to_string()), vec![]),
    };
    let mut record = new_record(reg, reference, checked.clone());
    record.id = found_id.clone();
    record.inputs = read_inputs;
    record.outputs = ctx.mark_secret_outputs(reg, outputs);
    let (kind, lines) =
        match decide(plugin, Target { ..target }, &record, &checked, &reg.options).await {
            Ok(k) => k,
            Err(e) => return fail(failure_message("Diff", &e.to_string()), vec![]),
        };
    match kind {
        Kind::Same | Kind::Create => {}
        Kind::Update | Kind::Replace { .. } => {
            return fail(
                "import: the program's inputs differ from the resource that exists (shown below); make the program match it, import, then change it".into(),
                lines,
            );
        }
    }
    record.inputs = checked;
    if !ctx.preview {
        ctx.journal.write(vec![record.clone()], vec![]).await?;
    }
    ctx.report(Report::new(Op::Import, urn, ty, ctx.done(), t0));
    Ok(Ok(RegisteredResource {
        id: Some(found_id),
        outputs: record.outputs,
        property_dependencies: BTreeMap::new(),
    }))
}
