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
#   cargo build --release -p engine-harness -p provider-example
#   cargo build --release -p engine-harness --example noop_monitor
#   engine-harness/bench/programs.sh [N]
#
# Needs python3 and node/npm. The virtualenv with PyPI `pulumi` is made by
# tests/python/setup-venv.sh under $CARGO_TARGET_DIR/monitor-e2e/py-venv, and node_modules
# (npm @pulumi/pulumi, typescript) from engine-harness/tests/programs/nodejs-basic/package.json
# under $CARGO_TARGET_DIR/monitor-e2e/node-cache: the places tests/monitor_programs.rs uses.
#
# Prints a Markdown table. Per run: wall time from spawn to exit; the measured process's own
# CPU time (user+system from /proc/<pid>/stat, read after it exits and before it is reaped:
# the engine alone, or the no-op monitor alone), that divided by N, and the CPU time of the
# children it waited for (the program's interpreter, and under the engine the provider
# plugin); the one-minute load average before the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/release"
engine="$bin/engine-harness"
provider="$bin/pulumi-resource-local"
noop="$bin/examples/noop_monitor"
parallel="${PARALLEL:-32}"
runs="${RUNS:-1}"
n="${1:-1000}"
for b in "$engine" "$provider" "$noop"; do
  [ -x "$b" ] || { echo "missing $b; build first (see the top of $0)" >&2; exit 2; }
done

venv=$(PULUMI_TEST_VENV="$target/monitor-e2e/py-venv" bash "$root/tests/python/setup-venv.sh")
venv=$(dirname "$(dirname "$venv")")
cache="$target/monitor-e2e/node-cache"
manifest="$root/engine-harness/tests/programs/nodejs-basic/package.json"
if ! cmp -s "$manifest" "$cache/.installed-package.json" 2>/dev/null; then
  rm -rf "$cache" && mkdir -p "$cache" && cp "$manifest" "$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund >&2)
  cp "$manifest" "$cache/.installed-package.json"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Writes the project for language $1 with $n resources into directory $2.
make_program() {
  local lang=$1 dir=$2
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
  local lang=$1 what=$2 wall=$3 cpu=$4 children=$5 load=$6
  local per
  per=$(python3 -c "print(f'{$cpu / $n * 1e6:.0f}')")
  printf "| %s | %d | %s | %s | %s | %s µs | %s | %s |\n" "$lang" "$n" "$what" "$wall" "$cpu" "$per" "$children" "$load"
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

echo "| program | resources | run | wall s | own CPU s | own CPU per resource | children's CPU s | load avg (1 min) before |"
echo "|---|---:|---|---:|---:|---:|---:|---:|"
for r in $(seq 1 "$runs"); do
  for lang in python typescript; do
    dir="$work/$lang-$r"
    make_program "$lang" "$dir"
    l=$(load); read -r wall cpu children < <(measure "$engine" up --yes --json --parallel "$parallel" --cwd "$dir")
    check_engine up
    row "$lang" "engine-harness up" "$wall" "$cpu" "$children" "$l"
    l=$(load); read -r wall cpu children < <(measure "$engine" up --yes --json --parallel "$parallel" --cwd "$dir")
    check_engine same
    row "$lang" "engine-harness no-op up" "$wall" "$cpu" "$children" "$l"
    l=$(load); read -r wall cpu children < <(measure "$noop" "$dir" --parallel "$parallel")
    row "$lang" "no-op monitor" "$wall" "$cpu" "$children" "$l"
    grep -q "\"registrations\": $((n + 1))," "$work/out.json" || { echo "no-op monitor: expected $((n + 1)) registrations (N and the stack): $(cat "$work/out.json")" >&2; exit 1; }
  done
done
