//! `pulumi-resource-versioned`: one provider binary that plays several releases, for the tests
//! of plugin versions, packaging and upgrade checks.
//!
//! Which release it is comes from a flag file next to the executable, `versioned.json`:
//! `{"version": "2.0.0", "variant": "rename"}` (no file: version `1.0.0`, variant `base`). A
//! release tarball holds the binary and its flag file, so two installed versions are two
//! folders of the plugin cache, each a real process reporting its own version. Variants:
//!
//! | variant | what changes from `base` |
//! |---|---|
//! | `base` | `versioned:index:Thing`: input `size` (number, required), optional `label`; a change of either updates in place |
//! | `rename` | `size` is renamed `length` without an alias: Check wants `length`, Read returns `length` |
//! | `replace` | a change of `size` forces a replacement (`replaceOnChanges` in the schema and in Diff) |
//! | `harmless` | a new optional input `note` and a new resource `versioned:index:Extra` |
//!
//! Every resource's outputs carry `servedBy`: the version of the plugin that created or last
//! updated it. With `VERSIONED_FIXTURE_LOG` set, each Create, Update and Delete appends
//! `<version> <operation> <id>` to that file, so a test can tell which plugin did what.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use provider_sdk::ops::*;
use provider_sdk::{Context, Error, PropertyValue, ResourceProvider, Result, async_trait};
use serde_json::json;

const THING: &str = "versioned:index:Thing";
const EXTRA: &str = "versioned:index:Extra";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Base,
    Rename,
    Replace,
    Harmless,
}

struct Versioned {
    version: String,
    variant: Variant,
    next: AtomicU64,
}

impl Versioned {
    /// The input that holds the size in this release.
    fn size_key(&self) -> &'static str {
        if self.variant == Variant::Rename {
            "length"
        } else {
            "size"
        }
    }

    fn types(&self) -> Vec<&'static str> {
        if self.variant == Variant::Harmless {
            vec![THING, EXTRA]
        } else {
            vec![THING]
        }
    }

    fn known(&self, type_token: &str) -> Result<()> {
        if self.types().contains(&type_token) {
            Ok(())
        } else {
            Err(Error::InvalidRequest(format!(
                "unknown resource type `{type_token}`; this provider (versioned {}) manages: {}",
                self.version,
                self.types().join(", ")
            )))
        }
    }

    fn inputs_allowed(&self) -> Vec<&'static str> {
        let mut keys = vec![self.size_key(), "label"];
        if self.variant == Variant::Harmless {
            keys.push("note");
        }
        keys
    }

    fn log(&self, op: &str, id: &str) {
        if let Some(path) = std::env::var_os("VERSIONED_FIXTURE_LOG")
            && let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        {
            let _ = writeln!(f, "{} {op} {id}", self.version);
        }
    }

    fn outputs(&self, inputs: &BTreeMap<String, PropertyValue>) -> BTreeMap<String, PropertyValue> {
        let mut out = inputs.clone();
        out.insert(
            "servedBy".into(),
            PropertyValue::String(self.version.clone()),
        );
        out
    }

    fn schema(&self) -> serde_json::Value {
        let size = self.size_key();
        let mut size_spec = json!({"type": "number", "description": "How big it is."});
        if self.variant == Variant::Replace {
            size_spec["replaceOnChanges"] = json!(true);
        }
        let mut inputs = json!({size: size_spec, "label": {"type": "string"}});
        if self.variant == Variant::Harmless {
            inputs["note"] = json!({"type": "string"});
        }
        let mut outputs = inputs.clone();
        outputs["servedBy"] = json!({"type": "string"});
        let mut resources = json!({
            THING: {
                "description": "A thing with a size.",
                "inputProperties": inputs,
                "requiredInputs": [size],
                "properties": outputs,
                "required": [size, "servedBy"],
            }
        });
        if self.variant == Variant::Harmless {
            resources[EXTRA] = json!({
                "inputProperties": {"label": {"type": "string"}},
                "properties": {"label": {"type": "string"}, "servedBy": {"type": "string"}},
                "required": ["servedBy"],
            });
        }
        json!({
            "name": "versioned",
            "version": self.version,
            "resources": resources,
        })
    }
}

#[async_trait]
impl ResourceProvider for Versioned {
    async fn get_schema(
        &self,
        _ctx: &Context,
        _req: GetSchemaRequest,
    ) -> Result<GetSchemaResponse> {
        Ok(GetSchemaResponse::new(self.schema().to_string()))
    }

    async fn check(&self, _ctx: &Context, req: CheckRequest) -> Result<CheckResponse> {
        self.known(&req.type_token)?;
        let mut failures = Vec::new();
        let allowed = if req.type_token == EXTRA {
            vec!["label"]
        } else {
            self.inputs_allowed()
        };
        for key in req.news.keys() {
            if !allowed.contains(&key.as_str()) {
                failures.push(CheckFailure::new(
                    key.clone(),
                    format!(
                        "unknown input `{key}` for {} (version {}); known: {}",
                        req.type_token,
                        self.version,
                        allowed.join(", ")
                    ),
                ));
            }
        }
        if req.type_token == THING {
            let size = self.size_key();
            match req.news.get(size) {
                Some(PropertyValue::Number(_)) | Some(PropertyValue::Unknown(_)) => {}
                Some(_) => failures.push(CheckFailure::new(
                    size,
                    format!("`{size}` must be a number"),
                )),
                None => failures.push(CheckFailure::new(size, format!("`{size}` is required"))),
            }
        }
        if failures.is_empty() {
            Ok(CheckResponse::valid(req.news))
        } else {
            Ok(CheckResponse::invalid(req.news, failures))
        }
    }

    async fn diff(&self, _ctx: &Context, req: DiffRequest) -> Result<DiffResponse> {
        let mut detailed = BTreeMap::new();
        let keys: std::collections::BTreeSet<&String> =
            req.old_inputs.keys().chain(req.news.keys()).collect();
        for key in keys {
            let (old, new) = (req.old_inputs.get(key), req.news.get(key));
            if old == new {
                continue;
            }
            let kind = match (old, new) {
                (None, _) => DiffKind::Add,
                (_, None) => DiffKind::Delete,
                _ => DiffKind::Update,
            };
            let replaces = self.variant == Variant::Replace && key == "size";
            detailed.insert(
                key.clone(),
                PropertyDiff::input(if replaces { kind.replacing() } else { kind }),
            );
        }
        Ok(DiffResponse::from_detailed(detailed))
    }

    async fn create(&self, _ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        self.known(&req.type_token)?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{}-{n}", req.name, std::process::id());
        if !req.preview {
            self.log("create", &id);
        }
        Ok(CreateResponse::new(id, self.outputs(&req.properties)))
    }

    async fn read(&self, _ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
        self.known(&req.type_token)?;
        let (mut properties, mut inputs) = (req.properties, req.inputs);
        // The rename release migrates what it reads: `size` becomes `length`.
        if self.variant == Variant::Rename {
            for map in [&mut properties, &mut inputs] {
                if let Some(v) = map.remove("size") {
                    map.insert("length".into(), v);
                }
            }
        }
        Ok(ReadResponse::found(req.id, properties, inputs))
    }

    async fn update(&self, _ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        if !req.preview {
            self.log("update", &req.id);
        }
        Ok(UpdateResponse::new(self.outputs(&req.news)))
    }

    async fn delete(&self, _ctx: &Context, req: DeleteRequest) -> Result<()> {
        self.log("delete", &req.id);
        Ok(())
    }
}

/// Reads `versioned.json` beside the executable.
fn release() -> std::result::Result<(String, Variant), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    let flag = exe.with_file_name("versioned.json");
    let text = match std::fs::read_to_string(&flag) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(("1.0.0".into(), Variant::Base));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", flag.display())),
    };
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", flag.display()))?;
    let version = v["version"].as_str().unwrap_or("1.0.0").to_string();
    let variant = match v["variant"].as_str().unwrap_or("base") {
        "base" => Variant::Base,
        "rename" => Variant::Rename,
        "replace" => Variant::Replace,
        "harmless" => Variant::Harmless,
        other => {
            return Err(format!(
                "{}: unknown variant `{other}`; use base, rename, replace or harmless",
                flag.display()
            ));
        }
    };
    Ok((version, variant))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (version, variant) = match release() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let provider = Versioned {
        version: version.clone(),
        variant,
        next: AtomicU64::new(1),
    };
    provider_sdk::Plugin::new(provider, version).main().await
}
