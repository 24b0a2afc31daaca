#!/usr/bin/env bash
# Install, start and stop the services of hopwatch's distributed mode on 127.0.0.1, for
# development and CI: Apache Kafka (KRaft, no ZooKeeper), ClickHouse server and Redis.
#
#   deploy/services.sh install [kafka|clickhouse|redis|collectors|checkers|examples|browser|all]   (default: all)
#   deploy/services.sh start kafka [--brokers 1|3] [--node I]   (--node: one node of the existing cluster)
#   deploy/services.sh start clickhouse|redis|all
#   deploy/services.sh stop kafka [--node I] | clickhouse | redis | all
#   deploy/services.sh status
#
# Everything listens on 127.0.0.1 only. Data, logs and pid files go to $HOPWATCH_RUN_DIR/<svc>
# (default deploy/.cache/run/<svc>). Kafka's jars go to deploy/.cache/kafka/libs. Every
# command is idempotent. See docs/operations-services.md.
#
# Environment (defaults):
#   HOPWATCH_RUN_DIR                    deploy/.cache/run
#   HOPWATCH_KAFKA_HOME                 deploy/.cache/kafka   (libs/ = the jars)
#   HOPWATCH_KAFKA_VERSION              3.9.1                 (install only)
#   HOPWATCH_KAFKA_PORT                 19092  node I listens on PORT+I
#   HOPWATCH_KAFKA_CONTROLLER_PORT      19192  node I's controller listener on PORT+I
#   HOPWATCH_KAFKA_PORTS                (comma list, overrides HOPWATCH_KAFKA_PORT per node)
#   HOPWATCH_KAFKA_CONTROLLER_PORTS     (comma list, overrides HOPWATCH_KAFKA_CONTROLLER_PORT)
#   HOPWATCH_KAFKA_HEAP                 512m   (-Xmx per node)
#   HOPWATCH_KAFKA_SASL_SSL_PORTS       (comma list: node I also gets a SASL_SSL listener there)
#   HOPWATCH_KAFKA_KEYSTORE             PKCS12 key store of the broker certificate (SASL_SSL)
#   HOPWATCH_KAFKA_TRUSTSTORE           PKCS12 trust store: client certificates are then
#                                       requested and checked (optional mutual TLS)
#   HOPWATCH_KAFKA_STORE_PASSWORD_FILE  password of both stores
#   HOPWATCH_KAFKA_SASL_USERS_FILE      lines 'MECHANISM USER PASSWORD' (PLAIN, SCRAM-SHA-256,
#                                       SCRAM-SHA-512); SCRAM users are stored at format time
#   HOPWATCH_CLICKHOUSE_HTTP_PORT       18123
#   HOPWATCH_CLICKHOUSE_TCP_PORT        19000
#   HOPWATCH_CLICKHOUSE_INTERSERVER_PORT 19009
#   HOPWATCH_CLICKHOUSE_HTTPS_PORT      (set: an HTTPS listener there, with the next two)
#   HOPWATCH_CLICKHOUSE_CERT            PEM server certificate (chain) for HTTPS
#   HOPWATCH_CLICKHOUSE_KEY             PEM private key for HTTPS
#   HOPWATCH_CLICKHOUSE_USERS_FILE      lines 'USER PASSWORD': users with a password (stored
#                                       as password_sha256_hex in users.d/); `default` stays
#   HOPWATCH_REDIS_PORT                 16379
#   HOPWATCH_START_TIMEOUT              90     seconds to wait for a service to answer
#   HOPWATCH_STOP_TIMEOUT               30     seconds to wait after SIGTERM before SIGKILL
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="$DEPLOY_DIR/.cache"
RUN_DIR="${HOPWATCH_RUN_DIR:-$CACHE_DIR/run}"
KAFKA_HOME="${HOPWATCH_KAFKA_HOME:-$CACHE_DIR/kafka}"
KAFKA_VERSION="${HOPWATCH_KAFKA_VERSION:-3.9.1}"
KAFKA_PORT="${HOPWATCH_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${HOPWATCH_KAFKA_CONTROLLER_PORT:-19192}"
KAFKA_HEAP="${HOPWATCH_KAFKA_HEAP:-512m}"
CH_HTTP_PORT="${HOPWATCH_CLICKHOUSE_HTTP_PORT:-18123}"
CH_TCP_PORT="${HOPWATCH_CLICKHOUSE_TCP_PORT:-19000}"
CH_INTERSERVER_PORT="${HOPWATCH_CLICKHOUSE_INTERSERVER_PORT:-19009}"
REDIS_PORT="${HOPWATCH_REDIS_PORT:-16379}"
START_TIMEOUT="${HOPWATCH_START_TIMEOUT:-90}"
STOP_TIMEOUT="${HOPWATCH_STOP_TIMEOUT:-30}"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

log() { echo "services: $*"; }
die() { echo "services: error: $*" >&2; exit 1; }

usage() {
  sed -n '4,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}

# ---------------------------------------------------------------- helpers

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    die "apt-get not found; install these packages by hand: $*"
  fi
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE PATTERN: true if the pid in PIDFILE runs a command line matching PATTERN
# (guards against a stale pid file whose pid was reused by something else)
pid_alive() {
  local pidfile="$1" pattern="$2" pid
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern"
}

# proc_exists PIDFILE: the pid in PIDFILE exists (for the start-up loops: right after the fork
# the child may not have exec'd the server yet, so its command line cannot be matched)
proc_exists() {
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# stop_pid NAME PIDFILE PATTERN: SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL
stop_pid() {
  local name="$1" pidfile="$2" pattern="$3" pid i
  if ! pid_alive "$pidfile" "$pattern"; then
    rm -f "$pidfile"
    log "$name: not running"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    pid_alive "$pidfile" "$pattern" || break
    sleep 0.1
  done
  if pid_alive "$pidfile" "$pattern"; then
    log "$name: still running ${STOP_TIMEOUT}s after SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pid_alive "$pidfile" "$pattern" || break
      sleep 0.1
    done
  fi
  rm -f "$pidfile"
  log "$name: stopped (pid $pid)"
}

# pid files of the servers this invocation launched: killed again if start-up fails
LAUNCHED=()

# fail_start NAME LOGFILE...: print the log tails, kill what this run launched, exit 1
fail_start() {
  local name="$1" f
  shift
  for f in "${LAUNCHED[@]}"; do
    if proc_exists "$f"; then kill -KILL "$(cat "$f")" 2>/dev/null || true; fi
    rm -f "$f"
  done
  echo "services: error: $name did not become ready" >&2
  for f in "$@"; do
    if [ -f "$f" ]; then
      echo "---- last 40 lines of $f" >&2
      tail -n 40 "$f" >&2
    fi
  done
  exit 1
}

# ---------------------------------------------------------------- kafka

kafka_installed() {
  command -v java >/dev/null 2>&1 && compgen -G "$KAFKA_HOME/libs/kafka_2.13-*.jar" >/dev/null
}

install_kafka() {
  if kafka_installed && [ "$(cat "$KAFKA_HOME/VERSION" 2>/dev/null)" = "$KAFKA_VERSION" ]; then
    log "kafka: $KAFKA_VERSION already installed in $KAFKA_HOME/libs"
    return 0
  fi
  local need=()
  command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
  # the TLS tests make their certificates with openssl (keytool comes with the JRE)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi
  log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central"
  local tmp="$KAFKA_HOME/libs.tmp"
  rm -rf "$tmp"
  mkdir -p "$KAFKA_HOME"
  # (sed: Maven 3.8 prints ANSI colour resets even in batch mode)
  mvn -B -q -f "$DEPLOY_DIR/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g'
  [ "${PIPESTATUS[0]}" = 0 ] || die "kafka: maven failed (see above)"
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || die "kafka: maven did not produce kafka_2.13 jar in $tmp"
  rm -rf "$KAFKA_HOME/libs"
  mv "$tmp" "$KAFKA_HOME/libs"
  echo "$KAFKA_VERSION" >"$KAFKA_HOME/VERSION"
  log "kafka: installed $KAFKA_VERSION ($(ls "$KAFKA_HOME/libs" | wc -l) jars, $(du -sh "$KAFKA_HOME/libs" | cut -f1)) in $KAFKA_HOME/libs"
}

KAFKA_DIR="$RUN_DIR/kafka"
KAFKA_CLUSTER_ENV="$KAFKA_DIR/cluster.env"

# kafka_ports N: sets KPORTS and CPORTS arrays for an N-node cluster from the environment
kafka_ports() {
  local n="$1" i
  KPORTS=()
  CPORTS=()
  if [ -n "${HOPWATCH_KAFKA_PORTS:-}" ]; then
    IFS=, read -r -a KPORTS <<<"$HOPWATCH_KAFKA_PORTS"
  else
    for ((i = 0; i < n; i++)); do KPORTS+=($((KAFKA_PORT + i))); done
  fi
  if [ -n "${HOPWATCH_KAFKA_CONTROLLER_PORTS:-}" ]; then
    IFS=, read -r -a CPORTS <<<"$HOPWATCH_KAFKA_CONTROLLER_PORTS"
  else
    for ((i = 0; i < n; i++)); do CPORTS+=($((KAFKA_CONTROLLER_PORT + i))); done
  fi
  [ "${#KPORTS[@]}" -ge "$n" ] && [ "${#CPORTS[@]}" -ge "$n" ] ||
    die "kafka: need $n broker and controller ports (HOPWATCH_KAFKA_PORTS / HOPWATCH_KAFKA_CONTROLLER_PORTS)"
}

# Reads the cluster created by the last `start kafka` (size, cluster id, ports).
kafka_load_cluster() {
  [ -f "$KAFKA_CLUSTER_ENV" ] || return 1
  # shellcheck disable=SC1090
  . "$KAFKA_CLUSTER_ENV"
  IFS=, read -r -a KPORTS <<<"$CLUSTER_PORTS"
  IFS=, read -r -a CPORTS <<<"$CLUSTER_CONTROLLER_PORTS"
}

kafka_node_running() { pid_alive "$KAFKA_DIR/node-$1/pid" "kafka.Kafka"; }

kafka_any_running() {
  local d
  for d in "$KAFKA_DIR"/node-*; do
    [ -d "$d" ] || continue
    pid_alive "$d/pid" "kafka.Kafka" && return 0
  done
  return 1
}

kafka_write_config() {
  local i="$1" n="$CLUSTER_SIZE" dir="$KAFKA_DIR/node-$1" voters="" j rf min_isr
  for ((j = 0; j < n; j++)); do
    voters+="${voters:+,}$((j + 1))@127.0.0.1:${CPORTS[$j]}"
  done
  if [ "$n" -ge 3 ]; then rf=3 min_isr=2; else rf=1 min_isr=1; fi
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
# Generated by deploy/services.sh; rewritten on every start.
process.roles=broker,controller
node.id=$((i + 1))
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${KPORTS[$i]},CONTROLLER://127.0.0.1:${CPORTS[$i]}${SASL_PORTS[$i]:+,SASL_SSL://127.0.0.1:${SASL_PORTS[$i]}}
advertised.listeners=PLAINTEXT://127.0.0.1:${KPORTS[$i]}${SASL_PORTS[$i]:+,SASL_SSL://127.0.0.1:${SASL_PORTS[$i]}}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$rf
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
log.retention.hours=24
log.segment.bytes=67108864
EOF
  if [ -n "${SASL_PORTS[$i]:-}" ]; then kafka_sasl_ssl_config >>"$dir/server.properties"; fi
  chmod 600 "$dir/server.properties"
}

# SASL_PORTS: the SASL_SSL listener port of each node ('' = none), from the environment
kafka_sasl_ports() {
  SASL_PORTS=()
  if [ -n "${HOPWATCH_KAFKA_SASL_SSL_PORTS:-}" ]; then
    IFS=, read -r -a SASL_PORTS <<<"$HOPWATCH_KAFKA_SASL_SSL_PORTS"
    [ -n "${HOPWATCH_KAFKA_KEYSTORE:-}" ] && [ -n "${HOPWATCH_KAFKA_STORE_PASSWORD_FILE:-}" ] &&
      [ -n "${HOPWATCH_KAFKA_SASL_USERS_FILE:-}" ] ||
      die "kafka: a SASL_SSL listener needs HOPWATCH_KAFKA_KEYSTORE, HOPWATCH_KAFKA_STORE_PASSWORD_FILE and HOPWATCH_KAFKA_SASL_USERS_FILE"
    kafka_sasl_users PLAIN >/dev/null # checks the file here, where die ends the script
  fi
}

# kafka_sasl_users MECHANISM: 'USER PASSWORD' lines of that mechanism from the users file
kafka_sasl_users() {
  local mech user pass rest
  while read -r mech user pass rest; do
    case "$mech" in '' | '#'*) continue ;; esac
    [ -n "$pass" ] && [ -z "$rest" ] || die "kafka: $HOPWATCH_KAFKA_SASL_USERS_FILE: want 'MECHANISM USER PASSWORD' lines"
    # the JAAS and --add-scram syntaxes have no escapes: keep names and passwords plain
    [[ "$user$pass" =~ ^[A-Za-z0-9._@+-]+$ ]] || die "kafka: SASL user $user: names and passwords of letters, digits and ._@+- only"
    if [ "$mech" = "$1" ]; then echo "$user $pass"; fi
  done <"$HOPWATCH_KAFKA_SASL_USERS_FILE"
}

# The SASL_SSL listener: TLS with the broker's key store, PLAIN users in JAAS, SCRAM users
# from the metadata log (kafka_format_node adds them).
kafka_sasl_ssl_config() {
  local pw plain="" user pass
  pw="$(head -n1 "$HOPWATCH_KAFKA_STORE_PASSWORD_FILE")"
  while read -r user pass; do plain+=" user_$user=\"$pass\""; done < <(kafka_sasl_users PLAIN)
  cat <<EOF
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${plain};
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$HOPWATCH_KAFKA_KEYSTORE
ssl.keystore.password=$pw
ssl.key.password=$pw
EOF
  if [ -n "${HOPWATCH_KAFKA_TRUSTSTORE:-}" ]; then
    cat <<EOF
ssl.truststore.type=PKCS12
ssl.truststore.location=$HOPWATCH_KAFKA_TRUSTSTORE
ssl.truststore.password=$pw
ssl.client.auth=requested
EOF
  fi
}

KAFKA_JVM_OPTS=(-Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j.configuration="file:$DEPLOY_DIR/kafka/log4j.properties" -cp "$KAFKA_HOME/libs/*")

kafka_random_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    case "$id" in -*) ;; *) echo "$id"; return ;; esac
  done
}

kafka_format_node() {
  local i="$1" dir="$KAFKA_DIR/node-$1"
  [ -f "$dir/data/meta.properties" ] && return 0
  local scram=() m user pass
  if [ -n "${SASL_PORTS[$i]:-}" ]; then
    for m in SCRAM-SHA-256 SCRAM-SHA-512; do
      while read -r user pass; do scram+=(--add-scram "$m=[name=$user,password=$pass]"); done < <(kafka_sasl_users "$m")
    done
  fi
  java "${KAFKA_JVM_OPTS[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$dir/server.properties" \
    "${scram[@]}" >"$dir/format.log" 2>&1 || fail_start "kafka node $i (storage format)" "$dir/format.log"
}

kafka_launch_node() {
  local i="$1" dir="$KAFKA_DIR/node-$1"
  if kafka_node_running "$i"; then return 0; fi
  if port_open "${KPORTS[$i]}" || port_open "${CPORTS[$i]}"; then
    die "kafka node $i: port ${KPORTS[$i]} or ${CPORTS[$i]} on 127.0.0.1 is already in use by another process"
  fi
  [ -f "$dir/server.log" ] && mv -f "$dir/server.log" "$dir/server.log.1"
  (cd "$dir" || exit 1; nohup java "${KAFKA_JVM_OPTS[@]}" -Dkafka.logs.dir="$dir" \
    kafka.Kafka "$dir/server.properties" </dev/null >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid")
  LAUNCHED+=("$dir/pid")
}

kafka_wait_nodes() {
  local deadline=$((SECONDS + START_TIMEOUT)) i pending logs=()
  while :; do
    pending=0
    for i in "$@"; do
      local dir="$KAFKA_DIR/node-$i"
      if ! proc_exists "$dir/pid"; then
        fail_start "kafka node $i (process exited)" "$dir/server.log"
      fi
      if ! { grep -q 'Kafka Server started' "$dir/server.log" 2>/dev/null && port_open "${KPORTS[$i]}"; }; then
        pending=1
      fi
    done
    [ "$pending" = 0 ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      for i in "$@"; do logs+=("$KAFKA_DIR/node-$i/server.log"); done
      fail_start "kafka (timeout ${START_TIMEOUT}s)" "${logs[@]}"
    fi
    sleep 0.2
  done
}

start_kafka() {
  local brokers="" node=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --brokers) brokers="${2:-}"; shift 2 ;;
      --brokers=*) brokers="${1#*=}"; shift ;;
      --node) node="${2:-}"; shift 2 ;;
      --node=*) node="${1#*=}"; shift ;;
      *) die "start kafka: unknown option $1" ;;
    esac
  done
  kafka_installed || die "kafka is not installed (java + $KAFKA_HOME/libs); run: $0 install kafka"
  kafka_sasl_ports

  if [ -n "$node" ]; then
    kafka_load_cluster || die "kafka: no cluster in $KAFKA_DIR; run: $0 start kafka first"
    [ "$node" -ge 0 ] 2>/dev/null && [ "$node" -lt "$CLUSTER_SIZE" ] || die "kafka: --node must be 0..$((CLUSTER_SIZE - 1))"
    if kafka_node_running "$node"; then
      log "kafka node $node: already running (pid $(cat "$KAFKA_DIR/node-$node/pid"))"
      return 0
    fi
    kafka_write_config "$node"
    kafka_format_node "$node"
    kafka_launch_node "$node"
    kafka_wait_nodes "$node"
    log "kafka node $node: ready on 127.0.0.1:${KPORTS[$node]} (pid $(cat "$KAFKA_DIR/node-$node/pid"))"
    return 0
  fi

  brokers="${brokers:-1}"
  case "$brokers" in 1 | 3) ;; *) die "start kafka: --brokers must be 1 or 3" ;; esac

  if kafka_any_running; then
    if kafka_load_cluster && [ "$CLUSTER_SIZE" = "$brokers" ]; then
      # idempotent: (re)start any node that is down, then wait for all
      local i todo=()
      for ((i = 0; i < CLUSTER_SIZE; i++)); do
        kafka_node_running "$i" || todo+=("$i")
      done
      if [ ${#todo[@]} -eq 0 ]; then
        log "kafka: already running ($CLUSTER_SIZE node(s), bootstrap $(kafka_bootstrap))"
        return 0
      fi
      for i in "${todo[@]}"; do kafka_write_config "$i"; kafka_format_node "$i"; kafka_launch_node "$i"; done
      kafka_wait_nodes "${todo[@]}"
      log "kafka: ready ($CLUSTER_SIZE node(s), bootstrap $(kafka_bootstrap))"
      return 0
    fi
    die "kafka: a cluster of a different size is running; run: $0 stop kafka"
  fi

  # Reuse the stored cluster (and its data) when the size matches, else create a new one.
  if ! kafka_load_cluster || [ "$CLUSTER_SIZE" != "$brokers" ]; then
    rm -rf "$KAFKA_DIR"
    mkdir -p "$KAFKA_DIR"
    kafka_ports "$brokers"
    CLUSTER_SIZE="$brokers"
    CLUSTER_ID="$(kafka_random_cluster_id)"
    local kp cp
    kp="$(IFS=,; echo "${KPORTS[*]:0:$brokers}")"
    cp="$(IFS=,; echo "${CPORTS[*]:0:$brokers}")"
    cat >"$KAFKA_CLUSTER_ENV" <<EOF
CLUSTER_SIZE=$CLUSTER_SIZE
CLUSTER_ID=$CLUSTER_ID
CLUSTER_PORTS=$kp
CLUSTER_CONTROLLER_PORTS=$cp
EOF
    log "kafka: new KRaft cluster $CLUSTER_ID ($brokers node(s)) in $KAFKA_DIR"
  fi
  local i all=()
  for ((i = 0; i < CLUSTER_SIZE; i++)); do all+=("$i"); done
  # formatting is one short JVM per node; do them in parallel
  for i in "${all[@]}"; do kafka_write_config "$i"; done
  for i in "${all[@]}"; do kafka_format_node "$i" & done
  wait
  # all nodes at once: a 3-voter quorum needs 2 of them up to elect a leader
  for i in "${all[@]}"; do kafka_launch_node "$i"; done
  kafka_wait_nodes "${all[@]}"
  log "kafka: ready ($CLUSTER_SIZE node(s), bootstrap $(kafka_bootstrap))"
}

kafka_bootstrap() {
  local i out=""
  for ((i = 0; i < CLUSTER_SIZE; i++)); do out+="${out:+,}127.0.0.1:${KPORTS[$i]}"; done
  echo "$out"
}

stop_kafka() {
  local node="" d pids=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --node) node="${2:-}"; shift 2 ;;
      --node=*) node="${1#*=}"; shift ;;
      *) die "stop kafka: unknown option $1" ;;
    esac
  done
  if [ -n "$node" ]; then
    stop_pid "kafka node $node" "$KAFKA_DIR/node-$node/pid" "kafka.Kafka"
    return 0
  fi
  local found=0
  # all nodes in parallel, so a 3-node cluster loses its controller quorum only at the end
  for d in "$KAFKA_DIR"/node-*; do
    [ -d "$d" ] || continue
    found=1
    stop_pid "kafka ${d##*/}" "$d/pid" "kafka.Kafka" &
    pids+=($!)
  done
  [ "$found" = 1 ] || log "kafka: not running"
  for d in "${pids[@]}"; do wait "$d" || true; done
}

status_kafka() {
  local installed="no"
  kafka_installed && installed="yes ($(cat "$KAFKA_HOME/VERSION" 2>/dev/null || echo '?'))"
  echo "kafka:      installed=$installed"
  if kafka_load_cluster; then
    local i
    for ((i = 0; i < CLUSTER_SIZE; i++)); do
      if kafka_node_running "$i"; then
        echo "  node $i: running pid $(cat "$KAFKA_DIR/node-$i/pid") 127.0.0.1:${KPORTS[$i]} (controller ${CPORTS[$i]})"
      else
        echo "  node $i: stopped (127.0.0.1:${KPORTS[$i]})"
      fi
    done
  else
    echo "  stopped (no cluster in $KAFKA_DIR)"
  fi
}

# ---------------------------------------------------------------- clickhouse

CH_DIR="$RUN_DIR/clickhouse"

# ClickHouse ships either as `clickhouse-server` (Debian 12's 18.16 package, the old
# official packages) or as a single multi-call `clickhouse` binary (`clickhouse server`).
clickhouse_cmd() {
  local p
  for p in "$(command -v clickhouse-server 2>/dev/null)" /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
    if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  for p in "$(command -v clickhouse 2>/dev/null)" /usr/bin/clickhouse; do
    if [ -n "$p" ] && [ -x "$p" ]; then echo "$p server"; return 0; fi
  done
  return 1
}

install_clickhouse() {
  if clickhouse_cmd >/dev/null; then
    log "clickhouse: already installed ($(clickhouse_cmd))"
    return 0
  fi
  apt_install clickhouse-server
  clickhouse_cmd >/dev/null || die "clickhouse: clickhouse-server still not found after apt-get install"
}

start_clickhouse() {
  local cmd
  cmd="$(clickhouse_cmd)" || die "clickhouse is not installed; run: $0 install clickhouse"
  if pid_alive "$CH_DIR/pid" "clickhouse"; then
    log "clickhouse: already running (pid $(cat "$CH_DIR/pid"), http 127.0.0.1:$CH_HTTP_PORT)"
    return 0
  fi
  if port_open "$CH_HTTP_PORT" || port_open "$CH_TCP_PORT"; then
    die "clickhouse: port $CH_HTTP_PORT or $CH_TCP_PORT on 127.0.0.1 is already in use by another process"
  fi
  mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas,log}
  sed -e "s|@RUN@|$CH_DIR|g" -e "s|@HTTP_PORT@|$CH_HTTP_PORT|g" -e "s|@TCP_PORT@|$CH_TCP_PORT|g" \
    -e "s|@INTERSERVER_PORT@|$CH_INTERSERVER_PORT|g" \
    "$DEPLOY_DIR/clickhouse/config.xml.template" >"$CH_DIR/config.xml"
  cp "$DEPLOY_DIR/clickhouse/users.xml" "$CH_DIR/users.xml"
  rm -rf "$CH_DIR/config.d" "$CH_DIR/users.d"
  if [ -n "${HOPWATCH_CLICKHOUSE_HTTPS_PORT:-}" ]; then clickhouse_https_config; fi
  if [ -n "${HOPWATCH_CLICKHOUSE_USERS_FILE:-}" ]; then clickhouse_users_config; fi
  # shellcheck disable=SC2086
  (cd "$CH_DIR" || exit 1; nohup $cmd --config-file="$CH_DIR/config.xml" </dev/null >"$CH_DIR/log/stdout.log" 2>&1 &
    echo $! >"$CH_DIR/pid")
  LAUNCHED+=("$CH_DIR/pid")
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! proc_exists "$CH_DIR/pid"; then
      fail_start "clickhouse (process exited)" "$CH_DIR/log/stdout.log" "$CH_DIR/log/clickhouse-server.err.log"
    fi
    if [ "$(curl -s --max-time 2 "http://127.0.0.1:$CH_HTTP_PORT/ping" 2>/dev/null)" = "Ok." ]; then break; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail_start "clickhouse (timeout ${START_TIMEOUT}s)" "$CH_DIR/log/stdout.log" "$CH_DIR/log/clickhouse-server.err.log" "$CH_DIR/log/clickhouse-server.log"
    fi
    sleep 0.1
  done
  local version
  version="$(curl -s --max-time 5 "http://127.0.0.1:$CH_HTTP_PORT/?query=SELECT%20version()" || true)"
  log "clickhouse: ready, version $version, http 127.0.0.1:$CH_HTTP_PORT, native 127.0.0.1:$CH_TCP_PORT (pid $(cat "$CH_DIR/pid"))"
}

# config.d/https.xml: an HTTPS port with the given certificate (18.16 reads config.d/ beside
# config.xml; its openSSL section names the files, no client certificates are asked for)
clickhouse_https_config() {
  [ -r "${HOPWATCH_CLICKHOUSE_CERT:-}" ] && [ -r "${HOPWATCH_CLICKHOUSE_KEY:-}" ] ||
    die "clickhouse: HTTPS needs readable HOPWATCH_CLICKHOUSE_CERT and HOPWATCH_CLICKHOUSE_KEY"
  port_open "$HOPWATCH_CLICKHOUSE_HTTPS_PORT" &&
    die "clickhouse: port $HOPWATCH_CLICKHOUSE_HTTPS_PORT on 127.0.0.1 is already in use by another process"
  mkdir -p "$CH_DIR/config.d"
  cat >"$CH_DIR/config.d/https.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <https_port>$HOPWATCH_CLICKHOUSE_HTTPS_PORT</https_port>
    <openSSL>
        <server>
            <certificateFile>$HOPWATCH_CLICKHOUSE_CERT</certificateFile>
            <privateKeyFile>$HOPWATCH_CLICKHOUSE_KEY</privateKeyFile>
            <verificationMode>none</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
</yandex>
EOF
}

# users.d/hopwatch.xml: the users of HOPWATCH_CLICKHOUSE_USERS_FILE, passwords as SHA-256
clickhouse_users_config() {
  local user pass rest hash
  mkdir -p "$CH_DIR/users.d"
  {
    echo '<?xml version="1.0"?>'
    echo '<yandex><users>'
    while read -r user pass rest; do
      case "$user" in '' | '#'*) continue ;; esac
      [ -n "$pass" ] && [ -z "$rest" ] && [[ "$user" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
        die "clickhouse: $HOPWATCH_CLICKHOUSE_USERS_FILE: want 'USER PASSWORD' lines (user: letters, digits, _)"
      hash="$(printf '%s' "$pass" | sha256sum | cut -d' ' -f1)"
      echo "<$user><password_sha256_hex>$hash</password_sha256_hex>"
      echo "<networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></$user>"
    done <"$HOPWATCH_CLICKHOUSE_USERS_FILE"
    echo '</users></yandex>'
  } >"$CH_DIR/users.d/hopwatch.xml"
}

stop_clickhouse() { stop_pid clickhouse "$CH_DIR/pid" "clickhouse"; }

status_clickhouse() {
  local installed="no"
  clickhouse_cmd >/dev/null && installed="yes ($(clickhouse_cmd))"
  echo "clickhouse: installed=$installed"
  if pid_alive "$CH_DIR/pid" "clickhouse"; then
    echo "  running pid $(cat "$CH_DIR/pid") http 127.0.0.1:$CH_HTTP_PORT native 127.0.0.1:$CH_TCP_PORT"
  else
    echo "  stopped"
  fi
}

# ---------------------------------------------------------------- redis

REDIS_DIR="$RUN_DIR/redis"

redis_installed() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }

install_redis() {
  if redis_installed; then
    log "redis: already installed ($(redis-server --version | head -n1))"
    return 0
  fi
  apt_install redis-server redis-tools
}

start_redis() {
  redis_installed || die "redis is not installed; run: $0 install redis"
  if pid_alive "$REDIS_DIR/pid" "redis-server"; then
    log "redis: already running (pid $(cat "$REDIS_DIR/pid"), 127.0.0.1:$REDIS_PORT)"
    return 0
  fi
  if port_open "$REDIS_PORT"; then
    die "redis: port $REDIS_PORT on 127.0.0.1 is already in use by another process"
  fi
  mkdir -p "$REDIS_DIR"
  sed -e "s|@RUN@|$REDIS_DIR|g" -e "s|@PORT@|$REDIS_PORT|g" \
    "$DEPLOY_DIR/redis/redis.conf.template" >"$REDIS_DIR/redis.conf"
  (cd "$REDIS_DIR" || exit 1; nohup redis-server "$REDIS_DIR/redis.conf" </dev/null >"$REDIS_DIR/stdout.log" 2>&1 &
    echo $! >"$REDIS_DIR/pid")
  LAUNCHED+=("$REDIS_DIR/pid")
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! proc_exists "$REDIS_DIR/pid"; then
      fail_start "redis (process exited)" "$REDIS_DIR/stdout.log" "$REDIS_DIR/redis.log"
    fi
    if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; then break; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail_start "redis (timeout ${START_TIMEOUT}s)" "$REDIS_DIR/stdout.log" "$REDIS_DIR/redis.log"
    fi
    sleep 0.1
  done
  log "redis: ready, $(redis-server --version | awk '{print $3}'), 127.0.0.1:$REDIS_PORT (pid $(cat "$REDIS_DIR/pid"))"
}

stop_redis() { stop_pid redis "$REDIS_DIR/pid" "redis-server"; }

status_redis() {
  local installed="no"
  redis_installed && installed="yes ($(redis-server --version | awk '{print $3}'))"
  echo "redis:      installed=$installed"
  if pid_alive "$REDIS_DIR/pid" "redis-server"; then
    echo "  running pid $(cat "$REDIS_DIR/pid") 127.0.0.1:$REDIS_PORT"
  else
    echo "  stopped"
  fi
}

# ---------------------------------------------------------------- browser (console tests)

# The web console and the HTML report are tested in Debian's chromium, driven headless by
# puppeteer-core at /usr/bin/chromium (never a browser download); docs/console.md.
install_browser() {
  if [ -x /usr/bin/chromium ]; then log "chromium: already installed"; else apt_install chromium; fi
}

# ---------------------------------------------------------------- flow collectors (tests)

# The IPFIX export is tested against collectors people run: nfdump's nfcapd (Debian) and
# GoFlow2 (a Go module, built here with `go install` into deploy/.cache/bin). tshark comes
# with deploy/setup.sh.
GOFLOW2_VERSION="${HOPWATCH_GOFLOW2_VERSION:-v2.2.6}"
BIN_DIR="$CACHE_DIR/bin"

install_collectors() {
  command -v nfcapd >/dev/null 2>&1 || apt_install nfdump
  if [ -x "$BIN_DIR/goflow2" ]; then
    log "goflow2: already installed ($BIN_DIR/goflow2)"
  elif command -v go >/dev/null 2>&1; then
    log "goflow2: go install github.com/netsampler/goflow2/v2/cmd/goflow2@$GOFLOW2_VERSION"
    mkdir -p "$BIN_DIR"
    GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "github.com/netsampler/goflow2/v2/cmd/goflow2@$GOFLOW2_VERSION" \
      || die "goflow2: go install failed"
  else
    die "goflow2: needs Go (https://go.dev) to build; install golang-go"
  fi
}

status_collectors() {
  local nf="no" gf="no"
  command -v nfcapd >/dev/null 2>&1 && nf="yes"
  [ -x "$BIN_DIR/goflow2" ] && gf="yes ($BIN_DIR/goflow2)"
  echo "nfcapd:     installed=$nf"
  echo "goflow2:    installed=$gf"
}

# ---------------------------------------------------------------- checkers (tests)

# The metrics endpoints are checked with Prometheus' promtool (Debian `prometheus`), the
# systemd units in deploy/systemd with systemd-analyze (Debian `systemd`), the JavaScript LZ4
# frames against the reference lz4 tool (Debian `lz4`).
install_checkers() {
  local need=()
  command -v promtool >/dev/null 2>&1 || need+=(prometheus)
  command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
  command -v lz4 >/dev/null 2>&1 || need+=(lz4)
  if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi
  log "checkers: $(promtool --version 2>&1 | head -n1); systemd-analyze $(systemd-analyze --version | head -n1)"
}

# ---------------------------------------------------------------- main

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  install)
    what="${1:-all}"
    case "$what" in
      kafka) install_kafka ;;
      clickhouse) install_clickhouse ;;
      redis) install_redis ;;
      collectors) install_collectors ;;
      checkers) install_checkers ;;
      examples) bash "$DEPLOY_DIR/examples.sh" ;; # the example subscribers' clients
      browser) install_browser ;;
      all)
        # one apt-get run for both Debian packages
        need=()
        clickhouse_cmd >/dev/null || need+=(clickhouse-server)
        redis_installed || need+=(redis-server redis-tools)
        [ -x /usr/bin/chromium ] || need+=(chromium)
        if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi
        install_clickhouse
        install_redis
        install_kafka
        install_collectors
        install_checkers
        bash "$DEPLOY_DIR/examples.sh"
        ;;
      *) usage ;;
    esac
    ;;
  start)
    what="${1:-}"
    [ $# -gt 0 ] && shift
    case "$what" in
      kafka) start_kafka "$@" ;;
      clickhouse) start_clickhouse ;;
      redis) start_redis ;;
      all) start_redis; start_clickhouse; start_kafka "$@" ;;
      *) usage ;;
    esac
    ;;
  stop)
    what="${1:-}"
    [ $# -gt 0 ] && shift
    case "$what" in
      kafka) stop_kafka "$@" ;;
      clickhouse) stop_clickhouse ;;
      redis) stop_redis ;;
      all) stop_kafka & stop_clickhouse & stop_redis & wait ;;
      *) usage ;;
    esac
    ;;
  status) status_kafka; status_clickhouse; status_redis; status_collectors ;;
  -h | --help | help) usage 0 ;;
  *) usage ;;
esac
