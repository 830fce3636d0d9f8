//! The serving shim, proven on real plugin processes over real gRPC: `pulumi-resource-local`
//! (the example provider) and `pulumi-resource-fixture` (resources that misbehave on purpose),
//! each launched the way the Pulumi engine launches a plugin.

use crate::support;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use prost::{Message, Name};
use prost_types::Struct;
use pulumirpc as pb;
use support::requests::*;
use support::val::{self, num, object, secret, string, structure};
use support::{PluginProcess, TestEngine};
use tonic::Code;

/// Generous bound for anything that should take milliseconds, so a loaded CI machine does not flake.
const PATIENCE: Duration = Duration::from_secs(20);

fn local() -> PathBuf {
    support::binary("pulumi-resource-local")
}

fn fixture() -> PathBuf {
    support::binary("pulumi-resource-fixture")
}

#[tokio::test]
async fn the_port_is_the_first_and_only_stdout_line() {
    let engine = TestEngine::start().await;
    let mut plugin = PluginProcess::spawn(&local(), &[&engine.address()]).await;
    let line = plugin.port_line().to_string();
    assert!(
        !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()),
        "the port line must be digits only, got {line:?}"
    );

    // Exercise the provider (Create also logs), then stop it: stdout must still hold nothing more.
    let mut client = plugin.connect().await;
    client
        .configure(configure_request())
        .await
        .expect("Configure");
    let created = client
        .create(create(RANDOM, "r", random_inputs(6.0, "p-")))
        .await
        .expect("Create")
        .into_inner();
    assert!(!created.id.is_empty());
    drop(client);
    plugin.signal(support::Signal::INT);
    let status = plugin
        .wait_exit(PATIENCE)
        .await
        .expect("the plugin exits after SIGINT");
    assert!(status.success(), "exit status {status}");
    assert!(
        plugin.wait_stdout_closed(PATIENCE).await,
        "stdout is closed once the plugin exited"
    );
    let (rest, _) = plugin.stdout_after_port();
    assert!(
        rest.is_empty(),
        "stdout after the port line must be empty, got {:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[tokio::test]
async fn provider_code_printing_to_stdout_does_not_reach_stdout() {
    let mut plugin = PluginProcess::spawn(&fixture(), &[]).await;
    let mut client = plugin.connect().await;
    let chatty = "fixture:index:Chatty";
    client
        .check(check(chatty, "c", Struct::default()))
        .await
        .expect("Check");
    let created = client
        .create(create(chatty, "c", Struct::default()))
        .await
        .expect("Create")
        .into_inner();
    assert_eq!(created.id, "c-id");
    assert!(
        plugin
            .wait_for_stderr("fixture: chatty stdout from Create", PATIENCE)
            .await,
        "what provider code prints goes to stderr; stderr:\n{}",
        plugin.stderr()
    );
    let (rest, _) = plugin.stdout_after_port();
    assert!(
        rest.is_empty(),
        "stdout after the port line: {:?}",
        String::from_utf8_lossy(&rest)
    );

    drop(client);
    plugin.signal(support::Signal::INT);
    let status = plugin.wait_exit(PATIENCE).await.expect("exit after SIGINT");
    assert!(status.success(), "exit status {status}");
    // At exit Rust flushes stdout's buffer (the `print!` without a newline): it must not land
    // on the engine's pipe either.
    assert!(plugin.wait_stdout_closed(PATIENCE).await);
    let (rest, _) = plugin.stdout_after_port();
    assert!(
        rest.is_empty(),
        "stdout after exit: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[tokio::test]
async fn handshake_plugin_info_and_configure_flags() {
    let engine = TestEngine::start().await;
    let plugin = PluginProcess::spawn(&local(), &[&engine.address()]).await;
    let mut client = plugin.connect().await;

    let request = pb::ProviderHandshakeRequest {
        engine_address: engine.address(),
        root_directory: Some("/tmp".into()),
        program_directory: Some("/tmp".into()),
        configure_with_urn: true,
        ..Default::default()
    };
    let handshake = client
        .handshake(request)
        .await
        .expect("Handshake")
        .into_inner();
    assert!(handshake.accept_secrets, "Handshake: accept_secrets");
    assert!(handshake.accept_resources, "Handshake: accept_resources");

    let info = client
        .get_plugin_info(())
        .await
        .expect("GetPluginInfo")
        .into_inner();
    assert_eq!(
        info.version,
        support::package_version("provider-example"),
        "GetPluginInfo reports the Cargo version"
    );

    let configured = client
        .configure(configure_request())
        .await
        .expect("Configure")
        .into_inner();
    assert!(configured.accept_secrets, "Configure: acceptSecrets");
    assert!(configured.supports_preview, "Configure: supportsPreview");
    assert!(configured.accept_resources, "Configure: acceptResources");
}

#[tokio::test]
async fn every_crud_call_on_random_works() {
    let plugin = PluginProcess::spawn(&local(), &[]).await;
    let mut client = plugin.connect().await;
    client
        .configure(configure_request())
        .await
        .expect("Configure");

    // Check: valid inputs come back, a length below 1 is a failure on `length`.
    let checked = client
        .check(check(RANDOM, "r", random_inputs(8.0, "p-")))
        .await
        .expect("Check")
        .into_inner();
    assert!(
        checked.failures.is_empty(),
        "unexpected failures: {:?}",
        checked.failures
    );
    let inputs = checked.inputs.expect("Check returns inputs");
    assert_eq!(val::get(&inputs, "length").and_then(val::as_num), Some(8.0));
    let bad = client
        .check(check(RANDOM, "r", random_inputs(0.0, "p-")))
        .await
        .expect("Check")
        .into_inner();
    assert!(
        bad.failures
            .iter()
            .any(|f| f.property == "length" && !f.reason.is_empty()),
        "a length of 0 must fail on `length`: {:?}",
        bad.failures
    );

    // Create.
    let created = client
        .create(create(RANDOM, "r", inputs.clone()))
        .await
        .expect("Create")
        .into_inner();
    assert!(!created.id.is_empty(), "Create returns an id");
    let outputs = created.properties.expect("Create returns properties");
    let (result, is_secret) = result_of(&outputs);
    assert!(!is_secret);
    assert!(
        result.starts_with("p-") && result.len() == 2 + 8,
        "result {result:?} is the prefix then 8 characters"
    );

    // Read returns what exists.
    let read = client
        .read(pb::ReadRequest {
            id: created.id.clone(),
            urn: urn(RANDOM, "r"),
            properties: Some(outputs.clone()),
            inputs: Some(inputs.clone()),
            name: "r".into(),
            r#type: RANDOM.into(),
            ..Default::default()
        })
        .await
        .expect("Read")
        .into_inner();
    assert_eq!(read.id, created.id);
    assert_eq!(
        result_of(read.properties.as_ref().expect("Read returns properties")).0,
        result
    );

    // Diff: a prefix change updates in place, a length change replaces.
    let prefix_changed = client
        .diff(diff(
            "r",
            &created.id,
            inputs.clone(),
            random_inputs(8.0, "q-"),
        ))
        .await
        .expect("Diff")
        .into_inner();
    assert_eq!(
        prefix_changed.changes,
        pb::diff_response::DiffChanges::DiffSome as i32
    );
    assert!(
        prefix_changed.replaces.is_empty(),
        "a prefix change must not replace: {:?}",
        prefix_changed.replaces
    );
    assert!(
        prefix_changed.diffs.contains(&"prefix".to_string()),
        "diffs: {:?}",
        prefix_changed.diffs
    );
    assert_eq!(
        prefix_changed.detailed_diff.get("prefix").map(|d| d.kind),
        Some(pb::property_diff::Kind::Update as i32)
    );
    let length_changed = client
        .diff(diff(
            "r",
            &created.id,
            inputs.clone(),
            random_inputs(9.0, "p-"),
        ))
        .await
        .expect("Diff")
        .into_inner();
    assert_eq!(
        length_changed.changes,
        pb::diff_response::DiffChanges::DiffSome as i32
    );
    assert_eq!(length_changed.replaces, vec!["length".to_string()]);
    assert_eq!(
        length_changed.detailed_diff.get("length").map(|d| d.kind),
        Some(pb::property_diff::Kind::UpdateReplace as i32)
    );
    let unchanged = client
        .diff(diff("r", &created.id, inputs.clone(), inputs.clone()))
        .await
        .expect("Diff")
        .into_inner();
    assert_eq!(
        unchanged.changes,
        pb::diff_response::DiffChanges::DiffNone as i32
    );

    // Update keeps the random part and takes the new prefix.
    let updated = client
        .update(pb::UpdateRequest {
            id: created.id.clone(),
            urn: urn(RANDOM, "r"),
            olds: Some(outputs.clone()),
            old_inputs: Some(inputs.clone()),
            news: Some(random_inputs(8.0, "q-")),
            name: "r".into(),
            r#type: RANDOM.into(),
            ..Default::default()
        })
        .await
        .expect("Update")
        .into_inner();
    let (new_result, _) = result_of(
        updated
            .properties
            .as_ref()
            .expect("Update returns properties"),
    );
    assert_eq!(new_result, format!("q-{}", &result[2..]));

    // Delete.
    client
        .delete(pb::DeleteRequest {
            id: created.id.clone(),
            urn: urn(RANDOM, "r"),
            properties: updated.properties,
            old_inputs: Some(random_inputs(8.0, "q-")),
            name: "r".into(),
            r#type: RANDOM.into(),
            ..Default::default()
        })
        .await
        .expect("Delete");
}

#[tokio::test]
async fn a_secret_prefix_gives_a_secret_result() {
    let plugin = PluginProcess::spawn(&local(), &[]).await;
    let mut client = plugin.connect().await;
    client
        .configure(configure_request())
        .await
        .expect("Configure");
    let inputs = structure([("length", num(5.0)), ("prefix", secret(string("hush-")))]);
    let checked = client
        .check(check(RANDOM, "s", inputs))
        .await
        .expect("Check")
        .into_inner();
    assert!(checked.failures.is_empty(), "{:?}", checked.failures);
    let created = client
        .create(create(RANDOM, "s", checked.inputs.expect("inputs")))
        .await
        .expect("Create")
        .into_inner();
    let (result, is_secret) = result_of(created.properties.as_ref().expect("properties"));
    assert!(
        is_secret,
        "a result derived from a secret prefix must be a secret"
    );
    assert!(
        result.starts_with("hush-") && result.len() == 10,
        "result {result:?}"
    );
}

#[tokio::test]
async fn preview_with_an_unknown_length_answers_an_unknown_result() {
    let plugin = PluginProcess::spawn(&local(), &[]).await;
    let mut client = plugin.connect().await;
    client
        .configure(configure_request())
        .await
        .expect("Configure");
    let inputs = structure([
        ("length", string(val::UNKNOWN_NUMBER)),
        ("prefix", string("p-")),
    ]);
    let checked = client
        .check(check(RANDOM, "u", inputs.clone()))
        .await
        .expect("Check")
        .into_inner();
    assert!(
        checked.failures.is_empty(),
        "an unknown length is not a failure: {:?}",
        checked.failures
    );
    let mut request = create(RANDOM, "u", inputs);
    request.preview = true;
    let previewed = client
        .create(request)
        .await
        .expect("preview Create")
        .into_inner();
    let outputs = previewed.properties.expect("properties");
    let result = val::get(&outputs, "result").expect("`result` is present");
    assert!(
        val::is_unknown(result),
        "preview with an unknown length gives an unknown result, got {result:?}"
    );
}

#[tokio::test]
async fn a_partial_initialization_error_is_decoded_from_the_trailer() {
    let plugin = PluginProcess::spawn(&fixture(), &[]).await;
    let mut client = plugin.connect().await;
    let inputs = structure([("port", num(8080.0))]);
    let status = client
        .create(create("fixture:index:InitFails", "svc", inputs))
        .await
        .expect_err("Create of InitFails must fail");
    assert_eq!(
        status.code(),
        Code::Unknown,
        "a partial failure travels as UNKNOWN: {status:?}"
    );

    // The `grpc-status-details-bin` trailer carries a google.rpc.Status.
    assert!(
        !status.details().is_empty(),
        "no grpc-status-details-bin trailer: {status:?}"
    );
    let rpc = pb::google::RpcStatus::decode(status.details())
        .expect("the trailer decodes as google.rpc.Status");
    assert_eq!(rpc.code, Code::Unknown as i32);
    let detail = rpc
        .details
        .iter()
        .find(|d| d.type_url == "type.googleapis.com/pulumirpc.ErrorResourceInitFailed")
        .unwrap_or_else(|| {
            panic!(
                "no ErrorResourceInitFailed detail in {:?}",
                rpc.details.iter().map(|d| &d.type_url).collect::<Vec<_>>()
            )
        });
    assert_eq!(detail.type_url, pb::ErrorResourceInitFailed::type_url());
    let init =
        pb::ErrorResourceInitFailed::decode(detail.value.as_slice()).expect("the detail decodes");
    assert_eq!(init.id, "svc-id");
    assert_eq!(
        init.reasons,
        vec![
            "the service did not become ready within 1s".to_string(),
            "health check on port 8080 failed".to_string()
        ]
    );
    let properties = init.properties.expect("the detail carries properties");
    assert_eq!(
        val::get(&properties, "port").and_then(val::as_num),
        Some(8080.0)
    );
    assert_eq!(
        val::get(&properties, "state").and_then(val::as_str),
        Some("half-made")
    );
}

#[tokio::test]
async fn a_panicking_handler_fails_only_its_call() {
    let mut plugin = PluginProcess::spawn(&fixture(), &[]).await;
    let mut client = plugin.connect().await;
    for attempt in 0..2 {
        let status = client
            .create(create("fixture:index:Panic", "boom", Struct::default()))
            .await
            .expect_err("a panicking Create fails");
        assert_eq!(
            status.code(),
            Code::Internal,
            "attempt {attempt}: {status:?}"
        );
        assert!(
            status.message().contains("panic"),
            "the message says it panicked: {:?}",
            status.message()
        );
        let ok = client
            .create(create("fixture:index:Chatty", "fine", Struct::default()))
            .await
            .expect("the next call succeeds")
            .into_inner();
        assert_eq!(ok.id, "fine-id");
    }
    assert!(plugin.is_running(), "the plugin survives the panics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_creates_on_one_connection_all_succeed() {
    let plugin = PluginProcess::spawn(&local(), &[]).await;
    let client = plugin.connect().await;
    client
        .clone()
        .configure(configure_request())
        .await
        .expect("Configure");
    let started = Instant::now();
    let calls = (0..2000).map(|i| {
        let mut client = client.clone();
        async move {
            client
                .create(create(RANDOM, &format!("r{i}"), random_inputs(8.0, "c-")))
                .await
        }
    });
    let outcomes = futures::future::join_all(calls).await;
    let took = started.elapsed();
    let failures: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of 2000 calls failed, first: {:?}",
        failures.len(),
        failures.first()
    );
    let ids: HashSet<_> = outcomes
        .into_iter()
        .map(|o| o.unwrap().into_inner().id)
        .collect();
    assert_eq!(ids.len(), 2000, "every Create returns its own id");
    eprintln!("2000 concurrent Creates on one connection: {took:?}");
}

#[tokio::test]
async fn messages_larger_than_4_mib_pass() {
    let plugin = PluginProcess::spawn(&local(), &[]).await;
    let mut client = plugin.connect().await;
    let prefix = "x".repeat(6 * 1024 * 1024);
    let checked = client
        .check(check(RANDOM, "big", random_inputs(4.0, &prefix)))
        .await
        .expect("a 6 MiB Check");
    let inputs = checked.into_inner().inputs.expect("inputs");
    assert_eq!(
        val::get(&inputs, "prefix")
            .and_then(val::as_str)
            .map(str::len),
        Some(prefix.len())
    );
}

/// Asserts that `result` failed with `code` and a message containing every one of `needles`.
fn assert_error<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, tonic::Status>,
    code: Code,
    needles: &[&str],
) {
    let status = match result {
        Ok(value) => panic!("{what}: expected {code:?}, got a success: {value:?}"),
        Err(status) => status,
    };
    assert_eq!(status.code(), code, "{what}: {status:?}");
    for needle in needles {
        assert!(
            status.message().contains(needle),
            "{what}: the message {:?} should mention {needle:?}",
            status.message()
        );
    }
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_the_plugin_keeps_serving() {
    let mut plugin = PluginProcess::spawn(&local(), &[]).await;
    let mut client = plugin.connect().await;
    client
        .configure(configure_request())
        .await
        .expect("Configure");

    // Wrong value type: Check reports it as a failure on the property ...
    let checked = client
        .check(check(RANDOM, "m", structure([("length", string("eight"))])))
        .await
        .expect("Check answers")
        .into_inner();
    assert!(
        checked
            .failures
            .iter()
            .any(|f| f.property == "length" && f.reason.contains("number")),
        "a string length is a failure on `length`: {:?}",
        checked.failures
    );
    // ... and Create, which gets no second chance, refuses it with a status naming it.
    let result = client
        .create(create(
            RANDOM,
            "m",
            structure([("length", string("eight"))]),
        ))
        .await;
    assert_error(
        "Create with a string length",
        result,
        Code::InvalidArgument,
        &["`length`", "number"],
    );

    // A malformed secret as `prefix`: the signature without a value (to Create), and a
    // signature that is not a string (to Check).
    let with_prefix = |prefix| structure([("length", num(3.0)), ("prefix", prefix)]);
    let broken_secret = object([(val::SIG_KEY, string(val::SIG_SECRET))]);
    let result = client
        .create(create(RANDOM, "m", with_prefix(broken_secret)))
        .await;
    assert_error(
        "Create with a secret lacking its value",
        result,
        Code::InvalidArgument,
        &["prefix", "secret", "value"],
    );
    let bad_signature = object([(val::SIG_KEY, num(1.0))]);
    let result = client
        .check(check(RANDOM, "m", with_prefix(bad_signature)))
        .await;
    assert_error(
        "Check with a numeric signature",
        result,
        Code::InvalidArgument,
        &["prefix", "signature"],
    );

    // Missing fields: no properties at all; olds without the recorded result.
    let mut no_properties = create(RANDOM, "m", Struct::default());
    no_properties.properties = None;
    assert_error(
        "Create without properties",
        client.create(no_properties).await,
        Code::InvalidArgument,
        &["`length`", "required"],
    );
    let update = pb::UpdateRequest {
        id: "random-x".into(),
        urn: urn(RANDOM, "m"),
        news: Some(random_inputs(3.0, "a")),
        name: "m".into(),
        r#type: RANDOM.into(),
        ..Default::default()
    };
    // Either refusal is clear (a malformed request, or an operation that changed nothing), as
    // long as the message says the recorded state is the problem.
    let status = client
        .update(update)
        .await
        .expect_err("Update without olds fails");
    assert!(
        matches!(
            status.code(),
            Code::InvalidArgument | Code::Aborted | Code::FailedPrecondition
        ),
        "Update without olds: {status:?}"
    );
    assert!(
        status.message().contains("state"),
        "Update without olds names the recorded state: {status:?}"
    );

    // Unknown and missing resource types.
    let result = client
        .check(check("local:index:Nope", "m", random_inputs(3.0, "")))
        .await;
    assert_error(
        "Check of an unknown type",
        result,
        Code::InvalidArgument,
        &["local:index:Nope", RANDOM],
    );
    let result = client.create(create("", "m", random_inputs(3.0, ""))).await;
    assert_error(
        "Create without a type",
        result,
        Code::InvalidArgument,
        &["unknown resource type"],
    );

    // Still serving.
    assert!(
        plugin.is_running(),
        "no malformed request may crash the plugin"
    );
    client
        .get_plugin_info(())
        .await
        .expect("GetPluginInfo after the errors");
    let created = client
        .create(create(RANDOM, "ok", random_inputs(3.0, "")))
        .await
        .expect("a valid Create");
    assert!(!created.into_inner().id.is_empty());
}

#[tokio::test]
async fn engine_log_receives_messages_tagged_with_the_urn() {
    let engine = TestEngine::start().await;
    let plugin = PluginProcess::spawn(&local(), &[&engine.address()]).await;
    let mut client = plugin.connect().await;
    client
        .configure(configure_request())
        .await
        .expect("Configure");
    let request = create(RANDOM, "logged", random_inputs(4.0, ""));
    let resource = request.urn.clone();
    client.create(request).await.expect("Create");
    let log = engine
        .wait_for_log(PATIENCE, |l| l.urn == resource)
        .await
        .unwrap_or_else(|| panic!("no Log tagged {resource}; got {:?}", engine.logs()));
    assert!(!log.message.is_empty());
    assert_eq!(log.severity, pb::LogSeverity::Info as i32, "{log:?}");
}

/// A codec that sends and receives raw bytes, to put undecodable messages on the wire.
#[derive(Clone, Copy, Default)]
struct RawBytes;

impl tonic::codec::Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;

    fn encoder(&mut self) -> Self::Encoder {
        RawBytes
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawBytes
    }
}

impl tonic::codec::Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        prost::bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let len = prost::bytes::Buf::remaining(src);
        Ok(Some(prost::bytes::Buf::copy_to_bytes(src, len).to_vec()))
    }
}

#[tokio::test]
async fn undecodable_protobuf_gets_an_error_status_and_the_plugin_keeps_serving() {
    let mut plugin = PluginProcess::spawn(&local(), &[]).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", plugin.address()))
        .expect("a valid URI")
        .connect()
        .await
        .expect("connect");
    let mut raw = tonic::client::Grpc::new(channel);
    // Field 2 (`properties`, a message) claims 100 bytes and carries 3: not a valid CreateRequest.
    let garbage = vec![0x12, 100, 1, 2, 3];
    raw.ready().await.expect("ready");
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/pulumirpc.ResourceProvider/Create");
    let status = raw
        .unary(tonic::Request::new(garbage), path, RawBytes)
        .await
        .expect_err("an undecodable request fails");
    assert!(
        matches!(status.code(), Code::Internal | Code::InvalidArgument),
        "an undecodable message is refused with a clear status: {status:?}"
    );
    assert!(
        status.message().to_lowercase().contains("decode"),
        "the message says what went wrong: {status:?}"
    );
    assert!(
        plugin.is_running(),
        "an undecodable request must not crash the plugin"
    );
    let mut client = plugin.connect().await;
    client
        .get_plugin_info(())
        .await
        .expect("GetPluginInfo after the bad request");
}

#[tokio::test]
async fn the_grpc_health_service_reports_serving() {
    let plugin = PluginProcess::spawn(&local(), &[]).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", plugin.address()))
        .expect("a valid URI")
        .connect()
        .await
        .expect("connect");
    let mut raw = tonic::client::Grpc::new(channel);
    for service in ["", "pulumirpc.ResourceProvider"] {
        // grpc.health.v1.HealthCheckRequest { service = 1 }, encoded by hand.
        let mut request = Vec::new();
        if !service.is_empty() {
            request.push(0x0a);
            request.push(u8::try_from(service.len()).expect("a short name"));
            request.extend_from_slice(service.as_bytes());
        }
        raw.ready().await.expect("ready");
        let path =
            tonic::codegen::http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/Check");
        let response = raw
            .unary(tonic::Request::new(request), path, RawBytes)
            .await
            .unwrap_or_else(|e| panic!("Health/Check({service:?}): {e:?}"))
            .into_inner();
        // HealthCheckResponse { status = 1 (SERVING) }.
        assert_eq!(
            response,
            vec![0x08, 0x01],
            "Health/Check({service:?}) answers SERVING"
        );
    }
}
