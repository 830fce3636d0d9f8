//! `provider-bench`: provider plugins side by side.
//!
//! For each plugin given with `--plugin LABEL=TYPE=COMMAND` (the first one is the subject the
//! ratios are about), in one run:
//! - start to port line: the median of `--launches` launches (interleaved across plugins so a
//!   change in machine load hits all of them alike), and resident memory after start;
//! - on one launched instance and one HTTP/2 connection: `Create` calls sequentially and with
//!   64 and 2,000 calls in flight, each phase for `--phase-secs`: calls per second, latency,
//!   server CPU per call (from `/proc/<pid>/stat`), failed calls by gRPC code, peak memory;
//! - with `--callgrind LABEL`: instructions per `Create` under valgrind's callgrind, which do
//!   not depend on machine load.
//!
//! Every plugin receives the address of a stand-in engine that accepts `Log` calls, as the real
//! engine passes its own. `tests/bench/run.sh` builds everything and runs the standard set.

mod callgrind;
mod engine;
mod load;
mod plugin;
mod procfs;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::plugin::PluginSpec;

/// Benchmarks Pulumi provider plugins side by side.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// A plugin to measure, `LABEL=TYPE=COMMAND` (command split on whitespace; the engine
    /// address is appended). Repeat for peers; the first is the subject of the ratios.
    #[arg(long = "plugin", required = true)]
    plugins: Vec<PluginSpec>,
    /// Launches per plugin for the start-up figures.
    #[arg(long, default_value_t = 20)]
    launches: usize,
    /// How long after the port line the "memory after start" is read, in milliseconds.
    #[arg(long, default_value_t = 250)]
    settle_ms: u64,
    /// Length of each load phase in seconds.
    #[arg(long, default_value_t = 5.0)]
    phase_secs: f64,
    /// Minimum calls per load phase, however long they take.
    #[arg(long, default_value_t = 200)]
    min_calls: u64,
    /// Calls in flight for each load phase (1 = sequential).
    #[arg(long, value_delimiter = ',', default_value = "1,64,2000")]
    in_flight: Vec<usize>,
    /// Per-call deadline in seconds; a slower call counts as failed (DeadlineExceeded/Cancelled).
    #[arg(long, default_value_t = 60)]
    call_timeout_secs: u64,
    /// Count instructions per Create with callgrind for this plugin label (repeatable).
    #[arg(long = "callgrind")]
    callgrind: Vec<String>,
    /// Start this plugin label without the engine address (repeatable): an SDK plugin then has
    /// no engine to send log messages to, which isolates the cost of serving from logging.
    #[arg(long = "without-engine")]
    without_engine: Vec<String>,
    /// Print ratios of this plugin against every other (repeatable; default: the first plugin).
    #[arg(long = "subject")]
    subjects: Vec<String>,
    /// Calls that separate the two callgrind runs.
    #[arg(long, default_value_t = 1000)]
    callgrind_calls: u64,
    /// Calls in the smaller callgrind run.
    #[arg(long, default_value_t = 20)]
    callgrind_base: u64,
    /// Skip the launch (start-up and memory) measurements.
    #[arg(long)]
    no_launches: bool,
    /// Skip the load phases.
    #[arg(long)]
    no_load: bool,
    /// Where callgrind output files go.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

#[derive(Debug, Default)]
struct LaunchFigures {
    start_ms: Vec<f64>,
    rss_kib: Vec<u64>,
    clean_exits: usize,
}

#[derive(Debug)]
struct LoadFigures {
    phase: load::PhaseResult,
    server_cpu: Duration,
    client_cpu: Duration,
    peak_rss_kib: u64,
    load_average: String,
}

#[derive(Debug, Default)]
struct PluginFigures {
    launches: LaunchFigures,
    load: Vec<LoadFigures>,
    callgrind: Option<(f64, u64, u64)>,
    logs_received: u64,
    errors: Vec<String>,
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn machine() -> String {
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "?".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{nproc} CPUs ({model}), {:.1} GiB RAM, Linux {}, load average at start {}",
        mem_kib as f64 / 1024.0 / 1024.0,
        kernel.trim(),
        load_average()
    )
}

async fn measure_launches(cli: &Cli, engine: &str, figures: &mut [PluginFigures]) {
    let settle = Duration::from_millis(cli.settle_ms);
    for round in 0..cli.launches {
        for (spec, fig) in cli.plugins.iter().zip(figures.iter_mut()) {
            let command = spec.command_line(engine);
            match plugin::launch(&command, Duration::from_secs(60)).await {
                Ok(running) => {
                    fig.launches
                        .start_ms
                        .push(running.start_to_port.as_secs_f64() * 1000.0);
                    tokio::time::sleep(settle).await;
                    fig.launches.rss_kib.push(procfs::memory_kib(running.pid).0);
                    if running.stop(Duration::from_secs(10)).await {
                        fig.launches.clean_exits += 1;
                    }
                }
                Err(e) => fig.errors.push(format!("launch {round}: {e}")),
            }
        }
    }
}

async fn measure_load(
    cli: &Cli,
    spec: &PluginSpec,
    engine: &engine::MockEngine,
    ticks: u64,
    fig: &mut PluginFigures,
) -> Result<(), Box<dyn std::error::Error>> {
    let command = spec.command_line(&engine.address);
    let running = plugin::launch(&command, Duration::from_secs(60)).await?;
    let pid = running.pid;
    {
        let client =
            load::connect(running.port, Duration::from_secs(cli.call_timeout_secs)).await?;
        // Warm up: first-call costs (connection, lazy initialisation) are not per-call costs.
        let warm = load::closed_loop(&client, &spec.type_token, 4, Duration::ZERO, 200).await;
        if warm.failed() > 0 {
            return Err(format!(
                "{}: warm-up calls failed: {:?}; stderr:\n{}",
                spec.label,
                warm.failures,
                running.stderr_tail()
            )
            .into());
        }
        for &in_flight in &cli.in_flight {
            let load_average = load_average();
            let server_before = procfs::cpu_time(pid, ticks);
            let client_before = procfs::own_cpu_time(ticks);
            let phase = load::closed_loop(
                &client,
                &spec.type_token,
                in_flight,
                Duration::from_secs_f64(cli.phase_secs),
                cli.min_calls,
            )
            .await;
            // Work a call set off in the plugin (log messages still queued for the engine)
            // belongs to that call: wait until the engine stops receiving logs.
            wait_for_logs_to_settle(engine).await;
            let server_cpu = procfs::cpu_time(pid, ticks).saturating_sub(server_before);
            let client_cpu = procfs::own_cpu_time(ticks).saturating_sub(client_before);
            let peak_rss_kib = procfs::memory_kib(pid).1;
            fig.load.push(LoadFigures {
                phase,
                server_cpu,
                client_cpu,
                peak_rss_kib,
                load_average,
            });
            // Let queued work (log forwarding, freed connections) settle between phases.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    if !running.stop(Duration::from_secs(10)).await {
        fig.errors
            .push("did not exit cleanly within 10 s of SIGINT after the load phases".into());
    }
    Ok(())
}

/// Waits until no `Log` call has arrived for 300 ms (at most 60 s).
async fn wait_for_logs_to_settle(engine: &engine::MockEngine) {
    let give_up = Instant::now() + Duration::from_secs(60);
    let mut last = engine.logs();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = engine.logs();
        if now == last || Instant::now() > give_up {
            return;
        }
        last = now;
    }
}

fn fmt_ms(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else {
        format!("{v:.1}")
    }
}

fn fmt_ratio(a: f64, b: f64) -> String {
    if a.is_nan() || b.is_nan() || a <= 0.0 || b <= 0.0 {
        return "n/a".into();
    }
    if a <= b {
        format!("{:.2}x (1/{:.1})", a / b, b / a)
    } else {
        format!("{:.2}x", a / b)
    }
}

/// Instructions outside the calls: the small callgrind run minus its calls (start-up, one
/// connection, shutdown).
fn fixed_instructions(f: &PluginFigures, base: u64) -> f64 {
    f.callgrind
        .map_or(f64::NAN, |(per, small, _)| small as f64 - per * base as f64)
}

fn cpu_per_call_us(l: &LoadFigures) -> f64 {
    if l.phase.calls == 0 {
        f64::NAN
    } else {
        l.server_cpu.as_secs_f64() * 1e6 / l.phase.calls as f64
    }
}

/// The ratio table of plugin `s` against every other plugin.
fn ratio_table(cli: &Cli, figures: &[PluginFigures], s: usize, out: &mut String) {
    let subject = &figures[s];
    let subject_label = &cli.plugins[s].label;
    let peers: Vec<usize> = (0..figures.len()).filter(|&i| i != s).collect();
    let _ = writeln!(
        out,
        "### Ratios: {subject_label} / peer (below 1 means {subject_label} is smaller or faster)\n"
    );
    let _ = writeln!(
        out,
        "| figure | {} |",
        peers
            .iter()
            .map(|&i| cli.plugins[i].label.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|---|{}",
        "---:|".repeat(cli.plugins.len().saturating_sub(1))
    );
    let row = |name: &str, value: &dyn Fn(&PluginFigures) -> f64| -> String {
        let cells: Vec<String> = peers
            .iter()
            .map(|&i| fmt_ratio(value(subject), value(&figures[i])))
            .collect();
        format!("| {name} | {} |", cells.join(" | "))
    };
    if !cli.no_launches {
        let _ = writeln!(
            out,
            "{}",
            row("start to port (median)", &|f| median(&f.launches.start_ms))
        );
        let _ = writeln!(
            out,
            "{}",
            row("RSS after start (median)", &|f| median(
                &f.launches
                    .rss_kib
                    .iter()
                    .map(|&k| k as f64)
                    .collect::<Vec<_>>()
            ))
        );
    }
    if !cli.no_load {
        for (i, in_flight) in cli.in_flight.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}",
                row(
                    &format!("server CPU per Create, {in_flight} in flight"),
                    &|f| f.load.get(i).map_or(f64::NAN, cpu_per_call_us)
                )
            );
        }
        for (i, in_flight) in cli.in_flight.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}",
                row(&format!("calls/s, {in_flight} in flight"), &|f| f
                    .load
                    .get(i)
                    .map_or(f64::NAN, |l| l.phase.calls_per_second()))
            );
        }
    }
    if figures.iter().any(|f| f.callgrind.is_some()) {
        let _ = writeln!(
            out,
            "{}",
            row(
                "instructions to start, serve one connection and stop",
                &|f| { fixed_instructions(f, cli.callgrind_base) }
            )
        );
        let _ = writeln!(
            out,
            "{}",
            row("instructions per Create", &|f| f
                .callgrind
                .map_or(f64::NAN, |c| c.0))
        );
    }
    let _ = writeln!(out);
}

fn report(cli: &Cli, figures: &[PluginFigures], machine: &str, ticks: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## provider-bench results\n");
    let _ = writeln!(
        out,
        "Machine: {machine}; load average at end {}.",
        load_average()
    );
    let _ = writeln!(
        out,
        "CPU times from /proc/<pid>/stat (resolution 1/{ticks} s), summed over the plugin's process tree.\n"
    );

    if !cli.no_launches {
        let _ = writeln!(
            out,
            "### Start to port line and memory after start ({} launches each, interleaved)\n",
            cli.launches
        );
        let _ = writeln!(
            out,
            "| plugin | start to port, median ms | min | max | RSS {} ms after port, median MiB | clean exits on SIGINT |",
            cli.settle_ms
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for (spec, f) in cli.plugins.iter().zip(figures) {
            let l = &f.launches;
            let min = l.start_ms.iter().copied().fold(f64::INFINITY, f64::min);
            let max = l.start_ms.iter().copied().fold(0.0, f64::max);
            let rss: Vec<f64> = l.rss_kib.iter().map(|&k| k as f64 / 1024.0).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.1} | {}/{} |",
                spec.label,
                fmt_ms(median(&l.start_ms)),
                fmt_ms(if l.start_ms.is_empty() { f64::NAN } else { min }),
                fmt_ms(if l.start_ms.is_empty() { f64::NAN } else { max }),
                median(&rss),
                l.clean_exits,
                l.start_ms.len()
            );
        }
        let _ = writeln!(out);
    }

    if !cli.no_load {
        let _ = writeln!(
            out,
            "### Create calls on one connection ({} s per phase)\n",
            cli.phase_secs
        );
        let _ = writeln!(
            out,
            "| plugin | in flight | calls | calls/s | p50 ms | p99 ms | server CPU per call, µs | client CPU per call, µs | failed (codes) | peak RSS MiB | load avg before |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|");
        for (spec, f) in cli.plugins.iter().zip(figures) {
            for l in &f.load {
                let failures = if l.phase.failures.is_empty() {
                    "0".to_string()
                } else {
                    let codes: Vec<String> = l
                        .phase
                        .failures
                        .iter()
                        .map(|(c, n)| format!("{c}: {n}"))
                        .collect();
                    format!("{} ({})", l.phase.failed(), codes.join(", "))
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} | {} | {:.1} | {} |",
                    spec.label,
                    l.phase.in_flight,
                    l.phase.calls,
                    l.phase.calls_per_second(),
                    l.phase.latency_percentile_us(50.0) as f64 / 1000.0,
                    l.phase.latency_percentile_us(99.0) as f64 / 1000.0,
                    cpu_per_call_us(l),
                    l.client_cpu.as_secs_f64() * 1e6 / l.phase.calls.max(1) as f64,
                    failures,
                    l.peak_rss_kib as f64 / 1024.0,
                    l.load_average
                );
            }
        }
        let _ = writeln!(out);
        let logs: Vec<String> = cli
            .plugins
            .iter()
            .zip(figures)
            .map(|(s, f)| format!("{}: {}", s.label, f.logs_received))
            .collect();
        let _ = writeln!(
            out,
            "Engine `Log` calls received during the load phases: {}.\n",
            logs.join(", ")
        );
    }

    if figures.iter().any(|f| f.callgrind.is_some()) {
        let _ = writeln!(
            out,
            "### Instructions per Create (callgrind; runs of {} and {} sequential calls, difference / {})\n",
            cli.callgrind_base,
            cli.callgrind_base + cli.callgrind_calls,
            cli.callgrind_calls
        );
        let _ = writeln!(
            out,
            "| plugin | instructions per Create | start, one connection, stop | total, small run | total, large run |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for (spec, f) in cli.plugins.iter().zip(figures) {
            if let Some((per, small, large)) = f.callgrind {
                let _ = writeln!(
                    out,
                    "| {} | {:.0} | {:.0} | {} | {} |",
                    spec.label,
                    per,
                    fixed_instructions(f, cli.callgrind_base),
                    small,
                    large
                );
            }
        }
        let _ = writeln!(out);
    }

    // Ratios of each subject (by default the first plugin) against each peer.
    for label in &cli.subjects {
        if let Some(i) = cli.plugins.iter().position(|p| &p.label == label) {
            ratio_table(cli, figures, i, &mut out);
        }
    }
    if cli.subjects.is_empty() {
        ratio_table(cli, figures, 0, &mut out);
    }

    let samples: Vec<String> = cli
        .plugins
        .iter()
        .zip(figures)
        .flat_map(|(s, f)| {
            f.load.iter().flat_map(move |l| {
                l.phase.failure_samples.iter().map(move |(code, message)| {
                    format!(
                        "- {}, {} in flight, {code}: \"{message}\"",
                        s.label, l.phase.in_flight
                    )
                })
            })
        })
        .collect();
    if !samples.is_empty() {
        let _ = writeln!(
            out,
            "Failed calls, first message per code:\n\n{}\n",
            samples.join("\n")
        );
    }

    let errors: Vec<String> = cli
        .plugins
        .iter()
        .zip(figures)
        .flat_map(|(s, f)| f.errors.iter().map(move |e| format!("- {}: {e}", s.label)))
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "### Problems\n\n{}\n", errors.join("\n"));
    }
    out
}

async fn run(mut cli: Cli) -> Result<bool, Box<dyn std::error::Error>> {
    let mut labels = std::collections::BTreeSet::new();
    for spec in &cli.plugins {
        if !labels.insert(spec.label.clone()) {
            return Err(format!(
                "plugin label `{}` is given twice; labels must be unique",
                spec.label
            )
            .into());
        }
    }
    for label in &cli.without_engine {
        let Some(spec) = cli.plugins.iter_mut().find(|s| &s.label == label) else {
            return Err(format!(
                "--without-engine {label}: no --plugin has that label (labels: {labels:?})"
            )
            .into());
        };
        spec.engine_arg = false;
    }
    for label in cli.callgrind.iter().chain(&cli.subjects) {
        if !labels.contains(label) {
            return Err(format!(
                "--callgrind/--subject {label}: no --plugin has that label (labels: {labels:?})"
            )
            .into());
        }
    }
    let work_dir = cli
        .work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("provider-bench"));
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| format!("cannot create work dir {}: {e}", work_dir.display()))?;
    let machine = machine();
    let ticks = procfs::clock_ticks_per_second();
    let engine = engine::MockEngine::start().await?;
    let mut figures: Vec<PluginFigures> = cli
        .plugins
        .iter()
        .map(|_| PluginFigures::default())
        .collect();
    let started = Instant::now();

    if !cli.no_launches {
        eprintln!(
            "provider-bench: {} launches of each plugin...",
            cli.launches
        );
        measure_launches(&cli, &engine.address, &mut figures).await;
    }
    if !cli.no_load {
        for (spec, fig) in cli.plugins.iter().zip(figures.iter_mut()) {
            eprintln!("provider-bench: load phases for {}...", spec.label);
            let logs_before = engine.logs();
            if let Err(e) = measure_load(&cli, spec, &engine, ticks, fig).await {
                fig.errors.push(format!("load phases: {e}"));
            }
            // Logs travel asynchronously; give the last ones a moment to arrive.
            tokio::time::sleep(Duration::from_millis(200)).await;
            fig.logs_received = engine.logs() - logs_before;
        }
    }
    for label in &cli.callgrind {
        let index = cli
            .plugins
            .iter()
            .position(|s| &s.label == label)
            .unwrap_or(0);
        eprintln!("provider-bench: callgrind for {label}...");
        match callgrind::instructions_per_create(
            &cli.plugins[index],
            &engine,
            cli.callgrind_base,
            cli.callgrind_calls,
            &work_dir,
        )
        .await
        {
            Ok(c) => figures[index].callgrind = Some(c),
            Err(e) => figures[index].errors.push(format!("callgrind: {e}")),
        }
    }
    print!("{}", report(&cli, &figures, &machine, ticks));
    println!("Took {:.0} s.", started.elapsed().as_secs_f64());
    Ok(figures.iter().all(|f| f.errors.is_empty()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "provider-bench: finished, but some measurements failed (see Problems above)"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("provider-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ratios_read_both_ways() {
        assert_eq!(fmt_ratio(1.0, 4.0), "0.25x (1/4.0)");
        assert_eq!(fmt_ratio(3.0, 2.0), "1.50x");
        assert_eq!(fmt_ratio(f64::NAN, 2.0), "n/a");
    }
}
