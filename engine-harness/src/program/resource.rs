//! A resource's declaration: `type`, `properties`, `get` and `options`.

use super::source::{Source, as_mapping, key_str, to_json};
use super::template::{parse_duration, parse_reference};
use super::{AliasDecl, AliasParent, GetDecl, ResourceDecl, ResourceOptions};
use crate::Error;
use crate::monitor::urn::PROVIDER_TYPE_PREFIX;
use crate::value::PropertyMap;
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use std::collections::BTreeSet;

pub(super) const OPTION_KEYS: &str = "dependsOn, protect, deleteBeforeReplace, ignoreChanges, replaceOnChanges, retainOnDelete, customTimeouts, provider, parent, aliases, import, additionalSecretOutputs, version";

/// The keys an alias mapping may have.
const ALIAS_KEYS: &str = "name, type, parent, parentUrn, noParent, stack, project";

pub(super) fn parse_resource(
    src: &Source,
    line: usize,
    name: &str,
    v: &Yaml,
) -> Result<ResourceDecl, Error> {
    let m = as_mapping(src, line, &format!("resources.{name}"), v)?;
    let mut type_token = None;
    let mut properties = serde_json::Map::new();
    let mut options = ResourceOptions::default();
    let mut get = None;
    for (k, x) in m {
        let key = key_str(k);
        let kline = src
            .key_line(&["resources", name, key.as_str()])
            .unwrap_or_else(|| src.find(line, &format!("{key}:")));
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
            "get" => get = Some(parse_get(src, kline, name, x)?),
            "defaultProvider" => {
                return Err(src.err(
                    kline,
                    format!("`{key}` is not supported by engine-harness; remove it"),
                ));
            }
            other => {
                return Err(src.err(kline, format!("unknown key `{other}` in resource `{name}`; expected type, properties, get or options")));
            }
        }
    }
    let type_token = type_token.ok_or_else(|| {
        src.err(
            line,
            format!("resource `{name}` has no `type`; add e.g. `type: local:index:Random`"),
        )
    })?;
    let tline = src.key_line(&["resources", name, "type"]).unwrap_or(line);
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
    let provider_package = type_token.strip_prefix(PROVIDER_TYPE_PREFIX);
    if parts[0] == "pulumi" && provider_package.is_none() {
        return Err(src.err(
            tline,
            format!("`{type_token}`: built-in `pulumi:` resources other than providers (`pulumi:providers:<package>`) are not supported"),
        ));
    }
    if provider_package.is_some() {
        let oline = src
            .key_line(&["resources", name, "options"])
            .unwrap_or(line);
        if get.is_some() {
            return Err(src.err(
                line,
                format!("provider resource `{name}` cannot be read with `get`; remove `get`"),
            ));
        }
        if options.provider.is_some() || options.import.is_some() {
            return Err(src.err(
                oline,
                format!("provider resource `{name}` cannot take `provider` or `import`; its `properties` are its configuration"),
            ));
        }
    }
    if get.is_some() && !properties.is_empty() {
        return Err(src.err(
            line,
            format!("resource `{name}` has both `get` and `properties`; a `get` reads an existing resource, so give its properties under `get.state`, or drop `get` to manage it"),
        ));
    }
    if get.is_some() && options.import.is_some() {
        return Err(src.err(
            line,
            format!("resource `{name}` has both `get` and `options.import`; use `get` to read it without managing it, or `import` to manage it from now on"),
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
        package: provider_package.unwrap_or(parts[0]).to_string(),
        type_token,
        properties,
        options,
        get,
        dependencies: BTreeSet::new(),
        invokes: BTreeSet::new(),
        line,
    })
}

/// `get: {id, state}`.
fn parse_get(src: &Source, line: usize, name: &str, v: &Yaml) -> Result<GetDecl, Error> {
    let m = as_mapping(src, line, &format!("resources.{name}.get"), v)?;
    let mut id = None;
    let mut state = PropertyMap::new();
    for (k, x) in m {
        let key = key_str(k);
        let kline = src
            .key_line(&["resources", name, "get", key.as_str()])
            .unwrap_or(line);
        match key.as_str() {
            "id" => id = Some(to_json(src, kline, x)?),
            "state" => match to_json(src, kline, x)? {
                Json::Object(m) => state = m,
                Json::Null => {}
                _ => {
                    return Err(src.err(
                        kline,
                        "`get.state` must be a mapping of property names to values",
                    ));
                }
            },
            other => {
                return Err(src.err(
                    kline,
                    format!("unknown key `{other}` in `get` of `{name}`; expected id and state"),
                ));
            }
        }
    }
    match id {
        Some(Json::Null) | None => Err(src.err(
            line,
            format!("`get` of `{name}` has no `id`; add the provider's id of the resource to read"),
        )),
        Some(id) => Ok(GetDecl { id, state }),
    }
}

/// A `${name}` option value that names a resource (no property path).
fn resource_ref(src: &Source, line: usize, what: &str, v: &Yaml) -> Result<String, Error> {
    named_resource(src, line, what, v.as_str().unwrap_or_default())
}

/// `${name}`, the text of an option that names a resource: the name.
pub(super) fn named_resource(
    src: &Source,
    line: usize,
    what: &str,
    text: &str,
) -> Result<String, Error> {
    let inner = text
        .trim()
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| {
            src.err(
                line,
                format!("`{what}` takes a resource of this program, written `${{name}}`"),
            )
        })?;
    let r = parse_reference(inner).map_err(|e| src.err(line, e))?;
    if !r.path.is_empty() {
        return Err(src.err(
            line,
            format!(
                "`{what}` takes a resource, like `${{{}}}`, not a property",
                r.root
            ),
        ));
    }
    Ok(r.root)
}

/// `aliases`: full URNs or mappings of the parts that changed.
fn parse_aliases(src: &Source, line: usize, v: &Yaml) -> Result<Vec<AliasDecl>, Error> {
    let items = v.as_sequence().ok_or_else(|| {
        src.err(
            line,
            "`aliases` must be a list: earlier URNs, or mappings like `- name: old-name`",
        )
    })?;
    let mut out = Vec::new();
    for item in items {
        if let Some(text) = item.as_str() {
            if crate::monitor::urn::parse(text).is_none() {
                return Err(src.err(
                    line,
                    format!("alias `{text}` is not a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`); for a rename write `- name: {text}`"),
                ));
            }
            out.push(AliasDecl::Urn(text.to_string()));
            continue;
        }
        let m = item.as_mapping().ok_or_else(|| {
            src.err(
                line,
                format!("each alias is a URN or a mapping with some of: {ALIAS_KEYS}"),
            )
        })?;
        let mut name = None;
        let mut type_token = None;
        let mut parent = AliasParent::Same;
        let mut stack = None;
        let mut project = None;
        for (k, x) in m {
            let key = key_str(k);
            let text = || {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| src.err(line, format!("alias `{key}` must be a string")))
            };
            match key.as_str() {
                "name" => name = Some(text()?),
                "type" => type_token = Some(text()?),
                "stack" => stack = Some(text()?),
                "project" => project = Some(text()?),
                "parent" => {
                    parent = AliasParent::Resource(resource_ref(src, line, "aliases.parent", x)?)
                }
                "parentUrn" => parent = AliasParent::Urn(text()?),
                "noParent" => {
                    if bool_opt(src, line, "aliases.noParent", x)? {
                        parent = AliasParent::Root;
                    }
                }
                other => {
                    return Err(src.err(
                        line,
                        format!("unknown alias key `{other}`; use {ALIAS_KEYS}"),
                    ));
                }
            }
        }
        out.push(AliasDecl::Spec {
            name,
            type_token,
            parent,
            stack,
            project,
        });
    }
    Ok(out)
}

pub(super) fn string_list(
    src: &Source,
    line: usize,
    what: &str,
    v: &Yaml,
) -> Result<Vec<String>, Error> {
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

pub(super) fn bool_opt(src: &Source, line: usize, what: &str, v: &Yaml) -> Result<bool, Error> {
    v.as_bool()
        .ok_or_else(|| src.err(line, format!("`{what}` must be true or false")))
}

pub(super) fn parse_options(
    src: &Source,
    line: usize,
    name: &str,
    v: &Yaml,
) -> Result<ResourceOptions, Error> {
    let m = as_mapping(src, line, &format!("resources.{name}.options"), v)?;
    let mut o = ResourceOptions::default();
    for (k, x) in m {
        let key = key_str(k);
        let kline = src
            .key_line(&["resources", name, "options", key.as_str()])
            .unwrap_or_else(|| src.find(line, &format!("{key}:")));
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
            "provider" => o.provider = Some(resource_ref(src, kline, "provider", x)?),
            "parent" => o.parent = Some(resource_ref(src, kline, "parent", x)?),
            "aliases" => o.aliases = parse_aliases(src, kline, x)?,
            "import" => {
                let id = match x {
                    Yaml::String(s) if !s.is_empty() => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    _ => {
                        return Err(src.err(
                            kline,
                            "`import` takes the provider's id of the resource to adopt, a non-empty string",
                        ));
                    }
                };
                o.import = Some(id);
            }
            "version" => {
                let text = match x {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                let t = text.trim();
                if semver::Version::parse(t.strip_prefix('v').unwrap_or(t)).is_err() {
                    return Err(src.err(
                        kline,
                        format!(
                            "`version` takes the provider plugin's semantic version, like `version: 1.2.0`, not `{text}`"
                        ),
                    ));
                }
                o.version = Some(t.strip_prefix('v').unwrap_or(t).to_string());
            }
            "additionalSecretOutputs" => {
                o.additional_secret_outputs = string_list(src, kline, "additionalSecretOutputs", x)?
            }
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
