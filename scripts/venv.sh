#!/usr/bin/env bash
# Make .venv match uv.lock (installs uv itself when absent). Fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv >&2
fi
stamp=.venv/.uzdik-synced
if [[ -f $stamp && $stamp -nt uv.lock && $stamp -nt pyproject.toml ]]; then
  exit 0
fi
echo "venv: syncing .venv with uv.lock" >&2
uv sync --frozen --quiet --compile-bytecode  # every process starts faster (this machine writes no .pyc on import)
touch "$stamp"
