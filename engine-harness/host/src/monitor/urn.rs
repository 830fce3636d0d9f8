//! Resource names (URNs) built as Pulumi builds them:
//! `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, where the qualified type is the
//! parent's qualified type, `$`, then the resource's own type. The root stack resource
//! (`pulumi:pulumi:Stack`) is left out of its children's chains.

/// The type token of the root stack resource every SDK registers first.
pub const ROOT_STACK_TYPE: &str = "pulumi:pulumi:Stack";

/// The prefix of an explicit or default provider resource's type (`pulumi:providers:<pkg>`).
pub const PROVIDER_TYPE_PREFIX: &str = "pulumi:providers:";

/// What a URN is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrnParts<'a> {
    /// The stack name.
    pub stack: &'a str,
    /// The project name.
    pub project: &'a str,
    /// The qualified type: parent chain and own type joined by `$`.
    pub qualified_type: &'a str,
    /// The resource's name.
    pub name: &'a str,
}

impl<'a> UrnParts<'a> {
    /// The resource's own type: the last element of the qualified type.
    pub fn own_type(&self) -> &'a str {
        self.qualified_type
            .rsplit('$')
            .next()
            .unwrap_or(self.qualified_type)
    }
}

/// The package of a type token: `aws` of `aws:s3:Bucket`.
pub fn package_of(type_token: &str) -> &str {
    type_token.split(':').next().unwrap_or(type_token)
}

/// Splits a URN into its parts, or `None` when `urn` is not one.
///
/// ```
/// use plugin_host::monitor::urn::parse;
/// let p = parse("urn:pulumi:dev::app::my:mod:Comp$local:index:File::f").unwrap();
/// assert_eq!(p.own_type(), "local:index:File");
/// assert_eq!(p.name, "f");
/// ```
pub fn parse(urn: &str) -> Option<UrnParts<'_>> {
    let rest = urn.strip_prefix("urn:pulumi:")?;
    let (stack, rest) = rest.split_once("::")?;
    let (project, rest) = rest.split_once("::")?;
    // The name may itself contain `::`; the type may not.
    let (qualified_type, name) = rest.split_once("::")?;
    if stack.is_empty() || project.is_empty() || qualified_type.is_empty() {
        return None;
    }
    Some(UrnParts {
        stack,
        project,
        qualified_type,
        name,
    })
}

/// The URN of a resource of type `ty` named `name` under `parent` (a parent URN, if any).
///
/// ```
/// use plugin_host::monitor::urn::{new, ROOT_STACK_TYPE};
/// let stack = new("dev", "app", None, ROOT_STACK_TYPE, "app-dev");
/// assert_eq!(stack, "urn:pulumi:dev::app::pulumi:pulumi:Stack::app-dev");
/// let comp = new("dev", "app", Some(&stack), "my:mod:Comp", "c");
/// assert_eq!(comp, "urn:pulumi:dev::app::my:mod:Comp::c");
/// let child = new("dev", "app", Some(&comp), "local:index:File", "f");
/// assert_eq!(child, "urn:pulumi:dev::app::my:mod:Comp$local:index:File::f");
/// ```
pub fn new(stack: &str, project: &str, parent: Option<&str>, ty: &str, name: &str) -> String {
    let chain = parent
        .and_then(parse)
        .map(|p| p.qualified_type)
        .filter(|t| *t != ROOT_STACK_TYPE);
    match chain {
        Some(chain) => format!("urn:pulumi:{stack}::{project}::{chain}${ty}::{name}"),
        None => format!("urn:pulumi:{stack}::{project}::{ty}::{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_double_colons_round_trip() {
        let u = new("s", "p", None, "a:b:C", "x::y");
        let parts = parse(&u).unwrap();
        assert_eq!(parts.name, "x::y");
        assert_eq!(parts.qualified_type, "a:b:C");
    }

    #[test]
    fn malformed_urns_are_rejected() {
        for bad in [
            "",
            "urn:pulumi:",
            "urn:pulumi:s::p",
            "urn:other:s::p::t::n",
            "urn:pulumi:s::::t::n",
        ] {
            assert!(parse(bad).is_none(), "{bad:?} parsed");
        }
    }
}
