//! Evaluation: built-in functions and `${…}` resolved against existing resources' outputs.

use super::Project;
use super::graph::{RootKind, root_kind, unknown_root};
use super::invoke::{INVOKE_SLOT, invoke_slot};
use super::template::{PathPart, Piece, Reference, parse_pieces};
use crate::value;
use crate::value::PropertyMap;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::Path;

/// The built-in functions engine-harness evaluates.
pub const FUNCTIONS: [&str; 5] = [
    "fn::invoke",
    "fn::secret",
    "fn::stringAsset",
    "fn::fileAsset",
    "fn::toJSON",
];

/// The asset signature.
pub(super) const ASSET_SIG: &str = "c44067f5952c0a294b673a41bacd8c17";

pub(super) fn asset(kind: &str, text: &str, bytes: &[u8]) -> Json {
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

pub(super) fn call_function(f: &str, arg: Json, dir: &Path) -> Result<Json, String> {
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
        "fn::invoke" => Err("`fn::invoke` is called by the engine, not evaluated in place".into()),
        other => Err(format!(
            "`{other}` is not supported; engine-harness evaluates {}",
            FUNCTIONS.join(", ")
        )),
    }
}

/// The first unsupported `fn::` function used in `v`, if any.
pub(super) fn unsupported_function(v: &Json) -> Option<String> {
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
    /// Results of the invokes called so far, by index in [`Project::invokes`].
    pub invokes: &'a HashMap<usize, Json>,
}

impl Evaluator<'_> {
    /// Evaluates a template value: strings that are exactly one `${ref}` become the referenced
    /// value; other strings interpolate (unknown if any part is unknown, secret if any part is).
    pub fn eval(&self, v: &Json) -> Result<Json, String> {
        self.eval_depth(v, 0)
    }

    pub(super) fn eval_depth(&self, v: &Json, depth: usize) -> Result<Json, String> {
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
            Json::Object(m) if m.len() == 1 && m.contains_key(INVOKE_SLOT) => {
                let n = invoke_slot(v).unwrap_or(usize::MAX);
                self.invokes.get(&n).cloned().ok_or_else(|| {
                    let f = self.project.invokes.get(n).map(|i| i.function.as_str());
                    format!(
                        "the result of `fn::invoke` {} is used before the function was called",
                        f.unwrap_or("?")
                    )
                })?
            }
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

    pub(super) fn lookup(&self, r: &Reference, depth: usize) -> Result<Json, String> {
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
                    Some(PathPart::Key(k)) if !res.outputs.contains_key(k) => {
                        if value::is_unknown(&res.id) {
                            // A preview of a resource not created yet: its outputs are not all
                            // known, so a missing one may yet appear.
                            return Ok(value::unknown());
                        }
                        return Err(missing_property(r, k, &res.outputs));
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

/// `${r.prop}` where `r` has no output `prop`: name it and the properties `r` has.
fn missing_property(r: &Reference, key: &str, outputs: &PropertyMap) -> String {
    let mut real: Vec<String> = ["id", "urn"].iter().map(|s| s.to_string()).collect();
    real.extend(outputs.keys().cloned());
    format!(
        "`${{{}}}`: `{}` has no property `{key}`; its properties are: {}",
        r.text,
        r.root,
        real.join(", ")
    )
}

pub(super) fn walk(mut cur: Json, path: &[PathPart], text: &str) -> Result<Json, String> {
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
