//! The `pulumirpc.Engine` service that plugins receive as their positional argument: `Log`
//! messages go to the [`Display`], tied to the resource URN they name.

use crate::display::{Display, Event};
use pulumirpc::engine_server::{Engine, EngineServer};
use pulumirpc::*;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

struct EngineService {
    display: Display,
    root: String,
}

#[tonic::async_trait]
impl Engine for EngineService {
    async fn log(&self, req: Request<LogRequest>) -> Result<Response<()>, Status> {
        let r = req.into_inner();
        let severity = match LogSeverity::try_from(r.severity).unwrap_or(LogSeverity::Info) {
            LogSeverity::Debug => {
                tracing::debug!(urn = %r.urn, "{}", r.message);
                return Ok(Response::new(()));
            }
            LogSeverity::Info => "info",
            LogSeverity::Warning => "warning",
            LogSeverity::Error => "error",
        };
        if !r.ephemeral {
            self.display.emit(Event::Log {
                severity: severity.into(),
                urn: Some(r.urn),
                message: r.message,
            });
        }
        Ok(Response::new(()))
    }

    async fn get_root_resource(
        &self,
        _: Request<GetRootResourceRequest>,
    ) -> Result<Response<GetRootResourceResponse>, Status> {
        Ok(Response::new(GetRootResourceResponse {
            urn: self.root.clone(),
        }))
    }

    async fn set_root_resource(
        &self,
        _: Request<SetRootResourceRequest>,
    ) -> Result<Response<SetRootResourceResponse>, Status> {
        Ok(Response::new(SetRootResourceResponse {}))
    }

    async fn start_debugging(
        &self,
        _: Request<StartDebuggingRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented(
            "engine-harness does not support debugging plugins this way",
        ))
    }

    async fn check_pulumi_version(
        &self,
        _: Request<CheckPulumiVersionRequest>,
    ) -> Result<Response<CheckPulumiVersionResponse>, Status> {
        Ok(Response::new(CheckPulumiVersionResponse {}))
    }
}

/// A running Engine service; it stops when dropped.
#[derive(Debug)]
pub struct RunningEngine {
    /// `127.0.0.1:PORT`, the address given to plugins.
    pub address: String,
    stop: CancellationToken,
}

impl Drop for RunningEngine {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serves the Engine service on `127.0.0.1:0`.
pub async fn serve(display: Display, root_urn: String) -> std::io::Result<RunningEngine> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let stop = CancellationToken::new();
    let token = stop.clone();
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let svc = EngineServer::new(EngineService {
        display,
        root: root_urn,
    })
    .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming_shutdown(incoming, token.cancelled_owned())
            .await;
    });
    Ok(RunningEngine { address, stop })
}
