//! Provider configuration (`local:root`) and the functions `local:index:readFile` and
//! `local:index:hash`, through real gRPC against the spawned plugin.

use crate::support;

use provider_sdk::{PropertyMap, PropertyValue};
use pulumirpc::tonic::Code;
use support::*;

#[tokio::test]
async fn configure_accepts_empty_configuration() {
    let (child, client) = spawn().await;
    let mut p = Provider {
        child,
        client,
        root: tempfile::tempdir().unwrap(),
    };
    p.configure(PropertyMap::new()).await.unwrap();
    // Configured: resources and functions work (absolute paths need no root).
    let data = p.root().join("data.txt");
    std::fs::write(&data, "abc").unwrap();
    let out = p
        .invoke(
            "local:index:readFile",
            props! { "path" => data.display().to_string() },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(string(&out, "content"), "abc");
}

#[tokio::test]
async fn configure_rejects_a_root_that_is_not_a_usable_directory() {
    let (child, client) = spawn().await;
    let mut p = Provider {
        child,
        client,
        root: tempfile::tempdir().unwrap(),
    };
    let file = p.root().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    for bad in [
        file.display().to_string(),
        p.root().join("missing").display().to_string(),
    ] {
        let err = p
            .configure(props! { "root" => bad.clone() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(
            err.message().contains("local:root") && err.message().contains(&bad),
            "{err:?}"
        );
    }
    let err = p.configure(props! { "root" => 42 }).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("root"), "{err:?}");
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test]
async fn resources_need_configuration_first() {
    let (child, client) = spawn().await;
    let mut p = Provider {
        child,
        client,
        root: tempfile::tempdir().unwrap(),
    };
    let err = p
        .create_checked(
            "local:index:File",
            "f",
            props! { "path" => "x", "content" => "y" },
            0.0,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("not configured yet"), "{err:?}");
    assert_nothing_left(&p.root(), &[]).await;
}

#[tokio::test]
async fn functions_read_and_hash() {
    let mut p = Provider::start().await;
    std::fs::write(p.root().join("data.txt"), "abc").unwrap();
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    let out = p
        .invoke("local:index:readFile", props! { "path" => "data.txt" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(string(&out, "content"), "abc");
    assert_eq!(string(&out, "sha256"), abc);

    let out = p
        .invoke("local:index:hash", props! { "content" => "abc" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(string(&out, "sha256"), abc);
    let out = p
        .invoke(
            "local:index:hash",
            props! { "content" => PropertyValue::secret("abc".into()) },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(out["sha256"].is_secret(), "the hash of a secret is secret");

    let failures = p
        .invoke("local:index:readFile", props! {})
        .await
        .unwrap()
        .unwrap_err();
    assert!(failures.join("\n").contains("path"), "{failures:?}");
    let err = p
        .invoke("local:index:readFile", props! { "path" => "missing.txt" })
        .await
        .unwrap_err();
    assert!(err.message().contains("missing.txt"), "{err:?}");
    let err = p.invoke("local:index:nope", props! {}).await.unwrap_err();
    assert!(
        err.message().contains("readFile"),
        "unknown functions list the known ones: {err:?}"
    );

    std::fs::remove_file(p.root().join("data.txt")).unwrap();
    assert_nothing_left(&p.root(), &[]).await;
}
