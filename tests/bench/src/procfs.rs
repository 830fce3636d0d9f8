//! What `/proc` says about a process tree: CPU time and resident memory.
//!
//! A plugin may be a wrapper script that starts the real server as a child, so every figure
//! covers the launched process and all its descendants.

use std::fs;
use std::time::Duration;

/// Clock ticks per second for `/proc/<pid>/stat` times (`getconf CLK_TCK`, almost always 100).
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// The fields of `/proc/<pid>/stat` after the command name, which may itself hold spaces.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// `pid` and all its descendants, found by scanning `/proc` for parent links.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            // Field 4 of stat is the parent pid; index 1 after the command name.
            if let Some(parent) = stat_fields(child).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                parents.push((child, parent));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let current = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == current)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    found
}

/// User plus system CPU time consumed so far by `pid` and its descendants (threads that have
/// exited included, as the kernel folds them into the process).
pub fn cpu_time(pid: u32, ticks_per_second: u64) -> Duration {
    let ticks: u64 = tree(pid)
        .into_iter()
        .filter_map(|p| {
            let f = stat_fields(p)?;
            // utime and stime are fields 14 and 15: indices 11 and 12 after the command name.
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum();
    Duration::from_nanos(ticks * 1_000_000_000 / ticks_per_second)
}

/// Memory of the process tree in KiB: (resident now, peak resident), from `/proc/<pid>/status`.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let mut rss = 0;
    let mut hwm = 0;
    for p in tree(pid) {
        let Ok(status) = fs::read_to_string(format!("/proc/{p}/status")) else {
            continue;
        };
        for line in status.lines() {
            let value = |l: &str| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("VmRSS:") {
                rss += value(line);
            } else if line.starts_with("VmHWM:") {
                hwm += value(line);
            }
        }
    }
    (rss, hwm)
}

/// CPU time of this (the benchmark's own) process.
pub fn own_cpu_time(ticks_per_second: u64) -> Duration {
    cpu_time(std::process::id(), ticks_per_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_memory_and_a_tree() {
        let (rss, hwm) = memory_kib(std::process::id());
        assert!(rss > 0, "VmRSS of this test process should be positive");
        assert!(hwm >= rss, "peak RSS {hwm} below current RSS {rss}");
        assert_eq!(tree(std::process::id())[0], std::process::id());
    }

    #[test]
    fn cpu_time_grows_with_work() {
        // Busy work until the kernel's tick-based accounting shows it; generous on a loaded
        // machine, where this process may get only a sliver of a CPU.
        let ticks = clock_ticks_per_second();
        let before = own_cpu_time(ticks);
        let start = std::time::Instant::now();
        let mut x: u64 = 1;
        while own_cpu_time(ticks) <= before {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "60 s of busy work did not show as CPU time in /proc/self/stat"
            );
            for _ in 0..1_000_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
        }
    }
}
