//! Dialling a plugin the way Pulumi's engine does.

use std::time::{Duration, Instant};

use pulumirpc::resource_provider_client::ResourceProviderClient;
use tonic::transport::{Channel, Endpoint};

/// A client of a provider plugin.
pub type ProviderClient = ResourceProviderClient<Channel>;

/// How long the engine keeps retrying to dial an announced port.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// The port could not be dialled in time.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to 127.0.0.1:{port} within {within:?}: {reason}")]
pub struct ConnectError {
    /// The port dialled.
    pub port: u16,
    /// How long it was retried.
    pub within: Duration,
    /// The last transport error.
    pub reason: String,
}

/// Dials `127.0.0.1:port` with TCP_NODELAY and 400 MiB messages both ways, retrying every
/// 50 ms for up to `within` (a plugin may print its port a moment before it accepts).
pub async fn connect(port: u16, within: Duration) -> Result<ProviderClient, ConnectError> {
    let error = |reason: String| ConnectError {
        port,
        within,
        reason,
    };
    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .map_err(|e| error(e.to_string()))?
        .tcp_nodelay(true)
        .connect_timeout(within.max(Duration::from_millis(100)));
    let deadline = Instant::now() + within;
    let channel = loop {
        match endpoint.connect().await {
            Ok(channel) => break channel,
            Err(e) if Instant::now() >= deadline => return Err(error(e.to_string())),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    Ok(ResourceProviderClient::new(channel)
        .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE))
}
