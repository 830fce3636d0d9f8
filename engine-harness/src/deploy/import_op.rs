//! `engine-harness import TYPE NAME ID`: adopting existing resources into the state without a
//! program, as `pulumi import` does: the provider's Read by id, its inputs checked, the
//! resource recorded (protected unless asked otherwise), nothing created or changed.

use super::import::import_step;
use super::step::{Op, Report, Status};
use super::{Ctx, urn};
use crate::Error;
use crate::monitor::{Registration, ResourceOptions};
use crate::plugin::{Recorded, Target};
use crate::state::Resource;
use crate::value::PropertyMap;
use std::sync::Arc;
use std::time::Instant;

/// One resource to adopt.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImportSpec {
    /// Its type token (`local:index:File`).
    pub type_token: String,
    /// The name it gets in the stack (the last part of its URN).
    pub name: String,
    /// The provider's id of the existing resource.
    pub id: String,
    /// The URN of an explicit provider resource of the state to read it with (default: the
    /// package's default provider).
    pub provider: Option<String>,
    /// Record it as protected (`pulumi import` does by default).
    pub protect: bool,
}

impl ImportSpec {
    /// A resource of type `type_token` named `name`, found by the provider under `id`;
    /// protected, read by the default provider.
    pub fn new(type_token: &str, name: &str, id: &str) -> Self {
        ImportSpec {
            type_token: type_token.to_string(),
            name: name.to_string(),
            id: id.to_string(),
            provider: None,
            protect: true,
        }
    }

    /// Reads it with the explicit provider resource `urn` of the state.
    pub fn provider(mut self, urn: Option<String>) -> Self {
        self.provider = urn;
        self
    }

    /// Records it protected or not.
    pub fn protect(mut self, yes: bool) -> Self {
        self.protect = yes;
        self
    }
}

/// The URN an import of `spec` gives its resource in `project`'s stack.
pub fn import_urn(project: &crate::program::Project, spec: &ImportSpec) -> String {
    urn(project, &spec.type_token, &spec.name)
}

/// Adopts each of `specs`; a failure is a failed step (shown and counted), as in a run.
pub(super) async fn import_all(ctx: &Arc<Ctx>, specs: &[ImportSpec]) -> Result<(), Error> {
    for spec in specs {
        import_one(ctx, spec).await?;
    }
    Ok(())
}

async fn import_one(ctx: &Arc<Ctx>, spec: &ImportSpec) -> Result<(), Error> {
    let t0 = Instant::now();
    let urn = import_urn(&ctx.project, spec);
    let ty = spec.type_token.as_str();
    let fail = |msg: String| {
        ctx.failed(
            Report::new(Op::Import, &urn, ty, Status::Failed, t0),
            msg,
            "",
        );
        Ok(())
    };
    if ctx.journal.get(&urn).is_some() {
        return fail(format!(
            "the stack already has a resource {urn}; choose another NAME, or `engine-harness state delete {urn}` first"
        ));
    }
    // The provider: the package's default one, or an explicit provider resource of the state.
    let via = Resource {
        type_token: spec.type_token.clone(),
        provider: match &spec.provider {
            Some(p) => match ctx.journal.get(p) {
                Some(rec) => format!("{p}::{}", rec.id),
                None => {
                    return fail(format!(
                        "--provider {p}: no provider resource with this URN in the state"
                    ));
                }
            },
            None => String::new(),
        },
        ..Default::default()
    };
    let handle = match ctx.providers.for_state(&via).await {
        Ok(h) => h,
        Err(e) => {
            if let Some(fatal) = ctx.providers.take_fatal() {
                return Err(fatal);
            }
            return fail(e);
        }
    };
    // Read once for the inputs the resource has: they are the registration's inputs, so that
    // Check and Diff in the import step find nothing to change.
    let empty = PropertyMap::new();
    let inputs = match handle
        .plugin
        .read(
            Target {
                urn: &urn,
                name: &spec.name,
                ty,
            },
            Recorded {
                id: &spec.id,
                outputs: &empty,
                inputs: &empty,
            },
        )
        .await
    {
        Ok((_, outputs, inputs)) => inputs.unwrap_or(outputs),
        Err(_) => PropertyMap::new(), // the import step reads again and says why
    };
    let reg = Registration {
        urn: urn.clone(),
        type_token: spec.type_token.clone(),
        name: spec.name.clone(),
        parent: Some(ctx.stack_urn.clone()),
        custom: true,
        remote: false,
        inputs,
        options: ResourceOptions {
            protect: Some(spec.protect),
            import_id: Some(spec.id.clone()),
            ..Default::default()
        },
    };
    // A failed import is already shown and counted: the run ends with StepsFailed.
    let _outcome = import_step(ctx, &reg, &handle.plugin, &handle.reference, &spec.id).await?;
    Ok(())
}
