//! A provider served directly on `pulumirpc`/tonic, without the SDK, that mimics the example
//! provider's `local:index:Random` (`length` replaces, `prefix` updates in place, output
//! `result`, a secret prefix makes the result secret), except for at most one deliberate
//! [`Bug`]. The `broken-*` binaries each pick one bug, so the conformance kit can be shown to
//! catch it. The SDK itself guards against some of these bugs (it refuses empty ids), hence a
//! raw server.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use prost_types::value::Kind;
use prost_types::{Struct, Value};
use pulumirpc::resource_provider_server::{ResourceProvider, ResourceProviderServer};
use tonic::{Request, Response, Status};

/// The one bug a plugin has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// No bug: behaves like the example provider.
    None,
    /// Prints a log line on stdout before the port line.
    LogBeforePort,
    /// Create returns an empty id.
    EmptyId,
    /// Read returns a different `result` from the one recorded.
    DriftingRead,
    /// Diff treats a change of `length` (replace-on-change) as an in-place update.
    DiffIgnoresReplace,
    /// A secret `prefix` gives a plain (non-secret) `result`.
    DroppedSecret,
    /// The process exits when Check sees an invalid `length`.
    CrashOnInvalid,
    /// GetSchema returns a schema that violates Pulumi's metaschema.
    InvalidSchema,
    /// CheckConfig and Configure accept a `root` that is not a directory.
    ConfigAcceptsAnything,
    /// `local:index:hash` returns the hash of the wrong bytes.
    WrongFunctionResult,
}

const TYPE: &str = "local:index:Random";
use pulumirpc::sentinels::{SIG_KEY, SIG_SECRET, UNKNOWN_ANY as UNKNOWN, UNKNOWNS};

pub(crate) fn string(s: impl Into<String>) -> Value {
    Value {
        kind: Some(Kind::StringValue(s.into())),
    }
}

pub(crate) fn secret(v: Value) -> Value {
    let fields = BTreeMap::from([
        (SIG_KEY.to_string(), string(SIG_SECRET)),
        ("value".to_string(), v),
    ]);
    Value {
        kind: Some(Kind::StructValue(Struct { fields })),
    }
}

/// The value inside a secret, and whether it was one.
pub(crate) fn unwrap_secret(v: &Value) -> (&Value, bool) {
    if let Some(Kind::StructValue(s)) = &v.kind
        && s.fields.get(SIG_KEY).and_then(|k| k.kind.as_ref())
            == Some(&Kind::StringValue(SIG_SECRET.into()))
        && let Some(inner) = s.fields.get("value")
    {
        return (inner, true);
    }
    (v, false)
}

fn is_unknown(v: &Value) -> bool {
    matches!(&v.kind, Some(Kind::StringValue(s)) if UNKNOWNS.contains(&s.as_str()))
}

fn fields(s: &Option<Struct>) -> BTreeMap<String, Value> {
    s.as_ref().map(|s| s.fields.clone()).unwrap_or_default()
}

/// `Ok(None)` for an unknown length.
fn length(inputs: &BTreeMap<String, Value>) -> Result<Option<usize>, String> {
    let Some(v) = inputs.get("length") else {
        return Err("`length` is required".into());
    };
    let (v, _) = unwrap_secret(v);
    if is_unknown(v) {
        return Ok(None);
    }
    match &v.kind {
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && *n >= 1.0 && *n <= 1_000_000.0 => {
            Ok(Some(*n as usize))
        }
        Some(Kind::NumberValue(n)) => Err(format!(
            "`length` must be a whole number from 1 to 1000000, got {n}"
        )),
        _ => Err("`length` must be a number".into()),
    }
}

fn prefix(inputs: &BTreeMap<String, Value>) -> Result<(String, bool, bool), String> {
    match inputs.get("prefix") {
        None => Ok((String::new(), false, false)),
        Some(v) => {
            let (inner, is_secret) = unwrap_secret(v);
            if is_unknown(inner) {
                return Ok((String::new(), is_secret, true));
            }
            match &inner.kind {
                None | Some(Kind::NullValue(_)) => Ok((String::new(), is_secret, false)),
                Some(Kind::StringValue(s)) => Ok((s.clone(), is_secret, false)),
                _ => Err("`prefix` must be a string".into()),
            }
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A pseudo-random alphanumeric string (no dependency needed: uniqueness is what matters).
fn random_chars(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos
        ^ (COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15))
        ^ (std::process::id() as u64) << 32;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

fn outputs(inputs: &BTreeMap<String, Value>, random: &str, bug: Bug) -> Result<Struct, Status> {
    let (prefix, is_secret, _) = prefix(inputs).map_err(Status::invalid_argument)?;
    let result = string(format!("{prefix}{random}"));
    let mut out = inputs.clone();
    out.insert(
        "result".into(),
        if is_secret && bug != Bug::DroppedSecret {
            secret(result)
        } else {
            result
        },
    );
    Ok(Struct { fields: out })
}

/// The provider.
#[derive(Debug)]
pub struct RawRandom {
    bug: Bug,
}

impl RawRandom {
    fn check_type(&self, ty: &str) -> Result<(), Status> {
        if ty.is_empty() || ty == TYPE {
            Ok(())
        } else {
            Err(Status::invalid_argument(format!(
                "unknown resource type `{ty}`; this provider manages {TYPE}"
            )))
        }
    }
}

const INVALID_SCHEMA: &str = r#"{
  "name": "local",
  "version": "0.1.0",
  "resources": {
    "local:index:Random": {
      "inputProperties": {
        "length": {"type": "int"},
        "prefix": {"type": "string"}
      },
      "requiredInputs": ["length"],
      "properties": {"result": {"type": "string"}}
    }
  }
}"#;

#[tonic::async_trait]
impl ResourceProvider for RawRandom {
    async fn handshake(
        &self,
        _request: Request<pulumirpc::ProviderHandshakeRequest>,
    ) -> Result<Response<pulumirpc::ProviderHandshakeResponse>, Status> {
        Ok(Response::new(pulumirpc::ProviderHandshakeResponse {
            accept_secrets: true,
            accept_resources: true,
            ..Default::default()
        }))
    }

    async fn parameterize(
        &self,
        _r: Request<pulumirpc::ParameterizeRequest>,
    ) -> Result<Response<pulumirpc::ParameterizeResponse>, Status> {
        Err(Status::unimplemented("Parameterize"))
    }

    async fn get_schema(
        &self,
        _r: Request<pulumirpc::GetSchemaRequest>,
    ) -> Result<Response<pulumirpc::GetSchemaResponse>, Status> {
        match self.bug {
            Bug::InvalidSchema => Ok(Response::new(pulumirpc::GetSchemaResponse {
                schema: INVALID_SCHEMA.into(),
            })),
            _ => Err(Status::unimplemented("GetSchema")),
        }
    }

    async fn check_config(
        &self,
        request: Request<pulumirpc::CheckRequest>,
    ) -> Result<Response<pulumirpc::CheckResponse>, Status> {
        let req = request.into_inner();
        let failures = crate::whole::config_failures(&fields(&req.news), self.bug);
        Ok(Response::new(pulumirpc::CheckResponse {
            inputs: req.news,
            failures,
        }))
    }

    async fn diff_config(
        &self,
        _r: Request<pulumirpc::DiffRequest>,
    ) -> Result<Response<pulumirpc::DiffResponse>, Status> {
        Err(Status::unimplemented("DiffConfig"))
    }

    async fn configure(
        &self,
        request: Request<pulumirpc::ConfigureRequest>,
    ) -> Result<Response<pulumirpc::ConfigureResponse>, Status> {
        crate::whole::configure(&fields(&request.into_inner().args), self.bug)?;
        Ok(Response::new(pulumirpc::ConfigureResponse {
            accept_secrets: true,
            supports_preview: true,
            accept_resources: true,
            ..Default::default()
        }))
    }

    async fn invoke(
        &self,
        request: Request<pulumirpc::InvokeRequest>,
    ) -> Result<Response<pulumirpc::InvokeResponse>, Status> {
        let req = request.into_inner();
        crate::whole::invoke(&req.tok, &fields(&req.args), self.bug).map(Response::new)
    }

    async fn call(
        &self,
        _r: Request<pulumirpc::CallRequest>,
    ) -> Result<Response<pulumirpc::CallResponse>, Status> {
        Err(Status::unimplemented("Call"))
    }

    async fn check(
        &self,
        request: Request<pulumirpc::CheckRequest>,
    ) -> Result<Response<pulumirpc::CheckResponse>, Status> {
        let req = request.into_inner();
        self.check_type(&req.r#type)?;
        let news = fields(&req.news);
        let mut failures = Vec::new();
        if let Err(reason) = length(&news) {
            if self.bug == Bug::CrashOnInvalid {
                eprintln!("fatal: cannot handle invalid length");
                std::process::exit(101);
            }
            failures.push(pulumirpc::CheckFailure {
                property: "length".into(),
                reason,
            });
        }
        if let Err(reason) = prefix(&news) {
            failures.push(pulumirpc::CheckFailure {
                property: "prefix".into(),
                reason,
            });
        }
        for key in news
            .keys()
            .filter(|k| !matches!(k.as_str(), "length" | "prefix"))
        {
            failures.push(pulumirpc::CheckFailure {
                property: key.clone(),
                reason: format!("unknown property `{key}`"),
            });
        }
        Ok(Response::new(pulumirpc::CheckResponse {
            inputs: req.news,
            failures,
        }))
    }

    async fn diff(
        &self,
        request: Request<pulumirpc::DiffRequest>,
    ) -> Result<Response<pulumirpc::DiffResponse>, Status> {
        let req = request.into_inner();
        let mut olds = fields(&req.old_inputs);
        if olds.is_empty() {
            olds = fields(&req.olds);
            olds.remove("result");
        }
        let news = fields(&req.news);
        let mut detailed = std::collections::HashMap::new();
        let keys: std::collections::BTreeSet<&String> = olds.keys().chain(news.keys()).collect();
        for key in keys {
            let kind = match (olds.get(key), news.get(key)) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(_), Some(_)) => pulumirpc::property_diff::Kind::Update,
                (Some(_), None) => pulumirpc::property_diff::Kind::Delete,
                (None, _) => pulumirpc::property_diff::Kind::Add,
            };
            let replace = key == "length" && self.bug != Bug::DiffIgnoresReplace;
            let kind = match (kind, replace) {
                (pulumirpc::property_diff::Kind::Update, true) => {
                    pulumirpc::property_diff::Kind::UpdateReplace
                }
                (pulumirpc::property_diff::Kind::Add, true) => {
                    pulumirpc::property_diff::Kind::AddReplace
                }
                (pulumirpc::property_diff::Kind::Delete, true) => {
                    pulumirpc::property_diff::Kind::DeleteReplace
                }
                (k, _) => k,
            };
            detailed.insert(
                key.clone(),
                pulumirpc::PropertyDiff {
                    kind: kind as i32,
                    input_diff: true,
                },
            );
        }
        let replaces: Vec<String> = detailed
            .iter()
            .filter(|(_, d)| matches!(d.kind, 1 | 3 | 5))
            .map(|(k, _)| k.clone())
            .collect();
        let mut diffs: Vec<String> = detailed.keys().cloned().collect();
        diffs.sort();
        let changes = if detailed.is_empty() { 1 } else { 2 };
        Ok(Response::new(pulumirpc::DiffResponse {
            replaces,
            changes,
            diffs,
            detailed_diff: detailed,
            has_detailed_diff: true,
            ..Default::default()
        }))
    }

    async fn create(
        &self,
        request: Request<pulumirpc::CreateRequest>,
    ) -> Result<Response<pulumirpc::CreateResponse>, Status> {
        let req = request.into_inner();
        self.check_type(&req.r#type)?;
        let inputs = fields(&req.properties);
        let n = length(&inputs).map_err(Status::invalid_argument)?;
        let mut out = outputs(&inputs, &random_chars(n.unwrap_or(1)), self.bug)?;
        if req.preview || n.is_none() {
            out.fields.insert("result".into(), string(UNKNOWN));
            return Ok(Response::new(pulumirpc::CreateResponse {
                id: String::new(),
                properties: Some(out),
                ..Default::default()
            }));
        }
        let id = if self.bug == Bug::EmptyId {
            String::new()
        } else {
            format!("random-{}", random_chars(12).to_lowercase())
        };
        Ok(Response::new(pulumirpc::CreateResponse {
            id,
            properties: Some(out),
            ..Default::default()
        }))
    }

    async fn read(
        &self,
        request: Request<pulumirpc::ReadRequest>,
    ) -> Result<Response<pulumirpc::ReadResponse>, Status> {
        let req = request.into_inner();
        let mut props = fields(&req.properties);
        if self.bug == Bug::DriftingRead {
            let n = length(&props).ok().flatten().unwrap_or(8);
            props = outputs(&props, &random_chars(n), self.bug)?.fields;
        }
        let mut inputs = props.clone();
        inputs.remove("result");
        Ok(Response::new(pulumirpc::ReadResponse {
            id: req.id,
            properties: Some(Struct { fields: props }),
            inputs: Some(Struct { fields: inputs }),
            ..Default::default()
        }))
    }

    async fn update(
        &self,
        request: Request<pulumirpc::UpdateRequest>,
    ) -> Result<Response<pulumirpc::UpdateResponse>, Status> {
        let req = request.into_inner();
        let olds = fields(&req.olds);
        let (old_prefix, _, _) = prefix(&olds).map_err(Status::invalid_argument)?;
        let old_result = olds.get("result").map(|v| unwrap_secret(v).0.clone());
        let random = match old_result.and_then(|v| v.kind) {
            Some(Kind::StringValue(s)) => s.strip_prefix(old_prefix.as_str()).map(str::to_string),
            _ => None,
        }
        .ok_or_else(|| {
            Status::failed_precondition("the recorded state has no `result` matching its `prefix`")
        })?;
        let out = outputs(&fields(&req.news), &random, self.bug)?;
        Ok(Response::new(pulumirpc::UpdateResponse {
            properties: Some(out),
            ..Default::default()
        }))
    }

    async fn delete(
        &self,
        _request: Request<pulumirpc::DeleteRequest>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    async fn construct(
        &self,
        _r: Request<pulumirpc::ConstructRequest>,
    ) -> Result<Response<pulumirpc::ConstructResponse>, Status> {
        Err(Status::unimplemented("Construct"))
    }

    async fn cancel(&self, _r: Request<()>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    async fn get_plugin_info(
        &self,
        _r: Request<()>,
    ) -> Result<Response<pulumirpc::PluginInfo>, Status> {
        Ok(Response::new(pulumirpc::PluginInfo {
            version: env!("CARGO_PKG_VERSION").into(),
        }))
    }

    type ListStream = tonic::codegen::BoxStream<pulumirpc::ListResponse>;

    async fn list(
        &self,
        _: Request<pulumirpc::ListRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        Err(Status::unimplemented("List is not supported"))
    }

    async fn attach(&self, _r: Request<pulumirpc::PluginAttach>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    async fn get_mapping(
        &self,
        _r: Request<pulumirpc::GetMappingRequest>,
    ) -> Result<Response<pulumirpc::GetMappingResponse>, Status> {
        Err(Status::unimplemented("GetMapping"))
    }

    async fn get_mappings(
        &self,
        _r: Request<pulumirpc::GetMappingsRequest>,
    ) -> Result<Response<pulumirpc::GetMappingsResponse>, Status> {
        Err(Status::unimplemented("GetMappings"))
    }
}

/// The whole plugin process with `bug`: binds 127.0.0.1:0, prints the port (after a log line
/// for [`Bug::LogBeforePort`]), serves until SIGINT or SIGTERM, exits 0.
pub async fn main(bug: Bug) -> ExitCode {
    let before_port = (bug == Bug::LogBeforePort).then_some("starting the Random provider");
    serve(RawRandom { bug }, before_port).await
}

/// Serves `provider` as a plugin process: binds 127.0.0.1:0, prints the port (after
/// `before_port`, a misplaced log line, when given), serves until SIGINT or SIGTERM, exits 0.
pub async fn serve<P: ResourceProvider>(provider: P, before_port: Option<&str>) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    // Handlers go in before the port line: the engine may send SIGINT as soon as it has read it,
    // and until a handler exists SIGINT kills the process.
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    {
        let mut out = std::io::stdout().lock();
        if let Some(line) = before_port {
            let _ = writeln!(out, "{line}");
        }
        if writeln!(out, "{port}").and_then(|_| out.flush()).is_err() {
            return ExitCode::FAILURE;
        }
    }
    let service = ResourceProviderServer::new(provider)
        .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let shutdown = async move {
        match signals {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
            }
            _ => std::future::pending::<()>().await,
        }
    };
    match tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
