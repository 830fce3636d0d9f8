//! The typed layer's behaviours, through real gRPC: a typed provider served in-process on
//! 127.0.0.1:0 and called with the generated `pulumirpc` client.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use provider_sdk::ops::CheckFailure;
use provider_sdk::typed::{
    CreateArgs, Created, Function, PreviewArgs, PreviewOutputs, ProviderBuilder, ProviderConfig,
    Resource, UpdateArgs, resource,
};
use provider_sdk::value::UnknownKind;
use provider_sdk::wire::{decode_struct, encode_map};
use provider_sdk::{
    CancellationToken, ConfigState, Context, Error, Plugin, PropertyMap, PropertyValue, Result,
    Secret, async_trait,
};
use pulumirpc::resource_provider_client::ResourceProviderClient;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

const SERVICE: &str = "test:index:Service";

/// A network rule.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct Rule {
    /// The port.
    port: u16,
    /// The protocol.
    protocol: Protocol,
}

/// A transport protocol.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// The inputs of a service.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct ServiceArgs {
    /// The service's name; changing it replaces the service.
    name: String,
    /// How many instances.
    size: u32,
    /// Network rules.
    #[serde(default)]
    rules: Vec<Rule>,
    /// Tags.
    #[serde(default)]
    tags: BTreeMap<String, String>,
    /// The admin password.
    password: Option<Secret<String>>,
}

/// A service.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct ServiceState {
    /// The inputs, recorded.
    #[serde(flatten)]
    args: ServiceArgs,
    /// Where the service answers.
    endpoint: String,
    /// How long the user allowed for creation, in seconds (0 when no timeout was set).
    timeout_seen: f64,
}

#[derive(Default)]
struct Service {
    creates: Arc<AtomicUsize>,
    updates: Arc<AtomicUsize>,
}

fn state(args: ServiceArgs, endpoint: String, timeout_seen: f64) -> ServiceState {
    ServiceState {
        args,
        endpoint,
        timeout_seen,
    }
}

#[resource]
impl Resource for Service {
    type Inputs = ServiceArgs;
    type Outputs = ServiceState;
    const REPLACE_ON_CHANGES: &'static [&'static str] = &["name"];

    async fn create(
        &self,
        ctx: &Context,
        args: CreateArgs<ServiceArgs>,
    ) -> Result<Created<ServiceState>> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        if args.inputs.name == "wait-for-cancel" {
            // Long-running work that watches the context.
            tokio::select! {
                _ = ctx.cancelled() => return Err(Error::Cancelled("stopped waiting".into())),
                _ = tokio::time::sleep(Duration::from_secs(120)) => return Err(Error::failed("never cancelled")),
            }
        }
        let endpoint = format!(
            "{}.example:{}",
            args.inputs.name,
            args.inputs
                .password
                .as_ref()
                .map_or(0, |p| p.expose().len())
        );
        let timeout = ctx.timeout().map_or(0.0, |t| t.as_secs_f64());
        Ok(Created::new(
            format!("svc-{}", args.inputs.name),
            state(args.inputs, endpoint, timeout),
        ))
    }

    async fn update(
        &self,
        _ctx: &Context,
        args: UpdateArgs<ServiceArgs, ServiceState>,
    ) -> Result<ServiceState> {
        self.updates.fetch_add(1, Ordering::SeqCst);
        let endpoint = args.state.endpoint.clone();
        Ok(state(args.news, endpoint, args.state.timeout_seen))
    }

    async fn check(&self, _ctx: &Context, inputs: &mut ServiceArgs) -> Result<Vec<CheckFailure>> {
        let mut failures = Vec::new();
        if inputs.size > 100 {
            failures.push(CheckFailure::new("size", "at most 100 instances"));
        }
        inputs
            .tags
            .entry("managed-by".into())
            .or_insert_with(|| "test".into());
        Ok(failures)
    }
}

/// A service whose preview knows the endpoint when the name is known.
#[derive(Default)]
struct Previewing;

#[resource]
impl Resource for Previewing {
    type Inputs = ServiceArgs;
    type Outputs = ServiceState;
    const DELETE_BEFORE_REPLACE: bool = true;

    async fn create(
        &self,
        _ctx: &Context,
        _args: CreateArgs<ServiceArgs>,
    ) -> Result<Created<ServiceState>> {
        Err(Error::failed("not used in these tests"))
    }

    async fn preview(
        &self,
        _ctx: &Context,
        mut args: PreviewArgs<ServiceArgs, ServiceState>,
    ) -> Result<PreviewOutputs> {
        if let Some(name) = args.known_input::<String>("name") {
            args.outputs.set("endpoint", format!("{name}.example"))?;
        }
        Ok(args.outputs)
    }
}

/// The terms of a sum.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Terms {
    a: i64,
    b: i64,
}

/// A sum.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Sum {
    sum: i64,
}

struct Add;

#[async_trait]
impl Function for Add {
    type Args = Terms;
    type Output = Sum;
    async fn call(&self, _ctx: &Context, args: Terms) -> Result<Sum> {
        Ok(Sum {
            sum: args.a + args.b,
        })
    }
}

/// No arguments.
#[derive(Serialize, Deserialize, JsonSchema)]
struct NoArgs {}

/// What the function sees of the configuration.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Seen {
    /// Whether Configure has run.
    configured: bool,
    /// The region, once configured.
    region: Option<String>,
    /// The token, once configured.
    token: Option<String>,
}

/// Reports the configuration as resources and functions see it.
struct SeeConfig;

#[async_trait]
impl Function for SeeConfig {
    type Args = NoArgs;
    type Output = Seen;
    async fn call(&self, ctx: &Context, _args: NoArgs) -> Result<Seen> {
        Ok(match ctx.config_state::<TestConfig>()? {
            ConfigState::Configured(c) => Seen {
                configured: true,
                region: Some(c.region.clone()),
                token: c.token.as_ref().map(|t| t.expose().clone()),
            },
            _ => Seen {
                configured: false,
                region: None,
                token: None,
            },
        })
    }
}

/// Test configuration.
#[derive(Serialize, Deserialize, JsonSchema)]
struct TestConfig {
    /// The region to work in.
    region: String,
    /// An optional API token.
    token: Option<Secret<String>>,
}

impl ProviderConfig for TestConfig {
    fn validate(&self) -> Vec<CheckFailure> {
        if self.region.is_empty() {
            vec![CheckFailure::new("region", "must not be empty")]
        } else {
            Vec::new()
        }
    }
}

struct Server {
    client: ResourceProviderClient<Channel>,
    stop: CancellationToken,
    creates: Arc<AtomicUsize>,
    updates: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Server {
        let service = Service::default();
        let (creates, updates) = (service.creates.clone(), service.updates.clone());
        let provider = ProviderBuilder::new("test", "1.2.3")
            .resource(SERVICE, service)
            .resource("test:index:Previewing", Previewing)
            .function("test:index:add", Add)
            .function("test:index:seeConfig", SeeConfig)
            .config::<TestConfig>()
            .build()
            .expect("valid provider");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let plugin = Plugin::new(provider, "1.2.3");
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            plugin
                .serve_on(listener, None, stopping)
                .await
                .expect("serves");
        });
        let client = ResourceProviderClient::connect(format!("http://{addr}"))
            .await
            .expect("connects");
        Server {
            client,
            stop,
            creates,
            updates,
            task,
        }
    }

    async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("stops")
            .unwrap();
    }
}

fn obj(entries: Vec<(&str, PropertyValue)>) -> PropertyValue {
    PropertyValue::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn map(entries: Vec<(&str, PropertyValue)>) -> PropertyMap {
    match obj(entries) {
        PropertyValue::Object(m) => m,
        _ => unreachable!(),
    }
}

fn urn(name: &str) -> String {
    format!("urn:pulumi:dev::proj::{SERVICE}::{name}")
}

fn good_inputs() -> PropertyMap {
    map(vec![
        ("name", "web".into()),
        ("size", 3.0.into()),
        (
            "rules",
            PropertyValue::Array(vec![obj(vec![
                ("port", 443.0.into()),
                ("protocol", "tcp".into()),
            ])]),
        ),
        ("tags", obj(vec![("env", "prod".into())])),
    ])
}

async fn check(
    client: &mut ResourceProviderClient<Channel>,
    news: &PropertyMap,
) -> pulumirpc::CheckResponse {
    client
        .check(pulumirpc::CheckRequest {
            urn: urn("web"),
            name: "web".into(),
            r#type: SERVICE.into(),
            news: Some(encode_map(news)),
            ..Default::default()
        })
        .await
        .expect("Check answers")
        .into_inner()
}

#[tokio::test]
async fn check_reports_every_bad_field_with_its_path_and_the_authors_validation() {
    let mut s = Server::start().await;
    let bad = map(vec![
        ("size", 2.5.into()),
        (
            "rules",
            PropertyValue::Array(vec![
                obj(vec![("port", 443.0.into()), ("protocol", "tcp".into())]),
                obj(vec![("port", "eighty".into()), ("protocol", "sctp".into())]),
            ]),
        ),
        ("tags", obj(vec![("env", 1.0.into())])),
        ("colour", "blue".into()),
    ]);
    let resp = check(&mut s.client, &bad).await;
    let mut paths: Vec<&str> = resp.failures.iter().map(|f| f.property.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "colour",
            "name",
            "rules[1].port",
            "rules[1].protocol",
            "size",
            "tags[\"env\"]"
        ],
        "{:?}",
        resp.failures
    );
    let size = resp.failures.iter().find(|f| f.property == "size").unwrap();
    assert!(size.reason.contains("whole number"), "{}", size.reason);

    // Well-formed inputs reach the author's validation, whose normalization is kept.
    let mut too_big = good_inputs();
    too_big.insert("size".into(), 500.0.into());
    too_big.insert("password".into(), PropertyValue::secret("pw".into()));
    let resp = check(&mut s.client, &too_big).await;
    assert_eq!(resp.failures.len(), 1);
    assert_eq!(resp.failures[0].property, "size");
    let inputs = decode_struct(resp.inputs.as_ref()).unwrap();
    assert_eq!(
        inputs["tags"].as_object().unwrap()["managed-by"],
        PropertyValue::from("test")
    );
    assert!(
        inputs["password"].is_secret(),
        "a secret input stays secret through Check"
    );

    // Unknowns during preview are not failures, and the author is not asked to validate them.
    let mut unknown = good_inputs();
    unknown.insert("size".into(), PropertyValue::Unknown(UnknownKind::Number));
    let resp = check(&mut s.client, &unknown).await;
    assert!(resp.failures.is_empty(), "{:?}", resp.failures);
    s.shutdown().await;
}

#[tokio::test]
async fn secret_values_never_appear_in_failures_or_errors() {
    let mut s = Server::start().await;
    let mut inputs = good_inputs();
    inputs.insert("size".into(), PropertyValue::secret("hunter2-size".into()));
    inputs.insert(
        "rules".into(),
        PropertyValue::Array(vec![obj(vec![
            ("port", 1.0.into()),
            ("protocol", PropertyValue::secret("hunter2-proto".into())),
        ])]),
    );
    let resp = check(&mut s.client, &inputs).await;
    assert_eq!(resp.failures.len(), 2, "{:?}", resp.failures);
    for f in &resp.failures {
        assert!(!f.reason.contains("hunter2"), "{f:?}");
    }
    // Create with bad inputs (skipping Check) fails without showing the value either.
    let err = s
        .client
        .create(pulumirpc::CreateRequest {
            urn: urn("web"),
            name: "web".into(),
            r#type: SERVICE.into(),
            properties: Some(encode_map(&inputs)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(!err.message().contains("hunter2"), "{}", err.message());
    assert!(
        err.message().contains("rules[0].protocol"),
        "{}",
        err.message()
    );
    s.shutdown().await;
}

fn kind_of(resp: &pulumirpc::DiffResponse, path: &str) -> Option<i32> {
    resp.detailed_diff.get(path).map(|d| d.kind)
}

#[tokio::test]
async fn default_diff_is_structural_with_replaces() {
    use pulumirpc::property_diff::Kind;
    let mut s = Server::start().await;
    let olds = good_inputs();
    let mut news = good_inputs();
    news.insert(
        "rules".into(),
        PropertyValue::Array(vec![obj(vec![
            ("port", 8443.0.into()),
            ("protocol", "tcp".into()),
        ])]),
    );
    news.insert(
        "tags".into(),
        obj(vec![("env", "prod".into()), ("team", "core".into())]),
    );
    let diff = |olds: &PropertyMap, news: &PropertyMap| pulumirpc::DiffRequest {
        id: "svc-web".into(),
        urn: urn("web"),
        name: "web".into(),
        r#type: SERVICE.into(),
        olds: Some(encode_map(olds)),
        old_inputs: Some(encode_map(olds)),
        news: Some(encode_map(news)),
        ..Default::default()
    };
    let resp = s
        .client
        .diff(diff(&olds, &news))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        resp.changes,
        pulumirpc::diff_response::DiffChanges::DiffSome as i32
    );
    assert!(resp.has_detailed_diff);
    assert_eq!(kind_of(&resp, "rules[0].port"), Some(Kind::Update as i32));
    assert_eq!(kind_of(&resp, "tags.team"), Some(Kind::Add as i32));
    assert_eq!(resp.detailed_diff.len(), 2, "{:?}", resp.detailed_diff);
    assert!(resp.replaces.is_empty());
    let mut diffs = resp.diffs.clone();
    diffs.sort();
    assert_eq!(diffs, vec!["rules".to_string(), "tags".into()]);

    news.insert("name".into(), "api".into());
    let resp = s
        .client
        .diff(diff(&olds, &news))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kind_of(&resp, "name"), Some(Kind::UpdateReplace as i32));
    assert_eq!(resp.replaces, vec!["name".to_string()]);
    assert!(!resp.delete_before_replace);

    let resp = s
        .client
        .diff(diff(&olds, &olds))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        resp.changes,
        pulumirpc::diff_response::DiffChanges::DiffNone as i32
    );

    // A resource without update: every change replaces.
    let mut req = diff(
        &olds,
        &map(vec![("name", "web".into()), ("size", 4.0.into())]),
    );
    req.r#type = "test:index:Previewing".into();
    let resp = s.client.diff(req).await.unwrap().into_inner();
    assert_eq!(kind_of(&resp, "size"), Some(Kind::UpdateReplace as i32));
    assert!(resp.replaces.contains(&"size".to_string()));
    assert!(
        resp.delete_before_replace,
        "Previewing declares DELETE_BEFORE_REPLACE"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn outputs_derived_from_secret_inputs_are_secret() {
    let mut s = Server::start().await;
    let mut inputs = good_inputs();
    inputs.insert("password".into(), PropertyValue::secret("pw".into()));
    let created = s
        .client
        .create(pulumirpc::CreateRequest {
            urn: urn("web"),
            name: "web".into(),
            r#type: SERVICE.into(),
            properties: Some(encode_map(&inputs)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.id, "svc-web");
    let outputs = decode_struct(created.properties.as_ref()).unwrap();
    assert!(outputs["password"].is_secret());
    assert!(
        outputs["endpoint"].is_secret(),
        "computed while a secret input was present"
    );
    assert!(
        !outputs["name"].is_secret(),
        "a copy of a plain input stays plain"
    );
    assert_eq!(
        outputs["endpoint"].unwrap_secret().0,
        &PropertyValue::from("web.example:2")
    );

    // Without secrets nothing is secret.
    let created = s
        .client
        .create(pulumirpc::CreateRequest {
            urn: urn("web"),
            name: "web".into(),
            r#type: SERVICE.into(),
            properties: Some(encode_map(&good_inputs())),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let plain = decode_struct(created.properties.as_ref()).unwrap();
    assert!(plain.values().all(|v| !v.contains_secrets()), "{plain:?}");

    // Update keeps what was secret in the state secret.
    let updated = s
        .client
        .update(pulumirpc::UpdateRequest {
            id: "svc-web".into(),
            urn: urn("web"),
            name: "web".into(),
            r#type: SERVICE.into(),
            olds: Some(encode_map(&outputs)),
            old_inputs: Some(encode_map(&inputs)),
            news: Some(encode_map(&good_inputs())),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let after = decode_struct(updated.properties.as_ref()).unwrap();
    assert!(after["endpoint"].is_secret());
    assert_eq!(s.updates.load(Ordering::SeqCst), 1);
    s.shutdown().await;
}

#[tokio::test]
async fn preview_with_unknowns_never_calls_the_author() {
    let mut s = Server::start().await;
    let mut inputs = good_inputs();
    inputs.insert("size".into(), PropertyValue::Unknown(UnknownKind::Number));
    let resp = s
        .client
        .create(pulumirpc::CreateRequest {
            urn: urn("web"),
            name: "web".into(),
            r#type: SERVICE.into(),
            properties: Some(encode_map(&inputs)),
            preview: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        s.creates.load(Ordering::SeqCst),
        0,
        "create must not run during preview"
    );
    let outputs = decode_struct(resp.properties.as_ref()).unwrap();
    assert_eq!(
        outputs["name"],
        PropertyValue::from("web"),
        "known inputs are echoed"
    );
    assert_eq!(
        outputs["size"],
        PropertyValue::Unknown(UnknownKind::Number),
        "unknown inputs stay unknown"
    );
    assert_eq!(
        outputs["endpoint"],
        PropertyValue::Unknown(UnknownKind::Any)
    );
    assert_eq!(
        outputs["timeout_seen"],
        PropertyValue::Unknown(UnknownKind::Number)
    );

    // Update previews likewise.
    let resp = s
        .client
        .update(pulumirpc::UpdateRequest {
            id: "svc-web".into(),
            urn: urn("web"),
            name: "web".into(),
            r#type: SERVICE.into(),
            olds: Some(encode_map(&good_inputs())),
            news: Some(encode_map(&inputs)),
            preview: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.updates.load(Ordering::SeqCst), 0);
    let outputs = decode_struct(resp.properties.as_ref()).unwrap();
    assert!(outputs["size"].is_unknown());

    // A preview hook refines the answer.
    let resp = s
        .client
        .create(pulumirpc::CreateRequest {
            urn: urn("web"),
            name: "web".into(),
            r#type: "test:index:Previewing".into(),
            properties: Some(encode_map(&inputs)),
            preview: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let outputs = decode_struct(resp.properties.as_ref()).unwrap();
    assert_eq!(outputs["endpoint"], PropertyValue::from("web.example"));
    assert!(outputs["size"].is_unknown());
    s.shutdown().await;
}

#[tokio::test]
async fn timeout_and_cancellation_reach_the_author() {
    let mut s = Server::start().await;
    let resp = s
        .client
        .create(pulumirpc::CreateRequest {
            urn: urn("web"),
            name: "web".into(),
            r#type: SERVICE.into(),
            properties: Some(encode_map(&good_inputs())),
            timeout: 90.0,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let outputs = decode_struct(resp.properties.as_ref()).unwrap();
    assert_eq!(outputs["timeout_seen"], PropertyValue::from(90.0));

    let mut waiting = good_inputs();
    waiting.insert("name".into(), "wait-for-cancel".into());
    let mut client = s.client.clone();
    let call = tokio::spawn(async move {
        client
            .create(pulumirpc::CreateRequest {
                urn: urn("w"),
                name: "w".into(),
                r#type: SERVICE.into(),
                properties: Some(encode_map(&waiting)),
                ..Default::default()
            })
            .await
    });
    // Cancel once the create is running.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while s.creates.load(Ordering::SeqCst) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "create never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.client.cancel(()).await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("cancelled create returns")
        .unwrap();
    assert_eq!(result.unwrap_err().code(), tonic::Code::Cancelled);
    s.shutdown().await;
}

#[tokio::test]
async fn unknown_types_functions_and_config() {
    let mut s = Server::start().await;
    let err = s
        .client
        .check(pulumirpc::CheckRequest {
            r#type: "test:index:Nope".into(),
            urn: urn("x"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("test:index:Nope") && err.message().contains(SERVICE),
        "{}",
        err.message()
    );

    let args = map(vec![("a", 2.0.into()), ("b", 40.0.into())]);
    let resp = s
        .client
        .invoke(pulumirpc::InvokeRequest {
            tok: "test:index:add".into(),
            args: Some(encode_map(&args)),
            preview: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        decode_struct(resp.r#return.as_ref()).unwrap()["sum"],
        PropertyValue::from(42.0)
    );
    let bad = map(vec![("a", "two".into())]);
    let resp = s
        .client
        .invoke(pulumirpc::InvokeRequest {
            tok: "test:index:add".into(),
            args: Some(encode_map(&bad)),
            preview: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut paths: Vec<_> = resp.failures.iter().map(|f| f.property.clone()).collect();
    paths.sort();
    assert_eq!(paths, vec!["a".to_string(), "b".into()]);

    // Configure without the required key fails with the key named.
    let err = s
        .client
        .configure(pulumirpc::ConfigureRequest {
            args: Some(encode_map(&PropertyMap::new())),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("test:region"), "{}", err.message());
    assert!(!see_config(&mut s).await["configured"].as_bool().unwrap());
    // Unknown configuration (a preview) is accepted and configures nothing yet.
    let unknown = map(vec![("region", PropertyValue::Unknown(UnknownKind::Any))]);
    s.client
        .configure(pulumirpc::ConfigureRequest {
            args: Some(encode_map(&unknown)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!see_config(&mut s).await["configured"].as_bool().unwrap());
    let config = map(vec![
        ("region", "eu".into()),
        ("token", PropertyValue::secret("t0k".into())),
    ]);
    s.client
        .configure(pulumirpc::ConfigureRequest {
            args: Some(encode_map(&config)),
            accept_secrets: true,
            accept_resources: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let seen = see_config(&mut s).await;
    assert!(seen["configured"].as_bool().unwrap());
    assert_eq!(seen["region"], PropertyValue::from("eu"));
    assert_eq!(seen["token"].unwrap_secret().0, &PropertyValue::from("t0k"));
    let resp = s
        .client
        .check_config(pulumirpc::CheckRequest {
            urn: "urn:pulumi:dev::proj::pulumi:providers:test::default".into(),
            news: Some(encode_map(&map(vec![("region", "".into())]))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.failures.len(), 1);
    assert_eq!(resp.failures[0].property, "region");
    s.shutdown().await;
}

#[tokio::test]
async fn get_schema_describes_the_types() {
    let mut s = Server::start().await;
    let resp = s
        .client
        .get_schema(pulumirpc::GetSchemaRequest::default())
        .await
        .unwrap()
        .into_inner();
    let schema: serde_json::Value = serde_json::from_str(&resp.schema).unwrap();
    assert_eq!(schema["name"], "test");
    assert_eq!(schema["version"], "1.2.3");
    let service = &schema["resources"][SERVICE];
    assert_eq!(service["description"], "A service.");
    assert_eq!(service["inputProperties"]["name"]["replaceOnChanges"], true);
    assert_eq!(
        service["inputProperties"]["name"]["description"],
        "The service's name; changing it replaces the service."
    );
    assert_eq!(service["inputProperties"]["password"]["secret"], true);
    assert_eq!(service["inputProperties"]["size"]["type"], "integer");
    assert_eq!(service["inputProperties"]["tags"]["type"], "object");
    assert_eq!(
        service["inputProperties"]["tags"]["additionalProperties"]["type"],
        "string"
    );
    assert_eq!(
        service["inputProperties"]["rules"]["items"]["$ref"],
        "#/types/test:index:Rule"
    );
    let mut required: Vec<String> =
        serde_json::from_value(service["requiredInputs"].clone()).unwrap();
    required.sort();
    assert_eq!(required, vec!["name".to_string(), "size".into()]);
    let rule = &schema["types"]["test:index:Rule"];
    assert_eq!(rule["type"], "object");
    assert_eq!(
        rule["properties"]["protocol"]["$ref"],
        "#/types/test:index:Protocol"
    );
    let protocol = &schema["types"]["test:index:Protocol"];
    assert_eq!(protocol["type"], "string");
    let values: Vec<&str> = protocol["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, vec!["tcp", "udp"]);
    assert_eq!(
        schema["functions"]["test:index:add"]["inputs"]["properties"]["a"]["type"],
        "integer"
    );
    assert_eq!(schema["config"]["variables"]["token"]["secret"], true);
    assert_eq!(schema["config"]["defaults"], serde_json::json!(["region"]));
    s.shutdown().await;
}

/// What `test:index:seeConfig` returns.
async fn see_config(s: &mut Server) -> PropertyMap {
    let resp = s
        .client
        .invoke(pulumirpc::InvokeRequest {
            tok: "test:index:seeConfig".into(),
            args: Some(encode_map(&PropertyMap::new())),
            preview: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.failures.is_empty(), "{:?}", resp.failures);
    decode_struct(resp.r#return.as_ref()).unwrap()
}
