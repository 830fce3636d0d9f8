//! `local:index:StaticSite`: a component, a directory of files served over HTTP.
//!
//! # Using it
//!
//! ```yaml
//! resources:
//!   site:
//!     type: local:index:StaticSite
//!     properties:
//!       path: www             # relative to `local:root`
//!       port: 8080            # 1024-65535, on 127.0.0.1 only
//!       files:
//!         index.html: <h1>hello</h1>
//!         about.html: <p>about</p>
//! outputs:
//!   url: ${site.url}          # http://127.0.0.1:8080/
//! ```
//!
//! | input | meaning |
//! |---|---|
//! | `path` | the site's directory, relative to `local:root`; its parent must exist |
//! | `files` | file name (no `/`, not `.` or `..`) to text content; values may be secrets |
//! | `port` | the TCP port on 127.0.0.1, from 1024 to 65535 |
//!
//! It registers, all parented to the site: a [`Directory`](crate::Directory) for `path`
//! (`<name>-dir`), one [`File`](crate::File) per entry of `files` (`<name>-<file>`, after the
//! directory) and a [`Service`](crate::Service) (`<name>-server`, after the directory) that
//! runs `pulumi-resource-local serve-dir` ([`crate::serve_dir`]) in the directory, ready when
//! HTTP answers. Outputs: `url` (`http://127.0.0.1:<port>/`) and `fileCount`.
//!
//! Changing one file's content updates that `File` in place and nothing else (the engine
//! diffs each child); adding or removing an entry adds or deletes one `File`.
//!
//! The method `getFile` (`local:index:StaticSite/getFile`) fetches one file over HTTP from the
//! running site: `{name}` in, `{content}` out.
//!
//! # How it is written
//!
//! A typed [`Component`]: the SDK reads and checks the inputs (every bad property named at
//! once: a bad file name, a port out of range), registers the component, parents the children,
//! keeps secret file contents secret in their `File`s, and registers the outputs.

use std::collections::BTreeMap;

use provider_sdk::ops::{CheckFailure, ResourceOptions};
use provider_sdk::typed::{Component, ComponentContext, Method, MethodContext};
use provider_sdk::{Context, Error, Maybe, Result, async_trait};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, DirectoryArgs};
use crate::file::{File, FileArgs};
use crate::serve_dir;
use crate::service::{Service, ServiceArgs};

/// The type token.
pub const TYPE: &str = "local:index:StaticSite";

/// The token of the `getFile` method.
pub const GET_FILE: &str = "local:index:StaticSite/getFile";

/// The lowest port a site may use (below it, ports need privileges).
const MIN_PORT: u16 = 1024;

/// The inputs of a [`StaticSite`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StaticSiteArgs {
    /// The site's directory, relative to `local:root`; its parent must exist.
    pub path: String,
    /// File name to text content (names without `/`).
    pub files: BTreeMap<String, String>,
    /// The TCP port on 127.0.0.1 to serve on, from 1024 to 65535.
    pub port: u16,
}

/// A directory of files served over HTTP on 127.0.0.1.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaticSiteOutputs {
    /// Where the site answers: `http://127.0.0.1:<port>/`.
    pub url: String,
    /// How many files the site has.
    pub file_count: u32,
}

/// The `StaticSite` component.
#[derive(Debug, Default)]
pub struct StaticSite;

/// The shell command that serves `port` from the working directory: this very binary.
fn server_command(port: u16) -> Result<String> {
    let exe = std::env::current_exe().map_err(|e| {
        Error::failed(format!(
            "cannot find the plugin's own binary to serve the site: {e}"
        ))
    })?;
    let quoted = format!("'{}'", exe.display().to_string().replace('\'', r"'\''"));
    Ok(format!("exec {quoted} {} . {port}", serve_dir::SUBCOMMAND))
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/")
}

#[async_trait]
impl Component for StaticSite {
    type Inputs = StaticSiteArgs;
    type Outputs = StaticSiteOutputs;

    async fn check(&self, _ctx: &Context, inputs: &StaticSiteArgs) -> Result<Vec<CheckFailure>> {
        let mut failures = Vec::new();
        if inputs.path.trim().is_empty() {
            failures.push(CheckFailure::new("path", "must name a directory"));
        }
        for name in inputs.files.keys() {
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                failures.push(CheckFailure::new(
                    format!("files[{name:?}]"),
                    "a file name must be non-empty, without `/`, and not `.` or `..`",
                ));
            }
        }
        if inputs.port < MIN_PORT {
            failures.push(CheckFailure::new(
                "port",
                format!("must be from {MIN_PORT} to 65535 (got {})", inputs.port),
            ));
        }
        Ok(failures)
    }

    async fn construct(
        &self,
        ctx: &ComponentContext,
        name: &str,
        inputs: StaticSiteArgs,
    ) -> Result<StaticSiteOutputs> {
        let dir = ctx
            .register::<Directory>(
                &format!("{name}-dir"),
                &DirectoryArgs {
                    path: inputs.path.clone(),
                    permissions: None,
                    recursive: None,
                },
                ResourceOptions::new(),
            )
            .await?;
        for (file, content) in &inputs.files {
            ctx.register::<File>(
                &format!("{name}-{file}"),
                &FileArgs {
                    path: format!("{}/{file}", inputs.path.trim_end_matches('/')),
                    content: Some(content.clone()),
                    source: None,
                    permissions: None,
                    overwrite: None,
                },
                ResourceOptions::new().depends_on(&dir.urn),
            )
            .await?;
        }
        ctx.register::<Service>(
            &format!("{name}-server"),
            &ServiceArgs {
                command: server_command(inputs.port)?,
                environment: None,
                dir: Some(inputs.path.clone()),
                ready_port: None,
                ready_url: Some(url(inputs.port)),
                ready_timeout: None,
                log_file: None,
            },
            ResourceOptions::new().depends_on(&dir.urn),
        )
        .await?;
        Ok(StaticSiteOutputs {
            url: url(inputs.port),
            file_count: inputs.files.len() as u32,
        })
    }
}

/// Fetches one file of the site over HTTP.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GetFileArgs {
    /// The file's name, as in `files`.
    pub name: String,
}

/// A file of the site, as the site serves it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GetFileResult {
    /// The file's content.
    pub content: String,
}

/// The `getFile` method of [`StaticSite`].
#[derive(Debug, Default)]
pub struct GetFile;

#[async_trait]
impl Method for GetFile {
    type Component = StaticSite;
    type Args = GetFileArgs;
    type Output = GetFileResult;

    async fn call(
        &self,
        ctx: &MethodContext<StaticSite>,
        args: GetFileArgs,
    ) -> Result<GetFileResult> {
        let Maybe::Known(site) = ctx.outputs().await? else {
            return Err(Error::failed(format!(
                "{} is not built yet (its url is unknown); call getFile after an update",
                ctx.urn()
            )));
        };
        let port = site
            .url
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches('/')
            .parse::<u16>()
            .map_err(|_| Error::failed(format!("the site's url {:?} names no port", site.url)))?;
        let name = args.name.clone();
        let (status, body) = tokio::task::spawn_blocking(move || serve_dir::get(port, &name))
            .await
            .map_err(|e| Error::Internal(format!("the HTTP request panicked: {e}")))?
            .map_err(|e| Error::failed(format!("GET {}{}: {e}", site.url, args.name)))?;
        if status != 200 {
            return Err(Error::failed(format!(
                "GET {}{} answered {status}",
                site.url, args.name
            )));
        }
        let content = String::from_utf8(body)
            .map_err(|_| Error::failed(format!("{} is not UTF-8 text", args.name)))?;
        Ok(GetFileResult { content })
    }
}
