#!/usr/bin/env bash
# Programs benchmark: a Python program and a TypeScript program that each register N
# `local:index:Random` resources (every fourth from the tenth on takes its `prefix` from the
# `length` output of the resource ten before it, so the SDK waits on outputs), run
#   (a) under `engine-harness up` (the engine serving the resource monitor, the real example
#       provider), then a second `up` of the same program, which changes nothing (no-op up);
#   (b) under the `noop_monitor` example: a monitor that answers every registration at once with
#       its inputs as outputs, no provider, no state: the program's and its SDK's own cost.
# Default N: 1000. RUNS (default 1) repeats the whole set, alternating the programs.
#
# Build the release binaries it runs (the engine, the example provider and the example) in one
# command, then run it:
#
#   cargo build --release -p engine-harness -p provider-example --bins --example noop_monitor
#   engine-harness/bench/programs.sh [N]
#
# BIN (default $CARGO_TARGET_DIR/release, else target/release) names the directory holding
# `engine-harness`, `pulumi-resource-local` and `examples/noop_monitor`. BASE, when set, names
# another such directory (say, a copy of main's binaries): each round then runs both builds, in
# turn, base first in odd rounds and head first in even ones, every run side by side with its
# base under the same load:
#
#   mkdir -p /tmp/base/examples && cp target/release/{engine-harness,pulumi-resource-local} /tmp/base/
#   cp target/release/examples/noop_monitor /tmp/base/examples/    # (then build the head)
#   BASE=/tmp/base RUNS=3 engine-harness/bench/programs.sh 1000
#
# Each new program is run once, unmeasured, under the no-op monitor first: the Node SDK's
# ts-node caches a compiled program (under the temp directory, keyed by its path), so without
# that warm-up whichever run came first would also pay the TypeScript compilation (seconds of
# CPU at N = 1000). Within a round the engine's runs and the no-op monitor's take turns going
# first (odd rounds: engine first). After the rows comes a summary: per
# build, program and run, the medians over the rounds of the wall time and own CPU per
# resource, and the median of each round's `up` / no-op monitor wall-time ratio.
#
# Needs python3 and node/npm. It uses the test suite's shared SDKs (tests/test-support's
# `programs::{python_venv, node_modules}`), made on first use: the virtualenv with PyPI `pulumi`
# of tests/python/setup-venv.sh (tests/python/.venv), and node_modules (npm @pulumi/pulumi,
# typescript) from engine-harness/tests/programs/nodejs-basic/package.json under
# $CARGO_TARGET_DIR/test-programs/node, installed under the same lock and stamp as the tests'.
#
# Prints a Markdown table. Per run: wall time from spawn to exit; the measured process's own
# CPU time (user+system from /proc/<pid>/stat, read after it exits and before it is reaped:
# the engine alone, or the no-op monitor alone), that divided by N, and the CPU time of the
# children it waited for (the program's interpreter, and under the engine the provider
# plugin); the one-minute load average before the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target="${CARGO_TARGET_DIR:-$root/target}"
bin="${BIN:-$target/release}"
base="${BASE:-}"
parallel="${PARALLEL:-32}"
runs="${RUNS:-1}"
n="${1:-1000}"
for d in "$bin" ${base:+"$base"}; do
  for b in engine-harness pulumi-resource-local examples/noop_monitor; do
    [ -x "$d/$b" ] || { echo "missing $d/$b; build first (see the top of $0)" >&2; exit 2; }
  done
done

venv=$(env -u PULUMI_TEST_VENV bash "$root/tests/python/setup-venv.sh")
venv=$(dirname "$(dirname "$venv")")
# The tests' node_modules (test_support::programs::node_modules): one install per target
# directory, under its lock, redone only when the manifest changes.
cache="$target/test-programs/node"
manifest="$root/engine-harness/tests/programs/nodejs-basic/package.json"
mkdir -p "$target/test-programs"
(
  flock 9
  if ! cmp -s "$manifest" "$cache/.installed-package.json"; then
    rm -rf "$cache" && mkdir -p "$cache" && cp "$manifest" "$cache/package.json"
    (cd "$cache" && npm install --no-audit --no-fund >&2)
    cp "$manifest" "$cache/.installed-package.json"
  fi
) 9>"$target/test-programs/node.lock"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Writes the project for language $1 with $n resources into directory $2, using provider $3.
make_program() {
  local lang=$1 dir=$2 provider=$3
  mkdir -p "$dir"
  python3 - "$lang" "$dir" "$n" "$provider" "$venv" "$cache/node_modules" <<'PY'
import os, sys
lang, d, n, provider, venv, modules = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
common = f"plugins:\n  providers:\n    - name: local\n      path: {provider}\nconfig:\n  local:root: .\n"
def write(name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)
if lang == "python":
    write("Pulumi.yaml", f"name: bench-py\nruntime:\n  name: python\n  options:\n    virtualenv: {venv}\n" + common)
    write("__main__.py", f'''import pulumi
from pulumi import CustomResource


class Random(CustomResource):
    def __init__(self, name, length, prefix=None):
        super().__init__("local:index:Random", name, {{"length": length, "prefix": prefix, "result": None}})


N = {n}
rs = []
for i in range(N):
    prefix = None
    if i >= 10 and i % 4 == 0:
        prefix = rs[i - 10].length.apply(lambda l: f"p{{l}}-")
    rs.append(Random(f"r{{i}}", 8, prefix))
pulumi.export("count", N)
pulumi.export("last", rs[-1].result)
''')
else:
    write("Pulumi.yaml", "name: bench-ts\nruntime: nodejs\n" + common)
    write("package.json", '{"name": "bench-ts", "main": "index.ts"}\n')
    os.symlink(modules, os.path.join(d, "node_modules"))
    write("index.ts", f'''import * as pulumi from "@pulumi/pulumi";

class Random extends pulumi.CustomResource {{
    public readonly length!: pulumi.Output<number>;
    public readonly result!: pulumi.Output<string>;
    constructor(name: string, args: {{ length: pulumi.Input<number>; prefix?: pulumi.Input<string> }}) {{
        super("local:index:Random", name, {{ ...args, result: undefined }});
    }}
}}

const N = {n};
const rs: Random[] = [];
for (let i = 0; i < N; i++) {{
    const prefix = i >= 10 && i % 4 === 0 ? rs[i - 10].length.apply((l) => `p${{l}}-`) : undefined;
    rs.push(new Random(`r${{i}}`, {{ length: 8, prefix }}));
}}
export const count = N;
export const last = rs[N - 1].result;
''')
PY
}

# Runs a command with stdout to $work/out.json; prints wall seconds, own CPU seconds and the
# CPU seconds of the children it waited for.
measure() {
  python3 - "$work/out.json" "$work/err.txt" "$@" <<'PY'
import os, subprocess, sys, time
out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
start = time.monotonic()
with open(out, "w") as o, open(err, "w") as e:
    p = subprocess.Popen(cmd, stdout=o, stderr=e)
    # Wait without reaping, so that /proc still holds the exited process's final times.
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
    wall = time.monotonic() - start
    with open(f"/proc/{p.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    code = p.wait()
if code != 0:
    sys.stderr.write(open(err).read()[-3000:])
    sys.exit(f"{' '.join(cmd)} exited {code}")
tick = os.sysconf("SC_CLK_TCK")
utime, stime, cutime, cstime = (int(x) / tick for x in fields[11:15])
print(f"{wall:.2f} {utime + stime:.2f} {cutime + cstime:.2f}")
PY
}

load() { cut -d' ' -f1 /proc/loadavg; }

row() {
  local build=$1 round=$2 lang=$3 what=$4 wall=$5 cpu=$6 children=$7 load=$8
  local per
  per=$(python3 -c "print(f'{$cpu / $n * 1e6:.0f}')")
  printf "| %s | %s | %s | %d | %s | %s | %s | %s µs | %s | %s |\n" "$build" "$round" "$lang" "$n" "$what" "$wall" "$cpu" "$per" "$children" "$load"
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$build" "$round" "$lang" "$what" "$wall" "$per" "$load" >> "$work/rows.tsv"
}

# Checks that an engine run created all N resources ($1 = up) or changed nothing ($1 = same).
check_engine() {
  python3 - "$work/out.json" "$n" "$1" <<'PY'
import json, sys
out, n, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
summary = [json.loads(l) for l in open(out) if '"event":"summary"' in l]
if not summary:
    sys.exit("no summary event in the engine's output")
s = summary[-1]
counts = {k: v for k, v in s["counts"].items() if v}
if s["failed"]:
    sys.exit(f"the run failed: {s}")
if kind == "up" and counts.get("create", 0) < n:
    sys.exit(f"expected {n} creates: {s}")
if kind == "same" and (set(counts) != {"same"} or counts["same"] < n):
    sys.exit(f"expected no changes: {s}")
PY
}

# The three runs of language $3 with build $1 (directory $4) in round $2.
engine_runs() {
  local build=$1 r=$2 lang=$3 d=$4 dir="$work/$1-$3-$2" l wall cpu children
  l=$(load); read -r wall cpu children < <(measure "$d/engine-harness" up --yes --json --parallel "$parallel" --cwd "$dir")
  check_engine up
  row "$build" "$r" "$lang" "engine-harness up" "$wall" "$cpu" "$children" "$l"
  l=$(load); read -r wall cpu children < <(measure "$d/engine-harness" up --yes --json --parallel "$parallel" --cwd "$dir")
  check_engine same
  row "$build" "$r" "$lang" "engine-harness no-op up" "$wall" "$cpu" "$children" "$l"
}
noop_run() {
  local build=$1 r=$2 lang=$3 d=$4 dir="$work/$1-$3-$2" l wall cpu children
  l=$(load); read -r wall cpu children < <(measure "$d/examples/noop_monitor" "$dir" --parallel "$parallel")
  grep -q "\"registrations\": $((n + 1))," "$work/out.json" || { echo "no-op monitor: expected $((n + 1)) registrations (N and the stack): $(cat "$work/out.json")" >&2; exit 1; }
  row "$build" "$r" "$lang" "no-op monitor" "$wall" "$cpu" "$children" "$l"
}

echo "| build | round | program | resources | run | wall s | own CPU s | own CPU per resource | children's CPU s | load avg (1 min) before |"
echo "|---|---:|---|---:|---|---:|---:|---:|---:|---:|"
for r in $(seq 1 "$runs"); do
  builds="head"
  if [ -n "$base" ]; then
    if [ $((r % 2)) = 1 ]; then builds="base head"; else builds="head base"; fi
  fi
  for lang in python typescript; do
    for build in $builds; do
      d=$bin; [ "$build" = base ] && d=$base
      make_program "$lang" "$work/$build-$lang-$r" "$d/pulumi-resource-local"
      # Unmeasured warm-up: the Node SDK's ts-node keeps each compiled program in a cache under
      # the temp directory, keyed by its path; whichever run came first would compile it.
      measure "$d/examples/noop_monitor" "$work/$build-$lang-$r" --parallel "$parallel" > /dev/null
      if [ $((r % 2)) = 1 ]; then
        engine_runs "$build" "$r" "$lang" "$d"; noop_run "$build" "$r" "$lang" "$d"
      else
        noop_run "$build" "$r" "$lang" "$d"; engine_runs "$build" "$r" "$lang" "$d"
      fi
    done
  done
done

python3 - "$work/rows.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
keys = []
for b, r, lang, what, wall, per, load in rows:
    if (b, lang, what) not in keys:
        keys.append((b, lang, what))
def med(xs):
    return statistics.median(xs) if xs else float("nan")
loads = [float(x[6]) for x in rows]
print(f"\nSummary over {len(set(x[1] for x in rows))} round(s), load avg (1 min) {min(loads):.2f}-{max(loads):.2f}:\n")
print("| build | program | run | median wall s | median own CPU per resource | median of the rounds' wall / no-op monitor's |")
print("|---|---|---|---:|---:|---:|")
for b, lang, what in keys:
    mine = [x for x in rows if (x[0], x[2], x[3]) == (b, lang, what)]
    ratios = []
    for x in mine:
        floor = [y for y in rows if (y[0], y[1], y[2], y[3]) == (b, x[1], lang, "no-op monitor")]
        if floor and what != "no-op monitor":
            ratios.append(float(x[4]) / float(floor[0][4]))
    ratio = f"{med(ratios):.2f}x" if ratios else ""
    print(f"| {b} | {lang} | {what} | {med([float(x[4]) for x in mine]):.2f} | {med([float(x[5]) for x in mine]):.0f} µs | {ratio} |")
PY
