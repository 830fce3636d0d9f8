//! The gRPC side: `pulumirpc.ResourceMonitor` and the host's `pulumirpc.Engine` service
//! ([`crate::engine`]) on one loopback port, each RPC turned into a typed request and answered
//! by the [`RegistrationSink`].

use super::convert::{self, Scope};
use super::error::MonitorError;
use super::hooks::ResourceHooks;
use super::registry::Registry;
use super::request::*;
use super::sink::RegistrationSink;
use super::transforms::Transforms;
use crate::engine::{self, LogSink, RootResource};
use crate::value;
use pulumirpc::resource_monitor_server::{ResourceMonitor, ResourceMonitorServer};
use pulumirpc::*;
// The protocol has a `Result` enum (RegisterResourceResponse.result); keep std's.
use std::collections::BTreeSet;
use std::future::Future;
use std::result::Result;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// The features this monitor supports, by the ids the SDKs ask `SupportsFeature` about:
/// secrets and resource references travel as typed values, and aliases arrive as specs that
/// the monitor resolves; `deletedWith` is recorded and honoured by the engine's deletions;
/// transforms (resource, stack and invoke) run in the monitor ([`super::transforms`]); resource
/// hooks and error hooks are kept for the engine's steps ([`super::hooks`]), which send them the
/// resource's options (`sendsOptionsToHooks`). Output values, `replaceWith` and parameterized
/// packages are answered `false`, so the SDKs do not use them.
pub const DEFAULT_FEATURES: &[&str] = &[
    "secrets",
    "resourceReferences",
    "aliasSpecs",
    "deletedWith",
    "transforms",
    "invokeTransforms",
    "resourceHooks",
    "errorHooks",
    "sendsOptionsToHooks",
];

/// What a monitor serves.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// The stack name, for URNs.
    pub stack: String,
    /// The project name, for URNs.
    pub project: String,
    /// Feature ids answered `true` by `SupportsFeature`; every other id is answered `false`.
    pub features: BTreeSet<String>,
    /// The run's URNs: the monitor claims each registration's here; an engine that registers
    /// resources itself (a YAML program's) claims them in the same registry.
    pub registry: Arc<Registry>,
}

impl MonitorConfig {
    /// A monitor for `project`/`stack` with [`DEFAULT_FEATURES`].
    pub fn new(project: impl Into<String>, stack: impl Into<String>) -> Self {
        MonitorConfig {
            stack: stack.into(),
            project: project.into(),
            features: DEFAULT_FEATURES.iter().map(|f| f.to_string()).collect(),
            registry: Arc::default(),
        }
    }
}

struct Shared {
    scope: Scope,
    features: BTreeSet<String>,
    registry: Arc<Registry>,
    root: RootResource,
    sink: Arc<dyn RegistrationSink>,
    connected: watch::Sender<bool>,
    errors: Mutex<Vec<String>>,
    transforms: Transforms,
    hooks: Arc<ResourceHooks>,
}

impl Shared {
    fn touch(&self) {
        self.connected
            .send_if_modified(|c| !std::mem::replace(c, true));
    }

    /// Runs one of the sink's answers on its own task, so that a program that goes away in the
    /// middle of a request (the RPC dropped) does not cancel the engine's step half-way.
    async fn answer<T, F>(
        &self,
        call: impl FnOnce(Arc<dyn RegistrationSink>) -> F,
    ) -> Result<T, MonitorError>
    where
        F: Future<Output = Result<T, MonitorError>> + Send + 'static,
        T: Send + 'static,
    {
        match tokio::spawn(call(self.sink.clone())).await {
            Ok(answer) => answer,
            Err(e) if e.is_panic() => Err(MonitorError::Engine(
                "the engine failed while answering this request (a panic; see its log)".into(),
            )),
            Err(_) => Err(MonitorError::EngineStopped),
        }
    }
}

#[derive(Clone)]
struct MonitorService(Arc<Shared>);

fn status(e: MonitorError) -> Status {
    e.to_status()
}

#[tonic::async_trait]
impl ResourceMonitor for MonitorService {
    async fn supports_feature(
        &self,
        req: Request<SupportsFeatureRequest>,
    ) -> Result<Response<SupportsFeatureResponse>, Status> {
        self.0.touch();
        Ok(Response::new(SupportsFeatureResponse {
            has_support: self.0.features.contains(&req.into_inner().id),
        }))
    }

    async fn invoke(
        &self,
        req: Request<ResourceInvokeRequest>,
    ) -> Result<Response<ResourceInvokeResponse>, Status> {
        self.0.touch();
        let mut req = req.into_inner();
        self.0
            .transforms
            .apply_invoke(&mut req)
            .await
            .map_err(status)?;
        let request = convert::invoke(&self.0.registry, req).map_err(status)?;
        let result = self
            .0
            .answer(|sink| async move { sink.invoke(request).await })
            .await
            .map_err(status)?;
        Ok(Response::new(ResourceInvokeResponse {
            r#return: Some(value::to_struct(&result.value)),
            failures: result
                .failures
                .into_iter()
                .map(|(property, reason)| CheckFailure { property, reason })
                .collect(),
            unknown: false,
        }))
    }

    async fn call(
        &self,
        req: Request<ResourceCallRequest>,
    ) -> Result<Response<CallResponse>, Status> {
        self.0.touch();
        let request = convert::call(&self.0.registry, req.into_inner()).map_err(status)?;
        let result = self
            .0
            .answer(|sink| async move { sink.call(request).await })
            .await
            .map_err(status)?;
        Ok(Response::new(CallResponse {
            r#return: Some(value::to_struct(&result.value)),
            return_dependencies: result
                .dependencies
                .into_iter()
                .map(|(k, urns)| (k, call_response::ReturnDependencies { urns }))
                .collect(),
            failures: result
                .failures
                .into_iter()
                .map(|(property, reason)| CheckFailure { property, reason })
                .collect(),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<ReadResourceRequest>,
    ) -> Result<Response<ReadResourceResponse>, Status> {
        self.0.touch();
        let req = req.into_inner();
        let (accept_secrets, accept_resources) = (req.accept_secrets, req.accept_resources);
        let request = convert::read(&self.0.scope, &self.0.registry, req).map_err(status)?;
        let urn = request.urn.clone();
        let id = request.id.clone();
        let result = self
            .0
            .answer(|sink| async move { sink.read(request).await })
            .await
            .map_err(status)?;
        Ok(Response::new(ReadResourceResponse {
            urn,
            id,
            properties: Some(convert::to_program_struct(
                &result.properties,
                accept_secrets,
                accept_resources,
            )),
            ..Default::default()
        }))
    }

    async fn register_resource(
        &self,
        req: Request<RegisterResourceRequest>,
    ) -> Result<Response<RegisterResourceResponse>, Status> {
        self.0.touch();
        let mut req = req.into_inner();
        let (accept_secrets, accept_resources) = (req.accept_secrets, req.accept_resources);
        let reports_results = req.supports_result_reporting;
        let scope = (self.0.scope.stack.as_str(), self.0.scope.project.as_str());
        self.0
            .transforms
            .apply(scope, &mut req)
            .await
            .map_err(status)?;
        let request =
            convert::registration(&self.0.scope, &self.0.registry, req).map_err(status)?;
        let urn = request.urn.clone();
        let result = match self
            .0
            .answer(|sink| async move { sink.register(request).await })
            .await
        {
            Ok(result) => result,
            // Pulumi's answer to a failed step: no error for the SDK to raise (the engine has
            // shown it), outputs it resolves as unknown.
            Err(MonitorError::StepFailed(_)) if reports_results => {
                return Ok(Response::new(RegisterResourceResponse {
                    urn,
                    object: Some(pulumirpc::google::Struct::default()),
                    result: pulumirpc::Result::Fail as i32,
                    ..Default::default()
                }));
            }
            Err(e) => return Err(status(e)),
        };
        Ok(Response::new(RegisterResourceResponse {
            urn,
            id: result.id.unwrap_or_default(),
            object: Some(convert::to_program_struct(
                &result.outputs,
                accept_secrets,
                accept_resources,
            )),
            stable: false,
            stables: Vec::new(),
            property_dependencies: result
                .property_dependencies
                .into_iter()
                .map(|(k, urns)| (k, register_resource_response::PropertyDependencies { urns }))
                .collect(),
            ..Default::default()
        }))
    }

    async fn register_resource_outputs(
        &self,
        req: Request<RegisterResourceOutputsRequest>,
    ) -> Result<Response<()>, Status> {
        self.0.touch();
        let req = req.into_inner();
        if self.0.registry.type_of(&req.urn).is_none() {
            return Err(status(MonitorError::UnknownResource { urn: req.urn }));
        }
        let request = OutputsRegistration {
            urn: req.urn,
            outputs: req
                .outputs
                .as_ref()
                .map(value::from_struct)
                .unwrap_or_default(),
        };
        self.0
            .answer(|sink| async move { sink.register_outputs(request).await })
            .await
            .map_err(status)?;
        Ok(Response::new(()))
    }

    async fn register_stack_transform(
        &self,
        req: Request<Callback>,
    ) -> Result<Response<()>, Status> {
        self.0.touch();
        let callback = req.into_inner();
        self.0.transforms.add_stack(callback).map_err(status)?;
        Ok(Response::new(()))
    }

    async fn register_stack_invoke_transform(
        &self,
        req: Request<Callback>,
    ) -> Result<Response<()>, Status> {
        self.0.touch();
        let callback = req.into_inner();
        self.0.transforms.add_invoke(callback).map_err(status)?;
        Ok(Response::new(()))
    }

    async fn register_package(
        &self,
        req: Request<RegisterPackageRequest>,
    ) -> Result<Response<RegisterPackageResponse>, Status> {
        Err(Status::unimplemented(format!(
            "engine-harness does not support parameterized packages (package `{}`)",
            req.into_inner().name
        )))
    }

    async fn get_deployment_info(
        &self,
        _: Request<()>,
    ) -> Result<Response<DeploymentInfo>, Status> {
        self.0.touch();
        Err(Status::unimplemented(
            "engine-harness does not serve GetDeploymentInfo; the program's settings come from its command line",
        ))
    }

    async fn exists_resource(
        &self,
        req: Request<ExistsResourceRequest>,
    ) -> Result<Response<ExistsResourceResponse>, Status> {
        self.0.touch();
        Err(Status::unimplemented(format!(
            "engine-harness does not support ExistsResource (type `{}`)",
            req.into_inner().r#type
        )))
    }

    async fn register_resource_hook(
        &self,
        req: Request<RegisterResourceHookRequest>,
    ) -> Result<Response<()>, Status> {
        self.0.touch();
        self.0.hooks.register(req.into_inner()).map_err(status)?;
        Ok(Response::new(()))
    }

    async fn register_error_hook(
        &self,
        req: Request<RegisterErrorHookRequest>,
    ) -> Result<Response<()>, Status> {
        self.0.touch();
        self.0
            .hooks
            .register_error(req.into_inner())
            .map_err(status)?;
        Ok(Response::new(()))
    }

    async fn signal_and_wait_for_shutdown(&self, _: Request<()>) -> Result<Response<()>, Status> {
        self.0.touch();
        // The program stays alive (serving its callbacks, which delete hooks need) until the
        // engine has finished what follows the program.
        let _ = self
            .0
            .answer(|sink| async move { sink.shutdown().await })
            .await;
        Ok(Response::new(()))
    }
}

/// The program's `Engine.Log` calls: each one marks the program connected, an error is kept
/// for [`RunningMonitor::logged_errors`], and the entry goes to the sink.
struct ProgramLog(Arc<Shared>);

impl LogSink for ProgramLog {
    fn log(&self, r: LogRequest) {
        self.0.touch();
        let severity = match LogSeverity::try_from(r.severity).unwrap_or(LogSeverity::Info) {
            LogSeverity::Debug => Severity::Debug,
            LogSeverity::Info => Severity::Info,
            LogSeverity::Warning => Severity::Warning,
            LogSeverity::Error => Severity::Error,
        };
        if severity == Severity::Error {
            let mut errors = self.0.errors.lock().unwrap_or_else(|e| e.into_inner());
            errors.push(r.message.clone());
        }
        self.0.sink.log(LogEntry {
            severity,
            urn: (!r.urn.is_empty()).then_some(r.urn),
            message: r.message,
            ephemeral: r.ephemeral,
        });
    }
}

/// A running monitor (and Engine service, on the same port); it stops when dropped.
pub struct RunningMonitor {
    address: String,
    shared: Arc<Shared>,
    connected: watch::Receiver<bool>,
    stop: CancellationToken,
}

impl std::fmt::Debug for RunningMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningMonitor")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl RunningMonitor {
    /// `127.0.0.1:PORT`: the address to give a program as both its monitor and its engine.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Becomes `true` at the program's first RPC: how a runner tells a program that never
    /// connects from one that is working.
    pub fn connected(&self) -> watch::Receiver<bool> {
        self.connected.clone()
    }

    /// The messages the program logged as errors, in order (an SDK reports an unhandled
    /// exception this way before it exits).
    pub fn logged_errors(&self) -> Vec<String> {
        self.shared
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The resource hooks the program registered, for the engine's steps.
    pub fn hooks(&self) -> Arc<ResourceHooks> {
        self.shared.hooks.clone()
    }

    /// The root (stack) resource's URN, once the program has set it.
    pub fn root_resource(&self) -> Option<String> {
        self.shared.root.get()
    }
}

impl Drop for RunningMonitor {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serves the monitor on `127.0.0.1:0` with `sink` answering every request, each RPC on its
/// own task (the SDKs register independent resources concurrently). It stops when the
/// returned [`RunningMonitor`] is dropped.
pub async fn serve_with_sink(
    config: MonitorConfig,
    sink: Arc<dyn RegistrationSink>,
) -> std::io::Result<RunningMonitor> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let (connected_tx, connected) = watch::channel(false);
    let shared = Arc::new(Shared {
        scope: Scope {
            stack: config.stack,
            project: config.project,
        },
        features: config.features,
        registry: config.registry,
        root: RootResource::default(),
        sink,
        connected: connected_tx,
        errors: Mutex::new(Vec::new()),
        transforms: Transforms::default(),
        hooks: Arc::new(ResourceHooks::default()),
    });
    let stop = CancellationToken::new();
    let token = stop.clone();
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let monitor = ResourceMonitorServer::new(MonitorService(shared.clone()))
        .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
    let engine = engine::service(ProgramLog(shared.clone()), shared.root.clone());
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(monitor)
            .add_service(engine)
            .serve_with_incoming_shutdown(incoming, token.cancelled_owned())
            .await;
    });
    Ok(RunningMonitor {
        address,
        shared,
        connected,
        stop,
    })
}
