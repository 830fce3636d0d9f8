//! Without `local:root`, relative paths resolve against the plugin's working directory (the
//! program's directory when an engine launches it). In-process with the SDK's test driver;
//! this binary holds one test, because it changes the process's working directory.

use provider_example::{File, file};
use provider_sdk::testing::Driver;

#[tokio::test]
async fn without_a_root_relative_paths_resolve_against_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let driver = Driver::new(provider_example::typed_provider());
    driver.configure(serde_json::json!({})).await.unwrap();
    let files = driver.resource::<File>(file::TYPE);
    let created = files
        .create(
            "f",
            &serde_json::from_value(serde_json::json!({"path": "hello.txt", "content": "hi"}))
                .unwrap(),
        )
        .await
        .unwrap();
    let written = dir.path().canonicalize().unwrap().join("hello.txt");
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "hi");
    assert_eq!(created.id, written.display().to_string());
    files.delete(created).await.unwrap();
    assert!(!written.exists());
}
