//! An example provider for local resources, package `local`, written only with the SDK.
//!
//! | type token | what it manages |
//! |---|---|
//! | `local:index:Random` | a random string: `length` (replaces), `prefix` (updates in place), output `result` |

mod fs;
mod process;
mod readiness;
mod root;
mod random;

use provider_sdk::{Context, Error, Result, ResourceProvider, async_trait, ops::*};

pub use random::Random;

/// The package name: the binary is `pulumi-resource-local`, types are `local:index:<Name>`.
pub const PACKAGE: &str = "local";

/// The provider: dispatches each call by type token to the resource that handles it.
#[derive(Debug, Default)]
pub struct LocalProvider {
    random: Random,
}

impl LocalProvider {
    fn resource(&self, type_token: &str) -> Result<&Random> {
        match type_token {
            random::TYPE => Ok(&self.random),
            other => Err(Error::InvalidRequest(format!(
                "unknown resource type `{other}`; this provider ({PACKAGE}) manages: {}",
                random::TYPE
            ))),
        }
    }
}

#[async_trait]
impl ResourceProvider for LocalProvider {
    async fn check(&self, ctx: &Context, req: CheckRequest) -> Result<CheckResponse> {
        self.resource(&req.type_token)?.check(ctx, req).await
    }

    async fn diff(&self, ctx: &Context, req: DiffRequest) -> Result<DiffResponse> {
        self.resource(&req.type_token)?.diff(ctx, req).await
    }

    async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        self.resource(&req.type_token)?.create(ctx, req).await
    }

    async fn read(&self, ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
        self.resource(&req.type_token)?.read(ctx, req).await
    }

    async fn update(&self, ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        self.resource(&req.type_token)?.update(ctx, req).await
    }

    async fn delete(&self, ctx: &Context, req: DeleteRequest) -> Result<()> {
        self.resource(&req.type_token)?.delete(ctx, req).await
    }
}
