//! `Invoke`: call a provider function.

use super::CheckFailure;
use crate::value::PropertyMap;

/// Call the function `token` with `args`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InvokeRequest {
    /// The function's token, such as `local:index:readFile`.
    pub token: String,
    /// The arguments.
    pub args: PropertyMap,
}

/// The function's result, or failures naming invalid arguments.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InvokeResponse {
    /// The returned values.
    pub result: PropertyMap,
    /// One failure per invalid argument.
    pub failures: Vec<CheckFailure>,
}

impl InvokeResponse {
    /// A successful call returning `result`.
    pub fn ok(result: PropertyMap) -> Self {
        InvokeResponse {
            result,
            failures: Vec::new(),
        }
    }

    /// A call rejected for invalid arguments.
    pub fn invalid(failures: Vec<CheckFailure>) -> Self {
        InvokeResponse {
            result: PropertyMap::new(),
            failures,
        }
    }
}

impl InvokeRequest {
    /// Call the function `token` with `args`.
    pub fn new(token: impl Into<String>, args: PropertyMap) -> Self {
        InvokeRequest {
            token: token.into(),
            args,
        }
    }
}
