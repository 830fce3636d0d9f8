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
//! | `content` | the file's text. May be a secret: then every output derived from it (`content`, `sha256`) is secret too. |
//! | `source` | instead of `content`: an asset (`fn::stringAsset`, or `fn::fileAsset` whose relative path is resolved against the program's directory, as Pulumi defines for assets). |
//! | `permissions` | octal mode such as `"0600"`; default `"0644"`. |
//! | `overwrite` | take over a file that already exists at `path` (default `false`: creating over an existing file is an error, so a program never silently clobbers and later deletes someone's file). |
//!
//! Outputs: the inputs, plus `sha256` (hex SHA-256 of the content) and `size` (bytes). The id
//! is the file's absolute path.
//!
//! # How each operation works
//!
//! - **Check** validates the inputs (a missing `path`, `content` together with `source`, a bad
//!   `permissions` string each become a failure naming the property) and fills the default
//!   `permissions`.
//! - **Diff** compares old and new inputs: `path` replaces, everything else updates in place.
//!   It also hashes the new content and compares it with the recorded `sha256`, so a file
//!   edited outside (after a refresh) or a changed asset file is rewritten even when the
//!   program's inputs did not change.
//! - **Create** writes the file atomically (a temporary file renamed into place) with its
//!   permissions. The parent directory must exist; the error says to create it (for example
//!   with a [`crate::directory`] resource the file depends on).
//! - **Read** is where drift shows: a file removed outside reads as *gone* (an empty id, so
//!   `refresh` drops it from the state and the next `up` creates it again); a file edited
//!   outside reads with its live `content`, `permissions` and `sha256`, so the next `up` shows
//!   the difference and writes the program's content back.
//! - **Update** rewrites content and permissions in place; **Delete** removes the file (a file
//!   already gone is fine).

use provider_sdk::ops::*;
use provider_sdk::{Context, Error, PropertyMap, PropertyValue, Result, diff_top_level};

use crate::fs;
use crate::props::{self, maybe_secret};
use crate::root::Root;

/// The type token.
pub const TYPE: &str = "local:index:File";

const INPUTS: &[&str] = &["path", "content", "source", "permissions", "overwrite"];
const COMPUTED: &[&str] = &["sha256", "size"];
const DEFAULT_PERMISSIONS: &str = "0644";

/// The `File` resource.
#[derive(Debug, Default)]
pub struct File;

/// The desired file, read from checked inputs.
struct Desired {
    path: String,
    content: Vec<u8>,
    secret: bool,
    mode: u32,
    overwrite: bool,
}

fn desired(inputs: &PropertyMap) -> Result<Desired> {
    let bad = |p: props::Problem| Error::InvalidRequest(p.reason);
    let path = props::required_string(inputs, "path", "where to write the file")
        .map_err(bad)?
        .value;
    let (content, secret) = match (
        props::string(inputs, "content").map_err(bad)?,
        props::asset(inputs, "source").map_err(bad)?,
    ) {
        (Some(text), _) => (text.value.into_bytes(), text.secret),
        (None, Some(asset)) => (fs::asset_bytes("source", &asset.value)?, asset.secret),
        (None, None) => (Vec::new(), false),
    };
    let permissions = props::string(inputs, "permissions")
        .map_err(bad)?
        .map(|p| p.value);
    let mode = fs::parse_permissions(permissions.as_deref().unwrap_or(DEFAULT_PERMISSIONS))
        .map_err(Error::InvalidRequest)?;
    Ok(Desired {
        path,
        content,
        secret,
        mode,
        overwrite: props::flag(inputs, "overwrite").map_err(bad)?,
    })
}

fn outputs(inputs: &PropertyMap, d: &Desired) -> PropertyMap {
    let mut out = inputs.clone();
    out.insert(
        "sha256".into(),
        maybe_secret(fs::sha256_hex(&d.content), d.secret),
    );
    out.insert("size".into(), PropertyValue::Number(d.content.len() as f64));
    out
}

/// The file's absolute path: the id when it is one, else `path` resolved against the root.
fn located(root: &Root, id: &str, state: &PropertyMap) -> Result<std::path::PathBuf> {
    if id.starts_with('/') {
        return Ok(id.into());
    }
    let path = props::required_string(state, "path", "where the file is")
        .map_err(|p| Error::InvalidRequest(p.reason))?;
    root.resolve("path", &path.value)
}

impl File {
    pub(crate) fn check(&self, req: CheckRequest) -> Result<CheckResponse> {
        let news = &req.news;
        let mut failures = props::unknown_keys(news, "File", INPUTS);
        if let Err(p) = props::required_string(
            news,
            "path",
            "where to write the file (relative to `local:root`)",
        ) {
            failures.push(p);
        }
        let content = props::string(news, "content").unwrap_or_else(|p| {
            failures.push(p);
            None
        });
        match props::asset(news, "source") {
            Ok(Some(_)) if content.is_some() || props::is_unknown(news, "content") => failures
                .push(CheckFailure::new(
                    "source",
                    "give either `content` or `source`, not both",
                )),
            Ok(_) => {}
            Err(p) => failures.push(p),
        }
        let mut inputs = req.news.clone();
        match props::string(news, "permissions") {
            Ok(Some(p)) => {
                if let Err(reason) = fs::parse_permissions(&p.value) {
                    failures.push(CheckFailure::new("permissions", reason));
                }
            }
            Ok(None) if !props::is_unknown(news, "permissions") => {
                inputs.insert("permissions".into(), DEFAULT_PERMISSIONS.into());
            }
            Ok(None) => {}
            Err(p) => failures.push(p),
        }
        if let Err(p) = props::flag(news, "overwrite") {
            failures.push(p);
        }
        Ok(CheckResponse::invalid(inputs, failures))
    }

    pub(crate) fn diff(&self, req: DiffRequest) -> Result<DiffResponse> {
        let olds = if req.old_inputs.is_empty() {
            props::inputs_of(&req.olds, COMPUTED)
        } else {
            req.old_inputs.clone()
        };
        let mut diff = diff_top_level(&olds, &req.news, &["path"]);
        // The content on disk (as last recorded) differs from what the program wants, although
        // the inputs may look the same: drift found by a refresh, or an edited asset file.
        let recorded = req
            .olds
            .get("sha256")
            .and_then(|v| v.unwrap_secret().0.as_str().map(str::to_string));
        let known =
            !props::is_unknown(&req.news, "content") && !props::is_unknown(&req.news, "source");
        let wanted = if known { desired(&req.news).ok() } else { None };
        if let (Some(recorded), Some(d)) = (recorded, wanted) {
            let key = if req.news.contains_key("source") {
                "source"
            } else {
                "content"
            };
            if fs::sha256_hex(&d.content) != recorded && !diff.detailed_diff.contains_key(key) {
                let mut detailed = diff.detailed_diff.clone();
                detailed.insert(key.to_string(), PropertyDiff::input(DiffKind::Update));
                diff = DiffResponse::from_detailed(detailed);
            }
        }
        Ok(diff)
    }

    pub(crate) async fn create(
        &self,
        ctx: &Context,
        root: &Root,
        req: CreateRequest,
    ) -> Result<CreateResponse> {
        if req.preview {
            let mut out = req.properties.clone();
            for key in COMPUTED {
                out.insert(key.to_string(), PropertyValue::Unknown(Default::default()));
            }
            return Ok(CreateResponse::new("", out));
        }
        let d = desired(&req.properties)?;
        let path = root.resolve("path", &d.path)?;
        fs::write_file(&path, &d.content, d.mode, !d.overwrite)?;
        ctx.log().info(format!(
            "wrote {} ({} bytes)",
            path.display(),
            d.content.len()
        ));
        Ok(CreateResponse::new(
            path.display().to_string(),
            outputs(&req.properties, &d),
        ))
    }

    pub(crate) async fn read(
        &self,
        _ctx: &Context,
        root: &Root,
        req: ReadRequest,
    ) -> Result<ReadResponse> {
        let path = located(root, &req.id, &req.properties)?;
        let Some(live) = fs::read_file(&path)? else {
            return Ok(ReadResponse::gone());
        };
        let mut inputs = if req.inputs.is_empty() {
            props::inputs_of(&req.properties, COMPUTED)
        } else {
            req.inputs.clone()
        };
        let secret = req
            .properties
            .get("content")
            .is_some_and(PropertyValue::is_secret)
            || inputs.get("content").is_some_and(PropertyValue::is_secret)
            || req
                .properties
                .get("sha256")
                .is_some_and(PropertyValue::is_secret);
        let recorded = req
            .properties
            .get("sha256")
            .and_then(|v| v.unwrap_secret().0.as_str().map(str::to_string));
        let live_sha = live.sha256();
        if recorded.as_deref() != Some(live_sha.as_str()) && inputs.contains_key("content") {
            // Edited outside: report the live text (when it is text) as the content.
            if let Ok(text) = String::from_utf8(live.content.clone()) {
                inputs.insert("content".into(), maybe_secret(text, secret));
            }
        }
        inputs.insert(
            "permissions".into(),
            fs::format_permissions(live.mode).into(),
        );
        let mut out = req.properties.clone();
        for key in ["content", "permissions"] {
            if let Some(v) = inputs.get(key) {
                out.insert(key.into(), v.clone());
            }
        }
        out.insert("sha256".into(), maybe_secret(live_sha, secret));
        out.insert(
            "size".into(),
            PropertyValue::Number(live.content.len() as f64),
        );
        Ok(ReadResponse::found(req.id, out, inputs))
    }

    pub(crate) async fn update(
        &self,
        ctx: &Context,
        root: &Root,
        req: UpdateRequest,
    ) -> Result<UpdateResponse> {
        if req.preview {
            let mut out = req.news.clone();
            for key in COMPUTED {
                out.insert(key.to_string(), PropertyValue::Unknown(Default::default()));
            }
            return Ok(UpdateResponse::new(out));
        }
        let d = desired(&req.news)?;
        let path = located(root, &req.id, &req.olds)?;
        fs::write_file(&path, &d.content, d.mode, false)?;
        ctx.log().info(format!(
            "rewrote {} ({} bytes)",
            path.display(),
            d.content.len()
        ));
        Ok(UpdateResponse::new(outputs(&req.news, &d)))
    }

    pub(crate) async fn delete(
        &self,
        ctx: &Context,
        root: &Root,
        req: DeleteRequest,
    ) -> Result<()> {
        let path = located(root, &req.id, &req.properties)?;
        fs::remove_file(&path)?;
        ctx.log().info(format!("removed {}", path.display()));
        Ok(())
    }
}
