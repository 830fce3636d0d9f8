//! Driving `Create` calls over one gRPC connection: sequentially or with N calls in flight.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pulumirpc::prost_types::{Struct, Value, value::Kind};
use pulumirpc::resource_provider_client::ResourceProviderClient;
use pulumirpc::{CreateRequest, CreateResponse};
use tonic::transport::{Channel, Endpoint};

/// A client on one HTTP/2 connection to a plugin.
pub type Client = ResourceProviderClient<Channel>;

/// Opens one connection to `127.0.0.1:port`, with room for thousands of queued calls and a
/// generous per-call deadline (a call that takes longer counts as a failure).
pub async fn connect(port: u16, call_timeout: Duration) -> Result<Client, tonic::transport::Error> {
    let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))?
        .tcp_nodelay(true)
        .buffer_size(16_384)
        .timeout(call_timeout)
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await?;
    Ok(ResourceProviderClient::new(channel)
        .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE))
}

/// The benchmark's resource inputs: `{length: 8, prefix: "x"}`.
pub fn inputs() -> Struct {
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
    Struct { fields }
}

/// The `Create` request for resource number `n` of `type_token`.
pub fn create_request(type_token: &str, n: u64) -> CreateRequest {
    let name = format!("r{n}");
    CreateRequest {
        urn: format!("urn:pulumi:bench::bench::{type_token}::{name}"),
        properties: Some(inputs()),
        name,
        r#type: type_token.to_string(),
        ..Default::default()
    }
}

/// Why a response does not count as a successful create.
fn check_response(response: &CreateResponse) -> Result<(), &'static str> {
    if response.id.is_empty() {
        return Err("empty-id");
    }
    let echoed = response
        .properties
        .as_ref()
        .and_then(|p| p.fields.get("prefix"))
        .and_then(|v| v.kind.as_ref());
    match echoed {
        Some(Kind::StringValue(s)) if s == "x" => Ok(()),
        _ => Err("prefix-not-echoed"),
    }
}

/// A failed call: its gRPC code (or bad-response reason) and the message.
pub type Failure = (String, String);

/// One `Create` call; `Err` names the failure (a gRPC code or a bad-response reason) and its
/// message.
pub async fn create_once(client: &mut Client, type_token: &str, n: u64) -> Result<(), Failure> {
    match client.create(create_request(type_token, n)).await {
        Ok(response) => check_response(response.get_ref()).map_err(|reason| {
            (
                reason.to_string(),
                "the response was not a successful create".to_string(),
            )
        }),
        Err(status) => Err((format!("{:?}", status.code()), status.message().to_string())),
    }
}

/// What a load phase did.
#[derive(Debug, Clone, Default)]
pub struct PhaseResult {
    /// Calls in flight at once.
    pub in_flight: usize,
    /// Calls that completed (successfully or not).
    pub calls: u64,
    /// Wall time of the phase.
    pub elapsed: Duration,
    /// Failed calls by gRPC code or reason.
    pub failures: BTreeMap<String, u64>,
    /// The first message seen for each failure code.
    pub failure_samples: BTreeMap<String, String>,
    /// Latency of each call in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl PhaseResult {
    /// Completed calls per second.
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Total failed calls.
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Latency percentile (0..=100) in microseconds.
    pub fn latency_percentile_us(&self, p: f64) -> u32 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let index = ((self.latencies_us.len() - 1) as f64 * p / 100.0).round() as usize;
        self.latencies_us[index]
    }
}

/// Keeps `in_flight` calls outstanding on the one connection behind `client` until `duration`
/// has passed (every worker starts its first call at once, so the phase opens with a burst of
/// `in_flight` calls), then waits for the last calls to finish. At least `min_calls` calls run
/// even if that takes longer than `duration`.
pub async fn closed_loop(
    client: &Client,
    type_token: &str,
    in_flight: usize,
    duration: Duration,
    min_calls: u64,
) -> PhaseResult {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let mut client = client.clone();
        let counter = counter.clone();
        let type_token = type_token.to_string();
        workers.spawn(async move {
            let mut failures: BTreeMap<String, u64> = BTreeMap::new();
            let mut samples: BTreeMap<String, String> = BTreeMap::new();
            let mut latencies = Vec::new();
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if n >= min_calls && Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                let outcome = create_once(&mut client, &type_token, n).await;
                latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if let Err((code, message)) = outcome {
                    *failures.entry(code.clone()).or_default() += 1;
                    samples.entry(code).or_insert(message);
                }
            }
            (failures, samples, latencies)
        });
    }
    let mut result = PhaseResult {
        in_flight,
        ..Default::default()
    };
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok((failures, samples, latencies)) => {
                result.calls += latencies.len() as u64;
                result.latencies_us.extend(latencies);
                for (code, n) in failures {
                    *result.failures.entry(code).or_default() += n;
                }
                for (code, message) in samples {
                    result.failure_samples.entry(code).or_insert(message);
                }
            }
            Err(e) => {
                *result
                    .failures
                    .entry(format!("worker-panicked: {e}"))
                    .or_default() += 1
            }
        }
    }
    result.elapsed = started.elapsed();
    result.latencies_us.sort_unstable();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_carries_the_benchmark_inputs_and_a_well_formed_urn() {
        let r = create_request("local:index:Random", 7);
        assert_eq!(r.urn, "urn:pulumi:bench::bench::local:index:Random::r7");
        assert_eq!(r.name, "r7");
        let props = r.properties.unwrap();
        assert_eq!(props.fields["length"].kind, Some(Kind::NumberValue(8.0)));
        assert_eq!(
            props.fields["prefix"].kind,
            Some(Kind::StringValue("x".into()))
        );
    }

    #[test]
    fn responses_without_id_or_echo_are_failures() {
        let good = CreateResponse {
            id: "a".into(),
            properties: Some(inputs()),
            ..Default::default()
        };
        assert_eq!(check_response(&good), Ok(()));
        let no_id = CreateResponse {
            properties: Some(inputs()),
            ..Default::default()
        };
        assert_eq!(check_response(&no_id), Err("empty-id"));
        let no_echo = CreateResponse {
            id: "a".into(),
            ..Default::default()
        };
        assert_eq!(check_response(&no_echo), Err("prefix-not-echoed"));
    }

    #[test]
    fn percentiles_pick_from_sorted_latencies() {
        let r = PhaseResult {
            latencies_us: (1..=100).collect(),
            ..Default::default()
        };
        assert_eq!(r.latency_percentile_us(50.0), 51);
        assert_eq!(r.latency_percentile_us(100.0), 100);
        assert_eq!(r.latency_percentile_us(0.0), 1);
    }
}
