//! The `engine-harness conformance` command line.
//!
//! ```text
//! engine-harness conformance [--fixture FILE] [--case NAME...] [--format table|json|junit]
//!     [--output FILE] [--metaschema FILE] [--timeout SECONDS] [--concurrency N] [--list]
//!     [--upgrade-from OLD_PLUGIN] -- PLUGIN-COMMAND...
//! ```
//!
//! With `--upgrade-from`, the report holds the upgrade cases ([`crate::upgrade`]) of the plugin
//! against the previous release instead of the protocol cases.
//!
//! Exit status: 0 when no case failed, 1 when one did, 2 when the kit could not run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::fixture::Fixture;
use crate::kit::Kit;
use crate::plugin::PluginCommand;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// JSON.
    Json,
    /// JUnit XML.
    Junit,
}

/// Proves a Pulumi resource-provider plugin against the protocol, case by case.
#[derive(Debug, Parser)]
#[command(
    name = "engine-harness conformance",
    version,
    about,
    after_help = crate::fixture::FORMAT_HELP
)]
pub struct Args {
    /// Fixture file (JSON or YAML) with inputs per resource type; without one, inputs are
    /// derived from the plugin's schema where possible.
    #[arg(long)]
    pub fixture: Option<PathBuf>,
    /// Run only these cases (repeat, or separate with commas); see --list.
    #[arg(long = "case", value_name = "NAME", num_args = 1.., value_delimiter = ',')]
    pub cases: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Pulumi's published package metaschema, checked besides the kit's own rules (default: $PULUMI_METASCHEMA).
    #[arg(long)]
    pub metaschema: Option<PathBuf>,
    /// Timeout of each call, in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Seconds the plugin may take to print its port.
    #[arg(long, default_value_t = 30)]
    pub startup_timeout: u64,
    /// How many concurrent Creates (then Deletes) the concurrency case runs.
    #[arg(long, default_value_t = 200)]
    pub concurrency: usize,
    /// List the cases and exit.
    #[arg(long)]
    pub list: bool,
    /// Run the upgrade cases instead: the previous release (an executable, a release
    /// `.tar.gz`, or NAME@VERSION from the plugin cache) creates the fixture's resources, the
    /// plugin after `--` must read, check and diff them without change.
    #[arg(long, value_name = "OLD_PLUGIN")]
    pub upgrade_from: Option<String>,
    /// The plugin command, after `--`: program and arguments.
    #[arg(last = true, value_name = "PLUGIN-COMMAND")]
    pub command: Vec<String>,
}

/// Runs the conformance CLI with `args` (everything after `conformance`).
pub async fn run(args: Vec<String>) -> ExitCode {
    let args = match Args::try_parse_from(
        std::iter::once("engine-harness conformance".to_string()).chain(args),
    ) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if args.list {
        for case in crate::cases::CASES {
            println!("{:<30} {}", case.name, case.description);
        }
        for (name, description) in crate::upgrade::UPGRADE_CASES {
            println!("{name:<30} {description} (with --upgrade-from)");
        }
        return ExitCode::SUCCESS;
    }
    if args.command.is_empty() {
        eprintln!(
            "error: no plugin command: give it after `--`, e.g. `-- ./pulumi-resource-local`"
        );
        return ExitCode::from(2);
    }
    let mut command = PluginCommand::new(args.command.clone());
    command.startup_timeout = Duration::from_secs(args.startup_timeout.max(1));
    let mut kit = Kit::new(command);
    kit.call_timeout = Duration::from_secs(args.timeout.max(1));
    kit.concurrency = args.concurrency;
    kit.metaschema = args.metaschema.clone();
    if let Some(path) = &args.fixture {
        match Fixture::load(path) {
            Ok(f) => kit = kit.with_fixture(f),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let report = match &args.upgrade_from {
        None => kit.run(&args.cases).await,
        Some(old) => run_upgrade(old, &kit, &args.cases).await,
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let text = match args.format {
        Format::Table => report.table(),
        Format::Json => report.json() + "\n",
        Format::Junit => report.junit(),
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(2);
            }
            eprint!("{}", report.table());
        }
        None => print!("{text}"),
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The upgrade cases of `kit`'s plugin against the previous release `old`.
async fn run_upgrade(
    old: &str,
    kit: &Kit,
    cases: &[String],
) -> Result<crate::Report, crate::Error> {
    let (mut old_command, _unpacked) = crate::upgrade::resolve_release(old)?;
    old_command.startup_timeout = kit.command.startup_timeout;
    let Some(fixture) = kit.fixture.clone() else {
        return Err(crate::Error::Fixture {
            path: "(none)".into(),
            problem: "--upgrade-from needs --fixture FILE: the resources to create with the old release and carry across the upgrade".into(),
        });
    };
    let mut check = crate::upgrade::Upgrade::new(old_command, kit.command.clone(), fixture);
    check.call_timeout = kit.call_timeout;
    check.run(cases).await
}
