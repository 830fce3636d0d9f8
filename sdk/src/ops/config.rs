//! `Configure`: the provider's own configuration, given once before any resource operation.

use crate::value::PropertyMap;

/// The provider's configuration.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConfigureRequest {
    /// Configuration values by key (without the `<package>:` prefix); may hold secrets.
    pub args: PropertyMap,
    /// URN of the provider resource, when the engine sends it.
    pub urn: Option<String>,
}

/// What the provider reports back after configuration. The SDK fills the protocol flags
/// (secrets, resource references, preview) itself.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConfigureResponse {}

impl ConfigureRequest {
    /// Configure the provider with `args` (keys without the `<package>:` prefix).
    pub fn new(args: PropertyMap) -> Self {
        ConfigureRequest { args, urn: None }
    }
}
