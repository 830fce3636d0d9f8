//! An example provider for local resources, package `local`, written only with the SDK.
//!
//! | type token | what it manages |
//! |---|---|
//! | `local:index:Random` | a random string: `length` (replaces), `prefix` (updates in place), output `result` |
//! | `local:index:File` | a file: content (plain, secret or an asset), permissions, drift detection ([`file`]) |
//! | `local:index:Directory` | a directory that Delete removes only when empty, or when told to ([`directory`]) |
//! | `local:index:Command` | shell commands on create, update and delete, with timeouts and cancellation ([`command`]) |
//! | `local:index:Service` | a long-running process with a readiness check; partial failure ([`service`]) |
//! | `local:index:readFile`, `local:index:hash` | functions ([`functions`]) |
//!
//! Configuration: `local:root`, the directory every relative path is resolved against
//! ([`root`]). Configure rejects a missing, non-directory or read-only root, naming the key.

pub mod command;
pub mod directory;
pub mod file;
mod fs;
pub mod functions;
mod process;
mod props;
mod random;
mod readiness;
pub mod root;
pub mod service;

use std::sync::RwLock;

use provider_sdk::{Context, Error, PropertyValue, ResourceProvider, Result, async_trait, ops::*};

pub use command::Command;
pub use directory::Directory;
pub use file::File;
pub use root::Root;
pub use service::Service;

pub use random::Random;

/// The package name: the binary is `pulumi-resource-local`, types are `local:index:<Name>`.
pub const PACKAGE: &str = "local";

/// The provider: dispatches each call by type token to the resource that handles it.
#[derive(Debug, Default)]
pub struct LocalProvider {
    random: Random,
    local: Local,
}

/// The resources that work on the local machine, and the configured root they need.
#[derive(Debug, Default)]
struct Local {
    root: RwLock<Option<Root>>,
    file: File,
    directory: Directory,
    command: Command,
    service: Service,
}

/// One of the local resources.
enum Kind<'a> {
    File(&'a File),
    Directory(&'a Directory),
    Command(&'a Command),
    Service(&'a Service),
}

impl Local {
    fn kind(&self, type_token: &str) -> Option<Kind<'_>> {
        match type_token {
            file::TYPE => Some(Kind::File(&self.file)),
            directory::TYPE => Some(Kind::Directory(&self.directory)),
            command::TYPE => Some(Kind::Command(&self.command)),
            service::TYPE => Some(Kind::Service(&self.service)),
            _ => None,
        }
    }

    /// The configured root; an error naming `local:root` before Configure.
    fn root(&self) -> Result<Root> {
        self.root
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                Error::InvalidRequest(format!(
                    "the provider is not configured: `{}` must be set first",
                    root::ROOT_KEY
                ))
            })
    }
}

/// Calls `$method` on whichever local resource `$kind` is.
macro_rules! each {
    ($kind:expr, $r:ident => $call:expr) => {
        match $kind {
            Kind::File($r) => $call,
            Kind::Directory($r) => $call,
            Kind::Command($r) => $call,
            Kind::Service($r) => $call,
        }
    };
}

impl LocalProvider {
    fn resource(&self, type_token: &str) -> Result<&Random> {
        match type_token {
            random::TYPE => Ok(&self.random),
            other => Err(Error::InvalidRequest(format!(
                "unknown resource type `{other}`; this provider ({PACKAGE}) manages: {}",
                [
                    random::TYPE,
                    file::TYPE,
                    directory::TYPE,
                    command::TYPE,
                    service::TYPE
                ]
                .join(", ")
            ))),
        }
    }
}

#[async_trait]
impl ResourceProvider for LocalProvider {
    async fn check(&self, ctx: &Context, req: CheckRequest) -> Result<CheckResponse> {
        if let Some(kind) = self.local.kind(&req.type_token) {
            return each!(kind, r => r.check(req));
        }
        self.resource(&req.type_token)?.check(ctx, req).await
    }

    async fn diff(&self, ctx: &Context, req: DiffRequest) -> Result<DiffResponse> {
        if let Some(kind) = self.local.kind(&req.type_token) {
            return each!(kind, r => r.diff(req));
        }
        self.resource(&req.type_token)?.diff(ctx, req).await
    }

    async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        if let Some(kind) = self.local.kind(&req.type_token) {
            let root = self.local.root()?;
            return each!(kind, r => r.create(ctx, &root, req).await);
        }
        self.resource(&req.type_token)?.create(ctx, req).await
    }

    async fn read(&self, ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
        if let Some(kind) = self.local.kind(&req.type_token) {
            let root = self.local.root()?;
            return each!(kind, r => r.read(ctx, &root, req).await);
        }
        self.resource(&req.type_token)?.read(ctx, req).await
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        if let Some(kind) = self.local.kind(&req.type_token) {
            let root = self.local.root()?;
            return each!(kind, r => r.update(ctx, &root, req).await);
        }
        self.resource(&req.type_token)?.update(ctx, req).await
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest) -> Result<()> {
        if let Some(kind) = self.local.kind(&req.type_token) {
            let root = self.local.root()?;
            return each!(kind, r => r.delete(ctx, &root, req).await);
        }
        self.resource(&req.type_token)?.delete(ctx, req).await
    }

    async fn configure(&self, _ctx: &Context, req: ConfigureRequest) -> Result<ConfigureResponse> {
        let value = match req.args.get("root").map(|v| v.unwrap_secret().0) {
            None | Some(PropertyValue::Null) => None,
            Some(PropertyValue::String(s)) => Some(s.as_str()),
            Some(other) => {
                return Err(Error::InvalidRequest(format!(
                    "configuration `{}` must be a directory path (a string), got a {}",
                    root::ROOT_KEY,
                    other.kind_name()
                )));
            }
        };
        let root = Root::from_config(value)?;
        *self.local.root.write().unwrap_or_else(|e| e.into_inner()) = Some(root);
        Ok(ConfigureResponse::default())
    }

    async fn invoke(&self, _ctx: &Context, req: InvokeRequest) -> Result<InvokeResponse> {
        functions::invoke(&self.local.root()?, req)
    }
}
