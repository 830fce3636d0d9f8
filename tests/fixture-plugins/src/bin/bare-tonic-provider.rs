//! `bare-tonic-provider`: the benchmark floor, a `ResourceProvider` served with tonic alone.
//!
//! No SDK: the generated `pulumirpc` server, one hand-written `Create`, nothing else. It keeps the
//! same process contract as an SDK plugin so the benchmarks can launch it the same way: it binds
//! `127.0.0.1:0`, prints the port as the only stdout line, serves with TCP_NODELAY, the same
//! 400 MiB message limits and stream limit as the SDK, and exits 0 on SIGINT or SIGTERM (so a
//! profiler wrapping it can write its report). The engine address argument is accepted and
//! ignored: the floor never logs.
//!
//! `Create` returns the id `bare-<n>` and echoes the request's properties; `GetPluginInfo` and
//! `Handshake` answer; every other method is `UNIMPLEMENTED`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use pulumirpc::resource_provider_server::{ResourceProvider, ResourceProviderServer};
use pulumirpc::*;
// The protocol has a `Result` enum (RegisterResourceResponse.result); keep std's.
use std::result::Result;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// The floor provider: counts creates to make ids.
#[derive(Default)]
struct Bare {
    created: AtomicU64,
}

fn unimplemented<T>(method: &str) -> Result<Response<T>, Status> {
    Err(Status::unimplemented(format!(
        "bare-tonic-provider implements only Create, not {method}"
    )))
}

#[tonic::async_trait]
impl ResourceProvider for Bare {
    async fn handshake(
        &self,
        _: Request<ProviderHandshakeRequest>,
    ) -> Result<Response<ProviderHandshakeResponse>, Status> {
        Ok(Response::new(ProviderHandshakeResponse::default()))
    }
    async fn parameterize(
        &self,
        _: Request<ParameterizeRequest>,
    ) -> Result<Response<ParameterizeResponse>, Status> {
        unimplemented("Parameterize")
    }
    async fn get_schema(
        &self,
        _: Request<GetSchemaRequest>,
    ) -> Result<Response<GetSchemaResponse>, Status> {
        unimplemented("GetSchema")
    }
    async fn check_config(
        &self,
        _: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        unimplemented("CheckConfig")
    }
    async fn diff_config(&self, _: Request<DiffRequest>) -> Result<Response<DiffResponse>, Status> {
        unimplemented("DiffConfig")
    }
    async fn configure(
        &self,
        _: Request<ConfigureRequest>,
    ) -> Result<Response<ConfigureResponse>, Status> {
        unimplemented("Configure")
    }
    async fn invoke(&self, _: Request<InvokeRequest>) -> Result<Response<InvokeResponse>, Status> {
        unimplemented("Invoke")
    }
    async fn call(&self, _: Request<CallRequest>) -> Result<Response<CallResponse>, Status> {
        unimplemented("Call")
    }
    async fn check(&self, _: Request<CheckRequest>) -> Result<Response<CheckResponse>, Status> {
        unimplemented("Check")
    }
    async fn diff(&self, _: Request<DiffRequest>) -> Result<Response<DiffResponse>, Status> {
        unimplemented("Diff")
    }
    async fn create(
        &self,
        request: Request<CreateRequest>,
    ) -> Result<Response<CreateResponse>, Status> {
        let request = request.into_inner();
        let n = self.created.fetch_add(1, Ordering::Relaxed);
        Ok(Response::new(CreateResponse {
            id: format!("bare-{n}"),
            properties: request.properties,
            ..Default::default()
        }))
    }
    async fn read(&self, _: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        unimplemented("Read")
    }
    async fn update(&self, _: Request<UpdateRequest>) -> Result<Response<UpdateResponse>, Status> {
        unimplemented("Update")
    }
    async fn delete(&self, _: Request<DeleteRequest>) -> Result<Response<()>, Status> {
        unimplemented("Delete")
    }
    async fn construct(
        &self,
        _: Request<ConstructRequest>,
    ) -> Result<Response<ConstructResponse>, Status> {
        unimplemented("Construct")
    }
    async fn cancel(&self, _: Request<()>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn get_plugin_info(&self, _: Request<()>) -> Result<Response<PluginInfo>, Status> {
        Ok(Response::new(PluginInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
        }))
    }
    type ListStream = tonic::codegen::BoxStream<pulumirpc::ListResponse>;

    async fn list(
        &self,
        _: Request<pulumirpc::ListRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        Err(Status::unimplemented("List is not supported"))
    }

    async fn attach(&self, _: Request<PluginAttach>) -> Result<Response<()>, Status> {
        unimplemented("Attach")
    }
    async fn get_mapping(
        &self,
        _: Request<GetMappingRequest>,
    ) -> Result<Response<GetMappingResponse>, Status> {
        unimplemented("GetMapping")
    }
    async fn get_mappings(
        &self,
        _: Request<GetMappingsRequest>,
    ) -> Result<Response<GetMappingsResponse>, Status> {
        unimplemented("GetMappings")
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
        }
        _ => std::future::pending().await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bare-tonic-provider: cannot listen on 127.0.0.1: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = match listener.local_addr() {
        Ok(a) => a.port(),
        Err(e) => {
            eprintln!("bare-tonic-provider: no local address: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{port}").and_then(|()| out.flush()).is_err() {
            eprintln!("bare-tonic-provider: cannot write the port line to stdout");
            return ExitCode::FAILURE;
        }
    }
    let service = ResourceProviderServer::new(Bare::default())
        .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let served = tonic::transport::Server::builder()
        .max_concurrent_streams(Some(8192))
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown_signal())
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare-tonic-provider: gRPC server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
