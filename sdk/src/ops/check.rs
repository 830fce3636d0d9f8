//! `Check` and `CheckConfig`: validate inputs before anything else happens.

use crate::value::PropertyMap;

/// Inputs to validate: a resource's (`Check`) or the provider's configuration (`CheckConfig`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckRequest {
    /// URN of the resource (or provider) being checked.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The resource's type token, such as `local:index:Random`.
    pub type_token: String,
    /// The inputs last accepted, if the resource exists.
    pub olds: PropertyMap,
    /// The new inputs from the program; may hold unknowns during preview.
    pub news: PropertyMap,
    /// Deterministic random bytes, for generating stable names.
    pub random_seed: Vec<u8>,
    /// The engine's autonaming proposal (from the user's `pulumi:autonaming` configuration),
    /// sent only to providers that announce support for it; `None`: name as the provider
    /// always does.
    pub autonaming: Option<Autonaming>,
}

/// How the engine asks a resource's physical name to be chosen (Pulumi's `pulumi:autonaming`
/// configuration, evaluated for one resource).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Autonaming {
    /// The name the engine proposes (empty with [`AutonamingMode::Disable`]).
    pub proposed_name: String,
    /// What the provider may do with it.
    pub mode: AutonamingMode,
}

impl Autonaming {
    /// A proposal of `proposed_name` in `mode`.
    pub fn new(proposed_name: impl Into<String>, mode: AutonamingMode) -> Self {
        Autonaming {
            proposed_name: proposed_name.into(),
            mode,
        }
    }
}

/// What a provider may do with the engine's proposed name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutonamingMode {
    /// Use the proposed name, or adapt it to the resource's naming rules.
    Propose,
    /// Use the proposed name exactly.
    Enforce,
    /// Generate no name: the user must give one.
    Disable,
}

/// The checked inputs, or the failures that explain why they are invalid.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckResponse {
    /// Validated inputs, with defaults filled in.
    pub inputs: PropertyMap,
    /// One failure per invalid property; empty when the inputs are valid.
    pub failures: Vec<CheckFailure>,
}

impl CheckResponse {
    /// Accepts `inputs` as valid.
    pub fn valid(inputs: PropertyMap) -> Self {
        CheckResponse {
            inputs,
            failures: Vec::new(),
        }
    }

    /// Rejects the inputs with the given failures.
    pub fn invalid(inputs: PropertyMap, failures: Vec<CheckFailure>) -> Self {
        CheckResponse { inputs, failures }
    }
}

/// Why one property is invalid.
///
/// The engine shows the two together (`length: must be from 1 to 100`), so the reason should
/// not repeat the property's name: write `CheckFailure::new("key", "must not be empty")`, not
/// ``"`key` must not be empty"``.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckFailure {
    /// Path of the property, such as `length` or `rules[2].port`.
    pub property: String,
    /// What is wrong and what to do about it.
    pub reason: String,
}

impl CheckFailure {
    /// A failure of `property` for `reason`.
    pub fn new(property: impl Into<String>, reason: impl Into<String>) -> Self {
        CheckFailure {
            property: property.into(),
            reason: reason.into(),
        }
    }
}

impl CheckRequest {
    /// Check the new inputs `news` of a resource of type `type_token` (no earlier inputs);
    /// set `olds` afterwards for a resource that exists. For `CheckConfig`, `type_token` is
    /// `pulumi:providers:<package>`.
    pub fn new(type_token: impl Into<String>, news: PropertyMap) -> Self {
        CheckRequest {
            type_token: type_token.into(),
            news,
            ..Default::default()
        }
    }
}
