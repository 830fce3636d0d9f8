//! `local:index:Directory`: a directory, which Delete removes only when it is safe to.
//!
//! # Using it
//!
//! ```yaml
//! resources:
//!   site:
//!     type: local:index:Directory
//!     properties:
//!       path: site         # relative to `local:root`
//!       recursive: false   # the default: never delete what others put inside
//!   index:
//!     type: local:index:File
//!     properties:
//!       path: site/index.html
//!       content: <h1>hi</h1>
//!     options:
//!       dependsOn: [${site}]
//! ```
//!
//! | input | meaning |
//! |---|---|
//! | `path` | the directory; its parent must exist. Changing it **replaces** the directory. |
//! | `permissions` | optional octal mode such as `"0755"`. |
//! | `recursive` | let Delete remove the directory *with* whatever is inside (default `false`). Changing it updates in place, so it can be switched on just before a destroy. |
//!
//! The id is the directory's absolute path; the outputs ([`DirectoryState`]) repeat the inputs.
//!
//! # How it is written
//!
//! A typed [`Resource`] with `path` in [`Resource::REPLACE_ON_CHANGES`]; the SDK's structural
//! diff does the rest of the diffing.
//!
//! - **create** makes the directory with `mkdir` (not `mkdir -p`: parents are their own
//!   resources, so Delete never leaves empty parents behind). A directory that already exists
//!   is an error rather than silently adopted.
//! - **read** reports a directory removed outside as *gone*.
//! - **import** adopts an existing directory from its id, its absolute path: `path` is given
//!   relative to `local:root` when the directory is inside it. Only existence is read back
//!   (as by **read**); `permissions` and `recursive` come from the inputs the engine sends
//!   along when it recovers a pending create, and are absent otherwise. A missing directory is
//!   *not found*; something else at the path is an error.
//! - **update** applies new `permissions`; `recursive` only matters to a later delete.
//! - **delete** removes an empty directory. A non-empty one is refused with an error naming
//!   the path and the `recursive` option, unless `recursive` is `true`: deleting files the
//!   program did not create must be an explicit choice.

use std::os::unix::fs::PermissionsExt;

use provider_sdk::ops::CheckFailure;
use provider_sdk::typed::{
    CreateArgs, Created, DeleteArgs, ImportArgs, ReadArgs, ReadResult, Resource, UpdateArgs,
    resource,
};
use provider_sdk::{Context, Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fs;
use crate::root;

/// The type token.
pub const TYPE: &str = "local:index:Directory";

/// The inputs of a [`Directory`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectoryArgs {
    /// The directory, relative to `local:root`; its parent must exist. Changing it replaces
    /// the directory.
    pub path: String,
    /// Octal permissions such as "0755".
    pub permissions: Option<String>,
    /// Let Delete remove the directory with everything inside (default false).
    pub recursive: Option<bool>,
}

/// A directory on the local disk.
pub type DirectoryState = DirectoryArgs;

/// The `Directory` resource.
#[derive(Debug, Default)]
pub struct Directory;

impl Directory {
    fn located(ctx: &Context, id: &str, path: &str) -> Result<std::path::PathBuf> {
        if id.starts_with('/') {
            Ok(id.into())
        } else {
            root::configured(ctx)?.resolve("path", path)
        }
    }
}

fn mode(permissions: &Option<String>) -> Result<Option<u32>> {
    permissions
        .as_deref()
        .map(fs::parse_permissions)
        .transpose()
        .map_err(Error::InvalidRequest)
}

#[resource]
impl Resource for Directory {
    type Inputs = DirectoryArgs;
    type Outputs = DirectoryState;
    const REPLACE_ON_CHANGES: &'static [&'static str] = &["path"];
    const IMPORT_ID: &'static str = "the directory's absolute path";

    async fn check(&self, _ctx: &Context, inputs: &mut DirectoryArgs) -> Result<Vec<CheckFailure>> {
        let mut failures = Vec::new();
        if inputs.path.is_empty() {
            failures.push(CheckFailure::new(
                "path",
                "is empty; give the directory's path",
            ));
        }
        if let Err(Error::InvalidRequest(reason)) = mode(&inputs.permissions) {
            failures.push(CheckFailure::new("permissions", reason));
        }
        Ok(failures)
    }

    async fn create(
        &self,
        ctx: &Context,
        args: CreateArgs<DirectoryArgs>,
    ) -> Result<Created<DirectoryState>> {
        let path = root::configured(ctx)?.resolve("path", &args.inputs.path)?;
        fs::create_directory(&path, mode(&args.inputs.permissions)?)?;
        ctx.log()
            .info(format!("created directory {}", path.display()));
        Ok(Created::new(path.display().to_string(), args.inputs))
    }

    async fn read(
        &self,
        ctx: &Context,
        args: ReadArgs<DirectoryArgs, DirectoryState>,
    ) -> Result<Option<ReadResult<DirectoryArgs, DirectoryState>>> {
        let path = Self::located(ctx, &args.id, &args.state.path)?;
        match fs::directory_state(&path) {
            Ok(Some(_)) => {
                let inputs = args.inputs.unwrap_or_else(|| args.state.clone());
                Ok(Some(ReadResult::new(args.id, inputs, args.state)))
            }
            // Gone, or replaced by something that is not a directory: either way ours is gone.
            Ok(None) | Err(_) => Ok(None),
        }
    }

    async fn import(
        &self,
        ctx: &Context,
        args: ImportArgs<DirectoryArgs>,
    ) -> Result<Option<ReadResult<DirectoryArgs, DirectoryState>>> {
        let path = root::path_of_id(TYPE, &args.id)?;
        if fs::directory_state(&path)?.is_none() {
            return Ok(None);
        }
        let root = root::configured(ctx)?;
        let inputs = match args.inputs {
            Some(hint) if root.resolve("path", &hint.path).ok().as_ref() == Some(&path) => hint,
            _ => DirectoryArgs {
                path: root.relative(&path),
                permissions: None,
                recursive: None,
            },
        };
        Ok(Some(ReadResult::new(args.id, inputs.clone(), inputs)))
    }

    async fn update(
        &self,
        ctx: &Context,
        args: UpdateArgs<DirectoryArgs, DirectoryState>,
    ) -> Result<DirectoryState> {
        if let Some(mode) = mode(&args.news.permissions)? {
            let path = Self::located(ctx, &args.id, &args.state.path)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(
                |e| {
                    Error::failed(format!(
                        "cannot set the permissions of {}: {e}",
                        path.display()
                    ))
                },
            )?;
        }
        Ok(args.news)
    }

    async fn delete(&self, ctx: &Context, args: DeleteArgs<DirectoryState>) -> Result<()> {
        let path = Self::located(ctx, &args.id, &args.state.path)?;
        fs::remove_directory(&path, args.state.recursive.unwrap_or(false))?;
        ctx.log()
            .info(format!("removed directory {}", path.display()));
        Ok(())
    }
}
