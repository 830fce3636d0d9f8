//! `local:index:Directory` through real gRPC against the spawned plugin: create, drift (removed
//! outside), Delete refusing a non-empty directory unless `recursive`, and a clean delete.

use crate::support;

use pulumirpc::tonic::Code;
use support::*;

const DIR: &str = "local:index:Directory";
const FILE: &str = "local:index:File";

#[tokio::test]
async fn directory_lifecycle_refuses_to_delete_contents_unless_recursive() {
    let mut p = Provider::start().await;
    let root = p.root();
    let d = p
        .create(DIR, "site", props! { "path" => "site" }, 0.0)
        .await
        .unwrap();
    assert!(root.join("site").is_dir());
    assert!(p.read(DIR, "site", &d).await.unwrap().is_some());

    // A file inside it (created by a File resource, as a program would).
    let f = p
        .create(
            FILE,
            "index",
            props! { "path" => "site/index.html", "content" => "<p>hi</p>" },
            0.0,
        )
        .await
        .unwrap();

    // Something else also writes into it: Delete refuses, naming the path and the option.
    std::fs::write(root.join("site/stray.log"), "x").unwrap();
    p.delete(FILE, "index", &f, 0.0).await.unwrap();
    let err = p.delete(DIR, "site", &d, 0.0).await.unwrap_err();
    assert_ne!(err.code(), Code::Ok);
    assert!(
        err.message()
            .contains(&root.join("site").display().to_string()),
        "names the path: {err:?}"
    );
    assert!(
        err.message().contains("recursive"),
        "names the option: {err:?}"
    );
    assert!(root.join("site/stray.log").exists(), "nothing was deleted");

    // Opting in (an update of `recursive`, no replace) lets Delete remove everything.
    let news = props! { "path" => "site", "recursive" => true };
    let diff = p.diff(DIR, "site", &d, &news).await;
    assert!(diff.replaces.is_empty(), "{diff:?}");
    let d = p.update(DIR, "site", &d, news, 0.0).await.unwrap();
    p.delete(DIR, "site", &d, 0.0).await.unwrap();
    assert!(!root.join("site").exists());
    assert_nothing_left(&root, &[]).await;
}

#[tokio::test]
async fn a_directory_removed_outside_reads_as_gone_and_a_new_path_replaces() {
    let mut p = Provider::start().await;
    let d = p
        .create(DIR, "d", props! { "path" => "one" }, 0.0)
        .await
        .unwrap();
    let diff = p.diff(DIR, "d", &d, &props! { "path" => "two" }).await;
    assert_eq!(diff.replaces, vec!["path".to_string()]);
    std::fs::remove_dir(p.root().join("one")).unwrap();
    assert!(p.read(DIR, "d", &d).await.unwrap().is_none());
    p.delete(DIR, "d", &d, 0.0).await.unwrap();

    // A directory that already exists is not adopted silently.
    std::fs::create_dir(p.root().join("theirs")).unwrap();
    let err = p
        .create(DIR, "t", props! { "path" => "theirs" }, 0.0)
        .await
        .unwrap_err();
    assert!(err.message().contains("already exists"), "{err:?}");
    std::fs::remove_dir(p.root().join("theirs")).unwrap();
    assert_nothing_left(&p.root(), &[]).await;
}
