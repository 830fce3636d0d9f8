//! Property paths as Pulumi writes them: `outer.inner`, `names[0]`, `["key.with.dots"].x`,
//! with `*` for every key or element (`tags.*`, `items[*]`). One parser and one printer for
//! every place a path is read or shown: `ignoreChanges`, detailed diffs and `--diff`, and
//! `pulumi config --path`.
//!
//! As in Pulumi, a wildcard is the key `*`: `[*]`, `.*` and `["*"]` are the same segment, and
//! only the operations that take wildcards (`ignoreChanges`) read it as one.
//!
//! ```
//! use engine_harness::property_path::{PropertyPath, Segment};
//! let p = PropertyPath::parse(r#"tags["a.b"].list[2]"#).unwrap();
//! assert_eq!(
//!     p.segments(),
//!     [Segment::Key("tags".into()), Segment::Key("a.b".into()),
//!      Segment::Key("list".into()), Segment::Index(2)]
//! );
//! assert_eq!(p.to_string(), r#"tags["a.b"].list[2]"#);
//! assert_eq!(PropertyPath::parse("x y").unwrap().to_string(), r#"["x y"]"#);
//! ```

use std::fmt;

/// One step into a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A map key; `*` stands for every key or element where wildcards are read.
    Key(String),
    /// A list index.
    Index(usize),
}

impl Segment {
    /// Whether this is the wildcard `*`.
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Segment::Key(k) if k == "*")
    }
}

/// A parsed property path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyPath(Vec<Segment>);

impl PropertyPath {
    /// Parses `path`; the error says what is wrong with it, for the caller to name the path.
    pub fn parse(path: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut rest = path;
        if rest.is_empty() {
            return Err("the path is empty".into());
        }
        if rest.starts_with('.') {
            return Err("a path starts with a name or an index, not `.`".into());
        }
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                if after.is_empty() {
                    return Err("a path ends with a name or an index, not `.`".into());
                }
                if after.starts_with('[') {
                    return Err("expected a name after `.`".into());
                }
                rest = after;
            } else if let Some(after) = rest.strip_prefix("[\"") {
                let (key, after) = quoted_key(after)?;
                rest = after;
                segments.push(Segment::Key(key));
            } else if let Some(after) = rest.strip_prefix('[') {
                let close = after
                    .find(']')
                    .ok_or("missing closing bracket in an array index")?;
                let inside = &after[..close];
                segments.push(if inside == "*" {
                    Segment::Key("*".into())
                } else {
                    Segment::Index(
                        inside
                            .parse::<usize>()
                            .map_err(|_| format!("`{inside}` is not an array index"))?,
                    )
                });
                rest = &after[close + 1..];
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                segments.push(Segment::Key(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        Ok(PropertyPath(segments))
    }

    /// The path's steps, outermost first (never empty).
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The steps, owned.
    pub fn into_segments(self) -> Vec<Segment> {
        self.0
    }

    /// The path of `key` inside the value at `parent` (a path already printed, or empty for a
    /// top-level property).
    pub fn child_key(parent: &str, key: &str) -> String {
        let mut out = parent.to_string();
        write_key(&mut out, key, parent.is_empty());
        out
    }
}

/// The top-level property a printed path starts with (`tags` for `tags.env`, `a.b` for
/// `["a.b"].c`); the text up to the first `.` or `[` when the path does not parse.
pub fn top_level(path: &str) -> String {
    match PropertyPath::parse(path).map(PropertyPath::into_segments) {
        Ok(segments) => match segments.into_iter().next() {
            Some(Segment::Key(k)) => k,
            _ => path.to_string(),
        },
        Err(_) => path.split(['.', '[']).next().unwrap_or(path).to_string(),
    }
}

/// A quoted key's text after `["`: the key and what follows its `"]`. `\"` and `\\` escape.
fn quoted_key(text: &str) -> Result<(String, &str), String> {
    let mut key = String::new();
    let mut chars = text.char_indices();
    let end = loop {
        match chars.next() {
            None => return Err("missing closing quote in a property name".into()),
            Some((i, '"')) => break i + 1,
            Some((_, '\\')) => match chars.next() {
                Some((_, c @ ('"' | '\\'))) => key.push(c),
                Some((_, c)) => {
                    key.push('\\');
                    key.push(c);
                }
                None => return Err("missing closing quote in a property name".into()),
            },
            Some((_, c)) => key.push(c),
        }
    };
    let rest = text[end..]
        .strip_prefix(']')
        .ok_or("missing closing bracket after a quoted property name")?;
    Ok((key, rest))
}

/// Appends `key` as Pulumi prints it: a plain name after a `.` (none at the start), or
/// `["..."]` when the key holds a space, `.`, `[`, `]` or `"`, or is empty.
fn write_key(out: &mut String, key: &str, first: bool) {
    let quote = key.is_empty()
        || key
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '.' | '[' | ']' | '"'));
    if quote {
        out.push_str("[\"");
        for c in key.chars() {
            if matches!(c, '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str("\"]");
    } else {
        if !first {
            out.push('.');
        }
        out.push_str(key);
    }
}

/// `segments` printed as a path, as [`PropertyPath`]'s `Display` prints it.
pub fn print(segments: &[Segment]) -> String {
    let mut out = String::new();
    for (i, seg) in segments.iter().enumerate() {
        match seg {
            Segment::Key(k) => write_key(&mut out, k, i == 0),
            Segment::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::{PropertyPath, Segment, top_level};

    #[test]
    fn parses_names_indexes_quoted_keys_and_wildcards() {
        let p = PropertyPath::parse(r#"a["b.c"][2].d"#).unwrap();
        assert_eq!(
            p.segments(),
            [
                Segment::Key("a".into()),
                Segment::Key("b.c".into()),
                Segment::Index(2),
                Segment::Key("d".into())
            ]
        );
        let escaped = PropertyPath::parse(r#"["say \"hi\""]"#).unwrap();
        assert_eq!(escaped.segments(), [Segment::Key("say \"hi\"".into())]);
        assert_eq!(escaped.to_string(), r#"["say \"hi\""]"#);
        for wild in ["a.*", "a[*]", r#"a["*"]"#] {
            let p = PropertyPath::parse(wild).unwrap();
            assert!(p.segments()[1].is_wildcard(), "{wild}");
        }
        for bad in [
            "",
            ".a",
            "a.",
            "a.[0]",
            "a[x]",
            "a[0",
            r#"a["b]"#,
            r#"a["b"x"#,
        ] {
            assert!(PropertyPath::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn prints_what_it_parses() {
        for path in [
            "a",
            "a.b",
            "a[0].b",
            r#"a["b.c"]"#,
            r#"["x y"].z"#,
            "tags[*]",
        ] {
            let printed = PropertyPath::parse(path).unwrap().to_string();
            let again = PropertyPath::parse(&printed).unwrap();
            assert_eq!(
                again,
                PropertyPath::parse(path).unwrap(),
                "{path} -> {printed}"
            );
        }
        assert_eq!(PropertyPath::child_key("", "env"), "env");
        assert_eq!(PropertyPath::child_key("tags", "env"), "tags.env");
        assert_eq!(PropertyPath::child_key("tags", "a.b"), r#"tags["a.b"]"#);
        assert_eq!(top_level(r#"["a.b"].c"#), "a.b");
        assert_eq!(top_level("columns[2]"), "columns");
    }
}
