//! The cases. Each has a stable name, runs on a freshly launched plugin, and records every
//! failed assertion it meets rather than stopping at the first (it stops only when nothing
//! further can be checked, such as a Create that failed).

use std::collections::BTreeSet;
use std::time::Duration;

use prost::Message;

use crate::fixture::ResourceFixture;
use crate::kit::{Ctx, SchemaAnswer};
use crate::plugin::{LaunchOptions, Plugin, is_loopback, listening_addresses};
use crate::report::Finding;
use crate::session::{Session, empty_id_finding, failures_text, names_property};
use crate::values::{PropertyMap, Value, decode_struct, show_map, unwrap_map};

/// Every case: stable name and what it proves, in run order.
pub const CASES: &[(&str, &str)] = &[
    (
        "process.port-line",
        "the port is the first line on stdout, alone",
    ),
    ("process.loopback", "the plugin listens on 127.0.0.1 only"),
    (
        "process.flags",
        "the engine's flags (--logtostderr -v=9 --tracing x) and unknown flags are tolerated",
    ),
    (
        "process.attach",
        "without an engine address the plugin serves and accepts Attach",
    ),
    (
        "process.sigint",
        "SIGINT ends the plugin promptly with exit code 0",
    ),
    (
        "protocol.handshake-configure",
        "Handshake and Configure agree on the capabilities they announce",
    ),
    (
        "schema.metaschema",
        "GetSchema returns a package schema valid against Pulumi's metaschema",
    ),
    (
        "schema.check-consistency",
        "the schema declares what Check accepts and what Create returns",
    ),
    (
        "check.invalid-inputs",
        "Check rejects invalid inputs with failures naming the properties",
    ),
    (
        "create.outputs",
        "Create returns an id and the expected outputs",
    ),
    (
        "read.after-create",
        "Read right after Create returns the same id and outputs",
    ),
    (
        "diff.unchanged",
        "Diff of unchanged inputs reports no change",
    ),
    (
        "diff.update-vs-replace",
        "Diff reports updates and replacements as declared; Update applies in place",
    ),
    (
        "preview.unknowns",
        "a preview with unknown inputs creates nothing and returns unknowns",
    ),
    (
        "secrets.roundtrip",
        "secret inputs stay secret through Create, Read and Update, and never leak",
    ),
    (
        "delete.then-read",
        "Read after Delete reports the resource gone",
    ),
    (
        "idempotency",
        "a second up is a no-op, and a refresh right after up shows no drift",
    ),
    (
        "errors.partial-init",
        "a partial-initialization error carries a well-formed ErrorResourceInitFailed",
    ),
    (
        "cancel",
        "Cancel is answered promptly and the plugin still shuts down cleanly",
    ),
    (
        "concurrency",
        "many concurrent Creates and Deletes on one connection all succeed",
    ),
];

/// Findings and notes collected by one case.
#[derive(Debug, Default)]
pub(crate) struct Rec {
    pub(crate) findings: Vec<Finding>,
    pub(crate) notes: Vec<String>,
}

impl Rec {
    fn fail(
        &mut self,
        check: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            check: check.into(),
            expected: expected.into(),
            actual: actual.into(),
            fix: fix.into(),
        });
    }

    fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// Why a case stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The case does not apply.
    NotApplicable(String),
    /// A failure after which nothing more can be checked.
    Failed(Finding),
}

impl From<Finding> for Stop {
    fn from(f: Finding) -> Self {
        Stop::Failed(f)
    }
}

type CaseResult = Result<(), Stop>;

/// Runs each resource of the fixture through `$case`; not applicable only when no resource is.
macro_rules! each_resource {
    ($ctx:expr, $rec:expr, $name:expr, $case:ident) => {{
        let ctx: &Ctx = $ctx;
        if ctx.fixture.resources.is_empty() {
            return Err(Stop::NotApplicable(no_resources(ctx)));
        }
        let mut skipped = Vec::new();
        let mut ran = false;
        for r in &ctx.fixture.resources {
            let outcome = match r.skip.get($name) {
                Some(why) => Err(Stop::NotApplicable(format!("the fixture skips it: {why}"))),
                None => $case(ctx, $rec, r).await,
            };
            match outcome {
                Ok(()) => ran = true,
                Err(Stop::Failed(f)) => {
                    $rec.findings.push(f);
                    ran = true;
                }
                Err(Stop::NotApplicable(why)) => skipped.push(format!("{}: {why}", r.type_token)),
            }
        }
        if !ran {
            return Err(Stop::NotApplicable(skipped.join("; ")));
        }
        for s in skipped {
            $rec.note(format!("not applicable to {s}"));
        }
        Ok(())
    }};
}

/// Unwraps a result, or deletes the resource the case created and stops with the finding.
macro_rules! or_cleanup {
    ($e:expr, ($s:expr, $rec:expr, $r:expr, $id:expr, $outputs:expr, $inputs:expr)) => {
        match $e {
            Ok(v) => v,
            Err(f) => {
                cleanup($s, $rec, $r, $id, $outputs, $inputs).await;
                return Err(Stop::Failed(f));
            }
        }
    };
}

fn no_resources(ctx: &Ctx) -> String {
    match &ctx.schema {
        SchemaAnswer::Json(_) => "no fixture was given and no resource of the schema has inputs the kit can make up; pass --fixture".into(),
        _ => "no fixture was given and the plugin has no schema to derive inputs from; pass --fixture FILE".into(),
    }
}

/// Runs the case `name`.
pub(crate) async fn run_case(name: &str, ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    if !ctx.derived.is_empty() && !name.starts_with("process.") {
        rec.note(format!(
            "inputs derived from the schema for: {}",
            ctx.derived.join(", ")
        ));
    }
    match name {
        "process.port-line" => port_line(ctx, rec).await,
        "process.loopback" => loopback(ctx, rec).await,
        "process.flags" => flags(ctx, rec).await,
        "process.attach" => attach(ctx, rec).await,
        "process.sigint" => sigint(ctx, rec).await,
        "protocol.handshake-configure" => handshake_configure(ctx, rec).await,
        "schema.metaschema" => metaschema(ctx, rec).await,
        "schema.check-consistency" => {
            if !matches!(ctx.schema, SchemaAnswer::Json(_)) {
                return Err(Stop::NotApplicable(schema_absent(ctx)));
            }
            each_resource!(ctx, rec, name, schema_consistency)
        }
        "check.invalid-inputs" => each_resource!(ctx, rec, name, invalid_inputs),
        "create.outputs" => each_resource!(ctx, rec, name, create_outputs),
        "read.after-create" => each_resource!(ctx, rec, name, read_after_create),
        "diff.unchanged" => each_resource!(ctx, rec, name, diff_unchanged),
        "diff.update-vs-replace" => each_resource!(ctx, rec, name, update_vs_replace),
        "preview.unknowns" => each_resource!(ctx, rec, name, preview_unknowns),
        "secrets.roundtrip" => each_resource!(ctx, rec, name, secrets),
        "delete.then-read" => each_resource!(ctx, rec, name, delete_then_read),
        "idempotency" => each_resource!(ctx, rec, name, idempotency),
        "errors.partial-init" => each_resource!(ctx, rec, name, partial_init),
        "cancel" => cancel(ctx, rec).await,
        "concurrency" => each_resource!(ctx, rec, name, concurrency),
        other => Err(Stop::NotApplicable(format!("unknown case {other}"))),
    }
}

async fn start(ctx: &Ctx) -> Result<Session, Finding> {
    Session::start(
        &ctx.kit.command,
        &ctx.fixture.config_map(),
        &ctx.package,
        ctx.kit.call_timeout,
    )
    .await
}

fn launch_finding(what: &str, e: crate::Error, fix: &str) -> Finding {
    Finding {
        check: what.into(),
        expected: "the plugin starts and prints its port".into(),
        actual: e.to_string(),
        fix: fix.into(),
    }
}

// ---------------------------------------------------------------- process contract

async fn port_line(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let options = LaunchOptions {
        tolerate_port_line: true,
        ..LaunchOptions::default()
    };
    let plugin = Plugin::launch(&ctx.kit.command, &options)
        .await
        .map_err(|e| {
            launch_finding(
                "launch",
                e,
                "print the port (decimal, then a newline) as the first stdout line, and flush",
            )
        })?;
    rec.note(format!(
        "port line after {:.0} ms",
        plugin.startup.as_secs_f64() * 1000.0
    ));
    if let Some(p) = &plugin.port_line_problem {
        let later = match p.later_port {
            Some((line, port)) => format!("; the port {port} came only on line {line}"),
            None => String::new(),
        };
        rec.fail(
            "the first line on stdout",
            "the port number alone, such as `43517`",
            format!("a log line printed before the port: {:?}{later}", p.first_line),
            "print nothing to stdout before the port line: the engine reads the first line as the port and fails; \
             send logs to stderr or through Engine.Log",
        );
    }
    let client = plugin.client();
    if let Err(status) =
        tokio::time::timeout(Duration::from_secs(30), client.clone().get_plugin_info(()))
            .await
            .unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("30 s")))
    {
        rec.fail(
            "GetPluginInfo on the announced port",
            "an answer from the gRPC server on the announced port",
            plugin.explain("GetPluginInfo", &status).await,
            "serve pulumirpc.ResourceProvider on the port you print",
        );
    }
    Ok(())
}

async fn loopback(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let plugin = Plugin::launch(
        &ctx.kit.command,
        &LaunchOptions {
            tolerate_port_line: true,
            ..LaunchOptions::default()
        },
    )
    .await
    .map_err(|e| launch_finding("launch", e, "the plugin must start"))?;
    let Some(addresses) = listening_addresses(plugin.port) else {
        return Err(Stop::NotApplicable(
            "cannot read /proc/net/tcp on this system".into(),
        ));
    };
    if addresses.is_empty() {
        return Err(Stop::NotApplicable(format!(
            "no listening socket on port {} is visible in /proc/net/tcp",
            plugin.port
        )));
    }
    for a in addresses.iter().filter(|a| !is_loopback(a)) {
        rec.fail(
            format!("listening address of port {}", plugin.port),
            "127.0.0.1 (loopback) only",
            format!(
                "listening on {a}:{}, reachable from other machines",
                plugin.port
            ),
            "bind 127.0.0.1:0, not 0.0.0.0 or [::]",
        );
    }
    rec.note(format!("listening on {}", addresses.join(", ")));
    Ok(())
}

async fn flags(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let flags: Vec<String> = ["--logtostderr", "-v=9", "--tracing", "x", "--unknown-flag"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let options = LaunchOptions {
        flags: flags.clone(),
        tolerate_port_line: true,
        ..LaunchOptions::default()
    };
    let plugin = match Plugin::launch(&ctx.kit.command, &options).await {
        Ok(p) => p,
        Err(e) => {
            rec.fail(
                format!("launch with `{} ENGINE-ADDRESS`", flags.join(" ")),
                "the plugin starts and prints its port",
                e.to_string(),
                "accept --logtostderr, -v=N and --tracing ENDPOINT (two tokens), and ignore flags you do not know",
            );
            return Ok(());
        }
    };
    let call =
        tokio::time::timeout(ctx.kit.call_timeout, plugin.client().get_plugin_info(())).await;
    match call {
        Ok(Ok(_)) => {}
        Ok(Err(status)) => rec.fail(
            "GetPluginInfo after a launch with the engine's flags",
            "an answer",
            plugin.explain("GetPluginInfo", &status).await,
            "do not treat the flags as the engine's address",
        ),
        Err(_) => rec.fail(
            "GetPluginInfo after a launch with the engine's flags",
            "an answer",
            "no answer in time",
            "serve normally when given flags",
        ),
    }
    Ok(())
}

async fn attach(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let options = LaunchOptions {
        attach_mode: true,
        tolerate_port_line: true,
        ..LaunchOptions::default()
    };
    let plugin = match Plugin::launch(&ctx.kit.command, &options).await {
        Ok(p) => p,
        Err(e) => {
            rec.fail(
                "launch without an engine address (attach mode)",
                "the plugin starts, prints its port and waits for Attach",
                e.to_string(),
                "when no positional argument is given, serve anyway and take the engine's address from Attach",
            );
            return Ok(());
        }
    };
    let mut s = Session::from_plugin(plugin, ctx.kit.call_timeout);
    let req = pulumirpc::PluginAttach {
        address: s.plugin.engine.address().to_string(),
    };
    if let Err(e) = s.call("Attach", s.plugin.client().attach(req)).await {
        rec.findings.push(e.finding(
            "Attach with the engine's address",
            "implement Attach: it gives a plugin started without an address the engine's address",
        ));
        return Ok(());
    }
    match s.handshake().await {
        Ok(h) => s.handshake = h,
        Err(f) => rec.findings.push(f),
    }
    if let Err(e) = s
        .call("GetPluginInfo", s.plugin.client().get_plugin_info(()))
        .await
    {
        rec.findings
            .push(e.finding("GetPluginInfo after Attach", "keep serving after Attach"));
    }
    Ok(())
}

async fn sigint(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let s = start(ctx).await?;
    s.plugin.signal(plugin_host::Signal::INT);
    match s.plugin.wait_exit(Duration::from_secs(5)).await {
        None => rec.fail(
            "exit after SIGINT",
            "exit code 0 within 5 s (the engine sends SIGKILL after 5 s)",
            "still running 5 s after SIGINT",
            "handle SIGINT (and SIGTERM): stop serving, let in-flight calls finish briefly, exit 0",
        ),
        Some(status) if status.code() == Some(0) => rec.note("exited 0 after SIGINT"),
        Some(status) => rec.fail(
            "exit after SIGINT",
            "exit code 0",
            format!("{status}"),
            "treat SIGINT as a normal shutdown and exit 0",
        ),
    }
    Ok(())
}

// ---------------------------------------------------------------- protocol

async fn handshake_configure(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let s = start(ctx).await?;
    let configure = s.configure.unwrap_or_default();
    let Some(h) = &s.handshake else {
        rec.note(
            "Handshake answered UNIMPLEMENTED (tolerated: the engine uses Configure's answer)",
        );
        return Ok(());
    };
    let pairs = [
        (
            "accept_secrets / acceptSecrets",
            h.accept_secrets,
            configure.accept_secrets,
        ),
        (
            "accept_resources / acceptResources",
            h.accept_resources,
            configure.accept_resources,
        ),
        (
            "accept_outputs / acceptOutputs",
            h.accept_outputs,
            configure.accept_outputs,
        ),
        (
            "supports_autonaming_configuration",
            h.supports_autonaming_configuration,
            configure.supports_autonaming_configuration,
        ),
    ];
    for (flag, hs, conf) in pairs {
        if hs != conf {
            rec.fail(
                format!("`{flag}` in Handshake and Configure"),
                format!("the same value in both (Handshake said {hs})"),
                format!("Configure said {conf}"),
                "announce one set of capabilities: the engine takes them from Handshake and Configure alike",
            );
        }
    }
    if !configure.supports_preview {
        rec.fail(
            "Configure `supportsPreview`",
            "true: a plugin that answers Handshake is assumed to support preview",
            "false",
            "set supportsPreview, and handle Create/Update with preview=true",
        );
    }
    rec.note(format!(
        "secrets={}, resources={}, outputs={}, autonaming={}",
        h.accept_secrets, h.accept_resources, h.accept_outputs, h.supports_autonaming_configuration
    ));
    Ok(())
}

fn schema_absent(ctx: &Ctx) -> String {
    match &ctx.schema {
        SchemaAnswer::Unimplemented => {
            "GetSchema answered UNIMPLEMENTED: the plugin publishes no schema".into()
        }
        SchemaAnswer::Failed(why) | SchemaAnswer::NotStarted(why) => format!("no schema: {why}"),
        SchemaAnswer::NotJson(why) => format!("the schema is not JSON: {why}"),
        SchemaAnswer::Json(_) => String::new(),
    }
}

async fn metaschema(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    let schema = match &ctx.schema {
        SchemaAnswer::Unimplemented => return Err(Stop::NotApplicable(schema_absent(ctx))),
        SchemaAnswer::Failed(why) | SchemaAnswer::NotStarted(why) => {
            rec.fail(
                "GetSchema answer",
                "a JSON package schema, or the gRPC code UNIMPLEMENTED when there is none",
                why.clone(),
                "return the schema, or answer with code UNIMPLEMENTED (which the engine tolerates) rather than another error",
            );
            return Ok(());
        }
        SchemaAnswer::NotJson(why) => {
            rec.fail(
                "GetSchema answer",
                "a JSON package schema",
                format!("not JSON: {why}"),
                "return the schema as JSON text",
            );
            return Ok(());
        }
        SchemaAnswer::Json(s) => s,
    };
    let Some(path) = ctx.kit.metaschema_path() else {
        rec.fail(
            "the metaschema",
            "pulumi-package-metaschema.json, found",
            "not found in --metaschema, $PULUMI_METASCHEMA or ../shared/",
            "pass --metaschema FILE (Pulumi's pkg/codegen/schema/pulumi.json)",
        );
        return Ok(());
    };
    let meta: serde_json::Value = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => {
            rec.fail(
                "the metaschema",
                "a readable JSON Schema",
                format!("{}: {e}", path.display()),
                "point --metaschema at Pulumi's metaschema",
            );
            return Ok(());
        }
    };
    let validator = match jsonschema::validator_for(&meta) {
        Ok(v) => v,
        Err(e) => {
            rec.fail(
                "the metaschema",
                "a valid JSON Schema",
                e.to_string(),
                "point --metaschema at Pulumi's metaschema",
            );
            return Ok(());
        }
    };
    for error in validator.iter_errors(schema).take(50) {
        let at = error.instance_path.to_string();
        let at = if at.is_empty() { "/".to_string() } else { at };
        let mut actual = error.to_string();
        if actual.len() > 400 {
            let cut = actual
                .char_indices()
                .nth(400)
                .map(|(i, _)| i)
                .unwrap_or(actual.len());
            actual.truncate(cut);
            actual.push('…');
        }
        rec.fail(
            format!("invalid schema at `{at}`"),
            "a package schema valid against Pulumi's metaschema",
            actual,
            format!("correct `{at}` in the schema GetSchema returns"),
        );
    }
    if let Some(resources) = schema.get("resources").and_then(|r| r.as_object()) {
        let name = schema.get("name").and_then(|n| n.as_str()).unwrap_or("");
        for token in resources
            .keys()
            .filter(|t| t.split(':').next() != Some(name))
        {
            rec.fail(
                format!("resource token `{token}`"),
                format!("a token of package `{name}` (`{name}:module:Type`)"),
                token.clone(),
                "name every resource with the package's own prefix",
            );
        }
        rec.note(format!(
            "{} resource type(s) in the schema",
            resources.len()
        ));
    }
    Ok(())
}

fn schema_kind_matches(declared: &str, v: &Value) -> bool {
    match (declared, v.unwrapped()) {
        (_, Value::Null | Value::Unknown(_)) => true,
        ("string", Value::String(_))
        | ("boolean", Value::Bool(_))
        | ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => n.fract() == 0.0,
        ("array", Value::Array(_)) | ("object", Value::Object(_)) => true,
        _ => false,
    }
}

async fn schema_consistency(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let SchemaAnswer::Json(schema) = &ctx.schema else {
        return Err(Stop::NotApplicable(schema_absent(ctx)));
    };
    let Some(resource) = schema.get("resources").and_then(|rs| rs.get(&r.type_token)) else {
        rec.fail(
            format!("`resources[\"{}\"]` in the schema", r.type_token),
            "the fixture's resource type declared in the schema",
            "absent".to_string(),
            format!("declare `{}` under `resources`", r.type_token),
        );
        return Ok(());
    };
    let declared_inputs = resource
        .get("inputProperties")
        .and_then(|p| p.as_object())
        .cloned()
        .unwrap_or_default();
    let declared_outputs = resource
        .get("properties")
        .and_then(|p| p.as_object())
        .cloned()
        .unwrap_or_default();
    let s = start(ctx).await?;
    let inputs = ResourceFixture::map(&r.inputs);
    let checked = s
        .check_valid(r, &PropertyMap::new(), &inputs, "inputs")
        .await?;
    for (key, value) in checked.iter().filter(|(k, _)| !k.starts_with("__")) {
        match declared_inputs.get(key) {
            None => rec.fail(
                format!("{}: input `{key}`", r.type_token),
                "every input Check accepts declared in `inputProperties`",
                format!("Check accepted `{key}`, which the schema does not declare"),
                format!("declare `{key}` in the schema's inputProperties, or reject it in Check"),
            ),
            Some(decl) => {
                if let Some(kind) = decl.get("type").and_then(|t| t.as_str())
                    && !schema_kind_matches(kind, value)
                {
                    rec.fail(
                        format!("{}: type of input `{key}`", r.type_token),
                        format!("a value of the declared type `{kind}`"),
                        format!(
                            "Check accepted a {} ({value})",
                            value.unwrapped().kind_name()
                        ),
                        format!("make the schema's type of `{key}` match what Check accepts"),
                    );
                }
            }
        }
    }
    let required: Vec<String> = resource
        .get("requiredInputs")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for key in required.iter().filter(|k| inputs.contains_key(*k)) {
        let mut without = inputs.clone();
        without.remove(key);
        match s.check(r, &PropertyMap::new(), &without).await {
            Ok(c) if c.failures.is_empty() => rec.fail(
                format!("{}: required input `{key}`", r.type_token),
                format!("Check to report a failure when `{key}` is missing (the schema lists it in requiredInputs)"),
                "Check accepted the inputs without it".to_string(),
                format!("either reject a missing `{key}` in Check or drop it from requiredInputs"),
            ),
            Ok(_) => {}
            Err(e) => rec.findings.push(e.finding(format!("{}: Check without `{key}`", r.type_token), "report missing inputs as failures, not errors")),
        }
    }
    let (id, outputs) = s.create_ok(r, &checked).await?;
    for key in outputs.keys().filter(|k| !k.starts_with("__")) {
        if !declared_outputs.contains_key(key) && !declared_inputs.contains_key(key) {
            rec.fail(
                format!("{}: output `{key}`", r.type_token),
                "every output declared in `properties`",
                format!("Create returned `{key}`, which the schema does not declare"),
                format!("declare `{key}` in the schema's properties"),
            );
        }
    }
    for key in resource
        .get("required")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
    {
        if !outputs.contains_key(key) {
            rec.fail(
                format!("{}: required output `{key}`", r.type_token),
                format!("`{key}` among Create's outputs (the schema lists it in `required`)"),
                format!("absent; outputs were {}", show_map(&outputs)),
                format!("return `{key}` from Create, or drop it from `required`"),
            );
        }
    }
    cleanup(&s, rec, r, &id, &outputs, &checked).await;
    Ok(())
}

// ---------------------------------------------------------------- resources

async fn cleanup(
    s: &Session,
    rec: &mut Rec,
    r: &ResourceFixture,
    id: &str,
    outputs: &PropertyMap,
    inputs: &PropertyMap,
) {
    if let Err(e) = s.delete(r, id, outputs, inputs).await {
        rec.findings.push(e.finding(
            format!("Delete({}) of the resource this case created", r.type_token),
            "Delete must remove a resource that Create made",
        ));
    }
}

async fn invalid_inputs(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    if r.invalid.is_empty() {
        return Err(Stop::NotApplicable(
            "the fixture lists no invalid inputs".into(),
        ));
    }
    let s = start(ctx).await?;
    for (i, bad) in r.invalid.iter().enumerate() {
        let news = ResourceFixture::map(&bad.inputs);
        let what = format!(
            "{}: Check of invalid inputs #{} {}",
            r.type_token,
            i + 1,
            show_map(&news)
        );
        match s.check(r, &PropertyMap::new(), &news).await {
            Err(e) => {
                let crashed = s
                    .plugin
                    .wait_exit(Duration::from_millis(500))
                    .await
                    .is_some();
                rec.fail(
                    what,
                    format!("a response with failures naming {:?}", bad.properties),
                    e.explanation,
                    if crashed {
                        "the plugin crashed on invalid input: validate inputs and return CheckFailures instead of panicking or exiting"
                    } else {
                        "report invalid inputs as `failures` in the CheckResponse, not as an error"
                    },
                );
                if crashed {
                    return Ok(());
                }
            }
            Ok(c) if c.failures.is_empty() => rec.fail(
                what,
                format!("failures naming {:?}", bad.properties),
                "no failures: Check accepted the invalid inputs",
                "validate every input in Check",
            ),
            Ok(c) => {
                for prop in bad
                    .properties
                    .iter()
                    .filter(|p| !c.failures.iter().any(|(path, _)| names_property(path, p)))
                {
                    rec.fail(
                        what.clone(),
                        format!("a failure whose `property` names `{prop}`"),
                        failures_text(&c.failures),
                        format!("set CheckFailure.property to `{prop}` so the user sees which input is wrong"),
                    );
                }
                for (path, reason) in &c.failures {
                    if reason.trim().is_empty() {
                        rec.fail(
                            what.clone(),
                            "a reason for each failure",
                            format!("`{path}` has an empty reason"),
                            "say what is wrong and what is allowed",
                        );
                    }
                }
            }
        }
    }
    if let Some(status) = s.plugin.exited() {
        rec.fail(
            format!("{}: the plugin after Check of invalid inputs", r.type_token),
            "still running",
            format!("exited ({status})"),
            "never exit on bad input",
        );
    }
    Ok(())
}

fn expect_outputs(
    rec: &mut Rec,
    check: &str,
    expected: &PropertyMap,
    actual: &PropertyMap,
    fix: &str,
) {
    let actual_plain = unwrap_map(actual);
    for (key, want) in unwrap_map(expected) {
        match actual_plain.get(&key) {
            Some(got) if *got == want => {}
            Some(_) => rec.fail(
                format!("{check}: output `{key}`"),
                format!("{}", expected[&key]),
                format!("{}", actual[&key]),
                fix.to_string(),
            ),
            None => rec.fail(
                format!("{check}: output `{key}`"),
                format!("{}", expected[&key]),
                "absent".to_string(),
                fix.to_string(),
            ),
        }
    }
}

fn no_unknowns(rec: &mut Rec, check: &str, outputs: &PropertyMap) {
    for (key, v) in outputs.iter().filter(|(_, v)| v.contains_unknown()) {
        rec.fail(
            format!("{check}: output `{key}`"),
            "a known value (outside preview)",
            format!("{v}"),
            "return every output's real value; the engine rejects unknowns outside preview",
        );
    }
}

async fn create_outputs(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    let inputs = s
        .check_valid(
            r,
            &PropertyMap::new(),
            &ResourceFixture::map(&r.inputs),
            "inputs",
        )
        .await?;
    let (id, outputs) = s.create(r, &inputs, false).await.map_err(|e| {
        e.finding(
            format!("Create({}) of {}", r.type_token, show_map(&inputs)),
            "Create must succeed for valid inputs",
        )
    })?;
    if id.is_empty() {
        rec.findings.push(empty_id_finding(r));
    }
    let check = format!("Create({})", r.type_token);
    if let Some(expected) = &r.outputs {
        expect_outputs(
            rec,
            &check,
            &ResourceFixture::map(expected),
            &outputs,
            "return the resource's state as the fixture describes it",
        );
    }
    for key in &r.computed {
        if !outputs.contains_key(key) {
            rec.fail(
                format!("{check}: output `{key}`"),
                "present (a computed output)",
                "absent",
                format!("return `{key}` from Create"),
            );
        }
    }
    no_unknowns(rec, &check, &outputs);
    rec.note(format!("{}: id {id:?}", r.type_token));
    if !id.is_empty() {
        cleanup(&s, rec, r, &id, &outputs, &inputs).await;
    }
    Ok(())
}

fn compare_state(rec: &mut Rec, check: &str, before: &PropertyMap, after: &PropertyMap, fix: &str) {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        match (before.get(key), after.get(key)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => rec.fail(
                format!("{check}: property `{key}`"),
                a.map(|v| v.to_string()).unwrap_or_else(|| "absent".into()),
                b.map(|v| v.to_string()).unwrap_or_else(|| "absent".into())
                    + " (the state drifted)",
                fix.to_string(),
            ),
        }
    }
}

async fn read_after_create(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
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
    let check = format!("Read({}) right after Create", r.type_token);
    match s.read(r, &id, &outputs, &inputs).await {
        Err(e) => rec
            .findings
            .push(e.finding(check, "Read must find a resource that Create just made")),
        Ok((read_id, props, _)) => {
            if read_id.is_empty() {
                rec.fail(
                    format!("{check}: id"),
                    id.clone(),
                    "empty: Read reported the resource gone",
                    "Read must find the resource Create made",
                );
            } else if read_id != id {
                rec.fail(
                    format!("{check}: id"),
                    id.clone(),
                    read_id.clone(),
                    "Read must return the id it was given",
                );
            }
            if !read_id.is_empty() {
                compare_state(
                    rec,
                    &check,
                    &outputs,
                    &props,
                    "Read must return the state Create returned when nothing changed; a Read that drifts makes every refresh report changes",
                );
            }
        }
    }
    cleanup(&s, rec, r, &id, &outputs, &inputs).await;
    Ok(())
}

fn expect_no_change(rec: &mut Rec, check: &str, d: &crate::session::Diffed) {
    match d.response.changes {
        1 => {}
        0 if d.changed().is_empty() => rec.note(format!(
            "{check}: DIFF_UNKNOWN with no named changes (the engine then compares inputs itself)"
        )),
        _ => rec.fail(
            check.to_string(),
            "changes=DIFF_NONE, nothing replaced",
            d.summary(),
            "Diff must report no change when the inputs equal the recorded ones",
        ),
    }
    if !d.replacing().is_empty() && d.response.changes == 1 {
        rec.fail(
            check.to_string(),
            "no replaces with DIFF_NONE",
            d.summary(),
            "do not list replaces when nothing changed",
        );
    }
}

async fn diff_unchanged(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    let news = ResourceFixture::map(&r.inputs);
    let inputs = s
        .check_valid(r, &PropertyMap::new(), &news, "inputs")
        .await?;
    let (id, outputs) = s.create_ok(r, &inputs).await?;
    let again = or_cleanup!(
        s.check_valid(r, &inputs, &news, "inputs (second Check)")
            .await,
        (&s, rec, r, &id, &outputs, &inputs)
    );
    let check = format!("Diff({}) of unchanged inputs", r.type_token);
    match s.diff(r, &id, &outputs, &inputs, &again).await {
        Err(e) => rec.findings.push(e.finding(check, "answer Diff")),
        Ok(d) => expect_no_change(rec, &check, &d),
    }
    cleanup(&s, rec, r, &id, &outputs, &inputs).await;
    Ok(())
}

fn replace_on_changes(ctx: &Ctx, r: &ResourceFixture) -> Vec<String> {
    let SchemaAnswer::Json(schema) = &ctx.schema else {
        return Vec::new();
    };
    schema
        .get("resources")
        .and_then(|rs| rs.get(&r.type_token))
        .and_then(|res| res.get("inputProperties"))
        .and_then(|p| p.as_object())
        .map(|props| {
            props
                .iter()
                .filter(|(_, p)| p.get("replaceOnChanges").and_then(|v| v.as_bool()) == Some(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn changed_keys(a: &PropertyMap, b: &PropertyMap) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

async fn update_vs_replace(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    if r.update.is_none() && r.replace.is_none() {
        return Err(Stop::NotApplicable(
            "the fixture gives neither `update` nor `replace` inputs".into(),
        ));
    }
    let schema_replaces = replace_on_changes(ctx, r);
    let s = start(ctx).await?;
    let news = ResourceFixture::map(&r.inputs);
    let inputs = s
        .check_valid(r, &PropertyMap::new(), &news, "inputs")
        .await?;
    let (id, outputs) = s.create_ok(r, &inputs).await?;
    let mut state = (outputs.clone(), inputs.clone());
    if let Some(replace) = &r.replace {
        let replace = ResourceFixture::map(replace);
        let checked = or_cleanup!(
            s.check_valid(r, &inputs, &replace, "replace inputs").await,
            (&s, rec, r, &id, &outputs, &inputs)
        );
        let changed = changed_keys(&ResourceFixture::map(&r.inputs), &replace);
        let mut declared = r.expected_replaces();
        declared.extend(
            schema_replaces
                .iter()
                .filter(|k| changed.contains(k))
                .cloned(),
        );
        declared.sort();
        declared.dedup();
        let check = format!(
            "Diff({}) to the replace inputs (changing {changed:?})",
            r.type_token
        );
        match s.diff(r, &id, &outputs, &inputs, &checked).await {
            Err(e) => rec.findings.push(e.finding(check, "answer Diff")),
            Ok(d) => {
                if d.response.changes != 2 {
                    rec.fail(
                        check.clone(),
                        "changes=DIFF_SOME",
                        d.summary(),
                        "report a change when inputs change",
                    );
                }
                let replacing = d.replacing();
                for key in declared
                    .iter()
                    .filter(|k| !replacing.iter().any(|p| names_property(p, k)))
                {
                    rec.fail(
                        check.clone(),
                        format!("`{key}` named in `replaces` (or an *_REPLACE kind in detailedDiff): it is declared replace-on-change"),
                        format!("Diff ignored the replace-on-change field `{key}`: {}", d.summary()),
                        format!("mark a change of `{key}` as requiring replacement; otherwise the engine calls Update for a change that needs a new resource"),
                    );
                }
            }
        }
    }
    if let Some(update) = &r.update {
        let update = ResourceFixture::map(update);
        let checked = or_cleanup!(
            s.check_valid(r, &inputs, &update, "update inputs").await,
            (&s, rec, r, &id, &outputs, &inputs)
        );
        let changed = changed_keys(&ResourceFixture::map(&r.inputs), &update);
        let check = format!(
            "Diff({}) to the update inputs (changing {changed:?})",
            r.type_token
        );
        for key in changed.iter().filter(|k| schema_replaces.contains(k)) {
            rec.fail(
                format!("{}: fixture `update` against the schema", r.type_token),
                "an update that changes no replaceOnChanges property",
                format!("it changes `{key}`, which the schema marks replaceOnChanges"),
                "fix the fixture or the schema",
            );
        }
        match s.diff(r, &id, &outputs, &inputs, &checked).await {
            Err(e) => rec.findings.push(e.finding(check, "answer Diff")),
            Ok(d) => {
                if d.response.changes != 2 {
                    rec.fail(
                        check.clone(),
                        "changes=DIFF_SOME",
                        d.summary(),
                        "report a change when inputs change",
                    );
                }
                if !d.replacing().is_empty() {
                    rec.fail(
                        check.clone(),
                        "an in-place update: no replaces and no *_REPLACE kinds",
                        d.summary(),
                        "only replace-on-change properties may force a replacement",
                    );
                }
                let named = d.changed();
                for key in changed
                    .iter()
                    .filter(|k| !named.iter().any(|p| names_property(p, k)))
                {
                    if !named.is_empty() {
                        rec.fail(
                            check.clone(),
                            format!("`{key}` named in diffs or detailedDiff"),
                            d.summary(),
                            "name every changed property",
                        );
                    }
                }
            }
        }
        let check = format!("Update({}) to the update inputs", r.type_token);
        match s.update(r, &id, &outputs, &inputs, &checked).await {
            Err(e) => rec
                .findings
                .push(e.finding(check, "Update must apply an in-place change")),
            Ok(after) => {
                if let Some(expected) = &r.update_outputs {
                    expect_outputs(
                        rec,
                        &check,
                        &ResourceFixture::map(expected),
                        &after,
                        "Update must return the updated state",
                    );
                }
                no_unknowns(rec, &check, &after);
                state = (after, checked);
            }
        }
    }
    cleanup(&s, rec, r, &id, &state.0, &state.1).await;
    Ok(())
}

async fn preview_unknowns(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    // A preview with the known inputs: computed outputs cannot be known without creating.
    let inputs = s
        .check_valid(
            r,
            &PropertyMap::new(),
            &ResourceFixture::map(&r.inputs),
            "inputs",
        )
        .await?;
    let check = format!("Create({}, preview=true) with known inputs", r.type_token);
    match s.create(r, &inputs, true).await {
        Err(e) => rec.findings.push(e.finding(
            check,
            "handle preview=true: compute what you can, return unknowns for the rest",
        )),
        Ok((id, outputs)) => {
            for key in r
                .computed
                .iter()
                .filter(|k| outputs.get(*k).is_some_and(|v| !v.contains_unknown()))
            {
                rec.fail(
                    format!("{check}: computed output `{key}`"),
                    "unknown (or absent): it is known only once the resource exists",
                    format!(
                        "{}; the provider may have created something during preview",
                        outputs[key]
                    ),
                    "in preview, create nothing and return unknown for outputs you cannot know",
                );
            }
            if !id.is_empty() {
                rec.note(format!(
                    "{}: the preview Create returned id {id:?} (the engine ignores it)",
                    r.type_token
                ));
            }
        }
    }
    let Some(preview) = &r.preview else {
        rec.note(format!("{}: no `preview` inputs with unknowns in the fixture; only the known-input preview ran", r.type_token));
        return Ok(());
    };
    let news = ResourceFixture::map(&preview.inputs);
    let what = format!("{}: Check in preview of {}", r.type_token, show_map(&news));
    let checked = match s.check(r, &PropertyMap::new(), &news).await {
        Err(e) => {
            rec.findings
                .push(e.finding(what, "accept unknown inputs in Check during preview"));
            return Ok(());
        }
        Ok(c) => {
            let unknown_keys: Vec<&String> = news
                .iter()
                .filter(|(_, v)| v.contains_unknown())
                .map(|(k, _)| k)
                .collect();
            for (path, reason) in c
                .failures
                .iter()
                .filter(|(p, _)| unknown_keys.iter().any(|k| names_property(p, k)))
            {
                rec.fail(
                    what.clone(),
                    "no failure for a property whose value is unknown in preview",
                    format!("`{path}`: {reason}"),
                    "skip validation of unknown values: they are known only at `up`",
                );
            }
            c.inputs
        }
    };
    let check = format!("Create({}, preview=true) with unknown inputs", r.type_token);
    match s.create(r, &checked, true).await {
        Err(e) => rec.findings.push(e.finding(
            check,
            "in preview, return unknowns for outputs that depend on unknown inputs",
        )),
        Ok((id, outputs)) => {
            for key in &preview.unknown_outputs {
                match outputs.get(key) {
                    Some(v) if v.contains_unknown() => {}
                    Some(v) => rec.fail(
                        format!("{check}: output `{key}`"),
                        "unknown",
                        format!("{v}"),
                        "an output that depends on an unknown input must be unknown in preview",
                    ),
                    None => rec.fail(
                        format!("{check}: output `{key}`"),
                        "unknown",
                        format!("absent; outputs were {}", show_map(&outputs)),
                        "return the output as an unknown value",
                    ),
                }
            }
            if !id.is_empty() {
                rec.note(format!(
                    "{}: the preview Create with unknowns returned id {id:?}",
                    r.type_token
                ));
            }
        }
    }
    Ok(())
}

/// Every string inside a secret of `map`.
fn secret_texts(map: &PropertyMap) -> Vec<String> {
    fn walk(v: &Value, inside: bool, out: &mut Vec<String>) {
        match v {
            Value::String(s) if inside && !s.is_empty() => out.push(s.clone()),
            Value::Secret(inner) => walk(inner, true, out),
            Value::Output {
                value: Some(inner),
                secret,
                ..
            } => walk(inner, inside || *secret, out),
            Value::Array(items) => items.iter().for_each(|i| walk(i, inside, out)),
            Value::Object(m) => m.values().for_each(|i| walk(i, inside, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    map.values().for_each(|v| walk(v, false, &mut out));
    out
}

fn expect_secret(
    rec: &mut Rec,
    check: &str,
    outputs: &PropertyMap,
    secret_outputs: &[String],
    secrets: &[String],
) {
    for key in secret_outputs {
        match outputs.get(key) {
            Some(v) if v.is_secret() => {}
            Some(v) => rec.fail(
                format!("{check}: output `{key}`"),
                "a secret (it derives from a secret input)",
                format!(
                    "a plain {}: the secret was dropped{}",
                    v.kind_name(),
                    if secrets.iter().any(|s| v.leaks(s)) { " and the secret text appears in clear" } else { "" }
                ),
                "wrap outputs derived from secret inputs as secrets; otherwise the secret is stored and shown in plain text",
            ),
            None => rec.fail(format!("{check}: output `{key}`"), "a secret", "absent", format!("return `{key}`")),
        }
    }
    for (key, v) in outputs {
        if secret_outputs.contains(key) {
            continue;
        }
        if secrets.iter().any(|s| v.leaks(s)) {
            rec.fail(
                format!("{check}: output `{key}`"),
                "no secret text outside a secret",
                "a secret input's text appears in this output in clear".to_string(),
                format!("wrap `{key}` as a secret"),
            );
        }
    }
}

async fn secrets(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let Some(fx) = &r.secrets else {
        return Err(Stop::NotApplicable(
            "the fixture gives no `secrets` inputs".into(),
        ));
    };
    let s = start(ctx).await?;
    if s.handshake.as_ref().is_some_and(|h| !h.accept_secrets)
        || s.configure.as_ref().is_some_and(|c| !c.accept_secrets)
    {
        rec.note("the plugin does not accept secrets: the engine re-marks outputs itself; checking that no secret leaks");
    }
    let news = ResourceFixture::map(&fx.inputs);
    let secrets = secret_texts(&news);
    let inputs = s
        .check_valid(r, &PropertyMap::new(), &news, "secret inputs")
        .await?;
    for (key, v) in &news {
        if v.is_secret() && inputs.get(key).is_some_and(|c| !c.is_secret()) {
            rec.fail(
                format!("{}: Check of secret inputs: input `{key}`", r.type_token),
                "still a secret",
                "a plain value: Check dropped the secret",
                "return checked inputs with their secret markings",
            );
        }
    }
    let (id, outputs) = s.create_ok(r, &inputs).await?;
    expect_secret(
        rec,
        &format!("Create({})", r.type_token),
        &outputs,
        &fx.secret_outputs,
        &secrets,
    );
    let mut state = (outputs.clone(), inputs.clone());
    match s.read(r, &id, &outputs, &inputs).await {
        Err(e) => rec.findings.push(e.finding(
            format!("Read({}) of a resource with secrets", r.type_token),
            "answer Read",
        )),
        Ok((_, props, _)) => expect_secret(
            rec,
            &format!("Read({})", r.type_token),
            &props,
            &fx.secret_outputs,
            &secrets,
        ),
    }
    if let Some(update) = &fx.update {
        let update = ResourceFixture::map(update);
        let mut all = secrets.clone();
        all.extend(secret_texts(&update));
        let checked = or_cleanup!(
            s.check_valid(r, &inputs, &update, "secret update inputs")
                .await,
            (&s, rec, r, &id, &outputs, &inputs)
        );
        match s.update(r, &id, &outputs, &inputs, &checked).await {
            Err(e) => rec.findings.push(e.finding(
                format!("Update({}) with secret inputs", r.type_token),
                "answer Update",
            )),
            Ok(after) => {
                expect_secret(
                    rec,
                    &format!("Update({})", r.type_token),
                    &after,
                    &fx.secret_outputs,
                    &all,
                );
                state = (after, checked);
            }
        }
    }
    cleanup(&s, rec, r, &id, &state.0, &state.1).await;
    for entry in s.plugin.engine.logs() {
        if secrets
            .iter()
            .any(|sec| entry.message.contains(sec.as_str()))
        {
            rec.fail(
                format!("{}: Engine.Log messages", r.type_token),
                "no secret text in log messages",
                "a Log message contains a secret input's text".to_string(),
                "never log secret values",
            );
            break;
        }
    }
    Ok(())
}

async fn delete_then_read(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
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
    Ok(())
}

async fn idempotency(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
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

async fn partial_init(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
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

async fn cancel(ctx: &Ctx, rec: &mut Rec) -> CaseResult {
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

async fn cancel_in_flight(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
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

async fn concurrency(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let n = ctx.kit.concurrency.max(1);
    let s = start(ctx).await?;
    let inputs = s
        .check_valid(
            r,
            &PropertyMap::new(),
            &ResourceFixture::map(&r.inputs),
            "inputs",
        )
        .await?;
    let started = std::time::Instant::now();
    let creates = futures::future::join_all((0..n).map(|_| s.create(r, &inputs, false))).await;
    let mut made = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for c in creates {
        match c {
            Ok((id, outputs)) if !id.is_empty() => made.push((id, outputs)),
            Ok(_) => errors.push("an empty id".into()),
            Err(e) => errors.push(e.explanation),
        }
    }
    let ids: BTreeSet<&String> = made.iter().map(|(id, _)| id).collect();
    if ids.len() != made.len() {
        rec.fail(
            format!("{n} concurrent Creates({})", r.type_token),
            "a distinct id per resource",
            format!("{} distinct ids for {} resources", ids.len(), made.len()),
            "do not share state between concurrent calls",
        );
    }
    report_errors(
        rec,
        &format!("{n} concurrent Creates({}) on one connection", r.type_token),
        n,
        &errors,
    );
    let deletes = futures::future::join_all(
        made.iter()
            .map(|(id, outputs)| s.delete(r, id, outputs, &inputs)),
    )
    .await;
    let errors: Vec<String> = deletes
        .into_iter()
        .filter_map(|d| d.err().map(|e| e.explanation))
        .collect();
    report_errors(
        rec,
        &format!(
            "{} concurrent Deletes({}) on one connection",
            made.len(),
            r.type_token
        ),
        made.len(),
        &errors,
    );
    rec.note(format!(
        "{}: {} Creates and Deletes in {:.2} s",
        r.type_token,
        n,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn report_errors(rec: &mut Rec, check: &str, total: usize, errors: &[String]) {
    if errors.is_empty() {
        return;
    }
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for e in errors {
        let first = e.lines().next().unwrap_or("").to_string();
        match kinds.iter_mut().find(|(k, _)| *k == first) {
            Some((_, n)) => *n += 1,
            None => kinds.push((first, 1)),
        }
    }
    let sample = kinds
        .iter()
        .take(3)
        .map(|(k, n)| format!("{n}× {k}"))
        .collect::<Vec<_>>()
        .join("; ");
    rec.fail(
        check.to_string(),
        format!("all {total} calls succeed"),
        format!("{} of {total} failed: {sample}", errors.len()),
        "serve concurrent calls on one HTTP/2 connection without dropping or cancelling any",
    );
}
