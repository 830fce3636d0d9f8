//! Validation reported as failures, once and in one round: a function's own `check`, an
//! `Error::InvalidInputs` from its `call`, a type validating in `try_from`, and a resource's
//! `check` running beside the properties that failed to deserialize.

use provider_sdk::ops::{CheckFailure, CheckRequest, InvokeRequest};
use provider_sdk::typed::{CreateArgs, Created, Function, ProviderBuilder, Resource, resource};
use provider_sdk::{Context, Error, ResourceProvider, Result, async_trait, serde_bridge};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A SQL statement that must be a SELECT, validated when it is read.
#[derive(Serialize, Deserialize, JsonSchema, Clone)]
#[serde(try_from = "String", into = "String")]
struct Select(String);

impl TryFrom<String> for Select {
    type Error = String;
    fn try_from(sql: String) -> std::result::Result<Self, String> {
        if sql.trim_start().to_ascii_uppercase().starts_with("SELECT") {
            Ok(Select(sql))
        } else {
            Err("must be a SELECT statement".into())
        }
    }
}

impl From<Select> for String {
    fn from(s: Select) -> String {
        s.0
    }
}

/// A query's arguments.
#[derive(Serialize, Deserialize, JsonSchema)]
struct QueryArgs {
    /// The statement.
    sql: String,
    /// At most this many rows.
    limit: u32,
}

/// A query's rows.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Rows {
    /// How many.
    count: u32,
}

/// Validates in `check`.
struct Checked;

#[async_trait]
impl Function for Checked {
    type Args = QueryArgs;
    type Output = Rows;
    async fn check(&self, _ctx: &Context, args: &QueryArgs) -> Result<Vec<CheckFailure>> {
        let mut failures = Vec::new();
        if !args.sql.to_ascii_uppercase().starts_with("SELECT") {
            failures.push(CheckFailure::new("sql", "must be a SELECT statement"));
        }
        if args.limit == 0 {
            failures.push(CheckFailure::new("limit", "must be at least 1"));
        }
        Ok(failures)
    }
    async fn call(&self, _ctx: &Context, args: QueryArgs) -> Result<Rows> {
        Ok(Rows { count: args.limit })
    }
}

/// Refuses in `call`.
struct Refusing;

#[async_trait]
impl Function for Refusing {
    type Args = QueryArgs;
    type Output = Rows;
    async fn call(&self, _ctx: &Context, args: QueryArgs) -> Result<Rows> {
        if args.limit > 100 {
            return Err(Error::InvalidInputs(vec![CheckFailure::new(
                "limit",
                "must be at most 100",
            )]));
        }
        Ok(Rows { count: args.limit })
    }
}

/// Validates in the argument type.
#[derive(Serialize, Deserialize, JsonSchema)]
struct TypedArgs {
    /// The statement.
    sql: Select,
}

struct InType;

#[async_trait]
impl Function for InType {
    type Args = TypedArgs;
    type Output = Rows;
    async fn call(&self, _ctx: &Context, _args: TypedArgs) -> Result<Rows> {
        Ok(Rows { count: 1 })
    }
}

/// A table's inputs.
#[derive(Serialize, Deserialize, JsonSchema)]
struct TableArgs {
    /// The table's name.
    name: String,
    /// Its columns.
    columns: Vec<String>,
}

struct Table;

#[resource]
impl Resource for Table {
    type Inputs = TableArgs;
    type Outputs = TableArgs;
    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<TableArgs>,
    ) -> Result<Created<TableArgs>> {
        Ok(Created::new("t", args.inputs))
    }
    async fn check(&self, _ctx: &Context, inputs: &mut TableArgs) -> Result<Vec<CheckFailure>> {
        let mut failures = Vec::new();
        if inputs.name.is_empty() {
            failures.push(CheckFailure::new("name", "must not be empty"));
        }
        if inputs.columns.is_empty() {
            failures.push(CheckFailure::new(
                "columns",
                "must name at least one column",
            ));
        }
        Ok(failures)
    }
}

fn provider() -> provider_sdk::typed::TypedProvider {
    ProviderBuilder::new("sql", "1.0.0")
        .function("sql:index:checked", Checked)
        .function("sql:index:refusing", Refusing)
        .function("sql:index:inType", InType)
        .resource("sql:index:Table", Table)
        .build()
        .unwrap()
}

async fn failures_of(token: &str, args: serde_json::Value) -> Vec<(String, String)> {
    let args = serde_bridge::to_property_map(&args).unwrap();
    let response = provider()
        .invoke(&Context::detached(""), InvokeRequest::new(token, args))
        .await
        .expect("invalid arguments are failures, not an error");
    response
        .failures
        .into_iter()
        .map(|f| (f.property, f.reason))
        .collect()
}

#[tokio::test]
async fn a_function_check_reports_each_bad_argument() {
    let failures = failures_of(
        "sql:index:checked",
        serde_json::json!({"sql": "DROP TABLE t", "limit": 0}),
    )
    .await;
    assert_eq!(
        failures,
        [
            ("sql".to_string(), "must be a SELECT statement".to_string()),
            ("limit".into(), "must be at least 1".into())
        ]
    );
    let ok = failures_of(
        "sql:index:checked",
        serde_json::json!({"sql": "SELECT 1", "limit": 3}),
    )
    .await;
    assert!(ok.is_empty(), "{ok:?}");
}

#[tokio::test]
async fn a_function_check_runs_beside_arguments_that_did_not_parse() {
    let failures = failures_of(
        "sql:index:checked",
        serde_json::json!({"sql": "DROP TABLE t", "limit": "ten"}),
    )
    .await;
    let properties: Vec<&str> = failures.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(properties, ["limit", "sql"], "{failures:?}");
}

#[tokio::test]
async fn invalid_inputs_from_call_are_failures() {
    let failures = failures_of(
        "sql:index:refusing",
        serde_json::json!({"sql": "SELECT 1", "limit": 1000}),
    )
    .await;
    assert_eq!(
        failures,
        [("limit".to_string(), "must be at most 100".to_string())]
    );
}

#[tokio::test]
async fn validation_in_the_argument_type_is_reported_once() {
    let failures = failures_of(
        "sql:index:inType",
        serde_json::json!({"sql": "DELETE FROM t"}),
    )
    .await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].0, "sql");
    assert!(
        failures[0].1.contains("must be a SELECT statement"),
        "{failures:?}"
    );
}

#[tokio::test]
async fn check_reports_parse_failures_and_the_authors_together() {
    let news =
        serde_bridge::to_property_map(&serde_json::json!({"name": 7, "columns": []})).unwrap();
    let response = provider()
        .check(
            &Context::detached(""),
            CheckRequest::new("sql:index:Table", news),
        )
        .await
        .unwrap();
    let failures: Vec<&str> = response
        .failures
        .iter()
        .map(|f| f.property.as_str())
        .collect();
    // `name` did not parse (reported once, the author's "must not be empty" on its
    // placeholder dropped); `columns` is the author's, in the same round.
    assert_eq!(failures, ["name", "columns"], "{:?}", response.failures);
}
