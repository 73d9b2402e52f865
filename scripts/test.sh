#!/usr/bin/env bash
# The README's test command (make test): dependencies, services, then every tier of tests.
# DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS, when set, win. Otherwise, with a Docker engine the
# fixtures use testcontainers; without one, the real PostgreSQL (Debian) and Kafka (Maven
# Central jars) are started here by deploy/local.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
scripts/venv.sh
scripts/system-deps.sh
if [[ -z "${DATABASE_URL:-}" || -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
  if docker info >/dev/null 2>&1; then
    echo "test: Docker engine found; fixtures will use testcontainers" >&2
  else
    [[ -n "${DATABASE_URL:-}" ]] || { UZDIK_PG_FAST=1 deploy/local/postgres.sh start >&2; eval "export $(deploy/local/postgres.sh env)"; }
    [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]] || { deploy/local/kafka.sh start >&2; eval "export $(deploy/local/kafka.sh env)"; }
  fi
fi
export UZDIK_REQUIRE_SERVICES=1   # an integration test never skips under make test
set +e
.venv/bin/python -m pytest "$@"
code=$?
set -e
echo "test: finished in $(( $(date +%s) - started )) s (exit $code)" >&2
exit $code
