#!/usr/bin/env bash
# Benchmarks provider plugins side by side, in one command:
#   tests/bench/run.sh [extra provider-bench options, e.g. --launches 50 --phase-secs 10]
# Builds in release: the example provider (pulumi-resource-local), the bare tonic floor
# (bare-tonic-provider) and provider-bench; creates the Python virtualenv with Pulumi's Python
# SDK from PyPI (tests/python/setup-venv.sh); then measures all three in the same run and
# prints a Markdown report (also saved to $CARGO_TARGET_DIR/provider-bench.md).
# `local-nolog` is the same example provider started without an engine address: its Create then
# sends no Log call to the engine, which separates the SDK's serving cost from logging.
# With valgrind installed it also counts instructions per Create for all three (load-independent).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"

echo "== building (release)" >&2
cargo build --release -p provider-bench -p provider-example -p fixture-plugins \
  --bin provider-bench --bin pulumi-resource-local --bin bare-tonic-provider >&2

echo "== Python virtualenv with Pulumi's SDK" >&2
python=$(tests/python/setup-venv.sh)

# The Python-SDK peer: the project's pyrandom provider (tests/python/pyprovider), run with the
# virtualenv's python directly (its launcher script only adds a bash exec, and valgrind must see
# python itself); the minimal provider in this folder stands in when pyrandom is absent.
pyrandom="$root/tests/python/pyprovider/pyrandom_provider.py"
if [ -f "$pyrandom" ]; then
  python_peer="python-sdk=pyrandom:index:Random=$python -u $pyrandom"
else
  python_peer="python-sdk=pyrandom:index:Random=$python -u $root/tests/bench/pyprovider_min.py"
fi

callgrind=()
if command -v valgrind >/dev/null 2>&1; then
  callgrind=(--callgrind local --callgrind local-nolog --callgrind bare-tonic --callgrind python-sdk)
else
  echo "valgrind not found: skipping instruction counts" >&2
fi

echo "== measuring" >&2
{
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'); $(rustc --version); Python SDK: $("$python" -c 'import importlib.metadata as m; print("pulumi", m.version("pulumi"), "grpcio", m.version("grpcio"))')."
echo
"$target/release/provider-bench" \
  --plugin "local=local:index:Random=$target/release/pulumi-resource-local" \
  --plugin "bare-tonic=bare:index:Random=$target/release/bare-tonic-provider" \
  --plugin "$python_peer" \
  --plugin "local-nolog=local:index:Random=$target/release/pulumi-resource-local" \
  --without-engine local-nolog \
  --subject local --subject local-nolog \
  "${callgrind[@]}" "$@"
} | tee "$target/provider-bench.md"
