//! The engine's side of a Construct: a resource monitor (`plugin_host::monitor`) that records
//! what a component provider registers and answers like an engine that created it all.
//!
//! A custom resource of the plugin's own package is created as an engine would: Check, then
//! Create on the plugin under test, answered with the real id and outputs (a typed component
//! reads its children's outputs), and deleted again, last first, by [`Recorder::cleanup`].
//! Any other registration is answered with its inputs as outputs and, when custom, the made-up
//! id `<name>-id`. Reads and invokes are refused with a message saying so.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugin_host::ProviderClient;
use plugin_host::monitor::{
    InvokeRequest, InvokeResult, LogEntry, MonitorConfig, MonitorError, OutputsRegistration,
    ReadRequest, ReadResult, RegisteredResource, Registration, RegistrationSink, RunningMonitor,
    serve_with_sink, urn,
};
use pulumirpc::resource_monitor_client::ResourceMonitorClient;

use crate::report::Finding;
use crate::session::STACK;
use crate::values::{PropertyMap, decode_struct};

/// What the monitor was asked, in order, and what it created.
#[derive(Debug, Default)]
struct Recorded {
    registrations: Mutex<Vec<Registration>>,
    outputs: Mutex<Vec<OutputsRegistration>>,
    created: Mutex<Vec<Created>>,
}

/// A child the kit created on the plugin, to delete afterwards.
#[derive(Debug, Clone)]
struct Created {
    urn: String,
    type_token: String,
    name: String,
    id: String,
    inputs: pulumirpc::google::Struct,
    outputs: pulumirpc::google::Struct,
}

/// The plugin under test, which creates the children of its own package.
#[derive(Clone)]
pub(crate) struct Creator {
    /// A client of the plugin.
    pub(crate) client: ProviderClient,
    /// Its package: children of type `<package>:…` are its own.
    pub(crate) package: String,
    /// The limit on each call.
    pub(crate) timeout: Duration,
}

struct Sink {
    recorded: Arc<Recorded>,
    creator: Creator,
}

impl Sink {
    /// Check, then Create of a child on the plugin, as an engine does for a registration.
    async fn create(&self, r: &Registration) -> Result<RegisteredResource, MonitorError> {
        let failed = |what: &str, e: String| {
            MonitorError::Engine(format!(
                "{what} of {} `{}` failed: {e}",
                r.type_token, r.name
            ))
        };
        let timeout = self.creator.timeout;
        let mut client = self.creator.client.clone();
        let news = plugin_host::value::to_struct(&r.inputs);
        let check = pulumirpc::CheckRequest {
            urn: r.urn.clone(),
            olds: Some(Default::default()),
            news: Some(news),
            random_seed: vec![42; 32],
            name: r.name.clone(),
            r#type: r.type_token.clone(),
            ..Default::default()
        };
        let checked = tokio::time::timeout(timeout, client.check(check))
            .await
            .map_err(|_| failed("Check", format!("no answer within {timeout:?}")))?
            .map_err(|e| failed("Check", e.message().to_string()))?
            .into_inner();
        if !checked.failures.is_empty() {
            let failures: Vec<String> = checked
                .failures
                .iter()
                .map(|f| format!("`{}`: {}", f.property, f.reason))
                .collect();
            return Err(failed("Check", failures.join("; ")));
        }
        let inputs = checked.inputs.unwrap_or_default();
        let create = pulumirpc::CreateRequest {
            urn: r.urn.clone(),
            properties: Some(inputs.clone()),
            timeout: timeout.as_secs_f64(),
            preview: false,
            name: r.name.clone(),
            r#type: r.type_token.clone(),
            ..Default::default()
        };
        let created = tokio::time::timeout(timeout, client.create(create))
            .await
            .map_err(|_| failed("Create", format!("no answer within {timeout:?}")))?
            .map_err(|e| failed("Create", e.message().to_string()))?
            .into_inner();
        let outputs = created.properties.unwrap_or_default();
        lock(&self.recorded.created).push(Created {
            urn: r.urn.clone(),
            type_token: r.type_token.clone(),
            name: r.name.clone(),
            id: created.id.clone(),
            inputs,
            outputs: outputs.clone(),
        });
        Ok(RegisteredResource {
            id: Some(created.id),
            outputs: plugin_host::value::from_struct(&outputs),
            ..Default::default()
        })
    }
}

#[tonic::async_trait]
impl RegistrationSink for Sink {
    async fn register(&self, r: Registration) -> Result<RegisteredResource, MonitorError> {
        let own = r.custom
            && r.type_token
                .strip_prefix(&self.creator.package)
                .is_some_and(|rest| rest.starts_with(':'));
        let answer = if own {
            self.create(&r).await
        } else {
            Ok(RegisteredResource {
                id: r.custom.then(|| format!("{}-id", r.name)),
                outputs: r.inputs.clone(),
                ..Default::default()
            })
        };
        lock(&self.recorded.registrations).push(r);
        answer
    }

    async fn register_outputs(&self, r: OutputsRegistration) -> Result<(), MonitorError> {
        lock(&self.recorded.outputs).push(r);
        Ok(())
    }

    async fn read(&self, r: ReadRequest) -> Result<ReadResult, MonitorError> {
        Err(MonitorError::Engine(format!(
            "the conformance kit's monitor reads no resources ({} `{}`): a component registers its children",
            r.type_token, r.name
        )))
    }

    async fn invoke(&self, r: InvokeRequest) -> Result<InvokeResult, MonitorError> {
        Err(MonitorError::Engine(format!(
            "the conformance kit's monitor serves no functions ({})",
            r.token
        )))
    }

    // The provider's log lines reach the kit through the Engine service of its session.
    fn log(&self, _: LogEntry) {}
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running recording monitor with the root stack registered, as a program would have done
/// before its component is constructed.
pub(crate) struct Recorder {
    monitor: RunningMonitor,
    recorded: Arc<Recorded>,
    /// The root stack's URN: the component's parent.
    pub(crate) stack_urn: String,
}

/// A registration as the kit reads it: its values decoded by the kit's own codec.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// The registration as the monitor typed it.
    pub(crate) registration: Registration,
    /// Its inputs, decoded by the kit.
    pub(crate) inputs: PropertyMap,
}

impl Seen {
    /// `type::name`, for messages.
    pub(crate) fn label(&self) -> String {
        format!(
            "{}::{}",
            self.registration.type_token, self.registration.name
        )
    }
}

impl Recorder {
    /// Serves the monitor on loopback, children of its package created by `creator`, and
    /// registers the root stack.
    pub(crate) async fn start(creator: Creator) -> Result<Recorder, Finding> {
        let recorded = Arc::new(Recorded::default());
        let sink = Sink {
            recorded: recorded.clone(),
            creator,
        };
        let monitor = serve_with_sink(MonitorConfig::new(STACK, STACK), Arc::new(sink))
            .await
            .map_err(|e| {
                setup_finding(format!("cannot serve a resource monitor on 127.0.0.1: {e}"))
            })?;
        let mut recorder = Recorder {
            monitor,
            recorded,
            stack_urn: String::new(),
        };
        recorder.stack_urn = recorder
            .register(
                urn::ROOT_STACK_TYPE,
                &format!("{STACK}-{STACK}"),
                None,
                false,
            )
            .await?;
        Ok(recorder)
    }

    /// Deletes the children created on the plugin, last first; the failures, explained.
    pub(crate) async fn cleanup(&self, creator: &Creator) -> Vec<String> {
        let created: Vec<Created> = std::mem::take(&mut *lock(&self.recorded.created));
        let mut failures = Vec::new();
        for c in created.into_iter().rev() {
            let request = pulumirpc::DeleteRequest {
                id: c.id.clone(),
                urn: c.urn.clone(),
                properties: Some(c.outputs),
                old_inputs: Some(c.inputs),
                timeout: creator.timeout.as_secs_f64(),
                name: c.name.clone(),
                r#type: c.type_token.clone(),
                ..Default::default()
            };
            let mut client = creator.client.clone();
            match tokio::time::timeout(creator.timeout, client.delete(request)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => failures.push(format!(
                    "Delete of {} (id {}): {}",
                    c.urn,
                    c.id,
                    e.message()
                )),
                Err(_) => failures.push(format!(
                    "Delete of {} (id {}): no answer within {:?}",
                    c.urn, c.id, creator.timeout
                )),
            }
        }
        failures
    }

    /// `127.0.0.1:PORT`, for `ConstructRequest.monitorEndpoint`.
    pub(crate) fn address(&self) -> &str {
        self.monitor.address()
    }

    /// Registers a resource as a program would (the root stack, an explicit provider);
    /// returns its URN.
    pub(crate) async fn register(
        &self,
        type_token: &str,
        name: &str,
        parent: Option<&str>,
        custom: bool,
    ) -> Result<String, Finding> {
        let mut client = ResourceMonitorClient::connect(format!("http://{}", self.address()))
            .await
            .map_err(|e| setup_finding(format!("cannot connect to its own monitor: {e}")))?;
        let request = pulumirpc::RegisterResourceRequest {
            r#type: type_token.into(),
            name: name.into(),
            parent: parent.unwrap_or_default().into(),
            custom,
            accept_secrets: true,
            ..Default::default()
        };
        let response = client
            .register_resource(request)
            .await
            .map_err(|e| setup_finding(format!("its own monitor refused {type_token}: {e}")))?;
        Ok(response.into_inner().urn)
    }

    /// The URN the component `type_token` named `name` gets under the root stack.
    pub(crate) fn component_urn(&self, type_token: &str, name: &str) -> String {
        urn::new(STACK, STACK, Some(&self.stack_urn), type_token, name)
    }

    /// Every registration so far except those `except` names (the kit's own), decoded.
    pub(crate) fn registrations(&self, except: &[&str]) -> Vec<Seen> {
        lock(&self.recorded.registrations)
            .iter()
            .filter(|r| !except.contains(&r.urn.as_str()))
            .map(|r| Seen {
                registration: r.clone(),
                inputs: decode(&r.inputs),
            })
            .collect()
    }

    /// The outputs registered for `urn` (the last registration wins), decoded.
    pub(crate) fn outputs_of(&self, urn: &str) -> Option<PropertyMap> {
        lock(&self.recorded.outputs)
            .iter()
            .rev()
            .find(|o| o.urn == urn)
            .map(|o| decode(&o.outputs))
    }
}

/// The monitor's values through the kit's own codec, so that the kit's checks (secrets,
/// leaks) apply to them unchanged.
fn decode(map: &plugin_host::value::PropertyMap) -> PropertyMap {
    decode_struct(Some(&plugin_host::value::to_struct(map))).unwrap_or_default()
}

fn setup_finding(actual: String) -> Finding {
    Finding {
        check: "the kit's resource monitor for Construct".into(),
        expected: "a monitor serving on 127.0.0.1".into(),
        actual,
        fix: "a problem of the machine running the kit (ports, sockets), not of the plugin".into(),
        sdk_fix: None,
    }
}
