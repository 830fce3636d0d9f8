//! The provider as a whole: its configuration (CheckConfig, DiffConfig, Configure with good
//! and bad configuration) and its functions (Invoke with arguments and expected results).

use super::resource::expect_no_change;
use super::{CaseResult, Rec, Stop, resource, start};
use crate::kit::Ctx;
use crate::report::Finding;
use crate::session::{Session, failures_text, names_property};
use crate::values::show_map;

use crate::fixture::to_map;
use crate::session::Checked;

/// Names the properties of `wanted` that no failure names.
fn unnamed<'a>(wanted: &'a [String], failures: &[(String, String)]) -> Vec<&'a String> {
    wanted
        .iter()
        .filter(|p| !failures.iter().any(|(path, _)| names_property(path, p)))
        .collect()
}

pub(super) async fn config(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let good = ctx.fixture.config_map();
    let package = &ctx.package;
    // The good configuration: the session's own start runs CheckConfig and Configure with it.
    let s = start(ctx).await?;
    match s.check_config_call(&good, package).await {
        Err(e) if e.unimplemented() => {
            rec.note("CheckConfig answered UNIMPLEMENTED (tolerated: the engine passes the configuration as is)")
        }
        Err(e) => rec
            .findings
            .push(e.finding("CheckConfig of the fixture's config", "answer CheckConfig")),
        Ok(Checked { failures, .. }) if !failures.is_empty() => rec.fail(
            "CheckConfig of the fixture's config",
            "no failures",
            failures_text(&failures),
            "accept a valid configuration (or correct the fixture's `config`)",
        ),
        Ok(_) => {}
    }
    match s.diff_config(&good, &good, package).await {
        Err(e) if e.unimplemented() => {
            rec.note("DiffConfig answered UNIMPLEMENTED (tolerated: the engine compares the configuration itself)")
        }
        Err(e) => rec.findings.push(e.finding(
            "DiffConfig of an unchanged configuration",
            "answer DiffConfig, or return UNIMPLEMENTED",
        )),
        Ok(d) => expect_no_change(rec, "DiffConfig of an unchanged configuration", &d),
    }
    drop(s);
    for (i, bad) in ctx.fixture.invalid_config.iter().enumerate() {
        let config = to_map(&bad.config, &format!("invalid_config[{i}]"))
            .map_err(|e| Stop::NotApplicable(e.to_string()))?;
        let shown = show_map(&config);
        let s = Session::launch(&ctx.kit.command, ctx.kit.call_timeout).await?;
        s.handshake().await?;
        match s.check_config_call(&config, package).await {
            Err(e) if e.unimplemented() => {}
            Err(e) => rec.findings.push(e.finding(
                format!("CheckConfig of the invalid config {shown}"),
                "report an invalid configuration as `failures` in the CheckResponse, not as an error",
            )),
            Ok(Checked { failures, .. }) if failures.is_empty() => {
                rec.fail(
                    format!("CheckConfig of the invalid config {shown}"),
                    format!("failures naming {:?}", bad.properties),
                    "no failures: CheckConfig accepted it",
                    "validate every configuration key in CheckConfig",
                );
                rec.sdk_fix(
                    "reject the value in `ProviderConfig::validate` with a `CheckFailure` naming the key \
                     (register the config type with `ProviderBuilder::config`)",
                );
            }
            Ok(Checked { failures, .. }) => {
                for prop in unnamed(&bad.properties, &failures) {
                    rec.fail(
                        format!("CheckConfig of the invalid config {shown}"),
                        format!("a failure whose `property` names `{prop}`"),
                        failures_text(&failures),
                        format!("set CheckFailure.property to `{prop}` so the user sees which key is wrong"),
                    );
                }
            }
        }
        // The engine does not Configure after CheckConfig failures, but a plugin that accepts
        // CheckConfig's absence (UNIMPLEMENTED) must still refuse a bad configuration.
        let check = format!("Configure with the invalid config {shown}");
        match s.configure(&config, package).await {
            Ok(_) => {
                rec.fail(
                    check,
                    "an error naming the bad key",
                    "success: the plugin runs with a configuration it cannot use",
                    "refuse an invalid configuration in Configure (INVALID_ARGUMENT naming the key)",
                );
                rec.sdk_fix("`ProviderConfig::validate` runs in Configure too: return a `CheckFailure` for the key");
            }
            Err(f) if s.plugin.exited().is_some() => rec.findings.push(Finding {
                fix: "answer an invalid configuration with an error, never exit".into(),
                ..f
            }),
            Err(f) => {
                for prop in bad
                    .properties
                    .iter()
                    .filter(|p| !f.actual.contains(p.as_str()))
                {
                    rec.fail(
                        check.clone(),
                        format!("an error that names `{prop}`"),
                        f.actual.clone(),
                        format!("name the key `{prop}` in Configure's error so the user knows what to fix"),
                    );
                }
            }
        }
    }
    if ctx.fixture.invalid_config.is_empty() {
        rec.note("no `invalid_config` in the fixture: bad configuration not tried");
    }
    Ok(())
}

pub(super) async fn functions(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    if ctx.fixture.functions.is_empty() {
        return Err(Stop::NotApplicable(
            "the fixture lists no `functions` to Invoke".into(),
        ));
    }
    let s = start(ctx).await?;
    for f in &ctx.fixture.functions {
        let at = |what: &str| format!("functions ({}).{what}", f.token);
        let args = to_map(&f.args, &at("args")).map_err(|e| Stop::NotApplicable(e.to_string()))?;
        let check = format!("Invoke({}) of {}", f.token, show_map(&args));
        match s.invoke(&f.token, &args).await {
            Err(e) => rec.findings.push(e.finding(
                check,
                "answer Invoke of a function the provider offers with its result",
            )),
            Ok(Checked { failures, .. }) if !failures.is_empty() => rec.fail(
                check,
                "no failures",
                failures_text(&failures),
                "accept valid arguments (or correct the fixture's `args`)",
            ),
            Ok(Checked { inputs: result, .. }) => {
                if let Some(expected) = &f.result {
                    let expected = to_map(expected, &at("result"))
                        .map_err(|e| Stop::NotApplicable(e.to_string()))?;
                    let before = rec.findings.len();
                    resource::expect_outputs(
                        rec,
                        &check,
                        &expected,
                        &result,
                        "return the result the function promises for these arguments",
                    );
                    if rec.findings.len() > before {
                        rec.sdk_fix("return the right value from `Function::call`");
                    }
                }
                resource::no_unknowns(rec, &check, &result);
                rec.note(format!("{}: {}", f.token, show_map(&result)));
            }
        }
        for bad in &f.invalid {
            let args = to_map(&bad.args, &at("invalid.args"))
                .map_err(|e| Stop::NotApplicable(e.to_string()))?;
            let check = format!(
                "Invoke({}) of the invalid arguments {}",
                f.token,
                show_map(&args)
            );
            match s.invoke(&f.token, &args).await {
                Err(e) if s.plugin.exited().is_some() => {
                    rec.findings.push(
                        e.finding(check, "answer invalid arguments with failures, never exit"),
                    );
                    return Ok(());
                }
                Err(e) => {
                    rec.findings.push(e.finding(
                        check,
                        "report invalid arguments as `failures` in the InvokeResponse, naming each property",
                    ));
                    rec.sdk_fix(FUNCTION_CHECK_FIX);
                }
                Ok(Checked { failures, .. }) if failures.is_empty() => {
                    rec.fail(
                        check,
                        format!("failures naming {:?}", bad.properties),
                        "no failures: Invoke accepted them",
                        "validate the arguments and report each bad one as a failure",
                    );
                    rec.sdk_fix(FUNCTION_CHECK_FIX);
                }
                Ok(Checked { failures, .. }) => {
                    for prop in unnamed(&bad.properties, &failures) {
                        rec.fail(
                            check.clone(),
                            format!("a failure whose `property` names `{prop}`"),
                            failures_text(&failures),
                            format!("set CheckFailure.property to `{prop}`"),
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// How a function built on provider-sdk reports arguments that parse but are invalid.
const FUNCTION_CHECK_FIX: &str = "implement `Function::check` and return one `CheckFailure::new(\"<argument>\", \"<what is wrong>\")` per bad argument (or return `Err(Error::InvalidInputs(failures))` from `call`); the SDK sends them as the InvokeResponse's failures";
