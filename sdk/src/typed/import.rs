//! Import: reading a resource from its id alone.
//!
//! An engine reads a resource it holds no state for (the `import` resource option, `pulumi
//! import`, a `get`, or a pending create recovered with `--import-pending-creates`) with a Read
//! that carries the id but no recorded outputs. The provider answers with the live outputs and
//! the inputs that would produce them (`ReadResponse.inputs`), which the engine records and
//! diffs against the program's inputs. The typed layer sends such a Read to
//! [`Resource::import`], and a Read with a recorded state to [`Resource::read`] as before.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ops::{ReadRequest, ReadResponse};
use crate::serde_bridge::{self, ConvertError};
use crate::value::PropertyMap;

use super::secrets::{Marks, propagate};
use super::{Data, ReadResult, Resource};

/// What [`Resource::import`] gets.
///
/// The SDK calls `import` for a Read that has no usable recorded state:
///
/// - no recorded outputs at all (an import or a `get`): `inputs` is `None`;
/// - recorded outputs that are not a state of this resource, such as the inputs of a create
///   that never returned, which an engine sends when it recovers a pending create: `inputs`
///   holds the inputs the request carried, when they deserialize.
///
/// `inputs` is a hint, never the truth: what the resource is comes from the live resource.
/// It helps with what cannot be read back, such as the asset a file's content came from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImportArgs<I> {
    /// The id the engine gives: the resource's provider-assigned id.
    pub id: String,
    /// URN of the resource.
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The inputs the request carried, if any (see above).
    pub inputs: Option<I>,
}

impl<I> ImportArgs<I> {
    /// Arguments for importing the resource with `id` (for calling a resource directly in
    /// tests).
    pub fn new(id: impl Into<String>) -> Self {
        ImportArgs {
            id: id.into(),
            urn: String::new(),
            name: String::new(),
            inputs: None,
        }
    }
}

/// Answers a Read whose recorded state is missing (`state_error` is `None`) or does not
/// deserialize (`state_error` says why), from the id alone. `hint` holds the inputs the request
/// carried.
pub(super) async fn read_from_id<R: Resource>(
    resource: &R,
    ctx: &Context,
    req: ReadRequest,
    hint: PropertyMap,
    state_error: Option<ConvertError>,
    marks: Marks<'_>,
) -> Result<ReadResponse> {
    if !R::CAPABILITIES.import {
        return Err(match state_error {
            // A state that does not deserialize stays the first thing to report.
            Some(e) => Error::InvalidRequest(format!(
                "the recorded state is not one of a `{ty}` ({e}), and a `{ty}` cannot be read from its id alone instead: it does not support import",
                ty = req.type_token
            )),
            None => Error::NotImportable(req.type_token),
        });
    }
    if req.id.is_empty() {
        return Err(Error::InvalidRequest(format!(
            "Read of a `{}` with neither an id nor a recorded state: give the id of the resource to import",
            req.type_token
        )));
    }
    let args = ImportArgs {
        id: req.id,
        urn: req.urn,
        name: req.name,
        inputs: if hint.is_empty() {
            None
        } else {
            serde_bridge::from_property_map(&hint).ok()
        },
    };
    match resource.import(ctx, args).await? {
        None => Ok(ReadResponse::gone()),
        Some(found) if found.id.is_empty() => Err(Error::Internal(format!(
            "the import of a `{}` returned an empty id; return `None` when nothing has the id",
            req.type_token
        ))),
        Some(found) => found_response(found, &hint, None, marks),
    }
}

/// The response for a resource that Read or import found: its outputs and inputs as property
/// maps, secret as the [propagation rule](super#secret-propagation) says, given the inputs the
/// request carried and the state it recorded (none on import).
pub(super) fn found_response<I: Data, O: Data>(
    found: ReadResult<I, O>,
    inputs_before: &PropertyMap,
    state_before: Option<&PropertyMap>,
    marks: Marks<'_>,
) -> Result<ReadResponse> {
    let bad = |what: &str, e: ConvertError| Error::InvalidRequest(format!("{what}: {e}"));
    let inputs =
        serde_bridge::to_property_map(&found.inputs).map_err(|e| bad("the inputs from Read", e))?;
    let state =
        serde_bridge::to_property_map(&found.state).map_err(|e| bad("the state from Read", e))?;
    let inputs = propagate(inputs, inputs_before, Some(inputs_before), Marks::default());
    let state = propagate(state, inputs_before, state_before, marks);
    Ok(ReadResponse::found(found.id, state, inputs))
}

/// The resource's schema description, followed by an Import section saying with which id it
/// can be imported when it can (the section registries show as a resource's Import docs);
/// unchanged when it cannot.
pub(super) fn describe<R: Resource>(description: Option<String>) -> Option<String> {
    if !R::CAPABILITIES.import {
        return description;
    }
    let id = if R::IMPORT_ID.is_empty() {
        "its id"
    } else {
        R::IMPORT_ID
    };
    let section = format!(
        "## Import\n\nAn existing resource can be adopted from its id, which is {id}: with the `import` resource option, or `pulumi import`."
    );
    Some(match description {
        Some(d) => format!("{d}\n\n{section}"),
        None => section,
    })
}
