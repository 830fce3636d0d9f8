//! The typed layer cannot be misconfigured (issue 16, items 1-6), shown on the key-value
//! store a new author wrote: an `Entry` with a replace-on-change `key`, an in-place `value`
//! that may be secret, and stable computed outputs. Driven in-process with `testing::Driver`.

use provider_sdk::ops::DiffKind;
use provider_sdk::testing::Driver;
use provider_sdk::typed::{
    BuildError, CreateArgs, Created, PreviewArgs, PreviewOutputs, ProviderBuilder, ProviderConfig,
    Resource, UpdateArgs, resource,
};
use provider_sdk::{Context, Error, PropertyValue, ResourceProvider, Result, async_trait};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const ENTRY: &str = "kv:index:Entry";

/// An entry's inputs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
struct EntryArgs {
    /// The key; changing it replaces the entry.
    key: String,
    /// The value.
    value: String,
    /// How long the entry lives.
    ttl_seconds: Option<u32>,
}

/// An entry.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(rename_all = "camelCase")]
struct EntryState {
    /// The inputs, recorded.
    #[serde(flatten)]
    args: EntryArgs,
    /// Bumped by every update.
    version: u32,
    /// When the entry was first written.
    created_at: String,
    /// A digest of the value: derived from it, so secret when the value is.
    digest: String,
}

fn state(args: EntryArgs, version: u32, created_at: &str) -> EntryState {
    EntryState {
        digest: format!("{}-{}", args.key, args.value.len()),
        args,
        version,
        created_at: created_at.into(),
    }
}

/// A new entry, as each resource here creates it: its key is its id.
fn created(inputs: EntryArgs) -> Created<EntryState> {
    Created::new(inputs.key.clone(), state(inputs, 1, "t0"))
}

/// Updates in place: defining `update` is all it takes.
struct Entry;

#[resource]
impl Resource for Entry {
    type Inputs = EntryArgs;
    type Outputs = EntryState;
    const REPLACE_ON_CHANGES: &'static [&'static str] = &["key"];
    const PLAIN_OUTPUTS: &'static [&'static str] = &["version", "createdAt"];

    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<EntryArgs>,
    ) -> Result<Created<EntryState>> {
        Ok(created(args.inputs))
    }

    async fn update(
        &self,
        _ctx: &Context,
        args: UpdateArgs<EntryArgs, EntryState>,
    ) -> Result<EntryState> {
        Ok(state(
            args.news,
            args.state.version + 1,
            &args.state.created_at,
        ))
    }

    async fn preview(
        &self,
        _ctx: &Context,
        mut args: PreviewArgs<EntryArgs, EntryState>,
    ) -> Result<PreviewOutputs> {
        if let Some(state) = &args.state {
            args.outputs.set("createdAt", &state.created_at)?;
            args.outputs.set("version", state.version + 1)?;
        }
        Ok(args.outputs)
    }
}

/// The same resource written without `update`: every change replaces it.
struct Frozen;

#[resource]
impl Resource for Frozen {
    type Inputs = EntryArgs;
    type Outputs = EntryState;

    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<EntryArgs>,
    ) -> Result<Created<EntryState>> {
        Ok(created(args.inputs))
    }
}

/// Written with `#[async_trait]` instead of `#[resource]`: the SDK cannot see its `update`.
struct Unmarked;

#[async_trait]
impl Resource for Unmarked {
    type Inputs = EntryArgs;
    type Outputs = EntryState;

    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<EntryArgs>,
    ) -> Result<Created<EntryState>> {
        Ok(created(args.inputs))
    }

    async fn update(
        &self,
        _ctx: &Context,
        args: UpdateArgs<EntryArgs, EntryState>,
    ) -> Result<EntryState> {
        Ok(args.state)
    }
}

fn args(key: &str, value: &str) -> EntryArgs {
    EntryArgs {
        key: key.into(),
        value: value.into(),
        ttl_seconds: None,
    }
}

fn driver() -> Driver<provider_sdk::typed::TypedProvider> {
    Driver::new(
        ProviderBuilder::new("kv", "1.0.0")
            .resource(ENTRY, Entry)
            .resource("kv:index:Frozen", Frozen)
            .build()
            .expect("valid"),
    )
}

#[tokio::test]
async fn defining_update_is_what_makes_changes_in_place() {
    let d = driver();
    let entries = d.resource::<Entry>(ENTRY);
    let e = entries.create("a", &args("a", "1")).await.unwrap();
    let diff = entries.diff(&e, &args("a", "2")).await.unwrap();
    assert_eq!(diff.detailed_diff["value"].kind, DiffKind::Update);
    let e = entries.update(&e, &args("a", "2")).await.unwrap();
    assert_eq!(e.outputs.version, 2);
    let diff = entries.diff(&e, &args("b", "2")).await.unwrap();
    assert_eq!(diff.detailed_diff["key"].kind, DiffKind::UpdateReplace);

    let frozen = d.resource::<Frozen>("kv:index:Frozen");
    let f = frozen.create("f", &args("a", "1")).await.unwrap();
    let diff = frozen.diff(&f, &args("a", "2")).await.unwrap();
    assert_eq!(diff.detailed_diff["value"].kind, DiffKind::UpdateReplace);
    let err = frozen.update(&f, &args("a", "2")).await.unwrap_err();
    assert!(err.to_string().contains("replacement"), "{err}");
}

#[test]
fn an_unmarked_impl_is_a_build_error_naming_the_resource_and_the_fix() {
    let err = ProviderBuilder::new("kv", "1.0.0")
        .resource("kv:index:Unmarked", Unmarked)
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::NotMarked("kv:index:Unmarked".into()));
    let message = err.to_string();
    assert!(message.contains("kv:index:Unmarked"), "{message}");
    assert!(
        message.contains("#[provider_sdk::typed::resource]"),
        "{message}"
    );
}

/// `Entry` with one property list set to `names`.
macro_rules! entry_with {
    ($name:ident, $list:ident, $names:expr) => {
        struct $name;
        #[resource]
        impl Resource for $name {
            type Inputs = EntryArgs;
            type Outputs = EntryState;
            const $list: &'static [&'static str] = $names;
            async fn create(
                &self,
                _ctx: &Context,
                a: CreateArgs<EntryArgs>,
            ) -> Result<Created<EntryState>> {
                Ok(Created::new("x", state(a.inputs, 1, "t0")))
            }
        }
    };
}

entry_with!(RustName, REPLACE_ON_CHANGES, &["key", "ttl_seconds"]);
entry_with!(Typo, REPLACE_ON_CHANGES, &["Kee"]);
entry_with!(OutputAsInput, REPLACE_ON_CHANGES, &["version"]);
entry_with!(SecretTypo, SECRET_OUTPUTS, &["digets"]);
entry_with!(PlainTypo, PLAIN_OUTPUTS, &["created_at"]);
entry_with!(SecretDigest, SECRET_OUTPUTS, &["digest"]);

fn build_error<R: Resource>(resource: R) -> String {
    ProviderBuilder::new("kv", "1.0.0")
        .resource(ENTRY, resource)
        .build()
        .unwrap_err()
        .to_string()
}

#[test]
fn property_lists_are_checked_against_the_schema() {
    let message = build_error(RustName);
    assert!(message.contains(ENTRY), "{message}");
    assert!(message.contains("`ttl_seconds`"), "{message}");
    assert!(message.contains("did you mean `ttlSeconds`"), "{message}");
    assert!(
        message.contains("key, ttlSeconds, value"),
        "lists the real inputs: {message}"
    );

    let message = build_error(Typo);
    assert!(
        message.contains("`Kee`") && message.contains("REPLACE_ON_CHANGES"),
        "{message}"
    );
    assert!(build_error(OutputAsInput).contains("not one of its input properties"));
    assert!(build_error(SecretTypo).contains("SECRET_OUTPUTS"));
    assert!(build_error(PlainTypo).contains("did you mean `createdAt`"));

    let provider = ProviderBuilder::new("kv", "1.0.0")
        .resource(ENTRY, SecretDigest)
        .build()
        .unwrap();
    let schema = provider.schema();
    let spec = &schema["resources"][ENTRY];
    assert_eq!(spec["properties"]["digest"]["secret"], true);
    assert!(spec["properties"]["version"].get("secret").is_none());
}

#[tokio::test]
async fn outputs_marked_plain_stay_plain_when_an_input_is_secret() {
    let d = driver();
    let mut inputs = provider_sdk::serde_bridge::to_property_map(&args("a", "")).unwrap();
    inputs.insert("value".into(), PropertyValue::secret("s3cret".into()));
    let created = d
        .provider()
        .create(
            &d.context(),
            provider_sdk::ops::CreateRequest::new(ENTRY, "a", inputs),
        )
        .await
        .unwrap();
    let out = &created.properties;
    assert!(out["value"].is_secret());
    assert!(out["digest"].is_secret(), "derived from the secret");
    assert!(!out["version"].is_secret(), "marked plain");
    assert!(!out["createdAt"].is_secret(), "marked plain");
}

#[tokio::test]
async fn an_update_preview_keeps_stable_outputs_known() {
    let d = driver();
    let entries = d.resource::<Entry>(ENTRY);
    let e = entries.create("a", &args("a", "1")).await.unwrap();
    let preview = entries.preview_update(&e, &args("a", "2")).await.unwrap();
    assert_eq!(preview["createdAt"], PropertyValue::from("t0"));
    assert_eq!(preview["version"], PropertyValue::from(2.0));
    assert!(preview["digest"].is_unknown());
    let preview = entries.preview_create("b", &args("b", "1")).await.unwrap();
    assert!(preview["createdAt"].is_unknown());
}

/// Optional configuration.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct KvConfig {
    /// Where the store lives; the working directory when absent.
    store_path: Option<String>,
}

impl ProviderConfig for KvConfig {}

/// Reads the configuration from the context.
struct UsesConfig;

#[resource]
impl Resource for UsesConfig {
    type Inputs = EntryArgs;
    type Outputs = EntryState;
    async fn create(
        &self,
        ctx: &Context,
        args: CreateArgs<EntryArgs>,
    ) -> Result<Created<EntryState>> {
        let config = ctx.config::<KvConfig>()?;
        let at = config.store_path.clone().unwrap_or_else(|| "cwd".into());
        Ok(Created::new("x", state(args.inputs, 1, &at)))
    }
}

#[tokio::test]
async fn config_comes_from_the_context_not_configured_apart_from_absent() {
    let d = Driver::new(
        ProviderBuilder::new("kv", "1.0.0")
            .config::<KvConfig>()
            .resource(ENTRY, UsesConfig)
            .build()
            .unwrap(),
    );
    let entries = d.resource::<UsesConfig>(ENTRY);
    let err = entries.create("a", &args("a", "1")).await.unwrap_err();
    assert!(matches!(err, Error::NotConfigured(_)), "{err:?}");
    d.configure(serde_json::json!({})).await.unwrap();
    let e = entries.create("a", &args("a", "1")).await.unwrap();
    assert_eq!(e.outputs.created_at, "cwd", "configured, key absent");
    d.configure(serde_json::json!({"storePath": "/kv"}))
        .await
        .unwrap();
    let e = entries.create("a", &args("a", "1")).await.unwrap();
    assert_eq!(e.outputs.created_at, "/kv");
}

#[tokio::test]
async fn the_driver_refuses_what_the_engine_would_refuse() {
    let d = driver();
    let entries = d.resource::<Entry>(ENTRY);
    let failures = entries
        .check(serde_json::json!({"key": 3, "ttlSeconds": -1}))
        .await
        .unwrap();
    let mut paths: Vec<&str> = failures.iter().map(|f| f.property.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["key", "ttlSeconds", "value"]);
    let e = entries.create("a", &args("a", "1")).await.unwrap();
    // `Option` fields need no serde attribute: `None` is left out of the state; the inputs
    // flattened into the outputs are top-level properties.
    assert!(!e.state.contains_key("ttlSeconds"), "{:?}", e.state);
    assert_eq!(e.state["key"], PropertyValue::from("a"));
    let err = entries.update(&e, &args("b", "1")).await.unwrap_err();
    assert!(
        err.to_string().contains("replacement (changed: key)"),
        "{err}"
    );
    assert!(entries.read(&e).await.unwrap().is_some());
    entries.delete(e).await.unwrap();
}

/// A column of a table.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct Column {
    /// The column's name.
    name: String,
    /// Its SQL type; changing it replaces the table.
    r#type: String,
}

/// Table settings.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct Settings {
    /// The storage mode; changing it replaces the table.
    mode: String,
    /// A comment.
    comment: Option<String>,
}

/// A table's inputs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct TableArgs {
    /// The table's name.
    name: String,
    /// Its columns.
    columns: Vec<Column>,
    /// Its settings.
    settings: Settings,
    /// Labels.
    labels: std::collections::BTreeMap<String, String>,
}

/// A table with nested replacement rules.
struct Table;

#[resource]
impl Resource for Table {
    type Inputs = TableArgs;
    type Outputs = TableArgs;
    const REPLACE_ON_CHANGES: &'static [&'static str] =
        &["name", "columns[*].type", "settings.mode", "labels.env"];

    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<TableArgs>,
    ) -> Result<Created<TableArgs>> {
        Ok(Created::new(args.inputs.name.clone(), args.inputs))
    }
}

/// Pulumi's schema says nested replacements on the object types' properties (its SDK
/// generators and engine follow `columns[*].type` from there); a particular map key cannot be
/// said, so nothing is marked for `labels.env` (the provider's diff still replaces on it).
#[test]
fn nested_replace_on_changes_paths_are_marked_in_the_schema_types() {
    let provider = ProviderBuilder::new("db", "1.0.0")
        .resource("db:index:Table", Table)
        .build()
        .unwrap();
    let schema = provider.schema();
    let table = &schema["resources"]["db:index:Table"];
    assert_eq!(table["inputProperties"]["name"]["replaceOnChanges"], true);
    assert!(
        table["inputProperties"]["columns"]
            .get("replaceOnChanges")
            .is_none()
    );
    assert!(
        table["inputProperties"]["labels"]
            .get("replaceOnChanges")
            .is_none()
    );
    let column = &schema["types"]["db:index:Column"]["properties"];
    assert_eq!(column["type"]["replaceOnChanges"], true, "{schema:#}");
    assert!(column["name"].get("replaceOnChanges").is_none());
    let settings = &schema["types"]["db:index:Settings"]["properties"];
    assert_eq!(settings["mode"]["replaceOnChanges"], true, "{schema:#}");
    assert!(settings["comment"].get("replaceOnChanges").is_none());
}
