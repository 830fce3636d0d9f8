//! A component provider served directly on `pulumirpc`/tonic, without the SDK: package
//! `kitcomp` with the component `kitcomp:index:Pair`, which Construct builds from `prefix` (a
//! string) and `count` (a whole number from 1 to 5) by registering `count` children
//! `kitcomp:index:Item` (`text` = `<prefix>-<i>`, secret when `prefix` is) with the engine's
//! resource monitor, then its outputs `names` and `prefix`. An Item is a custom resource that
//! exists only in the state: Check wants a string `text`, Create echoes it with the id
//! `item-<n>`, Delete has nothing to do. It mimics what Pulumi's provider
//! SDKs do, so the conformance kit's Construct cases can be shown on a plugin in any shape,
//! except for at most one deliberate [`ComponentBug`].

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use pulumirpc::resource_monitor_client::ResourceMonitorClient;
use pulumirpc::resource_provider_server::ResourceProvider;
use pulumirpc::*;
// The protocol has a `Result` enum (RegisterResourceResponse.result); keep std's.
use std::result::Result;
use tonic::{Request, Response, Status};

use crate::raw::{secret, string, unwrap_secret};

/// The one bug the component provider has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentBug {
    /// No bug.
    None,
    /// The children are registered without the component as their parent.
    OrphanChildren,
}

const PACKAGE: &str = "kitcomp";
const COMPONENT: &str = "kitcomp:index:Pair";
const CHILD: &str = "kitcomp:index:Item";

const SCHEMA: &str = r#"{
  "name": "kitcomp",
  "version": "0.1.0",
  "resources": {
    "kitcomp:index:Pair": {
      "isComponent": true,
      "description": "A component of `count` Items named after `prefix`.",
      "inputProperties": {
        "prefix": {"type": "string", "description": "The prefix of every item's text."},
        "count": {"type": "integer", "description": "How many items, 1 to 5."}
      },
      "requiredInputs": ["prefix", "count"],
      "properties": {
        "names": {"type": "array", "items": {"type": "string"}, "description": "The items' texts."},
        "prefix": {"type": "string", "description": "The prefix."}
      },
      "required": ["names", "prefix"]
    },
    "kitcomp:index:Item": {
      "description": "One item.",
      "inputProperties": {"text": {"type": "string", "description": "The text."}},
      "requiredInputs": ["text"],
      "properties": {"text": {"type": "string", "description": "The text."}},
      "required": ["text"]
    }
  }
}"#;

/// The component provider with `bug`.
struct Components {
    bug: ComponentBug,
    items: AtomicU64,
}

fn only_items(type_token: &str) -> Result<(), Status> {
    if type_token == CHILD {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "unknown resource type `{type_token}`; this provider's custom resource is `{CHILD}`"
        )))
    }
}

/// The validated inputs: the prefix (and whether it was secret) and the count; or every
/// problem, each naming its property.
fn inputs(fields: &BTreeMap<String, Value>) -> Result<(String, bool, usize), Vec<String>> {
    let mut problems = Vec::new();
    let prefix = match fields.get("prefix").map(unwrap_secret) {
        Some((
            Value {
                kind: Some(Kind::StringValue(s)),
            },
            is_secret,
        )) => Some((s.clone(), is_secret)),
        Some(_) => {
            problems.push("`prefix` must be a string".to_string());
            None
        }
        None => {
            problems.push("`prefix` is required".to_string());
            None
        }
    };
    let count = match fields.get("count").map(|v| &unwrap_secret(v).0.kind) {
        Some(Some(Kind::NumberValue(n))) if n.fract() == 0.0 && (1.0..=5.0).contains(n) => {
            Some(*n as usize)
        }
        Some(_) => {
            problems.push("`count` must be a whole number from 1 to 5".to_string());
            None
        }
        None => {
            problems.push("`count` is required".to_string());
            None
        }
    };
    match (prefix, count) {
        (Some((prefix, is_secret)), Some(count)) if problems.is_empty() => {
            Ok((prefix, is_secret, count))
        }
        _ => Err(problems),
    }
}

fn object(fields: impl IntoIterator<Item = (&'static str, Value)>) -> Struct {
    Struct {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

fn grpc_failure(what: &str, e: impl std::fmt::Display) -> Status {
    Status::unavailable(format!("{what}: {e}"))
}

impl Components {
    async fn build(&self, req: ConstructRequest) -> Result<ConstructResponse, Status> {
        if req.r#type != COMPONENT {
            return Err(Status::invalid_argument(format!(
                "unknown component type `{}`; this provider has `{COMPONENT}`",
                req.r#type
            )));
        }
        let fields = req.inputs.map(|s| s.fields).unwrap_or_default();
        let (prefix, is_secret, count) = inputs(&fields).map_err(|problems| {
            Status::invalid_argument(format!(
                "invalid inputs for {COMPONENT}: {}",
                problems.join("; ")
            ))
        })?;
        let mut monitor =
            ResourceMonitorClient::connect(format!("http://{}", req.monitor_endpoint))
                .await
                .map_err(|e| grpc_failure("cannot reach the resource monitor", e))?;
        let component = monitor
            .register_resource(RegisterResourceRequest {
                r#type: COMPONENT.into(),
                name: req.name.clone(),
                parent: req.parent.clone(),
                custom: false,
                accept_secrets: true,
                ..Default::default()
            })
            .await
            .map_err(|e| grpc_failure("registering the component", e))?
            .into_inner()
            .urn;
        let provider = req.providers.get(PACKAGE).cloned().unwrap_or_default();
        let keep = |v: Value| if is_secret { secret(v) } else { v };
        let mut names = Vec::new();
        for i in 0..count {
            let text = format!("{prefix}-{i}");
            let parent = match self.bug {
                ComponentBug::OrphanChildren => String::new(),
                ComponentBug::None => component.clone(),
            };
            monitor
                .register_resource(RegisterResourceRequest {
                    r#type: CHILD.into(),
                    name: format!("{}-item-{i}", req.name),
                    parent,
                    custom: true,
                    object: Some(object([("text", keep(string(text.clone())))])),
                    provider: provider.clone(),
                    accept_secrets: true,
                    ..Default::default()
                })
                .await
                .map_err(|e| grpc_failure(&format!("registering item {i}"), e))?;
            names.push(string(text));
        }
        let outputs = object([
            (
                "names",
                keep(Value {
                    kind: Some(Kind::ListValue(ListValue { values: names })),
                }),
            ),
            ("prefix", keep(string(prefix))),
        ]);
        monitor
            .register_resource_outputs(RegisterResourceOutputsRequest {
                urn: component.clone(),
                outputs: Some(outputs.clone()),
            })
            .await
            .map_err(|e| grpc_failure("registering the component's outputs", e))?;
        Ok(ConstructResponse {
            urn: component,
            state: Some(outputs),
            ..Default::default()
        })
    }
}

fn unimplemented<T>(method: &str) -> Result<Response<T>, Status> {
    Err(Status::unimplemented(format!(
        "the kitcomp provider has only a component: no {method}"
    )))
}

#[tonic::async_trait]
impl ResourceProvider for Components {
    async fn handshake(
        &self,
        _: Request<ProviderHandshakeRequest>,
    ) -> Result<Response<ProviderHandshakeResponse>, Status> {
        Ok(Response::new(ProviderHandshakeResponse {
            accept_secrets: true,
            ..Default::default()
        }))
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
        Ok(Response::new(GetSchemaResponse {
            schema: SCHEMA.into(),
        }))
    }
    async fn check_config(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        Ok(Response::new(CheckResponse {
            inputs: request.into_inner().news,
            failures: Vec::new(),
        }))
    }
    async fn diff_config(&self, _: Request<DiffRequest>) -> Result<Response<DiffResponse>, Status> {
        Ok(Response::new(DiffResponse {
            changes: 1,
            ..Default::default()
        }))
    }
    async fn configure(
        &self,
        _: Request<ConfigureRequest>,
    ) -> Result<Response<ConfigureResponse>, Status> {
        Ok(Response::new(ConfigureResponse {
            accept_secrets: true,
            ..Default::default()
        }))
    }
    async fn invoke(&self, _: Request<InvokeRequest>) -> Result<Response<InvokeResponse>, Status> {
        unimplemented("Invoke")
    }
    async fn call(&self, _: Request<CallRequest>) -> Result<Response<CallResponse>, Status> {
        unimplemented("Call")
    }
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let req = request.into_inner();
        only_items(&req.r#type)?;
        let text = req.news.as_ref().and_then(|n| n.fields.get("text"));
        let failures = match text.map(|v| &unwrap_secret(v).0.kind) {
            Some(Some(Kind::StringValue(_))) => Vec::new(),
            _ => vec![CheckFailure {
                property: "text".into(),
                reason: "`text` must be a string".into(),
            }],
        };
        Ok(Response::new(CheckResponse {
            inputs: req.news,
            failures,
        }))
    }
    async fn diff(&self, _: Request<DiffRequest>) -> Result<Response<DiffResponse>, Status> {
        unimplemented("Diff")
    }
    async fn create(
        &self,
        request: Request<CreateRequest>,
    ) -> Result<Response<CreateResponse>, Status> {
        let req = request.into_inner();
        only_items(&req.r#type)?;
        let n = self.items.fetch_add(1, Ordering::Relaxed);
        Ok(Response::new(CreateResponse {
            id: format!("item-{n}"),
            properties: req.properties,
            ..Default::default()
        }))
    }
    async fn read(&self, _: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        unimplemented("Read")
    }
    async fn update(&self, _: Request<UpdateRequest>) -> Result<Response<UpdateResponse>, Status> {
        unimplemented("Update")
    }
    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<()>, Status> {
        only_items(&request.into_inner().r#type)?;
        Ok(Response::new(()))
    }
    async fn construct(
        &self,
        request: Request<ConstructRequest>,
    ) -> Result<Response<ConstructResponse>, Status> {
        self.build(request.into_inner()).await.map(Response::new)
    }
    async fn cancel(&self, _: Request<()>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn get_plugin_info(&self, _: Request<()>) -> Result<Response<PluginInfo>, Status> {
        Ok(Response::new(PluginInfo {
            version: "0.1.0".into(),
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

/// The whole plugin process with `bug` (see [`crate::raw::serve`]).
pub async fn main(bug: ComponentBug) -> ExitCode {
    let provider = Components {
        bug,
        items: AtomicU64::new(0),
    };
    crate::raw::serve(provider, None).await
}
