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
//! The id is the directory's absolute path; the outputs are the inputs.
//!
//! # How each operation works
//!
//! - **Create** makes the directory with `mkdir` (not `mkdir -p`: parents are their own
//!   resources, so Delete never leaves empty parents behind). A directory that already exists
//!   is an error rather than silently adopted.
//! - **Read** reports a directory removed outside as *gone*.
//! - **Delete** removes an empty directory. A non-empty one is refused with an error naming the
//!   path and the `recursive` option, unless `recursive` is `true`: deleting files the program
//!   did not create must be an explicit choice.

use provider_sdk::ops::*;
use provider_sdk::{Context, Error, PropertyMap, Result, diff_top_level};

use crate::fs;
use crate::props;
use crate::root::Root;

/// The type token.
pub const TYPE: &str = "local:index:Directory";

const INPUTS: &[&str] = &["path", "permissions", "recursive"];

/// The `Directory` resource.
#[derive(Debug, Default)]
pub struct Directory;

fn bad(p: props::Problem) -> Error {
    Error::InvalidRequest(p.reason)
}

fn located(root: &Root, id: &str, state: &PropertyMap) -> Result<std::path::PathBuf> {
    if id.starts_with('/') {
        return Ok(id.into());
    }
    root.resolve(
        "path",
        &props::required_string(state, "path", "the directory")
            .map_err(bad)?
            .value,
    )
}

impl Directory {
    pub(crate) fn check(&self, req: CheckRequest) -> Result<CheckResponse> {
        let news = &req.news;
        let mut failures = props::unknown_keys(news, "Directory", INPUTS);
        if let Err(p) = props::required_string(
            news,
            "path",
            "the directory to create (relative to `local:root`)",
        ) {
            failures.push(p);
        }
        match props::string(news, "permissions") {
            Ok(Some(p)) => {
                if let Err(reason) = fs::parse_permissions(&p.value) {
                    failures.push(CheckFailure::new("permissions", reason));
                }
            }
            Ok(None) => {}
            Err(p) => failures.push(p),
        }
        if let Err(p) = props::flag(news, "recursive") {
            failures.push(p);
        }
        Ok(CheckResponse::invalid(req.news, failures))
    }

    pub(crate) fn diff(&self, req: DiffRequest) -> Result<DiffResponse> {
        let olds = if req.old_inputs.is_empty() {
            &req.olds
        } else {
            &req.old_inputs
        };
        Ok(diff_top_level(olds, &req.news, &["path"]))
    }

    pub(crate) async fn create(
        &self,
        ctx: &Context,
        root: &Root,
        req: CreateRequest,
    ) -> Result<CreateResponse> {
        if req.preview {
            return Ok(CreateResponse::new("", req.properties));
        }
        let path = root.resolve(
            "path",
            &props::required_string(&req.properties, "path", "the directory")
                .map_err(bad)?
                .value,
        )?;
        let mode = match props::string(&req.properties, "permissions").map_err(bad)? {
            Some(p) => Some(fs::parse_permissions(&p.value).map_err(Error::InvalidRequest)?),
            None => None,
        };
        fs::create_directory(&path, mode)?;
        ctx.log()
            .info(format!("created directory {}", path.display()));
        Ok(CreateResponse::new(
            path.display().to_string(),
            req.properties,
        ))
    }

    pub(crate) async fn read(
        &self,
        _ctx: &Context,
        root: &Root,
        req: ReadRequest,
    ) -> Result<ReadResponse> {
        let path = located(root, &req.id, &req.properties)?;
        match fs::directory_state(&path) {
            Ok(Some(_)) => {
                let inputs = if req.inputs.is_empty() {
                    req.properties.clone()
                } else {
                    req.inputs
                };
                Ok(ReadResponse::found(req.id, req.properties, inputs))
            }
            // Gone, or replaced by something that is not a directory: either way ours is gone.
            Ok(None) | Err(_) => Ok(ReadResponse::gone()),
        }
    }

    pub(crate) async fn update(
        &self,
        _ctx: &Context,
        root: &Root,
        req: UpdateRequest,
    ) -> Result<UpdateResponse> {
        let permissions = props::string(&req.news, "permissions").map_err(bad)?;
        if let (Some(p), false) = (permissions, req.preview) {
            let mode = fs::parse_permissions(&p.value).map_err(Error::InvalidRequest)?;
            let path = located(root, &req.id, &req.olds)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(
                |e| {
                    Error::failed(format!(
                        "cannot set the permissions of {}: {e}",
                        path.display()
                    ))
                },
            )?;
        }
        Ok(UpdateResponse::new(req.news))
    }

    pub(crate) async fn delete(
        &self,
        ctx: &Context,
        root: &Root,
        req: DeleteRequest,
    ) -> Result<()> {
        let path = located(root, &req.id, &req.properties)?;
        let recursive = props::flag(&req.properties, "recursive").map_err(bad)?;
        fs::remove_directory(&path, recursive)?;
        ctx.log()
            .info(format!("removed directory {}", path.display()));
        Ok(())
    }
}
