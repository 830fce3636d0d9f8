//! An example provider for local resources, package `local`, written only with the SDK's
//! typed layer ([`provider_sdk::typed`]).
//!
//! | type token | what it manages |
//! |---|---|
//! | `local:index:Random` | a random string: `length` (replaces), `prefix` (updates in place), output `result` ([`random`]) |
//! | `local:index:File` | a file: content (plain, secret or an asset), permissions, drift detection ([`file`](mod@file)) |
//! | `local:index:Directory` | a directory that Delete removes only when empty, or when told to ([`directory`]) |
//! | `local:index:Command` | shell commands on create, update and delete, with timeouts and cancellation ([`command`]) |
//! | `local:index:Service` | a long-running process with a readiness check; partial failure ([`service`]) |
//! | `local:index:readFile`, `local:index:hash` | functions ([`functions`]) |
//!
//! Configuration: `local:root`, optional, the directory every relative path is resolved
//! against ([`root::LocalConfig`]); when absent, relative paths resolve against the plugin's
//! working directory, which is the program's directory when an engine launches it. Configure
//! accepts empty configuration, and rejects a root that is not a writable directory with an
//! error naming `local:root`.
//!
//! Each resource is a module that reads as a tutorial: what the program writes, what each
//! operation does, and how the SDK's typed layer carries the rest. The work itself (files,
//! process groups, readiness probes) lives in plain modules with their own unit tests.
//!
//! [`typed_provider`] registers everything with a [`ProviderBuilder`]; [`LocalProvider`] serves
//! it, adding one thing the typed layer does not do yet: it hands Pulumi assets to `File` as
//! plain objects ([`file::AssetArg`]).

pub mod command;
pub mod directory;
pub mod file;
mod fs;
pub mod functions;
mod process;
pub mod random;
mod readiness;
pub mod root;
pub mod service;

use provider_sdk::typed::{ProviderBuilder, TypedProvider};
use provider_sdk::value::{AssetSource, PropertyMap, PropertyValue};
use provider_sdk::{Context, ResourceProvider, Result, async_trait, ops::*};

pub use command::Command;
pub use directory::Directory;
pub use file::File;
pub use random::{Random, RandomArgs, RandomState};
pub use root::{LocalConfig, Root};
pub use service::Service;

/// The package name: the binary is `pulumi-resource-local`, types are `local:index:<Name>`.
pub const PACKAGE: &str = "local";

/// The provider, as the plugin binary serves it.
#[derive(Debug)]
pub struct LocalProvider {
    /// The resources and functions, written on the SDK's typed layer.
    typed: TypedProvider,
}

impl Default for LocalProvider {
    fn default() -> Self {
        LocalProvider {
            typed: typed_provider(),
        }
    }
}

/// The part of the provider written on the SDK's typed layer: its resources, functions and
/// configuration, and the schema derived from them.
pub fn typed_provider() -> TypedProvider {
    ProviderBuilder::new(PACKAGE, env!("CARGO_PKG_VERSION"))
        .description("Local resources: random strings, files, directories, commands and services.")
        .config::<LocalConfig>()
        .resource(random::TYPE, Random)
        .resource(file::TYPE, File)
        .resource(directory::TYPE, Directory)
        .resource(command::TYPE, Command)
        .resource(service::TYPE, Service)
        .function(functions::READ_FILE, functions::ReadFile)
        .function(functions::HASH, functions::Hash)
        .build()
        .expect("the registered type tokens are well-formed and unique")
}

/// Replaces every asset at the top level of `map` by the object [`file::AssetArg`] reads:
/// `{text | path | uri, hash}`.
fn assets_as_objects(map: &mut PropertyMap) {
    for value in map.values_mut() {
        let (inner, secret) = value.unwrap_secret();
        let PropertyValue::Asset(asset) = inner else {
            continue;
        };
        let (key, text) = match &asset.source {
            AssetSource::Text(t) => ("text", t),
            AssetSource::Path(p) => ("path", p),
            AssetSource::Uri(u) => ("uri", u),
        };
        let mut object =
            PropertyMap::from([(key.to_string(), PropertyValue::String(text.clone()))]);
        if let Some(hash) = &asset.hash {
            object.insert("hash".into(), hash.clone().into());
        }
        let object = PropertyValue::Object(object);
        *value = if secret {
            PropertyValue::secret(object)
        } else {
            object
        };
    }
}

/// Applies [`assets_as_objects`] to the property maps of File requests.
fn file_assets(type_token: &str, maps: &mut [&mut PropertyMap]) {
    if type_token == file::TYPE {
        for map in maps {
            assets_as_objects(map);
        }
    }
}

#[async_trait]
impl ResourceProvider for LocalProvider {
    async fn check(&self, ctx: &Context, mut req: CheckRequest) -> Result<CheckResponse> {
        file_assets(&req.type_token.clone(), &mut [&mut req.olds, &mut req.news]);
        self.typed.check(ctx, req).await
    }

    async fn diff(&self, ctx: &Context, mut req: DiffRequest) -> Result<DiffResponse> {
        file_assets(
            &req.type_token.clone(),
            &mut [&mut req.olds, &mut req.old_inputs, &mut req.news],
        );
        self.typed.diff(ctx, req).await
    }

    async fn create(&self, ctx: &Context, mut req: CreateRequest) -> Result<CreateResponse> {
        file_assets(&req.type_token.clone(), &mut [&mut req.properties]);
        self.typed.create(ctx, req).await
    }

    async fn read(&self, ctx: &Context, mut req: ReadRequest) -> Result<ReadResponse> {
        file_assets(
            &req.type_token.clone(),
            &mut [&mut req.properties, &mut req.inputs],
        );
        self.typed.read(ctx, req).await
    }

    async fn update(&self, ctx: &Context, mut req: UpdateRequest) -> Result<UpdateResponse> {
        file_assets(
            &req.type_token.clone(),
            &mut [&mut req.olds, &mut req.old_inputs, &mut req.news],
        );
        self.typed.update(ctx, req).await
    }

    async fn delete(&self, ctx: &Context, mut req: DeleteRequest) -> Result<()> {
        file_assets(
            &req.type_token.clone(),
            &mut [&mut req.properties, &mut req.old_inputs],
        );
        self.typed.delete(ctx, req).await
    }

    async fn check_config(&self, ctx: &Context, req: CheckRequest) -> Result<CheckResponse> {
        self.typed.check_config(ctx, req).await
    }

    async fn diff_config(&self, ctx: &Context, req: DiffRequest) -> Result<DiffResponse> {
        self.typed.diff_config(ctx, req).await
    }

    async fn configure(&self, ctx: &Context, req: ConfigureRequest) -> Result<ConfigureResponse> {
        self.typed.configure(ctx, req).await
    }

    async fn invoke(&self, ctx: &Context, req: InvokeRequest) -> Result<InvokeResponse> {
        self.typed.invoke(ctx, req).await
    }

    async fn get_schema(&self, ctx: &Context, req: GetSchemaRequest) -> Result<GetSchemaResponse> {
        self.typed.get_schema(ctx, req).await
    }

    async fn cancel(&self) -> Result<()> {
        self.typed.cancel().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provider_sdk::value::Asset;

    #[test]
    fn assets_become_objects_keeping_secrecy() {
        let asset = |source| {
            PropertyValue::Asset(Asset {
                hash: Some("h".into()),
                source,
            })
        };
        let mut map = PropertyMap::from([
            ("a".to_string(), asset(AssetSource::Path("x.html".into()))),
            (
                "b".to_string(),
                PropertyValue::secret(asset(AssetSource::Text("t".into()))),
            ),
            ("c".to_string(), "plain".into()),
        ]);
        assets_as_objects(&mut map);
        assert_eq!(map["a"].as_object().unwrap()["path"], "x.html".into());
        assert_eq!(map["a"].as_object().unwrap()["hash"], "h".into());
        assert!(map["b"].is_secret());
        assert_eq!(map["c"], "plain".into());
    }
}
