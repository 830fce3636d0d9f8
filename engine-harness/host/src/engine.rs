//! The `pulumirpc.Engine` service a plugin receives as its one positional argument.
//!
//! A plugin sends its `Log` calls here. [`EngineServer`] serves the service on `127.0.0.1:0`
//! and hands each `Log` to a [`LogSink`]: a [`LogBook`] records them (tests, the kit), a closure
//! forwards them (engine-harness's display, the benchmarks' counter). The resource monitor
//! serves the same service ([`service`]) on its own port for the program it runs: this is the
//! one implementation of `pulumirpc.Engine`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pulumirpc::engine_server::{Engine, EngineServer as EngineService};
use pulumirpc::*;
// The protocol has a `Result` enum (RegisterResourceResponse.result); keep std's.
use std::result::Result;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// Where the `Log` calls go.
pub trait LogSink: Send + Sync + 'static {
    /// One `Log` call.
    fn log(&self, request: LogRequest);
}

impl<F: Fn(LogRequest) + Send + Sync + 'static> LogSink for F {
    fn log(&self, request: LogRequest) {
        self(request)
    }
}

/// Records every `Log` call; clones share the record.
#[derive(Clone, Default)]
pub struct LogBook {
    inner: Arc<(Mutex<Vec<LogRequest>>, Notify)>,
}

impl LogSink for LogBook {
    fn log(&self, request: LogRequest) {
        self.inner
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request);
        self.inner.1.notify_waiters();
    }
}

impl LogBook {
    /// Every `Log` call received so far.
    pub fn logs(&self) -> Vec<LogRequest> {
        self.inner
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits up to `timeout` for a `Log` call matching `wanted`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        wanted: impl Fn(&LogRequest) -> bool,
    ) -> Option<LogRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.1.notified();
            if let Some(found) = self.logs().into_iter().find(|l| wanted(l)) {
                return Some(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(50)), notified).await;
        }
    }
}

/// The root (stack) resource's URN as the Engine service answers it: set by a program's
/// `SetRootResource`, or given up front; clones share it.
#[derive(Clone, Debug, Default)]
pub struct RootResource(Arc<Mutex<String>>);

impl RootResource {
    /// A root set to `urn` (empty: none yet).
    pub fn new(urn: impl Into<String>) -> Self {
        RootResource(Arc::new(Mutex::new(urn.into())))
    }

    /// The URN, if one was set.
    pub fn get(&self) -> Option<String> {
        let urn = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (!urn.is_empty()).then(|| urn.clone())
    }

    fn set(&self, urn: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = urn;
    }
}

/// The `pulumirpc.Engine` service (see [`service`]).
pub struct Service {
    sink: Box<dyn LogSink>,
    root: RootResource,
}

/// The Engine service, handing every `Log` to `sink` and answering `GetRootResource` from
/// `root` (which `SetRootResource` sets), to serve beside other services on one port.
pub fn service(sink: impl LogSink, root: RootResource) -> EngineService<Service> {
    EngineService::new(Service {
        sink: Box::new(sink),
        root,
    })
    .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
}

#[tonic::async_trait]
impl Engine for Service {
    async fn log(&self, request: Request<LogRequest>) -> Result<Response<()>, Status> {
        self.sink.log(request.into_inner());
        Ok(Response::new(()))
    }

    async fn get_root_resource(
        &self,
        _: Request<GetRootResourceRequest>,
    ) -> Result<Response<GetRootResourceResponse>, Status> {
        Ok(Response::new(GetRootResourceResponse {
            urn: self.root.get().unwrap_or_default(),
        }))
    }

    async fn set_root_resource(
        &self,
        request: Request<SetRootResourceRequest>,
    ) -> Result<Response<SetRootResourceResponse>, Status> {
        self.root.set(request.into_inner().urn);
        Ok(Response::new(SetRootResourceResponse {}))
    }

    async fn start_debugging(
        &self,
        _: Request<StartDebuggingRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented(
            "this engine does not support attaching a debugger this way",
        ))
    }

    async fn require_pulumi_version(
        &self,
        _: Request<RequirePulumiVersionRequest>,
    ) -> Result<Response<RequirePulumiVersionResponse>, Status> {
        Ok(Response::new(RequirePulumiVersionResponse {}))
    }
}

/// A running Engine service on loopback; it stops when dropped.
#[derive(Debug)]
pub struct EngineServer {
    address: String,
    stop: CancellationToken,
}

impl EngineServer {
    /// Serves the Engine service on `127.0.0.1:0`, handing every `Log` to `sink`;
    /// `GetRootResource` answers `root_urn`.
    pub async fn start(sink: impl LogSink, root_urn: impl Into<String>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?.to_string();
        let stop = CancellationToken::new();
        let token = stop.clone();
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let service = service(sink, RootResource::new(root_urn));
        tokio::spawn(async move {
            let served = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, token.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::warn!("the Engine service stopped: {e}");
            }
        });
        Ok(EngineServer { address, stop })
    }

    /// `127.0.0.1:PORT`, the argument a plugin receives.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for EngineServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulumirpc::engine_client::EngineClient;

    #[tokio::test]
    async fn records_logs_and_answers_the_root() {
        let book = LogBook::default();
        let engine = EngineServer::start(book.clone(), "urn:root").await.unwrap();
        let mut client = EngineClient::connect(format!("http://{}", engine.address()))
            .await
            .unwrap();
        client
            .log(LogRequest {
                message: "hello".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let got = book
            .wait_for(Duration::from_secs(5), |l| l.message == "hello")
            .await;
        assert!(got.is_some());
        let root = client
            .get_root_resource(GetRootResourceRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(root.urn, "urn:root");
        // A program sets its stack as the root; the service answers it from then on.
        client
            .set_root_resource(SetRootResourceRequest {
                urn: "urn:stack".into(),
            })
            .await
            .unwrap();
        let root = client
            .get_root_resource(GetRootResourceRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(root.urn, "urn:stack");
    }
}
