//! A resource monitor for testing components: serves `pulumirpc.ResourceMonitor` on loopback,
//! records every call, and (given a provider) creates the custom children it is asked to
//! register, as an engine would.
//!
//! Give its [`endpoint`](TestMonitor::endpoint) as a `ConstructRequest`'s `monitorEndpoint`,
//! then look at what the component registered ([`TestMonitor::calls`]). With
//! [`TestMonitorOptions::provider`], each custom child of that provider's package is checked
//! and created (or previewed) by it, so the children really exist;
//! [`TestMonitor::destroy`] deletes them again, last first.
//!
//! ```
//! use provider_sdk::testing::monitor::{TestMonitor, TestMonitorOptions};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let monitor = TestMonitor::start(TestMonitorOptions::new("proj", "dev")).await.unwrap();
//! assert!(monitor.endpoint().starts_with("127.0.0.1:"));
//! assert!(monitor.calls().is_empty());
//! # });
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use pulumirpc as pb;
use pulumirpc::resource_monitor_server::{ResourceMonitor, ResourceMonitorServer};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::monitor::GET_RESOURCE;
use crate::ops::{CheckRequest, CreateRequest, DeleteRequest};
use crate::provider::ResourceProvider;
use crate::value::{PropertyMap, PropertyValue, ResourceReference};
use crate::wire::{decode_struct, encode_map};

/// How a [`TestMonitor`] behaves.
#[derive(Clone)]
#[non_exhaustive]
pub struct TestMonitorOptions {
    /// The project, for URNs.
    pub project: String,
    /// The stack, for URNs.
    pub stack: String,
    /// The features `SupportsFeature` answers `true` for.
    pub features: Vec<String>,
    /// Names of resources whose registration fails (as if their create failed).
    pub fail: Vec<String>,
    /// Whether this is a preview: custom children are previewed, not created.
    pub preview: bool,
    /// The provider that creates custom children of its package, if any.
    pub provider: Option<(String, Arc<dyn ResourceProvider>)>,
}

impl TestMonitorOptions {
    /// A monitor for `project`/`stack` that supports secrets and resource references and
    /// creates nothing.
    pub fn new(project: impl Into<String>, stack: impl Into<String>) -> Self {
        TestMonitorOptions {
            project: project.into(),
            stack: stack.into(),
            features: vec!["secrets".into(), "resourceReferences".into()],
            fail: Vec::new(),
            preview: false,
            provider: None,
        }
    }

    /// Answers `SupportsFeature` with `true` only for `features`.
    pub fn features(mut self, features: &[&str]) -> Self {
        self.features = features.iter().map(|f| f.to_string()).collect();
        self
    }

    /// Fails the registration of the resource named `name`.
    pub fn fail(mut self, name: impl Into<String>) -> Self {
        self.fail.push(name.into());
        self
    }

    /// Runs as a preview.
    pub fn preview(mut self, preview: bool) -> Self {
        self.preview = preview;
        self
    }

    /// Checks and creates custom children of `package` with `provider`.
    pub fn provider(self, package: impl Into<String>, provider: impl ResourceProvider) -> Self {
        self.shared_provider(package, Arc::new(provider))
    }

    /// Checks and creates custom children of `package` with a provider shared with the test
    /// (configured already, for instance).
    pub fn shared_provider(
        mut self,
        package: impl Into<String>,
        provider: Arc<dyn ResourceProvider>,
    ) -> Self {
        self.provider = Some((package.into(), provider));
        self
    }
}

/// One `RegisterResource` the monitor answered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Registration {
    /// The URN the monitor gave the resource.
    pub urn: String,
    /// The type token.
    pub type_token: String,
    /// The name.
    pub name: String,
    /// The parent's URN (empty: none).
    pub parent: String,
    /// Custom (`true`) or component (`false`).
    pub custom: bool,
    /// The inputs as sent (secrets marked).
    pub inputs: PropertyMap,
    /// The provider reference sent (empty: the default).
    pub provider: String,
    /// The providers map sent.
    pub providers: BTreeMap<String, String>,
    /// The explicit dependencies sent.
    pub dependencies: Vec<String>,
    /// The `protect` option sent.
    pub protect: Option<bool>,
    /// The `ignoreChanges` option sent.
    pub ignore_changes: Vec<String>,
    /// Whether the request said it accepts secrets.
    pub accept_secrets: bool,
    /// Whether the request said it accepts resource references.
    pub accept_resources: bool,
}

/// A call the monitor received, in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MonitorCall {
    /// `RegisterResource`.
    Register(Box<Registration>),
    /// `RegisterResourceOutputs`.
    RegisterOutputs {
        /// The component's URN.
        urn: String,
        /// The outputs as sent (secrets marked).
        outputs: PropertyMap,
    },
    /// `Invoke`.
    Invoke {
        /// The function's token.
        token: String,
        /// The arguments.
        args: PropertyMap,
    },
}

#[derive(Default)]
struct Recorded {
    calls: Vec<MonitorCall>,
    /// Outputs by URN: registered outputs of components, created outputs of custom resources.
    outputs: BTreeMap<String, PropertyMap>,
    /// Custom resources created: (type, id, urn, inputs, outputs), first created first.
    created: Vec<(String, String, String, PropertyMap, PropertyMap)>,
}

struct Shared {
    options: TestMonitorOptions,
    recorded: Mutex<Recorded>,
}

/// A recording resource monitor on loopback; stops when dropped.
pub struct TestMonitor {
    endpoint: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for TestMonitor {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestMonitor {
    /// Starts a monitor on 127.0.0.1 (a free port).
    pub async fn start(options: TestMonitorOptions) -> std::io::Result<TestMonitor> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = listener.local_addr()?.to_string();
        let shared = Arc::new(Shared {
            options,
            recorded: Mutex::new(Recorded::default()),
        });
        let stop = CancellationToken::new();
        let service = ResourceMonitorServer::new(Service(shared.clone()));
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let token = stop.clone();
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, token.cancelled_owned())
                .await;
        });
        Ok(TestMonitor {
            endpoint,
            shared,
            stop,
        })
    }

    /// The address to give as `monitorEndpoint` (`127.0.0.1:<port>`).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<MonitorCall> {
        self.recorded().calls.clone()
    }

    /// Every registration so far, in order.
    pub fn registrations(&self) -> Vec<Registration> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                MonitorCall::Register(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    /// The outputs recorded for `urn`: a component's registered outputs, or a custom
    /// resource's outputs.
    pub fn outputs_of(&self, urn: &str) -> Option<PropertyMap> {
        self.recorded().outputs.get(urn).cloned()
    }

    /// Deletes every custom resource the provider created, last created first.
    pub async fn destroy(&self) -> crate::Result<()> {
        let Some((_, provider)) = &self.shared.options.provider else {
            return Ok(());
        };
        let created = std::mem::take(&mut self.recorded().created);
        for (type_token, id, urn, inputs, outputs) in created.into_iter().rev() {
            let mut req = DeleteRequest::new(type_token, id, outputs, inputs);
            req.urn = urn.clone();
            provider.delete(&Context::detached(urn), req).await?;
        }
        Ok(())
    }

    fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.shared
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

struct Service(Arc<Shared>);

impl Service {
    fn record(&self, call: MonitorCall) {
        self.0
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .calls
            .push(call);
    }

    fn urn(&self, parent: &str, type_token: &str, name: &str) -> String {
        let o = &self.0.options;
        // The parent's type chain, without the stack's, as Pulumi builds URNs.
        let qualified = match parent.rsplit("::").nth(1) {
            Some(parent_type) if !parent_type.starts_with("pulumi:pulumi:Stack") => {
                format!("{parent_type}${type_token}")
            }
            _ => type_token.to_string(),
        };
        format!("urn:pulumi:{}::{}::{qualified}::{name}", o.stack, o.project)
    }

    /// Checks and creates (or previews) a custom resource with the provider.
    async fn create(
        &self,
        provider: &Arc<dyn ResourceProvider>,
        urn: &str,
        reg: &Registration,
    ) -> Result<(String, PropertyMap), Status> {
        let ctx = Context::detached(urn).with_preview(self.0.options.preview);
        let mut check = CheckRequest::new(&reg.type_token, reg.inputs.clone());
        check.urn = urn.to_string();
        check.name = reg.name.clone();
        let checked = provider
            .check(&ctx, check)
            .await
            .map_err(|e| Status::unknown(format!("check of {urn}: {e}")))?;
        if !checked.failures.is_empty() {
            let failures: Vec<String> = checked
                .failures
                .iter()
                .map(|f| format!("{}: {}", f.property, f.reason))
                .collect();
            return Err(Status::invalid_argument(format!(
                "{urn} has invalid inputs: {}",
                failures.join("; ")
            )));
        }
        let mut create = CreateRequest::new(&reg.type_token, &reg.name, checked.inputs.clone());
        create.urn = urn.to_string();
        create.preview = self.0.options.preview;
        let created = provider
            .create(&ctx, create)
            .await
            .map_err(|e| Status::unknown(format!("creating {urn}: {e}")))?;
        if !self.0.options.preview {
            self.0
                .recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .created
                .push((
                    reg.type_token.clone(),
                    created.id.clone(),
                    urn.to_string(),
                    checked.inputs,
                    created.properties.clone(),
                ));
        }
        Ok((created.id, created.properties))
    }
}

fn decode(s: Option<&prost_types::Struct>) -> Result<PropertyMap, Status> {
    decode_struct(s).map_err(|e| Status::invalid_argument(e.to_string()))
}

#[tonic::async_trait]
impl ResourceMonitor for Service {
    async fn supports_feature(
        &self,
        req: Request<pb::SupportsFeatureRequest>,
    ) -> Result<Response<pb::SupportsFeatureResponse>, Status> {
        let id = req.into_inner().id;
        Ok(Response::new(pb::SupportsFeatureResponse {
            has_support: self.0.options.features.contains(&id),
        }))
    }

    async fn invoke(
        &self,
        req: Request<pb::ResourceInvokeRequest>,
    ) -> Result<Response<pb::ResourceInvokeResponse>, Status> {
        let req = req.into_inner();
        let args = decode(req.args.as_ref())?;
        self.record(MonitorCall::Invoke {
            token: req.tok.clone(),
            args: args.clone(),
        });
        if req.tok != GET_RESOURCE {
            return Err(Status::unimplemented(format!(
                "the test monitor answers only {GET_RESOURCE}, not {}",
                req.tok
            )));
        }
        let urn = args
            .get("urn")
            .and_then(PropertyValue::as_str)
            .unwrap_or("");
        let state = self
            .0
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .outputs
            .get(urn)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("unknown resource {urn}")))?;
        let result = PropertyMap::from([
            ("urn".to_string(), urn.into()),
            ("state".to_string(), PropertyValue::Object(state)),
        ]);
        Ok(Response::new(pb::ResourceInvokeResponse {
            r#return: Some(encode_map(&result)),
            failures: Vec::new(),
            unknown: false,
        }))
    }

    async fn call(
        &self,
        _: Request<pb::ResourceCallRequest>,
    ) -> Result<Response<pb::CallResponse>, Status> {
        Err(Status::unimplemented(
            "the test monitor does not call methods",
        ))
    }

    async fn read_resource(
        &self,
        _: Request<pb::ReadResourceRequest>,
    ) -> Result<Response<pb::ReadResourceResponse>, Status> {
        Err(Status::unimplemented(
            "the test monitor does not read resources",
        ))
    }

    async fn register_resource(
        &self,
        req: Request<pb::RegisterResourceRequest>,
    ) -> Result<Response<pb::RegisterResourceResponse>, Status> {
        let req = req.into_inner();
        let urn = self.urn(&req.parent, &req.r#type, &req.name);
        let registration = Registration {
            urn: urn.clone(),
            inputs: decode(req.object.as_ref())?,
            type_token: req.r#type,
            name: req.name,
            parent: req.parent,
            custom: req.custom,
            provider: req.provider,
            providers: req.providers.into_iter().collect(),
            dependencies: req.dependencies,
            protect: req.protect,
            ignore_changes: req.ignore_changes,
            accept_secrets: req.accept_secrets,
            accept_resources: req.accept_resources,
        };
        self.record(MonitorCall::Register(Box::new(registration.clone())));
        if self.0.options.fail.contains(&registration.name) {
            return Err(Status::unknown(format!(
                "the test monitor fails {urn} as asked"
            )));
        }
        let (id, outputs) = match &self.0.options.provider {
            Some((package, provider))
                if registration.custom
                    && registration.type_token.split(':').next() == Some(package) =>
            {
                self.create(provider, &urn, &registration).await?
            }
            _ if registration.custom => {
                let id = if self.0.options.preview {
                    String::new()
                } else {
                    format!("{}-id", registration.name)
                };
                (id, registration.inputs.clone())
            }
            _ => (String::new(), PropertyMap::new()),
        };
        if registration.custom {
            self.0
                .recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .outputs
                .insert(urn.clone(), outputs.clone());
        }
        Ok(Response::new(pb::RegisterResourceResponse {
            urn,
            id,
            object: Some(encode_map(&outputs)),
            ..Default::default()
        }))
    }

    async fn register_resource_outputs(
        &self,
        req: Request<pb::RegisterResourceOutputsRequest>,
    ) -> Result<Response<()>, Status> {
        let req = req.into_inner();
        let outputs = decode(req.outputs.as_ref())?;
        let mut recorded = self.0.recorded.lock().unwrap_or_else(|e| e.into_inner());
        recorded.outputs.insert(req.urn.clone(), outputs.clone());
        recorded.calls.push(MonitorCall::RegisterOutputs {
            urn: req.urn,
            outputs,
        });
        Ok(Response::new(()))
    }

    async fn register_stack_transform(
        &self,
        _: Request<pb::Callback>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("no transforms in the test monitor"))
    }

    async fn register_stack_invoke_transform(
        &self,
        _: Request<pb::Callback>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("no transforms in the test monitor"))
    }

    async fn register_package(
        &self,
        _: Request<pb::RegisterPackageRequest>,
    ) -> Result<Response<pb::RegisterPackageResponse>, Status> {
        Err(Status::unimplemented("no packages in the test monitor"))
    }

    async fn signal_and_wait_for_shutdown(&self, _: Request<()>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    async fn get_deployment_info(
        &self,
        _: Request<()>,
    ) -> Result<Response<pb::DeploymentInfo>, Status> {
        Err(Status::unimplemented(
            "the test monitor does not serve GetDeploymentInfo",
        ))
    }

    async fn exists_resource(
        &self,
        _: Request<pb::ExistsResourceRequest>,
    ) -> Result<Response<pb::ExistsResourceResponse>, Status> {
        Err(Status::unimplemented(
            "the test monitor does not serve ExistsResource",
        ))
    }

    async fn register_resource_hook(
        &self,
        _: Request<pb::RegisterResourceHookRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented(
            "the test monitor does not support resource hooks",
        ))
    }

    async fn register_error_hook(
        &self,
        _: Request<pb::RegisterErrorHookRequest>,
    ) -> Result<Response<()>, Status> {
        Err(Status::unimplemented(
            "the test monitor does not support error hooks",
        ))
    }
}

/// A resource reference to `urn`, as a method call's `__self__` argument.
pub fn self_reference(urn: &str) -> PropertyValue {
    PropertyValue::ResourceReference(ResourceReference {
        urn: urn.to_string(),
        id: None,
        package_version: None,
    })
}
