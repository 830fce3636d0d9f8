//! Auto-naming: a resource's physical name, defaulted as Pulumi's own providers do it.
//!
//! A resource declares which input is its physical name ([`Resource::AUTONAME`]). When the
//! program does not set it, Check fills it in, in this order:
//!
//! 1. the name recorded on the last run (`olds`), so the name is stable across updates;
//! 2. the engine's proposal, when the user configured `pulumi:autonaming` (a pattern such as
//!    `${project}-${name}-${hex(4)}`, or `verbatim`): used as proposed (`propose` and
//!    `enforce` modes); with `disabled`, a check failure says the name must be set;
//! 3. the resource's logical name, `-`, and a random suffix ([`Autoname::random_suffix`]
//!    characters, lowercase hex) drawn from the engine's random seed for the resource.
//!
//! A name the program sets is always used as it is. The SDK tells the engine it honours
//! proposals (`supports_autonaming_configuration`).

use std::hash::{BuildHasher, Hasher};

use crate::ops::{AutonamingMode, CheckFailure, CheckRequest};
use crate::value::PropertyValue;

/// Which input is a resource's physical name, and how to make one up; see the
/// [module](self).
///
/// ```
/// use provider_sdk::typed::Autoname;
/// // `name`, defaulted to `<logical name>-<7 hex characters>`, 63 characters at most.
/// const AUTONAME: Option<Autoname> = Some(Autoname::property("name").max_length(63));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoname {
    pub(crate) property: &'static str,
    suffix: usize,
    max_length: Option<usize>,
}

impl Autoname {
    /// The input `property` (as serialized) is the physical name; the default suffix is 7
    /// hex characters, as Pulumi's providers use.
    pub const fn property(property: &'static str) -> Self {
        Autoname {
            property,
            suffix: 7,
            max_length: None,
        }
    }

    /// The number of random characters after the logical name and `-`.
    pub const fn random_suffix(mut self, chars: usize) -> Self {
        self.suffix = chars;
        self
    }

    /// The longest name the resource accepts: the logical name is shortened to fit the
    /// suffix (a proposal of the engine is not shortened; a longer one is a check failure).
    pub const fn max_length(mut self, chars: usize) -> Self {
        self.max_length = Some(chars);
        self
    }

    /// The name to fill in for `req`: `Ok(None)` when the program set one (or it is not known
    /// yet), a failure when none may be made up.
    pub(crate) fn choose(&self, req: &CheckRequest) -> Result<Option<String>, CheckFailure> {
        let set = |v: Option<&PropertyValue>| v.is_some_and(|v| *v != PropertyValue::Null);
        if set(req.news.get(self.property)) {
            return Ok(None);
        }
        if let Some(old) = req.olds.get(self.property)
            && let Some(old) = old.unwrap_secret().0.as_str()
            && !old.is_empty()
        {
            return Ok(Some(old.to_string()));
        }
        let logical = if req.name.is_empty() {
            req.urn.rsplit("::").next().unwrap_or_default()
        } else {
            req.name.as_str()
        };
        if let Some(proposal) = &req.autonaming {
            return match proposal.mode {
                AutonamingMode::Disable => Err(CheckFailure::new(
                    self.property,
                    "must be set: autonaming is disabled for this resource (`pulumi:autonaming` mode `disabled`)",
                )),
                AutonamingMode::Propose | AutonamingMode::Enforce => {
                    let name = &proposal.proposed_name;
                    match self.max_length {
                        Some(max) if name.chars().count() > max => Err(CheckFailure::new(
                            self.property,
                            format!(
                                "the name `{name}` that `pulumi:autonaming` proposes is longer than {max} characters; shorten the pattern"
                            ),
                        )),
                        _ => Ok(Some(name.clone())),
                    }
                }
            };
        }
        let suffix = random_hex(&req.random_seed, self.suffix);
        let mut prefix: String = logical.to_string();
        if let Some(max) = self.max_length {
            let room = max.saturating_sub(suffix.len() + 1);
            prefix = prefix.chars().take(room).collect();
        }
        Ok(Some(if suffix.is_empty() {
            prefix
        } else {
            format!("{prefix}-{suffix}")
        }))
    }
}

/// `chars` lowercase hex characters drawn from `seed` (the same seed gives the same
/// characters), or from the system's randomness when there is no seed.
fn random_hex(seed: &[u8], chars: usize) -> String {
    let mut out = String::with_capacity(chars);
    let fresh = std::collections::hash_map::RandomState::new();
    for block in 0u64.. {
        if out.len() >= chars {
            break;
        }
        let word = if seed.is_empty() {
            let mut h = fresh.build_hasher();
            h.write_u64(block);
            h.finish()
        } else {
            fnv1a(seed, block)
        };
        out.push_str(&format!("{word:016x}"));
    }
    out.truncate(chars);
    out
}

/// FNV-1a over `seed` and `block`, then a final mix so that nearby blocks differ everywhere.
fn fnv1a(seed: &[u8], block: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.iter().chain(&block.to_le_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // splitmix64's finalizer.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Autonaming;
    use crate::value::PropertyMap;

    fn request(news: PropertyMap, olds: PropertyMap) -> CheckRequest {
        let mut req = CheckRequest::new("db:index:Database", news);
        req.olds = olds;
        req.name = "orders".into();
        req.random_seed = vec![7; 32];
        req
    }

    #[test]
    fn logical_name_and_a_stable_suffix() {
        let a = Autoname::property("name");
        let req = request(PropertyMap::new(), PropertyMap::new());
        let name = a.choose(&req).unwrap().unwrap();
        assert!(name.starts_with("orders-"), "{name}");
        assert_eq!(name.len(), "orders-".len() + 7);
        assert!(
            name["orders-".len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
        assert_eq!(
            a.choose(&req).unwrap().unwrap(),
            name,
            "same seed, same name"
        );
        let mut other = req.clone();
        other.random_seed = vec![8; 32];
        assert_ne!(a.choose(&other).unwrap().unwrap(), name);
        // Recorded last time: kept, whatever the seed.
        let olds = PropertyMap::from([("name".into(), name.clone().into())]);
        let update = request(PropertyMap::new(), olds);
        assert_eq!(a.choose(&update).unwrap().unwrap(), name);
        // Set by the program: left alone.
        let set = request(
            PropertyMap::from([("name".into(), "mine".into())]),
            PropertyMap::new(),
        );
        assert_eq!(a.choose(&set).unwrap(), None);
        let short = Autoname::property("name").max_length(10).random_suffix(4);
        assert_eq!(short.choose(&req).unwrap().unwrap().len(), 10);
    }

    #[test]
    fn the_engines_proposal() {
        let a = Autoname::property("name");
        let mut req = request(PropertyMap::new(), PropertyMap::new());
        req.autonaming = Some(Autonaming::new("dev-orders-ab12", AutonamingMode::Enforce));
        assert_eq!(a.choose(&req).unwrap().unwrap(), "dev-orders-ab12");
        req.autonaming = Some(Autonaming::new("", AutonamingMode::Disable));
        assert_eq!(a.choose(&req).unwrap_err().property, "name");
    }
}
