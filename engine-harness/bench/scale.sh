#!/usr/bin/env bash
# Engine scale benchmark: time and bytes of state written for `up` and `destroy` of N
# `local:index:Random` resources, for each N given (default: 1000 10000).
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
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

summary() { grep '"event":"summary"' "$1" | python3 -c 'import json,sys; s=json.loads(sys.stdin.read()); print(s["seconds"], s["stateBytesWritten"])'; }

echo "| resources | up: seconds | up: state bytes written | bytes/resource | checkpoint bytes | destroy: seconds | destroy: state bytes written |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
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
  "$engine" up --yes --json --parallel "$parallel" --cwd "$dir" > "$work/up.json"
  read -r up_s up_b < <(summary "$work/up.json")
  cp_bytes=$(stat -c %s "$dir/.pulumi-harness/dev.json")
  "$engine" destroy --yes --json --parallel "$parallel" --cwd "$dir" > "$work/destroy.json"
  read -r d_s d_b < <(summary "$work/destroy.json")
  printf "| %d | %.2f | %d | %d | %d | %.2f | %d |\n" "$n" "$up_s" "$up_b" $((up_b / n)) "$cp_bytes" "$d_s" "$d_b"
done
