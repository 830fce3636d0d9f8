//! `fn::invoke`: provider functions in templates.
//!
//! Loading lifts every `fn::invoke` mapping out of its template into [`Project::invokes`] and
//! leaves a slot (`{INVOKE_SLOT: n}`) in its place. The engine calls each function once, as a
//! node of the dependency graph, and the [`Evaluator`] fills the slot with its result: so the
//! evaluation stays synchronous, and a variable used twice calls its function once.

use super::InvokeDecl;
use super::resource::named_resource;
use super::source::Source;
use crate::Error;
use crate::value::PropertyMap;
use serde_json::Value as Json;
use std::collections::BTreeSet;

/// The key of a slot that stands for the result of `Project::invokes[n]`. Users cannot write
/// it: loading rejects unknown `fn::` keys before it puts slots in.
pub(super) const INVOKE_SLOT: &str = "fn::invoke#result";

/// The keys of a `fn::invoke` mapping.
const INVOKE_KEYS: &str = "function, arguments, options, return";

/// The index of the invoke `v` is the slot of, if it is one.
pub(super) fn invoke_slot(v: &Json) -> Option<usize> {
    match v {
        Json::Object(m) if m.len() == 1 => m
            .get(INVOKE_SLOT)
            .and_then(Json::as_u64)
            .and_then(|n| usize::try_from(n).ok()),
        _ => None,
    }
}

/// The invokes whose slots appear in `v` (not those inside their arguments).
pub(super) fn slots(v: &Json, out: &mut BTreeSet<usize>) {
    if let Some(n) = invoke_slot(v) {
        out.insert(n);
        return;
    }
    match v {
        Json::Array(a) => a.iter().for_each(|x| slots(x, out)),
        Json::Object(m) => m.values().for_each(|x| slots(x, out)),
        _ => {}
    }
}

/// Where a template lies in the file, to name the line of each `fn::invoke` in it.
pub(super) struct Place<'a> {
    pub(super) src: &'a Source,
    /// The key path of the template (`["resources", "a", "properties"]`).
    pub(super) path: Vec<String>,
    /// The line to name when the key index has no better one.
    pub(super) line: usize,
}

impl Place<'_> {
    fn line_of(&self, path: &[String]) -> usize {
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        (1..=keys.len())
            .rev()
            .find_map(|n| self.src.key_line(&keys[..n]))
            .unwrap_or(self.line)
    }
}

/// Moves every `fn::invoke` in `v` into `out`, innermost first, leaving slots behind.
pub(super) fn extract_invokes(
    place: &Place<'_>,
    v: &mut Json,
    out: &mut Vec<InvokeDecl>,
) -> Result<(), Error> {
    let mut path = place.path.clone();
    extract(place, &mut path, v, out)
}

fn extract(
    place: &Place<'_>,
    path: &mut Vec<String>,
    v: &mut Json,
    out: &mut Vec<InvokeDecl>,
) -> Result<(), Error> {
    match v {
        Json::Object(m) if m.len() == 1 && m.contains_key("fn::invoke") => {
            path.push("fn::invoke".into());
            let line = place.line_of(path);
            let spec = m.remove("fn::invoke").unwrap_or(Json::Null);
            let decl = parse_invoke(place, path, line, spec, out)?;
            path.pop();
            out.push(decl);
            let mut slot = serde_json::Map::new();
            slot.insert(INVOKE_SLOT.into(), Json::from(out.len() - 1));
            *v = Json::Object(slot);
        }
        Json::Object(m) => {
            for (k, x) in m.iter_mut() {
                path.push(k.clone());
                extract(place, path, x, out)?;
                path.pop();
            }
        }
        Json::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                path.push(i.to_string());
                extract(place, path, x, out)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// `fn::invoke: {function, arguments, options: {provider}, return}` at `line`.
fn parse_invoke(
    place: &Place<'_>,
    path: &mut Vec<String>,
    line: usize,
    spec: Json,
    out: &mut Vec<InvokeDecl>,
) -> Result<InvokeDecl, Error> {
    let src = place.src;
    let Json::Object(spec) = spec else {
        return Err(src.err(
            line,
            format!("`fn::invoke` takes a mapping with {INVOKE_KEYS}, e.g. `fn::invoke: {{function: local:index:hash, arguments: {{content: hi}}}}`"),
        ));
    };
    let mut function = None;
    let mut arguments = PropertyMap::new();
    let mut provider = None;
    let mut return_field = None;
    for (k, x) in spec {
        path.push(k.clone());
        let kline = place.line_of(path);
        match (k.as_str(), x) {
            ("function", Json::String(f)) => function = Some(f),
            ("arguments", Json::Object(mut args)) => {
                for (ak, ax) in args.iter_mut() {
                    path.push(ak.clone());
                    extract(place, path, ax, out)?;
                    path.pop();
                }
                arguments = args;
            }
            ("arguments", Json::Null) => {}
            ("options", Json::Object(opts)) => {
                for (ok, ox) in opts {
                    match (ok.as_str(), ox) {
                        ("provider", Json::String(p)) => {
                            provider = Some(named_resource(src, kline, "provider", &p)?);
                        }
                        (other, _) => {
                            return Err(src.err(
                                kline,
                                format!("`fn::invoke` option `{other}` is not supported; engine-harness takes `provider: ${{name}}`"),
                            ));
                        }
                    }
                }
            }
            ("return", Json::String(r)) if !r.is_empty() => return_field = Some(r),
            ("function" | "arguments" | "options" | "return", _) => {
                return Err(src.err(
                    kline,
                    format!(
                        "`fn::invoke`: `{k}` must be {}",
                        match k.as_str() {
                            "function" => "a function token string like `local:index:hash`",
                            "arguments" => "a mapping of argument names to values",
                            "options" => "a mapping, e.g. `{provider: ${name}}`",
                            _ => "the name of a result field",
                        }
                    ),
                ));
            }
            (other, _) => {
                return Err(src.err(
                    kline,
                    format!("unknown key `{other}` in `fn::invoke`; expected {INVOKE_KEYS}"),
                ));
            }
        }
        path.pop();
    }
    let function = function.ok_or_else(|| {
        src.err(
            line,
            "`fn::invoke` has no `function`; add the function token, e.g. `function: local:index:hash`",
        )
    })?;
    let parts: Vec<&str> = function.split(':').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(src.err(
            line,
            format!("`{function}` is not a function token; write `<package>:<module>:<function>`, e.g. `local:index:hash`"),
        ));
    }
    Ok(InvokeDecl {
        function,
        arguments,
        provider,
        return_field,
        dependencies: BTreeSet::new(),
        invokes: BTreeSet::new(),
        line,
    })
}
