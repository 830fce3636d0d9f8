//! Components a provider builds (`Construct`) and their methods (`Call`), made as Pulumi's
//! engine makes them (`pkg/resource/deploy/source_eval.go`): the whole stack configuration,
//! decrypted, with the keys that are secret; the inputs as output values; the program's
//! resource options; the provider named (or given for the package in `providers`), else the
//! package's default provider.

use super::execute::StepResult;
use super::step::{Op, Report, Status};
use super::{Ctx, package_of, source_program};
use crate::Error;
use crate::display::failure_message;
use crate::monitor::{
    CallRequest, CallResult, ProviderReference, RegisteredResource, Registration,
};
use crate::plugin;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

/// The organization Pulumi's self-managed backends name in URNs and `Construct` requests.
pub(super) const ORGANIZATION: &str = "organization";

/// The run as `Construct` and `Call` describe it, with the monitor's address.
fn run_info<'a>(
    ctx: &'a Ctx,
    config: &'a (BTreeMap<String, String>, BTreeSet<String>),
    monitor: &'a str,
) -> plugin::RunInfo<'a> {
    plugin::RunInfo {
        project: &ctx.project.name,
        stack: &ctx.project.stack,
        organization: ORGANIZATION,
        config,
        dry_run: ctx.preview,
        parallel: 16,
        monitor_endpoint: monitor,
    }
}

/// The provider reference a remote component of `package` is built by: the one named, else
/// the one its `providers` give for the package.
fn provider_of(reg: &Registration) -> Option<&ProviderReference> {
    reg.options
        .provider
        .as_ref()
        .or_else(|| reg.options.providers.get(package_of(&reg.type_token)))
}

/// A remote component: its provider's `Construct` builds it, registering the component and
/// its children with this run's monitor (so they become steps like any other).
pub(super) async fn construct_step(
    ctx: &Arc<Ctx>,
    reg: &Registration,
) -> Result<StepResult, Error> {
    let t0 = Instant::now();
    let ty = reg.type_token.as_str();
    let fail = |msg: String| {
        let r = Report::new(Op::Construct, &reg.urn, ty, Status::Failed, t0);
        Ok(Err(ctx.failed(r, msg, "")))
    };
    let handle = match ctx
        .providers
        .for_registration(
            package_of(ty),
            provider_of(reg),
            reg.options.version.as_deref(),
        )
        .await
    {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let Some(monitor) = ctx.monitor_address.lock().ok().and_then(|a| a.clone()) else {
        return fail("no resource monitor is running for the provider to register with".into());
    };
    let config = source_program::program_config(&ctx.project);
    let constructed = handle
        .plugin
        .construct(plugin::ConstructArgs {
            run: run_info(ctx, &config, &monitor),
            type_token: ty,
            name: &reg.name,
            parent: reg.parent.as_deref().unwrap_or_default(),
            inputs: &reg.inputs,
            options: &reg.options,
        })
        .await;
    match constructed {
        Ok(c) => {
            if c.urn != reg.urn {
                return fail(format!(
                    "Construct answered with URN {}, not the component's {}: the provider must register the component with the name, type and parent it was given",
                    c.urn, reg.urn
                ));
            }
            Ok(Ok(RegisteredResource {
                id: None,
                outputs: c.state,
                property_dependencies: c.state_dependencies,
            }))
        }
        Err(e) => fail(failure_message("Construct", &e.to_string())),
    }
}

/// A component's method: the provider that built the component (or the one named) runs it.
/// A failure is the run's failure too, as in Pulumi, with the provider's message.
pub(super) async fn call(ctx: &Arc<Ctx>, request: &CallRequest) -> Result<CallResult, String> {
    let token = request.token.as_str();
    let package = crate::monitor::urn::package_of(token);
    let failed = |msg: String| {
        let full = format!("call of {token}: {msg}");
        ctx.display.log("error", full.clone());
        ctx.fail(full.clone());
        full
    };
    let handle = ctx
        .providers
        .for_registration(
            package,
            request.provider.as_ref(),
            request.version.as_deref(),
        )
        .await
        .map_err(failed)?;
    let Some(monitor) = ctx.monitor_address.lock().ok().and_then(|a| a.clone()) else {
        return Err(failed(
            "no resource monitor is running for the provider to register with".into(),
        ));
    };
    let config = source_program::program_config(&ctx.project);
    let called = handle
        .plugin
        .call(plugin::CallArgs {
            run: run_info(ctx, &config, &monitor),
            token,
            args: &request.args,
            arg_dependencies: &request.arg_dependencies,
        })
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(CallResult {
        value: called.value,
        dependencies: called.dependencies,
        failures: called.failures,
    })
}
