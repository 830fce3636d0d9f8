//! Without `local:root`, relative paths resolve against the plugin's working directory (the
//! program's directory when an engine launches it). In-process with the SDK's test driver, in a
//! child process of this test binary started in a fresh directory: the working directory is the
//! whole process's, and the other tests of this binary run beside this one.

use std::process::{Command, Stdio};

use provider_example::{File, file};
use provider_sdk::testing::Driver;

/// Set in the child: the test runs its body there, in the directory it was started in.
const IN_CHILD: &str = "PROVIDER_EXAMPLE_WORKING_DIRECTORY_CHILD";

#[tokio::test]
async fn without_a_root_relative_paths_resolve_against_the_working_directory() {
    if std::env::var_os(IN_CHILD).is_none() {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "working_directory::without_a_root_relative_paths_resolve_against_the_working_directory",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(IN_CHILD, "1")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run this test in a child process");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "the child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let dir = std::env::current_dir().unwrap();
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
    let written = dir.canonicalize().unwrap().join("hello.txt");
    assert_eq!(std::fs::read_to_string(&written).unwrap(), "hi");
    assert_eq!(created.id, written.display().to_string());
    files.delete(created).await.unwrap();
    assert!(!written.exists());
}
