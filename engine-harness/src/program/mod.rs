//! Pulumi YAML programs: `Pulumi.yaml` and `Pulumi.<stack>.yaml`.
//!
//! [`load`] parses and validates a project; every mistake is an [`Error::Program`] naming the
//! file, the line and what to do. [`Evaluator`] resolves `${…}` interpolations against the
//! outputs of resources that already exist.

use crate::Error;
use crate::value::{self, PropertyMap};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A provider plugin named in `plugins.providers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDecl {
    /// The package name (`local` for `pulumi-resource-local`).
    pub name: String,
    /// A directory holding the binary, a binary file, or a Cargo package directory to build.
    pub path: PathBuf,
}

/// Custom timeouts for a resource's create, update and delete.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomTimeouts {
    /// Create timeout.
    pub create: Option<Duration>,
    /// Update timeout.
    pub update: Option<Duration>,
    /// Delete timeout.
    pub delete: Option<Duration>,
}

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
    /// Names of the resources this one depends on (interpolations and `dependsOn`).
    pub dependencies: BTreeSet<String>,
    /// The 1-based line of its declaration.
    pub line: usize,
}

/// A loaded, validated project and stack.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project name.
    pub name: String,
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
    index: HashMap<String, usize>,
}

impl Project {
    /// The packages the program uses, sorted.
    pub fn packages(&self) -> BTreeSet<String> {
        self.resources.iter().map(|r| r.package.clone()).collect()
    }

    /// Finds a resource by name.
    pub fn resource(&self, name: &str) -> Option<&ResourceDecl> {
        match self.index.get(name) {
            Some(i) => self.resources.get(*i),
            None => self.resources.iter().find(|r| r.name == name),
        }
    }
}

/// Line lookup in a source file, for error messages.
struct Source {
    file: PathBuf,
    lines: Vec<String>,
    children: std::cell::RefCell<HashMap<String, HashMap<String, usize>>>,
}

impl Source {
    fn new(file: &Path, text: &str) -> Self {
        Source {
            file: file.to_path_buf(),
            lines: text.lines().map(str::to_string).collect(),
            children: Default::default(),
        }
    }

    fn err(&self, line: usize, message: impl Into<String>) -> Error {
        Error::Program {
            file: self.file.clone(),
            line,
            message: message.into(),
        }
    }

    /// The first line at or after `from` (1-based) containing `needle`; `from` when none.
    fn find(&self, from: usize, needle: &str) -> usize {
        let start = from.saturating_sub(1);
        self.lines
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, l)| l.contains(needle))
            .map(|(i, _)| i + 1)
            .unwrap_or(from.max(1))
    }

    /// The line of the top-level key `key:`.
    fn top_key(&self, key: &str) -> usize {
        let pat = format!("{key}:");
        self.lines
            .iter()
            .position(|l| l.starts_with(&pat))
            .map(|i| i + 1)
            .unwrap_or(1)
    }

    /// The line of `key:` indented under the top-level `section:` (indexed once per section).
    fn child_key(&self, section: &str, key: &str) -> usize {
        let start = self.top_key(section);
        let mut cache = self.children.borrow_mut();
        let index = cache.entry(section.to_string()).or_insert_with(|| {
            let mut index = HashMap::new();
            let mut indent = None;
            for (i, l) in self.lines.iter().enumerate().skip(start) {
                let t = l.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                let depth = l.len() - t.len();
                if depth == 0 {
                    break;
                }
                if *indent.get_or_insert(depth) != depth {
                    continue;
                }
                let t = t.trim_start_matches("- ");
                if let Some((k, _)) = t.split_once(':') {
                    let k = k.trim().trim_matches('"').trim_matches('\'');
                    index.entry(k.to_string()).or_insert(i + 1);
                }
            }
            index
        });
        index.get(key).copied().unwrap_or(start)
    }
}

fn parse_yaml(file: &Path, text: &str) -> Result<Yaml, Error> {
    serde_yaml::from_str::<Yaml>(text).map_err(|e| Error::Program {
        file: file.to_path_buf(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        message: format!(
            "invalid YAML: {e}; fix the syntax (indentation uses spaces; `key: value` pairs)"
        ),
    })
}

/// Converts YAML to JSON, rejecting non-string keys and non-finite numbers.
fn to_json(src: &Source, line: usize, v: &Yaml) -> Result<Json, Error> {
    Ok(match v {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Json::Number)
                    .ok_or_else(|| {
                        src.err(
                            line,
                            format!("the number {n} is not finite; use a finite number"),
                        )
                    })?
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(s) => Json::Array(
            s.iter()
                .map(|x| to_json(src, line, x))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => {
                        return Err(src.err(
                            line,
                            format!("mapping keys must be strings, got {other:?}; quote the key"),
                        ));
                    }
                };
                out.insert(key, to_json(src, line, x)?);
            }
            Json::Object(out)
        }
        Yaml::Tagged(t) => {
            return Err(src.err(
                line,
                format!("YAML tag `{}` is not supported; remove the tag", t.tag),
            ));
        }
    })
}

fn as_mapping<'a>(
    src: &Source,
    line: usize,
    what: &str,
    v: &'a Yaml,
) -> Result<&'a serde_yaml::Mapping, Error> {
    v.as_mapping().ok_or_else(|| {
        src.err(
            line,
            format!("`{what}` must be a mapping of `key: value` entries"),
        )
    })
}

fn key_str(k: &Yaml) -> String {
    match k {
        Yaml::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// A `${…}` reference: a root name and a property path.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The root (resource, variable or config name, or `pulumi`).
    pub root: String,
    /// The path below the root.
    pub path: Vec<PathPart>,
    /// The text inside `${…}`.
    pub text: String,
}

/// One step of a property path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    /// `.name` or `["name"]`.
    Key(String),
    /// `[3]`.
    Index(usize),
}

/// A piece of an interpolated string.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Ref(Reference),
}

fn parse_reference(text: &str) -> Result<Reference, String> {
    let bad = |why: &str| {
        format!(
            "`${{{text}}}` is not a valid reference: {why}; write `${{resource.property}}`, `${{resource.id}}` or `${{variable}}`"
        )
    };
    let chars: Vec<char> = text.trim().chars().collect();
    let mut i = 0;
    let ident = |i: &mut usize| {
        let start = *i;
        while *i < chars.len()
            && (chars[*i].is_alphanumeric() || matches!(chars[*i], '_' | '-' | ':'))
        {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    let root = ident(&mut i);
    if root.is_empty() {
        return Err(bad("it does not start with a name"));
    }
    let mut path = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let k = ident(&mut i);
                if k.is_empty() {
                    return Err(bad("a `.` must be followed by a property name"));
                }
                path.push(PathPart::Key(k));
            }
            '[' => {
                let close = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or_else(|| bad("a `[` is not closed"))?
                    + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if let Some(s) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    path.push(PathPart::Key(s.to_string()));
                } else if let Ok(n) = inner.parse::<usize>() {
                    path.push(PathPart::Index(n));
                } else {
                    return Err(bad("use [number] or [\"key\"] inside brackets"));
                }
                i = close + 1;
            }
            c => return Err(bad(&format!("unexpected character `{c}`"))),
        }
    }
    Ok(Reference {
        root,
        path,
        text: text.to_string(),
    })
}

fn parse_pieces(s: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        // `$${` escapes a literal `${`.
        if start > 0 && rest[..start].ends_with('$') {
            out.push(Piece::Text(format!("{}{{", &rest[..start + 1])));
            rest = &rest[start + 2..];
            continue;
        }
        if start > 0 {
            out.push(Piece::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            format!("`{s}` has a `${{` without a closing `}}`; close the interpolation")
        })?;
        out.push(Piece::Ref(parse_reference(&after[..end])?));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Ok(out)
}

/// Every reference inside a template value.
pub fn references(v: &Json) -> Result<Vec<Reference>, String> {
    let mut out = Vec::new();
    collect_refs(v, &mut out)?;
    Ok(out)
}

fn collect_refs(v: &Json, out: &mut Vec<Reference>) -> Result<(), String> {
    match v {
        Json::String(s) => {
            for p in parse_pieces(s)? {
                if let Piece::Ref(r) = p {
                    out.push(r);
                }
            }
        }
        Json::Array(a) => {
            for x in a {
                collect_refs(x, out)?;
            }
        }
        Json::Object(m) => {
            for x in m.values() {
                collect_refs(x, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Parses a duration like `30s`, `5m`, `1h30m` or `90` (seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(n) = s.parse::<f64>() {
        return (n >= 0.0).then(|| Duration::from_secs_f64(n));
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut any = false;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
        } else {
            let unit: String = if c == 'm' && chars.get(i + 1) == Some(&'s') {
                i += 1;
                "ms".into()
            } else {
                c.to_string()
            };
            let n: f64 = num.parse().ok()?;
            num.clear();
            total += n * match unit.as_str() {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 0.001,
                _ => return None,
            };
            any = true;
        }
        i += 1;
    }
    (any && num.is_empty()).then(|| Duration::from_secs_f64(total))
}

/// Loads and validates the project in `dir` for `stack`.
pub fn load(dir: &Path, stack: &str) -> Result<Project, Error> {
    let canonical = dir.canonicalize().map_err(|e| Error::Program {
        file: dir.join("Pulumi.yaml"),
        line: 0,
        message: format!(
            "cannot open the project directory {}: {e}; pass --cwd with the project directory",
            dir.display()
        ),
    })?;
    let dir = canonical.as_path();
    let file = ["Pulumi.yaml", "Pulumi.yml"].iter().map(|f| dir.join(f)).find(|p| p.is_file()).ok_or_else(|| Error::Program {
        file: dir.join("Pulumi.yaml"),
        line: 0,
        message: "no Pulumi.yaml here; pass --cwd with the project directory, or create Pulumi.yaml with `name:`, `runtime: yaml` and `resources:`".into(),
    })?;
    let text = std::fs::read_to_string(&file).map_err(|e| Error::Program {
        file: file.clone(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    let src = Source::new(&file, &text);
    let doc = parse_yaml(&file, &text)?;
    let top = doc.as_mapping().ok_or_else(|| {
        src.err(
            1,
            "Pulumi.yaml must be a mapping with `name`, `runtime` and `resources`",
        )
    })?;

    let mut name = None;
    let mut config_decl = serde_yaml::Mapping::new();
    let mut variables = BTreeMap::new();
    let mut resources_yaml = serde_yaml::Mapping::new();
    let mut outputs = Vec::new();
    let mut plugins = Vec::new();
    for (k, v) in top {
        let key = key_str(k);
        let line = src.top_key(&key);
        match key.as_str() {
            "name" => {
                let n = v
                    .as_str()
                    .ok_or_else(|| src.err(line, "`name` must be a string: the project name"))?;
                if n.is_empty()
                    || !n
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    return Err(src.err(
                        line,
                        format!(
                            "project name `{n}` may hold only letters, digits, `-`, `_` and `.`"
                        ),
                    ));
                }
                name = Some(n.to_string());
            }
            "runtime" => {
                let rt = match v {
                    Yaml::String(s) => s.clone(),
                    Yaml::Mapping(m) => m
                        .get("name")
                        .and_then(Yaml::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    _ => String::new(),
                };
                if rt != "yaml" {
                    return Err(src.err(line, format!("runtime `{rt}` is not supported: engine-harness runs Pulumi YAML programs; set `runtime: yaml`")));
                }
            }
            "description" | "main" | "stackConfigDir" | "options" | "template" | "backend"
            | "packages" | "author" | "license" => {}
            "config" => config_decl = as_mapping(&src, line, "config", v)?.clone(),
            "variables" => {
                for (vk, vv) in as_mapping(&src, line, "variables", v)? {
                    let vname = key_str(vk);
                    let vline = src.child_key("variables", &vname);
                    variables.insert(vname, to_json(&src, vline, vv)?);
                }
            }
            "resources" => resources_yaml = as_mapping(&src, line, "resources", v)?.clone(),
            "outputs" => {
                for (ok, ov) in as_mapping(&src, line, "outputs", v)? {
                    let oname = key_str(ok);
                    let oline = src.child_key("outputs", &oname);
                    outputs.push((oname, to_json(&src, oline, ov)?));
                }
            }
            "plugins" => plugins = parse_plugins(&src, dir, line, v)?,
            other => {
                return Err(src.err(
                    line,
                    format!("unknown top-level key `{other}`; expected name, runtime, config, variables, resources, outputs or plugins"),
                ));
            }
        }
    }
    let name = name.ok_or_else(|| {
        src.err(
            1,
            "missing `name:`; add the project name, e.g. `name: my-project`",
        )
    })?;

    let (config, provider_config) = load_config(dir, &src, &name, stack, &config_decl)?;

    let mut resources = Vec::new();
    for (k, v) in &resources_yaml {
        let rname = key_str(k);
        let line = src.child_key("resources", &rname);
        resources.push(parse_resource(&src, line, &rname, v)?);
    }

    let index = resources
        .iter()
        .enumerate()
        .map(|(i, r): (usize, &ResourceDecl)| (r.name.clone(), i))
        .collect();
    let project = Project {
        index,
        name,
        stack: stack.to_string(),
        dir: dir.to_path_buf(),
        file: file.clone(),
        config,
        provider_config,
        variables,
        resources,
        outputs,
        plugins,
    };
    resolve_dependencies(&src, project)
}

fn parse_plugins(
    src: &Source,
    dir: &Path,
    line: usize,
    v: &Yaml,
) -> Result<Vec<PluginDecl>, Error> {
    let m = as_mapping(src, line, "plugins", v)?;
    let mut out = Vec::new();
    for (k, list) in m {
        let kind = key_str(k);
        if kind != "providers" {
            continue;
        }
        let items = list
            .as_sequence()
            .ok_or_else(|| src.err(line, "`plugins.providers` must be a list of `{name, path}`"))?;
        for item in items {
            let name = item.get("name").and_then(Yaml::as_str);
            let path = item.get("path").and_then(Yaml::as_str);
            let (Some(name), Some(path)) = (name, path) else {
                return Err(src.err(
                    src.find(line, "providers"),
                    "each `plugins.providers` entry needs `name` (the package) and `path`",
                ));
            };
            let p = PathBuf::from(path);
            out.push(PluginDecl {
                name: name.to_string(),
                path: if p.is_absolute() { p } else { dir.join(p) },
            });
        }
    }
    Ok(out)
}

const OPTION_KEYS: &str = "dependsOn, protect, deleteBeforeReplace, ignoreChanges, replaceOnChanges, retainOnDelete, customTimeouts";

fn parse_resource(src: &Source, line: usize, name: &str, v: &Yaml) -> Result<ResourceDecl, Error> {
    let m = as_mapping(src, line, &format!("resources.{name}"), v)?;
    let mut type_token = None;
    let mut properties = serde_json::Map::new();
    let mut options = ResourceOptions::default();
    for (k, x) in m {
        let key = key_str(k);
        let kline = src.find(line, &format!("{key}:"));
        match key.as_str() {
            "type" => {
                type_token = Some(
                    x.as_str()
                        .ok_or_else(|| {
                            src.err(
                                kline,
                                "`type` must be a type token string like `pkg:index:Type`",
                            )
                        })?
                        .to_string(),
                )
            }
            "properties" => {
                match to_json(src, kline, x)? {
                    Json::Object(p) => properties = p,
                    Json::Null => {}
                    _ => return Err(src.err(
                        kline,
                        format!(
                            "`properties` of `{name}` must be a mapping of property names to values"
                        ),
                    )),
                }
            }
            "options" => options = parse_options(src, kline, name, x)?,
            "defaultProvider" | "get" => {
                return Err(src.err(
                    kline,
                    format!("`{key}` is not supported by engine-harness; remove it"),
                ));
            }
            other => {
                return Err(src.err(kline, format!("unknown key `{other}` in resource `{name}`; expected type, properties or options")));
            }
        }
    }
    let type_token = type_token.ok_or_else(|| {
        src.err(
            line,
            format!("resource `{name}` has no `type`; add e.g. `type: local:index:Random`"),
        )
    })?;
    let tline = src.find(line, "type:");
    let parts: Vec<&str> = type_token.split(':').collect();
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | '.'))
    };
    if parts.len() != 3 || !parts.iter().all(|p| valid(p)) {
        return Err(src.err(
            tline,
            format!("`{type_token}` is not a valid type token; write `<package>:<module>:<Type>`, e.g. `local:index:Random`"),
        ));
    }
    if parts[0] == "pulumi" {
        return Err(src.err(
            tline,
            format!("`{type_token}`: explicit provider and built-in resources are not supported; configure the default provider in Pulumi.<stack>.yaml"),
        ));
    }
    if name.is_empty() || name.contains("::") {
        return Err(src.err(
            line,
            format!("resource name `{name}` must be non-empty and must not contain `::`"),
        ));
    }
    Ok(ResourceDecl {
        name: name.to_string(),
        package: parts[0].to_string(),
        type_token,
        properties,
        options,
        dependencies: BTreeSet::new(),
        line,
    })
}

fn string_list(src: &Source, line: usize, what: &str, v: &Yaml) -> Result<Vec<String>, Error> {
    let seq = v
        .as_sequence()
        .ok_or_else(|| src.err(line, format!("`{what}` must be a list of strings")))?;
    seq.iter()
        .map(|x| {
            x.as_str()
                .map(str::to_string)
                .ok_or_else(|| src.err(line, format!("`{what}` must be a list of strings")))
        })
        .collect()
}

fn bool_opt(src: &Source, line: usize, what: &str, v: &Yaml) -> Result<bool, Error> {
    v.as_bool()
        .ok_or_else(|| src.err(line, format!("`{what}` must be true or false")))
}

fn parse_options(
    src: &Source,
    line: usize,
    name: &str,
    v: &Yaml,
) -> Result<ResourceOptions, Error> {
    let m = as_mapping(src, line, &format!("resources.{name}.options"), v)?;
    let mut o = ResourceOptions::default();
    for (k, x) in m {
        let key = key_str(k);
        let kline = src.find(line, &format!("{key}:"));
        match key.as_str() {
            "dependsOn" => {
                for d in string_list(src, kline, "dependsOn", x)? {
                    let r =
                        parse_reference(d.trim().trim_start_matches("${").trim_end_matches('}'))
                            .map_err(|e| src.err(kline, e))?;
                    if !r.path.is_empty() {
                        return Err(src.err(
                            kline,
                            format!(
                                "`dependsOn` takes resources, like `${{{}}}`, not properties",
                                r.root
                            ),
                        ));
                    }
                    o.depends_on.push(r.root);
                }
            }
            "protect" => o.protect = bool_opt(src, kline, "protect", x)?,
            "deleteBeforeReplace" => {
                o.delete_before_replace = bool_opt(src, kline, "deleteBeforeReplace", x)?
            }
            "retainOnDelete" => o.retain_on_delete = bool_opt(src, kline, "retainOnDelete", x)?,
            "ignoreChanges" => o.ignore_changes = string_list(src, kline, "ignoreChanges", x)?,
            "replaceOnChanges" => {
                o.replace_on_changes = string_list(src, kline, "replaceOnChanges", x)?
            }
            "customTimeouts" => {
                let tm = as_mapping(src, kline, "customTimeouts", x)?;
                for (tk, tv) in tm {
                    let tkey = key_str(tk);
                    let text = match tv {
                        Yaml::String(s) => s.clone(),
                        Yaml::Number(n) => n.to_string(),
                        _ => String::new(),
                    };
                    let d = parse_duration(&text).ok_or_else(|| {
                        src.err(kline, format!("customTimeouts.{tkey}: `{text}` is not a duration; write e.g. `30s`, `5m` or `1h`"))
                    })?;
                    match tkey.as_str() {
                        "create" => o.custom_timeouts.create = Some(d),
                        "update" => o.custom_timeouts.update = Some(d),
                        "delete" => o.custom_timeouts.delete = Some(d),
                        other => {
                            return Err(src.err(
                                kline,
                                format!(
                                    "unknown custom timeout `{other}`; use create, update or delete"
                                ),
                            ));
                        }
                    }
                }
            }
            other => {
                return Err(src.err(
                    kline,
                    format!(
                        "unknown resource option `{other}` on `{name}`; supported: {OPTION_KEYS}"
                    ),
                ));
            }
        }
    }
    Ok(o)
}

fn config_value(src: &Source, line: usize, key: &str, v: &Yaml) -> Result<Json, Error> {
    if let Some(m) = v.as_mapping()
        && m.len() == 1
        && let Some(secure) = m.get("secure")
    {
        let s = secure
            .as_str()
            .ok_or_else(|| src.err(line, format!("`{key}`: `secure` must be a string")))?;
        if s.starts_with("v1:") || s.starts_with("AAAB") {
            return Err(src.err(
                line,
                format!("`{key}` holds a value encrypted by the pulumi CLI, which engine-harness cannot decrypt; write `secure: <plain value>` instead (it is kept secret and never printed)"),
            ));
        }
        return Ok(value::secret(Json::String(s.to_string())));
    }
    to_json(src, line, v)
}

type Config = (BTreeMap<String, Json>, BTreeMap<String, PropertyMap>);

fn load_config(
    dir: &Path,
    src: &Source,
    project: &str,
    stack: &str,
    decl: &serde_yaml::Mapping,
) -> Result<Config, Error> {
    let mut config = BTreeMap::new();
    let mut provider_config: BTreeMap<String, PropertyMap> = BTreeMap::new();
    let mut secret_keys = BTreeSet::new();
    let mut required = Vec::new();
    // Declarations in Pulumi.yaml: `key: {type, default, secret}` or `pkg:key: value`.
    for (k, v) in decl {
        let key = key_str(k);
        let line = src.child_key("config", &key);
        let (ns, bare) = match key.split_once(':') {
            Some((ns, bare)) => (ns.to_string(), bare.to_string()),
            None => (project.to_string(), key.clone()),
        };
        let (default, secret) = match v.as_mapping() {
            Some(m)
                if m.contains_key("type")
                    || m.contains_key("default")
                    || m.contains_key("secret")
                    || m.contains_key("value") =>
            {
                let d = m.get("default").or_else(|| m.get("value"));
                (
                    d.map(|d| to_json(src, line, d)).transpose()?,
                    m.get("secret").and_then(Yaml::as_bool).unwrap_or(false),
                )
            }
            _ => (Some(config_value(src, line, &key, v)?), false),
        };
        if secret {
            secret_keys.insert(bare.clone());
        }
        if ns == project {
            match default {
                Some(d) => {
                    config.insert(bare, d);
                }
                None => required.push((bare, line)),
            }
        } else if let Some(d) = default {
            provider_config.entry(ns).or_default().insert(bare, d);
        }
    }
    let stack_file = dir.join(format!("Pulumi.{stack}.yaml"));
    if stack_file.is_file() {
        let text = std::fs::read_to_string(&stack_file).map_err(|e| Error::Program {
            file: stack_file.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        let ssrc = Source::new(&stack_file, &text);
        let doc = parse_yaml(&stack_file, &text)?;
        if let Some(cfg) = doc.get("config") {
            let line = ssrc.top_key("config");
            for (k, v) in as_mapping(&ssrc, line, "config", cfg)? {
                let key = key_str(k);
                let kline = ssrc.child_key("config", &key);
                let Some((ns, bare)) = key.split_once(':') else {
                    return Err(ssrc.err(kline, format!("config key `{key}` needs a namespace: write `{project}:{key}` (project) or `<package>:{key}` (provider)")));
                };
                let value = config_value(&ssrc, kline, &key, v)?;
                if ns == project {
                    config.insert(bare.to_string(), value);
                } else {
                    provider_config
                        .entry(ns.to_string())
                        .or_default()
                        .insert(bare.to_string(), value);
                }
            }
        }
    }
    for (key, line) in required {
        if !config.contains_key(&key) {
            return Err(src.err(
                line,
                format!("config `{key}` has no default and stack `{stack}` does not set it; add `{project}:{key}: <value>` under `config:` in Pulumi.{stack}.yaml"),
            ));
        }
    }
    for key in secret_keys {
        if let Some(v) = config.remove(&key) {
            config.insert(key, value::secret(v));
        }
    }
    Ok((config, provider_config))
}

/// What a `${root}` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RootKind {
    Resource,
    Variable,
    Config,
    Builtin,
}

fn root_kind(p: &Project, root: &str) -> Option<RootKind> {
    if p.resource(root).is_some() {
        Some(RootKind::Resource)
    } else if p.variables.contains_key(root) {
        Some(RootKind::Variable)
    } else if p.config.contains_key(root) {
        Some(RootKind::Config)
    } else if root == "pulumi" {
        Some(RootKind::Builtin)
    } else {
        None
    }
}

fn unknown_root(p: &Project, r: &Reference) -> String {
    let mut known: Vec<&str> = p.resources.iter().map(|r| r.name.as_str()).collect();
    known.extend(p.variables.keys().map(String::as_str));
    known.extend(p.config.keys().map(String::as_str));
    format!(
        "`${{{}}}` refers to `{}`, which is not a resource, variable or config key of this program; declare it, or use one of: {}",
        r.text,
        r.root,
        if known.is_empty() {
            "(none)".to_string()
        } else {
            known.join(", ")
        }
    )
}

fn resolve_dependencies(src: &Source, mut p: Project) -> Result<Project, Error> {
    // Direct resource references of each variable.
    let mut var_refs: HashMap<String, Vec<Reference>> = HashMap::new();
    for (name, v) in &p.variables {
        let line = src.child_key("variables", name);
        let refs = references(v).map_err(|e| src.err(line, e))?;
        for r in &refs {
            if root_kind(&p, &r.root).is_none() {
                return Err(src.err(src.find(line, &r.text), unknown_root(&p, r)));
            }
        }
        var_refs.insert(name.clone(), refs);
    }
    // Resource dependencies of each variable, following variables; detect variable cycles.
    fn var_deps(
        p: &Project,
        var_refs: &HashMap<String, Vec<Reference>>,
        name: &str,
        stack: &mut Vec<String>,
    ) -> Result<BTreeSet<String>, String> {
        if stack.iter().any(|s| s == name) {
            stack.push(name.to_string());
            return Err(format!(
                "variables refer to each other in a cycle: {}; break the cycle",
                stack.join(" -> ")
            ));
        }
        stack.push(name.to_string());
        let mut out = BTreeSet::new();
        for r in var_refs.get(name).into_iter().flatten() {
            match root_kind(p, &r.root) {
                Some(RootKind::Resource) => {
                    out.insert(r.root.clone());
                }
                Some(RootKind::Variable) => out.extend(var_deps(p, var_refs, &r.root, stack)?),
                _ => {}
            }
        }
        stack.pop();
        Ok(out)
    }
    let mut var_resources = HashMap::new();
    for name in p.variables.keys() {
        let deps = var_deps(&p, &var_refs, name, &mut Vec::new())
            .map_err(|e| src.err(src.child_key("variables", name), e))?;
        var_resources.insert(name.clone(), deps);
    }
    let unsupported = p
        .resources
        .iter()
        .map(|r| (r.line, Json::Object(r.properties.clone())))
        .chain(
            p.variables
                .iter()
                .map(|(k, v)| (src.child_key("variables", k), v.clone())),
        )
        .chain(
            p.outputs
                .iter()
                .map(|(k, v)| (src.child_key("outputs", k), v.clone())),
        );
    for (line, v) in unsupported {
        if let Some(f) = unsupported_function(&v) {
            return Err(src.err(
                src.find(line, &f),
                format!(
                    "`{f}` is not supported by engine-harness; use one of {} or plain values",
                    FUNCTIONS.join(", ")
                ),
            ));
        }
    }
    let mut all_deps = Vec::new();
    for r in &p.resources {
        let refs =
            references(&Json::Object(r.properties.clone())).map_err(|e| src.err(r.line, e))?;
        let mut deps = BTreeSet::new();
        for rf in &refs {
            match root_kind(&p, &rf.root) {
                Some(RootKind::Resource) => {
                    deps.insert(rf.root.clone());
                }
                Some(RootKind::Variable) => deps.extend(var_resources[&rf.root].iter().cloned()),
                Some(_) => {}
                None => {
                    return Err(src.err(
                        src.find(r.line, &format!("${{{}", rf.text)),
                        unknown_root(&p, rf),
                    ));
                }
            }
        }
        for d in &r.options.depends_on {
            if p.resource(d).is_none() {
                return Err(src.err(
                    src.find(r.line, "dependsOn"),
                    format!("`dependsOn` of `{}` names `{d}`, which is not a resource of this program; fix the name", r.name),
                ));
            }
            deps.insert(d.clone());
        }
        if deps.contains(&r.name) {
            return Err(src.err(
                r.line,
                format!(
                    "resource `{}` depends on itself; remove the self-reference",
                    r.name
                ),
            ));
        }
        all_deps.push(deps);
    }
    for (r, deps) in p.resources.iter_mut().zip(all_deps) {
        r.dependencies = deps;
    }
    for (name, v) in &p.outputs {
        let line = src.child_key("outputs", name);
        for rf in references(v).map_err(|e| src.err(line, e))? {
            if root_kind(&p, &rf.root).is_none() {
                return Err(src.err(src.find(line, &rf.text), unknown_root(&p, &rf)));
            }
        }
    }
    if let Some(cycle) = find_cycle(&p) {
        let first = p.resource(&cycle[0]).map(|r| r.line).unwrap_or(1);
        return Err(src.err(
            first,
            format!(
                "resources depend on each other in a cycle: {}; remove one of these references",
                cycle.join(" -> ")
            ),
        ));
    }
    Ok(p)
}

fn find_cycle(p: &Project) -> Option<Vec<String>> {
    let index: HashMap<&str, usize> = p
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let mut color = vec![0u8; p.resources.len()];
    let mut stack = Vec::new();
    fn visit(
        i: usize,
        p: &Project,
        index: &HashMap<&str, usize>,
        color: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        color[i] = 1;
        stack.push(i);
        for d in &p.resources[i].dependencies {
            let j = index[d.as_str()];
            if color[j] == 1 {
                let pos = stack.iter().position(|x| *x == j).unwrap_or(0);
                let mut c: Vec<String> = stack[pos..]
                    .iter()
                    .map(|k| p.resources[*k].name.clone())
                    .collect();
                c.push(p.resources[j].name.clone());
                return Some(c);
            }
            if color[j] == 0
                && let Some(c) = visit(j, p, index, color, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        color[i] = 2;
        None
    }
    for i in 0..p.resources.len() {
        if color[i] == 0
            && let Some(c) = visit(i, p, &index, &mut color, &mut stack)
        {
            return Some(c);
        }
    }
    None
}

/// The built-in functions engine-harness evaluates.
pub const FUNCTIONS: [&str; 4] = [
    "fn::secret",
    "fn::stringAsset",
    "fn::fileAsset",
    "fn::toJSON",
];

/// The asset signature.
const ASSET_SIG: &str = "c44067f5952c0a294b673a41bacd8c17";

fn asset(kind: &str, text: &str, bytes: &[u8]) -> Json {
    use sha2::Digest;
    let mut m = serde_json::Map::new();
    m.insert(value::SIG_KEY.into(), Json::String(ASSET_SIG.into()));
    m.insert(
        "hash".into(),
        Json::String(hex::encode(sha2::Sha256::digest(bytes))),
    );
    m.insert(kind.into(), Json::String(text.into()));
    Json::Object(m)
}

fn call_function(f: &str, arg: Json, dir: &Path) -> Result<Json, String> {
    if value::contains_unknown(&arg) {
        return Ok(value::unknown());
    }
    match f {
        "fn::secret" => Ok(value::secret(arg)),
        "fn::toJSON" => {
            let (plain, secret) = value::unwrap_secrets(&arg);
            let text = Json::String(plain.to_string());
            Ok(if secret { value::secret(text) } else { text })
        }
        "fn::stringAsset" => match arg {
            Json::String(t) => Ok(asset("text", &t, t.as_bytes())),
            _ => Err("`fn::stringAsset` takes a string".into()),
        },
        "fn::fileAsset" => match arg {
            Json::String(path) => {
                let full = dir.join(&path);
                let bytes = std::fs::read(&full)
                    .map_err(|e| format!("`fn::fileAsset`: cannot read {}: {e}", full.display()))?;
                Ok(asset("path", &path, &bytes))
            }
            _ => Err("`fn::fileAsset` takes a path string".into()),
        },
        other => Err(format!(
            "`{other}` is not supported; engine-harness evaluates {}",
            FUNCTIONS.join(", ")
        )),
    }
}

/// The first unsupported `fn::` function used in `v`, if any.
fn unsupported_function(v: &Json) -> Option<String> {
    match v {
        Json::Object(m) => m.iter().find_map(|(k, x)| {
            if k.starts_with("fn::") && !FUNCTIONS.contains(&k.as_str()) {
                Some(k.clone())
            } else {
                unsupported_function(x)
            }
        }),
        Json::Array(a) => a.iter().find_map(unsupported_function),
        _ => None,
    }
}

/// The state of a resource as interpolations see it.
#[derive(Debug, Clone, Default)]
pub struct ResolvedResource {
    /// The URN.
    pub urn: String,
    /// The id (an unknown in preview when not created yet).
    pub id: Json,
    /// The output properties.
    pub outputs: PropertyMap,
}

/// Evaluates templates against resolved resources, variables and config.
pub struct Evaluator<'a> {
    /// The project.
    pub project: &'a Project,
    /// Resources resolved so far, by name.
    pub resources: &'a HashMap<String, ResolvedResource>,
}

impl Evaluator<'_> {
    /// Evaluates a template value: strings that are exactly one `${ref}` become the referenced
    /// value; other strings interpolate (unknown if any part is unknown, secret if any part is).
    pub fn eval(&self, v: &Json) -> Result<Json, String> {
        self.eval_depth(v, 0)
    }

    fn eval_depth(&self, v: &Json, depth: usize) -> Result<Json, String> {
        if depth > 64 {
            return Err("variables nest too deeply".into());
        }
        Ok(match v {
            Json::String(s) => {
                let pieces = parse_pieces(s)?;
                match pieces.as_slice() {
                    [] => Json::String(String::new()),
                    [Piece::Ref(r)] => self.lookup(r, depth)?,
                    _ => {
                        let mut out = String::new();
                        let mut secret = false;
                        for p in pieces {
                            match p {
                                Piece::Text(t) => out.push_str(&t),
                                Piece::Ref(r) => {
                                    let val = self.lookup(&r, depth)?;
                                    if value::contains_unknown(&val) {
                                        return Ok(value::unknown());
                                    }
                                    let (plain, s) = value::unwrap_secrets(&val);
                                    secret |= s;
                                    match plain {
                                        Json::String(t) => out.push_str(&t),
                                        Json::Null => {}
                                        other => out.push_str(&other.to_string()),
                                    }
                                }
                            }
                        }
                        if secret {
                            value::secret(Json::String(out))
                        } else {
                            Json::String(out)
                        }
                    }
                }
            }
            Json::Array(a) => Json::Array(
                a.iter()
                    .map(|x| self.eval_depth(x, depth))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(m) if m.len() == 1 && m.keys().all(|k| k.starts_with("fn::")) => {
                let (f, arg) = m.iter().next().expect("one entry");
                let arg = self.eval_depth(arg, depth)?;
                call_function(f, arg, &self.project.dir)?
            }
            Json::Object(m) => Json::Object(
                m.iter()
                    .map(|(k, x)| Ok((k.clone(), self.eval_depth(x, depth)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn lookup(&self, r: &Reference, depth: usize) -> Result<Json, String> {
        let p = self.project;
        let (base, path): (Json, &[PathPart]) = match root_kind(p, &r.root) {
            Some(RootKind::Resource) => {
                let res = self.resources.get(&r.root).ok_or_else(|| {
                    format!("`${{{}}}` is used before `{}` exists", r.text, r.root)
                })?;
                match r.path.first() {
                    Some(PathPart::Key(k)) if k == "id" => (res.id.clone(), &r.path[1..]),
                    Some(PathPart::Key(k)) if k == "urn" => {
                        (Json::String(res.urn.clone()), &r.path[1..])
                    }
                    Some(_) => (Json::Object(res.outputs.clone()), &r.path[..]),
                    None => {
                        return Err(format!(
                            "`${{{}}}` names a whole resource; use a property such as `${{{}.id}}`",
                            r.text, r.root
                        ));
                    }
                }
            }
            Some(RootKind::Variable) => (
                self.eval_depth(&p.variables[&r.root], depth + 1)?,
                &r.path[..],
            ),
            Some(RootKind::Config) => (p.config[&r.root].clone(), &r.path[..]),
            Some(RootKind::Builtin) => {
                let v = match r.path.first() {
                    Some(PathPart::Key(k)) if k == "stack" => Json::String(p.stack.clone()),
                    Some(PathPart::Key(k)) if k == "project" => Json::String(p.name.clone()),
                    _ => {
                        return Err(format!(
                            "`${{{}}}`: only `${{pulumi.stack}}` and `${{pulumi.project}}` exist",
                            r.text
                        ));
                    }
                };
                (v, &r.path[1..])
            }
            None => return Err(unknown_root(p, r)),
        };
        walk(base, path, &r.text)
    }
}

fn walk(mut cur: Json, path: &[PathPart], text: &str) -> Result<Json, String> {
    let mut secret = false;
    for part in path {
        if value::is_unknown(&cur) {
            return Ok(value::unknown());
        }
        if value::is_secret(&cur) {
            secret = true;
            cur = cur.get("value").cloned().unwrap_or(Json::Null);
        }
        cur = match (part, &cur) {
            (PathPart::Key(k), Json::Object(m)) => m.get(k).cloned().unwrap_or(Json::Null),
            (PathPart::Index(i), Json::Array(a)) => a.get(*i).cloned().unwrap_or(Json::Null),
            (_, Json::Null) => Json::Null,
            (part, other) => {
                return Err(format!(
                    "`${{{text}}}`: cannot take {part:?} of a {}",
                    match other {
                        Json::Bool(_) => "boolean",
                        Json::Number(_) => "number",
                        Json::String(_) => "string",
                        Json::Array(_) => "list",
                        _ => "map",
                    }
                ));
            }
        };
    }
    Ok(if secret { value::secret(cur) } else { cur })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            dependencies: Default::default(),
            line: 1,
        });
        let ev = Evaluator {
            project: &p2,
            resources: &res,
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
        let ev = Evaluator {
            project: &p,
            resources: &res,
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
            project("name: d\nruntime: yaml\nresources:\n  a:\n    type: x:index:Y\n    properties:\n      v:\n        fn::invoke: {}\n").unwrap_err(),
        );
        assert_eq!(line, 8);
        assert!(msg.contains("fn::invoke"), "{msg}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("soon"), None);
    }
}
