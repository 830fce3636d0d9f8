//! What can stop a program run, each naming the program and what to do.

use std::path::PathBuf;
use std::time::Duration;

/// An error starting or running a program.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LanguageError {
    /// `Pulumi.yaml` is missing or cannot be used.
    #[error("{}: {message}", file.display())]
    Project {
        /// The project file.
        file: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The project's runtime is not one engine-harness runs.
    #[error(
        "{}: runtime `{runtime}` is not supported; use `python`, `nodejs`, `yaml`, or `go`, `dotnet` or `java` with Pulumi's language plugin installed",
        file.display()
    )]
    UnknownRuntime {
        /// The project file.
        file: PathBuf,
        /// The runtime it names.
        runtime: String,
    },
    /// The program's environment (virtualenv, `node_modules`) is missing and could not be made.
    #[error("program {}: {message}", program.display())]
    Setup {
        /// The program directory.
        program: PathBuf,
        /// What failed and what to do.
        message: String,
    },
    /// The program's process could not be started.
    #[error("program {}: cannot start `{command}`: {source}", program.display())]
    Spawn {
        /// The program directory.
        program: PathBuf,
        /// The command tried.
        command: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The program started but never called the monitor.
    #[error(
        "program {}: did not connect to the resource monitor within {}s; check that it imports the Pulumi SDK and registers resources (its output is above)",
        program.display(), after.as_secs()
    )]
    NeverConnected {
        /// The program directory.
        program: PathBuf,
        /// How long it was given.
        after: Duration,
    },
    /// The program ran longer than allowed and was stopped.
    #[error(
        "program {}: still running after {}s and was stopped; look for a wait that never ends, or allow more time",
        program.display(), after.as_secs()
    )]
    TimedOut {
        /// The program directory.
        program: PathBuf,
        /// How long it was given.
        after: Duration,
    },
    /// A language plugin (`pulumi-language-<runtime>`) could not be started or driven.
    #[error("language plugin `{command}`: {message}")]
    Plugin {
        /// The plugin command.
        command: String,
        /// What failed and what to do.
        message: String,
    },
    /// The project's runtime has no built-in host and no language plugin was found.
    #[error(
        "{}: runtime `{runtime}` needs Pulumi's language plugin `pulumi-language-{runtime}`, which was not found (searched: {searched}); install Pulumi's language host, put it on PATH or name it under `plugins.languages` in Pulumi.yaml",
        file.display()
    )]
    NoLanguagePlugin {
        /// The project file.
        file: PathBuf,
        /// The runtime.
        runtime: String,
        /// Where it was looked for.
        searched: String,
    },
    /// The run was interrupted (Ctrl-C, SIGTERM, `engine-harness cancel`) and the program's
    /// process group was stopped: SIGINT, then SIGKILL after a grace period.
    #[error(
        "program {}: stopped because the run was interrupted; the state is saved, run the command again to finish",
        program.display()
    )]
    Interrupted {
        /// The program directory.
        program: PathBuf,
    },
    /// The program exited unsuccessfully.
    #[error("program {} failed (exit status {}): {message}", program.display(), exit_code.map_or("none".to_string(), |c| c.to_string()))]
    ProgramFailed {
        /// The program directory.
        program: PathBuf,
        /// The exit code, when it exited rather than being killed by a signal.
        exit_code: Option<i32>,
        /// The errors it logged, else the end of its stderr.
        message: String,
    },
}
