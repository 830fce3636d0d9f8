//! The engine's `Cancel` through real gRPC: calls in flight are cancelled, calls after it are
//! not, and the plugin's own shutdown still reaches calls started after a `Cancel`.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use provider_sdk::ops::*;
use provider_sdk::{
    Context, Error, PropertyMap, PropertyValue, ResourceProvider, Result, async_trait,
};
use tokio::sync::Notify;

/// Create of `wait-*` runs until its context is cancelled (or 20 s pass); any other Create
/// reports whether its context started cancelled.
#[derive(Clone, Default)]
struct Waiter {
    started: Arc<Notify>,
    cancel_hooks: Arc<AtomicUsize>,
}

#[async_trait]
impl ResourceProvider for Waiter {
    async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        if req.name.starts_with("wait") {
            self.started.notify_one();
            tokio::select! {
                () = ctx.cancelled() => return Err(Error::Cancelled(format!("{} stopped", req.name))),
                () = tokio::time::sleep(Duration::from_secs(20)) => {}
            }
        }
        let outputs = PropertyMap::from([(
            "startedCancelled".to_string(),
            PropertyValue::from(ctx.is_cancelled()),
        )]);
        Ok(CreateResponse::new(req.name, outputs))
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
    async fn cancel(&self) -> Result<()> {
        self.cancel_hooks.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Starts a `wait` Create and returns once the provider is running it.
async fn start_waiting(
    served: &support::Served,
    provider: &Waiter,
    name: &str,
) -> tokio::task::JoinHandle<
    std::result::Result<tonic::Response<pulumirpc::CreateResponse>, tonic::Status>,
> {
    let mut client = served.client.clone();
    let started = provider.started.notified();
    let request = support::create_request(name);
    let call = tokio::spawn(async move { client.create(request).await });
    tokio::time::timeout(Duration::from_secs(10), started)
        .await
        .expect("the provider starts the waiting Create");
    call
}

/// Awaits a call that should end in a cancellation error within a few seconds.
async fn expect_cancelled(
    call: tokio::task::JoinHandle<
        std::result::Result<tonic::Response<pulumirpc::CreateResponse>, tonic::Status>,
    >,
) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the cancelled call returns within 5 s")
        .unwrap();
    let status = outcome.expect_err("a cancelled Create fails");
    assert!(
        status.message().contains("cancelled"),
        "after {:?}: {status:?}",
        started.elapsed()
    );
}

fn started_cancelled(response: &pulumirpc::CreateResponse) -> bool {
    let outputs = provider_sdk::wire::decode_struct(response.properties.as_ref()).unwrap();
    outputs["startedCancelled"] == PropertyValue::from(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_calls_in_flight_and_runs_the_providers_hook() {
    let provider = Waiter::default();
    let mut served = support::serve(provider.clone(), None).await;
    let first = start_waiting(&served, &provider, "wait-1").await;
    let second = start_waiting(&served, &provider, "wait-2").await;
    served.client.cancel(()).await.expect("Cancel succeeds");
    expect_cancelled(first).await;
    expect_cancelled(second).await;
    assert_eq!(provider.cancel_hooks.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_after_cancel_start_uncancelled_and_can_be_cancelled_again() {
    let provider = Waiter::default();
    let mut served = support::serve(provider.clone(), None).await;
    served.client.cancel(()).await.expect("Cancel succeeds");

    let after = served
        .client
        .create(support::create_request("after"))
        .await
        .expect("a Create after Cancel succeeds")
        .into_inner();
    assert!(
        !started_cancelled(&after),
        "a call after Cancel started cancelled"
    );

    // A long call after Cancel runs until the next Cancel, not shorter.
    let waiting = start_waiting(&served, &provider, "wait-after").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a call after Cancel was stopped without a new Cancel"
    );
    served
        .client
        .cancel(())
        .await
        .expect("a second Cancel succeeds");
    expect_cancelled(waiting).await;
    assert_eq!(provider.cancel_hooks.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_still_cancels_calls_started_after_a_cancel() {
    let provider = Waiter::default();
    let mut served = support::serve(provider.clone(), None).await;
    served.client.cancel(()).await.expect("Cancel succeeds");
    let waiting = start_waiting(&served, &provider, "wait-late").await;
    served.stop();
    expect_cancelled(waiting).await;
}
