//! Durations as Pulumi writes them: custom timeouts in a program (`30s`, `5m`, `1h30m`) and the
//! Go durations an SDK sends in `customTimeouts`.

use std::time::Duration;

/// Parses a duration like `30s`, `5m`, `1h30m`, `250ms` or `90` (seconds); `None` if it is not one.
///
/// ```
/// use plugin_host::duration::parse;
/// use std::time::Duration;
/// assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse("soon"), None);
/// ```
pub fn parse(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(n) = s.parse::<f64>() {
        return (n >= 0.0).then(|| Duration::from_secs_f64(n));
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut any = false;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
        } else {
            let unit: String = if c == 'm' && chars.get(i + 1) == Some(&'s') {
                i += 1;
                "ms".into()
            } else {
                c.to_string()
            };
            let n: f64 = num.parse().ok()?;
            num.clear();
            total += n * match unit.as_str() {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 0.001,
                _ => return None,
            };
            any = true;
        }
        i += 1;
    }
    (any && num.is_empty()).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds() {
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("5x"), None);
        assert_eq!(parse("5m3"), None);
    }
}
