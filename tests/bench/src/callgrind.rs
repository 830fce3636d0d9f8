//! Instructions a plugin executes per `Create`, counted by valgrind's callgrind.
//!
//! Instruction counts do not depend on how loaded the machine is, so they compare plugins
//! fairly even while other work runs. The plugin runs twice under callgrind: once serving
//! `base` calls, once serving `base + calls`; both runs also start, accept one connection and
//! stop on SIGTERM, so the difference divided by `calls` is the cost of one `Create` alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::MockEngine;
use crate::load;
use crate::plugin::{self, PluginSpec};

/// Total instructions (`Ir`) from a callgrind output file (its `summary:` or `totals:` line).
pub fn total_instructions(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// One run under callgrind serving `calls` sequential creates; returns total instructions.
async fn run_once(
    spec: &PluginSpec,
    engine: &MockEngine,
    calls: u64,
    out_file: &Path,
) -> Result<u64, Box<dyn std::error::Error>> {
    let _ = std::fs::remove_file(out_file);
    let mut command = vec![
        "valgrind".to_string(),
        "--tool=callgrind".to_string(),
        format!("--callgrind-out-file={}", out_file.display()),
    ];
    command.extend(spec.command_line(&engine.address));
    let running = plugin::launch(&command, Duration::from_secs(120)).await?;
    {
        let mut client = load::connect(running.port, Duration::from_secs(120)).await?;
        for n in 0..calls {
            if let Err((code, _)) = load::create_once(&mut client, &spec.type_token, n).await {
                return Err(
                    format!("{}: Create under callgrind failed: {code}", spec.label).into(),
                );
            }
        }
    }
    // Log messages the calls queued are part of their cost: let them reach the engine.
    crate::wait_for_logs_to_settle(engine).await;
    let tail = running.stderr_tail();
    // SIGTERM: an SDK plugin exits cleanly on it, and a plugin that simply dies of it still gets
    // its report written by valgrind (Python's SIGINT handling stalls under valgrind).
    running.terminate(Duration::from_secs(300)).await;
    let text = std::fs::read_to_string(out_file).map_err(|e| {
        format!(
            "{}: cannot read {}: {e}; stderr:\n{tail}",
            spec.label,
            out_file.display()
        )
    })?;
    total_instructions(&text)
        .ok_or_else(|| format!("no instruction total in {}", out_file.display()).into())
}

/// Instructions per `Create` for `spec`, from two runs differing by `calls` calls.
pub async fn instructions_per_create(
    spec: &PluginSpec,
    engine: &MockEngine,
    base: u64,
    calls: u64,
    work_dir: &Path,
) -> Result<(f64, u64, u64), Box<dyn std::error::Error>> {
    let file = |n: u64| -> PathBuf { work_dir.join(format!("callgrind.{}.{n}.out", spec.label)) };
    let small = run_once(spec, engine, base, &file(base)).await?;
    let large = run_once(spec, engine, base + calls, &file(base + calls)).await?;
    let per_call = (large as f64 - small as f64) / calls as f64;
    Ok((per_call, small, large))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_line() {
        let text = "version: 1\ncreator: callgrind\nevents: Ir\nsummary: 123456\nfn=main\n";
        assert_eq!(total_instructions(text), Some(123456));
        assert_eq!(total_instructions("totals: 99 1\n"), Some(99));
        assert_eq!(total_instructions("events: Ir\n"), None);
    }
}
