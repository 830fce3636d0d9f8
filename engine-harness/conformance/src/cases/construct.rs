//! Components: `Construct` builds a component by registering it and its children with the
//! engine's resource monitor. The kit plays the engine with a recording monitor
//! ([`crate::recorder`]) and checks what the provider registered.

use super::{CaseResult, Rec, Stop, start};
use crate::fixture::ResourceFixture;
use crate::kit::Ctx;
use crate::recorder::{Creator, Recorder, Seen};
use crate::report::Finding;
use crate::session::CallError;
use crate::session::Session;
use crate::values::encode_struct;
use crate::values::{PropertyMap, decode_struct, show_map};
use std::collections::HashMap;
use std::time::Duration;

/// The name the kit gives each component it constructs.
const NAME: &str = "conformance";

/// One Construct and what the monitor saw of it.
struct Constructed {
    recorder: Recorder,
    /// The component's URN, as the monitor computes it for the requested type, name and parent.
    urn: String,
    answer: Result<pulumirpc::ConstructResponse, CallError>,
}

/// Construct of `r` with `inputs` and no providers, children registered with a fresh
/// recording monitor.
async fn construct(
    ctx: &Ctx,
    s: &Session,
    r: &ResourceFixture,
    inputs: &PropertyMap,
) -> Result<Constructed, Finding> {
    let recorder = Recorder::start(creator(ctx, s)).await?;
    constructed_with(ctx, s, r, inputs, recorder, HashMap::new()).await
}

/// The plugin under test as the creator of its own children.
fn creator(ctx: &Ctx, s: &Session) -> Creator {
    Creator {
        client: s.plugin.client(),
        package: ctx.package.clone(),
        timeout: ctx.kit.call_timeout,
    }
}

/// Construct with `recorder` as the monitor and `providers` (package to `<URN>::<id>`).
async fn constructed_with(
    ctx: &Ctx,
    s: &Session,
    r: &ResourceFixture,
    inputs: &PropertyMap,
    recorder: Recorder,
    providers: HashMap<String, String>,
) -> Result<Constructed, Finding> {
    let (config, config_secret_keys) = ctx.config_text();
    let name = r.name.clone().unwrap_or_else(|| NAME.into());
    let request = pulumirpc::ConstructRequest {
        project: crate::session::STACK.into(),
        stack: crate::session::STACK.into(),
        organization: "organization".into(),
        config: config
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect(),
        config_secret_keys,
        dry_run: false,
        parallel: 4,
        monitor_endpoint: recorder.address().to_string(),
        r#type: r.type_token.clone(),
        name: name.clone(),
        parent: recorder.stack_urn.clone(),
        inputs: Some(encode_struct(inputs)),
        providers,
        accepts_output_values: false,
        ..Default::default()
    };
    let answer = s
        .call("Construct", s.plugin.client().construct(request))
        .await;
    Ok(Constructed {
        urn: recorder.component_urn(&r.type_token, &name),
        recorder,
        answer,
    })
}

impl Constructed {
    /// Deletes the children the kit created for this Construct; a failed Delete is a finding.
    async fn finish(self, ctx: &Ctx, s: &Session, rec: &mut Rec) {
        for failure in self.recorder.cleanup(&creator(ctx, s)).await {
            rec.fail(
                "delete the component's children after the case",
                "each Delete succeeds",
                failure,
                "Delete must remove what Create made, given the id and outputs Create returned",
            );
        }
    }

    /// The answer, or a finding for a Construct that failed on valid inputs.
    fn response(
        &self,
        r: &ResourceFixture,
        what: &str,
    ) -> Result<&pulumirpc::ConstructResponse, Finding> {
        self.answer.as_ref().map_err(|e| {
            e.finding(
                format!("Construct({}) of the fixture's {what}", r.type_token),
                "Construct must build the component from valid inputs; when the provider has no components, \
                 its schema must not declare `isComponent: true`",
            )
            .with_sdk_fix(
                "serve the component with the SDK's typed `Component` (its `construct` registers children through \
                 `ComponentContext::register`), or implement `ResourceProvider::construct` in the raw layer",
            )
        })
    }

    /// The component's own registration and every other one, the kit's own left out.
    fn split(&self, kit_own: &[&str]) -> (Option<Seen>, Vec<Seen>) {
        let mut all = self.recorder.registrations(kit_own);
        let own = all
            .iter()
            .position(|s| s.registration.urn == self.urn)
            .map(|i| all.remove(i));
        (own, all)
    }
}

/// Checks what a successful Construct registered: the component itself, its children's
/// parents, its outputs, and the URN it answered with. Returns the children.
fn check_registrations(
    rec: &mut Rec,
    r: &ResourceFixture,
    c: &Constructed,
    response: &pulumirpc::ConstructResponse,
    kit_own: &[&str],
) -> Vec<Seen> {
    let check = format!("Construct({})", r.type_token);
    let (own, children) = c.split(kit_own);
    match &own {
        None => {
            rec.fail(
                format!("{check}: the component's own registration"),
                format!(
                    "RegisterResource of type `{}` named as requested, with the requested parent (URN {})",
                    r.type_token, c.urn
                ),
                format!(
                    "registered: {}",
                    list(&children.iter().map(describe).collect::<Vec<_>>())
                ),
                "register the component resource itself first (custom = false, the ConstructRequest's type, name \
                 and parent), then its children with the component's URN as parent",
            );
            rec.sdk_fix(
                "the SDK registers the component for you: build it with the typed `Component` rather than \
                 registering resources from a raw `construct`",
            );
        }
        Some(own) if own.registration.custom => rec.fail(
            format!("{check}: the component's own registration"),
            "custom = false (a component is not a custom resource)",
            "custom = true",
            "register the component with custom = false",
        ),
        Some(_) => {}
    }
    if children.is_empty() {
        rec.note(format!("{check}: the component registered no children"));
    }
    // Children may nest: a child's parent is the component or another of its children.
    let family: Vec<&str> = std::iter::once(c.urn.as_str())
        .chain(children.iter().map(|s| s.registration.urn.as_str()))
        .collect();
    for child in &children {
        let parent = child.registration.parent.as_deref();
        if parent.is_some_and(|p| family.contains(&p)) {
            continue;
        }
        rec.fail(
            format!("{check}: child `{}` parent", child.label()),
            format!("the component's URN {} (or one of its children's)", c.urn),
            match parent {
                None => "no parent: the child was registered without the component as parent".to_string(),
                Some(p) if p == c.recorder.stack_urn => {
                    format!("the stack {p}: the child was registered without the component as parent")
                }
                Some(p) => format!("{p}: not the component nor one of its children"),
            },
            "set `parent` to the component's URN in every child's RegisterResource: a child outside its \
             component is not replaced, deleted or shown with it",
        );
        rec.sdk_fix(
            "register children through `ComponentContext::register` (it parents them to the component); \
             with the raw monitor client, pass the component's URN as the child's `parent`",
        );
    }
    if c.recorder.outputs_of(&c.urn).is_none() {
        rec.fail(
            format!("{check}: RegisterResourceOutputs"),
            format!("RegisterResourceOutputs for the component {}", c.urn),
            "never called for the component",
            "after registering the children, call RegisterResourceOutputs with the component's URN and outputs: \
             until then the engine considers the component unfinished",
        );
        rec.sdk_fix(
            "return the outputs from `Component::construct`: the SDK registers them; with the raw monitor \
             client, call `register_outputs`",
        );
    }
    if response.urn != c.urn {
        rec.fail(
            format!("{check}: ConstructResponse.urn"),
            format!("the component's URN {}", c.urn),
            if response.urn.is_empty() {
                "an empty URN".to_string()
            } else {
                response.urn.clone()
            },
            "answer Construct with the URN the monitor gave the component's own registration",
        );
    }
    children
}

fn describe(s: &Seen) -> String {
    format!(
        "{} (parent {})",
        s.label(),
        s.registration.parent.as_deref().unwrap_or("none")
    )
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

fn decode_state(response: &pulumirpc::ConstructResponse) -> Result<PropertyMap, String> {
    decode_struct(response.state.as_ref()).map_err(|e| e.to_string())
}

pub(super) async fn children(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    let c = construct(ctx, &s, r, &ResourceFixture::map(&r.inputs)).await?;
    let outcome = check_children(rec, r, &c);
    c.finish(ctx, &s, rec).await;
    outcome
}

fn check_children(rec: &mut Rec, r: &ResourceFixture, c: &Constructed) -> CaseResult {
    let response = c.response(r, "inputs")?;
    let stack = c.recorder.stack_urn.clone();
    let children = check_registrations(rec, r, c, response, &[&stack]);
    // No provider was given: children of this package use its default provider.
    for child in children.iter().filter(|s| s.registration.custom) {
        if let Some(p) = &child.registration.options.provider {
            rec.fail(
                format!("Construct({}): child `{}` provider", r.type_token, child.label()),
                "none (the default provider): Construct was given no providers",
                format!("{}::{}", p.urn, p.id),
                "give a child an explicit provider only when Construct's `providers` names one for its package",
            );
        }
    }
    if let Err(e) = decode_state(response) {
        rec.fail(
            format!("Construct({}): ConstructResponse.state", r.type_token),
            "outputs that decode",
            e,
            "encode the component's outputs as Pulumi property values",
        );
    }
    Ok(())
}

pub(super) async fn providers(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let s = start(ctx).await?;
    let recorder = Recorder::start(creator(ctx, &s)).await?;
    let provider_type = format!("pulumi:providers:{}", ctx.package);
    let provider_name = "conformance-explicit";
    let provider_urn = recorder
        .register(
            &provider_type,
            provider_name,
            Some(&recorder.stack_urn.clone()),
            true,
        )
        .await?;
    // The recording monitor answers a custom resource with the id `<name>-id`.
    let reference = format!("{provider_urn}::{provider_name}-id");
    let providers = HashMap::from([(ctx.package.clone(), reference.clone())]);
    let c = constructed_with(
        ctx,
        &s,
        r,
        &ResourceFixture::map(&r.inputs),
        recorder,
        providers,
    )
    .await?;
    let outcome = check_providers(ctx, rec, r, &c, &provider_urn, &reference);
    c.finish(ctx, &s, rec).await;
    outcome
}

fn check_providers(
    ctx: &Ctx,
    rec: &mut Rec,
    r: &ResourceFixture,
    c: &Constructed,
    provider_urn: &str,
    reference: &str,
) -> CaseResult {
    let response = c.response(r, "inputs (with an explicit provider)")?;
    let stack = c.recorder.stack_urn.clone();
    let children = check_registrations(rec, r, c, response, &[&stack, provider_urn]);
    let prefix = format!("{}:", ctx.package);
    let ours: Vec<&Seen> = children
        .iter()
        .filter(|s| s.registration.custom && s.registration.type_token.starts_with(&prefix))
        .collect();
    if ours.is_empty() {
        return Err(Stop::NotApplicable(format!(
            "the component registered no custom resource of package `{}`",
            ctx.package
        )));
    }
    for child in ours {
        let got = child
            .registration
            .options
            .provider
            .as_ref()
            .map(|p| format!("{}::{}", p.urn, p.id));
        if got.as_deref() != Some(reference) {
            rec.fail(
                format!("Construct({}): child `{}` provider", r.type_token, child.label()),
                format!("the provider Construct was given for `{}`: {reference}", ctx.package),
                got.unwrap_or_else(|| "none (the default provider)".into()),
                "register each child with the provider that ConstructRequest.providers names for its package \
                 (the component's `providers` option), as the engine does for a program's components",
            );
            rec.sdk_fix(
                "`ComponentContext::register` must pass the component's providers on to its children; with the raw \
                 monitor client, set the child's `provider` from `ConstructRequest::providers`",
            );
        }
    }
    Ok(())
}

pub(super) async fn secrets(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let Some(fx) = &r.secrets else {
        return Err(Stop::NotApplicable(
            "the fixture gives no `secrets` inputs".into(),
        ));
    };
    let inputs = ResourceFixture::map(&fx.inputs);
    let texts = super::secrets::secret_texts(&inputs);
    let s = start(ctx).await?;
    let c = construct(ctx, &s, r, &inputs).await?;
    let outcome = check_secrets(rec, r, fx, &texts, &c);
    c.finish(ctx, &s, rec).await;
    outcome
}

fn check_secrets(
    rec: &mut Rec,
    r: &ResourceFixture,
    fx: &crate::fixture::SecretsFixture,
    texts: &[String],
    c: &Constructed,
) -> CaseResult {
    let response = c.response(r, "secret inputs")?;
    let stack = c.recorder.stack_urn.clone();
    let (own, children) = c.split(&[&stack]);
    let check = format!("Construct({}) with secret inputs", r.type_token);
    for reg in own.iter().chain(&children) {
        for (key, v) in &reg.inputs {
            if texts.iter().any(|t| v.leaks(t)) {
                rec.fail(
                    format!("{check}: `{}` input `{key}`", reg.label()),
                    "the secret input's text only inside a secret",
                    "it appears in clear in what the component registered",
                    "keep secret inputs secret in the children's inputs (pass the secret on, or mark what derives \
                     from it secret); otherwise the engine stores and shows it in plain text",
                );
                rec.sdk_fix(
                    "pass secret inputs to children as `Secret<T>` (or wrap derived values with `Secret::new`); \
                     a component's inputs keep their secret markings only in those types",
                );
            }
        }
    }
    match decode_state(response) {
        Ok(state) => super::secrets::expect_secret(
            rec,
            &format!("{check}: ConstructResponse.state"),
            &state,
            &fx.secret_outputs,
            texts,
        ),
        Err(e) => rec.fail(
            format!("{check}: ConstructResponse.state"),
            "outputs that decode",
            e,
            "encode the component's outputs as Pulumi property values",
        ),
    }
    if let Some(outputs) = c.recorder.outputs_of(&c.urn) {
        super::secrets::expect_secret(
            rec,
            &format!("{check}: RegisterResourceOutputs"),
            &outputs,
            &fx.secret_outputs,
            texts,
        );
    }
    Ok(())
}

pub(super) async fn invalid_inputs(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let mut bad: Vec<(PropertyMap, Vec<String>)> = r
        .invalid
        .iter()
        .map(|b| (ResourceFixture::map(&b.inputs), b.properties.clone()))
        .collect();
    if bad.is_empty() {
        let required: Vec<String> = ctx
            .schema_resource(&r.type_token)
            .and_then(|s| s.get("requiredInputs"))
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if required.is_empty() {
            return Err(Stop::NotApplicable(
                "the fixture lists no invalid inputs and the schema requires none".into(),
            ));
        }
        bad.push((PropertyMap::new(), required));
    }
    let s = start(ctx).await?;
    for (i, (inputs, properties)) in bad.iter().enumerate() {
        let what = format!(
            "Construct({}) of invalid inputs #{} {}",
            r.type_token,
            i + 1,
            show_map(inputs)
        );
        let c = construct(ctx, &s, r, inputs).await?;
        // The provider's own words (the status message), and the kit's explanation of the call.
        let answer = c.answer.as_ref().map(|_| ()).map_err(|e| {
            let message = e.status.as_ref().map(|st| st.message().to_string());
            (
                message.unwrap_or_else(|| e.explanation.clone()),
                e.explanation.clone(),
            )
        });
        c.finish(ctx, &s, rec).await;
        match answer {
            Ok(_) => {
                rec.fail(
                    what,
                    format!("an error naming {properties:?}"),
                    "Construct succeeded: the component accepted invalid inputs",
                    "validate the component's inputs before registering anything, and fail Construct naming each bad property",
                );
                rec.sdk_fix(
                    "give the component's `Inputs` the types and validation its schema declares: the SDK reports \
                     serde errors naming the property",
                );
            }
            Err((message, explanation)) => {
                if s.plugin
                    .wait_exit(Duration::from_millis(500))
                    .await
                    .is_some()
                {
                    rec.fail(
                        what,
                        format!("an error naming {properties:?}"),
                        explanation,
                        "the plugin crashed on invalid input: validate inputs and fail the call instead of panicking or exiting",
                    );
                    return Ok(());
                }
                for prop in properties.iter().filter(|p| !message.contains(p.as_str())) {
                    rec.fail(
                        what.clone(),
                        format!("an error naming `{prop}`"),
                        message.clone(),
                        format!("name every invalid input in Construct's error, `{prop}` included, so the user sees what to fix"),
                    );
                    rec.sdk_fix(
                        "collect every invalid input before failing (return one error listing them all) rather than \
                         stopping at the first",
                    );
                }
            }
        }
    }
    Ok(())
}
