//! A Python or Node.js program as a source of registrations: the engine serves the resource
//! monitor, runs the program with its language SDK, and answers each of the SDK's requests
//! through [`register`], [`read_step`] and [`invoke`], the functions the YAML evaluator uses.

#[allow(unused_imports)]
use super::*;
use crate::language::{self, OutputLine, RunRequest, Stream};
use crate::monitor::{
    self, InvokeRequest, InvokeResult, LogEntry, MonitorConfig, MonitorError, OutputsRegistration,
    ReadRequest, ReadResult, RegistrationSink, Severity,
};

/// The engine as the monitor's sink.
struct EngineSink {
    ctx: Arc<Ctx>,
    interrupt: CancellationToken,
}

impl EngineSink {
    /// Refuses new work once the run is interrupted or a state write failed.
    fn check_running(&self) -> Result<(), MonitorError> {
        if self.interrupt.is_cancelled() {
            return Err(MonitorError::Engine(
                "the run was interrupted; no new steps start".into(),
            ));
        }
        Ok(())
    }

    fn state_failed(&self, e: Error) -> MonitorError {
        let msg = e.to_string();
        if let Ok(mut slot) = self.ctx.fatal.lock() {
            slot.get_or_insert(e);
        }
        MonitorError::Engine(msg)
    }
}

#[tonic::async_trait]
impl RegistrationSink for EngineSink {
    async fn register(&self, request: Registration) -> Result<RegisteredResource, MonitorError> {
        self.check_running()?;
        match register(&self.ctx, request).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(msg)) => Err(MonitorError::Engine(msg)),
            Err(e) => Err(self.state_failed(e)),
        }
    }

    async fn register_outputs(&self, request: OutputsRegistration) -> Result<(), MonitorError> {
        register_outputs(&self.ctx, &request.urn, request.outputs)
            .await
            .map_err(|e| self.state_failed(e))
    }

    async fn read(&self, request: ReadRequest) -> Result<ReadResult, MonitorError> {
        self.check_running()?;
        match read_step(&self.ctx, &request).await {
            Ok(Ok(properties)) => Ok(ReadResult { properties }),
            Ok(Err(msg)) => Err(MonitorError::Engine(msg)),
            Err(e) => Err(self.state_failed(e)),
        }
    }

    async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResult, MonitorError> {
        invoke(&self.ctx, &request)
            .await
            .map_err(MonitorError::Engine)
    }

    fn log(&self, entry: LogEntry) {
        // Errors come back as the program's failure; showing them here too would say it twice.
        let severity = match entry.severity {
            Severity::Debug | Severity::Error => return,
            Severity::Info => "info",
            Severity::Warning => "warning",
        };
        let message = match entry.urn {
            Some(urn) if !urn.is_empty() => format!("{}: {}", short_name(&urn), entry.message),
            _ => entry.message,
        };
        self.ctx.display.log(severity, message);
    }
}

fn short_name(urn: &str) -> &str {
    urn.rsplit("::").next().unwrap_or(urn)
}

/// The configuration as the SDKs read it: `PULUMI_CONFIG` (`namespace:key` to text, objects as
/// JSON) and the keys that are secret. Secrets are given to the program in clear, as Pulumi's
/// language hosts do; the SDK keeps them secret.
fn program_config(project: &Project) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let mut config = BTreeMap::new();
    let mut secret_keys = BTreeSet::new();
    let mut add = |key: String, v: &Json| {
        let (plain, secret) = value::unwrap_secrets(v);
        let text = match plain {
            Json::String(s) => s,
            other => other.to_string(),
        };
        if secret {
            secret_keys.insert(key.clone());
        }
        config.insert(key, text);
    };
    for (k, v) in &project.config {
        add(format!("{}:{k}", project.name), v);
    }
    for (pkg, m) in &project.provider_config {
        for (k, v) in m {
            add(format!("{pkg}:{k}"), v);
        }
    }
    (config, secret_keys)
}

/// Runs the program against a monitor served by this engine; false when it (or a step it
/// asked for) failed.
pub(super) async fn run(
    ctx: &Arc<Ctx>,
    parallel: usize,
    interrupt: &CancellationToken,
) -> Result<bool, Error> {
    let project = &ctx.project;
    let sink = Arc::new(EngineSink {
        ctx: ctx.clone(),
        interrupt: interrupt.clone(),
    });
    let monitor = monitor::serve_with_sink(
        MonitorConfig::new(project.name.clone(), project.stack.clone()),
        sink,
    )
    .await
    .map_err(|e| Error::Io {
        context: "cannot serve the resource monitor on 127.0.0.1".into(),
        source: e,
    })?;
    let display = ctx.display.clone();
    let (config, secret_keys) = program_config(project);
    let mut request = RunRequest::new(&project.dir, &project.stack);
    request.dry_run = ctx.preview;
    request.parallel = u32::try_from(parallel).unwrap_or(u32::MAX);
    request.config = config;
    request.secret_keys = secret_keys;
    request.output = Arc::new(move |line: OutputLine| {
        let severity = match line.stream {
            Stream::Setup => "info",
            Stream::Stdout => "info",
            Stream::Stderr => "warning",
        };
        display.log(severity, line.text);
    });
    let result = language::run(&request, &monitor).await;
    drop(monitor);
    if let Some(e) = ctx.fatal.lock().ok().and_then(|mut f| f.take()) {
        return Err(e);
    }
    if let Some(e) = ctx.providers.take_fatal() {
        return Err(e);
    }
    match result {
        Ok(()) => Ok(ctx.failures.lock().map(|f| f.is_empty()).unwrap_or(false)),
        Err(e) => {
            let steps_failed = ctx.failures.lock().map(|f| !f.is_empty()).unwrap_or(true);
            if !steps_failed {
                ctx.fail(e.to_string());
            }
            Ok(false)
        }
    }
}
