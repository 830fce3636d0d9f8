//! `${…}` templates: references to resources, config and properties, and durations.

use serde_json::Value as Json;

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
pub(super) enum Piece {
    Text(String),
    Ref(Reference),
}

pub(super) fn parse_reference(text: &str) -> Result<Reference, String> {
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

pub(super) fn parse_pieces(s: &str) -> Result<Vec<Piece>, String> {
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

pub(super) fn collect_refs(v: &Json, out: &mut Vec<Reference>) -> Result<(), String> {
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

pub use plugin_host::duration::parse as parse_duration;
