//! The conformance kit, end to end: it passes on the example provider, and each deliberately
//! broken plugin (one bug each) is caught by the right case with a message naming the bug.
//! Every plugin here is a real process driven over real gRPC.

use crate::support;

use std::path::PathBuf;
use std::process::ExitCode;

use provider_conformance::{Fixture, Kit, PluginCommand, Report, Status};

fn fixture(name: &str) -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    Fixture::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn kit(program: PathBuf, fixture_file: &str, concurrency: usize) -> Kit {
    let mut kit = Kit::new(PluginCommand::new(vec![program.display().to_string()]))
        .with_fixture(fixture(fixture_file));
    kit.concurrency = concurrency;
    kit
}

fn failed(report: &Report) -> Vec<&str> {
    report
        .cases
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.name.as_str())
        .collect()
}

fn status(report: &Report, case: &str) -> Status {
    report
        .case(case)
        .unwrap_or_else(|| panic!("no case {case} in the report"))
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kit_passes_on_the_example_provider() {
    let plugin = support::binary("pulumi-resource-local");
    let report = kit(plugin, "local.yaml", 200)
        .run(&[])
        .await
        .expect("the kit runs");
    eprintln!("{}", report.table());
    assert!(report.passed(), "{}", report.table());
    // The cases that the fixture makes applicable really ran and passed.
    for case in [
        "process.port-line",
        "process.loopback",
        "process.flags",
        "process.attach",
        "process.sigint",
        "protocol.handshake-configure",
        "config.check-configure",
        "functions.invoke",
        "schema.package",
        "schema.check-consistency",
        "check.invalid-inputs",
        "create.outputs",
        "read.after-create",
        "diff.unchanged",
        "diff.update-vs-replace",
        "preview.unknowns",
        "secrets.roundtrip",
        "idempotency",
        "cancel",
        "concurrency",
    ] {
        assert_eq!(
            status(&report, case),
            Status::Pass,
            "{case}:\n{}",
            report.table()
        );
    }
    // Read after Delete is proven on File; the fixture says a Random lives only in state.
    let delete = report.case("delete.then-read").unwrap();
    assert_eq!(delete.status, Status::Pass, "{}", report.table());
    assert!(
        delete
            .notes
            .iter()
            .any(|n| n.contains("lives only in state")),
        "{:?}",
        delete.notes
    );
    // A Service that never becomes ready is a well-formed partial failure, and Cancel stops a
    // Command in flight.
    assert_eq!(
        status(&report, "errors.partial-init"),
        Status::Pass,
        "{}",
        report.table()
    );
    let cancel = report.case("cancel").unwrap();
    assert!(
        cancel.notes.iter().any(|n| n.contains("Create ended")),
        "{:?}",
        cancel.notes
    );
    // With `${N}` in its path, every concurrent Create of a File writes a file of its own.
    let concurrency = report.case("concurrency").unwrap();
    assert!(
        concurrency
            .notes
            .iter()
            .any(|n| n.starts_with("local:index:File: 200 Creates")
                && n.contains("each with its own inputs")),
        "{:?}",
        concurrency.notes
    );
    assert_eq!(report.cases.len(), provider_conformance::CASES.len());
}

/// Concurrent Creates that the provider itself refuses (every one writes the same file) are
/// reported as the provider's errors, with the way out, not as lost calls.
/// An entry that needs another: the needed one is created before the cases and deleted after,
/// its outputs fill the references, and `setup`/`teardown` run around the whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixture_entry_can_need_an_earlier_one() {
    let plugin = support::binary("pulumi-resource-local");
    let report = kit(plugin, "local-needs.yaml", 4)
        .run(&[])
        .await
        .expect("the kit runs: setup, the needed Directory");
    assert!(report.passed(), "{}", report.table());
    assert!(
        report.case("fixture.teardown").is_none(),
        "{}",
        report.table()
    );
    // The File's cases ran inside the needed directory (its expected outputs name the
    // filled-in path, so a reference left as written would fail `create.outputs`).
    for case in [
        "create.outputs",
        "read.after-create",
        "diff.update-vs-replace",
        "delete.then-read",
    ] {
        assert_eq!(status(&report, case), Status::Pass, "{}", report.table());
    }

    // A setup command that fails stops the run, naming it.
    let mut broken = fixture("local-needs.yaml");
    broken.setup = vec!["echo no disk >&2; exit 4".into()];
    let err = Kit::new(PluginCommand::new(vec![
        support::binary("pulumi-resource-local")
            .display()
            .to_string(),
    ]))
    .with_fixture(broken)
    .run(&[])
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no disk"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_tells_the_providers_refusals_from_lost_calls() {
    let plugin = support::binary("pulumi-resource-local");
    let same_path = Fixture::parse(
        "config: {root: \"${TEMPDIR}\"}\nresources:\n  - type: local:index:File\n    inputs: {path: same.txt, content: x}\n",
    )
    .expect("parses");
    let mut kit =
        Kit::new(PluginCommand::new(vec![plugin.display().to_string()])).with_fixture(same_path);
    kit.concurrency = 20;
    let report = kit
        .run(&["concurrency".to_string()])
        .await
        .expect("the kit runs");
    eprintln!("{}", report.table());
    let case = report.case("concurrency").unwrap();
    assert_eq!(case.status, Status::Fail, "{}", report.table());
    assert!(
        !case
            .findings
            .iter()
            .any(|f| f.check.contains("without an answer")),
        "{}",
        report.table()
    );
    let f = case
        .findings
        .iter()
        .find(|f| {
            f.check
                == "20 concurrent Creates(local:index:File) on one connection: errors the provider returned"
        })
        .unwrap_or_else(|| panic!("{}", report.table()));
    assert!(
        f.actual.contains("the provider answered")
            && f.actual.contains("of 20 with an error")
            && f.actual.contains("already exists")
            && f.fix.contains("put `${N}` in an input"),
        "{f:?}"
    );
}

/// Runs the kit on `broken-<name>` and checks that exactly `expected` cases fail, the first of
/// them with a finding containing `needle`.
async fn caught(name: &str, expected: &[&str], needle: &str) -> Report {
    let plugin = support::binary(&format!("broken-{name}"));
    let report = kit(plugin, "local-random.yaml", 20)
        .run(&[])
        .await
        .expect("the kit runs");
    eprintln!("broken-{name}:\n{}", report.table());
    assert_eq!(
        failed(&report),
        expected,
        "broken-{name}:\n{}",
        report.table()
    );
    let case = report.case(expected[0]).unwrap();
    assert!(
        case.findings
            .iter()
            .any(|f| format!("{} {} {}", f.check, f.actual, f.fix).contains(needle)),
        "broken-{name}: no finding of {} mentions {needle:?}:\n{}",
        expected[0],
        report.table()
    );
    for f in report.cases.iter().flat_map(|c| &c.findings) {
        assert!(
            !f.expected.is_empty() && !f.actual.is_empty() && !f.fix.is_empty(),
            "incomplete finding {f:?}"
        );
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_line_before_the_port_is_caught_by_the_port_line_case() {
    let report = caught(
        "log-before-port",
        &["process.port-line"],
        "log line printed before the port",
    )
    .await;
    let f = &report.case("process.port-line").unwrap().findings[0];
    assert!(
        f.actual.contains("starting the Random provider") && f.actual.contains("line 2"),
        "{f:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_id_from_create_is_caught() {
    // Every case that creates a resource notices; create.outputs is the one about it.
    let report = caught(
        "empty-id",
        &[
            "create.outputs",
            "read.after-create",
            "diff.unchanged",
            "diff.update-vs-replace",
            "secrets.roundtrip",
            "idempotency",
            "concurrency",
        ],
        "empty id",
    )
    .await;
    let create = report.case("create.outputs").unwrap();
    assert_eq!(create.findings.len(), 1, "{}", report.table());
    // The hint speaks the wire and this SDK alike.
    assert_sdk_fix(&report, "create.outputs", "`Resource::create`");
}

/// The first finding of `case` carries a `provider-sdk` fix mentioning `needle`, shown in the table.
fn assert_sdk_fix(report: &Report, case: &str, needle: &str) {
    let f = &report.case(case).unwrap().findings[0];
    let sdk = f.sdk_fix.as_deref().unwrap_or_default();
    assert!(sdk.contains(needle), "{case}: {f:?}");
    assert!(
        report
            .table()
            .contains(&format!("with provider-sdk: {sdk}")),
        "{}",
        report.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_drifts_is_caught() {
    let report = caught(
        "drifting-read",
        &["read.after-create", "idempotency"],
        "drifted",
    )
    .await;
    let read = report.case("read.after-create").unwrap();
    assert!(
        read.findings.iter().any(|f| f.check.contains("`result`")),
        "{}",
        report.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diff_that_ignores_a_replace_on_change_field_is_caught() {
    let report = caught(
        "diff-ignores-replace",
        &["diff.update-vs-replace"],
        "ignored the replace-on-change field `length`",
    )
    .await;
    assert_sdk_fix(
        &report,
        "diff.update-vs-replace",
        "list `length` (the property's name as serialized, not the Rust field's) in `Resource::REPLACE_ON_CHANGES`",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_secret_is_caught() {
    let report = caught(
        "dropped-secret",
        &["secrets.roundtrip"],
        "the secret was dropped",
    )
    .await;
    assert_sdk_fix(&report, "secrets.roundtrip", "`Resource::PLAIN_OUTPUTS`");
    // Not a word of the secret in any report format.
    for text in [report.table(), report.json(), report.junit()] {
        assert!(
            !text.contains("hush-") && !text.contains("quiet-"),
            "a secret leaked into the report:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_on_invalid_input_is_caught() {
    let report = caught(
        "crash-on-invalid",
        &["check.invalid-inputs"],
        "crashed on invalid input",
    )
    .await;
    let f = &report.case("check.invalid-inputs").unwrap().findings[0];
    assert!(
        f.actual.contains("exited") && f.actual.contains("cannot handle invalid length"),
        "{f:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_accepted_whatever_it_is_is_caught() {
    let report = caught(
        "config-accepts-anything",
        &["config.check-configure"],
        "no failures: CheckConfig accepted it",
    )
    .await;
    let checks: Vec<&str> = report
        .case("config.check-configure")
        .unwrap()
        .findings
        .iter()
        .map(|f| f.check.as_str())
        .collect();
    assert!(
        checks.len() == 2 && checks[1].starts_with("Configure with the invalid config"),
        "{}",
        report.table()
    );
    assert_sdk_fix(
        &report,
        "config.check-configure",
        "`ProviderConfig::validate`",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_with_a_wrong_result_is_caught() {
    let report = caught(
        "wrong-function-result",
        &["functions.invoke"],
        "Invoke(local:index:hash) of {\"content\": \"hello\"}: output `sha256`",
    )
    .await;
    assert_sdk_fix(&report, "functions.invoke", "`Function::call`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_schema_is_caught() {
    let report = caught(
        "invalid-schema",
        &["schema.package", "schema.check-consistency"],
        "invalid schema at",
    )
    .await;
    let meta = report.case("schema.package").unwrap();
    assert!(
        meta.findings.iter().any(|f| f
            .check
            .contains("/resources/local:index:Random/inputProperties/length")),
        "{}",
        report.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_writes_json_and_junit_and_exits_non_zero_on_failure() {
    let plugin = support::binary("broken-dropped-secret")
        .display()
        .to_string();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/local-random.yaml")
        .display()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let args = |format: &str, out: &PathBuf, cases: &str| {
        vec![
            "--fixture".to_string(),
            fixture.clone(),
            "--case".into(),
            cases.into(),
            "--format".into(),
            format.into(),
            "--output".into(),
            out.display().to_string(),
            "--".into(),
            plugin.clone(),
        ]
    };
    let code =
        provider_conformance::cli::run(args("json", &json, "secrets.roundtrip,create.outputs"))
            .await;
    assert_eq!(code, ExitCode::FAILURE);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0]["name"], "create.outputs");
    assert_eq!(cases[0]["status"], "pass");
    assert_eq!(cases[1]["status"], "fail");
    assert!(
        cases[1]["findings"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("secret")
    );

    let junit = dir.path().join("report.xml");
    let code = provider_conformance::cli::run(args("junit", &junit, "create.outputs")).await;
    assert_eq!(code, ExitCode::SUCCESS);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.lines().any(|l| l.contains("<testcase")
            && l.contains("name=\"create.outputs\"")
            && l.contains("classname=\"conformance\""))
            && xml.contains("failures=\"0\""),
        "{xml}"
    );

    // Usage errors say what is wrong and exit 2.
    assert_eq!(
        provider_conformance::cli::run(vec![
            "--case".into(),
            "no.such-case".into(),
            "--".into(),
            plugin.clone()
        ])
        .await,
        ExitCode::from(2)
    );
    assert_eq!(
        provider_conformance::cli::run(vec![
            "--fixture".into(),
            "/nonexistent.yaml".into(),
            "--".into(),
            plugin
        ])
        .await,
        ExitCode::from(2)
    );
    assert_eq!(
        provider_conformance::cli::run(vec![]).await,
        ExitCode::from(2)
    );
}

/// The kit against a provider built with Pulumi's own Python SDK: it must run every case and
/// report, whatever the provider's results are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kit_reports_on_a_provider_built_with_pulumis_python_sdk() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The launcher runs the tests' virtualenv, made here if this is its first use.
    test_support::programs::python_venv();
    let launcher = root.join("python/pyprovider/pulumi-resource-pyrandom");
    let mut kit = Kit::new(PluginCommand::new(vec![launcher.display().to_string()]))
        .with_fixture(fixture("pyrandom.yaml"));
    kit.concurrency = 200;
    let report = kit
        .run(&[])
        .await
        .expect("the kit runs against the Python provider");
    eprintln!(
        "pulumi-resource-pyrandom (Pulumi's Python SDK):\n{}",
        report.table()
    );
    assert_eq!(report.cases.len(), provider_conformance::CASES.len());
    // The plugin really ran: the cases that only need a working plugin came back with a verdict
    // from real calls, and every failure is a complete finding.
    assert_eq!(
        status(&report, "process.port-line"),
        Status::Pass,
        "{}",
        report.table()
    );
    assert_eq!(
        status(&report, "create.outputs"),
        Status::Pass,
        "{}",
        report.table()
    );
    for c in &report.cases {
        assert_eq!(
            c.status == Status::Fail,
            !c.findings.is_empty(),
            "{}: {:?}",
            c.name,
            c
        );
        for f in &c.findings {
            assert!(
                !f.check.is_empty()
                    && !f.expected.is_empty()
                    && !f.actual.is_empty()
                    && !f.fix.is_empty(),
                "{f:?}"
            );
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&report.json()).expect("the JSON report parses");
    assert_eq!(
        json["cases"].as_array().map(Vec::len),
        Some(provider_conformance::CASES.len())
    );
    assert!(
        report
            .junit()
            .contains(&format!("tests=\"{}\"", provider_conformance::CASES.len()))
    );
}

/// Without resources in the fixture, inputs come from the plugin's schema: the example's
/// Random and File work with made-up inputs; a Command whose made-up script does not exist
/// fails, and the report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_are_derived_from_the_schema_when_the_fixture_lists_no_resources() {
    let plugin = support::binary("pulumi-resource-local");
    let config_only = Fixture::parse("config: {root: \"${TEMPDIR}\"}\n").expect("parses");
    let kit =
        Kit::new(PluginCommand::new(vec![plugin.display().to_string()])).with_fixture(config_only);
    let report = kit
        .run(&[
            "create.outputs".to_string(),
            "read.after-create".to_string(),
        ])
        .await
        .expect("the kit runs");
    eprintln!("{}", report.table());
    for case in &report.cases {
        let derived = case
            .notes
            .iter()
            .find(|n| n.starts_with("inputs derived from the schema"))
            .expect("a note");
        assert!(
            derived.contains("local:index:Random") && derived.contains("local:index:File"),
            "{derived}"
        );
        let findings: Vec<&str> = case.findings.iter().map(|f| f.check.as_str()).collect();
        assert!(
            findings
                .iter()
                .all(|c| !c.contains("local:index:Random") && !c.contains("local:index:File")),
            "{findings:?}"
        );
        assert!(
            findings.iter().any(|c| c.contains("local:index:Command")),
            "{}",
            report.table()
        );
    }
    let created = &report.case("create.outputs").unwrap().notes;
    assert!(
        created
            .iter()
            .any(|n| n.starts_with("local:index:Random: id \"random-")),
        "{created:?}"
    );
}

/// A plugin that cannot start fails every case at once, with the reason, instead of waiting
/// for each launch in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_does_not_start_fails_every_case_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("pulumi-resource-missing");
    let kit = Kit::new(PluginCommand::new(vec![missing.display().to_string()]))
        .with_fixture(fixture("local-random.yaml"));
    let report = kit.run(&[]).await.expect("the kit runs");
    assert_eq!(
        failed(&report).len(),
        provider_conformance::CASES.len(),
        "{}",
        report.table()
    );
    let port_line = &report.case("process.port-line").unwrap().findings[0];
    assert!(
        port_line.actual.contains("cannot start")
            && port_line.actual.contains("pulumi-resource-missing"),
        "{port_line:?}"
    );
    let create = &report.case("create.outputs").unwrap().findings[0];
    assert!(create.actual.contains("did not start"), "{create:?}");
}
