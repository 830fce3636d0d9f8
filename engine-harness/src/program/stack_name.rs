//! Stack names, checked as Pulumi checks them: they name files in the state folder
//! (`<stack>.json`) and the project (`Pulumi.<stack>.yaml`), so nothing may lead outside.

/// The rule, as shown to the user.
pub const STACK_NAME_RULE: &str = "a stack name has 1 to 100 characters, all letters, digits, `-`, `_` or `.`, and is not `.` or `..` (no path separators)";

/// Checks a stack name: 1 to 100 ASCII letters, digits, `-`, `_` or `.` (Pulumi's rule), and not
/// `.` or `..`. The error names the rule.
///
/// ```
/// use engine_harness::program::validate_stack_name;
/// assert!(validate_stack_name("dev").is_ok());
/// assert!(validate_stack_name("my-stack_1.prod").is_ok());
/// assert!(validate_stack_name("../evil").is_err());
/// ```
pub fn validate_stack_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty() || name.len() > 100 || !ok_chars || name == "." || name == ".." {
        return Err(format!("invalid stack name `{name}`: {STACK_NAME_RULE}"));
    }
    Ok(())
}
