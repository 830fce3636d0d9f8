#!/usr/bin/env bash
# Engine scale benchmark: time, bytes of state written, peak memory and the engine's own CPU
# time for `up`, a no-op `up`, `refresh` and `destroy` of N `local:index:Random` resources,
# for each N given (default: 100 1000 10000).
#
#   cargo build --release -p engine-harness -p provider-example
#   engine-harness/bench/scale.sh [N...]
#
# Uses the release binaries in ${CARGO_TARGET_DIR:-target}/release. Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="${CARGO_TARGET_DIR:-$root/target}/release"
engine="$bin/engine-harness"
provider="$bin/pulumi-resource-local"
parallel="${PARALLEL:-32}"
[ -x "$engine" ] && [ -x "$provider" ] || { echo "build first: cargo build --release -p engine-harness -p provider-example" >&2; exit 2; }
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 10000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

summary() { grep '"event":"summary"' "$1" | python3 -c 'import json,sys; s=json.loads(sys.stdin.read()); print(s["seconds"], s["stateBytesWritten"])'; }

# Runs an engine command with its JSON events in $work/out.json; prints the peak RSS, in
# MiB, of the largest process among the engine and the plugins it started and waited for,
# and the engine's own CPU time (user+system from /proc/<pid>/stat, read after it exits and
# before it is reaped, so the plugins' time is not in it).
peak() {
  python3 - "$work/out.json" "$@" <<'PY'
import os, resource, subprocess, sys
out, cmd = sys.argv[1], sys.argv[2:]
with open(out, "w") as f:
    p = subprocess.Popen(cmd, stdout=f)
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
    with open(f"/proc/{p.pid}/stat") as st:
        fields = st.read().rsplit(")", 1)[1].split()
    code = p.wait()
if code != 0:
    sys.exit(f"{' '.join(cmd)} exited {code}")
cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
print(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f} {cpu:.2f}")
PY
}

# One row per operation: seconds, state bytes written, peak RSS, engine CPU.
run() {
  local op=$1 n=$2 dir=$3
  local rss cpu
  read -r rss cpu < <(peak "$engine" "$op" --yes --json --parallel "$parallel" --cwd "$dir")
  read -r s b < <(summary "$work/out.json")
  printf "| %d | %s | %.2f | %d | %d | %s | %s |\n" "$n" "$4" "$s" "$b" $((b / n)) "$rss" "$cpu"
}

echo "| resources | operation | seconds | state bytes written | bytes/resource | peak RSS MiB (largest process) | engine CPU s |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  dir="$work/p$n"
  mkdir -p "$dir"
  python3 - "$dir/Pulumi.yaml" "$n" "$provider" <<'PY'
import sys
path, n, provider = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write(f"name: bench\nruntime: yaml\nplugins:\n  providers:\n    - name: local\n      path: {provider}\nconfig:\n  local:root: .\nresources:\n")
    for i in range(n):
        f.write(f"  r{i}:\n    type: local:index:Random\n    properties:\n      length: 8\n")
PY
  run up "$n" "$dir" "up"
  run up "$n" "$dir" "no-op up"
  run refresh "$n" "$dir" "refresh"
  run destroy "$n" "$dir" "destroy"
done
