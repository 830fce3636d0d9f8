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
//! Each is a typed [`Function`]: the SDK reads the arguments (a missing or wrongly typed one is
//! a failure naming it, which the engine shows like a Check failure) and keeps the result
//! secret when an argument was. A file that cannot be read is an error naming the file.

use provider_sdk::typed::Function;
use provider_sdk::{Context, Error, Result, async_trait};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fs;
use crate::root;

/// The token of the function that reads a file.
pub const READ_FILE: &str = "local:index:readFile";
/// The token of the function that hashes content.
pub const HASH: &str = "local:index:hash";

/// Reads a file under `local:root`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadFileArgs {
    /// The file to read, relative to `local:root`.
    pub path: String,
}

/// A file's content.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReadFileResult {
    /// The content as text (invalid UTF-8 replaced).
    pub content: String,
    /// The hex SHA-256 of the content.
    pub sha256: String,
    /// The size in bytes.
    pub size: u64,
}

/// `local:index:readFile`.
#[derive(Debug, Default)]
pub struct ReadFile;

#[async_trait]
impl Function for ReadFile {
    type Args = ReadFileArgs;
    type Output = ReadFileResult;

    async fn call(&self, ctx: &Context, args: ReadFileArgs) -> Result<ReadFileResult> {
        let path = root::configured(ctx)?.resolve("path", &args.path)?;
        let live = fs::read_file(&path)?
            .ok_or_else(|| Error::failed(format!("readFile: {} does not exist", path.display())))?;
        Ok(ReadFileResult {
            sha256: live.sha256(),
            size: live.content.len() as u64,
            content: String::from_utf8_lossy(&live.content).into_owned(),
        })
    }
}

/// Hashes text with SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HashArgs {
    /// The text to hash.
    pub content: String,
}

/// A SHA-256 digest.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HashResult {
    /// The hex SHA-256 of the content's UTF-8 bytes.
    pub sha256: String,
}

/// `local:index:hash`.
#[derive(Debug, Default)]
pub struct Hash;

#[async_trait]
impl Function for Hash {
    type Args = HashArgs;
    type Output = HashResult;

    async fn call(&self, _ctx: &Context, args: HashArgs) -> Result<HashResult> {
        Ok(HashResult {
            sha256: fs::sha256_hex(args.content.as_bytes()),
        })
    }
}
