#!/usr/bin/env bash
# A real OpenID Connect provider (panva/oidc-provider on Node.js, deploy/local/idp/server.mjs)
# for local runs and the portal's tests: authorisation code + PKCE, JWT access tokens for the
# uzdik API (audience uzdik; claims sub, name, roles, region, commission), RP-initiated logout.
# A stand-in for the deployment's identity provider (deploy/README.md "Sign-in (OpenID Connect)").
#
# Usage: deploy/local/idp.sh {start|stop|status|env|install}
#   install   npm ci into deploy/local/idp/node_modules (once; again when package-lock.json changes)
#
# Settings (environment, with defaults; server.mjs reads the IDP_* ones):
#   IDP_PORT=9400                  listens on 127.0.0.1
#   IDP_ISSUER=http://127.0.0.1:$IDP_PORT
#   IDP_ACCOUNTS=deploy/local/idp/accounts.dev.json   people who may sign in (sub = username)
#   IDP_CLIENTS                    a JSON list of clients; unset: the portal's client, from
#     IDP_CLIENT_ID=uzdik-portal IDP_CLIENT_SECRET=uzdik-portal-dev-secret
#     IDP_REDIRECT_URIS=http://127.0.0.1:8000/auth/callback (comma-separated)
#     IDP_POST_LOGOUT_URIS=http://127.0.0.1:8000/?signed_out=1 (comma-separated)
#   IDP_AUDIENCE=uzdik             IDP_JWKS (a private JWK Set file; unset: a key made at start)
#   IDP_START_TIMEOUT=30           seconds to wait until the discovery document answers
#   IDP_STOP_TIMEOUT=10            seconds to wait after SIGTERM before SIGKILL
#
# The pid file and the log are <repo>/.cache/idp/idp-<IDP_PORT>.{pid,log} (git-ignored).
# State is in memory: a restart forgets sessions and (without IDP_JWKS) changes the signing key.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
APP="$HERE/idp"
SERVER="$APP/server.mjs"
LOCKFILE="$APP/package-lock.json"
MODULES="$APP/node_modules"
MARKER="$MODULES/.uzdik-installed"
CACHE="$ROOT/.cache/idp"

IDP_PORT="${IDP_PORT:-9400}"
IDP_ISSUER="${IDP_ISSUER:-http://127.0.0.1:$IDP_PORT}"
IDP_ISSUER="${IDP_ISSUER%/}"
IDP_START_TIMEOUT="${IDP_START_TIMEOUT:-30}"
IDP_STOP_TIMEOUT="${IDP_STOP_TIMEOUT:-10}"
PIDFILE="$CACHE/idp-$IDP_PORT.pid"
LOG="$CACHE/idp-$IDP_PORT.log"
NODE_MAJOR_MIN=20

log() { printf 'idp.sh: %s\n' "$*" >&2; }
die() { printf 'idp.sh: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  echo "usage: $0 {start|stop|status|env|install}" >&2
  exit 2
}

validate() {
  [[ "$IDP_PORT" =~ ^[0-9]{1,5}$ ]] && (( 10#$IDP_PORT > 0 && 10#$IDP_PORT < 65536 )) || die "invalid IDP_PORT '$IDP_PORT'"
  [[ "$IDP_START_TIMEOUT" =~ ^[0-9]+$ && "$IDP_STOP_TIMEOUT" =~ ^[0-9]+$ ]] \
    || die "IDP_START_TIMEOUT / IDP_STOP_TIMEOUT must be whole seconds"
}

ensure_node() {
  command -v node >/dev/null 2>&1 || die "'node' not found: install Node.js $NODE_MAJOR_MIN or later (with npm)"
  command -v npm >/dev/null 2>&1 || die "'npm' not found: install npm beside Node.js $(node --version)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  (( major >= NODE_MAJOR_MIN )) || die "Node.js $(node --version) is too old: oidc-provider 8 needs $NODE_MAJOR_MIN or later"
}

# npm ci once; the marker holds the sha256 of package-lock.json, so a changed lock installs again.
cmd_install() {
  ensure_node
  local want have=""
  want="$(sha256sum "$LOCKFILE" | cut -d' ' -f1)"
  [[ -f "$MARKER" ]] && have="$(cat "$MARKER")"
  [[ "$have" == "$want" ]] && return 0
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.install.lock"
  flock -w 600 8 || die "another idp.sh has been installing for more than 600 s ($CACHE/.install.lock)"
  [[ -f "$MARKER" ]] && have="$(cat "$MARKER")"
  if [[ "$have" != "$want" ]]; then
    local t0=$SECONDS
    log "installing oidc-provider with npm ci into $MODULES (once) ..."
    if ! (cd "$APP" && npm ci --no-audit --no-fund --loglevel=error) >"$CACHE/npm.log" 2>&1; then
      tail -n 30 "$CACHE/npm.log" >&2 || true
      die "npm ci failed (no access to the npm registry? full output: $CACHE/npm.log)"
    fi
    [[ -f "$MODULES/oidc-provider/package.json" ]] || die "npm ci finished but $MODULES/oidc-provider is missing"
    echo "$want" >"$MARKER"
    log "installed in $((SECONDS - t0)) s"
  fi
  exec 8>&-
}

# Prints the pid when the pid file names a live node process running our server.mjs.
running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(tr -dc '0-9' <"$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$SERVER" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

discovery_answers() {
  node -e 'fetch(process.argv[1]).then(r => r.json()).then(m => process.exit(m.issuer === process.argv[2] ? 0 : 1), () => process.exit(1))' \
    "$IDP_ISSUER/.well-known/openid-configuration" "$IDP_ISSUER" 2>/dev/null
}

stop_pid() { # SIGTERM, wait, then SIGKILL
  local pid=$1 deadline=$((SECONDS + IDP_STOP_TIMEOUT))
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running ${IDP_STOP_TIMEOUT} s after SIGTERM: sending SIGKILL to $pid"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PIDFILE"
}

cmd_start() {
  validate
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.idp-$IDP_PORT.lock"
  flock -w 120 9 || die "another idp.sh holds $CACHE/.idp-$IDP_PORT.lock for more than 120 s"
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid, issuer $IDP_ISSUER, log $LOG)"
    return 0
  fi
  rm -f "$PIDFILE"
  port_open "$IDP_PORT" && die "port 127.0.0.1:$IDP_PORT is in use by a process this checkout did not start (left alone); free it or set IDP_PORT"
  cmd_install
  local t0=$SECONDS off
  printf '\n===== %s idp.sh start =====\n' "$(date -Is)" >>"$LOG"
  off="$(stat -c %s "$LOG")"
  log "starting on $IDP_ISSUER (log $LOG) ..."
  IDP_PORT="$IDP_PORT" IDP_ISSUER="$IDP_ISSUER" nohup setsid node "$SERVER" \
    </dev/null >>"$LOG" 2>&1 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"
  local deadline=$((SECONDS + IDP_START_TIMEOUT))
  while (( SECONDS < deadline )); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      tail -c +"$((off + 1))" "$LOG" | tail -n 20 >&2 || true
      die "the identity provider exited during start-up (its log is above; all of it: $LOG)"
    fi
    if discovery_answers; then
      log "ready on $IDP_ISSUER (pid $pid) after $((SECONDS - t0)) s"
      return 0
    fi
    sleep 0.2
  done
  tail -c +"$((off + 1))" "$LOG" | tail -n 20 >&2 || true
  stop_pid "$pid"
  die "$IDP_ISSUER/.well-known/openid-configuration did not answer within $IDP_START_TIMEOUT s; stopped it (log: $LOG)"
}

cmd_stop() {
  validate
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    log "not running on port $IDP_PORT"
    port_open "$IDP_PORT" && log "127.0.0.1:$IDP_PORT is served by a process this checkout did not start: left alone"
    return 0
  fi
  log "stopping (pid $pid) ..."
  stop_pid "$pid"
  log "stopped"
}

cmd_status() {
  validate
  local pid
  if pid="$(running_pid)"; then
    if discovery_answers; then
      log "running (pid $pid, issuer $IDP_ISSUER, log $LOG)"
      return 0
    fi
    log "process $pid is alive but $IDP_ISSUER does not answer (starting, or another IDP_ISSUER; log: $LOG)"
    return 1
  fi
  log "not running on port $IDP_PORT"
  return 1
}

# The settings that make the portal sign in here and the services accept its tokens.
cmd_env() {
  validate
  echo "UZDIK_OIDC_ISSUER=$IDP_ISSUER"
  echo "UZDIK_OIDC_CLIENT_ID=${IDP_CLIENT_ID:-uzdik-portal}"
  echo "UZDIK_OIDC_CLIENT_SECRET=${IDP_CLIENT_SECRET:-uzdik-portal-dev-secret}"
  echo "UZDIK_JWKS_URL=$IDP_ISSUER/jwks"
  echo "UZDIK_JWT_ISSUER=$IDP_ISSUER"
  echo "UZDIK_JWT_AUDIENCE=${IDP_AUDIENCE:-uzdik}"
}

[[ $# -eq 1 ]] || usage
case "$1" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  install) cmd_install ;;
  *) usage ;;
esac
