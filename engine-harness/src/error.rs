//! The crate's error type.

use std::path::PathBuf;

/// Everything that can stop the engine. Each variant maps to a documented exit code
/// (see [`Error::exit_code`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The program (`Pulumi.yaml` or the stack file) is invalid.
    #[error("{file}:{line}: {message}")]
    Program {
        /// The file with the mistake.
        file: PathBuf,
        /// 1-based line number (0 when unknown).
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// A plugin could not be found, built, launched or configured.
    #[error("provider plugin `{package}`: {message}")]
    Plugin {
        /// The package name (`local` for `pulumi-resource-local`).
        package: String,
        /// What went wrong, with the plugin's stderr tail when there is one.
        message: String,
    },
    /// The state file or its journal could not be read or written.
    #[error("state {}: {message}", path.display())]
    State {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong and what to do.
        message: String,
    },
    /// Pending operations from an interrupted run must be resolved first.
    #[error("{0}")]
    PendingOperations(String),
    /// One or more steps failed; the state holds everything that succeeded.
    #[error("{0}")]
    StepsFailed(String),
    /// `--expect-no-changes` was given and the run changed (or a preview would change)
    /// something; the state holds what an `up` did.
    #[error("{0}")]
    UnexpectedChanges(String),
    /// The run was interrupted (Ctrl-C); state was saved.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// The command line is wrong.
    #[error("{0}")]
    Usage(String),
    /// Another command holds the stack's lock (see [`crate::state::lock`]); the message names
    /// it and how to stop it or remove a lock it left. Nothing was read or written.
    #[error("{0}")]
    Locked(String),
    /// Secrets could not be decrypted or encrypted: the passphrase is missing or wrong, or an
    /// encrypted value is damaged. Nothing was written.
    #[error("{0}")]
    Secrets(String),
    /// A Python or Node.js program could not be set up or run: its project settings, its
    /// environment (virtualenv, `node_modules`), or a program that never connected or hung.
    #[error(transparent)]
    Language(#[from] crate::language::LanguageError),
    /// An I/O error outside the state files.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl From<plugin_host::cache::CacheError> for Error {
    fn from(e: plugin_host::cache::CacheError) -> Self {
        match e {
            plugin_host::cache::CacheError::Invalid(message) => Error::Usage(message),
            plugin_host::cache::CacheError::Io { context, source } => Error::Io { context, source },
        }
    }
}

impl Error {
    /// The process exit code for this error:
    ///
    /// | code | meaning |
    /// |---|---|
    /// | 0 | success |
    /// | 1 | one or more steps failed (state saved; see the messages) |
    /// | 2 | invalid command line, program or stack configuration; a program's environment that cannot be made |
    /// | 3 | pending operations from an interrupted run block this run |
    /// | 4 | a provider plugin could not be found, built, started or configured |
    /// | 5 | the state file or journal could not be read or written |
    /// | 6 | the secrets passphrase is missing or wrong (nothing was written) |
    /// | 7 | the stack is locked by another command (nothing was written) |
    /// | 8 | `--expect-no-changes`, and the run changed or would change something |
    /// | 130 | interrupted by Ctrl-C, or by SIGTERM or `engine-harness cancel` (state saved); the CLI exits 143 for SIGTERM |
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::StepsFailed(_) => 1,
            Error::Program { .. } | Error::Usage(_) => 2,
            Error::PendingOperations(_) => 3,
            Error::Plugin { .. } => 4,
            Error::State { .. } | Error::Io { .. } => 5,
            Error::Secrets(_) => 6,
            Error::Locked(_) => 7,
            Error::UnexpectedChanges(_) => 8,
            Error::Interrupted(_) => 130,
            Error::Language(e) => match e {
                crate::language::LanguageError::Project { .. }
                | crate::language::LanguageError::UnknownRuntime { .. }
                | crate::language::LanguageError::Setup { .. }
                | crate::language::LanguageError::Spawn { .. } => 2,
                crate::language::LanguageError::Interrupted { .. } => 130,
                _ => 1,
            },
        }
    }

    pub(crate) fn plugin(package: &str, message: impl Into<String>) -> Self {
        Error::Plugin {
            package: package.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn state(path: &std::path::Path, message: impl Into<String>) -> Self {
        Error::State {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// The exit code for a result: 0 on success, else [`Error::exit_code`].
pub fn exit_code<T>(result: &Result<T, Error>) -> i32 {
    match result {
        Ok(_) => 0,
        Err(e) => e.exit_code(),
    }
}
