#!/usr/bin/env bash
# PostgreSQL for uzdik from Debian packages, without Docker: a DEDICATED cluster of this checkout
# (independent of Debian's default "main" cluster and of any other checkout's), on 127.0.0.1 only.
#
# Usage: deploy/local/postgres.sh {start|stop|status|env|drop}
#
# Settings (environment, with defaults):
#   PGPORT=55432        TCP port of the cluster (127.0.0.1)
#   UZDIK_PG_CLUSTER=uzdik-<8 hex of this checkout's path>-<PGPORT>
#                       Debian cluster name: one per checkout and port, so two checkouts (or two
#                       ports of one checkout) never share a cluster
#   UZDIK_PG_DATA_DIR=<repo>/.cache/postgres/<PGPORT>   the cluster's data folder (git-ignored)
#   UZDIK_PG_FAST=0     1 = fsync/synchronous_commit/full_page_writes off (CI speed; unsafe on power loss)
#   PG_START_TIMEOUT=60 seconds to wait for pg_isready
#
# start creates the cluster when absent and starts it; stop stops it (only this cluster, and only
# when it runs on PGPORT: a server on PGPORT that is not this cluster is left alone and said so);
# drop stops it and removes it with its data. Installs the Debian package "postgresql" when the
# server is absent (needs root, or sudo). Role uzdik / password uzdik (LOGIN CREATEDB), database
# uzdik owned by it. Cluster files: /etc/postgresql/<ver>/<cluster>, the data folder above, log
# /var/log/postgresql/postgresql-<ver>-<cluster>.log.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PGPORT="${PGPORT:-55432}"
UZDIK_PG_CLUSTER="${UZDIK_PG_CLUSTER:-uzdik-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)-$PGPORT}"
UZDIK_PG_DATA_DIR="${UZDIK_PG_DATA_DIR:-$ROOT/.cache/postgres/$PGPORT}"
UZDIK_PG_FAST="${UZDIK_PG_FAST:-0}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
CLUSTER="$UZDIK_PG_CLUSTER"
PGDATA_DIR="$(realpath -m -- "$UZDIK_PG_DATA_DIR")"
DB_USER=uzdik
DB_PASSWORD=uzdik
DB_NAME=uzdik

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { printf 'postgres.sh: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  echo "usage: $0 {start|stop|status|env|drop}" >&2
  exit 2
}

validate() {
  [[ "$PGPORT" =~ ^[0-9]{1,5}$ ]] && (( 10#$PGPORT > 0 && 10#$PGPORT < 65536 )) || die "invalid PGPORT '$PGPORT'"
  [[ "$UZDIK_PG_FAST" =~ ^[01]$ ]] || die "UZDIK_PG_FAST must be 0 or 1 (got '$UZDIK_PG_FAST')"
  [[ "$PG_START_TIMEOUT" =~ ^[0-9]+$ ]] || die "PG_START_TIMEOUT must be whole seconds"
  [[ "$CLUSTER" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$ ]] || die "invalid UZDIK_PG_CLUSTER '$CLUSTER' (letters, digits, _ and -)"
}

# Privileges: the cluster tools need root (or the postgres user); psql admin work runs as postgres.
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -- "$@"
  else die "needs root (or sudo) to run: $*"
  fi
}
as_postgres() { # from / : the caller's folder may be closed to the postgres user
  if [[ $EUID -eq 0 ]]; then (cd / && runuser -u postgres -- "$@")
  elif command -v sudo >/dev/null 2>&1; then (cd / && sudo -u postgres -- "$@")
  else die "needs root (or sudo) to run as postgres: $*"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

server_installed() {
  command -v pg_ctlcluster >/dev/null 2>&1 && command -v pg_createcluster >/dev/null 2>&1 \
    && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

ensure_installed() {
  server_installed && return 0
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL server not installed and apt-get not available"
  log "PostgreSQL server not installed: apt-get update && apt-get install -y postgresql ..."
  local t0=$SECONDS
  # DPkg::Lock::Timeout: kafka.sh may be installing java/maven at the same time (up.sh runs both).
  { as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq \
      && as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql; } >&2 \
    || die "installing the Debian package postgresql failed (see above)"
  server_installed || die "postgresql installed but pg_ctlcluster / server binaries still missing"
  log "installed PostgreSQL in $((SECONDS - t0)) s"
}

# "<ver> <port> <status> <data dir>" of this checkout's cluster, empty when it does not exist.
cluster_info() {
  command -v pg_lsclusters >/dev/null 2>&1 || return 0
  pg_lsclusters -h 2>/dev/null | awk -v c="$CLUSTER" '$2 == c { print $1, $3, $4, $6; exit }'
}

# The data folder of cluster <ver> as pg_lsclusters lists it (it may predate UZDIK_PG_DATA_DIR).
data_dir() { # data_dir <ver>
  local d
  d="$(pg_lsclusters -h 2>/dev/null | awk -v v="$1" -v c="$CLUSTER" '$1 == v && $2 == c { print $6; exit }')"
  echo "${d:-$PGDATA_DIR}"
}

newest_version() {
  local v
  v="$(for b in /usr/lib/postgresql/*/bin/postgres; do basename "$(dirname "$(dirname "$b")")"; done | sort -V | tail -n1)"
  [[ -n "$v" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
  echo "$v"
}

postmaster_pid() { # first line of postmaster.pid (empty when absent)
  local f
  f="$(data_dir "$1")/postmaster.pid"
  head -n1 "$f" 2>/dev/null || as_root head -n1 "$f" 2>/dev/null || true
}

is_zombie() { [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == Z ]]; }

is_running() { # is_running <ver>
  pg_ctlcluster "$1" "$CLUSTER" status >/dev/null 2>&1 || return 1
  # A postmaster killed with SIGKILL stays a zombie until its parent (often PID 1) reaps it; pg_ctl and
  # the postmaster.pid check both take a zombie for a live server. Wait (bounded) for the reaping.
  local pid i
  pid="$(postmaster_pid "$1")"
  [[ -n "$pid" ]] || return 0
  for ((i = 0; i < 50; i++)); do
    is_zombie "$pid" || break
    sleep 0.2
  done
  is_zombie "$pid" && die "the postmaster (pid $pid) is dead but not reaped by its parent; try again in a moment"
  pg_ctlcluster "$1" "$CLUSTER" status >/dev/null 2>&1
}

wait_ready() { # wait_ready <ver>
  local deadline=$((SECONDS + PG_START_TIMEOUT))
  until pg_isready -q -h 127.0.0.1 -p "$PGPORT" -t 2; do
    if (( SECONDS >= deadline )); then
      tail -n 20 "$(logfile "$1")" >&2 2>/dev/null || true
      die "PostgreSQL did not answer on 127.0.0.1:$PGPORT within ${PG_START_TIMEOUT} s (log: $(logfile "$1"))"
    fi
    sleep 0.2
  done
}

logfile() { echo "/var/log/postgresql/postgresql-$1-$CLUSTER.log"; }

# Settings live in conf.d/uzdik.conf (regenerated on every start) except the port (postgresql.conf,
# read by pg_lsclusters/pg_ctlcluster). Prints "changed" when the file content changed.
write_conf() { # write_conf <ver>
  local ver=$1 dir="/etc/postgresql/$1/$CLUSTER" new old=""
  new="# Generated by deploy/local/postgres.sh on every start: edit the script, not this file.
listen_addresses = '127.0.0.1'
max_connections = 300
"
  if [[ "$UZDIK_PG_FAST" == 1 ]]; then
    new+="# UZDIK_PG_FAST=1: fast but not crash-safe (tests/CI only)
fsync = off
synchronous_commit = off
full_page_writes = off
"
  fi
  [[ -f "$dir/conf.d/uzdik.conf" ]] && old="$(cat "$dir/conf.d/uzdik.conf")"
  if [[ "$old" != "${new%$'\n'}" ]]; then
    printf '%s' "$new" | as_root install -D -o postgres -g postgres -m 0644 /dev/stdin "$dir/conf.d/uzdik.conf"
    echo changed
  fi
  local cur
  cur="$(pg_conftool -s "$ver" "$CLUSTER" show port 2>/dev/null || true)"
  if [[ "$cur" != "$PGPORT" ]]; then
    as_root pg_conftool "$ver" "$CLUSTER" set port "$PGPORT"
    echo changed
  fi
}

psql_admin() { # psql as the postgres superuser over the local socket
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PGPORT" -d postgres "$@"
}

ensure_role_and_db() {
  psql_admin >/dev/null <<SQL || die "could not create role/database $DB_USER/$DB_NAME"
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')
\gexec
SQL
  # The credentials of DATABASE_URL must work over TCP.
  PGPASSWORD="$DB_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PGPORT" -U "$DB_USER" -d "$DB_NAME" -tAc 'SELECT 1' >/dev/null \
    || die "cannot log in as $DB_USER over TCP 127.0.0.1:$PGPORT (check /etc/postgresql/<ver>/$CLUSTER/pg_hba.conf)"
}

cmd_start() {
  validate
  local t0=$SECONDS info ver port changed
  ensure_installed
  info="$(cluster_info)"
  if [[ -n "$info" ]]; then
    # A registration whose data folder is gone (a machine rebuilt from an image that kept
    # /etc/postgresql, a deleted .cache): nothing to keep, so forget it and create it anew.
    read -r ver _ <<<"$info"
    local registered
    registered="$(data_dir "$ver")"
    if ! as_root test -f "$registered/PG_VERSION"; then
      log "cluster $ver/$CLUSTER is registered but its data folder $registered is gone: recreating it"
      as_root pg_dropcluster "$ver" "$CLUSTER" >&2 2>/dev/null \
        || as_root rm -rf "/etc/postgresql/$ver/$CLUSTER"
      info=""
    fi
  fi
  if [[ -z "$info" ]]; then
    ver="$(newest_version)"
    port_open "$PGPORT" && die "port 127.0.0.1:$PGPORT is in use by a server this checkout did not start (left alone); free it or set PGPORT"
    log "creating PostgreSQL $ver cluster '$CLUSTER' on port $PGPORT, data in $PGDATA_DIR ..."
    # The data folder's parents must let the postgres user through.
    as_root install -d -m 0755 "$(dirname "$PGDATA_DIR")"
    # C.UTF-8 + UTF8: a fresh machine without LANG would otherwise get SQL_ASCII databases.
    local out
    if ! out="$(as_root pg_createcluster "$ver" "$CLUSTER" --port "$PGPORT" --start-conf manual \
        --datadir "$PGDATA_DIR" --locale C.UTF-8 --encoding UTF8 2>&1)"; then
      printf '%s\n' "$out" >&2
      die "pg_createcluster $ver $CLUSTER failed (output above)"
    fi
    info="$(cluster_info)"
    [[ -n "$info" ]] || die "cluster $ver/$CLUSTER not listed by pg_lsclusters after creation"
  fi
  read -r ver port _ <<<"$info"
  as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql

  if is_running "$ver"; then
    [[ "$port" == "$PGPORT" ]] \
      || die "cluster $ver/$CLUSTER is already running on port $port, not PGPORT=$PGPORT: run '$0 stop' first to change the port"
    wait_ready "$ver"
    changed="$(write_conf "$ver")"
    if [[ -n "$changed" ]]; then
      as_root pg_ctlcluster "$ver" "$CLUSTER" reload >&2 || die "pg_ctlcluster $ver $CLUSTER reload failed"
      log "configuration changed: reloaded"
      local pending
      pending="$(psql_admin -tAc "SELECT string_agg(name, ', ') FROM pg_settings WHERE pending_restart")" \
        || die "cannot query the cluster as postgres over the local socket"
      [[ -z "$pending" ]] || log "WARNING: these settings need a restart ('$0 stop' then start): $pending"
    fi
    ensure_role_and_db
    log "already running (PostgreSQL $ver cluster $CLUSTER on 127.0.0.1:$PGPORT)"
    return 0
  fi

  write_conf "$ver" >/dev/null
  port_open "$PGPORT" && die "port 127.0.0.1:$PGPORT is in use by a server this checkout did not start (left alone; cluster $ver/$CLUSTER is stopped); free it or set PGPORT"
  log "starting PostgreSQL $ver cluster '$CLUSTER' on 127.0.0.1:$PGPORT$([[ "$UZDIK_PG_FAST" == 1 ]] && echo ' (UZDIK_PG_FAST=1: fsync off)') ..."
  if ! as_root pg_ctlcluster "$ver" "$CLUSTER" start >&2; then
    tail -n 20 "$(logfile "$ver")" >&2 2>/dev/null || true
    die "pg_ctlcluster $ver $CLUSTER start failed (log: $(logfile "$ver"))"
  fi
  wait_ready "$ver"
  ensure_role_and_db
  log "ready on 127.0.0.1:$PGPORT (PostgreSQL $ver, database $DB_NAME, role $DB_USER) after $((SECONDS - t0)) s"
}

# Says so when PGPORT is served by something that is not this checkout's cluster.
note_foreign() {
  port_open "$PGPORT" && log "127.0.0.1:$PGPORT is served by a server this checkout did not start: left alone"
  return 0
}

cmd_stop() {
  validate
  local info ver port
  info="$(cluster_info)"
  if [[ -z "$info" ]]; then
    log "cluster '$CLUSTER' does not exist: nothing to stop"
    note_foreign
    return 0
  fi
  read -r ver port _ <<<"$info"
  if ! is_running "$ver"; then
    log "not running (PostgreSQL $ver cluster $CLUSTER)"
    note_foreign
    return 0
  fi
  if [[ "$port" != "$PGPORT" ]]; then
    log "cluster $ver/$CLUSTER runs on port $port, not PGPORT=$PGPORT: left alone (set PGPORT=$port to stop it)"
    note_foreign
    return 0
  fi
  local t0=$SECONDS
  log "stopping PostgreSQL $ver cluster '$CLUSTER' (port $port) ..."
  # fast = roll back open transactions and disconnect clients; --force falls back to immediate, then kill.
  as_root pg_ctlcluster --force "$ver" "$CLUSTER" stop >&2 || die "pg_ctlcluster $ver $CLUSTER stop failed"
  log "stopped after $((SECONDS - t0)) s"
}

cmd_drop() {
  validate
  local info ver
  info="$(cluster_info)"
  if [[ -z "$info" ]]; then
    log "cluster '$CLUSTER' does not exist: nothing to drop"
    return 0
  fi
  read -r ver _ <<<"$info"
  cmd_stop
  is_running "$ver" && die "cluster $ver/$CLUSTER is still running: not dropped"
  as_root pg_dropcluster "$ver" "$CLUSTER" >&2 || die "pg_dropcluster $ver $CLUSTER failed"
  log "dropped PostgreSQL $ver cluster '$CLUSTER' and its data"
}

cmd_status() {
  local info ver port
  info="$(cluster_info)"
  if [[ -z "$info" ]]; then
    log "cluster '$CLUSTER' does not exist (run: $0 start)"
    return 1
  fi
  read -r ver port _ <<<"$info"
  if is_running "$ver" && pg_isready -q -h 127.0.0.1 -p "$port" -t 2; then
    log "running (PostgreSQL $ver cluster $CLUSTER on 127.0.0.1:$port)"
    return 0
  fi
  log "not running (PostgreSQL $ver cluster $CLUSTER, port $port)"
  return 1
}

cmd_env() {
  validate
  echo "DATABASE_URL=postgresql+asyncpg://$DB_USER:$DB_PASSWORD@127.0.0.1:$PGPORT/$DB_NAME"
}

[[ $# -eq 1 ]] || usage
case "$1" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  drop) cmd_drop ;;
  *) usage ;;
esac
