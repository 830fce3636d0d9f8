//! Import through real gRPC against the spawned plugin: a Read with only an id (no recorded
//! state) adopts an existing File or Directory by its absolute path and answers with its
//! outputs and the inputs a program would give; a missing one is "not found" (an empty id);
//! Random cannot be imported; the schema says which resources import.

use crate::support;

use std::os::unix::fs::PermissionsExt;

use provider_sdk::value::{Asset, AssetSource};
use provider_sdk::{PropertyMap, PropertyValue};
use pulumirpc::diff_response::DiffChanges;
use pulumirpc::tonic::Code;
use support::*;

const FILE: &str = "local:index:File";
const DIR: &str = "local:index:Directory";
const RANDOM: &str = "local:index:Random";

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The resource with `id` as an import knows it: nothing recorded.
fn by_id(id: &str) -> Resource {
    by_id_with(id, PropertyMap::new())
}

/// The resource with `id` as an engine recovering a pending create knows it: the inputs the
/// create began with, sent as both the recorded outputs and the inputs.
fn by_id_with(id: &str, began: PropertyMap) -> Resource {
    Resource {
        id: id.to_string(),
        outputs: began.clone(),
        inputs: began,
    }
}

#[tokio::test]
async fn an_existing_file_is_imported_with_its_inputs_and_outputs() {
    let mut p = Provider::start().await;
    let root = p.root();
    std::fs::create_dir(root.join("site")).unwrap();
    let path = root.join("site/page.txt");
    std::fs::write(&path, "hello\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let id = path.display().to_string();

    let imported = p
        .read(FILE, "page", &by_id(&id))
        .await
        .expect("a File is imported from its path")
        .expect("the file exists");
    assert_eq!(imported.id, id);
    assert_eq!(
        imported.inputs,
        props! { "path" => "site/page.txt", "content" => "hello\n", "permissions" => "0600" },
        "the inputs as a program would give them, relative to local:root"
    );
    assert_eq!(string(&imported.outputs, "path"), "site/page.txt");
    assert_eq!(string(&imported.outputs, "content"), "hello\n");
    assert_eq!(string(&imported.outputs, "sha256"), sha256(b"hello\n"));
    assert_eq!(imported.outputs["size"], PropertyValue::Number(6.0));

    // The program that describes this file has nothing to change after the import.
    let program =
        props! { "path" => "site/page.txt", "content" => "hello\n", "permissions" => "0600" };
    let diff = p.diff(FILE, "page", &imported, &program).await;
    assert_eq!(diff.changes, DiffChanges::DiffNone as i32, "{diff:?}");
    // One that wants other content updates it in place.
    let other = props! { "path" => "site/page.txt", "content" => "bye\n", "permissions" => "0600" };
    let diff = p.diff(FILE, "page", &imported, &other).await;
    assert_eq!(diff.changes, DiffChanges::DiffSome as i32, "{diff:?}");
    assert!(diff.replaces.is_empty(), "{diff:?}");

    // A file outside the root keeps its absolute path as `path`.
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("o.txt");
    std::fs::write(&outside, "o").unwrap();
    let o = p
        .read(FILE, "o", &by_id(&outside.display().to_string()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(string(&o.inputs, "path"), outside.display().to_string());

    // The imported file is managed like any other: Delete removes it.
    p.delete(FILE, "page", &imported, 0.0).await.unwrap();
    assert!(!path.exists());
}

#[tokio::test]
async fn a_missing_file_is_not_found_and_bad_ids_are_refused_clearly() {
    let mut p = Provider::start().await;
    let root = p.root();

    let missing = root.join("nope.txt").display().to_string();
    let read = p.read(FILE, "n", &by_id(&missing)).await;
    assert!(
        matches!(read, Ok(None)),
        "a missing file is an empty id: {read:?}"
    );

    let err = p
        .read(FILE, "n", &by_id("nope.txt"))
        .await
        .expect_err("a relative id is refused");
    assert_code(&err, Code::InvalidArgument);
    for want in [FILE, "absolute path", "`nope.txt`"] {
        assert!(err.message().contains(want), "{}", err.message());
    }

    let binary = root.join("blob.bin");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    let err = p
        .read(FILE, "b", &by_id(&binary.display().to_string()))
        .await
        .expect_err("binary content cannot be `content`");
    assert!(
        err.message().contains("not UTF-8 text") && err.message().contains("blob.bin"),
        "{}",
        err.message()
    );

    std::fs::create_dir(root.join("d")).unwrap();
    let err = p
        .read(FILE, "d", &by_id(&root.join("d").display().to_string()))
        .await
        .expect_err("a directory is not a File");
    assert!(
        err.message().contains("not a regular file"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_pending_creates_inputs_are_kept_when_the_file_holds_what_they_say() {
    let mut p = Provider::start().await;
    let root = p.root();
    std::fs::write(root.join("a.txt"), "from a text asset").unwrap();
    let id = root.join("a.txt").display().to_string();
    let asset = Asset {
        hash: None,
        source: AssetSource::Text("from a text asset".into()),
    };
    let began = props! { "path" => "a.txt", "source" => asset.clone(), "permissions" => "0644" };
    std::fs::set_permissions(root.join("a.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let imported = p
        .read(FILE, "a", &by_id_with(&id, began.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(imported.inputs, began, "the asset stays the source");
    assert_eq!(imported.outputs["source"], PropertyValue::from(asset));
    assert_eq!(
        string(&imported.outputs, "sha256"),
        sha256(b"from a text asset")
    );

    // The file no longer holds what the inputs say: the live text wins.
    std::fs::write(root.join("a.txt"), "changed").unwrap();
    let imported = p
        .read(FILE, "a", &by_id_with(&id, began))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(string(&imported.inputs, "content"), "changed");
    assert!(!imported.inputs.contains_key("source"), "{imported:?}");

    // A secret content in the inputs keeps everything derived from it secret.
    std::fs::write(root.join("s.txt"), "pw").unwrap();
    let began = props! { "path" => "s.txt", "content" => PropertyValue::secret("pw".into()) };
    let s = p
        .read(
            FILE,
            "s",
            &by_id_with(&root.join("s.txt").display().to_string(), began),
        )
        .await
        .unwrap()
        .unwrap();
    for secret in ["content", "sha256", "size"] {
        assert!(s.outputs[secret].is_secret(), "{secret}: {:?}", s.outputs);
    }
    assert!(s.inputs["content"].is_secret(), "{:?}", s.inputs);
}

#[tokio::test]
async fn an_existing_directory_is_imported_and_a_missing_one_is_not_found() {
    let mut p = Provider::start().await;
    let root = p.root();
    std::fs::create_dir(root.join("site")).unwrap();
    let id = root.join("site").display().to_string();
    let d = p.read(DIR, "site", &by_id(&id)).await.unwrap().unwrap();
    assert_eq!(d.id, id);
    assert_eq!(d.inputs, props! { "path" => "site" });
    assert_eq!(d.outputs, props! { "path" => "site" });
    let diff = p.diff(DIR, "site", &d, &props! { "path" => "site" }).await;
    assert_eq!(diff.changes, DiffChanges::DiffNone as i32, "{diff:?}");

    let gone = root.join("gone").display().to_string();
    assert!(p.read(DIR, "gone", &by_id(&gone)).await.unwrap().is_none());

    std::fs::write(root.join("plain"), "x").unwrap();
    let err = p
        .read(
            DIR,
            "plain",
            &by_id(&root.join("plain").display().to_string()),
        )
        .await
        .expect_err("a file is not a Directory");
    assert!(
        err.message().contains("not a directory"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_random_cannot_be_imported() {
    let mut p = Provider::start().await;
    let err = p
        .read(RANDOM, "r", &by_id("random-abc"))
        .await
        .expect_err("a random value lives only in the state");
    assert_code(&err, Code::Unimplemented);
    for want in [RANDOM, "cannot be imported"] {
        assert!(err.message().contains(want), "{}", err.message());
    }
}

#[test]
fn the_schema_says_which_resources_import() {
    let provider = provider_example::typed_provider();
    let schema = provider.schema();
    let resources = &schema["resources"];
    let description = |ty: &str| resources[ty]["description"].as_str().unwrap().to_string();
    for (ty, id) in [
        (FILE, "the file's absolute path"),
        (DIR, "the directory's absolute path"),
    ] {
        let d = description(ty);
        assert!(d.contains("## Import") && d.contains(id), "{ty}: {d}");
    }
    for ty in [RANDOM, "local:index:Command", "local:index:Service"] {
        let d = description(ty);
        assert!(!d.contains("Import"), "{ty}: {d}");
    }
}
