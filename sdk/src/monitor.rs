//! A client of the engine's resource monitor: what a component registers itself and its
//! children with during `Construct`, and what a method reads its component through during
//! `Call`.
//!
//! [`MonitorClient::connect`] dials the `monitorEndpoint` of the request and asks the monitor
//! (`SupportsFeature`) for the features construction relies on ([`REQUIRED_FEATURES`]): an
//! engine without them gets a clear error instead of children with lost secrets. Every
//! registration says it accepts secrets and resource references, which the SDK's value model
//! decodes losslessly.
//!
//! The [`typed`](crate::typed) layer drives this client for [`Component`](crate::typed::Component)
//! authors; a provider written on the raw [`ResourceProvider`](crate::ResourceProvider) uses it
//! directly: register the component (`custom: false`, the request's type, name and parent),
//! then its children with `parent` = the component's URN, then
//! [`MonitorClient::register_outputs`], and answer with the component's URN and outputs.

use std::collections::BTreeMap;

use pulumirpc as pb;
use tonic::transport::Channel;

use crate::error::{Error, Result};
use crate::ops::ResourceOptions;
use crate::value::PropertyMap;
use crate::wire::{decode_struct, encode_map};

/// The `SupportsFeature` ids a monitor must answer `true` for [`MonitorClient::connect`] to
/// succeed: secrets and resource references travel as typed values in both directions.
pub const REQUIRED_FEATURES: &[&str] = &["secrets", "resourceReferences"];

/// The invoke token with which Pulumi engines return a registered resource's state by URN.
pub const GET_RESOURCE: &str = "pulumi:pulumi:getResource";

/// A resource to register with the monitor.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RegisterRequest {
    /// The type token.
    pub type_token: String,
    /// The resource's name.
    pub name: String,
    /// The parent's URN (empty: the stack).
    pub parent: String,
    /// `true` for a custom resource (managed by a provider), `false` for a component.
    pub custom: bool,
    /// The inputs.
    pub inputs: PropertyMap,
    /// For each input property, the URNs of the resources it depends on.
    pub property_dependencies: BTreeMap<String, Vec<String>>,
    /// The resource options.
    pub options: ResourceOptions,
}

impl RegisterRequest {
    /// A custom resource of `type_token` named `name` with `inputs`.
    pub fn custom(
        type_token: impl Into<String>,
        name: impl Into<String>,
        inputs: PropertyMap,
    ) -> Self {
        RegisterRequest {
            type_token: type_token.into(),
            name: name.into(),
            custom: true,
            inputs,
            ..Default::default()
        }
    }

    /// A component resource of `type_token` named `name` (its inputs are not sent: Pulumi's
    /// SDKs register components without them).
    pub fn component(type_token: impl Into<String>, name: impl Into<String>) -> Self {
        RegisterRequest {
            type_token: type_token.into(),
            name: name.into(),
            custom: false,
            ..Default::default()
        }
    }

    /// Sets the parent's URN.
    pub fn parent(mut self, urn: impl Into<String>) -> Self {
        self.parent = urn.into();
        self
    }

    /// Sets the resource options.
    pub fn options(mut self, options: ResourceOptions) -> Self {
        self.options = options;
        self
    }
}

/// What the monitor answered for a registration.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Registered {
    /// The resource's URN.
    pub urn: String,
    /// Its id: empty for components, and for custom resources during a preview.
    pub id: String,
    /// Its outputs; during a preview, those not known yet are unknown values.
    pub outputs: PropertyMap,
}

/// A connection to the engine's resource monitor; cheap to clone.
#[derive(Debug, Clone)]
pub struct MonitorClient {
    client: pb::resource_monitor_client::ResourceMonitorClient<Channel>,
    endpoint: String,
}

fn unreachable(endpoint: &str, e: impl std::fmt::Display) -> Error {
    Error::Failed(format!(
        "cannot reach the engine's resource monitor at {endpoint}: {e}"
    ))
}

impl MonitorClient {
    /// Connects to the monitor at `endpoint` (`host:port`, as `Construct` gives it) and checks
    /// that it supports [`REQUIRED_FEATURES`].
    pub async fn connect(endpoint: &str) -> Result<Self> {
        if endpoint.is_empty() {
            return Err(Error::InvalidRequest(
                "the engine gave no resource monitor endpoint (`monitorEndpoint` is empty), so \
                 component children cannot be registered; this engine does not support remote \
                 components"
                    .into(),
            ));
        }
        let uri = if endpoint.contains("://") {
            endpoint.to_string()
        } else {
            format!("http://{endpoint}")
        };
        let channel = Channel::from_shared(uri)
            .map_err(|e| unreachable(endpoint, e))?
            .connect()
            .await
            .map_err(|e| unreachable(endpoint, e))?;
        let client = pb::resource_monitor_client::ResourceMonitorClient::new(channel)
            .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
            .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
        let monitor = MonitorClient {
            client,
            endpoint: endpoint.to_string(),
        };
        let mut missing = Vec::new();
        for feature in REQUIRED_FEATURES {
            if !monitor.supports(feature).await? {
                missing.push(*feature);
            }
        }
        if !missing.is_empty() {
            return Err(Error::Failed(format!(
                "the engine's resource monitor at {endpoint} does not support {}, which \
                 constructing a component needs (its inputs, children and outputs may hold \
                 secrets and resource references); use an engine that supports remote components",
                missing.join(" and ")
            )));
        }
        Ok(monitor)
    }

    /// The address this client is connected to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether the monitor supports the feature `id` (such as `secrets`).
    pub async fn supports(&self, id: &str) -> Result<bool> {
        let response = self
            .client
            .clone()
            .supports_feature(pb::SupportsFeatureRequest { id: id.to_string() })
            .await
            .map_err(|s| unreachable(&self.endpoint, s.message()))?;
        Ok(response.into_inner().has_support)
    }

    /// Registers a resource and waits for the engine to finish its step (create, update or
    /// nothing; during a preview, the plan).
    pub async fn register(&self, req: RegisterRequest) -> Result<Registered> {
        let what = format!("{} `{}`", req.type_token, req.name);
        let wire = crate::wire::component::register_request(req);
        let response = self
            .client
            .clone()
            .register_resource(wire)
            .await
            .map_err(|s| Error::Failed(format!("registering {what}: {}", s.message())))?
            .into_inner();
        let outputs = decode_struct(response.object.as_ref()).map_err(|e| {
            Error::Internal(format!("the monitor's answer for {what} is malformed: {e}"))
        })?;
        Ok(Registered {
            urn: response.urn,
            id: response.id,
            outputs,
        })
    }

    /// Registers the outputs of the component `urn` (which ends its registration).
    pub async fn register_outputs(&self, urn: &str, outputs: &PropertyMap) -> Result<()> {
        self.client
            .clone()
            .register_resource_outputs(pb::RegisterResourceOutputsRequest {
                urn: urn.to_string(),
                outputs: Some(encode_map(outputs)),
            })
            .await
            .map_err(|s| {
                Error::Failed(format!("registering the outputs of {urn}: {}", s.message()))
            })?;
        Ok(())
    }

    /// Calls the engine-side function `token` with `args` (such as [`GET_RESOURCE`]).
    pub async fn invoke(&self, token: &str, args: &PropertyMap) -> Result<PropertyMap> {
        let response = self
            .client
            .clone()
            .invoke(pb::ResourceInvokeRequest {
                tok: token.to_string(),
                args: Some(encode_map(args)),
                accept_resources: true,
                ..Default::default()
            })
            .await
            .map_err(|s| Error::Failed(format!("invoking {token}: {}", s.message())))?
            .into_inner();
        if !response.failures.is_empty() {
            let reasons: Vec<String> = response
                .failures
                .iter()
                .map(|f| format!("`{}`: {}", f.property, f.reason))
                .collect();
            return Err(Error::Failed(format!(
                "invoking {token}: {}",
                reasons.join("; ")
            )));
        }
        decode_struct(response.r#return.as_ref())
            .map_err(|e| Error::Internal(format!("the result of {token} is malformed: {e}")))
    }

    /// The recorded outputs of the resource `urn`, read with [`GET_RESOURCE`].
    pub async fn resource_state(&self, urn: &str) -> Result<PropertyMap> {
        let args = PropertyMap::from([("urn".to_string(), urn.into())]);
        let result = self.invoke(GET_RESOURCE, &args).await?;
        match result.get("state") {
            Some(crate::PropertyValue::Object(state)) => Ok(state.clone()),
            _ => Err(Error::Failed(format!(
                "the engine's {GET_RESOURCE} answered without the state of {urn}"
            ))),
        }
    }
}
