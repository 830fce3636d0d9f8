//! `local:index:Random`: a random string, written on the SDK's typed layer.
//!
//! Inputs: `length` (a whole number from 1 to 1000000; changing it replaces the resource) and
//! `prefix` (a string, default empty; changing it updates in place, keeping the random part).
//! Output: `result`, the prefix followed by `length` random alphanumeric characters. A secret
//! prefix makes the result secret (the typed layer's secret propagation). Read keeps the
//! recorded state: a random string lives only there. For the same reason a Random cannot be
//! imported: its id does not hold the value, so the `impl` defines no `import`, and the SDK
//! answers an import with an error naming the type.

use provider_sdk::ops::CheckFailure;
use provider_sdk::typed::{CreateArgs, Created, Resource, UpdateArgs, resource};
use provider_sdk::{Context, Error, Result};
use rand::Rng;
use rand::distr::Alphanumeric;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The type token.
pub const TYPE: &str = "local:index:Random";

/// The longest random string Random generates.
const MAX_LENGTH: u32 = 1_000_000;

/// The `Random` resource.
#[derive(Debug, Default)]
pub struct Random;

/// The inputs of a random string.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomArgs {
    /// How many random characters to generate, from 1 to 1000000. Changing it replaces the
    /// resource.
    pub length: u32,
    /// Text put before the random characters. Changing it updates the resource in place and
    /// keeps the random part.
    pub prefix: Option<String>,
}

/// A random string of letters and digits, generated once and kept in the state.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RandomState {
    /// How many random characters were generated.
    pub length: u32,
    /// Text put before the random characters.
    pub prefix: Option<String>,
    /// The prefix followed by the random characters.
    pub result: String,
}

fn state(args: RandomArgs, random_part: &str) -> RandomState {
    let result = format!(
        "{}{random_part}",
        args.prefix.as_deref().unwrap_or_default()
    );
    RandomState {
        length: args.length,
        prefix: args.prefix,
        result,
    }
}

#[resource]
impl Resource for Random {
    type Inputs = RandomArgs;
    type Outputs = RandomState;
    const REPLACE_ON_CHANGES: &'static [&'static str] = &["length"];

    async fn check(&self, _ctx: &Context, inputs: &mut RandomArgs) -> Result<Vec<CheckFailure>> {
        if !(1..=MAX_LENGTH).contains(&inputs.length) {
            return Ok(vec![CheckFailure::new(
                "length",
                format!(
                    "must be a whole number from 1 to {MAX_LENGTH}, got {}",
                    inputs.length
                ),
            )]);
        }
        Ok(Vec::new())
    }

    async fn create(
        &self,
        ctx: &Context,
        args: CreateArgs<RandomArgs>,
    ) -> Result<Created<RandomState>> {
        let n = args.inputs.length as usize;
        let random: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(n)
            .map(char::from)
            .collect();
        ctx.log().info(format!("generated {n} random characters"));
        Ok(Created::new(random_id(), state(args.inputs, &random)))
    }

    async fn update(
        &self,
        _ctx: &Context,
        args: UpdateArgs<RandomArgs, RandomState>,
    ) -> Result<RandomState> {
        let old_prefix = args.state.prefix.as_deref().unwrap_or_default();
        let random = args.state.result.strip_prefix(old_prefix).ok_or_else(|| {
            Error::failed("the recorded state has no `result` matching its `prefix`; refresh or replace the resource")
        })?;
        Ok(state(args.news, random))
    }
}

fn random_id() -> String {
    let suffix: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(12)
        .map(char::from)
        .collect();
    format!("random-{}", suffix.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use provider_sdk::ops::DiffKind;
    use provider_sdk::testing::Driver;

    fn args(length: u32, prefix: &str) -> RandomArgs {
        RandomArgs {
            length,
            prefix: Some(prefix.into()),
        }
    }

    #[tokio::test]
    async fn the_lifecycle_in_one_line_per_step() {
        let driver = Driver::new(crate::typed_provider());
        let randoms = driver.resource::<Random>(TYPE);
        let r = randoms.create("r", &args(8, "a-")).await.unwrap();
        assert_eq!(r.outputs.result.len(), 10);
        let diff = randoms.diff(&r, &args(8, "b-")).await.unwrap();
        assert_eq!(diff.detailed_diff["prefix"].kind, DiffKind::Update);
        let updated = randoms.update(&r, &args(8, "b-")).await.unwrap();
        assert_eq!(updated.outputs.result[2..], r.outputs.result[2..]);
        let diff = randoms.diff(&updated, &args(9, "b-")).await.unwrap();
        assert_eq!(diff.detailed_diff["length"].kind, DiffKind::UpdateReplace);
        let read = randoms.read(&updated).await.unwrap().expect("still there");
        assert_eq!(read.outputs.result, updated.outputs.result);
        randoms.delete(read).await.unwrap();

        let failures = randoms.check(args(0, "")).await.unwrap();
        assert_eq!(failures[0].property, "length");
        assert!(
            !failures[0].reason.contains("length"),
            "{}",
            failures[0].reason
        );
    }
}
