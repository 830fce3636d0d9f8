//! `engine-harness import TYPE NAME ID [--provider URN]`: adopts an existing resource into the
//! state (as `pulumi import`) and prints the Pulumi YAML to add to the program so that the
//! next `up` finds nothing to change.

use engine_harness::Error;
use engine_harness::deploy::{ImportSpec, Operation, Options, import_urn, run};
use engine_harness::display::Display;
use engine_harness::state::StateFiles;
use engine_harness::{program, stack_config, value};
use serde_json::Value as Json;
use std::path::PathBuf;

/// What to import and where.
pub struct ImportArgs {
    /// The project directory.
    pub cwd: PathBuf,
    /// The stack.
    pub stack: String,
    /// The state directory, when not the default.
    pub state_dir: Option<PathBuf>,
    /// The resource.
    pub spec: ImportSpec,
    /// Emit JSON events instead of human output (the code then goes to stderr).
    pub json: bool,
}

/// Runs the import, then prints the program code for the adopted resource.
pub async fn import(a: ImportArgs) -> Result<(), Error> {
    let display = Display::stdout(a.json);
    let mut opts = Options::new(&a.cwd, &a.stack, Operation::Import)
        .display(display.clone())
        .imports(vec![a.spec.clone()]);
    if let Some(d) = &a.state_dir {
        opts = opts.state_dir(d);
    }
    let result = run(opts).await;
    display.settle();
    result?;
    let project = program::load(&a.cwd, &a.stack)?;
    let dir = a
        .state_dir
        .clone()
        .unwrap_or_else(|| engine_harness::deploy::default_state_dir(&project.dir));
    let salt = stack_config::encryption_salt(&project.dir, &project.stack)?;
    let files = StateFiles::new(&dir, &project.stack)
        .with_secrets(engine_harness::secrets::SecretsManager::from_env(salt));
    let (snap, _) = files.load()?;
    let urn = import_urn(&project, &a.spec);
    let Some(r) = snap.get(&urn) else {
        return Err(Error::Usage(format!(
            "the import finished but {urn} is not in the state"
        )));
    };
    let code = yaml_code(&a.spec, &r.inputs);
    let text = format!(
        "Please copy the following code into your Pulumi.yaml (under `resources:`) so that `up` manages the resource:\n\n{code}"
    );
    if a.json {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    Ok(())
}

/// The Pulumi YAML declaration of an imported resource. Secret inputs are written as
/// `fn::secret` of a placeholder: their values never leave the state.
pub fn yaml_code(spec: &ImportSpec, inputs: &value::PropertyMap) -> String {
    let mut out = format!("  {}:\n    type: {}\n", spec.name, spec.type_token);
    if !inputs.is_empty() {
        out.push_str("    properties:\n");
        for (k, v) in inputs {
            push_value(&mut out, k, v, 6);
        }
    }
    let mut options = Vec::new();
    if spec.protect {
        options.push("      protect: true\n".to_string());
    }
    if let Some(p) = &spec.provider {
        let name = p.rsplit("::").next().unwrap_or(p);
        options.push(format!("      provider: ${{{name}}}\n"));
    }
    if !options.is_empty() {
        out.push_str("    options:\n");
        out.extend(options);
    }
    out
}

fn scalar(v: &Json) -> String {
    match v {
        // JSON strings are valid YAML scalars and keep any special characters safe.
        Json::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    }
}

fn push_value(out: &mut String, key: &str, v: &Json, indent: usize) {
    let pad = " ".repeat(indent);
    if value::is_secret(v) {
        out.push_str(&format!(
            "{pad}{key}:\n{pad}  fn::secret: \"[secret: set the value here]\"\n"
        ));
        return;
    }
    match v {
        Json::Object(m) if !m.is_empty() => {
            out.push_str(&format!("{pad}{key}:\n"));
            for (k, x) in m {
                push_value(out, k, x, indent + 2);
            }
        }
        Json::Array(a) if !a.is_empty() => {
            out.push_str(&format!("{pad}{key}:\n"));
            for x in a {
                match x {
                    Json::Object(_) | Json::Array(_) => {
                        out.push_str(&format!("{pad}  - {}\n", x));
                    }
                    _ => out.push_str(&format!("{pad}  - {}\n", scalar(x))),
                }
            }
        }
        Json::Object(_) => out.push_str(&format!("{pad}{key}: {{}}\n")),
        Json::Array(_) => out.push_str(&format!("{pad}{key}: []\n")),
        other => out.push_str(&format!("{pad}{key}: {}\n", scalar(other))),
    }
}
