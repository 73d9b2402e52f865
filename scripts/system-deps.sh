#!/usr/bin/env bash
# Debian packages the tests use beyond Python: kcat (a non-Python Kafka client, to prove the
# results contract), poppler-utils (pdftoppm: protocols rendered to PNG, looked at as a
# secretary would), java and maven (veraPDF's jars: the protocols' PDF/A-3b check,
# scripts/verapdf.sh), wrk (load generator), and Chromium for the browser tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v kcat >/dev/null 2>&1 || need+=(kcat)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if ((${#need[@]})); then
  echo "system-deps: installing ${need[*]}" >&2
  apt-get update -q >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null
fi
scripts/verapdf.sh install # veraPDF (Maven Central jars): the protocols' PDF/A-3b check
[[ -x scripts/chromium.sh ]] && scripts/chromium.sh
exit 0
