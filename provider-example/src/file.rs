//! `local:index:File`: a file on the local disk, with drift detection.
//!
//! # Using it
//!
//! ```yaml
//! resources:
//!   greeting:
//!     type: local:index:File
//!     properties:
//!       path: hello.txt          # relative to the provider's `local:root`
//!       content: Hello, world!   # or `source: { fn::fileAsset: ./page.html }`
//!       permissions: "0644"
//! ```
//!
//! | input | meaning |
//! |---|---|
//! | `path` | where the file lives; relative paths are resolved against `local:root`. Changing it **replaces** the file (a new file is written, then the old one removed). |
//! | `content` | the file's text. May be a secret: then every output computed from it (`sha256`, `size`) is secret too. |
//! | `source` | instead of `content`: an asset (`fn::stringAsset`, or `fn::fileAsset` whose relative path is resolved against the program's directory, as Pulumi defines for assets). |
//! | `permissions` | octal mode such as `"0600"`; default `"0644"`. |
//! | `overwrite` | take over a file that already exists at `path` (default `false`: creating over an existing file is an error, so a program never silently clobbers, and later deletes, someone's file). |
//!
//! Outputs ([`FileState`]): the inputs, plus `sha256` (hex SHA-256 of the content) and `size`
//! (bytes). The id is the file's absolute path.
//!
//! # How it is written
//!
//! `File` implements the SDK's typed [`Resource`]: [`FileArgs`] and [`FileState`] are plain
//! serde structs, and the SDK does the rest: it reads and validates the inputs (a missing
//! `path` or a misspelled property is a check failure naming it), computes the structural diff
//! (with `path` in [`Resource::REPLACE_ON_CHANGES`]), answers previews, and keeps outputs
//! secret when the content is. The operations:
//!
//! - **check** adds what serde cannot say: `content` and `source` together, a malformed
//!   `permissions`; and it fills the default `permissions`.
//! - **diff** starts from the SDK's structural diff and adds one thing: it hashes the wanted
//!   content and compares it with the recorded `sha256`, so a file edited outside (found by a
//!   refresh) or an asset file edited since is written again although the inputs look equal.
//! - **create** writes the file atomically (a temporary file renamed into place) with its
//!   permissions. The parent directory must exist; the error says to create it (for example
//!   with a [`crate::directory`] resource the file depends on).
//! - **read** is where drift shows: a file removed outside reads as *gone* (`None`: the engine
//!   drops it from the state on refresh and the next `up` creates it again); a file edited
//!   outside reads with its live `content`, `permissions` and `sha256`, so the next `up` shows
//!   the difference and writes the program's content back.
//! - **import** adopts an existing file from its id, its absolute path: the live text becomes
//!   `content`, the live mode `permissions`, and `path` is given relative to `local:root`
//!   when the file is inside it, as a program would write it. When the engine sends the inputs
//!   a create began with (a pending create being recovered) and the file holds what they say,
//!   those inputs are kept (so a `source` asset stays a `source`). A missing file is *not
//!   found*; a file that is not UTF-8 text cannot be imported, since `content` is text.
//! - **update** rewrites content and permissions in place; **delete** removes the file (a file
//!   already gone is fine).

use provider_sdk::ops::{CheckFailure, DiffKind, DiffResponse, PropertyDiff};
use provider_sdk::typed::{
    CreateArgs, Created, DeleteArgs, DiffArgs, ImportArgs, ReadArgs, ReadResult, Resource,
    UpdateArgs, resource,
};
use provider_sdk::value::Asset;
use provider_sdk::{Context, Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fs;
use crate::root::{self, Root};

/// The type token.
pub const TYPE: &str = "local:index:File";

const DEFAULT_PERMISSIONS: &str = "0644";

/// The inputs of a [`File`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileArgs {
    /// Where the file is written; relative paths are resolved against `local:root`. Changing
    /// it replaces the file.
    pub path: String,
    /// The file's text (may be a secret).
    pub content: Option<String>,
    /// The file's content as an asset, instead of `content`.
    pub source: Option<Asset>,
    /// Octal permissions such as "0600"; default "0644".
    pub permissions: Option<String>,
    /// Take over a file that already exists at `path` (default false).
    pub overwrite: Option<bool>,
}

/// A file on the local disk, with its content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileState {
    /// Where the file is.
    pub path: String,
    /// The file's text.
    pub content: Option<String>,
    /// The asset the content came from.
    pub source: Option<Asset>,
    /// The file's permissions, as four octal digits.
    pub permissions: Option<String>,
    /// Whether an existing file was taken over.
    pub overwrite: Option<bool>,
    /// The hex SHA-256 of the content.
    pub sha256: String,
    /// The content's size in bytes.
    pub size: u64,
}

impl FileArgs {
    /// The bytes the file should hold.
    fn bytes(&self) -> Result<Vec<u8>> {
        match (&self.content, &self.source) {
            (Some(text), _) => Ok(text.clone().into_bytes()),
            (None, Some(asset)) => fs::asset_bytes("source", asset),
            (None, None) => Ok(Vec::new()),
        }
    }

    fn mode(&self) -> Result<u32> {
        fs::parse_permissions(self.permissions.as_deref().unwrap_or(DEFAULT_PERMISSIONS))
            .map_err(Error::InvalidRequest)
    }

    fn state(self, content: &[u8]) -> FileState {
        FileState {
            path: self.path,
            content: self.content,
            source: self.source,
            permissions: self.permissions,
            overwrite: self.overwrite,
            sha256: fs::sha256_hex(content),
            size: content.len() as u64,
        }
    }
}

impl FileState {
    fn args(&self) -> FileArgs {
        FileArgs {
            path: self.path.clone(),
            content: self.content.clone(),
            source: self.source.clone(),
            permissions: self.permissions.clone(),
            overwrite: self.overwrite,
        }
    }
}

/// The `File` resource.
#[derive(Debug, Default)]
pub struct File;

impl File {
    fn root(ctx: &Context) -> Result<Root> {
        root::configured(ctx)
    }

    /// The file's absolute path: the id when it is one, else `path` resolved against the root.
    fn located(ctx: &Context, id: &str, path: &str) -> Result<std::path::PathBuf> {
        if id.starts_with('/') {
            Ok(id.into())
        } else {
            Self::root(ctx)?.resolve("path", path)
        }
    }
}

/// What an error or log line says in place of a path when an input is secret.
const PATH_NOT_SHOWN: &str = "the file (path not shown: an input is secret)";

/// `path` for a log line or an error: itself, or [`PATH_NOT_SHOWN`] when an input of the
/// resource is secret (the path may be the secret, or be made from it).
fn shown(ctx: &Context, path: &std::path::Path) -> String {
    if ctx.inputs_are_secret() {
        PATH_NOT_SHOWN.to_string()
    } else {
        path.display().to_string()
    }
}

/// `r` with `path` (and the folders above it, which may hold the secret part) left out of its
/// error message when an input of the resource is secret.
fn hiding_path<T>(ctx: &Context, path: &str, r: Result<T>) -> Result<T> {
    if !ctx.inputs_are_secret() {
        return r;
    }
    let hide = |m: String| {
        let mut m = m;
        let mut p = Some(std::path::Path::new(path));
        while let Some(at) = p.filter(|p| p.as_os_str().len() > 1) {
            m = m.replace(&at.display().to_string(), PATH_NOT_SHOWN);
            p = at.parent();
        }
        m
    };
    r.map_err(|e| match e {
        Error::Failed(m) => Error::Failed(hide(m)),
        Error::InvalidRequest(m) => Error::InvalidRequest(hide(m)),
        Error::OutcomeUnknown(m) => Error::OutcomeUnknown(hide(m)),
        Error::Timeout(m) => Error::Timeout(hide(m)),
        Error::Cancelled(m) => Error::Cancelled(hide(m)),
        other => other,
    })
}

#[resource]
impl Resource for File {
    type Inputs = FileArgs;
    type Outputs = FileState;
    const REPLACE_ON_CHANGES: &'static [&'static str] = &["path"];
    const IMPORT_ID: &'static str = "the file's absolute path";

    async fn check(&self, _ctx: &Context, inputs: &mut FileArgs) -> Result<Vec<CheckFailure>> {
        let mut failures = Vec::new();
        if inputs.path.is_empty() {
            failures.push(CheckFailure::new(
                "path",
                "is empty; give the file's path (relative to `local:root`, or to the program's directory)",
            ));
        }
        if inputs.content.is_some() && inputs.source.is_some() {
            failures.push(CheckFailure::new(
                "source",
                "give either `content` or `source`, not both",
            ));
        }
        match &inputs.permissions {
            Some(p) => {
                if let Err(reason) = fs::parse_permissions(p) {
                    failures.push(CheckFailure::new("permissions", reason));
                }
            }
            None => inputs.permissions = Some(DEFAULT_PERMISSIONS.to_string()),
        }
        Ok(failures)
    }

    async fn diff(
        &self,
        _ctx: &Context,
        args: DiffArgs<FileArgs, FileState>,
    ) -> Result<DiffResponse> {
        let mut diff = args.default;
        // What is on disk (as last recorded) differs from what the program wants, although the
        // inputs may look the same: drift found by a refresh, or an edited asset file.
        if let (Some(state), Some(news)) = (&args.state, &args.news) {
            let key = if news.source.is_some() {
                "source"
            } else {
                "content"
            };
            let already = diff
                .detailed_diff
                .keys()
                .any(|k| k == key || k.starts_with(&format!("{key}.")));
            let differs = news
                .bytes()
                .is_ok_and(|bytes| fs::sha256_hex(&bytes) != state.sha256);
            if differs && !already {
                let mut detailed = diff.detailed_diff.clone();
                detailed.insert(key.to_string(), PropertyDiff::input(DiffKind::Update));
                diff = DiffResponse::from_detailed(detailed);
            }
        }
        Ok(diff)
    }

    async fn create(
        &self,
        ctx: &Context,
        args: CreateArgs<FileArgs>,
    ) -> Result<Created<FileState>> {
        let inputs = args.inputs;
        let path = hiding_path(
            ctx,
            &inputs.path,
            Self::root(ctx).and_then(|root| root.resolve("path", &inputs.path)),
        )?;
        let content = inputs.bytes()?;
        let absolute = path.display().to_string();
        hiding_path(
            ctx,
            &absolute,
            fs::write_file(
                &path,
                &content,
                inputs.mode()?,
                !inputs.overwrite.unwrap_or(false),
            ),
        )?;
        ctx.log().info(format!(
            "wrote {} ({} bytes)",
            shown(ctx, &path),
            content.len()
        ));
        Ok(Created::new(
            path.display().to_string(),
            inputs.state(&content),
        ))
    }

    async fn read(
        &self,
        ctx: &Context,
        args: ReadArgs<FileArgs, FileState>,
    ) -> Result<Option<ReadResult<FileArgs, FileState>>> {
        let path = Self::located(ctx, &args.id, &args.state.path)?;
        let Some(live) = fs::read_file(&path)? else {
            return Ok(None);
        };
        let mut inputs = args.inputs.unwrap_or_else(|| args.state.args());
        let live_sha = live.sha256();
        if live_sha != args.state.sha256 && inputs.content.is_some() {
            // Edited outside: report the live text (when it is text) as the content.
            if let Ok(text) = String::from_utf8(live.content.clone()) {
                inputs.content = Some(text);
            }
        }
        inputs.permissions = Some(fs::format_permissions(live.mode));
        let mut state = inputs.clone().state(&live.content);
        state.sha256 = live_sha;
        Ok(Some(ReadResult::new(args.id, inputs, state)))
    }

    async fn import(
        &self,
        ctx: &Context,
        args: ImportArgs<FileArgs>,
    ) -> Result<Option<ReadResult<FileArgs, FileState>>> {
        let path = root::path_of_id(TYPE, &args.id)?;
        let Some(live) = fs::read_file(&path)? else {
            return Ok(None);
        };
        let root = Self::root(ctx)?;
        // The inputs sent along describe this file only when they name its path and content.
        let hint = args.inputs.filter(|hint| {
            root.resolve("path", &hint.path).ok().as_ref() == Some(&path)
                && hint
                    .bytes()
                    .is_ok_and(|bytes| fs::sha256_hex(&bytes) == live.sha256())
        });
        let mut inputs = match hint {
            Some(hint) => hint,
            None => FileArgs {
                path: root.relative(&path),
                content: Some(String::from_utf8(live.content.clone()).map_err(|_| {
                    Error::failed(format!(
                        "{} is not UTF-8 text, which a `{TYPE}`'s `content` must be, so it cannot be imported",
                        path.display()
                    ))
                })?),
                source: None,
                permissions: None,
                overwrite: None,
            },
        };
        inputs.permissions = Some(fs::format_permissions(live.mode));
        let state = inputs.clone().state(&live.content);
        Ok(Some(ReadResult::new(args.id, inputs, state)))
    }

    async fn update(
        &self,
        ctx: &Context,
        args: UpdateArgs<FileArgs, FileState>,
    ) -> Result<FileState> {
        let path = hiding_path(
            ctx,
            &args.id,
            Self::located(ctx, &args.id, &args.state.path),
        )?;
        let content = args.news.bytes()?;
        hiding_path(
            ctx,
            &args.id,
            fs::write_file(&path, &content, args.news.mode()?, false),
        )?;
        ctx.log().info(format!(
            "rewrote {} ({} bytes)",
            shown(ctx, &path),
            content.len()
        ));
        Ok(args.news.state(&content))
    }

    async fn delete(&self, ctx: &Context, args: DeleteArgs<FileState>) -> Result<()> {
        let path = hiding_path(
            ctx,
            &args.id,
            Self::located(ctx, &args.id, &args.state.path),
        )?;
        hiding_path(ctx, &args.id, fs::remove_file(&path))?;
        ctx.log().info(format!("removed {}", shown(ctx, &path)));
        Ok(())
    }
}
