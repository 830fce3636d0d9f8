//! Test harness: spawns the real `pulumi-resource-local` binary, talks to it over gRPC like the
//! engine does, and checks that nothing is left behind.
#![allow(dead_code, missing_docs)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use plugin_host::{Launch, PluginProcess, Signal};
use provider_sdk::wire::{decode_struct, encode_map};
use provider_sdk::{PropertyMap, PropertyValue};
use pulumirpc::resource_provider_client::ResourceProviderClient;
use pulumirpc::tonic::transport::Channel;
use pulumirpc::tonic::{Code, Status};

pub use test_support::{alive, free_port};

pub type Client = ResourceProviderClient<Channel>;

/// Builds a property map: `props! { "path" => "a.txt", "recursive" => true }`.
macro_rules! props {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = provider_sdk::PropertyMap::new();
        $( m.insert($k.to_string(), provider_sdk::PropertyValue::from($v)); )*
        m
    }};
}

/// A running provider plugin with a fresh temporary root directory.
pub struct Provider {
    pub child: PluginProcess,
    pub client: Client,
    pub root: tempfile::TempDir,
}

/// What Create, Read or Update returned.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub outputs: PropertyMap,
    pub inputs: PropertyMap,
}

pub fn urn(ty: &str, name: &str) -> String {
    format!("urn:pulumi:test::local-tests::{ty}::{name}")
}

/// Spawns the plugin binary through the engine-side host and connects to it (not configured
/// yet); the process group is killed when the returned process is dropped.
pub async fn spawn() -> (PluginProcess, Client) {
    let child = Launch::new(env!("CARGO_BIN_EXE_pulumi-resource-local"))
        .port_timeout(Duration::from_secs(60))
        .start()
        .await
        .unwrap_or_else(|e| panic!("the plugin prints its port within 60 s: {e}"));
    let client = plugin_host::connect(child.port(), plugin_host::connect::CONNECT_WITHIN)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (child, client)
}

impl Provider {
    /// Starts a plugin configured with a new temporary root.
    pub async fn start() -> Provider {
        let root = tempfile::tempdir().unwrap();
        Provider::start_with_root(root).await
    }

    /// Starts a plugin configured with `root`.
    pub async fn start_with_root(root: tempfile::TempDir) -> Provider {
        let (child, client) = spawn().await;
        let mut p = Provider {
            child,
            client,
            root,
        };
        let args = props! { "root" => p.root.path().display().to_string() };
        p.configure(args)
            .await
            .expect("Configure accepts an existing, writable root");
        p
    }

    pub fn root(&self) -> PathBuf {
        self.root.path().canonicalize().unwrap()
    }

    pub async fn configure(&mut self, args: PropertyMap) -> Result<(), Status> {
        let variables = args
            .iter()
            .filter_map(|(k, v)| {
                v.as_str()
                    .map(|s| (format!("local:config:{k}"), s.to_string()))
            })
            .collect();
        self.client
            .configure(pulumirpc::ConfigureRequest {
                variables,
                args: Some(encode_map(&args)),
                accept_secrets: true,
                accept_resources: true,
                ..Default::default()
            })
            .await
            .map(drop)
    }

    /// Check: the checked inputs, or the failures as `property: reason` strings.
    pub async fn check(
        &mut self,
        ty: &str,
        name: &str,
        olds: &PropertyMap,
        news: PropertyMap,
    ) -> Result<PropertyMap, Vec<String>> {
        let resp = self
            .client
            .check(pulumirpc::CheckRequest {
                urn: urn(ty, name),
                olds: Some(encode_map(olds)),
                news: Some(encode_map(&news)),
                name: name.into(),
                r#type: ty.into(),
                ..Default::default()
            })
            .await
            .expect("Check answers")
            .into_inner();
        if resp.failures.is_empty() {
            Ok(decode_struct(resp.inputs.as_ref()).unwrap())
        } else {
            Err(resp
                .failures
                .into_iter()
                .map(|f| format!("{}: {}", f.property, f.reason))
                .collect())
        }
    }

    pub async fn diff(
        &mut self,
        ty: &str,
        name: &str,
        r: &Resource,
        news: &PropertyMap,
    ) -> pulumirpc::DiffResponse {
        self.client
            .diff(pulumirpc::DiffRequest {
                id: r.id.clone(),
                urn: urn(ty, name),
                olds: Some(encode_map(&r.outputs)),
                news: Some(encode_map(news)),
                old_inputs: Some(encode_map(&r.inputs)),
                name: name.into(),
                r#type: ty.into(),
                ..Default::default()
            })
            .await
            .expect("Diff answers")
            .into_inner()
    }

    /// Check then Create, as the engine does for a new resource.
    pub async fn create(
        &mut self,
        ty: &str,
        name: &str,
        inputs: PropertyMap,
        timeout: f64,
    ) -> Result<Resource, Status> {
        let inputs = self
            .check(ty, name, &PropertyMap::new(), inputs)
            .await
            .map_err(|f| Status::invalid_argument(f.join("; ")))?;
        self.create_checked(ty, name, inputs, timeout).await
    }

    pub async fn create_checked(
        &mut self,
        ty: &str,
        name: &str,
        inputs: PropertyMap,
        timeout: f64,
    ) -> Result<Resource, Status> {
        let resp = self
            .client
            .create(pulumirpc::CreateRequest {
                urn: urn(ty, name),
                properties: Some(encode_map(&inputs)),
                timeout,
                name: name.into(),
                r#type: ty.into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok(Resource {
            id: resp.id,
            outputs: decode_struct(resp.properties.as_ref()).unwrap(),
            inputs,
        })
    }

    /// Read (refresh): `None` when the provider says the resource is gone.
    pub async fn read(
        &mut self,
        ty: &str,
        name: &str,
        r: &Resource,
    ) -> Result<Option<Resource>, Status> {
        let resp = self
            .client
            .read(pulumirpc::ReadRequest {
                id: r.id.clone(),
                urn: urn(ty, name),
                properties: Some(encode_map(&r.outputs)),
                inputs: Some(encode_map(&r.inputs)),
                name: name.into(),
                r#type: ty.into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        if resp.id.is_empty() {
            return Ok(None);
        }
        Ok(Some(Resource {
            id: resp.id,
            outputs: decode_struct(resp.properties.as_ref()).unwrap(),
            inputs: decode_struct(resp.inputs.as_ref()).unwrap(),
        }))
    }

    pub async fn update(
        &mut self,
        ty: &str,
        name: &str,
        r: &Resource,
        news: PropertyMap,
        timeout: f64,
    ) -> Result<Resource, Status> {
        let news = self
            .check(ty, name, &r.inputs, news)
            .await
            .map_err(|f| Status::invalid_argument(f.join("; ")))?;
        let resp = self
            .client
            .update(pulumirpc::UpdateRequest {
                id: r.id.clone(),
                urn: urn(ty, name),
                olds: Some(encode_map(&r.outputs)),
                news: Some(encode_map(&news)),
                timeout,
                old_inputs: Some(encode_map(&r.inputs)),
                name: name.into(),
                r#type: ty.into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok(Resource {
            id: r.id.clone(),
            outputs: decode_struct(resp.properties.as_ref()).unwrap(),
            inputs: news,
        })
    }

    pub async fn delete(
        &mut self,
        ty: &str,
        name: &str,
        r: &Resource,
        timeout: f64,
    ) -> Result<(), Status> {
        self.client
            .delete(pulumirpc::DeleteRequest {
                id: r.id.clone(),
                urn: urn(ty, name),
                properties: Some(encode_map(&r.outputs)),
                timeout,
                old_inputs: Some(encode_map(&r.inputs)),
                name: name.into(),
                r#type: ty.into(),
                ..Default::default()
            })
            .await
            .map(drop)
    }

    pub async fn invoke(
        &mut self,
        tok: &str,
        args: PropertyMap,
    ) -> Result<Result<PropertyMap, Vec<String>>, Status> {
        let resp = self
            .client
            .invoke(pulumirpc::InvokeRequest {
                tok: tok.into(),
                args: Some(encode_map(&args)),
                preview: false,
            })
            .await?
            .into_inner();
        if !resp.failures.is_empty() {
            return Ok(Err(resp
                .failures
                .into_iter()
                .map(|f| format!("{}: {}", f.property, f.reason))
                .collect()));
        }
        Ok(Ok(decode_struct(resp.r#return.as_ref()).unwrap()))
    }

    /// Stops the plugin the way the engine does (SIGTERM) and waits for it.
    pub async fn stop(self) -> tempfile::TempDir {
        self.child
            .shutdown_with(Signal::TERM, Duration::from_secs(30))
            .await;
        self.root
    }
}

/// The `ErrorResourceInitFailed` detail of a status, if it carries one.
pub fn init_failed(status: &Status) -> Option<pulumirpc::ErrorResourceInitFailed> {
    plugin_host::details::resource_init_failed(status)
}

/// The `ConfigureErrorMissingKeys` detail of a status, if it carries one.
pub fn missing_keys(status: &Status) -> Vec<String> {
    plugin_host::details::missing_keys(status)
        .map(|k| k.missing_keys.into_iter().map(|k| k.name).collect())
        .unwrap_or_default()
}

pub fn assert_code(status: &Status, code: Code) {
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
}

/// The plain string at `key` (looking through a secret).
pub fn string(map: &PropertyMap, key: &str) -> String {
    match map.get(key).map(|v| v.unwrap_secret().0) {
        Some(PropertyValue::String(s)) => s.clone(),
        other => panic!("`{key}` is not a string: {other:?} in {map:?}"),
    }
}

/// Processes whose working directory is inside `dir`: anything a resource started there.
pub fn processes_under(dir: &Path) -> Vec<i32> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| alive(*pid))
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&dir))
        })
        .collect()
}

/// Waits (generously) until `pid` is gone; false if it is still running after 20 s.
pub async fn wait_gone(pid: i32) -> bool {
    for _ in 0..400 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The leak check every lifecycle test ends with: the root holds nothing and nothing runs in it,
/// and none of `pids` is alive.
pub async fn assert_nothing_left(root: &Path, pids: &[i32]) {
    for pid in pids {
        assert!(wait_gone(*pid).await, "process {pid} was left running");
    }
    let mut left = processes_under(root);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = processes_under(root);
    }
    assert!(
        left.is_empty(),
        "processes left running under {}: {left:?}",
        root.display()
    );
    let entries: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        entries.is_empty(),
        "files left behind under {}: {entries:?}",
        root.display()
    );
}
