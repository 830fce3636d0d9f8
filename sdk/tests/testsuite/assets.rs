//! `Asset` and `Archive` as typed field types: declared as Pulumi's built-in types in the
//! schema, read from and written as the engine's asset and archive values.

use std::collections::BTreeMap;

use provider_sdk::testing::Driver;
use provider_sdk::typed::{CreateArgs, Created, ProviderBuilder, Resource, resource};
use provider_sdk::value::{Archive, ArchiveSource, Asset, AssetOrArchive, AssetSource};
use provider_sdk::{Context, PropertyValue, Result, serde_bridge};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A site's inputs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct Site {
    /// The index page.
    index: Asset,
    /// Everything else.
    bundle: Option<Archive>,
}

struct Sites;

#[resource]
impl Resource for Sites {
    type Inputs = Site;
    type Outputs = Site;
    async fn create(&self, _ctx: &Context, args: CreateArgs<Site>) -> Result<Created<Site>> {
        Ok(Created::new("site", args.inputs))
    }
}

fn asset(source: AssetSource) -> Asset {
    Asset { hash: None, source }
}

#[tokio::test]
async fn assets_and_archives_are_typed_fields() {
    let provider = ProviderBuilder::new("web", "1.0.0")
        .resource("web:index:Site", Sites)
        .build()
        .unwrap();
    let schema = provider.schema();
    let spec = &schema["resources"]["web:index:Site"];
    assert_eq!(
        spec["inputProperties"]["index"]["$ref"],
        "pulumi.json#/Asset"
    );
    assert_eq!(
        spec["inputProperties"]["bundle"]["$ref"],
        "pulumi.json#/Archive"
    );

    let site = Site {
        index: asset(AssetSource::Text("<h1>hi</h1>".into())),
        bundle: Some(Archive {
            hash: Some("abc".into()),
            source: ArchiveSource::Path("static".into()),
        }),
    };
    let sites = Driver::new(provider);
    let created = sites
        .resource::<Sites>("web:index:Site")
        .create("s", &site)
        .await
        .unwrap();
    assert_eq!(created.outputs, site);
    assert!(matches!(created.state["index"], PropertyValue::Asset(_)));
    assert!(matches!(created.state["bundle"], PropertyValue::Archive(_)));

    // An asset with no source is refused with the property named.
    let failures = sites
        .resource::<Sites>("web:index:Site")
        .check(serde_json::json!({"index": {"hash": "x"}}))
        .await
        .unwrap();
    assert_eq!(failures[0].property, "index", "{failures:?}");
}

#[test]
fn an_archive_of_assets_is_written_as_one() {
    let archive = Archive {
        hash: None,
        source: ArchiveSource::Assets(BTreeMap::from([(
            "a.txt".to_string(),
            AssetOrArchive::Asset(asset(AssetSource::Path("a.txt".into()))),
        )])),
    };
    let value = serde_bridge::to_value(&archive).unwrap();
    assert_eq!(value, PropertyValue::Archive(archive));
}
