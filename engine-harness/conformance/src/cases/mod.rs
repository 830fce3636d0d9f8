//! The cases. Each has a stable name, runs on a freshly launched plugin, and records every
//! failed assertion it meets rather than stopping at the first (it stops only when nothing
//! further can be checked, such as a Create that failed).

use crate::fixture::ResourceFixture;
use crate::kit::{Ctx, SchemaAnswer};
use crate::report::Finding;
use crate::session::Session;
use futures::future::BoxFuture;

// The macro is defined before the modules so that they can use it.
#[macro_use]
mod macros {
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
}

mod concurrency;
mod construct;
mod lifecycle;
mod preview;
mod process;
mod provider;
mod resource;
mod schema;
mod secrets;

/// One conformance case: its stable name, what it proves, and how it runs, declared together.
pub struct Case {
    /// The stable name (`process.port-line`), used by `--only`, fixtures' `skip` and reports.
    pub name: &'static str,
    /// What the case proves, in one line.
    pub description: &'static str,
    run: Run,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

type Whole = for<'a> fn(&'a Ctx, &'a mut Rec) -> BoxFuture<'a, CaseResult>;
type PerResource =
    for<'a> fn(&'a Ctx, &'a mut Rec, &'a ResourceFixture) -> BoxFuture<'a, CaseResult>;

/// How a case runs.
enum Run {
    /// Once.
    Whole(Whole),
    /// Once per fixture resource (not applicable only when no resource is), `${N}` replaced.
    EachResource(PerResource),
    /// Once per fixture resource, `${N}` left for the case to replace per instance.
    EachTemplate(PerResource),
    /// Once per fixture resource, when the plugin has a schema.
    EachResourceWithSchema(PerResource),
    /// Once per fixture entry of a component (`isComponent: true` in the schema).
    EachComponent(PerResource),
}

/// Declares a case: `case!(name, description, whole|each|each_with_schema path::to::function)`.
macro_rules! case {
    ($name:literal, $description:literal, whole $($f:ident)::+) => {
        Case {
            name: $name,
            description: $description,
            run: Run::Whole(|ctx, rec| Box::pin($($f)::+(ctx, rec))),
        }
    };
    ($name:literal, $description:literal, each $($f:ident)::+) => {
        Case {
            name: $name,
            description: $description,
            run: Run::EachResource(|ctx, rec, r| Box::pin($($f)::+(ctx, rec, r))),
        }
    };
    ($name:literal, $description:literal, each_template $($f:ident)::+) => {
        Case {
            name: $name,
            description: $description,
            run: Run::EachTemplate(|ctx, rec, r| Box::pin($($f)::+(ctx, rec, r))),
        }
    };
    ($name:literal, $description:literal, each_with_schema $($f:ident)::+) => {
        Case {
            name: $name,
            description: $description,
            run: Run::EachResourceWithSchema(|ctx, rec, r| Box::pin($($f)::+(ctx, rec, r))),
        }
    };
    ($name:literal, $description:literal, each_component $($f:ident)::+) => {
        Case {
            name: $name,
            description: $description,
            run: Run::EachComponent(|ctx, rec, r| Box::pin($($f)::+(ctx, rec, r))),
        }
    };
}

/// Every case, in run order.
pub const CASES: &[Case] = &[
    case!(
        "process.port-line",
        "the port is the first line on stdout, alone",
        whole process::port_line
    ),
    case!(
        "process.loopback",
        "the plugin listens on 127.0.0.1 only",
        whole process::loopback
    ),
    case!(
        "process.flags",
        "the engine's flags (--logtostderr -v=9 --tracing x) and unknown flags are tolerated",
        whole process::flags
    ),
    case!(
        "process.attach",
        "without an engine address the plugin serves and accepts Attach",
        whole process::attach
    ),
    case!(
        "process.sigint",
        "SIGINT ends the plugin promptly with exit code 0",
        whole process::sigint
    ),
    case!(
        "protocol.handshake-configure",
        "Handshake and Configure agree on the capabilities they announce",
        whole process::handshake_configure
    ),
    case!(
        "config.check-configure",
        "CheckConfig accepts good configuration and rejects bad, naming the key; DiffConfig sees no change in the same; Configure refuses bad",
        whole provider::config
    ),
    case!(
        "functions.invoke",
        "Invoke returns the expected result for good arguments and failures naming the bad ones",
        whole provider::functions
    ),
    case!(
        "schema.package",
        "GetSchema returns a valid package schema (the kit's rules, and Pulumi's metaschema when given)",
        whole schema::package_schema
    ),
    case!(
        "schema.check-consistency",
        "the schema declares what Check accepts and what Create returns",
        each_with_schema schema::schema_consistency
    ),
    case!(
        "check.invalid-inputs",
        "Check rejects invalid inputs with failures naming the properties",
        each resource::invalid_inputs
    ),
    case!(
        "create.outputs",
        "Create returns an id and the expected outputs",
        each resource::create_outputs
    ),
    case!(
        "read.after-create",
        "Read right after Create returns the same id and outputs",
        each resource::read_after_create
    ),
    case!(
        "diff.unchanged",
        "Diff of unchanged inputs reports no change",
        each resource::diff_unchanged
    ),
    case!(
        "diff.update-vs-replace",
        "Diff reports updates and replacements as declared; Update applies in place",
        each resource::update_vs_replace
    ),
    case!(
        "preview.unknowns",
        "a preview with unknown inputs creates nothing and returns unknowns",
        each preview::preview_unknowns
    ),
    case!(
        "secrets.roundtrip",
        "secret inputs stay secret through Create, Read and Update, and never leak",
        each secrets::secrets
    ),
    case!(
        "delete.then-read",
        "Read after Delete reports the resource gone",
        each lifecycle::delete_then_read
    ),
    case!(
        "idempotency",
        "a second up is a no-op, and a refresh right after up shows no drift",
        each lifecycle::idempotency
    ),
    case!(
        "errors.partial-init",
        "a partial-initialization error carries a well-formed ErrorResourceInitFailed",
        each lifecycle::partial_init
    ),
    case!(
        "cancel",
        "Cancel is answered promptly and the plugin still shuts down cleanly",
        whole lifecycle::cancel
    ),
    case!(
        "concurrency",
        "many concurrent Creates and Deletes on one connection (distinct inputs with `${N}`) all succeed",
        each_template concurrency::concurrency
    ),
    case!(
        "construct.children",
        "Construct registers the component, its children parented to it, and its outputs, and answers with its URN",
        each_component construct::children
    ),
    case!(
        "construct.providers",
        "a component's children use the provider Construct was given for their package",
        each_component construct::providers
    ),
    case!(
        "construct.secrets",
        "secret inputs of a component stay secret in its children's inputs and in its outputs",
        each_component construct::secrets
    ),
    case!(
        "construct.invalid-inputs",
        "Construct with invalid inputs fails, naming every bad property",
        each_component construct::invalid_inputs
    ),
];

/// The case named `name`.
pub fn find(name: &str) -> Option<&'static Case> {
    CASES.iter().find(|c| c.name == name)
}

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
            sdk_fix: None,
        });
    }

    /// Adds the fix in `provider-sdk` terms to the finding recorded last.
    fn sdk_fix(&mut self, hint: impl Into<String>) {
        if let Some(last) = self.findings.last_mut() {
            last.sdk_fix = Some(hint.into());
        }
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

/// Which fixture entries a case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entries {
    /// Custom resources (Check, Create, ...), `${N}` replaced per instance.
    Custom,
    /// Custom resources, `${N}` left for the case.
    CustomTemplate,
    /// Components (Construct).
    Components,
}

/// Runs each fixture entry of the kind `entries` through `case`; not applicable only when no
/// entry is.
async fn each_resource(
    ctx: &Ctx,
    rec: &mut Rec,
    name: &str,
    case: PerResource,
    entries: Entries,
) -> CaseResult {
    let components = entries == Entries::Components;
    let selected: Vec<&ResourceFixture> = ctx
        .fixture
        .resources
        .iter()
        .filter(|r| ctx.is_component(&r.type_token) == components)
        .collect();
    if selected.is_empty() {
        return Err(Stop::NotApplicable(if components {
            "no fixture entry is a component (`isComponent: true` in the schema)".into()
        } else if ctx.fixture.resources.is_empty() {
            no_resources(ctx)
        } else {
            "every fixture entry is a component (see the construct.* cases)".into()
        }));
    }
    let mut skipped = Vec::new();
    let mut ran = false;
    for r in selected {
        let outcome = match r.skip.get(name) {
            Some(why) => Err(Stop::NotApplicable(format!("the fixture skips it: {why}"))),
            None if entries == Entries::CustomTemplate => case(ctx, rec, r).await,
            None => case(ctx, rec, &r.instance(ctx.next_instance())).await,
        };
        match outcome {
            Ok(()) => ran = true,
            Err(Stop::Failed(f)) => {
                rec.findings.push(f);
                ran = true;
            }
            Err(Stop::NotApplicable(why)) => skipped.push(format!("{}: {why}", r.type_token)),
        }
    }
    if !ran {
        return Err(Stop::NotApplicable(skipped.join("; ")));
    }
    for s in skipped {
        rec.note(format!("not applicable to {s}"));
    }
    Ok(())
}

fn no_resources(ctx: &Ctx) -> String {
    match &ctx.schema {
        SchemaAnswer::Json(_) => "no fixture was given and no resource of the schema has inputs the kit can make up; pass --fixture".into(),
        _ => "no fixture was given and the plugin has no schema to derive inputs from; pass --fixture FILE".into(),
    }
}

/// Runs `case`.
pub(crate) async fn run_case(case: &Case, ctx: &Ctx, rec: &mut Rec) -> CaseResult {
    if !ctx.derived.is_empty() && !case.name.starts_with("process.") {
        rec.note(format!(
            "inputs derived from the schema for: {}",
            ctx.derived.join(", ")
        ));
    }
    match case.run {
        Run::Whole(f) => f(ctx, rec).await,
        Run::EachResource(f) => each_resource(ctx, rec, case.name, f, Entries::Custom).await,
        Run::EachTemplate(f) => {
            each_resource(ctx, rec, case.name, f, Entries::CustomTemplate).await
        }
        Run::EachResourceWithSchema(f) => {
            if !matches!(ctx.schema, SchemaAnswer::Json(_)) {
                return Err(Stop::NotApplicable(schema::schema_absent(ctx)));
            }
            each_resource(ctx, rec, case.name, f, Entries::Custom).await
        }
        Run::EachComponent(f) => each_resource(ctx, rec, case.name, f, Entries::Components).await,
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
        sdk_fix: None,
    }
}
