//! Pulumi YAML programs: `Pulumi.yaml` and `Pulumi.<stack>.yaml`.
//!
//! [`load`] parses and validates a project; every mistake is an [`Error::Program`] naming the
//! file, the line and what to do. [`Evaluator`] resolves `${…}` interpolations against the
//! outputs of resources that already exist.

use crate::language::ProjectInfo;
pub use crate::language::Runtime;
use crate::value::PropertyMap;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

mod eval;
mod graph;
mod invoke;
mod load;
#[cfg(test)]
mod options_tests;
mod resource;
mod source;
mod stack_name;
mod template;

pub use eval::{Evaluator, FUNCTIONS, ResolvedResource};
pub use load::load;
pub use stack_name::{STACK_NAME_RULE, validate_stack_name};
pub use template::{PathPart, Reference, parse_duration, references};

/// A provider plugin named in `plugins.providers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDecl {
    /// The package name (`local` for `pulumi-resource-local`).
    pub name: String,
    /// A directory holding the binary, a binary file, or a Cargo package directory to build.
    pub path: PathBuf,
}

pub use crate::monitor::CustomTimeouts;

/// A resource's `options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceOptions {
    /// Explicit dependencies (resource names).
    pub depends_on: Vec<String>,
    /// Refuse to delete the resource.
    pub protect: bool,
    /// Replace by deleting first.
    pub delete_before_replace: bool,
    /// Input properties whose changes are ignored.
    pub ignore_changes: Vec<String>,
    /// Input properties whose changes force a replacement.
    pub replace_on_changes: Vec<String>,
    /// Drop from state without calling Delete.
    pub retain_on_delete: bool,
    /// Custom timeouts.
    pub custom_timeouts: CustomTimeouts,
    /// `provider: ${p}`: the provider resource (`pulumi:providers:<package>`) of this program
    /// that manages the resource, instead of the package's default provider.
    pub provider: Option<String>,
    /// `parent: ${r}`: the resource this one is a child of (its URN's type chain follows).
    pub parent: Option<String>,
    /// Earlier names of the resource (`aliases`), so a rename is not a replacement.
    pub aliases: Vec<AliasDecl>,
    /// `import: <id>`: adopt the existing resource with this id instead of creating one.
    pub import: Option<String>,
    /// Output properties to keep secret in the state (`additionalSecretOutputs`).
    pub additional_secret_outputs: Vec<String>,
    /// `version: 1.2.0`: the provider plugin version that manages the resource (its own
    /// default provider, one per package and version).
    pub version: Option<String>,
}

/// One entry of `options.aliases`.
#[derive(Debug, Clone, PartialEq)]
pub enum AliasDecl {
    /// A full earlier URN.
    Urn(String),
    /// The parts that changed; those left out are the resource's own.
    Spec {
        /// The earlier name.
        name: Option<String>,
        /// The earlier type token.
        type_token: Option<String>,
        /// The earlier parent.
        parent: AliasParent,
        /// The earlier stack.
        stack: Option<String>,
        /// The earlier project.
        project: Option<String>,
    },
}

/// The parent an alias had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasParent {
    /// The resource's current parent.
    Same,
    /// `parent: ${r}`: a resource of this program.
    Resource(String),
    /// `parentUrn: <urn>`.
    Urn(String),
    /// `noParent: true`: it had no parent (the stack).
    Root,
}

/// `get:` of a resource that exists outside the program: read by id, never created.
#[derive(Debug, Clone, PartialEq)]
pub struct GetDecl {
    /// The id to read, a template.
    pub id: Json,
    /// Properties that help the provider find the resource (`state`), templates.
    pub state: PropertyMap,
}

/// A `fn::invoke` in the program: a provider function, called once per run.
///
/// Loading replaces each `fn::invoke` mapping by a reference to its entry in
/// [`Project::invokes`]; the engine calls the functions along the dependency graph and the
/// [`Evaluator`] puts their results where they were written.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeDecl {
    /// The function token, `pkg:module:function`.
    pub function: String,
    /// The arguments, a template (inner invokes already replaced).
    pub arguments: PropertyMap,
    /// `options.provider`: the provider resource to call it on.
    pub provider: Option<String>,
    /// `return`: the result field to use instead of the whole result.
    pub return_field: Option<String>,
    /// Resources the arguments and provider use (directly or through variables).
    pub dependencies: BTreeSet<String>,
    /// Invokes whose results the arguments use.
    pub invokes: BTreeSet<usize>,
    /// The 1-based line of the `fn::invoke` key.
    pub line: usize,
}

impl InvokeDecl {
    /// The package whose provider serves the function.
    pub fn package(&self) -> &str {
        self.function.split(':').next().unwrap_or(&self.function)
    }
}

/// A resource declared in the program.
#[derive(Debug, Clone)]
pub struct ResourceDecl {
    /// The logical name (the key under `resources`).
    pub name: String,
    /// The type token, `pkg:module:Type`.
    pub type_token: String,
    /// The package (first part of the type token).
    pub package: String,
    /// The properties, with `${…}` interpolations still in their strings.
    pub properties: PropertyMap,
    /// The options.
    pub options: ResourceOptions,
    /// `get:`: read an existing resource instead of managing one.
    pub get: Option<GetDecl>,
    /// Names of the resources this one depends on (interpolations, invoke arguments,
    /// `dependsOn`, `provider` and `parent`).
    pub dependencies: BTreeSet<String>,
    /// The invokes ([`Project::invokes`]) whose results its properties use.
    pub invokes: BTreeSet<usize>,
    /// The 1-based line of its declaration.
    pub line: usize,
}

impl ResourceDecl {
    /// Is this a provider resource (`pulumi:providers:<package>`)?
    pub fn is_provider(&self) -> bool {
        self.type_token.starts_with(PROVIDER_TYPE_PREFIX)
    }
}

use crate::monitor::urn::PROVIDER_TYPE_PREFIX;

/// A loaded, validated project and stack.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project name.
    pub name: String,
    /// The run settings of `Pulumi.yaml` (runtime options, `main`, language plugins), read from
    /// the same parse: what a Python or Node.js program is started with.
    pub info: ProjectInfo,
    /// The language the program is written in; only a YAML program has `resources`,
    /// `variables` and `outputs` here.
    pub runtime: Runtime,
    /// The stack name.
    pub stack: String,
    /// The project directory.
    pub dir: PathBuf,
    /// Path of `Pulumi.yaml`.
    pub file: PathBuf,
    /// Project config values, by key without the namespace (secrets wrapped).
    pub config: BTreeMap<String, Json>,
    /// Provider config from the stack file: package -> key -> value (secrets wrapped).
    pub provider_config: BTreeMap<String, PropertyMap>,
    /// Variables, unevaluated.
    pub variables: BTreeMap<String, Json>,
    /// Resources, in declaration order.
    pub resources: Vec<ResourceDecl>,
    /// Stack outputs, unevaluated, in declaration order.
    pub outputs: Vec<(String, Json)>,
    /// Plugins named in `plugins.providers`.
    pub plugins: Vec<PluginDecl>,
    /// The `fn::invoke`s of resources, variables and outputs.
    pub invokes: Vec<InvokeDecl>,
    index: HashMap<String, usize>,
}

impl Project {
    /// The packages whose default provider the program uses, sorted: those of resources and
    /// invokes without an explicit provider.
    pub fn packages(&self) -> BTreeSet<String> {
        let resources = self
            .resources
            .iter()
            .filter(|r| {
                !r.is_provider() && r.options.provider.is_none() && r.options.version.is_none()
            })
            .map(|r| r.package.clone());
        let invokes = self
            .invokes
            .iter()
            .filter(|i| i.provider.is_none())
            .map(|i| i.package().to_string());
        resources.chain(invokes).collect()
    }

    /// Finds a resource by name.
    pub fn resource(&self, name: &str) -> Option<&ResourceDecl> {
        match self.index.get(name) {
            Some(i) => self.resources.get(*i),
            None => self.resources.iter().find(|r| r.name == name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, value};
    use std::time::Duration;

    fn project(yaml: &str) -> Result<Project, Error> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Pulumi.yaml"), yaml).unwrap();
        load(dir.path(), "dev")
    }

    fn err_line(e: Error) -> (usize, String) {
        match e {
            Error::Program { line, message, .. } => (line, message),
            other => panic!("expected a program error, got {other}"),
        }
    }

    #[test]
    fn an_unclosed_quote_is_reported_where_it_opens() {
        let e = project(
            "name: demo\nruntime: yaml\nresources:\n  a:\n    type: local:index:Random\n    properties:\n      prefix: \"never closed\n      length: 4\n  b:\n    type: local:index:Random\n",
        )
        .unwrap_err();
        let (line, msg) = err_line(e);
        assert_eq!(line, 7, "{msg}");
        assert!(msg.contains("column 15") && msg.contains("quoted"), "{msg}");
    }

    #[test]
    fn a_key_is_found_by_its_path_not_by_its_text() {
        // The text `type:` first appears inside a string of `b`'s properties (line 6); the
        // error is about the `type` key itself (line 7).
        let e = project(
            "name: demo\nruntime: yaml\nresources:\n  b:\n    properties:\n      note: \"type: not this line\"\n    type: 3\n",
        )
        .unwrap_err();
        let (line, msg) = err_line(e);
        assert_eq!(line, 7, "{msg}");
    }

    #[test]
    fn parses_resources_options_and_dependencies() {
        let p = project(
            "name: demo\nruntime: yaml\nresources:\n  a:\n    type: local:index:Random\n    properties:\n      length: 4\n  b:\n    type: local:index:Random\n    properties:\n      length: 8\n      prefix: ${a.result}-\n    options:\n      protect: true\n      customTimeouts:\n        create: 2m\n",
        )
        .unwrap();
        assert_eq!(p.resources.len(), 2);
        let b = p.resource("b").unwrap();
        assert!(b.options.protect);
        assert_eq!(
            b.options.custom_timeouts.create,
            Some(Duration::from_secs(120))
        );
        assert_eq!(b.dependencies.iter().collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(b.line, 8);
    }

    #[test]
    fn unknown_reference_names_the_line() {
        let e = project("name: demo\nruntime: yaml\nresources:\n  a:\n    type: local:index:Random\n    properties:\n      prefix: ${nope.result}\n").unwrap_err();
        let (line, msg) = err_line(e);
        assert_eq!(line, 7);
        assert!(msg.contains("`nope`"), "{msg}");
    }

    #[test]
    fn cycles_bad_tokens_and_yaml_syntax_are_reported() {
        let (_, msg) = err_line(
            project("name: d\nruntime: yaml\nresources:\n  a:\n    type: local:index:Random\n    properties: {prefix: '${b.id}'}\n  b:\n    type: local:index:Random\n    properties: {prefix: '${a.id}'}\n")
                .unwrap_err(),
        );
        assert!(msg.contains("cycle"), "{msg}");
        let (line, msg) = err_line(
            project("name: d\nruntime: yaml\nresources:\n  a:\n    type: Random\n").unwrap_err(),
        );
        assert_eq!(line, 5);
        assert!(msg.contains("type token"), "{msg}");
        let (line, msg) = err_line(
            project("name: d\nruntime: yaml\nresources:\n  a:\n    type: [\n").unwrap_err(),
        );
        assert!(line >= 5, "{line}");
        assert!(msg.contains("invalid YAML"), "{msg}");
    }

    #[test]
    fn interpolation_keeps_types_and_secrets() {
        let p = project("name: d\nruntime: yaml\nconfig:\n  pw:\n    type: string\n    default: hunter2\n    secret: true\nresources: {}\n").unwrap();
        let mut res = HashMap::new();
        res.insert(
            "a".to_string(),
            ResolvedResource {
                urn: "u".into(),
                id: Json::String("id1".into()),
                outputs: serde_json::json!({"n": 3}).as_object().unwrap().clone(),
            },
        );
        let mut p2 = p.clone();
        p2.resources.push(ResourceDecl {
            name: "a".into(),
            type_token: "local:index:Random".into(),
            package: "local".into(),
            properties: Default::default(),
            options: Default::default(),
            get: None,
            dependencies: Default::default(),
            invokes: Default::default(),
            line: 1,
        });
        let invokes = HashMap::new();
        let ev = Evaluator {
            project: &p2,
            resources: &res,
            invokes: &invokes,
        };
        assert_eq!(
            ev.eval(&Json::String("${a.n}".into())).unwrap(),
            serde_json::json!(3)
        );
        assert_eq!(
            ev.eval(&Json::String("x-${a.id}".into())).unwrap(),
            serde_json::json!("x-id1")
        );
        assert!(value::is_secret(
            &ev.eval(&Json::String("p=${pw}".into())).unwrap()
        ));
    }

    #[test]
    fn functions_are_evaluated_and_unknown_ones_rejected() {
        let p = project(
            "name: d\nruntime: yaml\nvariables:\n  pw:\n    fn::secret: hunter2\n  page:\n    fn::stringAsset: hi\nresources: {}\n",
        )
        .unwrap();
        let res = HashMap::new();
        let invokes = HashMap::new();
        let ev = Evaluator {
            project: &p,
            resources: &res,
            invokes: &invokes,
        };
        assert!(value::is_secret(
            &ev.eval(&Json::String("${pw}".into())).unwrap()
        ));
        let a = ev.eval(&Json::String("${page}".into())).unwrap();
        assert_eq!(a["text"], "hi");
        assert_eq!(
            a["hash"],
            "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
        );
        let (line, msg) = err_line(
            project("name: d\nruntime: yaml\nresources:\n  a:\n    type: x:index:Y\n    properties:\n      v:\n        fn::readFile: x\n").unwrap_err(),
        );
        assert_eq!(line, 8);
        assert!(msg.contains("fn::readFile"), "{msg}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("soon"), None);
    }
}
