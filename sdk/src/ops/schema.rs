//! `GetSchema`: the package schema, as JSON.

/// Ask for the package schema.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GetSchemaRequest {
    /// The schema version the engine asks for.
    pub version: i32,
}

/// The package schema.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GetSchemaResponse {
    /// The schema, JSON-encoded.
    pub schema: String,
}

impl GetSchemaResponse {
    /// A response carrying `schema` (JSON).
    pub fn new(schema: impl Into<String>) -> Self {
        GetSchemaResponse {
            schema: schema.into(),
        }
    }
}

impl GetSchemaRequest {
    /// Ask for the schema in format `version` (0 is the current one).
    pub fn new(version: i32) -> Self {
        GetSchemaRequest { version }
    }
}
