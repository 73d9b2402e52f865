#!/usr/bin/env bash
# Stop the local infrastructure deploy/local/up.sh started: this checkout's cluster and broker on PGPORT,
# KAFKA_PORT and KAFKA_CONTROLLER_PORT, nothing else (data is kept). Backs `make down`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

failed=()
"$HERE/kafka.sh" stop || failed+=(kafka)
"$HERE/postgres.sh" stop || failed+=(postgres)
if ((${#failed[@]})); then
  echo "down.sh: ERROR: failed to stop: ${failed[*]} (messages above)" >&2
  exit 1
fi
