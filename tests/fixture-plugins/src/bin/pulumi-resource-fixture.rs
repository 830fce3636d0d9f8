//! `pulumi-resource-fixture`: a provider built with the SDK whose resources misbehave on purpose,
//! so the end-to-end tests can prove how the serving shim copes.
//!
//! | type token | what its `Create` does |
//! |---|---|
//! | `fixture:index:Panic` | panics |
//! | `fixture:index:InitFails` | fails with [`Error::InitFailed`]: id `<name>-id`, the inputs plus `state: "half-made"` as properties, two reasons |
//! | `fixture:index:Hang` | waits until its context is cancelled (Cancel, SIGINT), then fails with `CANCELLED` |
//! | `fixture:index:Stubborn` | ignores cancellation and sleeps for 10 minutes (to test the shutdown grace bound) |
//! | `fixture:index:Chatty` | prints to stdout with `println!`/`print!` (so do its `Check` and `Read`), then succeeds |
//! | `fixture:index:Recreated` | succeeds; a change of its `state` input is a delete-before-replace, and with `dependent: true` its `Check` fails when given old inputs whose `state` differs (an engine must Check a resource it recreates as a new one) |
//!
//! `Hang` writes `fixture: Hang started <urn>` to stderr when it begins waiting and
//! `fixture: Hang saw cancellation <urn>` when its context is cancelled (`Stubborn` writes
//! `fixture: Stubborn started <urn>`), so a test can wait for
//! the call to be in flight and check that it saw the cancellation. Chatty's output is prefixed
//! `fixture: chatty stdout`. Read, Update and Delete echo their inputs for every type.

use std::process::ExitCode;

use provider_sdk::ops::*;
use provider_sdk::{Context, Error, PropertyValue, ResourceProvider, Result, async_trait};

const PANIC: &str = "fixture:index:Panic";
const INIT_FAILS: &str = "fixture:index:InitFails";
const HANG: &str = "fixture:index:Hang";
const STUBBORN: &str = "fixture:index:Stubborn";
const CHATTY: &str = "fixture:index:Chatty";
const RECREATED: &str = "fixture:index:Recreated";
const TYPES: [&str; 6] = [PANIC, INIT_FAILS, HANG, STUBBORN, CHATTY, RECREATED];

/// The reasons `InitFails` reports, in order.
const INIT_REASONS: [&str; 2] = [
    "the service did not become ready within 1s",
    "health check on port 8080 failed",
];

/// Provider whose resources misbehave on purpose.
struct Fixture;

fn known_type(type_token: &str) -> Result<()> {
    if TYPES.contains(&type_token) {
        Ok(())
    } else {
        Err(Error::InvalidRequest(format!(
            "unknown resource type `{type_token}`; this provider (fixture) manages: {}",
            TYPES.join(", ")
        )))
    }
}

#[async_trait]
impl ResourceProvider for Fixture {
    async fn check(&self, _ctx: &Context, req: CheckRequest) -> Result<CheckResponse> {
        known_type(&req.type_token)?;
        if req.type_token == CHATTY {
            println!("fixture: chatty stdout from Check of {}", req.urn);
        }
        let dependent = req.news.get("dependent") == Some(&PropertyValue::Bool(true));
        if req.type_token == RECREATED
            && dependent
            && !req.olds.is_empty()
            && req.olds.get("state") != req.news.get("state")
        {
            let reason =
                "the engine compared the old inputs of a recreated resource with its new ones";
            let failures = vec![CheckFailure::new("state", reason)];
            return Ok(CheckResponse::invalid(req.news, failures));
        }
        Ok(CheckResponse::valid(req.news))
    }

    async fn diff(&self, _ctx: &Context, req: DiffRequest) -> Result<DiffResponse> {
        known_type(&req.type_token)?;
        let olds = if req.old_inputs.is_empty() {
            &req.olds
        } else {
            &req.old_inputs
        };
        if req.type_token != RECREATED {
            // Every other type diffs as the SDK's default does.
            return Ok(provider_sdk::diff_top_level(olds, &req.news, &[]));
        }
        if olds.get("state") == req.news.get("state") {
            return Ok(DiffResponse::none());
        }
        let detailed = [(
            "state".to_string(),
            PropertyDiff::input(DiffKind::UpdateReplace),
        )];
        let mut diff = DiffResponse::from_detailed(detailed.into_iter().collect());
        diff.delete_before_replace = true;
        Ok(diff)
    }

    async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        known_type(&req.type_token)?;
        match req.type_token.as_str() {
            PANIC => panic!("fixture: Panic resource {} panics on purpose", req.name),
            INIT_FAILS => {
                let mut properties = req.properties.clone();
                properties.insert("state".into(), PropertyValue::String("half-made".into()));
                Err(Error::init_failed(
                    format!("{}-id", req.name),
                    properties,
                    INIT_REASONS.iter().map(|r| r.to_string()).collect(),
                ))
            }
            HANG => {
                eprintln!("fixture: Hang started {}", req.urn);
                ctx.cancelled().await;
                eprintln!("fixture: Hang saw cancellation {}", req.urn);
                Err(Error::Cancelled(format!(
                    "{} stopped waiting: the operation was cancelled",
                    req.urn
                )))
            }
            STUBBORN => {
                eprintln!("fixture: Stubborn started {}", req.urn);
                tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                Ok(CreateResponse::new(
                    format!("{}-id", req.name),
                    req.properties,
                ))
            }
            _ => {
                // Chatty: output on stdout must never reach the engine's port reader.
                println!("fixture: chatty stdout from Create of {}", req.urn);
                print!("fixture: chatty stdout without a newline");
                Ok(CreateResponse::new(
                    format!("{}-id", req.name),
                    req.properties,
                ))
            }
        }
    }

    async fn read(&self, _ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
        known_type(&req.type_token)?;
        if req.type_token == CHATTY {
            println!("fixture: chatty stdout from Read of {}", req.urn);
        }
        Ok(ReadResponse::found(req.id, req.properties, req.inputs))
    }

    async fn update(&self, _ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        known_type(&req.type_token)?;
        Ok(UpdateResponse::new(req.news))
    }

    async fn delete(&self, _ctx: &Context, req: DeleteRequest) -> Result<()> {
        known_type(&req.type_token)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    provider_sdk::Plugin::new(Fixture, env!("CARGO_PKG_VERSION"))
        .main()
        .await
}
