//! `local:index:Random`: a random string.
//!
//! Inputs: `length` (a whole number, at least 1; changing it replaces the resource) and
//! `prefix` (a string, default empty; changing it updates in place, keeping the random part).
//! Output: `result`, the prefix followed by `length` random alphanumeric characters. A secret
//! prefix makes the result secret.

use provider_sdk::ops::*;
use provider_sdk::{Context, Error, PropertyMap, PropertyValue, Result, diff_top_level};
use rand::Rng;
use rand::distr::Alphanumeric;

/// The type token.
pub const TYPE: &str = "local:index:Random";

/// The `Random` resource.
#[derive(Debug, Default)]
pub struct Random;

/// Reads a whole number of at least 1 from `length`, or explains what is wrong with it.
fn length(inputs: &PropertyMap) -> std::result::Result<Option<usize>, String> {
    match inputs.get("length").map(|v| v.unwrap_secret().0) {
        None | Some(PropertyValue::Null) => Err("`length` is required: how many random characters to generate".into()),
        Some(PropertyValue::Unknown(_)) => Ok(None),
        Some(PropertyValue::Number(n)) if n.fract() == 0.0 && *n >= 1.0 && *n <= 1_000_000.0 => Ok(Some(*n as usize)),
        Some(PropertyValue::Number(n)) => Err(format!("`length` must be a whole number from 1 to 1000000, got {n}")),
        Some(other) => Err(format!("`length` must be a number, got a {}", other.kind_name())),
    }
}

fn prefix(inputs: &PropertyMap) -> std::result::Result<(String, bool), String> {
    match inputs.get("prefix") {
        None => Ok((String::new(), false)),
        Some(v) => match v.unwrap_secret() {
            (PropertyValue::Null, secret) => Ok((String::new(), secret)),
            (PropertyValue::String(s), secret) => Ok((s.clone(), secret)),
            (other, _) => Err(format!("`prefix` must be a string, got a {}", other.kind_name())),
        },
    }
}

fn outputs(inputs: &PropertyMap, random_part: &str) -> Result<PropertyMap> {
    let (prefix, secret) = prefix(inputs).map_err(Error::InvalidRequest)?;
    let result = PropertyValue::String(format!("{prefix}{random_part}"));
    let mut out = inputs.clone();
    out.insert("result".into(), if secret { PropertyValue::secret(result) } else { result });
    Ok(out)
}

fn random_part(state: &PropertyMap) -> Option<String> {
    let (prefix, _) = prefix(state).ok()?;
    let (result, _) = state.get("result")?.unwrap_secret();
    result.as_str()?.strip_prefix(prefix.as_str()).map(str::to_string)
}

impl Random {
    pub(crate) async fn check(&self, _ctx: &Context, req: CheckRequest) -> Result<CheckResponse> {
        let mut failures = Vec::new();
        if let Err(reason) = length(&req.news) {
            failures.push(CheckFailure::new("length", reason));
        }
        if let Err(reason) = prefix(&req.news) {
            failures.push(CheckFailure::new("prefix", reason));
        }
        for key in req.news.keys().filter(|k| !matches!(k.as_str(), "length" | "prefix")) {
            failures.push(CheckFailure::new(key.clone(), format!("unknown property `{key}`; Random takes `length` and `prefix`")));
        }
        Ok(CheckResponse::invalid(req.news, failures))
    }

    pub(crate) async fn diff(&self, _ctx: &Context, req: DiffRequest) -> Result<DiffResponse> {
        let olds = if req.old_inputs.is_empty() { &req.olds } else { &req.old_inputs };
        let inputs_only: PropertyMap = olds.iter().filter(|(k, _)| k.as_str() != "result").map(|(k, v)| (k.clone(), v.clone())).collect();
        Ok(diff_top_level(&inputs_only, &req.news, &["length"]))
    }

    pub(crate) async fn create(&self, ctx: &Context, req: CreateRequest) -> Result<CreateResponse> {
        let Some(n) = length(&req.properties).map_err(Error::InvalidRequest)? else {
            // Preview with an unknown length: the result is unknown too.
            let mut out = req.properties.clone();
            out.insert("result".into(), PropertyValue::Unknown(Default::default()));
            return Ok(CreateResponse::new("", out));
        };
        let random: String = rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect();
        let properties = outputs(&req.properties, &random)?;
        if req.preview {
            let mut out = properties;
            out.insert("result".into(), PropertyValue::Unknown(Default::default()));
            return Ok(CreateResponse::new("", out));
        }
        ctx.log().info(format!("generated {n} random characters"));
        Ok(CreateResponse::new(random_id(), properties))
    }

    pub(crate) async fn read(&self, _ctx: &Context, req: ReadRequest) -> Result<ReadResponse> {
        // A random string lives only in state: what was recorded is what exists.
        let inputs: PropertyMap = req.properties.iter().filter(|(k, _)| k.as_str() != "result").map(|(k, v)| (k.clone(), v.clone())).collect();
        Ok(ReadResponse::found(req.id, req.properties, inputs))
    }

    pub(crate) async fn update(&self, _ctx: &Context, req: UpdateRequest) -> Result<UpdateResponse> {
        let random = random_part(&req.olds)
            .ok_or_else(|| Error::failed("the recorded state has no `result` matching its `prefix`; refresh or replace the resource"))?;
        Ok(UpdateResponse::new(outputs(&req.news, &random)?))
    }

    pub(crate) async fn delete(&self, _ctx: &Context, _req: DeleteRequest) -> Result<()> {
        Ok(())
    }
}

fn random_id() -> String {
    let suffix: String = rand::rng().sample_iter(&Alphanumeric).take(12).map(char::from).collect();
    format!("random-{}", suffix.to_lowercase())
}
