//! `engine-harness`: run Pulumi YAML programs against provider plugins.
//!
//! ```text
//! engine-harness preview|up|refresh|destroy [--cwd DIR] [--stack NAME] [--yes] [--parallel N] [--json] [--clear-pending]
//! engine-harness conformance [ARGS...]
//! ```
//!
//! Exit codes: 0 success; 1 one or more steps failed (state saved); 2 invalid command line,
//! program or configuration; 3 pending operations from an interrupted run (see the message,
//! then use --clear-pending); 4 a provider plugin could not be found, built, started or
//! configured; 5 the state could not be read or written; 130 interrupted by Ctrl-C (state saved).

use clap::{Args, Parser, Subcommand};
use engine_harness::Error;
use engine_harness::deploy::{Operation, Options, run};
use engine_harness::display::Display;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "engine-harness", version, about = "A small engine that drives Pulumi provider plugins", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 steps failed (state saved); 2 invalid command line, program or config; \
3 pending operations from an interrupted run; 4 plugin failure; 5 state file error; 130 interrupted (state saved).";

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
    /// The stack name.
    #[arg(long, short = 's', default_value = "dev")]
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
    /// Drop pending operations left by an interrupted run (after you have checked them).
    #[arg(long)]
    clear_pending: bool,
    /// Where state is kept (default: <cwd>/.pulumi-harness).
    #[arg(long)]
    state_dir: Option<PathBuf>,
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
    let mut interrupts =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot listen for Ctrl-C: {e}");
                return ExitCode::from(5);
            }
        };
    tokio::spawn(async move {
        if interrupts.recv().await.is_some() {
            signal_token.cancel();
            if interrupts.recv().await.is_some() {
                engine_harness::plugin::kill_all_launched();
                eprintln!(
                    "interrupted twice: stopped at once and killed the plugins. The journal keeps every finished step; the next run reports any operation left pending."
                );
                std::process::exit(130);
            }
        }
    });
    let display = Display::stdout(common.json);
    let mut opts = Options::new(common.cwd, common.stack, op)
        .parallel(common.parallel)
        .display(display.clone())
        .clear_pending(common.clear_pending)
        .interrupt(token);
    if let Some(dir) = common.state_dir {
        opts = opts.state_dir(dir);
    }
    let result = run(opts).await;
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            report(&display, &e);
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn report(display: &Display, e: &Error) {
    if display.is_json() {
        display.log("error", e.to_string());
    }
    eprintln!("error: {e}");
}
