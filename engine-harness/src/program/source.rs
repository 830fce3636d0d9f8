//! The YAML source of a program file: parsing, and the line of each key for error messages.

use crate::Error;
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A program file's text with the position of every mapping key, for error messages.
///
/// The positions come from a YAML parser that keeps marks (`yaml-rust2`), indexed by key path
/// (`["resources", "site", "properties"]`; sequence items are numbered), so an error names the
/// line where the key really is, not the first line that happens to contain its text.
pub(super) struct Source {
    pub(super) file: PathBuf,
    lines: Vec<String>,
    keys: HashMap<Vec<String>, (usize, usize)>,
}

impl Source {
    /// Reads the positions of `text`; a syntax error is reported at the line and column where
    /// the parser saw it (an unclosed quote: where the quoted text opens).
    pub(super) fn parse(file: &Path, text: &str) -> Result<Self, Error> {
        let mut index = KeyIndex::default();
        yaml_rust2::parser::Parser::new_from_str(text)
            .load(&mut index, false)
            .map_err(|e| Error::Program {
                file: file.to_path_buf(),
                line: e.marker().line(),
                message: format!(
                    "invalid YAML at column {}: {}; fix the syntax (indentation uses spaces; `key: value` pairs; close every quote)",
                    e.marker().col() + 1,
                    e.info()
                ),
            })?;
        Ok(Source {
            file: file.to_path_buf(),
            lines: text.lines().map(str::to_string).collect(),
            keys: index.keys,
        })
    }

    pub(super) fn err(&self, line: usize, message: impl Into<String>) -> Error {
        Error::Program {
            file: self.file.clone(),
            line,
            message: message.into(),
        }
    }

    /// The line of the key at `path`, if the file has it.
    pub(super) fn key_line(&self, path: &[&str]) -> Option<usize> {
        let path: Vec<String> = path.iter().map(|p| p.to_string()).collect();
        self.keys.get(&path).map(|(line, _)| *line)
    }

    /// The first line at or after `from` (1-based) containing `needle`; `from` when none.
    /// For text inside values (a `${…}` reference), which the key index does not cover.
    pub(super) fn find(&self, from: usize, needle: &str) -> usize {
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
    pub(super) fn top_key(&self, key: &str) -> usize {
        self.key_line(&[key]).unwrap_or(1)
    }

    /// The line of `key:` under the top-level `section:` (the section's line when absent).
    pub(super) fn child_key(&self, section: &str, key: &str) -> usize {
        self.key_line(&[section, key])
            .unwrap_or_else(|| self.top_key(section))
    }
}

/// Builds the key index from the parser's events.
#[derive(Default)]
struct KeyIndex {
    keys: HashMap<Vec<String>, (usize, usize)>,
    path: Vec<String>,
    frames: Vec<Frame>,
}

enum Frame {
    /// In a mapping; `true` when the next node is a key.
    Mapping(bool),
    /// In a sequence; the index of the next item.
    Sequence(usize),
}

impl KeyIndex {
    fn key_slot(&self) -> bool {
        matches!(self.frames.last(), Some(Frame::Mapping(true)))
    }

    fn key(&mut self, key: String, mark: yaml_rust2::scanner::Marker) {
        self.path.push(key);
        self.keys
            .entry(self.path.clone())
            .or_insert((mark.line(), mark.col() + 1));
        if let Some(Frame::Mapping(k)) = self.frames.last_mut() {
            *k = false;
        }
    }

    fn enter(&mut self) {
        if let Some(Frame::Sequence(n)) = self.frames.last() {
            self.path.push(n.to_string());
        }
    }

    fn leave(&mut self) {
        match self.frames.last_mut() {
            Some(Frame::Sequence(n)) => {
                *n += 1;
                self.path.pop();
            }
            Some(Frame::Mapping(k)) => {
                *k = true;
                self.path.pop();
            }
            None => {}
        }
    }
}

impl yaml_rust2::parser::MarkedEventReceiver for KeyIndex {
    fn on_event(&mut self, ev: yaml_rust2::Event, mark: yaml_rust2::scanner::Marker) {
        use yaml_rust2::Event;
        match ev {
            Event::Scalar(text, ..) if self.key_slot() => self.key(text, mark),
            Event::Alias(_) if self.key_slot() => self.key("*".into(), mark),
            Event::Scalar(..) | Event::Alias(_) => {
                self.enter();
                self.leave();
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A collection used as a key is not valid here; it is rejected later.
                if self.key_slot() {
                    self.key("?".into(), mark);
                } else {
                    self.enter();
                }
                self.frames.push(if matches!(ev, Event::MappingStart(..)) {
                    Frame::Mapping(true)
                } else {
                    Frame::Sequence(0)
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.frames.pop();
                self.leave();
            }
            _ => {}
        }
    }
}

pub(super) fn parse_yaml(file: &Path, text: &str) -> Result<Yaml, Error> {
    serde_yaml::from_str::<Yaml>(text).map_err(|e| Error::Program {
        file: file.to_path_buf(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        message: format!(
            "invalid YAML: {e}; fix the syntax (indentation uses spaces; `key: value` pairs)"
        ),
    })
}

/// Converts YAML to JSON, rejecting non-string keys and non-finite numbers.
pub(super) fn to_json(src: &Source, line: usize, v: &Yaml) -> Result<Json, Error> {
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

pub(super) fn as_mapping<'a>(
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

pub(super) fn key_str(k: &Yaml) -> String {
    match k {
        Yaml::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}
