#!/usr/bin/env bash
# Start this checkout's local infrastructure (its PostgreSQL cluster + Kafka broker on PGPORT, KAFKA_PORT and
# KAFKA_CONTROLLER_PORT) and print the env lines. A port taken by something else is left alone (an error).
# Backs `make up`. Settings: see deploy/local/postgres.sh and deploy/local/kafka.sh.
# Both start in parallel; stdout gets only the env lines, e.g.
#   export $(deploy/local/up.sh)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
t0=$SECONDS

"$HERE/postgres.sh" start &
pg_pid=$!
"$HERE/kafka.sh" start &
kafka_pid=$!

failed=()
wait "$pg_pid" || failed+=(postgres)
wait "$kafka_pid" || failed+=(kafka)
if ((${#failed[@]})); then
  echo "up.sh: ERROR: failed to start: ${failed[*]} (messages above)" >&2
  exit 1
fi
echo "up.sh: infrastructure ready in $((SECONDS - t0)) s" >&2
"$HERE/postgres.sh" env
"$HERE/kafka.sh" env
