#!/usr/bin/env bash
# Regions and the republic side by side on one machine, joined only by Kafka MirrorMaker 2
# (ARCHITECTURE "Regions and the republic"; deploy/README.md "Federation"). Backs `make up-federation`.
#
# Usage: deploy/local/federation.sh {start|stop|env <deployment>|plan}
#
# Starts this checkout's PostgreSQL (deploy/local/postgres.sh, on PGPORT) with a set of databases
# per deployment, one Kafka cluster per deployment (deploy/local/kafka.sh; the republic's on
# FED_PORT, region i's on FED_PORT + 100 i) and MirrorMaker 2 between them
# (deploy/local/mirrormaker.sh). `env <deployment>` prints the environment lines that make
# `uzdik serve --all` that deployment:
#   export $(deploy/local/federation.sh env republic)   && .venv/bin/uzdik serve --all
#   export $(deploy/local/federation.sh env 620000000)  && .venv/bin/uzdik serve --all
#
# Settings (environment, with defaults):
#   FED_REGIONS=620000000,470000000   the regions (KATO) deployed apart; each its own cluster
#   FED_PORT=39092                    the republic's Kafka; region i: FED_PORT + 100 i
#   FED_HTTP_PORT=8100                the republic's UZDIK_HTTP_PORT; region i: FED_HTTP_PORT + 100 i
#   FED_ISSUER=https://idp.example.kz/realms   a deployment's token issuer is <FED_ISSUER>/<name>
#   PGPORT=55432                      PostgreSQL (shared by the deployments, a database each)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FED_REGIONS="${FED_REGIONS:-620000000,470000000}"
FED_PORT="${FED_PORT:-39092}"
FED_HTTP_PORT="${FED_HTTP_PORT:-8100}"
FED_ISSUER="${FED_ISSUER:-https://idp.example.kz/realms}"
PGPORT="${PGPORT:-55432}"
SERVICES=(nominations scoring survey reporting notifications)
PREFIX=uzdik

log() { printf 'federation.sh: %s\n' "$*" >&2; }
die() { printf 'federation.sh: ERROR: %s\n' "$*" >&2; exit 1; }

IFS=',' read -ra REGIONS <<<"$FED_REGIONS"
((${#REGIONS[@]})) || die "FED_REGIONS is empty"
for r in "${REGIONS[@]}"; do [[ "$r" =~ ^[0-9]{9}$ ]] || die "FED_REGIONS: '$r' is not a 9-digit KATO code"; done
[[ "$FED_PORT" =~ ^[0-9]+$ && "$FED_HTTP_PORT" =~ ^[0-9]+$ ]] || die "FED_PORT and FED_HTTP_PORT are port numbers"

# deployment -> index (0 = the republic)
index_of() {
  local i
  [[ "$1" == republic ]] && { echo 0; return; }
  for i in "${!REGIONS[@]}"; do [[ "${REGIONS[$i]}" == "$1" ]] && { echo $((i + 1)); return; }; done
  die "no deployment '$1' (republic or one of ${REGIONS[*]})"
}
kafka_port() { echo $((FED_PORT + 100 * $(index_of "$1"))); }
alias_of() { [[ "$1" == republic ]] && echo republic || echo "region-$1"; }
database_of() { echo "uzdik_fed_$(alias_of "$1" | tr '-' '_')"; }
kafka() { # kafka <deployment> <command>
  local port; port="$(kafka_port "$1")"
  KAFKA_PORT="$port" KAFKA_CONTROLLER_PORT=$((port + 1)) KAFKA_HEAP="${KAFKA_HEAP:-384m}" \
    "$HERE/kafka.sh" "$2"
}
mirror() {
  local regions=() r
  for r in "${REGIONS[@]}"; do regions+=("region-$r=127.0.0.1:$(kafka_port "$r")"); done
  MM2_REGIONS="$(IFS=','; echo "${regions[*]}")" MM2_REPUBLIC="republic=127.0.0.1:$FED_PORT" \
    MM2_TOPICS="$PREFIX\\.results" MM2_DATA_DIR="$ROOT/.cache/mirrormaker/run-$FED_PORT" \
    "$HERE/mirrormaker.sh" "$1"
}

create_databases() {
  local d s db
  for d in republic "${REGIONS[@]}"; do
    for s in "${SERVICES[@]}"; do
      db="$(database_of "$d")_$s"
      PGPASSWORD=uzdik psql -h 127.0.0.1 -p "$PGPORT" -U uzdik -d uzdik -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
        || PGPASSWORD=uzdik createdb -h 127.0.0.1 -p "$PGPORT" -U uzdik "$db" \
        || die "cannot create database $db"
    done
  done
}

start() {
  local t0=$SECONDS pids=() d failed=0
  "$HERE/postgres.sh" start
  for d in republic "${REGIONS[@]}"; do kafka "$d" start & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || die "a Kafka cluster did not start (messages above)"
  create_databases
  mirror start
  log "ready in $((SECONDS - t0)) s: the republic's Kafka on 127.0.0.1:$FED_PORT; $(for r in "${REGIONS[@]}"; do printf 'region %s on :%s; ' "$r" "$(kafka_port "$r")"; done)MirrorMaker 2 between them"
  log "run each deployment:  export \$(deploy/local/federation.sh env <republic|KATO>) && .venv/bin/uzdik serve --all"
}

stop() {
  local d
  mirror stop || true
  for d in republic "${REGIONS[@]}"; do kafka "$d" stop || true; done
}

env_of() {
  local d="$1" i http
  i="$(index_of "$d")"
  http=$((FED_HTTP_PORT + 100 * i))
  echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(kafka_port "$d")"
  echo "DATABASE_URL=postgresql+asyncpg://uzdik:uzdik@127.0.0.1:$PGPORT/$(database_of "$d")_{service}"
  echo "UZDIK_HTTP_PORT=$http"
  echo "UZDIK_DATA_DIR=$ROOT/.uzdik/federation/$(alias_of "$d")"
  echo "UZDIK_JWT_ISSUER=$FED_ISSUER/$(alias_of "$d")"
  if [[ "$d" == republic ]]; then
    local aliases=() r
    for r in "${REGIONS[@]}"; do aliases+=("region-$r"); done
    echo "UZDIK_FEDERATION_REGIONS=$(IFS=','; echo "${aliases[*]}")"
  else
    echo "UZDIK_REGION=$d"
    echo "UZDIK_FEDERATION_REPUBLIC=republic"
  fi
}

plan() {
  local d
  for d in republic "${REGIONS[@]}"; do
    echo "# $d: Kafka 127.0.0.1:$(kafka_port "$d"), HTTP $((FED_HTTP_PORT + 100 * $(index_of "$d"))) + 1..5"
  done
  mirror config 2>/dev/null | grep -v '^#'
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) [[ $# -eq 2 ]] || die "usage: $0 env <republic|KATO>"; env_of "$2" ;;
  plan) plan ;;
  *) echo "usage: $0 {start|stop|env <republic|KATO>|plan}" >&2; exit 2 ;;
esac
