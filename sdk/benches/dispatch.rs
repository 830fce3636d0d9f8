//! Request dispatch: one `Create` round trip over in-process gRPC, SDK against the bare floor.
//!
//! A trivial provider (Create returns an id and echoes its inputs, no logging) is served with
//! [`provider_sdk::Plugin::serve_on`] on `127.0.0.1:0`; a tonic client on one connection sends
//! `Create{length: 8, prefix: "x"}`. The figure is the whole round trip: client encode, HTTP/2
//! over loopback, the SDK's decoding into its value model, dispatch to the provider, encoding
//! the response and the client decode. The same calls against a bare tonic server (the
//! generated `pulumirpc` service with a hand-written Create, no SDK) give the floor, so the
//! SDK's own share is the difference. Each is measured one call at a time and 64 at once.
//!
//! Run: `cargo bench -p provider-sdk --bench dispatch`.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use provider_sdk::{Context, Plugin, ResourceProvider, Result, async_trait, ops::*};
use pulumirpc::prost_types::{Struct, Value, value::Kind};
use pulumirpc::resource_provider_client::ResourceProviderClient;
use tonic::transport::{Channel, Endpoint};

/// Echoes inputs; does nothing else.
struct Echo;

#[async_trait]
impl ResourceProvider for Echo {
    async fn create(&self, _ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        Ok(CreateResponse::new("echo-1", req.properties))
    }
    async fn read(&self, _ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
        Ok(ReadResponse::found(req.id, req.properties, req.inputs))
    }
    async fn update(&self, _ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        Ok(UpdateResponse::new(req.news))
    }
    async fn delete(&self, _ctx: &Context, _req: DeleteRequest) -> Result<()> {
        Ok(())
    }
}

/// The floor: the generated service with a hand-written Create, served by tonic alone with the
/// same settings as the SDK (TCP_NODELAY, 400 MiB messages, 8192 streams).
mod floor {
    use pulumirpc::resource_provider_server::{
        ResourceProvider as RawProvider, ResourceProviderServer,
    };
    use pulumirpc::*;
    use std::result::Result;
    use tokio_util::sync::CancellationToken;
    use tonic::transport::server::TcpIncoming;
    use tonic::{Request, Response, Status};

    pub struct Bare;

    fn unimplemented<T>(method: &str) -> Result<Response<T>, Status> {
        Err(Status::unimplemented(format!(
            "the bare floor implements only Create, not {method}"
        )))
    }

    #[tonic::async_trait]
    impl RawProvider for Bare {
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
        async fn diff_config(
            &self,
            _: Request<DiffRequest>,
        ) -> Result<Response<DiffResponse>, Status> {
            unimplemented("DiffConfig")
        }
        async fn configure(
            &self,
            _: Request<ConfigureRequest>,
        ) -> Result<Response<ConfigureResponse>, Status> {
            unimplemented("Configure")
        }
        async fn invoke(
            &self,
            _: Request<InvokeRequest>,
        ) -> Result<Response<InvokeResponse>, Status> {
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
            Ok(Response::new(CreateResponse {
                id: "echo-1".to_string(),
                properties: request.properties,
                ..Default::default()
            }))
        }
        async fn read(&self, _: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
            unimplemented("Read")
        }
        async fn update(
            &self,
            _: Request<UpdateRequest>,
        ) -> Result<Response<UpdateResponse>, Status> {
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

    pub async fn serve(listener: tokio::net::TcpListener, stop: CancellationToken) {
        let service = ResourceProviderServer::new(Bare)
            .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
            .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        tonic::transport::Server::builder()
            .max_concurrent_streams(Some(8192))
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
            .await
            .expect("the bare floor stopped serving");
    }
}

fn request() -> pulumirpc::CreateRequest {
    let mut fields = BTreeMap::new();
    fields.insert(
        "length".to_string(),
        Value {
            kind: Some(Kind::NumberValue(8.0)),
        },
    );
    fields.insert(
        "prefix".to_string(),
        Value {
            kind: Some(Kind::StringValue("x".into())),
        },
    );
    pulumirpc::CreateRequest {
        urn: "urn:pulumi:bench::bench::echo:index:Echo::r".into(),
        properties: Some(Struct { fields }),
        name: "r".into(),
        r#type: "echo:index:Echo".into(),
        ..Default::default()
    }
}

async fn connect(port: u16) -> ResourceProviderClient<Channel> {
    let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("endpoint")
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("connect to the in-process provider");
    ResourceProviderClient::new(channel)
}

fn dispatch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let stop = provider_sdk::CancellationToken::new();
    let (sdk, bare) = runtime.block_on(async {
        let sdk_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let sdk_port = sdk_listener.local_addr().expect("local address").port();
        let serving = Plugin::new(Echo, "0.0.0").serve_on(sdk_listener, None, stop.clone());
        tokio::spawn(async move {
            if let Err(e) = serving.await {
                panic!("the SDK provider stopped serving: {e}");
            }
        });
        let bare_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let bare_port = bare_listener.local_addr().expect("local address").port();
        tokio::spawn(floor::serve(bare_listener, stop.clone()));
        (connect(sdk_port).await, connect(bare_port).await)
    });
    // Fail loudly, not with a meaningless figure, if Create does not work.
    for client in [&sdk, &bare] {
        let first = runtime
            .block_on(client.clone().create(request()))
            .expect("Create")
            .into_inner();
        assert_eq!(first.id, "echo-1");
        assert_eq!(first.properties, request().properties);
    }

    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(1));
    for (name, client) in [("sdk", &sdk), ("bare_tonic", &bare)] {
        group.bench_with_input(
            BenchmarkId::new("create_round_trip", name),
            client,
            |b, client| {
                b.iter(|| {
                    runtime.block_on(async {
                        let response = client.clone().create(request()).await.expect("Create");
                        std::hint::black_box(response);
                    })
                })
            },
        );
    }
    group.throughput(Throughput::Elements(64));
    for (name, client) in [("sdk", &sdk), ("bare_tonic", &bare)] {
        group.bench_with_input(
            BenchmarkId::new("create_64_concurrent", name),
            client,
            |b, client| {
                b.iter(|| {
                    runtime.block_on(async {
                        let calls = (0..64).map(|_| {
                            let mut client = client.clone();
                            async move { client.create(request()).await.expect("Create") }
                        });
                        std::hint::black_box(futures::future::join_all(calls).await);
                    })
                })
            },
        );
    }
    group.finish();
    stop.cancel();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = dispatch
}
criterion_main!(benches);
