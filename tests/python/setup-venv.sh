#!/usr/bin/env bash
# Creates (once) the Python virtualenv that the interop tests, the Python-SDK provider and the
# benchmarks use: Pulumi's own Python SDK from PyPI, pinned. Safe to run concurrently.
# Prints the venv's python path on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv="${PULUMI_TEST_VENV:-$here/.venv}"
pulumi_version="3.272.0"
stamp="$venv/.ready-$pulumi_version"
exec 9>"$here/.venv.lock"
flock 9
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pulumi==$pulumi_version" >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
