//! The engine's side of a Construct: a resource monitor (`plugin_host::monitor`) that records
//! what a component provider registers and answers like an engine that created it all.
//!
//! Registrations are answered with their inputs as outputs and, for a custom resource, the
//! made-up id `<name>-id`; nothing is created. Reads and invokes are refused with a message
//! saying so, since a component under test has no business with resources the kit never made.

use std::sync::{Arc, Mutex};

use plugin_host::monitor::{
    InvokeRequest, InvokeResult, LogEntry, MonitorConfig, MonitorError, OutputsRegistration,
    ReadRequest, ReadResult, RegisteredResource, Registration, RegistrationSink, RunningMonitor,
    serve_with_sink, urn,
};
use pulumirpc::resource_monitor_client::ResourceMonitorClient;

use crate::report::Finding;
use crate::session::STACK;
use crate::values::{PropertyMap, decode_struct};

/// What the monitor was asked, in order.
#[derive(Debug, Default)]
struct Recorded {
    registrations: Mutex<Vec<Registration>>,
    outputs: Mutex<Vec<OutputsRegistration>>,
}

struct Sink(Arc<Recorded>);

#[tonic::async_trait]
impl RegistrationSink for Sink {
    async fn register(&self, r: Registration) -> Result<RegisteredResource, MonitorError> {
        let answer = RegisteredResource {
            id: r.custom.then(|| format!("{}-id", r.name)),
            outputs: r.inputs.clone(),
            ..Default::default()
        };
        lock(&self.0.registrations).push(r);
        Ok(answer)
    }

    async fn register_outputs(&self, r: OutputsRegistration) -> Result<(), MonitorError> {
        lock(&self.0.outputs).push(r);
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
    /// Serves the monitor on loopback and registers the root stack.
    pub(crate) async fn start() -> Result<Recorder, Finding> {
        let recorded = Arc::new(Recorded::default());
        let monitor = serve_with_sink(
            MonitorConfig::new(STACK, STACK),
            Arc::new(Sink(recorded.clone())),
        )
        .await
        .map_err(|e| setup_finding(format!("cannot serve a resource monitor on 127.0.0.1: {e}")))?;
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
