//! The serving shim: the process contract between a provider plugin and the engine.
//!
//! A plugin binds `127.0.0.1:0`, prints the port as the first and only line of stdout, serves
//! gRPC (the provider and the standard health service) and shuts down cleanly on SIGINT or
//! SIGTERM: in-flight calls see cancellation and get a bounded grace period, then the process
//! exits 0.
//!
//! A plugin dies with its engine. On Linux the process asks the kernel for SIGTERM when its
//! parent dies (`PR_SET_PDEATHSIG`), which covers every way the engine can go, SIGKILL
//! included, with no polling; the SIGTERM then takes the graceful path above. A parent that
//! died between the plugin's start and the request is caught by comparing the parent pid
//! before and after it (one that died before `main` ran leaves no reader for the port line,
//! whose write then fails). Watching the engine's connection was not chosen: a plugin in attach mode has none until
//! `Attach`, and an engine may close and reopen connections while it still runs. The kernel
//! sends the signal when the *thread* that spawned the plugin ends, so an engine must launch
//! plugins from a thread that lives as long as it needs them (tokio's worker threads and Go's
//! runtime threads do; a short-lived `spawn_blocking` thread would not). Elsewhere than Linux
//! the plugin relies on the engine to stop it.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use pulumirpc::resource_provider_server::ResourceProviderServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

use crate::logger::Logger;
use crate::provider::ResourceProvider;
use crate::server::ProviderService;

/// Why a plugin could not serve.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Binding the loopback listener failed.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// Writing the port line to stdout failed (the engine went away?).
    #[error("cannot write the port to stdout: {0}")]
    PortLine(#[source] std::io::Error),
    /// The process that launched the plugin (the engine) exited before the plugin could start.
    #[error("the engine that launched this plugin has exited; not serving")]
    EngineGone,
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The command line the engine passes to a plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginArgs {
    /// The engine's address (`127.0.0.1:PORT`); `None` means attach mode: wait for `Attach`.
    pub engine_address: Option<String>,
    /// `-v=N`: the engine's verbosity.
    pub verbosity: u32,
    /// `--logtostderr` was given.
    pub log_to_stderr: bool,
    /// `--tracing <endpoint>`.
    pub tracing: Option<String>,
    /// A command for a person rather than the engine (`--help`, `--version`, `schema`).
    pub command: Option<PluginCommand>,
}

/// What a person can ask the plugin binary, instead of serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PluginCommand {
    /// `--help` or `-h`: how to run it.
    Help,
    /// `--version` or `-V`: the version.
    Version,
    /// `schema` (as the only positional argument): print the package schema and exit,
    /// without an engine.
    Schema,
}

impl PluginArgs {
    /// Parses the arguments after the program name. Unknown flags are tolerated; the engine's
    /// address is the first positional argument that looks like `host:port` (so the value of an
    /// unknown two-token flag is not mistaken for it), else the first positional argument.
    ///
    /// ```
    /// use provider_sdk::PluginArgs;
    /// let args = PluginArgs::parse(["--logtostderr", "-v=9", "--tracing", "x", "--new-flag", "127.0.0.1:5"]);
    /// assert_eq!(args.engine_address.as_deref(), Some("127.0.0.1:5"));
    /// assert_eq!(args.verbosity, 9);
    /// assert_eq!(args.tracing.as_deref(), Some("x"));
    /// let args = PluginArgs::parse(["--future-flag", "its-value", "127.0.0.1:5"]);
    /// assert_eq!(args.engine_address.as_deref(), Some("127.0.0.1:5"));
    /// assert_eq!(args.command, None);
    /// // For people: `--help`, `--version`, and `schema`, answered without an engine.
    /// use provider_sdk::PluginCommand;
    /// assert_eq!(PluginArgs::parse(["--help"]).command, Some(PluginCommand::Help));
    /// assert_eq!(PluginArgs::parse(["schema"]).command, Some(PluginCommand::Schema));
    /// ```
    pub fn parse<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut parsed = PluginArgs::default();
        let mut args = args.into_iter().map(|a| a.as_ref().to_string());
        let mut positionals = Vec::new();
        while let Some(arg) = args.next() {
            let flag = arg.trim_start_matches('-');
            if arg.starts_with('-') {
                let (name, value) = match flag.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (flag, None),
                };
                match name {
                    "help" | "h" if value.is_none() => parsed.command = Some(PluginCommand::Help),
                    "version" | "V" if value.is_none() => {
                        parsed.command = Some(PluginCommand::Version)
                    }
                    "logtostderr" => parsed.log_to_stderr = true,
                    "v" => parsed.verbosity = value.and_then(|v| v.parse().ok()).unwrap_or(0),
                    "tracing" => parsed.tracing = value.or_else(|| args.next()),
                    _ => tracing::debug!("ignoring unknown flag {arg}"),
                }
            } else {
                positionals.push(arg);
            }
        }
        // `schema` is never an engine address (the engine passes `host:port`).
        if positionals.len() == 1 && positionals[0] == "schema" && parsed.command.is_none() {
            parsed.command = Some(PluginCommand::Schema);
            return parsed;
        }
        let looks_like_address = |a: &String| {
            a.rsplit_once(':')
                .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
        };
        parsed.engine_address = match positionals.iter().position(looks_like_address) {
            Some(i) => Some(positionals.swap_remove(i)),
            None => positionals.into_iter().next(),
        };
        parsed
    }
}

/// A provider plugin ready to serve.
///
/// ```no_run
/// # use provider_sdk::{async_trait, Context, Result, ResourceProvider, ops::*};
/// # struct MyProvider;
/// # #[async_trait]
/// # impl ResourceProvider for MyProvider {
/// #     async fn create(&self, _: &Context, r: CreateRequest) -> Result<CreateResponse> { Ok(CreateResponse::new("id", r.properties)) }
/// #     async fn read(&self, _: &Context, r: ReadRequest) -> Result<ReadResponse> { Ok(ReadResponse::found(r.id, r.properties, r.inputs)) }
/// #     async fn update(&self, _: &Context, r: UpdateRequest) -> Result<UpdateResponse> { Ok(UpdateResponse::new(r.news)) }
/// #     async fn delete(&self, _: &Context, _: DeleteRequest) -> Result<()> { Ok(()) }
/// # }
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     provider_sdk::Plugin::new(MyProvider, env!("CARGO_PKG_VERSION")).main().await
/// }
/// ```
pub struct Plugin<P> {
    provider: Arc<P>,
    version: String,
    grace: Duration,
}

impl<P: ResourceProvider> Plugin<P> {
    /// A plugin serving `provider`, reporting `version` (usually `env!("CARGO_PKG_VERSION")`).
    pub fn new(provider: P, version: impl Into<String>) -> Self {
        Plugin {
            provider: Arc::new(provider),
            version: version.into(),
            grace: Duration::from_secs(3),
        }
    }

    /// How long in-flight calls may run after a shutdown signal (default 3 s; the engine
    /// kills a plugin 5 s after SIGINT).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The whole plugin process: logs to stderr, reads the engine's arguments from argv,
    /// serves until SIGINT or SIGTERM. Returns the exit code (0 after a clean shutdown).
    pub async fn main(self) -> ExitCode {
        let mut argv = std::env::args();
        let program = argv.next().unwrap_or_default();
        let args = PluginArgs::parse(argv);
        init_tracing(args.verbosity);
        if let Some(command) = args.command {
            return self.answer(command, &program).await;
        }
        match self.serve_process(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }

    /// Answers a person's command on stdout (no port line, no serving).
    async fn answer(self, command: PluginCommand, program: &str) -> ExitCode {
        let name = std::path::Path::new(program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.to_string());
        match command {
            PluginCommand::Help => {
                println!(
                    "{name} {version}: a Pulumi resource provider plugin.\n\n\
                     An engine (Pulumi, engine-harness) starts it as `{name} [flags] <engine-address>`;\n\
                     it then prints its port and serves gRPC until SIGINT or SIGTERM.\n\n\
                     Usage:\n  \
                     {name} schema      print the package schema (JSON) and exit\n  \
                     {name} --version   print the version and exit\n  \
                     {name} --help      print this help and exit\n\n\
                     Engine flags: --logtostderr, -v=N, --tracing <endpoint>; no engine address: attach mode.",
                    version = self.version
                );
                ExitCode::SUCCESS
            }
            PluginCommand::Version => {
                println!("{}", self.version);
                ExitCode::SUCCESS
            }
            PluginCommand::Schema => {
                let ctx = crate::Context::detached("");
                let req = crate::ops::GetSchemaRequest::default();
                match self.provider.get_schema(&ctx, req).await {
                    Ok(r) => {
                        // Pretty when it is JSON (it should be), as it came otherwise.
                        match serde_json::from_str::<serde_json::Value>(&r.schema) {
                            Ok(v) => {
                                println!("{}", serde_json::to_string_pretty(&v).unwrap_or(r.schema))
                            }
                            Err(_) => println!("{}", r.schema),
                        }
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("error: {name} has no schema to print: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
        }
    }

    /// Serves as a plugin process with `args`: binds loopback, prints the port line, serves
    /// until a shutdown signal, or until the engine that launched it dies (on Linux, see the
    /// module docs).
    pub async fn serve_process(self, args: PluginArgs) -> Result<(), ServeError> {
        exit_with_parent()?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(ServeError::Bind)?;
        let port = listener.local_addr().map_err(ServeError::Bind)?.port();
        // Install the handlers before the port line: the engine may signal as soon as it has
        // read the port, and an uninstalled SIGINT handler would kill the process (not exit 0).
        let signals = install_signal_handlers();
        print_port_line(port).map_err(ServeError::PortLine)?;
        let stop = CancellationToken::new();
        if let Some(signals) = signals {
            tokio::spawn(watch_signals(signals, stop.clone()));
        }
        self.serve_on(listener, args.engine_address, stop).await
    }

    /// Serves on an already-bound `listener` until `stop` is cancelled (for in-process use and
    /// tests). In-flight calls are cancelled when `stop` fires and get the grace period.
    pub async fn serve_on(
        self,
        listener: TcpListener,
        engine_address: Option<String>,
        stop: CancellationToken,
    ) -> Result<(), ServeError> {
        let local: Option<SocketAddr> = listener.local_addr().ok();
        let logger = Logger::stderr();
        match &engine_address {
            Some(address) => logger.connect(address),
            None => tracing::info!("no engine address given: attach mode, waiting for Attach"),
        }
        // Cancelled by `stop`; each call's context derives from it (and from the engine's
        // Cancel, see `ProviderService`).
        let cancel = CancellationToken::new();
        let service = ProviderService::new(self.provider, self.version, cancel.clone(), logger);
        let service = ResourceProviderServer::new(service)
            .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
            .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<ResourceProviderServer<ProviderService<P>>>()
            .await;

        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let stopping = stop.clone();
        let server = tonic::transport::Server::builder()
            .max_concurrent_streams(Some(8192))
            .add_service(health_service)
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async move {
                stopping.cancelled().await;
                cancel.cancel();
            });
        tokio::pin!(server);
        tracing::info!(?local, "serving");
        tokio::select! {
            result = &mut server => result?,
            _ = stop.cancelled() => match tokio::time::timeout(self.grace, &mut server).await {
                Ok(result) => result?,
                Err(_) => tracing::warn!("in-flight calls did not finish within {:?}; exiting anyway", self.grace),
            },
        }
        tracing::info!("shut down");
        Ok(())
    }
}

/// Asks the kernel to send SIGTERM to this process when its parent dies; fails with
/// [`ServeError::EngineGone`] if the parent died before the request took effect.
#[cfg(target_os = "linux")]
fn exit_with_parent() -> Result<(), ServeError> {
    use rustix::process::{Signal, getppid, set_parent_process_death_signal};
    let parent = getppid();
    if let Err(e) = set_parent_process_death_signal(Some(Signal::TERM)) {
        tracing::warn!(
            "cannot ask to be stopped when the engine dies (prctl: {e}); the plugin may outlive it"
        );
        return Ok(());
    }
    // Reparenting happens when the parent dies, so a changed parent means it died in between.
    if getppid() != parent {
        return Err(ServeError::EngineGone);
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn exit_with_parent() -> Result<(), ServeError> {
    Ok(())
}

/// Writes the port line, then points fd 1 at stderr so that nothing printed later by provider
/// code can reach the engine's stdout reader.
fn print_port_line(port: u16) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{port}")?;
    out.flush()?;
    // SAFETY: dup2 on two descriptors this process owns; the stdout lock is held, so no Rust
    // code is writing fd 1 concurrently.
    let redirected = unsafe { libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) };
    if redirected < 0 {
        tracing::warn!(
            "could not redirect stdout to stderr: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

type Signals = (tokio::signal::unix::Signal, tokio::signal::unix::Signal);

/// SIGINT and SIGTERM streams; from this call on, neither signal kills the process by default.
fn install_signal_handlers() -> Option<Signals> {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(int), Ok(term)) => Some((int, term)),
        _ => {
            tracing::warn!("cannot install signal handlers; the plugin stops only when killed");
            None
        }
    }
}

async fn watch_signals((mut int, mut term): Signals, stop: CancellationToken) {
    tokio::select! {
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
    }
    stop.cancel();
    // A second signal ends the process at once.
    tokio::select! {
        _ = int.recv() => {},
        _ = term.recv() => {},
    }
    tracing::warn!("second signal: exiting now");
    std::process::exit(0);
}

/// Logs to stderr through `tracing`; `RUST_LOG` wins over the engine's `-v=N`.
fn init_tracing(verbosity: u32) {
    let default = match verbosity {
        0 => "warn",
        1..=5 => "info",
        6..=8 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
