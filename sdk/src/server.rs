//! The gRPC adapter: implements `pulumirpc.ResourceProvider` on top of a [`ResourceProvider`].
//!
//! Each call is decoded into the SDK's types, run with a fresh [`Context`] under a panic
//! guard, and encoded back; protocol-level methods (Handshake, GetPluginInfo, Attach, Cancel)
//! are answered here.
//!
//! # Cancel
//!
//! The protocol's `Cancel` asks the provider to shut down gracefully and abort the operations
//! under way; the engine (the host) then decides when to close the plugin. So `Cancel` cancels
//! the context of every call in flight (they should return an error soon) and runs the
//! provider's [`ResourceProvider::cancel`] hook, and the plugin stays ready for the host's
//! SIGINT/SIGTERM, which it answers with a graceful exit (see [`crate::Plugin`]).
//!
//! `Cancel` is not sticky: a call that arrives after it starts with a fresh, uncancelled
//! context. An engine may go on calling after `Cancel` (to finish the steps it had started,
//! or, for a plugin in attach mode, in its next run against the same process), and a plugin
//! that failed every later call would be unusable. Nor does `Cancel` end the process by itself:
//! an attached plugin outlives each engine run by design, and a launched one is closed by its
//! engine, or exits when its engine is gone.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use pulumirpc as pb;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::error::Error;
use crate::logger::Logger;
use crate::ops::GetSchemaRequest;
use crate::provider::ResourceProvider;
use crate::wire::requests::{self as conv, Negotiated, status_from_error};

/// Serves one provider over gRPC.
pub(crate) struct ProviderService<P> {
    provider: Arc<P>,
    version: String,
    /// Cancelled by a shutdown signal; `calls` derives from it.
    shutdown: CancellationToken,
    /// The parent of every new call's context: a child of `shutdown`, cancelled and replaced
    /// by the engine's `Cancel`, so that calls in flight are cancelled and later ones are not.
    calls: Mutex<CancellationToken>,
    logger: Logger,
    negotiated: Arc<Negotiated>,
}

impl<P: ResourceProvider> ProviderService<P> {
    pub(crate) fn new(
        provider: Arc<P>,
        version: String,
        shutdown: CancellationToken,
        logger: Logger,
    ) -> Self {
        ProviderService {
            provider,
            version,
            calls: Mutex::new(shutdown.child_token()),
            shutdown,
            logger,
            negotiated: Arc::new(Negotiated::default()),
        }
    }

    fn context(&self, urn: &str, preview: bool, timeout: f64) -> Context {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        Context::for_call(&calls, &self.logger, urn, preview, timeout)
    }

    /// Cancels the calls in flight; calls made from now on get contexts that are not cancelled.
    fn cancel_calls_in_flight(&self) {
        let fresh = self.shutdown.child_token();
        let in_flight = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *calls, fresh)
        };
        in_flight.cancel();
    }

    /// Runs provider code: its errors become statuses, and a panic fails only this call.
    async fn guard<T>(
        &self,
        op: &'static str,
        urn: &str,
        fut: impl Future<Output = crate::Result<T>>,
    ) -> Result<T, Status> {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                tracing::debug!(op, urn, "operation failed: {error}");
                Err(status_from_error(op, error))
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic payload".to_string());
                tracing::error!(op, urn, "provider panicked: {what}");
                Err(status_from_error(
                    op,
                    Error::Internal(format!("the provider panicked: {what}")),
                ))
            }
        }
    }
}

#[tonic::async_trait]
impl<P: ResourceProvider> pb::resource_provider_server::ResourceProvider for ProviderService<P> {
    async fn handshake(
        &self,
        request: Request<pb::ProviderHandshakeRequest>,
    ) -> Result<Response<pb::ProviderHandshakeResponse>, Status> {
        let req = request.into_inner();
        if !req.engine_address.is_empty() {
            self.logger.connect(&req.engine_address);
        }
        Ok(Response::new(pb::ProviderHandshakeResponse {
            accept_secrets: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: self.provider.supports_autonaming(),
            // Check, Invoke and Call get plain values; byte strings are not asked for.
            ..Default::default()
        }))
    }

    type ListStream = tonic::codegen::BoxStream<pb::ListResponse>;

    async fn list(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        Err(Status::unimplemented(format!(
            "List is not supported by this provider (type `{}`)",
            request.into_inner().token
        )))
    }

    async fn parameterize(
        &self,
        _request: Request<pb::ParameterizeRequest>,
    ) -> Result<Response<pb::ParameterizeResponse>, Status> {
        Err(Status::unimplemented(
            "Parameterize is not supported by this provider",
        ))
    }

    async fn get_schema(
        &self,
        request: Request<pb::GetSchemaRequest>,
    ) -> Result<Response<pb::GetSchemaResponse>, Status> {
        let req = GetSchemaRequest {
            version: request.into_inner().version,
        };
        let ctx = self.context("", false, 0.0);
        let resp = self
            .guard("GetSchema", "", self.provider.get_schema(&ctx, req))
            .await?;
        Ok(Response::new(pb::GetSchemaResponse {
            schema: resp.schema,
        }))
    }

    async fn check_config(
        &self,
        request: Request<pb::CheckRequest>,
    ) -> Result<Response<pb::CheckResponse>, Status> {
        let req = conv::check_request(request.into_inner())?;
        let ctx = self.context(&req.urn, false, 0.0);
        let urn = req.urn.clone();
        let resp = self
            .guard("CheckConfig", &urn, self.provider.check_config(&ctx, req))
            .await?;
        Ok(Response::new(conv::check_response(resp, &self.negotiated)))
    }

    async fn diff_config(
        &self,
        request: Request<pb::DiffRequest>,
    ) -> Result<Response<pb::DiffResponse>, Status> {
        let req = conv::diff_request(request.into_inner())?;
        let ctx = self.context(&req.urn, false, 0.0);
        let urn = req.urn.clone();
        let resp = self
            .guard("DiffConfig", &urn, self.provider.diff_config(&ctx, req))
            .await?;
        Ok(Response::new(conv::diff_response(resp)))
    }

    async fn configure(
        &self,
        request: Request<pb::ConfigureRequest>,
    ) -> Result<Response<pb::ConfigureResponse>, Status> {
        let wire = request.into_inner();
        self.negotiated
            .accept_secrets
            .store(wire.accept_secrets, Ordering::Relaxed);
        self.negotiated
            .accept_resources
            .store(wire.accept_resources, Ordering::Relaxed);
        let req = conv::configure_request(wire)?;
        let urn = req.urn.clone().unwrap_or_default();
        let ctx = self.context(&urn, false, 0.0);
        self.guard("Configure", &urn, self.provider.configure(&ctx, req))
            .await?;
        Ok(Response::new(pb::ConfigureResponse {
            accept_secrets: true,
            supports_preview: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: self.provider.supports_autonaming(),
        }))
    }

    async fn invoke(
        &self,
        request: Request<pb::InvokeRequest>,
    ) -> Result<Response<pb::InvokeResponse>, Status> {
        let req = conv::invoke_request(request.into_inner())?;
        let ctx = self.context("", false, 0.0);
        let resp = self
            .guard("Invoke", "", self.provider.invoke(&ctx, req))
            .await?;
        Ok(Response::new(conv::invoke_response(resp, &self.negotiated)))
    }

    async fn call(
        &self,
        request: Request<pb::CallRequest>,
    ) -> Result<Response<pb::CallResponse>, Status> {
        let req = crate::wire::component::call_request(request.into_inner())?;
        let ctx = self.context("", req.deployment.dry_run, 0.0);
        let resp = self
            .guard("Call", "", self.provider.call(&ctx, req))
            .await?;
        Ok(Response::new(crate::wire::component::call_response(
            resp,
            &self.negotiated,
        )))
    }

    async fn check(
        &self,
        request: Request<pb::CheckRequest>,
    ) -> Result<Response<pb::CheckResponse>, Status> {
        let req = conv::check_request(request.into_inner())?;
        let urn = req.urn.clone();
        let ctx = self.context(&urn, false, 0.0);
        let resp = self
            .guard("Check", &urn, self.provider.check(&ctx, req))
            .await?;
        Ok(Response::new(conv::check_response(resp, &self.negotiated)))
    }

    async fn diff(
        &self,
        request: Request<pb::DiffRequest>,
    ) -> Result<Response<pb::DiffResponse>, Status> {
        let req = conv::diff_request(request.into_inner())?;
        let urn = req.urn.clone();
        let ctx = self.context(&urn, false, 0.0);
        let resp = self
            .guard("Diff", &urn, self.provider.diff(&ctx, req))
            .await?;
        Ok(Response::new(conv::diff_response(resp)))
    }

    async fn create(
        &self,
        request: Request<pb::CreateRequest>,
    ) -> Result<Response<pb::CreateResponse>, Status> {
        let wire = request.into_inner();
        let ctx = self.context(&wire.urn, wire.preview, wire.timeout);
        let req = conv::create_request(wire)?;
        let (urn, preview) = (req.urn.clone(), req.preview);
        let resp = self
            .guard("Create", &urn, self.provider.create(&ctx, req))
            .await?;
        if resp.id.is_empty() && !preview {
            return Err(status_from_error(
                "Create",
                Error::Internal(format!(
                    "the provider returned an empty id for {urn}; Create must return the new resource's id"
                )),
            ));
        }
        Ok(Response::new(conv::create_response(resp, &self.negotiated)))
    }

    async fn read(
        &self,
        request: Request<pb::ReadRequest>,
    ) -> Result<Response<pb::ReadResponse>, Status> {
        let req = conv::read_request(request.into_inner())?;
        let urn = req.urn.clone();
        let ctx = self.context(&urn, false, 0.0);
        let resp = self
            .guard("Read", &urn, self.provider.read(&ctx, req))
            .await?;
        Ok(Response::new(conv::read_response(resp, &self.negotiated)))
    }

    async fn update(
        &self,
        request: Request<pb::UpdateRequest>,
    ) -> Result<Response<pb::UpdateResponse>, Status> {
        let wire = request.into_inner();
        let ctx = self.context(&wire.urn, wire.preview, wire.timeout);
        let req = conv::update_request(wire)?;
        let urn = req.urn.clone();
        let resp = self
            .guard("Update", &urn, self.provider.update(&ctx, req))
            .await?;
        Ok(Response::new(conv::update_response(resp, &self.negotiated)))
    }

    async fn delete(&self, request: Request<pb::DeleteRequest>) -> Result<Response<()>, Status> {
        let wire = request.into_inner();
        let ctx = self.context(&wire.urn, false, wire.timeout);
        let req = conv::delete_request(wire)?;
        let urn = req.urn.clone();
        self.guard("Delete", &urn, self.provider.delete(&ctx, req))
            .await?;
        Ok(Response::new(()))
    }

    async fn construct(
        &self,
        request: Request<pb::ConstructRequest>,
    ) -> Result<Response<pb::ConstructResponse>, Status> {
        let req = crate::wire::component::construct_request(request.into_inner())?;
        let ctx = self.context("", req.deployment.dry_run, 0.0);
        let what = format!("{} `{}`", req.type_token, req.name);
        let resp = self
            .guard("Construct", &what, self.provider.construct(&ctx, req))
            .await?;
        Ok(Response::new(crate::wire::component::construct_response(
            resp,
            &self.negotiated,
        )))
    }

    async fn cancel(&self, _request: Request<()>) -> Result<Response<()>, Status> {
        tracing::info!("engine asked to cancel: cancelling in-flight operations");
        self.cancel_calls_in_flight();
        self.guard("Cancel", "", self.provider.cancel()).await?;
        Ok(Response::new(()))
    }

    async fn get_plugin_info(
        &self,
        _request: Request<()>,
    ) -> Result<Response<pb::PluginInfo>, Status> {
        Ok(Response::new(pb::PluginInfo {
            version: self.version.clone(),
        }))
    }

    async fn attach(&self, request: Request<pb::PluginAttach>) -> Result<Response<()>, Status> {
        let address = request.into_inner().address;
        if address.is_empty() {
            return Err(Status::invalid_argument(
                "Attach: `address` must name the engine (host:port)",
            ));
        }
        self.logger.connect(&address);
        Ok(Response::new(()))
    }

    async fn get_mapping(
        &self,
        _request: Request<pb::GetMappingRequest>,
    ) -> Result<Response<pb::GetMappingResponse>, Status> {
        Err(Status::unimplemented(
            "GetMapping is not supported by this provider",
        ))
    }

    async fn get_mappings(
        &self,
        _request: Request<pb::GetMappingsRequest>,
    ) -> Result<Response<pb::GetMappingsResponse>, Status> {
        Err(Status::unimplemented(
            "GetMappings is not supported by this provider",
        ))
    }
}
