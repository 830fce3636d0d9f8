//! Runs a Python or Node.js program against a resource monitor that does nothing: every
//! registration is answered at once with its inputs as outputs (and a fake id for a custom
//! resource), no provider is started and no state is kept. The time such a run takes is the
//! program's and its language SDK's own cost, the floor under `engine-harness up` of the same
//! program (`engine-harness/bench/programs.sh` runs both).
//!
//! ```text
//! cargo run --release -p engine-harness --example noop_monitor -- PROJECT_DIR [--stack S] [--parallel N]
//! ```
//!
//! The program's output goes to stderr; stdout gets one JSON line:
//! `{"seconds": ..., "registrations": ..., "custom": ...}`.

use engine_harness::language::{self, ProjectInfo, RunRequest};
use engine_harness::monitor::{
    InvokeRequest, InvokeResult, LogEntry, MonitorConfig, MonitorError, OutputsRegistration,
    ReadRequest, ReadResult, RegisteredResource, Registration, RegistrationSink, serve_with_sink,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Answers everything at once; counts registrations.
#[derive(Default)]
struct NoopSink {
    registrations: AtomicU64,
    custom: AtomicU64,
}

#[tonic::async_trait]
impl RegistrationSink for NoopSink {
    async fn register(&self, request: Registration) -> Result<RegisteredResource, MonitorError> {
        let n = self.registrations.fetch_add(1, Ordering::Relaxed);
        let id = request.custom.then(|| {
            self.custom.fetch_add(1, Ordering::Relaxed);
            format!("noop-{n}")
        });
        Ok(RegisteredResource {
            id,
            outputs: request.inputs,
            ..Default::default()
        })
    }

    async fn register_outputs(&self, _: OutputsRegistration) -> Result<(), MonitorError> {
        Ok(())
    }

    async fn read(&self, request: ReadRequest) -> Result<ReadResult, MonitorError> {
        Ok(ReadResult {
            properties: request.properties,
        })
    }

    async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResult, MonitorError> {
        Ok(InvokeResult {
            value: request.args,
            failures: Vec::new(),
        })
    }

    fn log(&self, _: LogEntry) {}
}

/// The command line: a project directory and optional `--stack` and `--parallel`.
struct Args {
    dir: PathBuf,
    stack: String,
    parallel: u32,
}

fn parse_args() -> Result<Args, String> {
    const USAGE: &str = "usage: noop_monitor PROJECT_DIR [--stack S] [--parallel N]";
    let mut dir = None;
    let mut stack = "dev".to_string();
    let mut parallel = 32;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--stack" => stack = args.next().ok_or(USAGE)?,
            "--parallel" => {
                let n = args.next().ok_or(USAGE)?;
                parallel = n
                    .parse()
                    .map_err(|_| format!("--parallel wants a whole number, got `{n}`"))?;
            }
            _ if dir.is_none() && !arg.starts_with("--") => dir = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument `{arg}`; {USAGE}")),
        }
    }
    Ok(Args {
        dir: dir.ok_or(USAGE)?,
        stack,
        parallel,
    })
}

async fn run(args: Args) -> Result<String, Box<dyn std::error::Error>> {
    let info = ProjectInfo::load(&args.dir)?;
    let sink = Arc::new(NoopSink::default());
    let start = Instant::now();
    let monitor =
        serve_with_sink(MonitorConfig::new(&info.name, &args.stack), sink.clone()).await?;
    let mut request = RunRequest::new(info.clone(), &args.stack);
    request.parallel = args.parallel;
    language::run(&request, &monitor).await?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(format!(
        "{{\"seconds\": {seconds:.3}, \"registrations\": {}, \"custom\": {}}}",
        sink.registrations.load(Ordering::Relaxed),
        sink.custom.load(Ordering::Relaxed)
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("noop_monitor: {e}");
            ExitCode::FAILURE
        }
    }
}
