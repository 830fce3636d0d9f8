//! Results: per case, a status, its duration and every failed assertion; rendered as a table
//! for people, JSON for programs and JUnit XML for CI systems.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// One failed assertion.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    /// What was checked, such as `Create(local:index:Random) id`.
    pub check: String,
    /// What the engine expects.
    pub expected: String,
    /// What came back.
    pub actual: String,
    /// What to change in the plugin, in the protocol's terms (any SDK, any language).
    pub fix: String,
    /// The same fix in the terms of this project's Rust SDK (`provider-sdk`), when it has one.
    /// Shown beside [`fix`](Finding::fix) for every plugin: the protocol gives no reliable way
    /// to tell which SDK a plugin was built with (`GetPluginInfo` carries only a version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_fix: Option<String>,
}

impl Finding {
    /// Adds the fix in `provider-sdk` terms.
    pub fn with_sdk_fix(mut self, sdk_fix: impl Into<String>) -> Self {
        self.sdk_fix = Some(sdk_fix.into());
        self
    }
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every assertion held.
    Pass,
    /// At least one assertion failed.
    Fail,
    /// The case does not apply to this plugin or fixture.
    NotApplicable,
}

impl Status {
    /// `pass`, `FAIL` or `n/a`, for the table.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::NotApplicable => "n/a",
        }
    }
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The case's stable name.
    pub name: String,
    /// What it proves.
    pub description: String,
    /// How it ended.
    pub status: Status,
    /// How long it took, in seconds.
    #[serde(rename = "duration_seconds", serialize_with = "seconds")]
    pub duration: Duration,
    /// Every failed assertion.
    pub findings: Vec<Finding>,
    /// Remarks that are not failures (why a case does not apply, what was tolerated).
    pub notes: Vec<String>,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// The results of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The plugin command that was tested.
    pub plugin: String,
    /// One entry per case, in run order.
    pub cases: Vec<CaseReport>,
}

impl Report {
    /// The number of cases with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.cases.iter().filter(|c| c.status == status).count()
    }

    /// Whether no case failed.
    pub fn passed(&self) -> bool {
        self.count(Status::Fail) == 0
    }

    /// The case named `name`.
    pub fn case(&self, name: &str) -> Option<&CaseReport> {
        self.cases.iter().find(|c| c.name == name)
    }

    /// A table for people: one row per case, then each failure with expected, actual and fix.
    pub fn table(&self) -> String {
        let width = self
            .cases
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = String::new();
        let _ = writeln!(out, "conformance of: {}", self.plugin);
        let _ = writeln!(
            out,
            "{:<width$}  {:<6}  {:>8}  summary",
            "case", "result", "time"
        );
        for c in &self.cases {
            let summary = match c.status {
                Status::Fail => format!("{} failed assertion(s)", c.findings.len()),
                _ => c.notes.first().cloned().unwrap_or_default(),
            };
            let summary = summary.lines().next().unwrap_or("").to_string();
            let _ = writeln!(
                out,
                "{:<width$}  {:<6}  {:>7.2}s  {}",
                c.name,
                c.status.label(),
                c.duration.as_secs_f64(),
                summary
            );
        }
        for c in self.cases.iter().filter(|c| c.status == Status::Fail) {
            let _ = writeln!(out, "\n{} FAILED: {}", c.name, c.description);
            for (i, f) in c.findings.iter().enumerate() {
                let _ = writeln!(out, "  {}. {}", i + 1, f.check);
                let _ = writeln!(out, "     expected: {}", indent(&f.expected));
                let _ = writeln!(out, "     actual:   {}", indent(&f.actual));
                let _ = writeln!(out, "     fix:      {}", indent(&f.fix));
                if let Some(sdk) = &f.sdk_fix {
                    let _ = writeln!(out, "     with provider-sdk: {}", indent(sdk));
                }
            }
            for n in &c.notes {
                let _ = writeln!(out, "  note: {}", indent(n));
            }
        }
        let _ = writeln!(
            out,
            "\n{} passed, {} failed, {} not applicable",
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::NotApplicable)
        );
        out
    }

    /// The report as JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as JUnit XML: one `testcase` per case, a `failure` per failed case listing
    /// every finding, `skipped` for cases that do not apply.
    pub fn junit(&self) -> String {
        use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
        let total: Duration = self.cases.iter().map(|c| c.duration).sum();
        let mut suite = TestSuite::new(self.plugin.as_str());
        suite.set_time(total);
        for c in &self.cases {
            let status = match c.status {
                Status::Pass => TestCaseStatus::success(),
                Status::NotApplicable => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(c.notes.join("; "));
                    s
                }
                Status::Fail => {
                    let mut body = String::new();
                    for f in &c.findings {
                        let _ = writeln!(
                            body,
                            "{}\n  expected: {}\n  actual: {}\n  fix: {}",
                            f.check, f.expected, f.actual, f.fix
                        );
                        if let Some(sdk) = &f.sdk_fix {
                            let _ = writeln!(body, "  with provider-sdk: {sdk}");
                        }
                    }
                    let first = c
                        .findings
                        .first()
                        .map(|f| f.check.as_str())
                        .unwrap_or("failed");
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(first)
                        .set_type("conformance")
                        .set_description(body);
                    s
                }
            };
            let mut case = TestCase::new(c.name.as_str(), status);
            case.set_classname("conformance").set_time(c.duration);
            if c.status == Status::Pass && !c.notes.is_empty() {
                case.set_system_out(c.notes.join("\n"));
            }
            suite.add_test_case(case);
        }
        let mut report = quick_junit::Report::new("provider-conformance");
        report.set_time(total).add_test_suite(suite);
        // Serializing into memory cannot fail on I/O; an error here would be a bug in the writer.
        report
            .to_string()
            .unwrap_or_else(|e| format!("<!-- cannot write the JUnit report: {e} -->\n"))
    }
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n               ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            plugin: "p <x>".into(),
            cases: vec![
                CaseReport {
                    name: "a".into(),
                    description: "d".into(),
                    status: Status::Fail,
                    duration: Duration::from_millis(1500),
                    findings: vec![Finding {
                        check: "c&1".into(),
                        expected: "e".into(),
                        actual: "a".into(),
                        fix: "f".into(),
                        sdk_fix: Some("return `Ok(None)`".into()),
                    }],
                    notes: vec![],
                },
                CaseReport {
                    name: "b".into(),
                    description: "d".into(),
                    status: Status::NotApplicable,
                    duration: Duration::ZERO,
                    findings: vec![],
                    notes: vec!["no schema".into()],
                },
            ],
        }
    }

    #[test]
    fn renders_all_three_formats() {
        let r = sample();
        let table = r.table();
        assert!(
            table.contains("FAIL")
                && table.contains("expected: e")
                && table.contains("0 passed, 1 failed, 1 not applicable")
                && table.contains("with provider-sdk: return `Ok(None)`")
        );
        let json: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(json["cases"][0]["status"], "fail");
        assert_eq!(json["cases"][0]["duration_seconds"], 1.5);
        assert_eq!(
            json["cases"][0]["findings"][0]["sdk_fix"],
            "return `Ok(None)`"
        );
        let junit = r.junit();
        assert!(
            junit.contains("failures=\"1\"")
                && junit.contains("c&amp;1")
                && junit.contains("<skipped message=\"no schema\"/>")
        );
        assert!(junit.contains("name=\"p &lt;x&gt;\""));
    }
}
