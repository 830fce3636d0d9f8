//! The YAML source of a program file: parsing, and the line of each key for error messages.

#[allow(unused_imports)]
use super::*;

/// Line lookup in a source file, for error messages.
pub(super) struct Source {
    file: PathBuf,
    lines: Vec<String>,
    children: std::cell::RefCell<HashMap<String, HashMap<String, usize>>>,
}

impl Source {
    pub(super) fn new(file: &Path, text: &str) -> Self {
        Source {
            file: file.to_path_buf(),
            lines: text.lines().map(str::to_string).collect(),
            children: Default::default(),
        }
    }

    pub(super) fn err(&self, line: usize, message: impl Into<String>) -> Error {
        Error::Program {
            file: self.file.clone(),
            line,
            message: message.into(),
        }
    }

    /// The first line at or after `from` (1-based) containing `needle`; `from` when none.
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
        let pat = format!("{key}:");
        self.lines
            .iter()
            .position(|l| l.starts_with(&pat))
            .map(|i| i + 1)
            .unwrap_or(1)
    }

    /// The line of `key:` indented under the top-level `section:` (indexed once per section).
    pub(super) fn child_key(&self, section: &str, key: &str) -> usize {
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
