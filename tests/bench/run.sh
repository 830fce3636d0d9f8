#!/usr/bin/env bash
# Benchmarks provider plugins side by side, in one command:
#   tests/bench/run.sh [extra provider-bench options, e.g. --launches 50 --phase-secs 10]
# Builds in release: the example provider (pulumi-resource-local), the bare tonic floor
# (bare-tonic-provider) and provider-bench; creates the Python virtualenv with Pulumi's Python
# SDK from PyPI (tests/python/setup-venv.sh); then measures all three in the same run and
# prints a Markdown report (also saved to $CARGO_TARGET_DIR/provider-bench.md).
# With valgrind installed it also counts instructions per Create for the two Rust plugins.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"

echo "== building (release)" >&2
cargo build --release -p provider-bench -p provider-example -p fixture-plugins \
  --bin provider-bench --bin pulumi-resource-local --bin bare-tonic-provider >&2

echo "== Python virtualenv with Pulumi's SDK" >&2
python=$(tests/python/setup-venv.sh)

# The Python-SDK peer: the project's pyrandom provider when present, else the minimal one here.
pyrandom="$root/tests/python/pyprovider/pulumi-resource-pyrandom"
if [ -x "$pyrandom" ]; then
  python_peer="python-sdk=pyrandom:index:Random=$pyrandom"
else
  python_peer="python-sdk=pyrandom:index:Random=$python $root/tests/bench/pyprovider_min.py"
fi
# pulumi-resource-pyrandom may look for the virtualenv's python on PATH.
export PATH="$(dirname "$python"):$PATH"

callgrind=()
if command -v valgrind >/dev/null 2>&1; then
  callgrind=(--callgrind local --callgrind bare-tonic)
else
  echo "valgrind not found: skipping instruction counts" >&2
fi

echo "== measuring" >&2
"$target/release/provider-bench" \
  --plugin "local=local:index:Random=$target/release/pulumi-resource-local" \
  --plugin "bare-tonic=bare:index:Random=$target/release/bare-tonic-provider" \
  --plugin "$python_peer" \
  "${callgrind[@]}" "$@" | tee "$target/provider-bench.md"
