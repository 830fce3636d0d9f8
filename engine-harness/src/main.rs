//! `engine-harness`: run Pulumi YAML programs against provider plugins.
//!
//! ```text
//! engine-harness preview|up|refresh|destroy [--cwd DIR] [--stack NAME] [--yes] [--parallel N] [--json] [--clear-pending]
//!     [--import-pending-creates URN=ID]...
//! engine-harness config [set KEY VALUE [--secret] | get KEY | rm KEY] [--show-secrets] [--cwd DIR] [--stack NAME]
//! engine-harness stack export [--file F] [--show-secrets] | stack import --file F
//! engine-harness cancel [--stack NAME] [--force]
//! engine-harness conformance [ARGS...]
//! ```
//!
//! Exit codes: 0 success; 1 one or more steps failed (state saved); 2 invalid command line,
//! program or configuration; 3 pending operations from an interrupted run (see the message,
//! then use --clear-pending); 4 a provider plugin could not be found, built, started or
//! configured; 5 the state could not be read or written; 6 the secrets passphrase
//! (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE) is missing or wrong, nothing
//! written; 7 the stack is locked by another command (the message names it; nothing written);
//! 130 interrupted by Ctrl-C or `cancel` (state saved); 143 stopped by SIGTERM (state saved).

mod stack_cmds;

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
7 stack locked by another command; 130 interrupted by Ctrl-C or `cancel` (state saved); 143 stopped by SIGTERM (state saved).";

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
    /// Export or import the stack's state, in the format of `pulumi stack export`/`import`.
    Stack(StackCmd),
    /// Stop the command holding the stack's lock, as Ctrl-C stops it (run it twice to stop at once).
    Cancel(CancelCmd),
    /// Run the provider conformance kit (arguments, including --help, are passed through).
    #[command(disable_help_flag = true)]
    Conformance {
        /// Arguments for the conformance kit.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Args)]
struct Common {
    /// The project directory (holding Pulumi.yaml).
    #[arg(long, default_value = ".")]
    cwd: PathBuf,
    /// The stack name (letters, digits, `-`, `_`, `.`).
    #[arg(long, short = 's', default_value = "dev", value_parser = stack_name)]
    stack: String,
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
    /// Where state is kept (default: <cwd>/.pulumi-harness).
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

/// Where the stack is: the same flags as the other subcommands.
#[derive(Args)]
struct Location {
    /// The project directory (holding Pulumi.yaml).
    #[arg(long, default_value = ".", global = true)]
    cwd: PathBuf,
    /// The stack name (letters, digits, `-`, `_`, `.`).
    #[arg(long, short = 's', default_value = "dev", global = true, value_parser = stack_name)]
    stack: String,
    /// Where state is kept (default: <cwd>/.pulumi-harness).
    #[arg(long, global = true)]
    state_dir: Option<PathBuf>,
}

impl From<Location> for stack_cmds::Location {
    fn from(l: Location) -> Self {
        stack_cmds::Location {
            cwd: l.cwd,
            stack: l.stack,
            state_dir: l.state_dir,
        }
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
            return local_command(|| stack_cmds::config(&c.loc.into(), action));
        }
        Command::Stack(c) => {
            let loc: stack_cmds::Location = c.loc.into();
            return local_command(|| match c.action {
                StackAction::Export { file, show_secrets } => {
                    stack_cmds::export(&loc, file.as_deref(), show_secrets)
                }
                StackAction::Import { file } => stack_cmds::import(&loc, &file),
            });
        }
        Command::Cancel(c) => {
            return local_command(|| stack_cmds::cancel(&c.loc.into(), c.force));
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
    let display = Display::stdout(common.json);
    let mut opts = Options::new(common.cwd, common.stack, op)
        .parallel(common.parallel)
        .display(display.clone())
        .clear_pending(common.clear_pending)
        .import_pending_creates(common.import_pending_creates)
        .interrupt(token);
    if let Some(dir) = common.state_dir {
        opts = opts.state_dir(dir);
    }
    let result = run(opts).await;
    display.settle();
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
