//! `engine-harness`: run Pulumi YAML programs against provider plugins.
//!
//! ```text
//! engine-harness preview|up|refresh|destroy [--cwd DIR] [--stack NAME] [--yes] [--parallel N] [--json] [--clear-pending]
//!     [--import-pending-creates URN=ID]... [--import-despite-differences] [--target URN [--target-dependents]]... [--exclude URN [--exclude-dependents]]...
//!     [--replace URN]... [--refresh] [--expect-no-changes] [--show-secrets] [--diff] [--skip-preview] [--message M]
//! engine-harness config [set KEY VALUE [--secret] | get KEY | rm KEY] [--show-secrets] [--cwd DIR] [--stack NAME]
//! engine-harness stack export [--file F] [--show-secrets] | stack import --file F
//! engine-harness stack output [NAME] [--json] [--show-secrets] | stack ls | stack init NAME | stack select NAME | stack rm [NAME] [--force]
//! engine-harness state delete URN [--force] [--target-dependents] | state unprotect (URN | --all)
//! engine-harness import TYPE NAME ID [--provider URN] [--protect=false]
//! engine-harness watch [--preview] [--cwd DIR] [--stack NAME]
//! engine-harness cancel [--stack NAME] [--force]
//! engine-harness conformance [ARGS...] [--upgrade-from OLD_PLUGIN]
//! engine-harness plugin install resource NAME VERSION --file TARBALL | plugin ls | plugin rm KIND NAME [VERSION]
//! engine-harness package pack CRATE_DIR --out DIR | package get-schema PLUGIN | package diff-schema OLD NEW [--json]
//! ```
//!
//! Exit codes: 0 success; 1 one or more steps failed (state saved); 2 invalid command line,
//! program or configuration; 3 pending operations from an interrupted run (see the message,
//! then use --clear-pending); 4 a provider plugin could not be found, built, started or
//! configured; 5 the state could not be read or written; 6 the secrets passphrase
//! (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE) is missing or wrong, nothing
//! written; 7 the stack is locked by another command (the message names it; nothing written);
//! 8 --expect-no-changes and the run changed something; 130 interrupted by Ctrl-C or `cancel`
//! (state saved); 143 stopped by SIGTERM (state saved). With no --stack, the stack
//! `stack select` chose, else `dev`.

mod import_cmd;
mod run_flags;
mod stack_cmds;
mod stack_manage;
mod state_cmds;
mod watch;
mod workspace;

use clap::{Args, Parser, Subcommand};
use engine_harness::Error;
use engine_harness::deploy::{Operation, Options, run};
use engine_harness::display::Display;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::signal::unix::SignalKind;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "engine-harness", version, about = "A small engine that drives Pulumi provider plugins", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 steps failed (state saved); 2 invalid command line, program or config; \
3 pending operations from an interrupted run; 4 plugin failure; 5 state file error; \
6 secrets passphrase (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE) missing or wrong, nothing written; \
7 stack locked by another command; 8 --expect-no-changes and the run changed something; \
130 interrupted by Ctrl-C or `cancel` (state saved); 143 stopped by SIGTERM (state saved).";

#[derive(Subcommand)]
enum Command {
    /// Show what `up` would change, without changing anything.
    Preview(Common),
    /// Create, update, replace and delete resources to match the program.
    Up(Common),
    /// Read every resource and record what really exists.
    Refresh(Common),
    /// Delete every resource of the stack.
    Destroy(Common),
    /// Show or change the stack's configuration (Pulumi.<stack>.yaml); lists all values without a subcommand.
    Config(ConfigCmd),
    /// Manage stacks: outputs, list, create, select, remove, export and import the state.
    Stack(StackCmd),
    /// Edit the state without touching resources: delete a resource from it, unprotect.
    State(StateCmd),
    /// Adopt an existing resource into the state and print the YAML to add to the program.
    Import(ImportCmd),
    /// Run `up` (or `preview`) whenever the program or a provider crate of plugins.providers
    /// changes, rebuilding the crate with cargo first.
    Watch(watch::WatchArgs),
    /// Stop the command holding the stack's lock, as Ctrl-C stops it (run it twice to stop at once).
    Cancel(CancelCmd),
    /// Run the provider conformance kit (arguments, including --help, are passed through).
    #[command(disable_help_flag = true)]
    Conformance {
        /// Arguments for the conformance kit.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Install, list and remove plugins in the plugin cache ($PULUMI_HOME/plugins), as `pulumi plugin` does.
    Plugin(engine_harness::package::cli::PluginCmd),
    /// Release a provider: pack its release files, print or compare package schemas.
    Package(engine_harness::package::cli::PackageCmd),
}

#[derive(Args)]
struct Common {
    /// The project directory (holding Pulumi.yaml).
    #[arg(long, default_value = ".")]
    cwd: PathBuf,
    /// The stack name (letters, digits, `-`, `_`, `.`; default: the selected stack, else `dev`).
    #[arg(long, short = 's', value_parser = stack_name)]
    stack: Option<String>,
    /// Do not ask for confirmation (required for up, refresh and destroy: this tool never prompts).
    #[arg(long, short = 'y')]
    yes: bool,
    /// At most this many resource operations at once.
    #[arg(long, short = 'p', default_value_t = 16)]
    parallel: usize,
    /// Emit one JSON event per line on stdout instead of human output.
    #[arg(long)]
    json: bool,
    /// Drop pending operations left by an interrupted run (after you have checked them); a
    /// pending create dropped while its resource exists leaves that resource unknown to the state.
    #[arg(long)]
    clear_pending: bool,
    /// `refresh` only: import a pending create whose resource the provider did create, as
    /// URN=ID (the provider's id); the provider's Read must find it. Repeatable.
    #[arg(long, value_name = "URN=ID", value_parser = urn_id)]
    import_pending_creates: Vec<(String, String)>,
    /// With --import-pending-creates: import even when what the provider reads at the id
    /// differs from the inputs the create began with (after checking it is that resource).
    #[arg(long, requires = "import_pending_creates")]
    import_despite_differences: bool,
    /// Where state is kept (default: <cwd>/.pulumi-harness).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    run: run_flags::RunFlags,
}

/// Where the stack is: the same flags as the other subcommands.
#[derive(Args)]
struct Location {
    /// The project directory (holding Pulumi.yaml).
    #[arg(long, default_value = ".", global = true)]
    cwd: PathBuf,
    /// The stack name (letters, digits, `-`, `_`, `.`; default: the selected stack, else `dev`).
    #[arg(long, short = 's', global = true, value_parser = stack_name)]
    stack: Option<String>,
    /// Where state is kept (default: <cwd>/.pulumi-harness).
    #[arg(long, global = true)]
    state_dir: Option<PathBuf>,
}

impl Location {
    /// The stack location, `name` (a positional stack name) first, then --stack, then the
    /// selected stack.
    fn resolve(self, name: Option<String>) -> Result<stack_cmds::Location, Error> {
        let stack = workspace::resolve(&self.cwd, self.state_dir.as_deref(), name.or(self.stack))?;
        Ok(stack_cmds::Location {
            cwd: self.cwd,
            stack,
            state_dir: self.state_dir,
        })
    }
}

#[derive(Args)]
struct ConfigCmd {
    #[command(subcommand)]
    action: Option<ConfigAction>,
    /// List secret values in clear instead of `[secret]`.
    #[arg(long)]
    show_secrets: bool,
    #[command(flatten)]
    loc: Location,
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Set a value (KEY without `namespace:` belongs to the project).
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// Encrypt the value with the stack's passphrase (`secure: v1:…`).
        #[arg(long)]
        secret: bool,
        /// KEY is a path into a map or list: `outer.inner`, `names[0]`, `["a.b"]`.
        #[arg(long)]
        path: bool,
    },
    /// Print a value (a secret in clear; a map or list as JSON).
    Get {
        /// The key.
        key: String,
        /// KEY is a path into a map or list.
        #[arg(long)]
        path: bool,
    },
    /// Remove a value.
    Rm {
        /// The key.
        key: String,
        /// KEY is a path into a map or list.
        #[arg(long)]
        path: bool,
    },
}

#[derive(Args)]
struct StackCmd {
    #[command(subcommand)]
    action: StackAction,
    #[command(flatten)]
    loc: Location,
}

#[derive(Args)]
struct CancelCmd {
    /// Also remove a lock held on another host, or unreadable (only once that command has ended).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    loc: Location,
}

#[derive(Subcommand)]
enum StackAction {
    /// Write the state as a version 3 deployment (secrets encrypted unless --show-secrets).
    Export {
        /// Write to this file (mode 0600) instead of stdout.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Write secrets in clear.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Replace the state with a deployment written by `pulumi stack export` or `stack export`.
    Import {
        /// The deployment file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Print the stack's outputs (one, with NAME), secrets as `[secret]` unless --show-secrets.
    Output {
        /// The output to print (its value alone).
        name: Option<String>,
        /// Print JSON.
        #[arg(long, short = 'j')]
        json: bool,
        /// Print secret values in clear.
        #[arg(long)]
        show_secrets: bool,
    },
    /// List the project's stacks with their resource counts and last update (`*`: current).
    #[command(alias = "list")]
    Ls,
    /// Create an empty stack and make it current.
    Init {
        /// The stack name.
        #[arg(value_parser = stack_name)]
        name: String,
    },
    /// Make a stack current: the default of --stack for this project.
    Select {
        /// The stack name.
        #[arg(value_parser = stack_name)]
        name: String,
        /// Create it if it does not exist.
        #[arg(long, short = 'c')]
        create: bool,
    },
    /// Remove a stack's state and stack file; refused while it has resources unless --force.
    #[command(alias = "remove")]
    Rm {
        /// The stack (default: --stack, else the current stack).
        #[arg(value_parser = stack_name)]
        name: Option<String>,
        /// Remove it even if it still has resources (they are left as they are).
        #[arg(long, short = 'f')]
        force: bool,
        /// Keep Pulumi.<stack>.yaml.
        #[arg(long)]
        preserve_config: bool,
        /// Do not ask for confirmation (this tool never prompts).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Args)]
struct StateCmd {
    #[command(subcommand)]
    action: StateAction,
    #[command(flatten)]
    loc: Location,
}

#[derive(Subcommand)]
enum StateAction {
    /// Delete a resource from the state (the real resource is left alone).
    Delete {
        /// The resource's URN.
        urn: String,
        /// Delete it even if it is protected.
        #[arg(long)]
        force: bool,
        /// Also delete the resources that depend on it.
        #[arg(long)]
        target_dependents: bool,
        /// Do not ask for confirmation (this tool never prompts).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Unprotect a resource (or all), so that destroy or up may delete it.
    Unprotect {
        /// The resource's URN.
        urn: Option<String>,
        /// Unprotect every resource.
        #[arg(long)]
        all: bool,
        /// Do not ask for confirmation (this tool never prompts).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Args)]
struct ImportCmd {
    /// The resource's type token (`local:index:File`).
    #[arg(value_name = "TYPE")]
    type_token: String,
    /// The name it gets in the stack.
    name: String,
    /// The provider's id of the existing resource.
    id: String,
    /// Read it with this explicit provider resource of the state (its URN).
    #[arg(long, value_name = "URN")]
    provider: Option<String>,
    /// Record it as protected (the default, as in Pulumi).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    protect: bool,
    /// Emit JSON events on stdout (the code to add then goes to stderr).
    #[arg(long)]
    json: bool,
    /// Do not ask for confirmation (this tool never prompts).
    #[arg(long, short = 'y')]
    yes: bool,
    #[command(flatten)]
    loc: Location,
}

/// Parses `--stack`: a name that could lead outside the state folder is a usage error (exit 2).
fn stack_name(s: &str) -> Result<String, String> {
    engine_harness::program::validate_stack_name(s).map(|()| s.to_string())
}

/// Parses `URN=ID` (a URN holds no `=`; an id may).
fn urn_id(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((urn, id)) if urn.starts_with("urn:pulumi:") && !id.is_empty() => {
            Ok((urn.to_string(), id.to_string()))
        }
        _ => Err(format!(
            "`{s}`: write URN=ID, e.g. urn:pulumi:dev::proj::local:index:File::f=/abs/path/f.txt"
        )),
    }
}

/// Runs a `config` or `stack` command and maps its result to an exit code.
fn local_command(f: impl FnOnce() -> Result<(), Error>) -> ExitCode {
    match f() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ENGINE_HARNESS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let (op, common) = match cli.command {
        Command::Conformance { args } => return provider_conformance::cli::run(args).await,
        Command::Plugin(c) => return engine_harness::package::cli::run_plugin(c),
        Command::Package(c) => return engine_harness::package::cli::run_package(c).await,
        Command::Config(c) => {
            let action = match c.action {
                None => stack_cmds::ConfigAction::List {
                    show_secrets: c.show_secrets,
                },
                Some(ConfigAction::Get { key, path }) => {
                    stack_cmds::ConfigAction::Get { key, path }
                }
                Some(ConfigAction::Rm { key, path }) => stack_cmds::ConfigAction::Rm { key, path },
                Some(ConfigAction::Set {
                    key,
                    value,
                    secret,
                    path,
                }) => stack_cmds::ConfigAction::Set {
                    key,
                    value,
                    secret,
                    path,
                },
            };
            return local_command(|| stack_cmds::config(&c.loc.resolve(None)?, action));
        }
        Command::Stack(c) => return stack_command(c),
        Command::State(c) => return local_command_async(state_command(c)).await,
        Command::Import(c) => {
            let loc = match c.loc.resolve(None) {
                Ok(l) => l,
                Err(e) => return local_command(|| Err(e)),
            };
            let spec = engine_harness::deploy::ImportSpec::new(&c.type_token, &c.name, &c.id)
                .provider(c.provider)
                .protect(c.protect);
            return local_command_async(import_cmd::import(import_cmd::ImportArgs {
                cwd: loc.cwd,
                stack: loc.stack,
                state_dir: loc.state_dir,
                spec,
                json: c.json,
            }))
            .await;
        }
        Command::Watch(w) => return watch::watch(w).await,
        Command::Cancel(c) => {
            return local_command(|| stack_cmds::cancel(&c.loc.resolve(None)?, c.force));
        }
        Command::Preview(c) => (Operation::Preview, c),
        Command::Up(c) => (Operation::Up, c),
        Command::Refresh(c) => (Operation::Refresh, c),
        Command::Destroy(c) => (Operation::Destroy, c),
    };
    if op != Operation::Preview && !common.yes {
        eprintln!(
            "error: this command changes resources; pass --yes to confirm (engine-harness never prompts). Use `preview` to see the plan first."
        );
        return ExitCode::from(2);
    }
    if common.parallel == 0 {
        eprintln!("error: --parallel must be at least 1");
        return ExitCode::from(2);
    }
    let token = CancellationToken::new();
    let signal_token = token.clone();
    let listen = |kind: SignalKind, name: &str| {
        tokio::signal::unix::signal(kind).map_err(|e| {
            eprintln!("error: cannot listen for {name}: {e}");
            ExitCode::from(5)
        })
    };
    let mut interrupts = match listen(SignalKind::interrupt(), "Ctrl-C") {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut terms = match listen(SignalKind::terminate(), "SIGTERM") {
        Ok(s) => s,
        Err(code) => return code,
    };
    tokio::spawn(async move {
        // SIGTERM (CI cancellation, `docker stop`) stops the run as Ctrl-C does.
        tokio::select! {
            _ = interrupts.recv() => {}
            _ = terms.recv() => {
                TERMINATED.store(true, Ordering::SeqCst);
                eprintln!("received SIGTERM: stopping as on Ctrl-C (running steps finish, the state is saved); a second signal stops at once");
            }
        }
        signal_token.cancel();
        tokio::select! {
            _ = interrupts.recv() => {}
            _ = terms.recv() => {}
        }
        // A second signal: stop at once. Nothing the engine started may outlive it.
        engine_harness::plugin::kill_all_launched();
        engine_harness::language::process::kill_all_programs();
        engine_harness::state::lock::release_all();
        eprintln!(
            "interrupted twice: stopped at once and killed the plugins and the program. The journal keeps every finished step; the next run reports any operation left pending."
        );
        std::process::exit(interrupted_code());
    });
    let stack = match workspace::resolve(&common.cwd, common.state_dir.as_deref(), common.stack) {
        Ok(s) => s,
        Err(e) => return local_command(|| Err(e)),
    };
    let display = Display::stdout(common.json);
    common.run.configure(&display);
    let mut opts = Options::new(&common.cwd, &stack, op)
        .parallel(common.parallel)
        .display(display.clone())
        .clear_pending(common.clear_pending)
        .import_pending_creates(common.import_pending_creates)
        .import_despite_differences(common.import_despite_differences)
        .interrupt(token);
    if let Some(dir) = &common.state_dir {
        opts = opts.state_dir(dir);
    }
    let opts = match common.run.apply(op, opts) {
        Ok(o) => o,
        Err(e) => return local_command(|| Err(e)),
    };
    let result = run(opts).await;
    display.settle();
    if op != Operation::Preview
        && !matches!(
            result,
            Err(Error::Program { .. }
                | Error::Usage(_)
                | Error::PendingOperations(_)
                | Error::Locked(_))
        )
        && let Err(e) = stack_manage::record_update(
            &common
                .state_dir
                .clone()
                .unwrap_or_else(|| engine_harness::deploy::default_state_dir(&common.cwd)),
            &stack,
            op_name(op),
            common.run.message(),
            if result.is_ok() {
                "succeeded"
            } else {
                "failed"
            },
        )
    {
        eprintln!("warning: the update ran but its history line was not written: {e}");
    }
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            report(&display, &e);
            match e.exit_code() {
                130 => ExitCode::from(interrupted_code() as u8),
                code => ExitCode::from(code as u8),
            }
        }
    }
}

/// Set when the run was stopped by SIGTERM rather than Ctrl-C.
static TERMINATED: AtomicBool = AtomicBool::new(false);

/// The exit code of an interrupted run: 130 (Ctrl-C, SIGINT), or 143 (128 + SIGTERM) when
/// SIGTERM stopped it, as a shell reports a process killed by that signal.
fn interrupted_code() -> i32 {
    if TERMINATED.load(Ordering::SeqCst) {
        143
    } else {
        130
    }
}

fn report(display: &Display, e: &Error) {
    if display.is_json() {
        display.log("error", e.to_string());
    }
    eprintln!("error: {e}");
}

fn op_name(op: Operation) -> &'static str {
    match op {
        Operation::Preview => "preview",
        Operation::Up => "update",
        Operation::Refresh => "refresh",
        Operation::Destroy => "destroy",
        Operation::Import => "import",
    }
}

/// Runs an async `state` or `import` command and maps its result to an exit code.
async fn local_command_async(f: impl std::future::Future<Output = Result<(), Error>>) -> ExitCode {
    match f.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn stack_command(c: StackCmd) -> ExitCode {
    let StackCmd { action, loc } = c;
    local_command(|| match action {
        StackAction::Export { file, show_secrets } => {
            stack_cmds::export(&loc.resolve(None)?, file.as_deref(), show_secrets)
        }
        StackAction::Import { file } => stack_cmds::import(&loc.resolve(None)?, &file),
        StackAction::Output {
            name,
            json,
            show_secrets,
        } => stack_manage::output(&loc.resolve(None)?, name.as_deref(), json, show_secrets),
        StackAction::Ls => stack_manage::ls(&loc.cwd, loc.state_dir.as_deref()),
        StackAction::Init { name } => stack_manage::init(&loc.resolve(Some(name))?),
        StackAction::Select { name, create } => {
            stack_manage::select(&loc.resolve(Some(name))?, create)
        }
        StackAction::Rm {
            name,
            force,
            preserve_config,
            yes: _,
        } => stack_manage::rm(&loc.resolve(name)?, force, preserve_config),
    })
}

async fn state_command(c: StateCmd) -> Result<(), Error> {
    let loc = c.loc.resolve(None)?;
    match c.action {
        StateAction::Delete {
            urn,
            force,
            target_dependents,
            yes: _,
        } => state_cmds::delete(&loc, &urn, force, target_dependents).await,
        StateAction::Unprotect { urn, all, yes: _ } => {
            state_cmds::unprotect(&loc, urn.as_deref(), all).await
        }
    }
}
