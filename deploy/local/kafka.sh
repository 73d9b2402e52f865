#!/usr/bin/env bash
# A real Apache Kafka 4.4.0 broker (single-node KRaft, broker+controller) without Docker,
# assembled from Maven Central jars (deploy/local/kafka-pom.xml). See /work/shared/KAFKA-LOCAL.md.
#
# Usage: deploy/local/kafka.sh {start|stop|status|env}
#
# Settings (environment, with defaults):
#   KAFKA_PORT=9092                 client listener (PLAINTEXT on 127.0.0.1)
#   KAFKA_CONTROLLER_PORT=9093      KRaft controller listener
#   KAFKA_DATA_DIR=.cache/kafka/data-<KAFKA_PORT>  (repo root; one broker per checkout and port)
#                                   holds server.properties, the pid file, logs/ and kraft/
#   KAFKA_HEAP=512m                 JVM heap (-Xms/-Xmx)
#   KAFKA_START_TIMEOUT=90          seconds to wait until the broker answers
#   KAFKA_STOP_TIMEOUT=30           seconds to wait after SIGTERM before SIGKILL
#
# Layout of KAFKA_DATA_DIR: server.properties, kafka.pid, cluster.id, logs/ (server.log from log4j2,
# console.log = JVM stdout/stderr), kraft/ (Kafka's log.dirs: topic data and the metadata log).
# Jars are cached once in <repo>/.cache/kafka/libs (git-ignored); delete that folder to download again.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
POM="$HERE/kafka-pom.xml"
LOG4J_CONF="$HERE/log4j2.properties"
CACHE="$ROOT/.cache/kafka"
LIBS="$CACHE/libs"
MARKER="$LIBS/.complete"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$ROOT/.cache/kafka/data-$KAFKA_PORT}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

DATA="$(realpath -m -- "$KAFKA_DATA_DIR")"
PROPS="$DATA/server.properties"
PIDFILE="$DATA/kafka.pid"
CLUSTER_ID_FILE="$DATA/cluster.id"
LOGDIR="$DATA/logs"
KRAFT_DIR="$DATA/kraft"
CONSOLE_LOG="$LOGDIR/console.log"
SERVER_LOG="$LOGDIR/server.log"
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
VENV_PY="$ROOT/.venv/bin/python"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { printf 'kafka.sh: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  echo "usage: $0 {start|stop|status|env}" >&2
  exit 2
}

validate() {
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    [[ "$p" =~ ^[0-9]{1,5}$ ]] && (( 10#$p > 0 && 10#$p < 65536 )) || die "invalid port '$p' (KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
  done
  [[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ (both $KAFKA_PORT)"
  [[ "$KAFKA_HEAP" =~ ^[0-9]+[kKmMgG]?$ ]] || die "invalid KAFKA_HEAP '$KAFKA_HEAP' (e.g. 512m, 1g)"
  [[ "$KAFKA_START_TIMEOUT" =~ ^[0-9]+$ && "$KAFKA_STOP_TIMEOUT" =~ ^[0-9]+$ ]] \
    || die "KAFKA_START_TIMEOUT / KAFKA_STOP_TIMEOUT must be whole seconds"
}

# Serialises start/stop on one data dir (two `make up` at once). The lock fd is closed for the broker.
lock_data_dir() {
  mkdir -p "$DATA" || die "cannot create data dir $DATA"
  exec 9>"$DATA/.lock"
  flock -w 180 9 || die "another kafka.sh holds $DATA/.lock for more than 180 s"
}

# Prints the broker pid when the pid file names a live kafka.Kafka process using this data dir.
running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(tr -dc '0-9' <"$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must be our broker with our server.properties.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "kafka.Kafka $PROPS" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The client port recorded in the generated server.properties (for messages about a running broker).
running_port() {
  sed -n 's#^listeners=PLAINTEXT://[^:]*:\([0-9]*\),.*#\1#p' "$PROPS" 2>/dev/null | head -n1
}

ensure_tool() { # ensure_tool <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "'$1' not found: installing Debian package $2 ..."
    # DPkg::Lock::Timeout: postgres.sh may be installing at the same time (deploy/local/up.sh runs both).
    { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$2"; } >&2 \
      || die "apt-get install $2 failed"
    command -v "$1" >/dev/null 2>&1 || die "'$1' still not found after installing $2"
  else
    die "'$1' not found: install $2 (e.g. sudo apt-get install -y $2)"
  fi
}

# Download the broker jars once (marker = sha256 of the pom, so editing the pom re-downloads).
fetch_libs() {
  local want have=""
  want="$(sha256sum "$POM" | cut -d' ' -f1)"
  [[ -f "$MARKER" ]] && have="$(cat "$MARKER")"
  if [[ "$have" == "$want" ]] && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
    return 0
  fi
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.fetch.lock"
  flock -w 600 8 || die "another kafka.sh is downloading jars for more than 600 s ($CACHE/.fetch.lock)"
  # Re-check: a concurrent run may have finished the download while we waited.
  [[ -f "$MARKER" ]] && have="$(cat "$MARKER")"
  if [[ "$have" == "$want" ]] && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
    exec 8>&-; return 0
  fi
  ensure_tool mvn maven
  local tmp="$CACHE/libs.tmp.$$" t0=$SECONDS
  rm -rf "$tmp"
  log "downloading Kafka broker jars from Maven Central into $LIBS (once) ..."
  # Maven's output goes to a file (Maven 3.8 prints stray ANSI codes even with -B -q); shown on failure.
  if ! mvn -B -q -f "$POM" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$CACHE/mvn.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 30 "$CACHE/mvn.log" >&2 || true
    die "mvn copy-dependencies failed (no access to Maven Central? full output: $CACHE/mvn.log)"
  fi
  local n_clients
  n_clients="$(compgen -G "$tmp/kafka-clients-*.jar" | wc -l)"
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "download incomplete: no kafka_2.13 jar in $tmp"; }
  compgen -G "$tmp/log4j-slf4j-impl-*.jar" >/dev/null || { rm -rf "$tmp"; die "download incomplete: no log4j-slf4j-impl jar"; }
  [[ "$n_clients" == 1 ]] || { rm -rf "$tmp"; die "expected exactly one kafka-clients jar, found $n_clients"; }
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  echo "$want" >"$MARKER"
  log "downloaded $(compgen -G "$LIBS/*.jar" | wc -l) jars in $((SECONDS - t0)) s"
  exec 8>&-
}

log_opts() { printf '%s\n' "-Dlog4j2.configurationFile=$LOG4J_CONF" "-Dkafka.logs.dir=$LOGDIR"; }

java_opts() {
  printf '%s\n' "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
  log_opts
}

write_props() {
  cat >"$PROPS.tmp" <<EOF
# Generated by deploy/local/kafka.sh on every start: edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KRAFT_DIR
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.partitions=3
default.replication.factor=1
# Keep events forever (event store).
log.retention.ms=-1
log.retention.bytes=-1
EOF
  mv "$PROPS.tmp" "$PROPS"
}

# Format the storage once (meta.properties present = formatted). The cluster id is kept in the data dir.
format_storage() {
  [[ -f "$KRAFT_DIR/meta.properties" ]] && return 0
  local cid opts
  mapfile -t opts < <(log_opts)
  if [[ -s "$CLUSTER_ID_FILE" ]]; then
    cid="$(cat "$CLUSTER_ID_FILE")"
  else
    cid="$(java "${opts[@]}" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>>"$CONSOLE_LOG" | tail -n1)" \
      || die "StorageTool random-uuid failed (see $CONSOLE_LOG)"
    [[ "$cid" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid printed an unexpected cluster id '$cid'"
    echo "$cid" >"$CLUSTER_ID_FILE"
  fi
  log "formatting KRaft storage in $KRAFT_DIR (cluster id $cid) ..."
  java "${opts[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format --standalone -t "$cid" -c "$PROPS" -g \
    >>"$CONSOLE_LOG" 2>&1 || { tail -n 20 "$CONSOLE_LOG" >&2; die "StorageTool format failed (log: $CONSOLE_LOG)"; }
}

have_aiokafka() { [[ -x "$VENV_PY" ]] && "$VENV_PY" -c 'import aiokafka' >/dev/null 2>&1; }

# Real readiness: an aiokafka admin client gets cluster metadata with a broker and an active controller.
# Loops inside one Python process until ready (exit 0), the broker pid dies (exit 3) or the deadline (exit 4).
probe_aiokafka() { # probe_aiokafka <pid> <seconds>
  "$VENV_PY" - "$BOOTSTRAP" "$1" "$2" <<'PY'
import asyncio, logging, os, sys, time
logging.disable(logging.CRITICAL)  # aiokafka logs every refused connection while the broker boots
from aiokafka.admin import AIOKafkaAdminClient

bootstrap, pid, budget = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + budget

def alive() -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False

async def once() -> bool:
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(client.start(), 8)
        info = await asyncio.wait_for(client.describe_cluster(), 8)
        return bool(info.get("brokers")) and info.get("controller_id", -1) not in (None, -1)
    except Exception:
        return False
    finally:
        try:
            await client.close()
        except Exception:
            pass

async def main() -> int:
    while time.monotonic() < deadline:
        if not alive():
            return 3
        if await once():
            return 0
        await asyncio.sleep(0.5)
    return 4

sys.exit(asyncio.run(main()))
PY
}

# Fallback without the venv: the port accepts connections AND this run logged that the broker started.
probe_port() { # probe_port <pid> <seconds> <server.log size before this run>
  local deadline=$((SECONDS + $2)) off=$3 size
  while (( SECONDS < deadline )); do
    kill -0 "$1" 2>/dev/null || return 3
    size="$(stat -c %s "$SERVER_LOG" 2>/dev/null || echo 0)"
    (( size >= off )) || off=0  # the log rolled over meanwhile
    if port_open "$KAFKA_PORT" && tail -c +"$((off + 1))" "$SERVER_LOG" 2>/dev/null | grep -q "Kafka Server started"; then
      return 0
    fi
    sleep 0.5
  done
  return 4
}

cmd_start() {
  validate
  lock_data_dir
  local pid
  if pid="$(running_pid)"; then
    local p; p="$(running_port)"
    [[ -z "$p" || "$p" == "$KAFKA_PORT" ]] \
      || die "the broker of $DATA is already running on port $p, not KAFKA_PORT=$KAFKA_PORT: run '$0 stop' first to change the port"
    log "already running (pid $pid, bootstrap 127.0.0.1:${p:-?}, data $DATA)"
    return 0
  fi
  rm -f "$PIDFILE"
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "port 127.0.0.1:$p is in use by a process this checkout did not start (not the broker of $DATA; left alone); free it or set KAFKA_PORT/KAFKA_CONTROLLER_PORT"
  done
  ensure_tool java openjdk-17-jre-headless
  [[ -f "$LOG4J_CONF" ]] || die "missing $LOG4J_CONF"
  local t0=$SECONDS
  fetch_libs
  mkdir -p "$LOGDIR" "$KRAFT_DIR"
  write_props
  format_storage

  local opts
  mapfile -t opts < <(java_opts)
  log "starting broker on $BOOTSTRAP (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, heap $KAFKA_HEAP, data $DATA) ..."
  printf '\n===== %s kafka.sh start =====\n' "$(date -Is)" >>"$CONSOLE_LOG"
  local con_off srv_off  # to show only this run's log lines on failure
  con_off="$(stat -c %s "$CONSOLE_LOG")"
  srv_off="$(stat -c %s "$SERVER_LOG" 2>/dev/null || echo 0)"
  # nohup + setsid exec into java (same pid), detached from this terminal/session; fds 8/9 (locks) closed.
  nohup setsid java "${opts[@]}" -cp "$LIBS/*" kafka.Kafka "$PROPS" \
    </dev/null >>"$CONSOLE_LOG" 2>&1 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$PIDFILE"

  local rc=0 how
  if have_aiokafka; then
    how="aiokafka admin metadata"
    probe_aiokafka "$pid" "$KAFKA_START_TIMEOUT" || rc=$?
  else
    how="port probe + 'Kafka Server started' in server.log (no $VENV_PY with aiokafka)"
    probe_port "$pid" "$KAFKA_START_TIMEOUT" "$srv_off" || rc=$?
  fi
  case "$rc" in
    0) log "ready on $BOOTSTRAP (pid $pid, checked by $how) after $((SECONDS - t0)) s" ;;
    3) rm -f "$PIDFILE"
       { echo "--- $CONSOLE_LOG (this run)"; tail -c +"$((con_off + 1))" "$CONSOLE_LOG" | tail -n 15
         echo "--- $SERVER_LOG (this run, last lines)"; tail -c +"$((srv_off + 1))" "$SERVER_LOG" 2>/dev/null | tail -n 25; } >&2 || true
       die "the broker exited during start-up (logs above; full logs in $LOGDIR)" ;;
    *) { echo "--- $SERVER_LOG (this run, last lines)"; tail -c +"$((srv_off + 1))" "$SERVER_LOG" 2>/dev/null | tail -n 25; } >&2 || true
       stop_pid "$pid"
       die "the broker did not answer on $BOOTSTRAP within ${KAFKA_START_TIMEOUT} s (checked by $how); stopped it. Logs: $LOGDIR" ;;
  esac
}

stop_pid() { # SIGTERM, wait, then SIGKILL
  local pid=$1 deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.3; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running ${KAFKA_STOP_TIMEOUT} s after SIGTERM: sending SIGKILL to $pid"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$PIDFILE"
}

# Says so when a port of ours is served by something that is not this checkout's broker.
note_foreign() {
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && log "127.0.0.1:$p is served by a process this checkout did not start: left alone"
  done
  return 0
}

cmd_stop() {
  validate
  lock_data_dir
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    log "not running (data $DATA)"
    note_foreign
    return 0
  fi
  local p; p="$(running_port)"
  if [[ -n "$p" && "$p" != "$KAFKA_PORT" ]]; then
    log "the broker of $DATA runs on port $p, not KAFKA_PORT=$KAFKA_PORT: left alone"
    note_foreign
    return 0
  fi
  local t0=$SECONDS
  log "stopping broker (pid $pid) ..."
  stop_pid "$pid"
  log "stopped after $((SECONDS - t0)) s"
}

cmd_status() {
  local pid p
  if pid="$(running_pid)"; then
    p="$(running_port)"
    if port_open "${p:-$KAFKA_PORT}"; then
      log "running (pid $pid, bootstrap 127.0.0.1:${p:-$KAFKA_PORT}, data $DATA)"
      return 0
    fi
    log "process $pid is alive but 127.0.0.1:${p:-$KAFKA_PORT} does not accept connections (starting or broken; logs: $LOGDIR)"
    return 1
  fi
  log "not running (data $DATA)"
  return 1
}

cmd_env() {
  validate
  echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
}

[[ $# -eq 1 ]] || usage
case "$1" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) usage ;;
esac
