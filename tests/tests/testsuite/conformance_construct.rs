//! The conformance kit's Construct cases, end to end: they pass on a component provider that
//! builds its component as Pulumi's SDKs do, and catch one whose children miss their parent.
//! Each plugin is a real process on raw pulumirpc, driven over real gRPC; the kit serves the
//! resource monitor the component registers with.

use crate::support;

use std::path::PathBuf;

use provider_conformance::{Fixture, Kit, PluginCommand, Report, Status};

const CASES: [&str; 4] = [
    "construct.children",
    "construct.providers",
    "construct.secrets",
    "construct.invalid-inputs",
];

async fn run(bin: &str) -> Report {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/component.yaml");
    let fixture = Fixture::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let plugin = support::binary(bin);
    let only: Vec<String> = std::iter::once("schema.package")
        .chain(CASES)
        .map(String::from)
        .collect();
    let report = Kit::new(PluginCommand::new(vec![plugin.display().to_string()]))
        .with_fixture(fixture)
        .run(&only)
        .await
        .expect("the kit runs");
    eprintln!("{bin}:\n{}", report.table());
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_construct_cases_pass_on_a_component_provider() {
    let report = run("component-provider").await;
    for case in std::iter::once("schema.package").chain(CASES) {
        assert_eq!(
            report.case(case).map(|c| c.status),
            Some(Status::Pass),
            "{case}:\n{}",
            report.table()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_registered_without_their_parent_are_caught() {
    let report = run("broken-orphan-children").await;
    let failed: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.name.as_str())
        .collect();
    // The cases that check the registrations see the orphans; secrets and invalid inputs
    // concern other things, and pass.
    assert_eq!(
        failed,
        ["construct.children", "construct.providers"],
        "{}",
        report.table()
    );
    let case = report.case("construct.children").unwrap();
    for child in [
        "kitcomp:index:Item::conformance-item-0",
        "kitcomp:index:Item::conformance-item-1",
    ] {
        let finding = case
            .findings
            .iter()
            .find(|f| f.check.contains(child))
            .unwrap_or_else(|| panic!("no finding names {child}:\n{}", report.table()));
        assert!(
            finding.check.contains("parent")
                && finding.actual.contains("without the component as parent")
                && finding.expected.contains(
                    "urn:pulumi:conformance::conformance::kitcomp:index:Pair::conformance"
                ),
            "{finding:?}"
        );
        assert!(
            finding
                .sdk_fix
                .as_deref()
                .is_some_and(|h| h.contains("ComponentContext::register")),
            "{finding:?}"
        );
    }
}
