//! `Create`, `Read`, `Update` and `Delete`: the resource lifecycle.

use crate::value::PropertyMap;

/// Create a resource from checked inputs.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CreateRequest {
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The resource's type token.
    pub type_token: String,
    /// Checked inputs; may hold unknowns when `preview` is set.
    pub properties: PropertyMap,
    /// True during preview: compute what can be known, create nothing.
    pub preview: bool,
}

/// The created resource.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CreateResponse {
    /// The provider-assigned id; must not be empty outside preview.
    pub id: String,
    /// Output properties.
    pub properties: PropertyMap,
}

impl CreateResponse {
    /// A resource with `id` and output `properties`.
    pub fn new(id: impl Into<String>, properties: PropertyMap) -> Self {
        CreateResponse {
            id: id.into(),
            properties,
        }
    }
}

/// Read the live state of a resource.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReadRequest {
    /// The resource's id.
    pub id: String,
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The resource's type token.
    pub type_token: String,
    /// The outputs last recorded.
    pub properties: PropertyMap,
    /// The inputs last recorded (during refresh).
    pub inputs: PropertyMap,
}

/// The live state of a resource; an empty `id` means it no longer exists.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReadResponse {
    /// The resource's id, or empty when the resource is gone.
    pub id: String,
    /// Live output properties.
    pub properties: PropertyMap,
    /// Inputs that would produce the live state.
    pub inputs: PropertyMap,
}

impl ReadResponse {
    /// The resource exists with these outputs and inputs.
    pub fn found(id: impl Into<String>, properties: PropertyMap, inputs: PropertyMap) -> Self {
        ReadResponse {
            id: id.into(),
            properties,
            inputs,
        }
    }

    /// The resource no longer exists.
    pub fn gone() -> Self {
        ReadResponse::default()
    }
}

/// Update a resource in place.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UpdateRequest {
    /// The resource's id.
    pub id: String,
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The resource's type token.
    pub type_token: String,
    /// The outputs last recorded.
    pub olds: PropertyMap,
    /// The inputs last recorded.
    pub old_inputs: PropertyMap,
    /// The new checked inputs; may hold unknowns when `preview` is set.
    pub news: PropertyMap,
    /// Property paths the user asked to leave unchanged.
    pub ignore_changes: Vec<String>,
    /// True during preview: compute what can be known, change nothing.
    pub preview: bool,
}

/// The updated resource's outputs.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UpdateResponse {
    /// Output properties after the update.
    pub properties: PropertyMap,
}

impl UpdateResponse {
    /// The resource now has these outputs.
    pub fn new(properties: PropertyMap) -> Self {
        UpdateResponse { properties }
    }
}

/// Delete a resource.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeleteRequest {
    /// The resource's id.
    pub id: String,
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The resource's type token.
    pub type_token: String,
    /// The outputs last recorded.
    pub properties: PropertyMap,
    /// The inputs last recorded.
    pub old_inputs: PropertyMap,
}

// Constructors: the requests are `#[non_exhaustive]`, so code outside the SDK (a provider's
// tests) builds them here and sets any other public field afterwards.

impl CreateRequest {
    /// Create `name` of type `type_token` from checked `properties` (not a preview).
    pub fn new(
        type_token: impl Into<String>,
        name: impl Into<String>,
        properties: PropertyMap,
    ) -> Self {
        CreateRequest {
            type_token: type_token.into(),
            name: name.into(),
            properties,
            ..Default::default()
        }
    }
}

impl ReadRequest {
    /// Read resource `id` of type `type_token`, recorded with `properties` (outputs) and
    /// `inputs`.
    pub fn new(
        type_token: impl Into<String>,
        id: impl Into<String>,
        properties: PropertyMap,
        inputs: PropertyMap,
    ) -> Self {
        ReadRequest {
            type_token: type_token.into(),
            id: id.into(),
            properties,
            inputs,
            ..Default::default()
        }
    }
}

impl UpdateRequest {
    /// Update resource `id` of type `type_token` from its recorded `olds` (outputs) and
    /// `old_inputs` to the checked `news` (not a preview).
    pub fn new(
        type_token: impl Into<String>,
        id: impl Into<String>,
        olds: PropertyMap,
        old_inputs: PropertyMap,
        news: PropertyMap,
    ) -> Self {
        UpdateRequest {
            type_token: type_token.into(),
            id: id.into(),
            olds,
            old_inputs,
            news,
            ..Default::default()
        }
    }
}

impl DeleteRequest {
    /// Delete resource `id` of type `type_token`, recorded with `properties` (outputs) and
    /// `old_inputs`.
    pub fn new(
        type_token: impl Into<String>,
        id: impl Into<String>,
        properties: PropertyMap,
        old_inputs: PropertyMap,
    ) -> Self {
        DeleteRequest {
            type_token: type_token.into(),
            id: id.into(),
            properties,
            old_inputs,
            ..Default::default()
        }
    }
}
