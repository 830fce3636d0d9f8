//! `local:index:StaticSite` constructed by the real plugin binary over gRPC, with its children
//! registered with a recording resource monitor that creates them (in-process, with the same
//! provider and root) as an engine would: the site answers HTTP, `getFile` reads it back, and
//! deleting the children leaves nothing behind.

use crate::support;

use provider_example::serve_dir;
use provider_sdk::ops::ConfigureRequest;
use provider_sdk::testing::monitor::{
    MonitorCall, TestMonitor, TestMonitorOptions, self_reference,
};
use provider_sdk::wire::{decode_struct, encode_map};
use provider_sdk::{Context, PropertyMap, PropertyValue, ResourceProvider};
use pulumirpc::prost::Message;
use pulumirpc::tonic::Code;
use support::{Provider, assert_code, assert_nothing_left, free_port};

/// A monitor whose children are created by an in-process provider configured with `root`.
async fn monitor(root: &std::path::Path) -> TestMonitor {
    monitor_previewing(root, false).await
}

/// The same, previewing the children instead when `preview` is set.
async fn monitor_previewing(root: &std::path::Path, preview: bool) -> TestMonitor {
    let provider = provider_example::typed_provider();
    let args = props! { "root" => root.display().to_string() };
    provider
        .configure(&Context::detached(""), ConfigureRequest::new(args))
        .await
        .expect("configures");
    let options = TestMonitorOptions::new("proj", "dev")
        .provider("local", provider)
        .preview(preview);
    TestMonitor::start(options).await.unwrap()
}

fn request(monitor: &TestMonitor, inputs: PropertyMap) -> pulumirpc::ConstructRequest {
    pulumirpc::ConstructRequest {
        project: "proj".into(),
        stack: "dev".into(),
        monitor_endpoint: monitor.endpoint(),
        r#type: provider_example::static_site::TYPE.into(),
        name: "site".into(),
        inputs: Some(encode_map(&inputs)),
        ..Default::default()
    }
}

fn site_inputs(port: u16) -> PropertyMap {
    let files = PropertyMap::from([
        ("index.html".to_string(), "<h1>hi</h1>".into()),
        (
            "key.txt".to_string(),
            PropertyValue::secret("hunter22".into()),
        ),
    ]);
    props! { "path" => "www", "port" => port as i32, "files" => PropertyValue::Object(files) }
}

#[tokio::test]
async fn a_static_site_serves_its_files_and_leaves_nothing_behind() {
    let mut plugin = Provider::start().await;
    let root = plugin.root();
    let monitor = monitor(&root).await;
    let port = free_port();
    let response = plugin
        .client
        .construct(request(&monitor, site_inputs(port)))
        .await
        .expect("constructs")
        .into_inner();

    let site_urn = "urn:pulumi:dev::proj::local:index:StaticSite::site";
    assert_eq!(response.urn, site_urn);
    let registrations = monitor.registrations();
    let names: Vec<&str> = registrations.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "site",
            "site-dir",
            "site-index.html",
            "site-key.txt",
            "site-server"
        ]
    );
    assert!(!registrations[0].custom);
    for child in &registrations[1..] {
        assert_eq!(
            child.parent, site_urn,
            "{} is parented to the site",
            child.name
        );
    }
    let key = &registrations[3];
    assert!(
        key.inputs["content"].is_secret(),
        "a secret file stays secret"
    );
    assert!(!registrations[2].inputs["content"].is_secret());
    assert_eq!(
        registrations[2].dependencies,
        vec![registrations[1].urn.clone()]
    );

    let state = decode_struct(response.state.as_ref()).unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(state["url"], PropertyValue::from(url.as_str()));
    assert_eq!(state["fileCount"], PropertyValue::from(2));
    assert!(matches!(
        monitor.calls().last(),
        Some(MonitorCall::RegisterOutputs { .. })
    ));

    // The site answers over HTTP.
    let (status, body) = serve_dir::get(port, "").unwrap();
    assert_eq!((status, body.as_slice()), (200, b"<h1>hi</h1>".as_slice()));
    assert_eq!(serve_dir::get(port, "missing.txt").unwrap().0, 404);
    assert_eq!(serve_dir::get(port, "../secret").unwrap().0, 400);

    // The `getFile` method reads it back through the site.
    let args = PropertyMap::from([
        ("__self__".to_string(), self_reference(site_urn)),
        ("name".to_string(), "index.html".into()),
    ]);
    let call = pulumirpc::CallRequest {
        tok: provider_example::static_site::GET_FILE.into(),
        args: Some(encode_map(&args)),
        monitor_endpoint: monitor.endpoint(),
        ..Default::default()
    };
    let result = plugin.client.call(call).await.expect("calls").into_inner();
    let result = decode_struct(result.r#return.as_ref()).unwrap();
    assert_eq!(result["content"], PropertyValue::from("<h1>hi</h1>"));

    // Deleting the children (last first, as a destroy does) stops the server and removes
    // the files and the directory.
    let server_pid = monitor
        .outputs_of(&registrations[4].urn)
        .and_then(|o| o.get("pid").and_then(PropertyValue::as_f64))
        .expect("the server's pid") as i32;
    monitor.destroy().await.expect("destroys");
    assert_nothing_left(&root, &[server_pid]).await;
    assert!(
        serve_dir::get(port, "").is_err(),
        "nothing listens any more"
    );
}

/// The property paths of an `InputPropertiesError` detail.
fn invalid_properties(status: &pulumirpc::tonic::Status) -> Vec<String> {
    let rpc = pulumirpc::tonic_types::Status::decode(status.details()).expect("details");
    let detail = rpc
        .details
        .iter()
        .find(|d| d.type_url.ends_with("pulumirpc.InputPropertiesError"))
        .expect("an InputPropertiesError detail");
    let mut paths: Vec<String> = pulumirpc::InputPropertiesError::decode(detail.value.as_slice())
        .unwrap()
        .errors
        .into_iter()
        .map(|e| e.property_path)
        .collect();
    paths.sort();
    paths
}

#[tokio::test]
async fn invalid_site_inputs_name_every_bad_property() {
    let mut plugin = Provider::start().await;
    let root = plugin.root();
    let monitor = monitor(&root).await;

    let mut low = site_inputs(80);
    low.insert(
        "files".into(),
        PropertyValue::Object(PropertyMap::from([("a/b".to_string(), "x".into())])),
    );
    low.insert("path".into(), "".into());
    let status = plugin
        .client
        .construct(request(&monitor, low))
        .await
        .expect_err("invalid");
    assert_code(&status, Code::InvalidArgument);
    assert_eq!(
        invalid_properties(&status),
        ["files[\"a/b\"]", "path", "port"]
    );
    assert!(
        status.message().contains("from 1024 to 65535"),
        "{}",
        status.message()
    );

    let mut high = site_inputs(8080);
    high.insert("port".into(), 70000.into());
    high.remove("path");
    let status = plugin
        .client
        .construct(request(&monitor, high))
        .await
        .expect_err("invalid");
    assert_eq!(invalid_properties(&status), ["path", "port"]);
    assert!(monitor.calls().is_empty(), "nothing registered");
    assert_nothing_left(&root, &[]).await;
}

#[tokio::test]
async fn a_preview_plans_every_child_and_changes_nothing() {
    let mut plugin = Provider::start().await;
    let root = plugin.root();
    let monitor = monitor_previewing(&root, true).await;
    let port = free_port();
    let mut preview = request(&monitor, site_inputs(port));
    preview.dry_run = true;
    let response = plugin
        .client
        .construct(preview)
        .await
        .expect("previews")
        .into_inner();
    let names: Vec<String> = monitor
        .registrations()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        [
            "site",
            "site-dir",
            "site-index.html",
            "site-key.txt",
            "site-server"
        ]
    );
    let state = decode_struct(response.state.as_ref()).unwrap();
    assert_eq!(state["fileCount"], PropertyValue::from(2));
    let server = monitor.registrations().pop().unwrap();
    let planned = monitor.outputs_of(&server.urn).unwrap();
    assert!(
        planned["pid"].is_unknown(),
        "the server's pid is known after apply"
    );
    assert!(
        serve_dir::get(port, "").is_err(),
        "nothing serves in a preview"
    );
    assert_nothing_left(&root, &[]).await;
}
