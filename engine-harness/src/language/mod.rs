//! Language hosts: running a Python or Node.js (JavaScript, TypeScript) program against a
//! [`RunningMonitor`] the way Pulumi's language hosts start them (see [`crate::monitor`] for
//! the flags and environment each SDK reads).
//!
//! | module | job |
//! |---|---|
//! | [`project`] | the run settings of `Pulumi.yaml`: runtime, its options, `main` |
//! | `python` | the virtualenv (made from `requirements.txt` when missing) and the runner script |
//! | `node` | `npm install` when needed and the SDK's runner from `node_modules/@pulumi/pulumi` |
//! | [`process`] | processes, streamed output and time limits |
//! | [`plugin`] | `pulumi-language-<runtime>` plugins, found and driven over `LanguageRuntime` |
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use engine_harness::language::{ProjectInfo, RunRequest, run};
//! use engine_harness::monitor::{MonitorConfig, RegistrationSink, serve_with_sink};
//! # fn engine() -> std::sync::Arc<dyn RegistrationSink> { unimplemented!() }
//! // `engine()`: the `RegistrationSink` that answers the program's requests.
//! let monitor = serve_with_sink(MonitorConfig::new("app", "dev"), engine()).await?;
//! let project = ProjectInfo::load(std::path::Path::new("./app"))?;
//! run(&RunRequest::new(project, "dev"), &monitor).await?;
//! # Ok(()) }
//! ```

mod error;
mod node;
pub mod plugin;
pub mod process;
pub mod project;
mod python;

pub use error::LanguageError;
pub use process::{OutputHandler, OutputLine, Stream, stderr_handler};
pub use project::{ProjectInfo, Runtime};

use crate::monitor::RunningMonitor;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What to run and with which settings.
#[derive(Clone)]
pub struct RunRequest {
    /// The project: its directory and the run settings of its `Pulumi.yaml`, read once by the
    /// caller ([`ProjectInfo::load`], or the engine's project loader).
    pub project: ProjectInfo,
    /// The stack name.
    pub stack: String,
    /// The organization name the SDKs report (`pulumi.get_organization()`).
    pub organization: String,
    /// True for a preview: the SDKs then expect unknowns.
    pub dry_run: bool,
    /// How many resource operations the SDK may have in flight.
    pub parallel: u32,
    /// Configuration, `<namespace>:<key>` to its value as text (objects as JSON), as the SDKs
    /// read it from `PULUMI_CONFIG`.
    pub config: BTreeMap<String, String>,
    /// The configuration keys that are secret (`PULUMI_CONFIG_SECRET_KEYS`).
    pub secret_keys: BTreeSet<String>,
    /// How long the program may take to make its first call to the monitor (setup such as
    /// `pip install` is not counted).
    pub connect_timeout: Duration,
    /// How long the whole program may run.
    pub timeout: Duration,
    /// Receives the program's output and setup progress.
    pub output: OutputHandler,
    /// Cancelled when the run is interrupted: the program's process group gets SIGINT, then
    /// SIGKILL after [`process::STOP_GRACE`], and the run ends with
    /// [`LanguageError::Interrupted`].
    pub interrupt: CancellationToken,
}

impl std::fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunRequest")
            .field("project_dir", &self.project.dir)
            .field("stack", &self.stack)
            .field("dry_run", &self.dry_run)
            .field("config_keys", &self.config.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RunRequest {
    /// Runs `project` as stack `stack`: not a preview, no configuration,
    /// 16 operations in parallel, 60 s to connect, 10 minutes in all, output to stderr.
    pub fn new(project: ProjectInfo, stack: impl Into<String>) -> Self {
        RunRequest {
            project,
            stack: stack.into(),
            organization: "organization".into(),
            dry_run: false,
            parallel: 16,
            config: BTreeMap::new(),
            secret_keys: BTreeSet::new(),
            connect_timeout: Duration::from_secs(60),
            timeout: Duration::from_secs(600),
            output: stderr_handler(),
            interrupt: CancellationToken::new(),
        }
    }
}

/// The flags both SDK runners take, with Python's and Node's shared spelling.
fn sdk_flags(
    info: &ProjectInfo,
    request: &RunRequest,
    address: &str,
    pwd: &Path,
) -> Vec<(&'static str, String)> {
    vec![
        ("monitor", address.to_string()),
        ("engine", address.to_string()),
        ("organization", request.organization.clone()),
        ("project", info.name.clone()),
        ("stack", request.stack.clone()),
        ("root-directory", info.dir.display().to_string()),
        ("pwd", pwd.display().to_string()),
        ("parallel", request.parallel.to_string()),
    ]
}

/// Runs the program of `request.project` against `monitor` until it exits. A program that
/// fails is an error carrying what it logged as errors (else the end of its stderr).
pub async fn run(request: &RunRequest, monitor: &RunningMonitor) -> Result<(), LanguageError> {
    let info = &request.project;
    if info.runtime == Runtime::Yaml {
        return Err(LanguageError::Project {
            file: info.dir.join("Pulumi.yaml"),
            message: "a YAML program is evaluated by the engine itself, not run as a process"
                .into(),
        });
    }
    // A language plugin, when one is installed, runs the program as under Pulumi; the built-in
    // hosts are for when there is none.
    let (found, searched) = plugin::find(info)?;
    if let Some(found) = found {
        return plugin::run(&found, info, request, monitor).await;
    }
    let mut cmd = match info.runtime {
        Runtime::Python => python::command(info, request, monitor.address()).await?,
        Runtime::NodeJs => node::command(info, request, monitor.address()).await?,
        Runtime::Yaml | Runtime::Go | Runtime::Dotnet | Runtime::Java => {
            return Err(LanguageError::NoLanguagePlugin {
                file: info.dir.join("Pulumi.yaml"),
                runtime: info.runtime.name().to_string(),
                searched: searched.join(", "),
            });
        }
    };
    let secret_keys: Vec<&String> = request.secret_keys.iter().collect();
    cmd.env(
        "PULUMI_CONFIG",
        serde_json::to_string(&request.config).unwrap_or_default(),
    )
    .env(
        "PULUMI_CONFIG_SECRET_KEYS",
        serde_json::to_string(&secret_keys).unwrap_or_default(),
    );
    let limits = process::Limits {
        connect: request.connect_timeout,
        total: request.timeout,
        interrupt: request.interrupt.clone(),
    };
    let (status, stderr_tail) =
        process::supervise(&info.dir, cmd, &request.output, monitor.connected(), limits).await?;
    if status.success() {
        return Ok(());
    }
    let errors = monitor.logged_errors();
    let message = if errors.is_empty() {
        if stderr_tail.is_empty() {
            "it printed no error".to_string()
        } else {
            stderr_tail
        }
    } else {
        errors.join("\n")
    };
    Err(LanguageError::ProgramFailed {
        program: info.dir.clone(),
        exit_code: status.code(),
        message,
    })
}
