//! The logger's bounded queue against an engine whose `Log` is slow: provider calls never wait
//! for the engine, the queue never holds more than its capacity, and the engine is told how
//! many messages were dropped.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use provider_sdk::ops::*;
use provider_sdk::{Context, Logger, Result, ResourceProvider, async_trait};
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
    async fn check_pulumi_version(
        &self,
        _: Request<pulumirpc::CheckPulumiVersionRequest>,
    ) -> std::result::Result<Response<pulumirpc::CheckPulumiVersionResponse>, Status> {
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

    // Wait for the queue to drain and the report to arrive.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (delivered, dropped) = loop {
        let received = engine.received.lock().unwrap().clone();
        if let Some(last) = received.last()
            && let Some(dropped) = dropped_count(&last.message)
        {
            assert_eq!(last.severity, LogSeverity::Warning as i32, "{last:?}");
            break (received.len() - 1, dropped);
        }
        assert!(
            Instant::now() < deadline,
            "no 'N log messages dropped' report after 30 s; {} messages received, the last: {:?}",
            received.len(),
            received.last().map(|r| &r.message)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        delivered + dropped,
        WRITTEN,
        "every message is either delivered or counted as dropped"
    );
    // The queue holds at most its capacity; the rest were on the wire or sent while the
    // provider was writing, which at 32 calls per 20 ms is a few hundred at most.
    assert!(dropped > 0);
    assert!(
        delivered <= Logger::QUEUE_CAPACITY + 512,
        "{delivered} messages delivered: the queue grew past its bound"
    );
    let received = engine.received.lock().unwrap();
    let reports = received
        .iter()
        .filter(|r| dropped_count(&r.message).is_some())
        .count();
    assert_eq!(reports, 1, "one report per drained queue");
    assert!(
        received[..delivered]
            .iter()
            .all(|r| r.message.starts_with("message ")),
        "the report comes after the queued messages"
    );
}
