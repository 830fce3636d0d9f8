//! The parts of `Pulumi.yaml` that say how to run a program: name, runtime and its options,
//! and `main`.

use super::error::LanguageError;
use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// Which language a project is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// `runtime: python`.
    Python,
    /// `runtime: nodejs` (JavaScript or TypeScript).
    NodeJs,
    /// `runtime: yaml`, which engine-harness interprets itself.
    Yaml,
    /// `runtime: go`: run by Pulumi's language plugin only.
    Go,
    /// `runtime: dotnet`: run by Pulumi's language plugin only.
    Dotnet,
    /// `runtime: java`: run by Pulumi's language plugin only.
    Java,
}

impl Runtime {
    /// The name `Pulumi.yaml` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Python => "python",
            Runtime::NodeJs => "nodejs",
            Runtime::Yaml => "yaml",
            Runtime::Go => "go",
            Runtime::Dotnet => "dotnet",
            Runtime::Java => "java",
        }
    }

    /// The runtime `name` names, if Pulumi has one by that name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Runtime::Python,
            Runtime::NodeJs,
            Runtime::Yaml,
            Runtime::Go,
            Runtime::Dotnet,
            Runtime::Java,
        ]
        .into_iter()
        .find(|r| r.name() == name)
    }
}

/// A project's run settings, read from its `Pulumi.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectInfo {
    /// The directory holding `Pulumi.yaml`.
    pub dir: PathBuf,
    /// `name`.
    pub name: String,
    /// `runtime` (or `runtime.name`).
    pub runtime: Runtime,
    /// `runtime.options.virtualenv` (Python), as written.
    pub virtualenv: Option<String>,
    /// `runtime.options.typescript` (Node.js); `None` means Pulumi's default, true.
    pub typescript: Option<bool>,
    /// `runtime.options.tsconfig` (Node.js).
    pub tsconfig: Option<String>,
    /// `main`, as written.
    pub main: Option<String>,
    /// `runtime.options`, as JSON (what a language plugin receives in `ProgramInfo.options`).
    pub options: serde_json::Value,
    /// `plugins.languages`: language plugins named in the project, `(name, path)` with the path
    /// resolved against the project directory.
    pub language_plugins: Vec<(String, PathBuf)>,
}

impl ProjectInfo {
    /// Reads `dir/Pulumi.yaml`.
    pub fn load(dir: &Path) -> Result<Self, LanguageError> {
        let file = dir.join("Pulumi.yaml");
        let err = |message: String| LanguageError::Project {
            file: file.clone(),
            message,
        };
        let text = std::fs::read_to_string(&file).map_err(|e| {
            err(format!(
                "cannot read it ({e}); a project needs a Pulumi.yaml with `name` and `runtime`"
            ))
        })?;
        let doc: Value = serde_yaml::from_str(&text).map_err(|e| err(e.to_string()))?;
        Self::from_document(dir, &file, &doc)
    }

    /// The run settings of the parsed `Pulumi.yaml` `doc` (the file `file` in `dir`): how a
    /// caller that has parsed the file already reads them without parsing it again.
    pub fn from_document(dir: &Path, file: &Path, doc: &Value) -> Result<Self, LanguageError> {
        let err = |message: String| LanguageError::Project {
            file: file.to_path_buf(),
            message,
        };
        let text_of = |v: Option<&Value>, what: &str| -> Result<Option<String>, LanguageError> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(err(format!("`{what}` must be a string"))),
            }
        };
        let name = text_of(doc.get("name"), "name")?
            .ok_or_else(|| err("`name` is missing; add `name: <project name>`".into()))?;
        let (runtime_name, options) = match doc.get("runtime") {
            Some(Value::String(s)) => (s.clone(), None),
            Some(m @ Value::Mapping(_)) => (
                text_of(m.get("name"), "runtime.name")?
                    .ok_or_else(|| err("`runtime.name` is missing".into()))?,
                m.get("options"),
            ),
            _ => {
                return Err(err(
                    "`runtime` is missing; add `runtime: python`, `nodejs` or `yaml`".into(),
                ));
            }
        };
        let Some(runtime) = Runtime::from_name(&runtime_name) else {
            return Err(LanguageError::UnknownRuntime {
                file: file.to_path_buf(),
                runtime: runtime_name,
            });
        };
        let mut language_plugins = Vec::new();
        if let Some(list) = doc.get("plugins").and_then(|p| p.get("languages")) {
            let items = list.as_sequence().ok_or_else(|| {
                err("`plugins.languages` must be a list of `{name, path}`".into())
            })?;
            for item in items {
                let name = item.get("name").and_then(Value::as_str);
                let path = item.get("path").and_then(Value::as_str);
                let (Some(name), Some(path)) = (name, path) else {
                    return Err(err(
                        "each `plugins.languages` entry needs `name` (the runtime) and `path`"
                            .into(),
                    ));
                };
                language_plugins.push((name.to_string(), dir.join(path)));
            }
        }
        let option = |key: &str| options.and_then(|o| o.get(key));
        let typescript = match option("typescript") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(err(
                    "`runtime.options.typescript` must be true or false".into()
                ));
            }
        };
        Ok(ProjectInfo {
            virtualenv: text_of(option("virtualenv"), "runtime.options.virtualenv")?,
            tsconfig: text_of(option("tsconfig"), "runtime.options.tsconfig")?,
            main: text_of(doc.get("main"), "main")?,
            options: options
                .and_then(|o| serde_json::to_value(o).ok())
                .unwrap_or(serde_json::Value::Null),
            language_plugins,
            dir: dir.to_path_buf(),
            name,
            runtime,
            typescript,
        })
    }

    /// The directory the program runs in, and the program argument for the SDK's runner:
    /// `main` when it names a file, else `.` in `main`'s directory (or the project's).
    pub fn entry(&self) -> (PathBuf, String) {
        match &self.main {
            Some(main) => {
                let path = self.dir.join(main);
                if path.is_dir() {
                    (path, ".".into())
                } else {
                    (self.dir.clone(), main.clone())
                }
            }
            None => (self.dir.clone(), ".".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<ProjectInfo, LanguageError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Pulumi.yaml"), yaml).unwrap();
        ProjectInfo::load(dir.path())
    }

    #[test]
    fn runtime_as_string_or_mapping_with_options() {
        let p = load("name: a\nruntime: python\n").unwrap();
        assert_eq!(p.runtime, Runtime::Python);
        assert_eq!(p.virtualenv, None);
        let p = load(
            "name: a\nruntime:\n  name: python\n  options:\n    virtualenv: .venv\nmain: src/\n",
        )
        .unwrap();
        assert_eq!(p.virtualenv.as_deref(), Some(".venv"));
        assert_eq!(p.main.as_deref(), Some("src/"));
        let p =
            load("name: a\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n").unwrap();
        assert_eq!((p.runtime, p.typescript), (Runtime::NodeJs, Some(false)));
    }

    #[test]
    fn unknown_runtime_and_missing_fields_are_named() {
        let e = load("name: a\nruntime: cobol\n").unwrap_err().to_string();
        assert!(e.contains("runtime `cobol` is not supported"), "{e}");
        let e = load("runtime: python\n").unwrap_err().to_string();
        assert!(e.contains("`name` is missing"), "{e}");
        let e = load("name: a\n").unwrap_err().to_string();
        assert!(e.contains("`runtime` is missing"), "{e}");
    }
}
