//! Releasing a provider as Pulumi users install it: the release files (`pack`), the plugin
//! cache commands (`plugin install|ls|rm`), the schema of a plugin (`get-schema`) and the
//! comparison of two releases' schemas (`diff-schema`).
//!
//! | command | what |
//! |---|---|
//! | `package pack CRATE_DIR --out DIR` | `pulumi-resource-<name>-v<version>-<os>-<arch>.tar.gz` per target, and `schema.json` ([`pack`]) |
//! | `package get-schema PLUGIN` | the plugin's schema on stdout |
//! | `package diff-schema OLD NEW [--json]` | breaking changes and additions ([`provider_conformance::schema_diff`]); exit 1 when something breaks |
//! | `plugin install resource NAME VERSION --file TARBALL` | into `$PULUMI_HOME/plugins` in Pulumi's layout ([`plugin_host::cache`]) |
//! | `plugin ls`, `plugin rm KIND NAME [VERSION]` | list and remove installed plugins |
//!
//! A PLUGIN (and OLD or NEW when not a schema file) is an executable, a release `.tar.gz`, or
//! `NAME[@VERSION]` installed in the plugin cache.

pub mod cli;
pub mod pack;

pub use pack::{PackRequest, Packed, pack};
