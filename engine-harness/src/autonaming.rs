//! The user's `pulumi:autonaming` configuration, evaluated per resource into the proposal that
//! Check carries (`CheckRequest.autonaming`), as Pulumi's engine does.
//!
//! The configuration (project config in `Pulumi.yaml` or the stack file, key
//! `pulumi:autonaming`) holds a mode or a pattern at three levels, the most specific winning:
//!
//! ```yaml
//! config:
//!   pulumi:autonaming:
//!     value:
//!       pattern: ${project}-${name}-${hex(4)}   # every provider (or `mode: verbatim|disabled|default`)
//!       providers:
//!         db:
//!           mode: verbatim                      # every resource of package `db`
//!           resources:
//!             db:index:Table:
//!               pattern: ${name}_${num(3)}
//!               enforce: true                   # the provider must use it exactly
//! ```
//!
//! Patterns may use `${name}` (the logical name), `${organization}`, `${project}`, `${stack}`,
//! `${config.<key>}` (a project config value) and the random parts `${hex(n)}`,
//! `${alphanum(n)}`, `${string(n)}`, `${num(n)}` and `${uuid}`, drawn from the resource's
//! random seed (engine-harness's seed is derived from the URN, so a resource gets the same
//! proposal on every run). `default` mode sends no proposal; `verbatim` enforces the logical
//! name; `disabled` asks the provider to make up no name.

use std::collections::BTreeMap;

use pulumirpc::check_request::AutonamingOptions;
use pulumirpc::check_request::autonaming_options::Mode;
use serde::Deserialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// One level's setting.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Strategy {
    /// The provider names as it always does: no proposal.
    Default,
    /// The logical name, enforced.
    Verbatim,
    /// No name may be made up.
    Disabled,
    /// A pattern (stack expressions resolved), proposed or enforced.
    Pattern { pattern: String, enforce: bool },
}

/// The configuration, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Level {
    mode: Option<String>,
    pattern: Option<String>,
    enforce: Option<bool>,
    #[serde(default)]
    providers: BTreeMap<String, Level>,
    #[serde(default)]
    resources: BTreeMap<String, Level>,
}

/// The stack the patterns are evaluated for.
#[derive(Debug, Clone)]
pub struct StackContext<'a> {
    /// The organization (engine-harness has none: `organization`, as Pulumi's file backend).
    pub organization: &'a str,
    /// The project.
    pub project: &'a str,
    /// The stack.
    pub stack: &'a str,
    /// Project config values, for `${config.<key>}`.
    pub config: &'a BTreeMap<String, Json>,
}

/// The evaluated `pulumi:autonaming` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autonaming {
    default: Strategy,
    /// Per package: its default (when set), and per resource type.
    providers: BTreeMap<String, (Option<Strategy>, BTreeMap<String, Strategy>)>,
}

/// What Check sends for one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The options for `CheckRequest.autonaming`.
    pub options: AutonamingOptions,
    /// Whether a replacement must delete first (the name has no random part, so the two
    /// could not exist at once).
    pub delete_before_replace: bool,
    /// Whether the user asked for this resource specifically (a provider or resource entry,
    /// or `enforce`): a provider that ignores proposals deserves a warning.
    pub warn_if_no_support: bool,
}

impl Autonaming {
    /// Reads the configuration value (the object under `pulumi:autonaming`).
    pub fn parse(value: &Json, stack: &StackContext<'_>) -> Result<Autonaming, String> {
        let plain = crate::value::unwrap_secrets(value).0;
        let root: Level = serde_json::from_value(plain)
            .map_err(|e| format!("`pulumi:autonaming` is not a valid autonaming configuration: {e}; expected `mode: default|verbatim|disabled` or `pattern: ...` (with `enforce: true`), and `providers:`"))?;
        if !root.resources.is_empty() {
            return Err(
                "`pulumi:autonaming`: `resources:` belongs under a provider (`providers: {<package>: {resources: ...}}`)".into(),
            );
        }
        let default = strategy(&root, stack, "pulumi:autonaming")?.unwrap_or(Strategy::Default);
        let mut providers = BTreeMap::new();
        for (package, level) in &root.providers {
            if !level.providers.is_empty() {
                return Err(format!(
                    "`pulumi:autonaming`: provider `{package}` cannot hold `providers:`"
                ));
            }
            let own = strategy(level, stack, &format!("provider `{package}`"))?;
            let mut resources = BTreeMap::new();
            for (token, r) in &level.resources {
                let what = format!("resource type `{token}`");
                if !r.providers.is_empty() || !r.resources.is_empty() {
                    return Err(format!(
                        "`pulumi:autonaming`: {what} takes only `mode`, `pattern` and `enforce`"
                    ));
                }
                let s = strategy(r, stack, &what)?.ok_or_else(|| {
                    format!("`pulumi:autonaming`: {what} needs a `mode` or a `pattern`")
                })?;
                resources.insert(token.clone(), s);
            }
            providers.insert(package.clone(), (own, resources));
        }
        Ok(Autonaming { default, providers })
    }

    /// The proposal for the custom resource `urn` with Check's `seed`; `None` when the user's
    /// configuration leaves naming to the provider.
    pub fn for_resource(&self, urn: &str, seed: &[u8]) -> Option<Proposal> {
        let (type_token, name) = urn_type_and_name(urn);
        let package = crate::monitor::urn::package_of(type_token);
        let (strategy, specific) = match self.providers.get(package) {
            Some((own, resources)) => match resources.get(type_token) {
                Some(s) => (s, true),
                None => match own {
                    Some(s) => (s, true),
                    None => (&self.default, false),
                },
            },
            None => (&self.default, false),
        };
        let (proposed_name, mode, delete_before_replace, enforce) = match strategy {
            Strategy::Default => return None,
            Strategy::Verbatim => (name.to_string(), Mode::Enforce, true, true),
            Strategy::Disabled => (String::new(), Mode::Disable, true, true),
            Strategy::Pattern { pattern, enforce } => {
                let (n, random) = generate(pattern, name, seed);
                let mode = if *enforce {
                    Mode::Enforce
                } else {
                    Mode::Propose
                };
                (n, mode, !random, *enforce)
            }
        };
        Some(Proposal {
            options: AutonamingOptions {
                proposed_name,
                mode: mode as i32,
            },
            delete_before_replace,
            warn_if_no_support: specific || enforce,
        })
    }
}

/// The project's `pulumi:autonaming` configuration (from `Pulumi.yaml` or the stack file),
/// if it sets one.
pub fn from_project(
    project: &crate::program::Project,
) -> Result<Option<std::sync::Arc<Autonaming>>, crate::Error> {
    let Some(value) = project
        .provider_config
        .get("pulumi")
        .and_then(|c| c.get("autonaming"))
    else {
        return Ok(None);
    };
    let stack = StackContext {
        organization: "organization",
        project: &project.name,
        stack: &project.stack,
        config: &project.config,
    };
    Autonaming::parse(value, &stack)
        .map(|a| Some(std::sync::Arc::new(a)))
        .map_err(|message| crate::Error::Program {
            file: project.file.clone(),
            line: 0,
            message,
        })
}

/// A level's own strategy: `None` when it sets neither a mode nor a pattern.
fn strategy(
    level: &Level,
    stack: &StackContext<'_>,
    what: &str,
) -> Result<Option<Strategy>, String> {
    match (&level.mode, &level.pattern, level.enforce) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(format!(
            "`pulumi:autonaming`: {what} sets both `mode` and `pattern`/`enforce`; keep one"
        )),
        (None, None, Some(_)) => Err(format!(
            "`pulumi:autonaming`: {what} sets `enforce` without a `pattern`"
        )),
        (None, None, None) => Ok(None),
        (None, Some(p), enforce) => Ok(Some(Strategy::Pattern {
            pattern: resolve_stack(p, stack)?,
            enforce: enforce.unwrap_or(false),
        })),
        (Some(m), None, None) => match m.as_str() {
            "default" => Ok(Some(Strategy::Default)),
            "verbatim" => Ok(Some(Strategy::Verbatim)),
            "disabled" => Ok(Some(Strategy::Disabled)),
            other => Err(format!(
                "`pulumi:autonaming`: {what} has mode `{other}`; expected default, verbatim or disabled"
            )),
        },
    }
}

/// `${organization}`, `${project}`, `${stack}` and `${config.<key>}` replaced.
fn resolve_stack(pattern: &str, stack: &StackContext<'_>) -> Result<String, String> {
    let mut out = pattern
        .replace("${organization}", stack.organization)
        .replace("${project}", stack.project)
        .replace("${stack}", stack.stack);
    while let Some(start) = out.find("${config.") {
        let rest = &out[start + "${config.".len()..];
        let end = rest.find('}').ok_or_else(|| {
            format!("`pulumi:autonaming`: `${{config.` in `{pattern}` is not closed")
        })?;
        let key = &rest[..end];
        let value = stack.config.get(key).ok_or_else(|| {
            format!("`pulumi:autonaming`: the pattern `{pattern}` uses `${{config.{key}}}`, which the project's config does not set")
        })?;
        let text = match crate::value::unwrap_secrets(value).0 {
            Json::String(s) => s,
            other => other.to_string(),
        };
        out = format!("{}{text}{}", &out[..start], &rest[end + 1..]);
    }
    Ok(out)
}

/// The type token and logical name of a URN (`urn:pulumi:stack::project::[parent$]type::name`).
fn urn_type_and_name(urn: &str) -> (&str, &str) {
    let mut parts = urn.rsplitn(2, "::");
    let name = parts.next().unwrap_or_default();
    let qualified = parts
        .next()
        .and_then(|rest| rest.rsplit("::").next())
        .unwrap_or_default();
    (qualified.rsplit('$').next().unwrap_or_default(), name)
}

/// Deterministic random bytes from a seed: SHA-256 of the seed, then of it and a counter.
struct Random {
    key: [u8; 32],
    counter: u64,
    buf: Vec<u8>,
}

impl Random {
    fn new(seed: &[u8]) -> Random {
        Random {
            key: Sha256::digest(seed).into(),
            counter: 0,
            buf: Vec::new(),
        }
    }

    fn byte(&mut self) -> u8 {
        if self.buf.is_empty() {
            let mut h = Sha256::new();
            h.update(self.key);
            h.update(self.counter.to_le_bytes());
            self.counter += 1;
            self.buf = h.finalize().to_vec();
        }
        self.buf.pop().unwrap_or_default()
    }

    fn pick(&mut self, chars: &[u8]) -> char {
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - (256 % chars.len());
        loop {
            let b = usize::from(self.byte());
            if b < limit {
                return char::from(chars[b % chars.len()]);
            }
        }
    }
}

/// The pattern with `${name}` and its random parts filled in, and whether it had any random
/// part.
fn generate(pattern: &str, name: &str, seed: &[u8]) -> (String, bool) {
    const HEX: &[u8] = b"0123456789abcdef";
    const ALPHANUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"0123456789";
    let mut random = Random::new(seed);
    let mut out = String::new();
    let mut had_random = false;
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let expr = &after[..end];
        let sized = |f: &str| {
            expr.strip_prefix(f)
                .and_then(|r| r.strip_prefix('('))
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|n| n.parse::<usize>().ok())
        };
        let chars = if let Some(n) = sized("hex") {
            Some((n, HEX))
        } else if let Some(n) = sized("alphanum") {
            Some((n, ALPHANUM))
        } else if let Some(n) = sized("string") {
            Some((n, LETTERS))
        } else {
            sized("num").map(|n| (n, DIGITS))
        };
        match (expr, chars) {
            ("name", _) => out.push_str(name),
            ("uuid", _) => {
                let bytes: Vec<u8> = (0..16).map(|_| random.byte()).collect();
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                out.push_str(&format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                ));
                had_random = true;
            }
            (_, Some((n, set))) => {
                out.extend((0..n).map(|_| random.pick(set)));
                had_random = true;
            }
            // Not an expression of the pattern language: kept as written.
            _ => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    (out, had_random)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URN: &str = "urn:pulumi:dev::shop::db:index:Database::orders";

    fn parse(v: Json) -> Result<Autonaming, String> {
        let config = BTreeMap::from([("region".to_string(), json!("eu"))]);
        let stack = StackContext {
            organization: "organization",
            project: "shop",
            stack: "dev",
            config: &config,
        };
        Autonaming::parse(&v, &stack)
    }

    #[test]
    fn a_pattern_is_proposed_stably() {
        let a = parse(json!({"pattern": "${stack}-${config.region}-${name}-${hex(6)}"})).unwrap();
        let p = a.for_resource(URN, b"seed").unwrap();
        let name = &p.options.proposed_name;
        assert!(name.starts_with("dev-eu-orders-"), "{name}");
        assert_eq!(name.len(), "dev-eu-orders-".len() + 6);
        assert_eq!(p.options.mode, Mode::Propose as i32);
        assert!(!p.delete_before_replace && !p.warn_if_no_support);
        assert_eq!(
            a.for_resource(URN, b"seed").unwrap(),
            p,
            "same seed, same name"
        );
        assert_ne!(a.for_resource(URN, b"other").unwrap(), p);
    }

    #[test]
    fn levels_and_modes() {
        let a = parse(json!({
            "mode": "default",
            "providers": {"db": {"mode": "verbatim", "resources": {
                "db:index:Table": {"pattern": "${name}_${num(3)}", "enforce": true}
            }}}
        }))
        .unwrap();
        assert_eq!(
            a.for_resource("urn:pulumi:dev::shop::other:index:X::x", b""),
            None
        );
        let v = a.for_resource(URN, b"s").unwrap();
        assert_eq!(v.options.proposed_name, "orders");
        assert_eq!(v.options.mode, Mode::Enforce as i32);
        assert!(v.delete_before_replace && v.warn_if_no_support);
        let t = a
            .for_resource(
                "urn:pulumi:dev::shop::pkg:index:Parent$db:index:Table::items",
                b"s",
            )
            .unwrap();
        assert!(t.options.proposed_name.starts_with("items_"));
        assert!(
            t.options.proposed_name[6..]
                .chars()
                .all(|c| c.is_ascii_digit())
        );
        let d = parse(json!({"mode": "disabled"})).unwrap();
        assert_eq!(
            d.for_resource(URN, b"").unwrap().options.mode,
            Mode::Disable as i32
        );
    }

    #[test]
    fn bad_configurations_say_what_is_wrong() {
        let e = parse(json!({"mode": "verbatim", "pattern": "x"})).unwrap_err();
        assert!(e.contains("both `mode` and `pattern`"), "{e}");
        let e = parse(json!({"mode": "loud"})).unwrap_err();
        assert!(e.contains("mode `loud`"), "{e}");
        let e = parse(json!({"pattern": "${config.nope}"})).unwrap_err();
        assert!(e.contains("config.nope"), "{e}");
        let e = parse(json!({"providers": {"db": {"resources": {"db:index:T": {}}}}})).unwrap_err();
        assert!(e.contains("needs a `mode` or a `pattern`"), "{e}");
        let e = parse(json!({"patern": "x"})).unwrap_err();
        assert!(e.contains("patern"), "{e}");
    }
}
