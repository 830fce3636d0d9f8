//! The kit's error type.

/// Why the kit could not run (as opposed to a case failing, which is a finding in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A fixture file is unreadable or malformed.
    #[error("fixture {path}: {problem}")]
    Fixture {
        /// The file (or the part of it) at fault.
        path: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The plugin could not be started or did not announce a usable port.
    #[error("launching the plugin: {0}")]
    Launch(String),
    /// The kit's own engine server could not start.
    #[error("starting the kit's engine server: {0}")]
    Engine(String),
    /// A named case does not exist.
    #[error("no case named `{name}`; the cases are: {known}")]
    UnknownCase {
        /// The name given.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// Writing a report failed.
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
}
