//! Functions (`Invoke`): `local:index:readFile` and `local:index:hash`.
//!
//! ```yaml
//! variables:
//!   motd:
//!     fn::invoke:
//!       function: local:index:readFile
//!       arguments: { path: motd.txt }      # relative to `local:root`
//!   digest:
//!     fn::invoke:
//!       function: local:index:hash
//!       arguments: { content: ${motd.content} }
//! ```
//!
//! | function | arguments | result |
//! |---|---|---|
//! | `readFile` | `path` | `content` (text; invalid UTF-8 is replaced), `sha256`, `size` |
//! | `hash` | `content` | `sha256` (hex SHA-256 of the UTF-8 bytes) |
//!
//! A missing or wrongly typed argument is a failure naming it (the engine shows it like a
//! Check failure); a file that cannot be read is an error naming the file. A secret argument
//! makes every result secret.

use provider_sdk::ops::*;
use provider_sdk::{Error, PropertyMap, PropertyValue, Result};

use crate::fs;
use crate::props::{self, maybe_secret};
use crate::root::Root;

/// The token of the function that reads a file.
pub const READ_FILE: &str = "local:index:readFile";
/// The token of the function that hashes content.
pub const HASH: &str = "local:index:hash";

/// Runs the function `req.token`.
pub(crate) fn invoke(root: &Root, req: InvokeRequest) -> Result<InvokeResponse> {
    let secret = req.args.values().any(PropertyValue::contains_secrets);
    match req.token.as_str() {
        READ_FILE => {
            let mut failures = props::unknown_keys(&req.args, "readFile", &["path"]);
            let path = match props::required_string(
                &req.args,
                "path",
                "the file to read (relative to `local:root`)",
            ) {
                Ok(p) => Some(p.value),
                Err(p) => {
                    failures.push(p);
                    None
                }
            };
            let Some(path) = path.filter(|_| failures.is_empty()) else {
                return Ok(InvokeResponse::invalid(failures));
            };
            let resolved = root.resolve("path", &path)?;
            let live = fs::read_file(&resolved)?.ok_or_else(|| {
                Error::failed(format!("readFile: {} does not exist", resolved.display()))
            })?;
            let mut result = PropertyMap::new();
            result.insert("sha256".into(), maybe_secret(live.sha256(), secret));
            result.insert(
                "size".into(),
                PropertyValue::Number(live.content.len() as f64),
            );
            result.insert(
                "content".into(),
                maybe_secret(String::from_utf8_lossy(&live.content).into_owned(), secret),
            );
            Ok(InvokeResponse::ok(result))
        }
        HASH => {
            let mut failures = props::unknown_keys(&req.args, "hash", &["content"]);
            let content = match props::required_string(&req.args, "content", "the text to hash") {
                Ok(c) => Some(c.value),
                Err(p) => {
                    failures.push(p);
                    None
                }
            };
            let Some(content) = content.filter(|_| failures.is_empty()) else {
                return Ok(InvokeResponse::invalid(failures));
            };
            let mut result = PropertyMap::new();
            result.insert(
                "sha256".into(),
                maybe_secret(fs::sha256_hex(content.as_bytes()), secret),
            );
            Ok(InvokeResponse::ok(result))
        }
        other => Err(Error::InvalidRequest(format!(
            "unknown function `{other}`; this provider has {READ_FILE} and {HASH}"
        ))),
    }
}
