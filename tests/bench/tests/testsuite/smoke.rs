//! `provider-bench` end to end against real plugin processes, with tiny settings: it must launch
//! them, drive Create calls over gRPC and report every figure. Nothing here asserts a timing.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The bare tonic floor, built with the workspace's binaries.
fn bare_tonic_provider() -> PathBuf {
    test_support::workspace_binary("bare-tonic-provider")
}

fn provider_bench(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_provider-bench"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run provider-bench");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn measures_two_plugins_and_reports_every_figure() {
    let bare = bare_tonic_provider();
    let spec_a = format!("floor-a=bare:index:Random={}", bare.display());
    let spec_b = format!("floor-b=bare:index:Random={}", bare.display());
    let work = std::env::temp_dir().join(format!("provider-bench-smoke-{}", std::process::id()));
    let (ok, out, err) = provider_bench(&[
        "--plugin",
        &spec_a,
        "--plugin",
        &spec_b,
        "--launches",
        "2",
        "--settle-ms",
        "10",
        "--phase-secs",
        "0.2",
        "--min-calls",
        "20",
        "--in-flight",
        "1,64",
        "--work-dir",
        work.to_str().expect("utf-8 temp dir"),
    ]);
    let _ = std::fs::remove_dir_all(&work);
    assert!(ok, "provider-bench failed.\nstdout:\n{out}\nstderr:\n{err}");
    // Two launches each, both stopped cleanly by SIGINT.
    assert!(
        out.lines()
            .any(|l| l.starts_with("| floor-a |") && l.ends_with("| 2/2 |")),
        "{out}"
    );
    // Each load phase ran at least the minimum number of calls and none failed.
    for in_flight in ["1", "64"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("| floor-b | {in_flight} |")))
            .unwrap_or_else(|| panic!("no load row for {in_flight} in flight:\n{out}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let calls: u64 = cells[3]
            .parse()
            .unwrap_or_else(|_| panic!("calls cell in {row}"));
        assert!(calls >= 20, "{row}");
        assert_eq!(cells[9], "0", "failed calls in {row}");
    }
    assert!(out.contains("### Ratios: floor-a / peer"), "{out}");
    assert!(!out.contains("### Problems"), "{out}");
}

#[test]
fn a_plugin_that_never_prints_a_port_is_reported_not_hung() {
    let (ok, out, err) = provider_bench(&[
        "--plugin",
        "broken=x:index:X=sh -c exit",
        "--launches",
        "1",
        "--no-load",
    ]);
    assert!(
        !ok,
        "a broken plugin must make provider-bench fail\nstdout:\n{out}"
    );
    assert!(
        out.contains("### Problems") && out.contains("before a port line was printed"),
        "{out}\n{err}"
    );
}
