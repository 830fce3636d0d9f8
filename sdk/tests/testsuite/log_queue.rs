//! The logger's bounded queue against an engine whose `Log` is slow: provider calls never wait
//! for the engine, the queue never holds more than its capacity, and the engine is told how
//! many messages were dropped.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use provider_sdk::ops::*;
use provider_sdk::{Context, Logger, ResourceProvider, Result, async_trait};
use pulumirpc::engine_server::{Engine, EngineServer};
use pulumirpc::{LogRequest, LogSeverity};
use tonic::{Request, Response, Status};

/// How long the engine takes to accept one message.
const LOG_DELAY: Duration = Duration::from_millis(20);
/// How many messages the provider writes in one Create.
const WRITTEN: usize = 5_000;

/// An Engine whose `Log` sleeps, recording every message it accepted.
#[derive(Clone, Default)]
struct SlowEngine {
    received: Arc<Mutex<Vec<LogRequest>>>,
}

#[tonic::async_trait]
impl Engine for SlowEngine {
    async fn log(&self, req: Request<LogRequest>) -> std::result::Result<Response<()>, Status> {
        tokio::time::sleep(LOG_DELAY).await;
        self.received.lock().unwrap().push(req.into_inner());
        Ok(Response::new(()))
    }
    async fn get_root_resource(
        &self,
        _: Request<pulumirpc::GetRootResourceRequest>,
    ) -> std::result::Result<Response<pulumirpc::GetRootResourceResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn set_root_resource(
        &self,
        _: Request<pulumirpc::SetRootResourceRequest>,
    ) -> std::result::Result<Response<pulumirpc::SetRootResourceResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn start_debugging(
        &self,
        _: Request<pulumirpc::StartDebuggingRequest>,
    ) -> std::result::Result<Response<()>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn require_pulumi_version(
        &self,
        _: Request<pulumirpc::RequirePulumiVersionRequest>,
    ) -> std::result::Result<Response<pulumirpc::RequirePulumiVersionResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

async fn serve_engine(engine: SlowEngine) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EngineServer::new(engine))
            .serve_with_incoming(incoming),
    );
    address
}

/// Writes [`WRITTEN`] info messages in each Create.
struct Chatty;

#[async_trait]
impl ResourceProvider for Chatty {
    async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        for i in 0..WRITTEN {
            ctx.log().info(format!("message {i}"));
        }
        Ok(CreateResponse::new("id", req.properties))
    }
    async fn read(&self, _: &Context, req: ReadRequest) -> Result<ReadResponse> {
        Ok(ReadResponse::found(req.id, req.properties, req.inputs))
    }
    async fn update(&self, _: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        Ok(UpdateResponse::new(req.news))
    }
    async fn delete(&self, _: &Context, _: DeleteRequest) -> Result<()> {
        Ok(())
    }
}

fn dropped_count(message: &str) -> Option<usize> {
    let (count, rest) = message.split_once(' ')?;
    rest.starts_with("log messages dropped")
        .then(|| count.parse().ok())
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_engine_gets_a_bounded_queue_and_a_count_of_what_was_dropped() {
    let engine = SlowEngine::default();
    let address = serve_engine(engine.clone()).await;
    let mut served = support::serve(Chatty, Some(address)).await;

    let started = Instant::now();
    served
        .client
        .create(support::create_request("a"))
        .await
        .expect("Create succeeds");
    let took = started.elapsed();
    // Sending every message at the engine's pace would take WRITTEN * LOG_DELAY / 32 (over 3 s).
    assert!(
        took < Duration::from_secs(2),
        "Create waited for the engine's Log: {took:?}"
    );

    // Wait for the queue to drain and the report to arrive. Up to 32 Log calls run at once,
    // so the report may overtake the last few messages taken before it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (received, dropped) = loop {
        let received = engine.received.lock().unwrap().clone();
        let reports: Vec<usize> = received
            .iter()
            .filter_map(|r| dropped_count(&r.message))
            .collect();
        if let [dropped] = reports[..]
            && received.len() - 1 + dropped == WRITTEN
        {
            break (received, dropped);
        }
        assert!(
            reports.len() <= 1,
            "one report per drained queue, got {reports:?}"
        );
        assert!(
            Instant::now() < deadline,
            "after 30 s: {} messages received, dropped reports {reports:?}; every message must be \
             delivered or counted as dropped",
            received.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let delivered = received.len() - 1;
    assert!(dropped > 0);
    // The queue holds at most its capacity; the rest were on the wire or sent while the
    // provider was writing, a few hundred at most at 32 calls per 20 ms.
    assert!(
        delivered <= Logger::QUEUE_CAPACITY + 512,
        "{delivered} messages delivered: the queue grew past its bound"
    );
    let position = received
        .iter()
        .position(|r| dropped_count(&r.message).is_some())
        .unwrap();
    let report = &received[position];
    assert_eq!(report.severity, LogSeverity::Warning as i32, "{report:?}");
    assert!(
        received.len() - position <= 32,
        "the report comes once the queue has drained, after all but the last calls in flight: \
         it came at {position} of {}",
        received.len()
    );
    // No message is lost without being counted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(engine.received.lock().unwrap().len(), received.len());
}
