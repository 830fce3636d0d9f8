//! Real Python and TypeScript programs (PyPI `pulumi`; npm `@pulumi/pulumi` and `typescript`,
//! installed by the tests themselves and cached under the target directory) run against the
//! resource monitor, answered by a recording sink.

use crate::support;

use engine_harness::language::{LanguageError, OutputLine, ProjectInfo, RunRequest, Stream, run};
use engine_harness::monitor::*;
use engine_harness::value;
use serde_json::{Value as Json, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::programs::{copy_fixture, node_modules, python_venv, use_virtualenv};

/// A copy of fixture program `name`, its Pulumi.yaml naming `virtualenv` when given.
fn program(name: &str, virtualenv: Option<&Path>) -> tempfile::TempDir {
    let dir = copy_fixture(name);
    if let Some(virtualenv) = virtualenv {
        use_virtualenv(dir.path(), virtualenv);
    }
    dir
}

/// Records everything; answers a custom resource with id `id-<name>` and its inputs plus
/// `result` (`fake-<name>`, or unknown in a preview).
struct Recorder {
    dry_run: bool,
    registrations: Mutex<Vec<Registration>>,
    outputs: Mutex<Vec<OutputsRegistration>>,
}

impl Recorder {
    fn new(dry_run: bool) -> Arc<Self> {
        Arc::new(Recorder {
            dry_run,
            registrations: Mutex::default(),
            outputs: Mutex::default(),
        })
    }
    fn get(&self, name: &str) -> Registration {
        let regs = self.registrations.lock().unwrap();
        regs.iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no registration named {name}: {regs:#?}"))
            .clone()
    }
    fn outputs_of(&self, urn: &str) -> serde_json::Map<String, Json> {
        let outs = self.outputs.lock().unwrap();
        outs.iter()
            .find(|o| o.urn == urn)
            .unwrap_or_else(|| panic!("no outputs for {urn}: {outs:#?}"))
            .outputs
            .clone()
    }
}

#[tonic::async_trait]
impl RegistrationSink for Recorder {
    async fn register(&self, r: Registration) -> Result<RegisteredResource, MonitorError> {
        let mut outputs = r.inputs.clone();
        let (id, result) = match (r.custom, self.dry_run) {
            (false, _) => (None, None),
            (true, true) => (Some(String::new()), Some(value::unknown())),
            (true, false) => (
                Some(format!("id-{}", r.name)),
                Some(json!(format!("fake-{}", r.name))),
            ),
        };
        if let Some(result) = result {
            outputs.insert("result".into(), result);
        }
        self.registrations.lock().unwrap().push(r);
        Ok(RegisteredResource {
            id,
            outputs,
            ..Default::default()
        })
    }
    async fn register_outputs(&self, o: OutputsRegistration) -> Result<(), MonitorError> {
        self.outputs.lock().unwrap().push(o);
        Ok(())
    }
    async fn read(&self, r: ReadRequest) -> Result<ReadResult, MonitorError> {
        Err(MonitorError::Engine(format!(
            "unexpected read of {}",
            r.urn
        )))
    }
    async fn invoke(&self, i: InvokeRequest) -> Result<InvokeResult, MonitorError> {
        Err(MonitorError::Engine(format!(
            "unexpected invoke of {}",
            i.token
        )))
    }
    fn log(&self, _: LogEntry) {}
}

struct Run {
    result: Result<(), LanguageError>,
    lines: Vec<OutputLine>,
    elapsed: Duration,
}

async fn run_program(
    dir: &Path,
    project: &str,
    sink: Arc<Recorder>,
    tune: impl FnOnce(&mut RunRequest),
) -> Run {
    let monitor = serve_with_sink(MonitorConfig::new(project, "dev"), sink.clone())
        .await
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    // A project whose Pulumi.yaml cannot be run fails here, before anything starts.
    let info = match ProjectInfo::load(dir) {
        Ok(info) => info,
        Err(e) => {
            return Run {
                result: Err(e),
                lines: Vec::new(),
                elapsed: start.elapsed(),
            };
        }
    };
    let mut request = RunRequest::new(info, "dev");
    request.dry_run = sink.dry_run;
    request
        .config
        .insert(format!("{project}:password"), "hunter2".into());
    request.secret_keys.insert(format!("{project}:password"));
    let sink_lines = lines.clone();
    request.output = Arc::new(move |line| sink_lines.lock().unwrap().push(line));
    tune(&mut request);
    let result = run(&request, &monitor).await;
    let elapsed = start.elapsed();
    let lines = lines.lock().unwrap().clone();
    Run {
        result,
        lines,
        elapsed,
    }
}

const STACK: &str = "urn:pulumi:dev::monitor-py::pulumi:pulumi:Stack::monitor-py-dev";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_program_registers_resources_components_secrets_and_outputs() {
    let venv = python_venv();
    let dir = program("python-basic", Some(&venv));
    let sink = Recorder::new(false);
    let run = run_program(dir.path(), "monitor-py", sink.clone(), |_| {}).await;
    run.result
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{:#?}", run.lines));
    assert!(
        run.lines
            .iter()
            .any(|l| l.stream == Stream::Stdout && l.text == "program finished registering"),
        "the program's stdout is streamed: {:#?}",
        run.lines
    );

    let stack = sink.get("monitor-py-dev");
    assert_eq!((stack.urn.as_str(), stack.parent.as_deref()), (STACK, None));

    let first = sink.get("first");
    assert_eq!(first.type_token, "local:index:Random");
    assert_eq!(first.parent.as_deref(), Some(STACK));
    assert!(first.custom);
    assert_eq!(first.options.protect, Some(true));
    assert_eq!(first.inputs["length"], json!(8));
    assert!(
        value::is_secret(&first.inputs["seed"]),
        "secret config stays secret: {:?}",
        first.inputs
    );

    let pair = sink.get("pair");
    assert_eq!(pair.type_token, "test:index:Pair");
    assert!(!pair.custom);
    assert!(
        pair.options.dependencies.contains(&first.urn),
        "{:?}",
        pair.options
    );

    let child = sink.get("pair-child");
    assert_eq!(child.parent.as_deref(), Some(pair.urn.as_str()));
    assert_eq!(
        child.urn,
        "urn:pulumi:dev::monitor-py::test:index:Pair$local:index:Random::pair-child"
    );

    let second = sink.get("second");
    assert_eq!(
        second.inputs["length"],
        json!(9),
        "computed from first's output"
    );
    assert_eq!(
        second.options.property_dependencies["length"],
        vec![first.urn.clone()]
    );

    assert_eq!(
        sink.outputs_of(&pair.urn)["childResult"],
        json!("fake-pair-child")
    );
    let outputs = sink.outputs_of(STACK);
    assert_eq!(outputs["result"], json!("fake-first"));
    assert_eq!(outputs["secondLength"], json!(9));
    assert_eq!(outputs["password"], value::secret(json!("hunter2")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_preview_sees_unknowns() {
    let venv = python_venv();
    let dir = program("python-basic", Some(&venv));
    let sink = Recorder::new(true);
    let run = run_program(dir.path(), "monitor-py", sink.clone(), |_| {}).await;
    run.result
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{:#?}", run.lines));
    let outputs = sink.outputs_of(STACK);
    assert!(value::is_unknown(&outputs["result"]), "{outputs:?}");
    assert!(value::contains_secret(&outputs["password"]), "{outputs:?}");
    assert_eq!(sink.get("second").inputs["length"], json!(9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_program_that_raises_fails_with_its_error() {
    let venv = python_venv();
    let dir = program("python-raises", Some(&venv));
    let sink = Recorder::new(false);
    let run = run_program(dir.path(), "monitor-py-raises", sink.clone(), |_| {}).await;
    match run.result {
        Err(LanguageError::ProgramFailed {
            exit_code, message, ..
        }) => {
            assert_eq!(exit_code, Some(1));
            assert!(
                message.contains("ValueError: bad thing happened in the program"),
                "{message}"
            );
        }
        other => panic!("expected a program failure, got {other:?}"),
    }
    assert_eq!(sink.get("before").type_token, "local:index:Random");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_program_that_hangs_is_stopped_with_a_message() {
    let venv = python_venv();
    let dir = program("python-hangs", Some(&venv));
    let sink = Recorder::new(false);
    let run = run_program(dir.path(), "monitor-py-hangs", sink.clone(), |r| {
        r.timeout = Duration::from_secs(20);
    })
    .await;
    let e = run.result.unwrap_err();
    assert!(matches!(e, LanguageError::TimedOut { .. }), "{e:?}");
    assert!(e.to_string().contains("still running after 20s"), "{e}");
    assert!(run.elapsed < Duration::from_secs(60), "{:?}", run.elapsed);
    assert_eq!(sink.get("r").type_token, "local:index:Random");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_that_never_connects_times_out() {
    // An "interpreter" that starts and does nothing.
    let fake = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(fake.path().join("bin")).unwrap();
    let python = fake.path().join("bin/python");
    std::fs::write(&python, "#!/bin/sh\nexec sleep 300\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = program("python-basic", Some(fake.path()));
    let run = run_program(dir.path(), "monitor-py", Recorder::new(false), |r| {
        r.connect_timeout = Duration::from_secs(2);
    })
    .await;
    let e = run.result.unwrap_err();
    assert!(matches!(e, LanguageError::NeverConnected { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("did not connect to the resource monitor within 2s"),
        "{e}"
    );
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
}

#[tokio::test]
async fn bad_projects_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Pulumi.yaml"), "name: x\nruntime: cobol\n").unwrap();
    let run = run_program(dir.path(), "x", Recorder::new(false), |_| {}).await;
    let e = run.result.unwrap_err().to_string();
    assert!(e.contains("runtime `cobol` is not supported"), "{e}");

    std::fs::write(
        dir.path().join("Pulumi.yaml"),
        "name: x\nruntime:\n  name: python\n  options:\n    virtualenv: missing-venv\n",
    )
    .unwrap();
    let run = run_program(dir.path(), "x", Recorder::new(false), |_| {}).await;
    let e = run.result.unwrap_err().to_string();
    assert!(
        e.contains("missing-venv (runtime.options.virtualenv) does not exist"),
        "{e}"
    );

    std::fs::write(dir.path().join("Pulumi.yaml"), "name: x\nruntime: nodejs\n").unwrap();
    let run = run_program(dir.path(), "x", Recorder::new(false), |_| {}).await;
    let e = run.result.unwrap_err().to_string();
    assert!(e.contains("there is no package.json"), "{e}");
}

const TS_STACK: &str = "urn:pulumi:dev::monitor-ts::pulumi:pulumi:Stack::monitor-ts-dev";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_program_registers_resources_components_secrets_and_outputs() {
    let modules = node_modules();
    let dir = program("nodejs-basic", None);
    std::os::unix::fs::symlink(&modules, dir.path().join("node_modules")).unwrap();
    let sink = Recorder::new(false);
    let run = run_program(dir.path(), "monitor-ts", sink.clone(), |_| {}).await;
    run.result
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{:#?}", run.lines));
    assert!(
        run.lines
            .iter()
            .any(|l| l.stream == Stream::Stdout && l.text == "program finished registering"),
        "{:#?}",
        run.lines
    );
    let first = sink.get("first");
    assert_eq!(first.parent.as_deref(), Some(TS_STACK));
    assert_eq!(first.options.protect, Some(true));
    assert!(
        value::is_secret(&first.inputs["seed"]),
        "{:?}",
        first.inputs
    );
    let pair = sink.get("pair");
    assert!(!pair.custom);
    assert!(
        pair.options.dependencies.contains(&first.urn),
        "{:?}",
        pair.options
    );
    let child = sink.get("pair-child");
    assert_eq!(
        child.urn,
        "urn:pulumi:dev::monitor-ts::test:index:Pair$local:index:Random::pair-child"
    );
    let second = sink.get("second");
    assert_eq!(second.inputs["length"], json!(9));
    assert_eq!(
        second.options.property_dependencies["length"],
        vec![first.urn.clone()]
    );
    assert_eq!(
        sink.outputs_of(&pair.urn)["childResult"],
        json!("fake-pair-child")
    );
    let outputs = sink.outputs_of(TS_STACK);
    assert_eq!(outputs["result"], json!("fake-first"));
    assert_eq!(outputs["secondLength"], json!(9));
    assert_eq!(outputs["password"], value::secret(json!("hunter2")));
}

fn setup_lines(run: &Run) -> Vec<String> {
    run.lines
        .iter()
        .filter(|l| l.stream == Stream::Setup)
        .map(|l| l.text.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_virtualenv_is_made_from_requirements_txt_when_missing() {
    let dir = program("python-basic", None);
    let sink = Recorder::new(false);
    let run = run_program(dir.path(), "monitor-py", sink.clone(), |_| {}).await;
    run.result
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{:#?}", run.lines));
    let setup = setup_lines(&run);
    assert!(
        setup
            .iter()
            .any(|l| l.starts_with("creating the virtualenv")),
        "{setup:#?}"
    );
    assert!(
        setup
            .iter()
            .any(|l| l.starts_with("installing requirements.txt")),
        "{setup:#?}"
    );
    assert!(dir.path().join("venv/bin/python").exists());
    assert_eq!(sink.get("first").type_token, "local:index:Random");

    // The second run uses the virtualenv as it is.
    let run = run_program(dir.path(), "monitor-py", Recorder::new(false), |_| {}).await;
    run.result
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{:#?}", run.lines));
    assert_eq!(setup_lines(&run), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_preview_after_npm_install_sees_unknowns() {
    node_modules(); // warms npm's cache, so the install below needs no downloads
    let dir = program("nodejs-basic", None);
    let sink = Recorder::new(true);
    let run = run_program(dir.path(), "monitor-ts", sink.clone(), |_| {}).await;
    run.result
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}\n{:#?}", run.lines));
    let setup = setup_lines(&run);
    assert!(
        setup
            .iter()
            .any(|l| l.starts_with("installing node_modules: npm install")),
        "{setup:#?}"
    );
    assert!(
        dir.path()
            .join("node_modules/@pulumi/pulumi/cmd/run")
            .exists()
    );
    let outputs = sink.outputs_of(TS_STACK);
    assert!(value::is_unknown(&outputs["result"]), "{outputs:?}");
    assert!(value::contains_secret(&outputs["password"]), "{outputs:?}");
}

/// Holds every custom resource's registration until `want` of them are waiting at once (or a
/// deadline passes), then answers them all; notes the most that were ever waiting together.
struct InFlightGate {
    want: usize,
    waiting: Mutex<usize>,
    most: Mutex<usize>,
    released: tokio::sync::watch::Sender<bool>,
}

#[tonic::async_trait]
impl RegistrationSink for InFlightGate {
    async fn register(&self, r: Registration) -> Result<RegisteredResource, MonitorError> {
        if r.custom {
            let now = {
                let mut waiting = self.waiting.lock().unwrap();
                *waiting += 1;
                *waiting
            };
            {
                let mut most = self.most.lock().unwrap();
                *most = (*most).max(now);
            }
            if now >= self.want {
                self.released.send_replace(true);
            }
            let mut released = self.released.subscribe();
            let _ = tokio::time::timeout(Duration::from_secs(30), released.wait_for(|r| *r)).await;
            // Past the deadline the rest go through at once: the test fails on `most`, not on
            // a hang.
            self.released.send_replace(true);
            *self.waiting.lock().unwrap() -= 1;
        }
        Ok(RegisteredResource {
            id: r.custom.then(|| format!("id-{}", r.name)),
            outputs: r.inputs,
            ..Default::default()
        })
    }
    async fn register_outputs(&self, _: OutputsRegistration) -> Result<(), MonitorError> {
        Ok(())
    }
    async fn read(&self, r: ReadRequest) -> Result<ReadResult, MonitorError> {
        Err(MonitorError::Engine(format!(
            "unexpected read of {}",
            r.urn
        )))
    }
    async fn invoke(&self, i: InvokeRequest) -> Result<InvokeResult, MonitorError> {
        Err(MonitorError::Engine(format!(
            "unexpected invoke of {}",
            i.token
        )))
    }
    fn log(&self, _: LogEntry) {}
}

/// The Python SDK makes each resource call a blocking call on its event loop's default
/// executor, so that executor's size is how many registrations a program has in flight. Pulumi's
/// Python host sizes it at four threads per `--parallel` step; asyncio's default (at most 32
/// threads, six on two cores) would hold a program to a few registrations at a time, each
/// waiting for the engine's whole step before the next could start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_program_has_four_registrations_per_parallel_step_in_flight() {
    let venv = python_venv();
    let dir = program("python-parallel", Some(&venv));
    let gate = Arc::new(InFlightGate {
        want: 48,
        waiting: Mutex::new(0),
        most: Mutex::new(0),
        released: tokio::sync::watch::channel(false).0,
    });
    let monitor = serve_with_sink(
        MonitorConfig::new("monitor-py-parallel", "dev"),
        gate.clone(),
    )
    .await
    .unwrap();
    let mut request = RunRequest::new(ProjectInfo::load(dir.path()).unwrap(), "dev");
    request.parallel = 16;
    run(&request, &monitor).await.unwrap();
    assert_eq!(
        *gate.most.lock().unwrap(),
        48,
        "all 48 independent registrations are in flight at once under --parallel 16"
    );
}
