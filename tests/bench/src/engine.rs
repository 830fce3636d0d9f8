//! A stand-in for the engine's `Engine` service, so plugins get a real address to log to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pulumirpc::engine_server::{Engine, EngineServer};
use pulumirpc::*;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// Accepts `Log` calls and counts them; everything else is `UNIMPLEMENTED`.
#[derive(Default)]
struct LogSink {
    logs: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl Engine for LogSink {
    async fn log(&self, _: Request<LogRequest>) -> Result<Response<()>, Status> {
        self.logs.fetch_add(1, Ordering::Relaxed);
        Ok(Response::new(()))
    }
    async fn get_root_resource(
        &self,
        _: Request<GetRootResourceRequest>,
    ) -> Result<Response<GetRootResourceResponse>, Status> {
        Err(Status::unimplemented(
            "the benchmark engine serves only Log",
        ))
    }
    async fn set_root_resource(
        &self,
        _: Request<SetRootResourceRequest>,
    ) -> Result<Response<SetRootResourceResponse>, Status> {
        Err(Status::unimplemented(
            "the benchmark engine serves only Log",
        ))
    }
    async fn start_debugging(
        &self,
        _: Request<StartDebuggingRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented(
            "the benchmark engine serves only Log",
        ))
    }
    async fn check_pulumi_version(
        &self,
        _: Request<CheckPulumiVersionRequest>,
    ) -> Result<Response<CheckPulumiVersionResponse>, Status> {
        Err(Status::unimplemented(
            "the benchmark engine serves only Log",
        ))
    }
}

/// The running stand-in engine.
pub struct MockEngine {
    /// `127.0.0.1:PORT`, the argument plugins receive.
    pub address: String,
    logs: Arc<AtomicU64>,
}

impl MockEngine {
    /// Binds loopback and serves in the background for the life of the runtime.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?.to_string();
        let logs = Arc::new(AtomicU64::new(0));
        let sink = LogSink { logs: logs.clone() };
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        tokio::spawn(async move {
            let served = tonic::transport::Server::builder()
                .add_service(EngineServer::new(sink))
                .serve_with_incoming(incoming)
                .await;
            if let Err(e) = served {
                eprintln!("provider-bench: the stand-in engine failed: {e}");
            }
        });
        Ok(MockEngine { address, logs })
    }

    /// How many `Log` calls arrived so far.
    pub fn logs(&self) -> u64 {
        self.logs.load(Ordering::Relaxed)
    }
}
