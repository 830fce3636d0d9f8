//! Components and methods through real gRPC: a typed provider served in-process on
//! 127.0.0.1:0, driven with the generated `pulumirpc` client, registering its children with a
//! recording resource monitor (`testing::monitor::TestMonitor`) on loopback.

#[allow(dead_code)] // not every helper is used here
use crate::support;

use std::collections::BTreeMap;

use prost::Message;
use provider_sdk::ops::{CheckFailure, ResourceOptions};
use provider_sdk::testing::monitor::{
    MonitorCall, TestMonitor, TestMonitorOptions, self_reference,
};
use provider_sdk::typed::{
    Component, ComponentContext, CreateArgs, Created, Method, MethodContext, ProviderBuilder,
    Resource, TypedProvider, resource,
};
use provider_sdk::value::UnknownKind;
use provider_sdk::wire::{decode_struct, encode_map};
use provider_sdk::{Context, Maybe, PropertyMap, PropertyValue, Result, async_trait};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const NOTE: &str = "test:index:Note";
const SITE: &str = "test:index:Site";
const DESCRIBE: &str = "test:index:Site/describe";
const PARENT: &str = "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev";
const PROVIDER_REF: &str = "urn:pulumi:dev::proj::pulumi:providers:test::p::abc";

/// A note's text.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct NoteArgs {
    /// The text.
    text: String,
}

/// A note.
struct Note;

#[resource]
impl Resource for Note {
    type Inputs = NoteArgs;
    type Outputs = NoteArgs;
    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<NoteArgs>,
    ) -> Result<Created<NoteArgs>> {
        Ok(Created::new(args.name, args.inputs))
    }
}

/// The inputs of a site.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct SiteArgs {
    /// A prefix of the banner.
    prefix: String,
    /// File name to content.
    files: BTreeMap<String, String>,
    /// The port, which may be unknown in a preview.
    port: Maybe<u16>,
}

/// A site: one note per file.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct SiteOutputs {
    /// How many notes.
    count: u32,
    /// The banner.
    banner: String,
    /// The first note's text.
    first: Maybe<String>,
    /// The port.
    port: Maybe<u16>,
}

struct Site;

#[async_trait]
impl Component for Site {
    type Inputs = SiteArgs;
    type Outputs = SiteOutputs;

    async fn check(&self, _ctx: &Context, inputs: &SiteArgs) -> Result<Vec<CheckFailure>> {
        Ok(match inputs.port {
            Maybe::Known(p) if p < 1024 => {
                vec![CheckFailure::new("port", "must be between 1024 and 65535")]
            }
            _ => Vec::new(),
        })
    }

    async fn construct(
        &self,
        ctx: &ComponentContext,
        name: &str,
        inputs: SiteArgs,
    ) -> Result<SiteOutputs> {
        let mut previous: Option<String> = None;
        let mut first = Maybe::Unknown;
        for (file, content) in &inputs.files {
            let mut options = ResourceOptions::new();
            if let Some(urn) = &previous {
                options = options.depends_on(urn);
            }
            let note = ctx
                .register::<Note>(
                    &format!("{name}-{file}"),
                    &NoteArgs {
                        text: content.clone(),
                    },
                    options,
                )
                .await?;
            if previous.is_none() {
                first = note.output("text")?;
            }
            previous = Some(note.urn);
        }
        Ok(SiteOutputs {
            count: inputs.files.len() as u32,
            banner: format!(
                "{}: {}",
                inputs.prefix,
                inputs.files.values().cloned().collect::<Vec<_>>().join(",")
            ),
            first,
            port: inputs.port,
        })
    }
}

/// Describes the site.
#[derive(Serialize, Deserialize, JsonSchema)]
struct DescribeArgs {
    /// How to start.
    greeting: String,
}

/// A description.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Description {
    /// The text.
    text: String,
}

struct Describe;

#[async_trait]
impl Method for Describe {
    type Component = Site;
    type Args = DescribeArgs;
    type Output = Description;
    async fn call(&self, ctx: &MethodContext<Site>, args: DescribeArgs) -> Result<Description> {
        let text = match ctx.outputs().await? {
            Maybe::Known(site) => {
                format!("{} {} notes: {}", args.greeting, site.count, site.banner)
            }
            Maybe::Unknown => format!("{} (not built yet)", args.greeting),
        };
        Ok(Description { text })
    }
}

/// A component whose code panics.
struct Boom;

#[async_trait]
impl Component for Boom {
    type Inputs = BTreeMap<String, String>;
    type Outputs = BTreeMap<String, String>;
    async fn construct(
        &self,
        _ctx: &ComponentContext,
        _name: &str,
        _inputs: Self::Inputs,
    ) -> Result<Self::Outputs> {
        panic!("boom in construct")
    }
}

fn provider() -> TypedProvider {
    ProviderBuilder::new("test", "1.0.0")
        .resource(NOTE, Note)
        .component("test:index:Boom", Boom)
        .component(SITE, Site)
        .method(DESCRIBE, Describe)
        .build()
        .unwrap()
}

fn site_inputs(files: &[(&str, PropertyValue)], port: PropertyValue) -> PropertyMap {
    PropertyMap::from([
        ("prefix".to_string(), "site".into()),
        (
            "files".to_string(),
            PropertyValue::Object(
                files
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ),
        ),
        ("port".to_string(), port),
    ])
}

/// A recording monitor started with `options`, and the test provider served beside it.
async fn monitor_and_provider(options: TestMonitorOptions) -> (TestMonitor, support::Served) {
    let monitor = TestMonitor::start(options).await.unwrap();
    (monitor, support::serve(provider(), None).await)
}

fn construct_request(
    monitor: &TestMonitor,
    inputs: PropertyMap,
    dry_run: bool,
) -> pulumirpc::ConstructRequest {
    pulumirpc::ConstructRequest {
        project: "proj".into(),
        stack: "dev".into(),
        dry_run,
        monitor_endpoint: monitor.endpoint(),
        r#type: SITE.into(),
        name: "site".into(),
        parent: PARENT.into(),
        inputs: Some(encode_map(&inputs)),
        providers: [("test".to_string(), PROVIDER_REF.to_string())].into(),
        protect: Some(true),
        ..Default::default()
    }
}

#[tokio::test]
async fn construct_registers_the_component_then_its_children_then_its_outputs() {
    let (monitor, mut served) = monitor_and_provider(TestMonitorOptions::new("proj", "dev")).await;
    let inputs = site_inputs(&[("a", "alpha".into()), ("b", "beta".into())], 8080.into());
    let response = served
        .client
        .construct(construct_request(&monitor, inputs, false))
        .await
        .expect("constructs")
        .into_inner();

    let calls = monitor.calls();
    assert_eq!(calls.len(), 4, "{calls:#?}");
    let MonitorCall::Register(component) = &calls[0] else {
        panic!("the component is registered first: {calls:#?}")
    };
    assert_eq!(
        (component.type_token.as_str(), component.name.as_str()),
        (SITE, "site")
    );
    assert_eq!(component.parent, PARENT);
    assert!(!component.custom, "the component itself is not custom");
    assert_eq!(
        component.protect,
        Some(true),
        "the program's options go to the component"
    );
    assert!(component.accept_secrets && component.accept_resources);
    let site_urn = "urn:pulumi:dev::proj::test:index:Site::site";
    assert_eq!(component.urn, site_urn);
    for (call, (name, text)) in calls[1..3]
        .iter()
        .zip([("site-a", "alpha"), ("site-b", "beta")])
    {
        let MonitorCall::Register(child) = call else {
            panic!("children next: {calls:#?}")
        };
        assert_eq!(
            (child.type_token.as_str(), child.name.as_str()),
            (NOTE, name)
        );
        assert_eq!(
            child.parent, site_urn,
            "children are parented to the component"
        );
        assert!(child.custom);
        assert_eq!(
            child.provider, PROVIDER_REF,
            "the program's provider for the package"
        );
        assert_eq!(child.inputs["text"], PropertyValue::from(text));
    }
    let MonitorCall::Register(second) = &calls[2] else {
        unreachable!()
    };
    assert_eq!(
        second.dependencies,
        vec![format!(
            "urn:pulumi:dev::proj::test:index:Site$test:index:Note::site-a"
        )]
    );
    let MonitorCall::RegisterOutputs { urn, outputs } = &calls[3] else {
        panic!("the outputs last: {calls:#?}")
    };
    assert_eq!(urn, site_urn);
    assert_eq!(outputs["count"], PropertyValue::from(2));
    assert_eq!(
        outputs["first"],
        PropertyValue::from("alpha"),
        "a child's output passed on"
    );

    assert_eq!(response.urn, site_urn);
    let state = decode_struct(response.state.as_ref()).unwrap();
    assert_eq!(
        &state, outputs,
        "the response carries the registered outputs"
    );
    assert_eq!(response.state_dependencies["count"].urns.len(), 2);
}

#[tokio::test]
async fn a_secret_input_stays_secret_in_children_and_outputs() {
    let (monitor, mut served) = monitor_and_provider(TestMonitorOptions::new("proj", "dev")).await;
    let inputs = site_inputs(
        &[
            ("a", "public".into()),
            ("key", PropertyValue::secret("hunter22".into())),
        ],
        8080.into(),
    );
    let response = served
        .client
        .construct(construct_request(&monitor, inputs, false))
        .await
        .expect("constructs")
        .into_inner();
    let children = monitor.registrations();
    let public = children.iter().find(|r| r.name == "site-a").unwrap();
    let key = children.iter().find(|r| r.name == "site-key").unwrap();
    assert!(!public.inputs["text"].is_secret());
    assert!(
        key.inputs["text"].is_secret(),
        "the secret reaches the child as a secret"
    );
    let state = decode_struct(response.state.as_ref()).unwrap();
    assert!(
        state["banner"].is_secret(),
        "an output embedding the secret is secret"
    );
    assert!(!state["count"].is_secret());
    let Some(MonitorCall::RegisterOutputs { outputs, .. }) = monitor.calls().pop() else {
        panic!("outputs registered")
    };
    assert!(
        outputs["banner"].is_secret(),
        "secret in RegisterResourceOutputs too"
    );
    assert!(!format!("{:?}", monitor.calls()).contains("hunter22"));
}

/// The property paths of an `InputPropertiesError` detail.
fn invalid_properties(status: &tonic::Status) -> Vec<String> {
    let rpc = tonic_types::Status::decode(status.details()).expect("status details");
    let detail = rpc
        .details
        .iter()
        .find(|d| d.type_url.ends_with("pulumirpc.InputPropertiesError"))
        .expect("an InputPropertiesError detail");
    let errors = pulumirpc::InputPropertiesError::decode(detail.value.as_slice()).unwrap();
    errors.errors.into_iter().map(|e| e.property_path).collect()
}

#[tokio::test]
async fn invalid_inputs_name_every_bad_property_and_register_nothing() {
    let (monitor, mut served) = monitor_and_provider(TestMonitorOptions::new("proj", "dev")).await;
    let mut inputs = site_inputs(&[("a", 3.into())], "eighty".into());
    inputs.remove("prefix");
    inputs.insert("extra".into(), true.into());
    let status = served
        .client
        .construct(construct_request(&monitor, inputs, false))
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let mut paths = invalid_properties(&status);
    paths.sort();
    assert_eq!(
        paths,
        ["extra", "files[\"a\"]", "port", "prefix"],
        "{status:?}"
    );
    for path in ["prefix", "port", "extra"] {
        assert!(status.message().contains(path), "{}", status.message());
    }
    assert!(
        monitor.calls().is_empty(),
        "nothing registered: {:?}",
        monitor.calls()
    );

    // The author's check is reported the same way.
    let low = site_inputs(&[("a", "x".into())], 80.into());
    let status = served
        .client
        .construct(construct_request(&monitor, low, false))
        .await
        .expect_err("port too low");
    assert_eq!(invalid_properties(&status), ["port"]);
    assert!(
        status.message().contains("between 1024 and 65535"),
        "{}",
        status.message()
    );
}

/// One round: a property that does not deserialize and a failure of the component's own
/// check are reported together, so the author does not fix one to hear of the other.
#[tokio::test]
async fn deserialization_failures_and_the_components_check_are_reported_together() {
    let (monitor, mut served) = monitor_and_provider(TestMonitorOptions::new("proj", "dev")).await;
    let inputs = site_inputs(&[("a", 3.into())], 80.into());
    let status = served
        .client
        .construct(construct_request(&monitor, inputs, false))
        .await
        .expect_err("invalid");
    let mut paths = invalid_properties(&status);
    paths.sort();
    assert_eq!(paths, ["files[\"a\"]", "port"], "{status:?}");
    assert!(
        status.message().contains("between 1024 and 65535"),
        "{}",
        status.message()
    );
    assert!(monitor.calls().is_empty(), "{:?}", monitor.calls());
}

#[tokio::test]
async fn an_unknown_component_type_is_a_clear_error() {
    let (monitor, mut served) = monitor_and_provider(TestMonitorOptions::new("proj", "dev")).await;
    let mut request = construct_request(&monitor, PropertyMap::new(), false);
    request.r#type = "test:index:Nope".into();
    let status = served.client.construct(request).await.expect_err("unknown");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("unknown component type `test:index:Nope`"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains(SITE),
        "lists the components: {}",
        status.message()
    );
    assert!(monitor.calls().is_empty());
}

#[tokio::test]
async fn a_failing_child_is_named_and_earlier_children_stay_registered() {
    let (monitor, mut served) =
        monitor_and_provider(TestMonitorOptions::new("proj", "dev").fail("site-b")).await;
    let inputs = site_inputs(
        &[("a", "x".into()), ("b", "y".into()), ("c", "z".into())],
        8080.into(),
    );
    let status = served
        .client
        .construct(construct_request(&monitor, inputs, false))
        .await
        .expect_err("a child fails");
    assert!(
        status.message().contains("test:index:Note `site-b`"),
        "names the child: {}",
        status.message()
    );
    let names: Vec<String> = monitor
        .registrations()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        ["site", "site-a", "site-b"],
        "stops at the failing child"
    );
}

#[tokio::test]
async fn a_monitor_without_the_features_or_no_monitor_at_all_is_a_clear_error() {
    let (monitor, mut served) = monitor_and_provider(
        TestMonitorOptions::new("proj", "dev").features(&["resourceReferences"]),
    )
    .await;
    let inputs = site_inputs(&[("a", "x".into())], 8080.into());
    let status = served
        .client
        .construct(construct_request(&monitor, inputs.clone(), false))
        .await
        .expect_err("no secrets support");
    assert!(
        status.message().contains("does not support secrets"),
        "{}",
        status.message()
    );
    assert!(monitor.registrations().is_empty());

    let mut request = construct_request(&monitor, inputs, false);
    request.monitor_endpoint = String::new();
    let status = served
        .client
        .construct(request)
        .await
        .expect_err("no monitor");
    assert!(
        status
            .message()
            .contains("does not support remote components"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_preview_plans_children_with_unknowns_or_waits_for_unknown_plain_inputs() {
    let (monitor, mut served) =
        monitor_and_provider(TestMonitorOptions::new("proj", "dev").preview(true)).await;
    // `port` is a `Maybe`: construct runs, and the unknown flows to the outputs.
    let inputs = site_inputs(
        &[("a", "x".into())],
        PropertyValue::Unknown(UnknownKind::Number),
    );
    let response = served
        .client
        .construct(construct_request(&monitor, inputs, true))
        .await
        .expect("previews")
        .into_inner();
    let state = decode_struct(response.state.as_ref()).unwrap();
    assert!(state["port"].is_unknown(), "{state:?}");
    assert_eq!(state["count"], PropertyValue::from(1));
    assert_eq!(monitor.registrations().len(), 2, "the child is planned");

    // `prefix` is plain: construct waits for it; the component alone, every output unknown.
    let monitor = TestMonitor::start(TestMonitorOptions::new("proj", "dev").preview(true))
        .await
        .unwrap();
    let mut inputs = site_inputs(&[("a", "x".into())], 8080.into());
    inputs.insert("prefix".into(), PropertyValue::Unknown(UnknownKind::Any));
    let response = served
        .client
        .construct(construct_request(&monitor, inputs.clone(), true))
        .await
        .expect("previews")
        .into_inner();
    let state = decode_struct(response.state.as_ref()).unwrap();
    assert_eq!(state.len(), 4);
    assert!(state.values().all(PropertyValue::is_unknown), "{state:?}");
    assert_eq!(monitor.registrations().len(), 1, "only the component");

    // Outside a preview an unknown input is invalid.
    let status = served
        .client
        .construct(construct_request(&monitor, inputs, false))
        .await
        .expect_err("unknown outside preview");
    assert_eq!(invalid_properties(&status), ["prefix"]);
}

#[tokio::test]
async fn a_method_reads_its_component_and_returns_a_typed_result() {
    let (monitor, mut served) = monitor_and_provider(TestMonitorOptions::new("proj", "dev")).await;
    let inputs = site_inputs(&[("a", "alpha".into())], 8080.into());
    let site = served
        .client
        .construct(construct_request(&monitor, inputs, false))
        .await
        .unwrap()
        .into_inner();
    let args = PropertyMap::from([
        ("__self__".to_string(), self_reference(&site.urn)),
        ("greeting".to_string(), "hello".into()),
    ]);
    let call = |args: PropertyMap| pulumirpc::CallRequest {
        tok: DESCRIBE.into(),
        args: Some(encode_map(&args)),
        monitor_endpoint: monitor.endpoint(),
        ..Default::default()
    };
    let response = served
        .client
        .call(call(args.clone()))
        .await
        .expect("calls")
        .into_inner();
    let result = decode_struct(response.r#return.as_ref()).unwrap();
    assert_eq!(
        result["text"],
        PropertyValue::from("hello 1 notes: site: alpha")
    );
    assert!(response.failures.is_empty());

    let mut bad = args.clone();
    bad.insert("greeting".into(), 3.into());
    let response = served.client.call(call(bad)).await.unwrap().into_inner();
    assert_eq!(response.failures[0].property, "greeting");

    let mut unknown = call(args.clone());
    unknown.tok = "test:index:Site/nope".into();
    let status = served
        .client
        .call(unknown)
        .await
        .expect_err("unknown method");
    assert!(
        status.message().contains(DESCRIBE),
        "lists the methods: {}",
        status.message()
    );

    let mut no_self = args;
    no_self.remove("__self__");
    let status = served
        .client
        .call(call(no_self))
        .await
        .expect_err("no __self__");
    assert!(
        status.message().contains("__self__"),
        "{}",
        status.message()
    );
}

#[test]
fn the_schema_marks_components_and_lists_their_methods() {
    let provider = provider();
    let schema = provider.schema();
    let site = &schema["resources"][SITE];
    assert_eq!(site["isComponent"], true);
    assert_eq!(site["methods"]["describe"], DESCRIBE);
    assert_eq!(site["inputProperties"]["port"]["type"], "integer");
    assert!(schema["resources"][NOTE].get("isComponent").is_none());
    let describe = &schema["functions"][DESCRIBE];
    assert_eq!(
        describe["inputs"]["properties"]["__self__"]["$ref"],
        format!("#/resources/{SITE}")
    );
    assert_eq!(
        describe["inputs"]["required"],
        serde_json::json!(["__self__", "greeting"])
    );

    let orphan = ProviderBuilder::new("test", "1.0.0")
        .method(DESCRIBE, Describe)
        .build()
        .unwrap_err();
    assert!(
        orphan.to_string().contains("is not a registered component"),
        "{orphan}"
    );
}

#[tokio::test]
async fn a_provider_without_components_refuses_construct_clearly() {
    let plain = ProviderBuilder::new("test", "1.0.0")
        .resource(NOTE, Note)
        .build()
        .unwrap();
    let monitor = TestMonitor::start(TestMonitorOptions::new("proj", "dev"))
        .await
        .unwrap();
    let mut served = support::serve(plain, None).await;
    let status = served
        .client
        .construct(construct_request(&monitor, PropertyMap::new(), false))
        .await
        .expect_err("no components");
    assert!(
        status.message().contains("no components"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_panic_in_construct_fails_only_that_call() {
    let (monitor, mut served) = monitor_and_provider(TestMonitorOptions::new("proj", "dev")).await;
    let mut boom = construct_request(&monitor, PropertyMap::new(), false);
    boom.r#type = "test:index:Boom".into();
    let status = served.client.construct(boom).await.expect_err("panics");
    assert_eq!(status.code(), tonic::Code::Internal);
    assert!(
        status.message().contains("boom in construct"),
        "{}",
        status.message()
    );
    let inputs = site_inputs(&[("a", "x".into())], 8080.into());
    served
        .client
        .construct(construct_request(&monitor, inputs, false))
        .await
        .expect("the plugin still serves");
}
