//! The typed layer's import path, through real gRPC: a Read that carries an id but no recorded
//! state reaches the resource's `import`, which answers with the live outputs and the inputs
//! derived from them; a resource without `import` is refused with an error naming its type; a
//! Read with a recorded state still reaches `read`.

use crate::support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use provider_sdk::testing::Driver;
use provider_sdk::typed::{
    CreateArgs, Created, ImportArgs, ProviderBuilder, ReadArgs, ReadResult, Resource, resource,
};
use provider_sdk::wire::{decode_struct, encode_map};
use provider_sdk::{Context, Error, PropertyMap, PropertyValue, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const NOTE: &str = "test:index:Note";
const OPAQUE: &str = "test:index:Opaque";

/// The inputs of a note.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct NoteArgs {
    /// The text.
    text: String,
    /// A label that only the program knows (it cannot be read back).
    tag: Option<String>,
}

/// A note kept by the provider.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
struct NoteState {
    /// The text.
    text: String,
    /// The label.
    tag: Option<String>,
    /// The text's length.
    length: u64,
}

fn state(inputs: &NoteArgs) -> NoteState {
    NoteState {
        text: inputs.text.clone(),
        tag: inputs.tag.clone(),
        length: inputs.text.len() as u64,
    }
}

/// Notes live in a shared map (the "cloud"), keyed by id; the counters say which of `read`
/// and `import` ran, and `hints` what `import` was given.
#[derive(Default, Clone)]
struct Note {
    live: Arc<Mutex<BTreeMap<String, String>>>,
    reads: Arc<AtomicUsize>,
    imports: Arc<AtomicUsize>,
    hints: Arc<Mutex<Vec<Option<NoteArgs>>>>,
}

#[resource]
impl Resource for Note {
    type Inputs = NoteArgs;
    type Outputs = NoteState;
    const IMPORT_ID: &'static str = "the note's key";

    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<NoteArgs>,
    ) -> Result<Created<NoteState>> {
        let id = format!("note-{}", args.name);
        self.live
            .lock()
            .unwrap()
            .insert(id.clone(), args.inputs.text.clone());
        Ok(Created::new(id, state(&args.inputs)))
    }

    async fn read(
        &self,
        _ctx: &Context,
        args: ReadArgs<NoteArgs, NoteState>,
    ) -> Result<Option<ReadResult<NoteArgs, NoteState>>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let Some(text) = self.live.lock().unwrap().get(&args.id).cloned() else {
            return Ok(None);
        };
        let inputs = NoteArgs {
            text,
            tag: args.state.tag,
        };
        Ok(Some(ReadResult::new(
            args.id,
            inputs.clone(),
            state(&inputs),
        )))
    }

    async fn import(
        &self,
        _ctx: &Context,
        args: ImportArgs<NoteArgs>,
    ) -> Result<Option<ReadResult<NoteArgs, NoteState>>> {
        self.imports.fetch_add(1, Ordering::SeqCst);
        self.hints.lock().unwrap().push(args.inputs.clone());
        let Some(text) = self.live.lock().unwrap().get(&args.id).cloned() else {
            return Ok(None);
        };
        let inputs = NoteArgs {
            text,
            tag: args.inputs.and_then(|hint| hint.tag),
        };
        Ok(Some(ReadResult::new(
            args.id,
            inputs.clone(),
            state(&inputs),
        )))
    }
}

/// A resource that can be read only with its recorded state.
struct Opaque;

#[resource]
impl Resource for Opaque {
    type Inputs = NoteArgs;
    type Outputs = NoteState;

    async fn create(
        &self,
        _ctx: &Context,
        args: CreateArgs<NoteArgs>,
    ) -> Result<Created<NoteState>> {
        Ok(Created::new("opaque", state(&args.inputs)))
    }

    async fn read(
        &self,
        _ctx: &Context,
        args: ReadArgs<NoteArgs, NoteState>,
    ) -> Result<Option<ReadResult<NoteArgs, NoteState>>> {
        let inputs = args.inputs.unwrap_or(NoteArgs {
            text: args.state.text.clone(),
            tag: None,
        });
        Ok(Some(ReadResult::new(args.id, inputs, args.state)))
    }
}

fn provider(note: &Note) -> provider_sdk::typed::TypedProvider {
    ProviderBuilder::new("test", "1.0.0")
        .resource(NOTE, note.clone())
        .resource(OPAQUE, Opaque)
        .build()
        .expect("valid provider")
}

fn note_with(id: &str, text: &str) -> Note {
    let note = Note::default();
    note.live
        .lock()
        .unwrap()
        .insert(id.to_string(), text.to_string());
    note
}

fn read_request(
    ty: &str,
    id: &str,
    properties: &PropertyMap,
    inputs: &PropertyMap,
) -> pulumirpc::ReadRequest {
    pulumirpc::ReadRequest {
        id: id.to_string(),
        urn: format!("urn:pulumi:dev::test::{ty}::n"),
        name: "n".to_string(),
        r#type: ty.to_string(),
        properties: Some(encode_map(properties)),
        inputs: Some(encode_map(inputs)),
        ..Default::default()
    }
}

fn map(pairs: &[(&str, PropertyValue)]) -> PropertyMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[tokio::test]
async fn a_read_with_only_an_id_imports_the_live_outputs_and_inputs() {
    let note = note_with("note-a", "hello");
    let mut served = support::serve(provider(&note), None).await;
    let none = PropertyMap::new();

    let read = served
        .client
        .read(read_request(NOTE, "note-a", &none, &none))
        .await
        .expect("an importable resource is read from its id")
        .into_inner();
    assert_eq!(read.id, "note-a");
    let outputs = decode_struct(read.properties.as_ref()).unwrap();
    assert_eq!(
        outputs,
        map(&[("text", "hello".into()), ("length", 5.0.into())])
    );
    let inputs = decode_struct(read.inputs.as_ref()).unwrap();
    assert_eq!(inputs, map(&[("text", "hello".into())]));
    assert_eq!(note.imports.load(Ordering::SeqCst), 1);
    assert_eq!(note.reads.load(Ordering::SeqCst), 0);
    assert_eq!(
        *note.hints.lock().unwrap(),
        vec![None],
        "no inputs, no hint"
    );

    // Nothing has the id: "not found" is an empty id, as the protocol says.
    let gone = served
        .client
        .read(read_request(NOTE, "note-zz", &none, &none))
        .await
        .expect("a missing resource is not an error")
        .into_inner();
    assert_eq!(gone.id, "");
    assert!(decode_struct(gone.properties.as_ref()).unwrap().is_empty());

    // Neither an id nor a state: nothing to read.
    let err = served
        .client
        .read(read_request(NOTE, "", &none, &none))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("neither an id"), "{}", err.message());
}

#[tokio::test]
async fn a_read_with_a_recorded_state_still_goes_to_read() {
    let note = note_with("note-a", "edited outside");
    let mut served = support::serve(provider(&note), None).await;
    let recorded = map(&[
        ("text", "hello".into()),
        ("tag", "blue".into()),
        ("length", 5.0.into()),
    ]);
    let inputs = map(&[("text", "hello".into()), ("tag", "blue".into())]);
    let read = served
        .client
        .read(read_request(NOTE, "note-a", &recorded, &inputs))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(note.reads.load(Ordering::SeqCst), 1);
    assert_eq!(note.imports.load(Ordering::SeqCst), 0);
    let outputs = decode_struct(read.properties.as_ref()).unwrap();
    assert_eq!(outputs["text"], "edited outside".into());
    assert_eq!(
        outputs["tag"],
        "blue".into(),
        "kept from the recorded state"
    );
}

#[tokio::test]
async fn a_pending_creates_inputs_are_a_hint_and_their_secrets_stay_secret() {
    // An engine recovering a pending create sends the inputs the create began with, as both
    // the recorded outputs and the inputs: not a state of this resource.
    let note = note_with("note-a", "s3cret");
    let mut served = support::serve(provider(&note), None).await;
    let began = map(&[
        ("text", PropertyValue::secret("s3cret".into())),
        ("tag", "blue".into()),
    ]);
    let read = served
        .client
        .read(read_request(NOTE, "note-a", &began, &began))
        .await
        .expect("read from the id")
        .into_inner();
    assert_eq!(note.imports.load(Ordering::SeqCst), 1);
    assert_eq!(
        *note.hints.lock().unwrap(),
        vec![Some(NoteArgs {
            text: "s3cret".into(),
            tag: Some("blue".into())
        })]
    );
    let outputs = decode_struct(read.properties.as_ref()).unwrap();
    assert_eq!(outputs["tag"], "blue".into(), "the hint's tag is kept");
    assert!(outputs["text"].is_secret(), "{outputs:?}");
    assert!(outputs["length"].is_secret(), "derived from a secret");
    let inputs = decode_struct(read.inputs.as_ref()).unwrap();
    assert!(inputs["text"].is_secret(), "{inputs:?}");
}

#[tokio::test]
async fn a_resource_without_import_is_refused_with_its_type_named() {
    let mut served = support::serve(provider(&Note::default()), None).await;
    let none = PropertyMap::new();
    let err = served
        .client
        .read(read_request(OPAQUE, "opaque", &none, &none))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented, "{err:?}");
    for want in [OPAQUE, "cannot be imported", "id alone"] {
        assert!(err.message().contains(want), "{}", err.message());
    }

    // A state that is not one (a pending create's inputs): the state's problem comes first.
    let began = map(&[("text", "x".into())]);
    let err = served
        .client
        .read(read_request(OPAQUE, "opaque", &began, &began))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    for want in [
        "the recorded state",
        "length",
        OPAQUE,
        "does not support import",
    ] {
        assert!(err.message().contains(want), "{}", err.message());
    }
}

#[tokio::test]
async fn the_schema_says_which_resources_import_and_with_which_id() {
    let mut served = support::serve(provider(&Note::default()), None).await;
    let schema = served
        .client
        .get_schema(pulumirpc::GetSchemaRequest::default())
        .await
        .unwrap()
        .into_inner()
        .schema;
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap();
    let note = schema["resources"][NOTE]["description"].as_str().unwrap();
    assert!(note.starts_with("A note kept by the provider."), "{note}");
    assert!(
        note.contains("## Import") && note.contains("the note's key"),
        "{note}"
    );
    let opaque = &schema["resources"][OPAQUE]["description"];
    assert_eq!(opaque, "A note kept by the provider.", "no Import section");
}

#[tokio::test]
async fn the_driver_imports_in_one_line() {
    let note = Note::default();
    let driver = Driver::new(provider(&note));
    let notes = driver.resource::<Note>(NOTE);
    let made = notes
        .create(
            "a",
            &NoteArgs {
                text: "hi".into(),
                tag: None,
            },
        )
        .await
        .unwrap();
    let imported = notes.import("b", &made.id).await.unwrap().expect("found");
    assert_eq!(imported.outputs, made.outputs);
    assert_eq!(imported.inputs, map(&[("text", "hi".into())]));
    assert!(notes.import("c", "note-nope").await.unwrap().is_none());
    let opaque = driver.resource::<Opaque>(OPAQUE);
    let err = opaque.import("d", "opaque").await.unwrap_err();
    assert!(
        matches!(&err, Error::NotImportable(token) if token == OPAQUE),
        "{err:?}"
    );
}
