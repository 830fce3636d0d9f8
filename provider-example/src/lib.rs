//! An example provider for local resources, package `local`, written only with the SDK's
//! typed layer ([`provider_sdk::typed`]).
//!
//! | type token | what it manages |
//! |---|---|
//! | `local:index:Random` | a random string: `length` (replaces), `prefix` (updates in place), output `result` ([`random`]) |
//! | `local:index:File` | a file: content (plain, secret or an asset), permissions, drift detection ([`file`](mod@file)) |
//! | `local:index:Directory` | a directory that Delete removes only when empty, or when told to ([`directory`]) |
//! | `local:index:Command` | shell commands on create, update and delete, with timeouts and cancellation ([`command`]) |
//! | `local:index:Service` | a long-running process with a readiness check; partial failure ([`service`]) |
//! | `local:index:StaticSite` | a component: a `Directory`, its `File`s and a `Service` serving them over HTTP; method `getFile` ([`static_site`]) |
//! | `local:index:readFile`, `local:index:hash` | functions ([`functions`]) |
//!
//! File and Directory can be imported (adopted from their id, the absolute path; their schema
//! descriptions have an Import section); the others cannot.
//!
//! Configuration: `local:root`, optional, the directory every relative path is resolved
//! against ([`root::LocalConfig`]); when absent, relative paths resolve against the plugin's
//! working directory, which is the program's directory when an engine launches it. Configure
//! accepts empty configuration, and rejects a root that is not a writable directory with an
//! error naming `local:root`.
//!
//! Each resource is a module that reads as a tutorial: what the program writes, what each
//! operation does, and how the SDK's typed layer carries the rest. The work itself (files,
//! process groups, readiness probes) lives in plain modules with their own unit tests.
//!
//! [`typed_provider`] registers everything with a [`ProviderBuilder`]; the plugin binary serves
//! the [`TypedProvider`] it builds, and unit tests drive it in-process with
//! [`provider_sdk::testing::Driver`].

pub mod command;
pub mod directory;
pub mod file;
mod fs;
pub mod functions;
mod process;
pub mod random;
mod readiness;
pub mod root;
pub mod serve_dir;
pub mod service;
pub mod static_site;

use provider_sdk::typed::{ProviderBuilder, TypedProvider};

pub use command::Command;
pub use directory::Directory;
pub use file::File;
pub use random::{Random, RandomArgs, RandomState};
pub use root::{LocalConfig, Root};
pub use service::Service;
pub use static_site::StaticSite;

/// The package name: the binary is `pulumi-resource-local`, types are `local:index:<Name>`.
pub const PACKAGE: &str = "local";

/// The provider, as the plugin binary serves it: its resources, functions and configuration,
/// and the schema derived from them.
pub fn typed_provider() -> TypedProvider {
    ProviderBuilder::new(PACKAGE, env!("CARGO_PKG_VERSION"))
        .description(
            "Local resources: random strings, files, directories, commands, services and static sites.",
        )
        .config::<LocalConfig>()
        .resource(random::TYPE, Random)
        .resource(file::TYPE, File)
        .resource(directory::TYPE, Directory)
        .resource(command::TYPE, Command)
        .resource(service::TYPE, Service)
        .component(static_site::TYPE, StaticSite)
        .method(static_site::GET_FILE, static_site::GetFile)
        .function(functions::READ_FILE, functions::ReadFile)
        .function(functions::HASH, functions::Hash)
        .build()
        .expect("the registered type tokens are well-formed and unique")
}
