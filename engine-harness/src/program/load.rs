//! Loading a project: `Pulumi.yaml` (resources, options, plugins) and `Pulumi.<stack>.yaml`.

use super::graph::resolve_dependencies;
use super::resource::parse_resource;
use super::source::{Source, as_mapping, key_str, parse_yaml, to_json};
use super::{PluginDecl, Project, ResourceDecl};
use crate::language::{ProjectInfo, Runtime};
use crate::value::PropertyMap;
use crate::{Error, value};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Loads and validates the project in `dir` for `stack`.
pub fn load(dir: &Path, stack: &str) -> Result<Project, Error> {
    super::validate_stack_name(stack).map_err(Error::Usage)?;
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
    let src = Source::parse(&file, &text)?;
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
    let mut runtime = None;
    let mut yaml_only = Vec::new();
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
                runtime = Some(match Runtime::from_name(&rt) {
                    Some(r) => r,
                    None => return Err(src.err(line, format!("runtime `{rt}` is not supported: engine-harness runs `yaml`, `python` and `nodejs` (JavaScript and TypeScript) programs itself, and `go`, `dotnet` and `java` programs through Pulumi's language plugins"))),
                });
            }
            "description" | "main" | "stackConfigDir" | "options" | "template" | "backend"
            | "packages" | "author" | "license" => {}
            "config" => config_decl = as_mapping(&src, line, "config", v)?.clone(),
            "variables" => {
                yaml_only.push(("variables", line));
                for (vk, vv) in as_mapping(&src, line, "variables", v)? {
                    let vname = key_str(vk);
                    let vline = src.child_key("variables", &vname);
                    variables.insert(vname, to_json(&src, vline, vv)?);
                }
            }
            "resources" => {
                yaml_only.push(("resources", line));
                resources_yaml = as_mapping(&src, line, "resources", v)?.clone()
            }
            "outputs" => {
                yaml_only.push(("outputs", line));
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

    let runtime = runtime.ok_or_else(|| {
        src.err(
            1,
            "missing `runtime:`; add `runtime: yaml` (or `python`, `nodejs`)",
        )
    })?;
    if runtime != Runtime::Yaml
        && let Some((key, line)) = yaml_only.first()
    {
        return Err(src.err(
            *line,
            format!("`{key}` belongs to Pulumi YAML programs, but this project's runtime is `{}`: declare resources in the program's code, or set `runtime: yaml`", runtime.name()),
        ));
    }

    let info = ProjectInfo::from_document(dir, &file, &doc)?;
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
        info,
        runtime,
        stack: stack.to_string(),
        dir: dir.to_path_buf(),
        file: file.clone(),
        config,
        provider_config,
        variables,
        resources,
        outputs,
        plugins,
        invokes: Vec::new(),
    };
    resolve_dependencies(&src, project)
}

pub(super) fn parse_plugins(
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

/// A config value; `secure:` values become secrets, decrypted with the stack file's passphrase
/// secrets provider (`secrets`) when they are encrypted (`v1:…`).
pub(super) fn config_value(
    src: &Source,
    line: usize,
    key: &str,
    v: &Yaml,
    secrets: Option<&crate::secrets::SecretsManager>,
) -> Result<Json, Error> {
    if let Some(m) = v.as_mapping()
        && m.len() == 1
        && let Some(secure) = m.get("secure")
    {
        let s = secure
            .as_str()
            .ok_or_else(|| src.err(line, format!("`{key}`: `secure` must be a string")))?;
        if s.starts_with("v1:") {
            let Some(secrets) = secrets.filter(|m| m.salt().is_some()) else {
                return Err(src.err(
                    line,
                    format!("`{key}` holds an encrypted value but the stack file has no `encryptionsalt:` to decrypt it with; copy the `encryptionsalt:` line of the Pulumi.<stack>.yaml that encrypted it, or set the value again with `engine-harness config set {key} <value> --secret`"),
                ));
            };
            let plain = secrets.decrypt(s).map_err(|e| {
                Error::Secrets(format!("{}:{line}: `{key}`: {e}", src.file.display()))
            })?;
            return Ok(value::secret(Json::String(plain)));
        }
        if s.starts_with("AAAB") {
            return Err(src.err(
                line,
                format!("`{key}` holds a value encrypted by a cloud secrets provider, which engine-harness cannot decrypt; use the passphrase provider (`pulumi stack change-secrets-provider passphrase`) or set the value again with `engine-harness config set {key} <value> --secret`"),
            ));
        }
        // Not ciphertext: refused as Pulumi's passphrase provider refuses it, never used as
        // plaintext (the value is not quoted: it may be the secret).
        return Err(src.err(line, crate::stack_config::not_ciphertext(key)));
    }
    // A list or object with `secure:` leaves (`config set --path --secret`): each leaf becomes
    // a secret in place.
    match v {
        Yaml::Mapping(m) if crate::stack_config::has_secure_leaf(v) => Ok(Json::Object(
            m.iter()
                .map(|(k, v)| Ok((key_str(k), config_value(src, line, key, v, secrets)?)))
                .collect::<Result<_, Error>>()?,
        )),
        Yaml::Sequence(items) if crate::stack_config::has_secure_leaf(v) => Ok(Json::Array(
            items
                .iter()
                .map(|v| config_value(src, line, key, v, secrets))
                .collect::<Result<_, Error>>()?,
        )),
        _ => to_json(src, line, v),
    }
}

pub(super) type Config = (BTreeMap<String, Json>, BTreeMap<String, PropertyMap>);

pub(super) fn load_config(
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
            _ => (Some(config_value(src, line, &key, v, None)?), false),
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
        let ssrc = Source::parse(&stack_file, &text)?;
        let doc = parse_yaml(&stack_file, &text)?;
        let salt = doc
            .get("encryptionsalt")
            .and_then(Yaml::as_str)
            .map(str::to_string);
        let secrets = crate::secrets::SecretsManager::from_env(salt);
        if let Some(cfg) = doc.get("config") {
            let line = ssrc.top_key("config");
            for (k, v) in as_mapping(&ssrc, line, "config", cfg)? {
                let key = key_str(k);
                let kline = ssrc.child_key("config", &key);
                let Some((ns, bare)) = key.split_once(':') else {
                    return Err(ssrc.err(kline, format!("config key `{key}` needs a namespace: write `{project}:{key}` (project) or `<package>:{key}` (provider)")));
                };
                let value = config_value(&ssrc, kline, &key, v, Some(&secrets))?;
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
