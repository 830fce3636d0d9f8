//! `local:index:File` through real gRPC against the spawned plugin: create, diff, update,
//! drift detected by Read (edited and removed outside), replace on a new path, secrets,
//! assets, and a clean delete.

use crate::support;

use std::os::unix::fs::PermissionsExt;

use provider_sdk::PropertyValue;
use provider_sdk::value::{Asset, AssetSource};
use pulumirpc::tonic::Code;
use support::*;

const FILE: &str = "local:index:File";

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn file_lifecycle_with_drift_and_replace() {
    let mut p = Provider::start().await;
    let root = p.root();
    let path = root.join("hello.txt");

    let inputs = props! { "path" => "hello.txt", "content" => "hello\n", "permissions" => "0600" };
    let created = p.create(FILE, "f", inputs.clone(), 0.0).await.unwrap();
    assert!(!created.id.is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(string(&created.outputs, "sha256"), sha256(b"hello\n"));
    assert_eq!(created.outputs["size"], PropertyValue::Number(6.0));

    // The same program again: no changes.
    let diff = p.diff(FILE, "f", &created, &inputs).await;
    assert_eq!(
        diff.changes,
        pulumirpc::diff_response::DiffChanges::DiffNone as i32,
        "{diff:?}"
    );

    // New content updates in place.
    let news = props! { "path" => "hello.txt", "content" => "bonjour\n", "permissions" => "0640" };
    let diff = p.diff(FILE, "f", &created, &news).await;
    assert_eq!(
        diff.changes,
        pulumirpc::diff_response::DiffChanges::DiffSome as i32
    );
    assert!(
        diff.replaces.is_empty(),
        "content and permissions update in place: {diff:?}"
    );
    let updated = p
        .update(FILE, "f", &created, news.clone(), 0.0)
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "bonjour\n");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(string(&updated.outputs, "sha256"), sha256(b"bonjour\n"));

    // Nothing changed outside: Read reports the recorded state.
    let same = p
        .read(FILE, "f", &updated)
        .await
        .unwrap()
        .expect("the file exists");
    assert_eq!(string(&same.outputs, "sha256"), sha256(b"bonjour\n"));
    assert_eq!(same.inputs.get("content"), news.get("content"));

    // Edited outside: Read reports the live content, and the next diff wants it back.
    std::fs::write(&path, "edited by hand").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let drifted = p
        .read(FILE, "f", &updated)
        .await
        .unwrap()
        .expect("the file still exists");
    assert_eq!(
        string(&drifted.outputs, "sha256"),
        sha256(b"edited by hand")
    );
    assert_eq!(string(&drifted.inputs, "content"), "edited by hand");
    assert_eq!(string(&drifted.inputs, "permissions"), "0644");
    let diff = p.diff(FILE, "f", &drifted, &news).await;
    assert_eq!(
        diff.changes,
        pulumirpc::diff_response::DiffChanges::DiffSome as i32
    );
    assert!(
        diff.diffs.contains(&"content".to_string())
            && diff.diffs.contains(&"permissions".to_string()),
        "{diff:?}"
    );
    let repaired = p
        .update(FILE, "f", &drifted, news.clone(), 0.0)
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "bonjour\n");

    // A new path replaces: the engine creates the new file, then deletes the old one.
    let moved = props! { "path" => "moved.txt", "content" => "bonjour\n", "permissions" => "0640" };
    let diff = p.diff(FILE, "f", &repaired, &moved).await;
    assert_eq!(diff.replaces, vec!["path".to_string()], "{diff:?}");
    let replacement = p.create(FILE, "f", moved, 0.0).await.unwrap();
    p.delete(FILE, "f", &repaired, 0.0).await.unwrap();
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_to_string(root.join("moved.txt")).unwrap(),
        "bonjour\n"
    );

    // Removed outside: Read says it is gone; Delete of a gone file succeeds.
    std::fs::remove_file(root.join("moved.txt")).unwrap();
    assert!(
        p.read(FILE, "f", &replacement).await.unwrap().is_none(),
        "a removed file reads as gone"
    );
    p.delete(FILE, "f", &replacement, 0.0).await.unwrap();

    let root_dir = p.stop().await;
    assert_nothing_left(root_dir.path(), &[]).await;
}

#[tokio::test]
async fn secret_content_stays_secret() {
    let mut p = Provider::start().await;
    let inputs = props! { "path" => "token", "content" => PropertyValue::secret("s3cr3t".into()) };
    let checked = p
        .check(FILE, "s", &Default::default(), inputs)
        .await
        .unwrap();
    assert!(checked["content"].is_secret());
    let created = p.create_checked(FILE, "s", checked, 0.0).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(p.root().join("token")).unwrap(),
        "s3cr3t"
    );
    assert!(
        created.outputs["content"].is_secret(),
        "{:?}",
        created.outputs
    );
    assert!(
        created.outputs["sha256"].is_secret(),
        "the hash of a secret is secret too"
    );
    let read = p.read(FILE, "s", &created).await.unwrap().unwrap();
    assert!(read.outputs["content"].is_secret() && read.inputs["content"].is_secret());
    std::fs::write(p.root().join("token"), "changed").unwrap();
    let drifted = p.read(FILE, "s", &created).await.unwrap().unwrap();
    assert!(
        drifted.inputs["content"].is_secret(),
        "drifted content of a secret file stays secret"
    );
    p.delete(FILE, "s", &created, 0.0).await.unwrap();
    assert_nothing_left(&p.root(), &[]).await;
}

#[tokio::test]
async fn content_from_assets() {
    let mut p = Provider::start().await;
    let text = Asset {
        hash: None,
        source: AssetSource::Text("from a text asset".into()),
    };
    let a = p
        .create(
            FILE,
            "a",
            props! { "path" => "a.txt", "source" => text },
            0.0,
        )
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(p.root().join("a.txt")).unwrap(),
        "from a text asset"
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let src = elsewhere.path().join("src.html");
    std::fs::write(&src, "<h1>hi</h1>").unwrap();
    let file = Asset {
        hash: None,
        source: AssetSource::Path(src.display().to_string()),
    };
    let b = p
        .create(
            FILE,
            "b",
            props! { "path" => "b.html", "source" => file },
            0.0,
        )
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(p.root().join("b.html")).unwrap(),
        "<h1>hi</h1>"
    );
    assert_eq!(string(&b.outputs, "sha256"), sha256(b"<h1>hi</h1>"));

    // Drift of an asset-backed file shows as a content diff against the same asset.
    std::fs::write(p.root().join("b.html"), "tampered").unwrap();
    let drifted = p.read(FILE, "b", &b).await.unwrap().unwrap();
    let diff = p.diff(FILE, "b", &drifted, &b.inputs).await;
    assert_eq!(
        diff.changes,
        pulumirpc::diff_response::DiffChanges::DiffSome as i32,
        "{diff:?}"
    );

    p.delete(FILE, "a", &a, 0.0).await.unwrap();
    p.delete(FILE, "b", &drifted, 0.0).await.unwrap();
    assert_nothing_left(&p.root(), &[]).await;
}

#[tokio::test]
async fn bad_inputs_and_unsafe_writes_are_refused_clearly() {
    let mut p = Provider::start().await;
    let failures = p
        .check(
            FILE,
            "bad",
            &Default::default(),
            props! { "content" => "x", "mode" => "0644" },
        )
        .await
        .unwrap_err();
    let all = failures.join("\n");
    assert!(all.contains("path"), "a missing path is named: {all}");
    assert!(all.contains("mode"), "an unknown property is named: {all}");
    let failures = p
        .check(
            FILE,
            "bad",
            &Default::default(),
            props! { "path" => "x", "permissions" => "rwx" },
        )
        .await
        .unwrap_err();
    assert!(
        failures.join("\n").contains("permissions"),
        "bad permissions are named: {failures:?}"
    );

    let text = Asset {
        hash: None,
        source: AssetSource::Text("t".into()),
    };
    let failures = p
        .check(
            FILE,
            "both",
            &Default::default(),
            props! { "path" => "x", "content" => "c", "source" => text },
        )
        .await
        .unwrap_err();
    assert!(failures.join("\n").contains("source"), "{failures:?}");

    // The parent directory must exist; the error says how to get one.
    let err = p
        .create(
            FILE,
            "deep",
            props! { "path" => "no/such/dir/x.txt", "content" => "x" },
            0.0,
        )
        .await
        .unwrap_err();
    assert!(err.message().contains("Directory"), "{err:?}");
    assert_ne!(err.code(), Code::Ok);

    // An existing file is not taken over unless asked.
    std::fs::write(p.root().join("mine.txt"), "precious").unwrap();
    let err = p
        .create(
            FILE,
            "mine",
            props! { "path" => "mine.txt", "content" => "x" },
            0.0,
        )
        .await
        .unwrap_err();
    assert!(err.message().contains("overwrite"), "{err:?}");
    assert_eq!(
        std::fs::read_to_string(p.root().join("mine.txt")).unwrap(),
        "precious"
    );
    let taken = p
        .create(
            FILE,
            "mine",
            props! { "path" => "mine.txt", "content" => "x", "overwrite" => true },
            0.0,
        )
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(p.root().join("mine.txt")).unwrap(),
        "x"
    );
    p.delete(FILE, "mine", &taken, 0.0).await.unwrap();
    assert_nothing_left(&p.root(), &[]).await;
}
