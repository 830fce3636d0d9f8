//! Components built by component providers written on Pulumi's own SDKs — `pycomp` on the
//! Python SDK and `nodecomp` on the Node.js SDK (`tests/programs/comp-providers`) — used from
//! Python and TypeScript programs (`tests/programs/comp-{python,typescript}`), driven by the real
//! `engine-harness` binary. Each scenario is something Pulumi's engine gives a component
//! provider: the whole stack config with its secret keys, an explicit provider the program
//! registered in the same run (rebuilt through `pulumi:pulumi:getResource`), an unknown input in
//! a preview, an object input holding a secret, a method call, per-property failure reasons, a
//! dependency on a component ordering deletes, a StackReference to another stack, and a
//! transform on the component that reaches the children its provider registers.

use crate::support;

use serde_json::{Map, Value as Json};
use std::path::Path;
use support::programs::*;
use support::*;

/// The passphrase the stacks' secrets are encrypted with.
const PASS: &str = "components on pulumi's sdks";
/// The secret config value the components read; never shown or stored in clear.
const TOKEN: &str = "tok-component-never-in-clear";
/// Pulumi's signature key of a secret value.
const SECRET_SIG: &str = "4dabf18193072939515e22adb298388d";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    TypeScript,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Py,
    Node,
}

impl Provider {
    fn package(self) -> &'static str {
        match self {
            Provider::Py => "pycomp",
            Provider::Node => "nodecomp",
        }
    }
}

/// Every (program language, component provider) pair.
const PAIRS: [(Lang, Provider); 4] = [
    (Lang::Python, Provider::Py),
    (Lang::Python, Provider::Node),
    (Lang::TypeScript, Provider::Py),
    (Lang::TypeScript, Provider::Node),
];

/// The component providers, copied once per test with `node_modules` linked beside them.
fn providers_dir() -> tempfile::TempDir {
    let dir = copy_fixture("comp-providers");
    link_node_modules(dir.path());
    dir
}

/// A stack of the program in `lang` using `provider`'s component, with config `scenario`.
struct Stack {
    project: Project,
    record: tempfile::TempDir,
    _providers: tempfile::TempDir,
    label: String,
}

impl Stack {
    fn new(lang: Lang, provider: Provider, scenario: &str) -> Stack {
        let providers = providers_dir();
        let dir = copy_fixture(match lang {
            Lang::Python => "comp-python",
            Lang::TypeScript => "comp-typescript",
        });
        match lang {
            Lang::Python => use_virtualenv(dir.path(), &python_venv()),
            Lang::TypeScript => link_node_modules(dir.path()),
        }
        let file = dir.path().join("Pulumi.yaml");
        let mut yaml = std::fs::read_to_string(&file).unwrap();
        yaml.push_str(&format!(
            "plugins:\n  providers:\n    - name: local\n      path: {}\n    - name: pycomp\n      path: {}\n    - name: nodecomp\n      path: {}\n",
            local_provider().display(),
            providers.path().join("pulumi-resource-pycomp").display(),
            providers.path().join("pulumi-resource-nodecomp").display(),
        ));
        std::fs::write(&file, yaml).unwrap();
        let stack = Stack {
            project: Project { dir },
            record: tempfile::tempdir().unwrap(),
            _providers: providers,
            label: format!("{lang:?} program, {} component", provider.package()),
        };
        stack.ok(&["config", "set", "local:root", "."]);
        stack.ok(&["config", "set", "package", provider.package()]);
        stack.ok(&["config", "set", "scenario", scenario]);
        stack
    }

    /// Runs the harness; operations get `--json` (and `--yes`).
    fn run(&self, args: &[&str]) -> Run {
        self.run_on("dev", args)
    }

    fn run_on(&self, stack: &str, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend(["--stack", stack]);
        let out = self
            .project
            .run_command(&all)
            .env("PULUMI_CONFIG_PASSPHRASE", PASS)
            .env_remove("PULUMI_CONFIG_PASSPHRASE_FILE")
            .env("COMP_PYTHON_VENV", python_venv())
            .env("COMP_RECORD", self.record.path())
            .output()
            .expect("run engine-harness");
        let run = Run::from(out);
        assert!(
            !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
            "{}: {args:?} shows the secret:\n{}",
            self.label,
            run.describe()
        );
        run
    }

    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(run.code, 0, "{}: {args:?}:\n{}", self.label, run.describe());
        run
    }

    /// What the component recorded as `what` (`c.size`, `c.provider`), if it did.
    fn recorded(&self, what: &str) -> Option<String> {
        std::fs::read_to_string(self.record.path().join(what)).ok()
    }

    fn state_text(&self, stack: &str) -> String {
        std::fs::read_to_string(
            self.project
                .path()
                .join(format!(".pulumi-harness/{stack}.json")),
        )
        .unwrap_or_default()
    }

    fn path(&self) -> &Path {
        self.project.path()
    }
}

/// The stack outputs of a run (masked: `[secret]`, `[unknown]`).
fn outputs(run: &Run) -> Map<String, Json> {
    run.events
        .iter()
        .find(|e| e["event"] == "outputs")
        .and_then(|e| e["outputs"].as_object().cloned())
        .unwrap_or_default()
}

/// The stack resource's outputs in the state (secrets as ciphertext objects).
fn state_outputs(state: &Json) -> Map<String, Json> {
    state["deployment"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["type"] == "pulumi:pulumi:Stack")
        .and_then(|r| r["outputs"].as_object().cloned())
        .unwrap_or_default()
}

#[test]
fn a_component_reads_a_secret_config_value_of_the_stack() {
    for (lang, provider) in PAIRS {
        let s = Stack::new(lang, provider, "config");
        s.ok(&["config", "set", "token", TOKEN, "--secret"]);
        let up = s.ok(&["up"]);
        assert_eq!(outputs(&up)["tokenLength"], "[secret]", "{}", s.label);
        let out = state_outputs(&s.project.state());
        assert!(
            out["tokenLength"].get(SECRET_SIG).is_some(),
            "{}: tokenLength is not secret in the state: {out:?}",
            s.label
        );
    }
}

#[test]
fn a_component_rebuilds_a_provider_the_program_registered_in_the_same_run() {
    for (lang, provider) in PAIRS {
        let s = Stack::new(lang, provider, "provider");
        for op in ["preview", "up"] {
            let run = s.ok(&[op]);
            let urn = s.recorded("c.provider").unwrap_or_else(|| {
                panic!(
                    "{}: {op}: the component did not rebuild the provider:\n{}",
                    s.label,
                    run.describe()
                )
            });
            assert!(
                urn.ends_with("::pulumi:providers:local::p"),
                "{}: {op}: rebuilt {urn}",
                s.label
            );
            std::fs::remove_file(s.record.path().join("c.provider")).unwrap();
        }
    }
}

#[test]
fn an_unknown_input_stays_unknown_in_a_preview() {
    for (lang, provider) in PAIRS {
        let s = Stack::new(lang, provider, "unknown");
        s.ok(&["preview"]);
        assert_eq!(
            s.recorded("c.size"),
            None,
            "{}: the component saw a value for an input that is unknown in the preview",
            s.label
        );
        s.ok(&["up"]);
        let size = s
            .recorded("c.size")
            .expect("the component saw the size in up");
        assert_eq!(size.len(), 6, "{}: size {size}", s.label);
    }
}

#[test]
fn an_object_input_holding_a_secret_arrives_as_an_object_with_the_secret_kept() {
    for (lang, provider) in PAIRS {
        let s = Stack::new(lang, provider, "settings");
        let up = s.ok(&["up"]);
        let out = outputs(&up);
        assert_eq!(out["user"], "u1", "{}: {}", s.label, up.describe());
        assert_eq!(out["password"], "[secret]", "{}", s.label);
        assert!(
            !s.state_text("dev").contains("pw-in-settings"),
            "{}: the secret is in the state in clear",
            s.label
        );
    }
}

#[test]
fn a_method_call_returns_its_value_and_keeps_its_secret() {
    for (lang, provider) in PAIRS {
        let s = Stack::new(lang, provider, "method");
        let up = s.ok(&["up"]);
        let out = outputs(&up);
        let text = out["text"].as_str().unwrap_or_default();
        assert!(
            text.starts_with("hi urn:pulumi:dev::comp::") && text.ends_with("::c"),
            "{}: text {text:?}:\n{}",
            s.label,
            up.describe()
        );
        // Pulumi's Python SDK (3.272) serves `Call` without asking the monitor which features
        // it supports, so its secrets go back plain; Pulumi's engine gets the same answer.
        if provider == Provider::Node {
            assert_eq!(out["secret"], "[secret]", "{}", s.label);
        }
        if provider == Provider::Py {
            continue;
        }
        let state = s.state_text("dev");
        assert!(
            !state.contains(&format!(
                "hi from {}",
                if provider == Provider::Py {
                    "py"
                } else {
                    "node"
                }
            )),
            "{}: the method's secret is in the state in clear",
            s.label
        );
    }
}

#[test]
fn a_failing_component_shows_each_property_and_its_reason() {
    for (lang, provider) in PAIRS {
        let s = Stack::new(lang, provider, "fail");
        let human = {
            let out = s
                .project
                .command(&["up", "--yes", "--stack", "dev"])
                .env("PULUMI_CONFIG_PASSPHRASE", PASS)
                .env("COMP_PYTHON_VENV", python_venv())
                .output()
                .unwrap();
            Run::from(out)
        };
        assert_ne!(human.code, 0, "{}", s.label);
        let all = format!("{}{}", human.stdout, human.stderr);
        for needle in [
            "property fail has a problem: must be false for a component to build",
            "property size has a problem: must be below 10",
        ] {
            assert!(
                all.contains(needle),
                "{}: no `{needle}` in:\n{all}",
                s.label
            );
        }
        let json = s.run(&["up"]);
        assert_ne!(json.code, 0);
        let step = json
            .events
            .iter()
            .find(|e| e["event"] == "step" && e["name"] == "c" && e["status"] == "failed")
            .cloned()
            .unwrap_or(Json::Null);
        let message = step["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("property fail has a problem")
                && message.contains("property size has a problem"),
            "{}: the JSON step has no reasons: {step}\n{}",
            s.label,
            json.describe()
        );
    }
}

/// The index of the step event of `op` on `name`.
fn step_index(run: &Run, op: &str, name: &str) -> usize {
    run.events
        .iter()
        .position(|e| e["event"] == "step" && e["op"] == op && e["name"] == name)
        .unwrap_or_else(|| panic!("no {op} of {name}:\n{}", run.describe()))
}

#[test]
fn a_dependency_on_a_provider_built_component_deletes_before_its_children() {
    for (lang, provider) in PAIRS {
        let s = Stack::new(lang, provider, "subtree");
        s.ok(&["up"]);
        assert!(s.path().join("child.txt").is_file(), "{}", s.label);
        assert!(s.path().join("after.txt").is_file(), "{}", s.label);
        let destroy = s.ok(&["destroy"]);
        assert!(
            step_index(&destroy, "delete", "after") < step_index(&destroy, "delete", "c-file"),
            "{}: the child of the component was deleted before what depends on the component:\n{}",
            s.label,
            destroy.describe()
        );
    }
}

#[test]
fn a_stack_reference_reads_a_secret_output_of_another_stack() {
    for lang in [Lang::Python, Lang::TypeScript] {
        let s = Stack::new(lang, Provider::Py, "config");
        // The other stack: the component's secret output becomes a stack output.
        for args in [
            ["config", "set", "local:root", "."].as_slice(),
            &["config", "set", "package", "pycomp"],
            &["config", "set", "scenario", "config"],
            &["config", "set", "token", TOKEN, "--secret"],
        ] {
            let run = s.run_on("other", args);
            assert_eq!(run.code, 0, "{}", run.describe());
        }
        let up = s.run_on("other", &["up"]);
        assert_eq!(up.code, 0, "{}", up.describe());
        for (stack, name) in [("dev", "organization/comp/other"), ("dev", "other")] {
            s.ok(&["config", "set", "scenario", "reference"]);
            s.ok(&["config", "set", "reference", name]);
            let run = s.run_on(stack, &["up"]);
            assert_eq!(run.code, 0, "{}: {name}:\n{}", s.label, run.describe());
            let out = outputs(&run);
            assert_eq!(
                out["otherLength"], "[secret]",
                "{}: {name}: {out:?}",
                s.label
            );
            assert_eq!(
                out["otherLengthValue"],
                Json::from(TOKEN.len()),
                "{}: {name}: {out:?}",
                s.label
            );
        }
    }
}

#[test]
fn a_transform_on_a_remote_component_reaches_the_children_its_provider_registers() {
    for provider in [Provider::Py, Provider::Node] {
        let s = Stack::new(Lang::Python, provider, "transform");
        s.ok(&["up"]);
        assert_eq!(
            std::fs::read_to_string(s.path().join("child.txt")).unwrap(),
            "set by the program's transform",
            "{}: the component's transform did not reach its provider's child",
            s.label
        );
    }
}
