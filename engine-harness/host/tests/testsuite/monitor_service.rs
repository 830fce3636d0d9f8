//! The resource monitor over real gRPC, answered by an in-memory sink.

use plugin_host::monitor::*;
use plugin_host::value;
use pulumirpc::engine_client::EngineClient;
use pulumirpc::resource_monitor_client::ResourceMonitorClient;
use pulumirpc::{
    Alias, GetRootResourceRequest, LogRequest, LogSeverity, ReadResourceRequest,
    RegisterResourceOutputsRequest, RegisterResourceRequest, ResourceInvokeRequest,
    SetRootResourceRequest, SupportsFeatureRequest, alias, register_resource_request,
};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::transport::Channel;

/// Records every request; answers registrations with id `id-<name>` and outputs = inputs plus
/// `out: "x"` and a secret `token`.
#[derive(Default)]
struct Memory {
    registrations: Mutex<Vec<Registration>>,
    outputs: Mutex<Vec<OutputsRegistration>>,
    reads: Mutex<Vec<ReadRequest>>,
    invokes: Mutex<Vec<InvokeRequest>>,
    logs: Mutex<Vec<LogEntry>>,
}

#[tonic::async_trait]
impl RegistrationSink for Memory {
    async fn register(&self, r: Registration) -> Result<RegisteredResource, MonitorError> {
        let mut outputs = r.inputs.clone();
        outputs.insert("out".into(), json!("x"));
        outputs.insert("token".into(), value::secret(json!("s3cr3t")));
        let id = r.custom.then(|| format!("id-{}", r.name));
        self.registrations.lock().unwrap().push(r);
        Ok(RegisteredResource {
            id,
            outputs,
            ..Default::default()
        })
    }
    async fn register_outputs(&self, o: OutputsRegistration) -> Result<(), MonitorError> {
        self.outputs.lock().unwrap().push(o);
        Ok(())
    }
    async fn read(&self, r: ReadRequest) -> Result<ReadResult, MonitorError> {
        let properties = json!({"id": r.id.clone(), "path": "/tmp/x"});
        self.reads.lock().unwrap().push(r);
        Ok(ReadResult {
            properties: properties.as_object().unwrap().clone(),
        })
    }
    async fn invoke(&self, i: InvokeRequest) -> Result<InvokeResult, MonitorError> {
        if i.token == "local:index:fail" {
            return Err(MonitorError::Engine("provider said no".into()));
        }
        let value = json!({"echo": i.args.clone()});
        self.invokes.lock().unwrap().push(i);
        Ok(InvokeResult {
            value: value.as_object().unwrap().clone(),
            failures: vec![],
        })
    }
    fn log(&self, entry: LogEntry) {
        self.logs.lock().unwrap().push(entry);
    }
}

async fn start() -> (RunningMonitor, Arc<Memory>, ResourceMonitorClient<Channel>) {
    let memory = Arc::new(Memory::default());
    let monitor = serve_with_sink(MonitorConfig::new("app", "dev"), memory.clone())
        .await
        .unwrap();
    let client = ResourceMonitorClient::connect(format!("http://{}", monitor.address()))
        .await
        .unwrap();
    (monitor, memory, client)
}

fn reg(ty: &str, name: &str, parent: &str, custom: bool) -> RegisterResourceRequest {
    RegisterResourceRequest {
        r#type: ty.into(),
        name: name.into(),
        parent: parent.into(),
        custom,
        accept_secrets: true,
        ..Default::default()
    }
}

const STACK: &str = "urn:pulumi:dev::app::pulumi:pulumi:Stack::app-dev";

async fn register_stack(client: &mut ResourceMonitorClient<Channel>) {
    let r = client
        .register_resource(reg("pulumi:pulumi:Stack", "app-dev", "", false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.urn, STACK);
}

#[tokio::test]
async fn registrations_carry_urns_parents_options_and_answers() {
    let (_monitor, memory, mut client) = start().await;
    register_stack(&mut client).await;

    let comp = client
        .register_resource(reg("my:mod:Comp", "c", STACK, false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(comp.urn, "urn:pulumi:dev::app::my:mod:Comp::c");
    assert_eq!(comp.id, "", "a component has no id");

    let provider = client
        .register_resource(reg("pulumi:providers:local", "p", STACK, true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        provider.urn,
        "urn:pulumi:dev::app::pulumi:providers:local::p"
    );
    let provider_ref = format!("{}::{}", provider.urn, provider.id);

    let inputs = json!({"length": 8, "seed": value::secret(json!("pw"))});
    let mut child = reg("local:index:Random", "r", &comp.urn, true);
    child.object = Some(value::to_struct(inputs.as_object().unwrap()));
    child.dependencies = vec![provider.urn.clone()];
    child.property_dependencies.insert(
        "length".into(),
        register_resource_request::PropertyDependencies {
            urns: vec![comp.urn.clone()],
        },
    );
    child.provider = provider_ref.clone();
    child.protect = Some(true);
    child.ignore_changes = vec!["seed".into()];
    child.replace_on_changes = vec!["length".into()];
    child.delete_before_replace = false;
    child.delete_before_replace_defined = true;
    child.retain_on_delete = Some(false);
    child.custom_timeouts = Some(register_resource_request::CustomTimeouts {
        create: "1h30m".into(),
        update: String::new(),
        delete: "45s".into(),
        ..Default::default()
    });
    child.additional_secret_outputs = vec!["out".into()];
    child.import_id = "existing-7".into();
    child.aliases = vec![
        Alias {
            alias: Some(alias::Alias::Spec(alias::Spec {
                name: "old-r".into(),
                ..Default::default()
            })),
        },
        Alias {
            alias: Some(alias::Alias::Spec(alias::Spec {
                r#type: "local:index:OldRandom".into(),
                parent: Some(alias::spec::Parent::NoParent(true)),
                ..Default::default()
            })),
        },
    ];
    let answer = client.register_resource(child).await.unwrap().into_inner();
    assert_eq!(
        answer.urn,
        "urn:pulumi:dev::app::my:mod:Comp$local:index:Random::r"
    );
    assert_eq!(answer.id, "id-r");
    let object = value::from_struct(answer.object.as_ref().unwrap());
    assert_eq!(object["out"], json!("x"));
    assert!(
        value::is_secret(&object["token"]),
        "secrets stay secret: {object:?}"
    );
    assert!(value::is_secret(&object["seed"]));

    let regs = memory.registrations.lock().unwrap();
    let r = regs.iter().find(|r| r.name == "r").unwrap();
    assert_eq!(r.parent.as_deref(), Some(comp.urn.as_str()));
    assert!(r.custom);
    assert!(value::is_secret(&r.inputs["seed"]), "secret input flagged");
    assert_eq!(r.inputs["length"], json!(8));
    let o = &r.options;
    assert_eq!(o.dependencies, vec![provider.urn.clone()]);
    assert_eq!(o.property_dependencies["length"], vec![comp.urn.clone()]);
    assert_eq!(o.provider.as_ref().unwrap().urn, provider.urn);
    assert_eq!(o.provider.as_ref().unwrap().package(), Some("local"));
    assert_eq!(o.protect, Some(true));
    assert_eq!(o.ignore_changes, vec!["seed"]);
    assert_eq!(o.replace_on_changes, vec!["length"]);
    assert_eq!(o.delete_before_replace, Some(false));
    assert_eq!(o.retain_on_delete, Some(false));
    assert_eq!(o.custom_timeouts.create, Some(Duration::from_secs(5400)));
    assert_eq!(o.custom_timeouts.update, None);
    assert_eq!(o.custom_timeouts.delete, Some(Duration::from_secs(45)));
    assert_eq!(o.additional_secret_outputs, vec!["out"]);
    assert_eq!(o.import_id.as_deref(), Some("existing-7"));
    assert_eq!(
        o.aliases,
        vec![
            "urn:pulumi:dev::app::my:mod:Comp$local:index:Random::old-r".to_string(),
            "urn:pulumi:dev::app::local:index:OldRandom::r".to_string(),
        ]
    );
    let stack = regs
        .iter()
        .find(|r| r.type_token == "pulumi:pulumi:Stack")
        .unwrap();
    assert_eq!(stack.parent, None);
    assert_eq!(
        stack.options.delete_before_replace, None,
        "unset stays unset"
    );
}

#[tokio::test]
async fn secrets_are_unwrapped_for_a_program_that_does_not_accept_them() {
    let (_monitor, _memory, mut client) = start().await;
    register_stack(&mut client).await;
    let mut r = reg("local:index:Random", "r", STACK, true);
    r.accept_secrets = false;
    let answer = client.register_resource(r).await.unwrap().into_inner();
    let object = value::from_struct(answer.object.as_ref().unwrap());
    assert_eq!(object["token"], json!("s3cr3t"));
}

#[tokio::test]
async fn bad_registrations_are_refused_with_the_resource_named() {
    let (_monitor, memory, mut client) = start().await;
    register_stack(&mut client).await;
    client
        .register_resource(reg("local:index:File", "f", STACK, true))
        .await
        .unwrap();

    let dup = client
        .register_resource(reg("local:index:File", "f", STACK, true))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), tonic::Code::InvalidArgument);
    assert!(
        dup.message()
            .contains("urn:pulumi:dev::app::local:index:File::f was registered twice"),
        "{}",
        dup.message()
    );

    let orphan = client
        .register_resource(reg(
            "local:index:File",
            "g",
            "urn:pulumi:dev::app::my:C::nope",
            true,
        ))
        .await
        .unwrap_err();
    assert!(
        orphan
            .message()
            .contains("parent urn:pulumi:dev::app::my:C::nope was not registered")
    );

    let mut bad_provider = reg("local:index:File", "h", STACK, true);
    bad_provider.provider = "urn:pulumi:dev::app::pulumi:providers:local::ghost::1".into();
    let e = client.register_resource(bad_provider).await.unwrap_err();
    assert!(
        e.message().contains("provider that was not registered"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("local:index:File::h"),
        "{}",
        e.message()
    );

    let mut not_provider = reg("local:index:File", "h", STACK, true);
    not_provider.provider = "urn:pulumi:dev::app::local:index:File::f::id-f".into();
    let e = client.register_resource(not_provider).await.unwrap_err();
    assert!(e.message().contains("is not a provider"), "{}", e.message());

    let mut bad_timeout = reg("local:index:File", "h", STACK, true);
    bad_timeout.custom_timeouts = Some(register_resource_request::CustomTimeouts {
        create: "soon".into(),
        ..Default::default()
    });
    let e = client.register_resource(bad_timeout).await.unwrap_err();
    assert!(
        e.message()
            .contains("customTimeouts: `soon` is not a duration"),
        "{}",
        e.message()
    );

    // The refused `h` was not claimed: it can be registered once corrected.
    client
        .register_resource(reg("local:index:File", "h", STACK, true))
        .await
        .unwrap();

    let outputs = client
        .register_resource_outputs(RegisterResourceOutputsRequest {
            urn: "urn:pulumi:dev::app::my:C::nope".into(),
            outputs: None,
        })
        .await
        .unwrap_err();
    assert!(outputs.message().contains("no resource with this URN"));
    let names: Vec<_> = memory
        .registrations
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(
        names,
        vec!["app-dev", "f", "h"],
        "refused requests never reach the engine"
    );
}

#[tokio::test]
async fn features_outputs_reads_invokes_and_logs() {
    let (monitor, memory, mut client) = start().await;
    assert!(!*monitor.connected().borrow());
    for (id, expected) in [
        ("secrets", true),
        ("resourceReferences", true),
        ("aliasSpecs", true),
        ("outputValues", false),
        ("transforms", true),
        ("invokeTransforms", true),
        ("resourceHooks", true),
        ("errorHooks", true),
        ("sendsOptionsToHooks", true),
        ("nonsense", false),
    ] {
        let r = client
            .supports_feature(SupportsFeatureRequest { id: id.into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.has_support, expected, "{id}");
    }
    assert!(
        *monitor.connected().borrow(),
        "the first RPC marks the program connected"
    );
    register_stack(&mut client).await;

    let outputs = json!({"url": "http://x", "pw": value::secret(json!("p"))});
    client
        .register_resource_outputs(RegisterResourceOutputsRequest {
            urn: STACK.into(),
            outputs: Some(value::to_struct(outputs.as_object().unwrap())),
        })
        .await
        .unwrap();
    let recorded = memory.outputs.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].urn, STACK);
    assert!(value::is_secret(&recorded[0].outputs["pw"]));

    let read = client
        .read_resource(ReadResourceRequest {
            id: "/tmp/x".into(),
            r#type: "local:index:File".into(),
            name: "existing".into(),
            parent: STACK.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.urn, "urn:pulumi:dev::app::local:index:File::existing");
    assert_eq!(
        value::from_struct(read.properties.as_ref().unwrap())["path"],
        json!("/tmp/x")
    );
    assert_eq!(memory.reads.lock().unwrap()[0].id, "/tmp/x");

    let args = json!({"text": "hi"});
    let inv = client
        .invoke(ResourceInvokeRequest {
            tok: "local:index:getHash".into(),
            args: Some(value::to_struct(args.as_object().unwrap())),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        value::from_struct(inv.r#return.as_ref().unwrap())["echo"],
        args
    );
    let failed = client
        .invoke(ResourceInvokeRequest {
            tok: "local:index:fail".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(failed.message(), "provider said no");

    let mut engine = EngineClient::connect(format!("http://{}", monitor.address()))
        .await
        .unwrap();
    engine
        .set_root_resource(SetRootResourceRequest { urn: STACK.into() })
        .await
        .unwrap();
    let root = engine
        .get_root_resource(GetRootResourceRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(root.urn, STACK);
    assert_eq!(monitor.root_resource().as_deref(), Some(STACK));
    for (severity, message) in [(LogSeverity::Info, "hello"), (LogSeverity::Error, "boom")] {
        engine
            .log(LogRequest {
                severity: severity as i32,
                message: message.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    assert_eq!(monitor.logged_errors(), vec!["boom".to_string()]);
    // Logs are delivered on the sink's task; give it a moment.
    for _ in 0..100 {
        if memory.logs.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let logs = memory.logs.lock().unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[1].severity, Severity::Error);
}

/// An engine whose registration panics, or takes its time and then records the resource.
struct Slow {
    done: Mutex<Vec<String>>,
}

#[tonic::async_trait]
impl RegistrationSink for Slow {
    async fn register(&self, r: Registration) -> Result<RegisteredResource, MonitorError> {
        if r.name == "boom" {
            panic!("engine bug");
        }
        if r.name.starts_with("failing") {
            return Err(MonitorError::StepFailed("create failed: disk full".into()));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.done.lock().unwrap().push(r.urn);
        Ok(RegisteredResource::default())
    }
    async fn register_outputs(&self, _: OutputsRegistration) -> Result<(), MonitorError> {
        Ok(())
    }
    async fn read(&self, _: ReadRequest) -> Result<ReadResult, MonitorError> {
        Err(MonitorError::EngineStopped)
    }
    async fn invoke(&self, _: InvokeRequest) -> Result<InvokeResult, MonitorError> {
        Err(MonitorError::EngineStopped)
    }
}

#[tokio::test]
async fn an_engine_that_fails_or_stops_answering_is_an_error_not_a_hang() {
    let sink = Arc::new(Slow {
        done: Mutex::new(Vec::new()),
    });
    let monitor = serve_with_sink(MonitorConfig::new("app", "dev"), sink.clone())
        .await
        .unwrap();
    let mut client = ResourceMonitorClient::connect(format!("http://{}", monitor.address()))
        .await
        .unwrap();
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        client.register_resource(reg("pulumi:pulumi:Stack", "boom", "", false)),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unknown);
    assert!(e.message().contains("panic"), "{}", e.message());
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        client.invoke(ResourceInvokeRequest {
            tok: "local:index:get".into(),
            ..Default::default()
        }),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable);
    assert!(e.message().contains("engine stopped"), "{}", e.message());
}

#[tokio::test]
async fn a_failed_step_is_a_fail_result_for_an_sdk_that_reports_results_else_an_internal_error() {
    let sink = Arc::new(Slow {
        done: Mutex::new(Vec::new()),
    });
    let monitor = serve_with_sink(MonitorConfig::new("app", "dev"), sink)
        .await
        .unwrap();
    let mut client = ResourceMonitorClient::connect(format!("http://{}", monitor.address()))
        .await
        .unwrap();
    register_stack(&mut client).await;
    // As Pulumi's engine answers: the SDK resolves the outputs as unknown and raises nothing
    // (the engine shows the step's error).
    let mut reporting = reg("local:index:File", "failing", STACK, true);
    reporting.supports_result_reporting = true;
    let answer = client
        .register_resource(reporting)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.result, pulumirpc::Result::Fail as i32);
    assert_eq!(answer.urn, "urn:pulumi:dev::app::local:index:File::failing");
    assert!(answer.id.is_empty());
    assert!(answer.object.unwrap_or_default().fields.is_empty());
    // An SDK that cannot read a result gets an error instead.
    let e = client
        .register_resource(reg("local:index:File", "failing-too", STACK, true))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Internal);
    assert!(e.message().contains("disk full"), "{}", e.message());
}

#[tokio::test]
async fn a_program_that_goes_away_mid_registration_does_not_cancel_the_engines_step() {
    let sink = Arc::new(Slow {
        done: Mutex::new(Vec::new()),
    });
    let monitor = serve_with_sink(MonitorConfig::new("app", "dev"), sink.clone())
        .await
        .unwrap();
    let mut client = ResourceMonitorClient::connect(format!("http://{}", monitor.address()))
        .await
        .unwrap();
    // The program gives up (its RPC dropped) long before the engine's answer is ready.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        client.register_resource(reg("pulumi:pulumi:Stack", "app-dev", "", false)),
    )
    .await;
    assert!(gave_up.is_err());
    drop(client);
    for _ in 0..100 {
        if !sink.done.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*sink.done.lock().unwrap(), vec![STACK.to_string()]);
}

#[tokio::test]
async fn children_inherit_the_aliases_of_a_renamed_parent() {
    let (_monitor, memory, mut client) = start().await;
    register_stack(&mut client).await;
    let mut comp = reg("my:mod:Comp", "new", STACK, false);
    comp.aliases = vec![Alias {
        alias: Some(alias::Alias::Spec(alias::Spec {
            name: "old".into(),
            ..Default::default()
        })),
    }];
    let comp = client.register_resource(comp).await.unwrap().into_inner();
    for child in ["new-file", "other"] {
        client
            .register_resource(reg("local:index:File", child, &comp.urn, true))
            .await
            .unwrap();
    }
    assert_eq!(
        memory.registrations.lock().unwrap()[1].options.aliases,
        vec!["urn:pulumi:dev::app::my:mod:Comp::old".to_string()]
    );
    let aliases_of = |name: &str| {
        let regs = memory.registrations.lock().unwrap();
        regs.iter()
            .find(|r| r.name == name)
            .unwrap()
            .options
            .aliases
            .clone()
    };
    assert_eq!(
        aliases_of("new-file"),
        vec!["urn:pulumi:dev::app::my:mod:Comp$local:index:File::old-file".to_string()],
        "a child named after its parent is renamed with it"
    );
    assert_eq!(
        aliases_of("other"),
        vec!["urn:pulumi:dev::app::my:mod:Comp$local:index:File::other".to_string()]
    );
}

#[tokio::test]
async fn a_child_retyped_under_a_retyped_parent_has_every_combination_of_their_aliases() {
    let (_monitor, memory, mut client) = start().await;
    register_stack(&mut client).await;
    let retyped = |ty: &str| Alias {
        alias: Some(alias::Alias::Spec(alias::Spec {
            r#type: ty.into(),
            ..Default::default()
        })),
    };
    // v3 of a component was v2 and v1 before; its child was retyped too, and its grandchild.
    let mut comp = reg("my:mod:CompV3", "app", STACK, false);
    comp.aliases = vec![retyped("my:mod:CompV2"), retyped("my:mod:CompV1")];
    let comp = client.register_resource(comp).await.unwrap().into_inner();
    let mut child = reg("my:mod:PartV2", "app-part", &comp.urn, false);
    child.aliases = vec![retyped("my:mod:PartV1")];
    let child = client.register_resource(child).await.unwrap().into_inner();
    client
        .register_resource(reg("local:index:File", "app-file", &child.urn, true))
        .await
        .unwrap();
    let aliases_of = |name: &str| {
        let regs = memory.registrations.lock().unwrap();
        regs.iter()
            .find(|r| r.name == name)
            .unwrap()
            .options
            .aliases
            .clone()
    };
    let child_aliases = aliases_of("app-part");
    for old in [
        "urn:pulumi:dev::app::my:mod:CompV3$my:mod:PartV1::app-part",
        "urn:pulumi:dev::app::my:mod:CompV1$my:mod:PartV2::app-part",
        "urn:pulumi:dev::app::my:mod:CompV1$my:mod:PartV1::app-part",
        "urn:pulumi:dev::app::my:mod:CompV2$my:mod:PartV1::app-part",
    ] {
        assert!(
            child_aliases.iter().any(|a| a == old),
            "no {old} among {child_aliases:#?}"
        );
    }
    // Two levels down: the file under the oldest type of both its ancestors.
    let file_aliases = aliases_of("app-file");
    let oldest = "urn:pulumi:dev::app::my:mod:CompV1$my:mod:PartV1$local:index:File::app-file";
    assert!(
        file_aliases.iter().any(|a| a == oldest),
        "no {oldest} among {file_aliases:#?}"
    );
}

/// A program's `Callbacks` service whose transforms append their token to the `trail` input
/// and set `protect`.
struct Trail;

#[tonic::async_trait]
impl pulumirpc::callbacks_server::Callbacks for Trail {
    async fn invoke(
        &self,
        req: tonic::Request<pulumirpc::CallbackInvokeRequest>,
    ) -> Result<tonic::Response<pulumirpc::CallbackInvokeResponse>, tonic::Status> {
        use prost::Message;
        let req = req.into_inner();
        let t = pulumirpc::TransformRequest::decode(req.request.as_slice()).unwrap();
        let mut props = value::from_struct(&t.properties.unwrap_or_default());
        let trail = props.get("trail").and_then(|v| v.as_str()).unwrap_or("");
        let trail = format!("{trail}{}/", req.token);
        props.insert("trail".into(), json!(trail));
        let mut options = t.options.unwrap_or_default();
        options.protect = Some(true);
        let answer = pulumirpc::TransformResponse {
            properties: Some(value::to_struct(&props)),
            options: Some(options),
        };
        Ok(tonic::Response::new(pulumirpc::CallbackInvokeResponse {
            response: answer.encode_to_vec(),
        }))
    }
}

#[tokio::test]
async fn transforms_run_own_then_parents_then_stack_and_change_inputs_and_options() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(pulumirpc::callbacks_server::CallbacksServer::new(Trail))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let cb = |token: &str| pulumirpc::Callback {
        target: target.clone(),
        token: token.into(),
        accepts_byte_string: false,
    };
    let (_monitor, memory, mut client) = start().await;
    register_stack(&mut client).await;
    client.register_stack_transform(cb("stack1")).await.unwrap();
    client.register_stack_transform(cb("stack2")).await.unwrap();
    let mut comp = reg("my:mod:Comp", "c", STACK, false);
    comp.transforms = vec![cb("comp")];
    let comp = client.register_resource(comp).await.unwrap().into_inner();
    let mut child = reg("local:index:File", "f", &comp.urn, true);
    child.transforms = vec![cb("own")];
    child.object = Some(value::to_struct(json!({"trail": ""}).as_object().unwrap()));
    client.register_resource(child).await.unwrap();
    let regs = memory.registrations.lock().unwrap().clone();
    let f = regs.iter().find(|r| r.name == "f").unwrap();
    assert_eq!(f.inputs["trail"], json!("own/comp/stack1/stack2/"));
    assert_eq!(f.options.protect, Some(true), "a transform sets an option");
    let c = regs.iter().find(|r| r.name == "c").unwrap();
    assert_eq!(c.inputs["trail"], json!("comp/stack1/stack2/"));
    let refused = client
        .register_stack_transform(pulumirpc::Callback::default())
        .await
        .unwrap_err();
    assert!(refused.message().contains("target"), "{refused:?}");
}

/// A program's `Callbacks` service whose one transform keeps each request it gets and answers
/// the properties it got plus `added`, an output value that depends on `answer_dependency`.
struct Recording {
    seen: Arc<Mutex<Vec<pulumirpc::TransformRequest>>>,
    answer_dependency: String,
}

#[tonic::async_trait]
impl pulumirpc::callbacks_server::Callbacks for Recording {
    async fn invoke(
        &self,
        req: tonic::Request<pulumirpc::CallbackInvokeRequest>,
    ) -> Result<tonic::Response<pulumirpc::CallbackInvokeResponse>, tonic::Status> {
        use prost::Message;
        let t = pulumirpc::TransformRequest::decode(req.into_inner().request.as_slice()).unwrap();
        let mut props = value::from_struct(t.properties.as_ref().unwrap());
        props.insert(
            "added".into(),
            plugin_host::output_values::output(
                Some(json!("v")),
                false,
                std::slice::from_ref(&self.answer_dependency),
            ),
        );
        let answer = pulumirpc::TransformResponse {
            properties: Some(value::to_struct(&props)),
            options: t.options.clone(),
        };
        self.seen.lock().unwrap().push(t);
        Ok(tonic::Response::new(pulumirpc::CallbackInvokeResponse {
            response: answer.encode_to_vec(),
        }))
    }
}

#[tokio::test]
async fn a_transform_sees_output_values_and_the_resolved_provider_and_its_dependencies_count() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let extra = "urn:pulumi:dev::app::local:index:File::extra".to_string();
    let recording = Recording {
        seen: seen.clone(),
        answer_dependency: extra.clone(),
    };
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(pulumirpc::callbacks_server::CallbacksServer::new(recording))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let (_monitor, memory, mut client) = start().await;
    register_stack(&mut client).await;
    let provider = client
        .register_resource(reg("pulumi:providers:local", "p", STACK, true))
        .await
        .unwrap()
        .into_inner();
    let provider_ref = format!("{}::{}", provider.urn, provider.id);
    let mut other_urns = Vec::new();
    for name in ["other", "extra"] {
        let r = client
            .register_resource(reg("local:index:File", name, STACK, true))
            .await
            .unwrap()
            .into_inner();
        other_urns.push(r.urn);
    }
    assert_eq!(other_urns[1], extra);
    let other = other_urns[0].clone();
    // A component passes its `providers` on to what it parents.
    let mut comp = reg("my:mod:Comp", "c", STACK, false);
    comp.providers.insert("local".into(), provider_ref.clone());
    let comp = client.register_resource(comp).await.unwrap().into_inner();

    let mut child = reg("local:index:File", "f", &comp.urn, true);
    let inputs = json!({"a": 1, "s": value::secret(json!("pw")), "plain": "x"});
    child.object = Some(value::to_struct(inputs.as_object().unwrap()));
    child.dependencies = vec![other.clone()];
    child.property_dependencies.insert(
        "a".into(),
        register_resource_request::PropertyDependencies {
            urns: vec![other.clone()],
        },
    );
    child.transforms = vec![pulumirpc::Callback {
        target: target.clone(),
        token: "record".into(),
        accepts_byte_string: false,
    }];
    client.register_resource(child).await.unwrap();
    // A registration with no transform gets the component's provider too (Pulumi resolves it
    // for every registration).
    client
        .register_resource(reg("local:index:File", "g", &comp.urn, true))
        .await
        .unwrap();

    // So does an invoke made in the component's name.
    client
        .invoke(ResourceInvokeRequest {
            tok: "local:index:readFile".into(),
            parent: comp.urn.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let invoked = memory.invokes.lock().unwrap().clone();
    assert_eq!(
        invoked[0].provider.as_ref().map(|p| p.urn.as_str()),
        Some(provider.urn.as_str()),
        "an invoke gets its parent component's provider"
    );

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one transform call: {seen:#?}");
    let got = value::from_struct(seen[0].properties.as_ref().unwrap());
    assert_eq!(
        got["a"],
        plugin_host::output_values::output(Some(json!(1)), false, std::slice::from_ref(&other)),
        "a property with dependencies arrives as an output value carrying them"
    );
    assert_eq!(
        got["s"],
        plugin_host::output_values::output(Some(json!("pw")), true, &[]),
        "a secret arrives as a secret output value"
    );
    assert_eq!(got["plain"], json!("x"), "a plain property stays plain");
    assert_eq!(
        seen[0].options.as_ref().unwrap().provider,
        provider_ref,
        "the transform sees the provider the resource will use"
    );

    let regs = memory.registrations.lock().unwrap().clone();
    let f = regs.iter().find(|r| r.name == "f").unwrap();
    assert_eq!(f.inputs["a"], json!(1), "output values become plain again");
    assert_eq!(f.inputs["added"], json!("v"));
    assert_eq!(f.inputs["s"], value::secret(json!("pw")));
    assert_eq!(
        f.options.property_dependencies.get("added"),
        Some(&vec![extra.clone()]),
        "a dependency the transform added through a value is the property's"
    );
    assert_eq!(
        f.options.property_dependencies.get("a"),
        Some(&vec![other.clone()])
    );
    assert!(
        f.options.dependencies.contains(&extra) && f.options.dependencies.contains(&other),
        "and the resource's: {:?}",
        f.options.dependencies
    );
    assert_eq!(
        f.options.provider.as_ref().map(|p| p.urn.as_str()),
        Some(provider.urn.as_str())
    );
    let g = regs.iter().find(|r| r.name == "g").unwrap();
    assert_eq!(
        g.options.provider.as_ref().map(|p| p.urn.as_str()),
        Some(provider.urn.as_str()),
        "the component's provider, resolved without a transform"
    );
}

/// A program's `Callbacks` service for hooks: keeps each `ResourceHookRequest` and
/// `ErrorHookRequest` it gets; resource hooks succeed, error hooks ask for a retry.
#[derive(Default)]
struct HookCalls {
    resource: Arc<Mutex<Vec<pulumirpc::ResourceHookRequest>>>,
    error: Arc<Mutex<Vec<pulumirpc::ErrorHookRequest>>>,
}

#[tonic::async_trait]
impl pulumirpc::callbacks_server::Callbacks for HookCalls {
    async fn invoke(
        &self,
        req: tonic::Request<pulumirpc::CallbackInvokeRequest>,
    ) -> Result<tonic::Response<pulumirpc::CallbackInvokeResponse>, tonic::Status> {
        use prost::Message;
        let req = req.into_inner();
        let response = if req.token == "on-error" {
            let r = pulumirpc::ErrorHookRequest::decode(req.request.as_slice()).unwrap();
            self.error.lock().unwrap().push(r);
            pulumirpc::ErrorHookResponse {
                error: String::new(),
                retry: true,
            }
            .encode_to_vec()
        } else {
            let r = pulumirpc::ResourceHookRequest::decode(req.request.as_slice()).unwrap();
            self.resource.lock().unwrap().push(r);
            pulumirpc::ResourceHookResponse::default().encode_to_vec()
        };
        Ok(tonic::Response::new(pulumirpc::CallbackInvokeResponse {
            response,
        }))
    }
}

#[tokio::test]
async fn hooks_and_error_hooks_are_called_with_the_resources_options() {
    use plugin_host::monitor::hooks::{ErrorHookCall, HookCall};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let calls = HookCalls::default();
    let (resource_calls, error_calls) = (calls.resource.clone(), calls.error.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(pulumirpc::callbacks_server::CallbacksServer::new(calls))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let cb = |token: &str| pulumirpc::Callback {
        target: target.clone(),
        token: token.into(),
        accepts_byte_string: false,
    };
    let (monitor, _memory, mut client) = start().await;
    client
        .register_resource_hook(pulumirpc::RegisterResourceHookRequest {
            name: "before".into(),
            callback: Some(cb("before")),
            on_dry_run: false,
            ignore_errors: false,
        })
        .await
        .unwrap();
    client
        .register_error_hook(pulumirpc::RegisterErrorHookRequest {
            name: "retry".into(),
            callback: Some(cb("on-error")),
        })
        .await
        .unwrap();
    let twice = client
        .register_error_hook(pulumirpc::RegisterErrorHookRequest {
            name: "retry".into(),
            callback: Some(cb("on-error")),
        })
        .await
        .unwrap_err();
    assert!(twice.message().contains("registered already"), "{twice:?}");

    let hooks = monitor.hooks();
    let options = pulumirpc::ResourceOptions {
        protect: Some(true),
        parent: STACK.into(),
        ..Default::default()
    };
    let call = HookCall {
        urn: "urn:pulumi:dev::app::local:index:File::f",
        name: "f",
        type_token: "local:index:File",
        new_options: Some(options.clone()),
        ..Default::default()
    };
    let hook = hooks.get("before").unwrap();
    hooks.call("before", &hook, &call).await.unwrap();
    let errors = vec!["second".to_string(), "first".to_string()];
    let retry = hooks
        .call_error(
            "retry",
            &ErrorHookCall {
                resource: call.clone(),
                failed_operation: "create",
                errors: &errors,
            },
        )
        .await
        .unwrap();
    assert!(retry, "the error hook's answer");
    assert!(
        hooks
            .call_error("nope", &ErrorHookCall::default())
            .await
            .is_err()
    );

    let got = resource_calls.lock().unwrap().clone();
    assert_eq!(got[0].new_options, Some(options.clone()));
    assert_eq!(got[0].old_options, None);
    let got = error_calls.lock().unwrap().clone();
    assert_eq!(got[0].new_options, Some(options));
    assert_eq!(got[0].failed_operation, "create");
    assert_eq!(got[0].errors, errors);
}
