//! `pulumi-resource-named`: a provider built with the SDK's typed layer whose one resource,
//! `named:index:Bucket`, is auto-named as Pulumi's own providers name theirs: its input `name`
//! is its physical name ([`Autoname`]), defaulted from the logical name plus a random suffix
//! kept across updates, or taken from the engine's `pulumi:autonaming` proposal. `note`
//! updates in place. The bucket exists only in the state (Create echoes the inputs, id = name).

use provider_sdk::typed::{
    Autoname, CreateArgs, Created, ProviderBuilder, Resource, UpdateArgs, resource,
};
use provider_sdk::{Context, Plugin, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A bucket.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct BucketArgs {
    /// The bucket's physical name; made up when not set.
    name: Option<String>,
    /// A note; changing it updates the bucket in place.
    note: Option<String>,
}

/// An auto-named bucket.
struct Bucket;

#[resource]
impl Resource for Bucket {
    type Inputs = BucketArgs;
    type Outputs = BucketArgs;
    const AUTONAME: Option<Autoname> = Some(Autoname::property("name"));
    const REPLACE_ON_CHANGES: &'static [&'static str] = &["name"];

    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<BucketArgs>,
    ) -> Result<Created<BucketArgs>> {
        let id = args.inputs.name.clone().unwrap_or_default();
        Ok(Created::new(id, args.inputs))
    }

    async fn update(
        &self,
        _ctx: &Context,
        args: UpdateArgs<BucketArgs, BucketArgs>,
    ) -> Result<BucketArgs> {
        Ok(args.news)
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let provider = ProviderBuilder::new("named", "0.1.0")
        .resource("named:index:Bucket", Bucket)
        .build()
        .expect("one well-formed resource");
    Plugin::new(provider, "0.1.0").main().await
}
