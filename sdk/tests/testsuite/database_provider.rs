//! The provider of issue 25's author, in miniature and on files instead of SQLite: a
//! `Database` (a file, an optional secret key, an auto-named physical name, a `path` derived
//! from the file alone), a `Table` whose columns are added in place and replaced otherwise,
//! and a `Schema` component of a database and its tables. Each test is one of the issue's
//! "must show" items, driven in-process with `testing::Driver`.

use std::time::Duration;

use provider_sdk::ops::{Autonaming, AutonamingMode, CheckRequest, DiffKind, ResourceOptions};
use provider_sdk::testing::Driver;
use provider_sdk::typed::{
    Autoname, Component, ComponentContext, CreateArgs, Created, DeleteArgs, ProviderBuilder,
    Resource, TypedProvider, UpdateArgs, resource,
};
use provider_sdk::{Context, Error, ResourceProvider, Result, async_trait};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A database's inputs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct DatabaseArgs {
    /// The file it lives in.
    file: String,
    /// The encryption key.
    key: Option<String>,
    /// Its physical name; made up when not set.
    name: Option<String>,
}

/// A database.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
struct DatabaseState {
    /// The inputs, recorded.
    #[serde(flatten)]
    args: DatabaseArgs,
    /// The absolute path: derived from `file` alone.
    #[schemars(extend("x-derived-from" = ["file"]))]
    path: String,
    /// A fingerprint of the key and the file (undeclared: secret whenever an input is).
    fingerprint: String,
}

struct Database;

#[resource]
impl Resource for Database {
    type Inputs = DatabaseArgs;
    type Outputs = DatabaseState;
    const AUTONAME: Option<Autoname> = Some(Autoname::property("name"));
    const REPLACE_ON_CHANGES: &'static [&'static str] = &["file", "name"];

    async fn create(
        &self,
        ctx: &Context,
        args: CreateArgs<DatabaseArgs>,
    ) -> Result<Created<DatabaseState>> {
        let file = args.inputs.file.clone();
        // Blocking file I/O, off the async task, honouring Cancel.
        let path = ctx
            .blocking(move |_stop| {
                std::fs::write(&file, b"db").map_err(|e| Error::failed(e.to_string()))?;
                std::fs::canonicalize(&file)
                    .map(|p| p.display().to_string())
                    .map_err(|e| Error::failed(e.to_string()))
            })
            .await?;
        ctx.log().status("database file written");
        let fingerprint = format!(
            "{}:{}",
            args.inputs.file.len(),
            args.inputs.key.as_deref().map_or(0, str::len)
        );
        Ok(Created::new(
            path.clone(),
            DatabaseState {
                args: args.inputs,
                path,
                fingerprint,
            },
        ))
    }

    async fn update(
        &self,
        _ctx: &Context,
        args: UpdateArgs<DatabaseArgs, DatabaseState>,
    ) -> Result<DatabaseState> {
        Ok(DatabaseState {
            args: args.news,
            ..args.state
        })
    }

    async fn delete(&self, _ctx: &Context, args: DeleteArgs<DatabaseState>) -> Result<()> {
        let _ = std::fs::remove_file(&args.state.path);
        Ok(())
    }
}

/// A table's inputs.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct TableArgs {
    /// The database's path.
    database: String,
    /// The columns; appending one is made in place, any other change replaces the table.
    columns: Vec<String>,
}

struct Table;

#[resource]
impl Resource for Table {
    type Inputs = TableArgs;
    type Outputs = TableArgs;
    const REPLACE_ON_CHANGES: &'static [&'static str] = &["database", "columns"];
    const ADDS_IN_PLACE: &'static [&'static str] = &["columns[*]"];
    const DELETE_BEFORE_REPLACE: bool = true;

    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<TableArgs>,
    ) -> Result<Created<TableArgs>> {
        if !std::path::Path::new(&args.inputs.database).exists() {
            return Err(Error::failed(format!(
                "no database at {}",
                args.inputs.database
            )));
        }
        Ok(Created::new(args.name, args.inputs))
    }

    async fn update(
        &self,
        _ctx: &Context,
        args: UpdateArgs<TableArgs, TableArgs>,
    ) -> Result<TableArgs> {
        Ok(args.news)
    }
}

/// A schema's inputs.
#[derive(Serialize, Deserialize, JsonSchema)]
struct SchemaArgs {
    /// The database file.
    file: String,
    /// Table name to columns.
    tables: std::collections::BTreeMap<String, Vec<String>>,
}

/// A database and its tables.
#[derive(Serialize, Deserialize, JsonSchema, Debug)]
struct SchemaOutputs {
    /// The database's path.
    path: String,
    /// How many tables.
    tables: u32,
}

struct Schema;

#[async_trait]
impl Component for Schema {
    type Inputs = SchemaArgs;
    type Outputs = SchemaOutputs;
    async fn construct(
        &self,
        ctx: &ComponentContext,
        name: &str,
        inputs: SchemaArgs,
    ) -> Result<SchemaOutputs> {
        let db_args = DatabaseArgs {
            file: inputs.file,
            key: None,
            name: None,
        };
        let db = ctx
            .register::<Database>(&format!("{name}-db"), &db_args, ResourceOptions::new())
            .await?;
        let path: String = db.output::<String>("path")?.known().unwrap_or_default();
        for (table, columns) in &inputs.tables {
            let args = TableArgs {
                database: path.clone(),
                columns: columns.clone(),
            };
            ctx.register::<Table>(&format!("{name}-{table}"), &args, ResourceOptions::new())
                .await?;
        }
        Ok(SchemaOutputs {
            path,
            tables: inputs.tables.len() as u32,
        })
    }
}

fn provider() -> TypedProvider {
    ProviderBuilder::new("files", "1.0.0")
        .resource("files:index:Database", Database)
        .resource("files:index:Table", Table)
        .component("files:index:Schema", Schema)
        .build()
        .unwrap()
}

fn temp_file(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("database-provider-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).display().to_string()
}

#[tokio::test]
async fn a_derived_output_is_secret_exactly_when_its_source_is() {
    let driver = Driver::new(provider());
    let dbs = driver.resource::<Database>("files:index:Database");
    let db = dbs
        .create(
            "a",
            &DatabaseArgs {
                file: temp_file("a.db"),
                key: None,
                name: None,
            },
        )
        .await
        .unwrap();
    assert!(
        !db.is_secret("path") && !db.is_secret("fingerprint"),
        "no secret input"
    );

    // Secret inputs, as the engine sends an input the program marked secret.
    let with_key = DatabaseArgs {
        file: temp_file("b.db"),
        key: Some("hush".into()),
        name: Some("b-1".into()),
    };
    let db = driver
        .resource::<Database>("files:index:Database")
        .secret_inputs(["key"])
        .create("b", &with_key)
        .await
        .unwrap();
    assert!(!db.is_secret("path"), "`path` derives from `file` alone");
    assert!(
        db.is_secret("fingerprint"),
        "undeclared: secret as any input is"
    );
    let file_secret = DatabaseArgs {
        key: None,
        name: Some("b-2".into()),
        ..with_key
    };
    let db = driver
        .resource::<Database>("files:index:Database")
        .secret_inputs(["file"])
        .create("c", &file_secret)
        .await
        .unwrap();
    assert!(db.is_secret("path"), "its source `file` is secret");
    let _ = std::fs::remove_file(temp_file("b.db"));
}

#[tokio::test]
async fn columns_append_in_place_and_replace_otherwise() {
    let driver = Driver::new(provider());
    let file = temp_file("t.db");
    std::fs::write(&file, b"db").unwrap();
    let tables = driver.resource::<Table>("files:index:Table");
    let cols = |c: &[&str]| TableArgs {
        database: file.clone(),
        columns: c.iter().map(|s| s.to_string()).collect(),
    };
    let t = tables
        .create("items", &cols(&["id", "name"]))
        .await
        .unwrap();
    let appended = tables
        .diff(&t, &cols(&["id", "name", "price"]))
        .await
        .unwrap();
    assert_eq!(appended.detailed_diff["columns[2]"].kind, DiffKind::Add);
    assert!(!appended.requires_replace());
    let t = tables
        .update(&t, &cols(&["id", "name", "price"]))
        .await
        .unwrap();
    assert_eq!(t.outputs.columns.len(), 3);
    let renamed = tables
        .diff(&t, &cols(&["id", "title", "price"]))
        .await
        .unwrap();
    assert_eq!(
        renamed.detailed_diff["columns[1]"].kind,
        DiffKind::UpdateReplace
    );
    assert!(renamed.requires_replace());
    assert!(renamed.delete_before_replace, "DELETE_BEFORE_REPLACE holds");
    let removed = tables.diff(&t, &cols(&["id"])).await.unwrap();
    assert!(removed.requires_replace());
}

#[tokio::test]
async fn an_auto_named_resource_gets_a_stable_name_or_the_engines_proposal() {
    let p = provider();
    let ctx = Context::detached("");
    let news = provider_sdk::PropertyMap::from([("file".into(), temp_file("n.db").into())]);
    let mut req = CheckRequest::new("files:index:Database", news.clone());
    req.name = "orders".into();
    req.urn = "urn:pulumi:dev::shop::files:index:Database::orders".into();
    req.random_seed = vec![3; 32];
    let first = p.check(&ctx, req.clone()).await.unwrap();
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    let name = first.inputs["name"].as_str().unwrap().to_string();
    assert!(
        name.starts_with("orders-") && name.len() == "orders-".len() + 7,
        "{name}"
    );
    // The next run (another seed): the recorded name is kept.
    let mut next = req.clone();
    next.olds = first.inputs.clone();
    next.random_seed = vec![9; 32];
    let again = p.check(&ctx, next).await.unwrap();
    assert_eq!(again.inputs["name"].as_str(), Some(name.as_str()));
    // Under `pulumi:autonaming`: the engine's proposal.
    let mut proposed = req.clone();
    proposed.autonaming = Some(Autonaming::new(
        "shop-dev-orders-1a2b",
        AutonamingMode::Propose,
    ));
    let named = p.check(&ctx, proposed).await.unwrap();
    assert_eq!(named.inputs["name"].as_str(), Some("shop-dev-orders-1a2b"));
    let mut disabled = req.clone();
    disabled.autonaming = Some(Autonaming::new("", AutonamingMode::Disable));
    let refused = p.check(&ctx, disabled).await.unwrap();
    assert_eq!(refused.failures[0].property, "name");
    assert!(p.supports_autonaming());
}

#[tokio::test]
async fn a_component_test_creates_real_children_in_one_call() {
    let driver = Driver::new(provider());
    let file = temp_file("schema.db");
    let args = SchemaArgs {
        file: file.clone(),
        tables: [("items".to_string(), vec!["id".to_string()])].into(),
    };
    let schema = driver
        .construct::<SchemaOutputs>("files:index:Schema", "shop", &args)
        .await
        .unwrap();
    assert_eq!(schema.outputs.tables, 1);
    assert!(
        std::path::Path::new(&file).exists(),
        "the database file was created"
    );
    let children: Vec<String> = schema.children().iter().map(|c| c.name.clone()).collect();
    assert_eq!(children, ["shop-db", "shop-items"]);
    let db_outputs = schema.outputs_of(&schema.children()[0]).unwrap();
    assert!(
        db_outputs["name"].as_str().unwrap().starts_with("shop-db-"),
        "auto-named"
    );
    schema.destroy().await.unwrap();
    assert!(!std::path::Path::new(&file).exists(), "destroy deleted it");
}

#[tokio::test]
async fn blocking_work_honours_cancel_and_the_timeout() {
    let ctx = Context::detached("");
    let cancel = ctx.cancel_handle();
    let (tx, rx) = std::sync::mpsc::channel();
    let work = ctx.blocking(move |stop| {
        // Steps of blocking work, each checking the stop handle.
        for _ in 0..600 {
            stop.check()?;
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = tx.send(());
        Ok(())
    });
    let started = std::time::Instant::now();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let outcome = work.await;
    canceller.await.unwrap();
    assert!(matches!(outcome, Err(Error::Cancelled(_))), "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        rx.recv_timeout(Duration::from_secs(2)).is_err(),
        "the work stopped at its next step rather than running to the end"
    );

    let timed = Context::detached("").with_timeout(Some(Duration::from_millis(100)));
    let outcome = timed
        .blocking(|stop| {
            while !stop.is_raised() {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(())
        })
        .await;
    assert!(matches!(outcome, Err(Error::Timeout(_))), "{outcome:?}");
    let panicked = Context::detached("")
        .blocking(|_| -> Result<()> { panic!("boom") })
        .await;
    assert!(matches!(panicked, Err(Error::Internal(m)) if m.contains("boom")));
}
