//! Serving a provider in-process on 127.0.0.1:0 for the SDK's gRPC tests.

use provider_sdk::{CancellationToken, Plugin, ResourceProvider};
use pulumirpc::resource_provider_client::ResourceProviderClient;
use tonic::transport::Channel;

/// A plugin served in-process; stopped when dropped.
pub struct Served {
    /// A client connected to the plugin.
    pub client: ResourceProviderClient<Channel>,
    stop: CancellationToken,
}

impl Served {
    /// Stops the plugin as a shutdown signal would: calls in flight are cancelled.
    #[allow(dead_code)] // not every test file stops its plugin early
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serves `provider` with `engine_address` (where its logs go) and connects a client.
pub async fn serve<P: ResourceProvider>(provider: P, engine_address: Option<String>) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let stopping = stop.clone();
    tokio::spawn(async move {
        Plugin::new(provider, "0.0.1")
            .serve_on(listener, engine_address, stopping)
            .await
            .expect("serves");
    });
    let client = ResourceProviderClient::connect(format!("http://{addr}"))
        .await
        .expect("connects");
    Served { client, stop }
}

/// A `CreateRequest` for a resource named `name`.
#[allow(dead_code)] // not every test file creates through it
pub fn create_request(name: &str) -> pulumirpc::CreateRequest {
    pulumirpc::CreateRequest {
        urn: format!("urn:pulumi:dev::test::test:index:Thing::{name}"),
        name: name.to_string(),
        r#type: "test:index:Thing".to_string(),
        ..Default::default()
    }
}
