//! Fault test: the engine SIGKILLed at random points of `up` runs that create, update and
//! replace many resources. After each kill the state is valid and the documented recovery
//! converges; at the end no file on disk is unknown to the state, and `destroy` leaves nothing.
//!
//! Seeded: the seed is printed, and `FAULT_SEED=<n>` replays a run. Bounded to about two
//! minutes (`FAULT_SECONDS` changes the budget for the kill rounds).
//!
//! The program: Randoms `r<i>` and Files `f<i>` whose content is `${r<i>.result}`. Each round
//! changes some Randoms' `length` (replace) or `prefix` (update), some Files' `path` (replace)
//! or content tag (update). The operator follows the engine's messages (see [`recover`]): a
//! File whose create was cut short and exists is imported by its absolute path, the rest is
//! dropped with `--clear-pending`. Files use `overwrite: true`, so that a file whose import is
//! refused (it differs from what the create began with) is taken back by the next create.

use crate::support;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

const N: usize = 24;

/// What the program declares for one pair.
#[derive(Clone)]
struct Pair {
    length: u32,
    prefix: u32,
    version: u32,
    tag: u32,
}

fn program(pairs: &[Pair]) -> String {
    let mut y = String::from("resources:\n");
    for (i, p) in pairs.iter().enumerate() {
        y.push_str(&format!(
            "  r{i}:\n    type: local:index:Random\n    properties:\n      length: {}\n      prefix: p{}-\n",
            p.length, p.prefix
        ));
        y.push_str(&format!(
            "  f{i}:\n    type: local:index:File\n    properties:\n      path: f{i}-v{}.txt\n      content: ${{r{i}.result}}-t{}\n      overwrite: true\n",
            p.version, p.tag
        ));
    }
    y
}

/// The `f*.txt` files on disk.
fn files_on_disk(p: &Project) -> BTreeSet<String> {
    std::fs::read_dir(p.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('f') && n.ends_with(".txt"))
        .collect()
}

/// Files on disk that no resource in the state (live or old copy) nor pending operation has.
fn orphans(p: &Project) -> Vec<String> {
    let state = p.state();
    let d = &state["deployment"];
    let mut known = BTreeSet::new();
    let resources = d["resources"].as_array().cloned().unwrap_or_default();
    let pending = d["pending_operations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|o| o["resource"].clone());
    for r in resources.into_iter().chain(pending) {
        if let Some(path) = r["inputs"]["path"].as_str() {
            known.insert(path.to_string());
        }
        if let Some(name) = r["id"].as_str().and_then(|id| id.rsplit('/').next()) {
            known.insert(name.to_string());
        }
    }
    files_on_disk(p)
        .into_iter()
        .filter(|f| !known.contains(f))
        .collect()
}

/// The state after a kill: `preview` reads it (replaying the journal into the checkpoint, as
/// the README says) without complaint, and the checkpoint is a version 3 deployment.
fn assert_state_valid(p: &Project) {
    if !p.path().join(".pulumi-harness/dev.json").exists()
        && !p.path().join(".pulumi-harness/dev.journal").exists()
    {
        return;
    }
    let r = p.run(&["preview"]);
    assert_eq!(r.code, 0, "the state reads back: {}", r.describe());
    assert_eq!(p.state()["version"], 3);
}

#[derive(Default, Debug)]
struct Figures {
    rounds: usize,
    kills: usize,
    recovery_runs: usize,
    cleared: usize,
    imported: usize,
    skipped: usize,
    orphans: usize,
}

/// The pending creates in the state: (URN, type, `path` input).
fn pending_creates(p: &Project) -> Vec<(String, String, Option<String>)> {
    p.state()["deployment"]["pending_operations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o["type"] == "creating")
        .map(|o| {
            let r = &o["resource"];
            (
                r["urn"].as_str().unwrap().to_string(),
                r["type"].as_str().unwrap().to_string(),
                r["inputs"]["path"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// The recovery the engine's own messages give: `up`; on exit 3 the message lists each
/// pending create with its choices: one whose real resource exists is imported with
/// `refresh --import-pending-creates URN=ID` (a File's ID is its absolute path), one that does
/// not exist (or a Random, which has nothing outside the state) is dropped with
/// `--clear-pending`; exit 1 → `refresh`, then `up` again. Pending updates and deletes need no
/// one: the engine clears them with a warning.
fn recover(p: &Project, f: &mut Figures) {
    for _ in 0..6 {
        f.recovery_runs += 1;
        let r = p.run(&["up"]);
        match r.code {
            0 => return,
            3 => {
                let mut imports = Vec::new();
                for (urn, ty, path) in pending_creates(p) {
                    assert!(
                        r.stderr.contains(&urn) && r.stderr.contains("--import-pending-creates"),
                        "the message lists {urn} with its choices: {}",
                        r.stderr
                    );
                    let real = path
                        .filter(|_| ty == "local:index:File")
                        .and_then(|path| p.path().join(path).canonicalize().ok());
                    if let Some(real) = real {
                        imports.push(format!("{urn}={}", real.display()));
                    }
                }
                if !imports.is_empty() {
                    f.imported += imports.len();
                    f.recovery_runs += 1;
                    let mut args = vec!["refresh"];
                    for i in &imports {
                        args.push("--import-pending-creates");
                        args.push(i);
                    }
                    let r = p.run(&args);
                    assert!(
                        matches!(r.code, 0 | 1 | 3),
                        "the import ran: {}",
                        r.describe()
                    );
                }
                if !pending_creates(p).is_empty() {
                    f.cleared += 1;
                    f.recovery_runs += 1;
                    if p.run(&["up", "--clear-pending"]).code == 0 {
                        return;
                    }
                }
            }
            _ => {
                f.recovery_runs += 1;
                p.run(&["refresh"]);
            }
        }
    }
    let r = p.run(&["up"]);
    panic!("the recovery did not converge: {}", r.describe());
}

#[test]
fn engine_killed_at_random_points_loses_no_resource() {
    let seed: u64 = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let budget = Duration::from_secs(
        std::env::var("FAULT_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(75),
    );
    eprintln!("fault seed: {seed} (set FAULT_SEED={seed} to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pairs: Vec<Pair> = (0..N)
        .map(|_| Pair {
            length: rng.random_range(4..9),
            prefix: 0,
            version: 0,
            tag: 0,
        })
        .collect();
    let p = Project::local(&program(&pairs));
    let t = Instant::now();
    p.run(&["up"]).ok();
    let baseline = t.elapsed();
    let mut f = Figures::default();
    let started = Instant::now();
    while started.elapsed() < budget {
        f.rounds += 1;
        for pair in pairs.iter_mut() {
            match rng.random_range(0..10) {
                0 => pair.length = if pair.length == 8 { 4 } else { pair.length + 1 },
                1 => pair.prefix += 1,
                2 | 3 => pair.version += 1,
                4 => pair.tag += 1,
                _ => {}
            }
        }
        p.write_local(&program(&pairs));
        let mut engine = p
            .command(&["up", "--yes", "--json", "--parallel", "8"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = rng.random_range(0..baseline.as_millis().max(50) as u64 * 2);
        std::thread::sleep(Duration::from_millis(delay));
        if engine.try_wait().unwrap().is_none() {
            kill(engine.id() as i32, Signal::KILL);
            f.kills += 1;
        }
        engine.wait().unwrap();
        assert_state_valid(&p);
        let lost = orphans(&p);
        f.orphans += lost.len();
        assert!(
            lost.is_empty(),
            "seed {seed}, round {} (after the kill): files unknown to the state: {lost:?}\n{}",
            f.rounds,
            p.state()
        );
        // Half the time, when nothing is pending, go straight on to the next round's changes
        // (an old copy left by the kill may then be replaced again before it is deleted).
        let pending = p.state()["deployment"]["pending_operations"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        if !pending && rng.random_bool(0.5) {
            f.skipped += 1;
            continue;
        }
        recover(&p, &mut f);
        let lost = orphans(&p);
        f.orphans += lost.len();
        assert!(
            lost.is_empty(),
            "seed {seed}, round {}: files unknown to the state: {lost:?}\n{}",
            f.rounds,
            p.state()
        );
        // Converged: every old copy is deleted, so each File has exactly its own file.
        assert_eq!(
            files_on_disk(&p).len(),
            N,
            "seed {seed}: {:?}",
            files_on_disk(&p)
        );
    }
    p.run(&["destroy"]).ok();
    let left = files_on_disk(&p);
    assert!(left.is_empty(), "seed {seed}: destroy left {left:?}");
    assert!(p.resources().is_empty(), "{}", p.state());
    eprintln!(
        "fault figures (seed {seed}): {} rounds, {} kills, {} rounds went on without recovery, {} recovery runs, {} pending creates imported, {} clears, {} orphans",
        f.rounds, f.kills, f.skipped, f.recovery_runs, f.imported, f.cleared, f.orphans
    );
}
