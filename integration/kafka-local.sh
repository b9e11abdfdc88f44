#!/usr/bin/env bash
# kafka-local.sh — a real Apache Kafka (KRaft) broker for hookpipe's tests, without Docker.
#
# The broker jars come from Maven Central (via `mvn`) into a cache that is reused between
# runs; each node runs as a plain `java` process started and stopped through pid files.
#
#   integration/kafka-local.sh up [--brokers 1|3] [--secure]
#                                                   start (or reuse) the cluster; waits until
#                                                   produce+consume work; last line of output is
#                                                   KAFKA_BROKERS=<bootstrap list>. --secure adds a
#                                                   SASL_SSL listener per node (SCRAM-SHA-512/256,
#                                                   PLAIN; a CA and certificates made for the run)
#                                                   and prints the HOOKPIPE_KAFKA_* settings for it
#                                                   as KEY=VALUE lines, KAFKA_BROKERS last (the
#                                                   SASL_SSL list); see kafka-local-secure.sh
#   integration/kafka-local.sh down [--keep]        stop the nodes it started; delete state
#                                                   unless --keep
#   integration/kafka-local.sh status               running / not running, per node
#   integration/kafka-local.sh stop-node K [--kill] stop node K (SIGTERM, or SIGKILL with --kill)
#   integration/kafka-local.sh start-node K [--wait-isr]
#                                                   start node K again and wait until it serves
#                                                   (and, with --wait-isr, until no partition is
#                                                   under-replicated)
#   integration/kafka-local.sh env                  print KAFKA_BROKERS=... of the running cluster
#   integration/kafka-local.sh tool CLASS [ARGS]    run a Kafka CLI main class against the jars,
#                                                   e.g. tool org.apache.kafka.tools.TopicCommand
#                                                   --bootstrap-server 127.0.0.1:19092 --list
#   integration/kafka-local.sh version              print the pinned Kafka version
#
# Environment:
#   BROKERS                  node count for `up` when --brokers is not given (1 or 3; default 1)
#   HOOKPIPE_KAFKA_HOME      jar cache (default ~/.cache/hookpipe/kafka-<version>)
#   HOOKPIPE_KAFKA_STATE     data dirs, logs, pid files (default <repo>/.kafka-local)
#   HOOKPIPE_KAFKA_PORT      first broker port (default 19092; node K listens on +K, its
#                            controller on +100+K); a second cluster needs its own port and
#                            state dir, and every command for it the same two
#   HOOKPIPE_KAFKA_TIMEOUT   seconds `up`/`start-node` wait for readiness (default 90; 180 for
#                            `up --brokers 3`)
#   HOOKPIPE_KAFKA_HEAP      broker heap flags (default "-Xms256m -Xmx512m")
#   HOOKPIPE_KAFKA_GC        broker GC flags (default "-XX:+UseSerialGC", light on 2 cores; a
#                            production-like broker for latency runs: "-XX:+UseG1GC -XX:MaxGCPauseMillis=20")
#   HOOKPIPE_KAFKA_PROPS     optional file of extra server.properties lines appended to each node
#   HOOKPIPE_KAFKA_SECURE_PORT  first SASL_SSL port with --secure (default first broker port + 10;
#                            node K listens on +K)
set -euo pipefail

readonly KAFKA_VERSION="4.1.1"
readonly SCALA_VERSION="2.13"
readonly LOG4J_VERSION="2.24.3"
readonly DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
readonly BROKER_BASE_PORT="${HOOKPIPE_KAFKA_PORT:-19092}"
readonly CONTROLLER_BASE_PORT="$((BROKER_BASE_PORT + 100))"
readonly READY_TOPIC="_hookpipe_ready"

: "${HOME:=$(cd ~ && pwd)}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${SCRIPT_DIR}/.." && pwd)"
KAFKA_HOME_DIR="${HOOKPIPE_KAFKA_HOME:-${HOME}/.cache/hookpipe/kafka-${KAFKA_VERSION}}"
STATE_DIR="${HOOKPIPE_KAFKA_STATE:-${REPO_DIR}/.kafka-local}"
TIMEOUT_S="${HOOKPIPE_KAFKA_TIMEOUT:-90}"
HEAP_OPTS="${HOOKPIPE_KAFKA_HEAP:--Xms256m -Xmx512m}"
GC_OPTS="${HOOKPIPE_KAFKA_GC:--XX:+UseSerialGC}"
LIB_DIR="${KAFKA_HOME_DIR}/libs"
CLASSPATH_GLOB="${LIB_DIR}/*"
TOOLS_LOG4J="${KAFKA_HOME_DIR}/log4j2-tools.properties"

log() { printf 'kafka-local: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: integration/kafka-local.sh <command> [options]

  up [--brokers 1|3] [--secure]
                          start a local Apache Kafka (KRaft) cluster and wait until it is ready
                          (BROKERS=N env also selects the count); prints KAFKA_BROKERS=... last;
                          --secure: also a SASL_SSL listener with SCRAM users, and
                          the HOOKPIPE_KAFKA_* settings to reach it
  down [--keep]           stop the nodes started by `up`; remove state unless --keep
  status                  show whether the cluster is running
  stop-node K [--kill]    stop node K (0..N-1), SIGKILL at once with --kill
  start-node K [--wait-isr]
                          restart node K and wait until it serves requests (--wait-isr: and
                          until no partition is under-replicated)
  env                     print KAFKA_BROKERS=... for the running cluster
  tool CLASS [ARGS...]    run a Kafka tool main class with the broker jars on the classpath
  version                 print the pinned Apache Kafka version
EOF
  exit 2
}

# shellcheck source=integration/kafka-local-secure.sh
source "${SCRIPT_DIR}/kafka-local-secure.sh"

# ---------------------------------------------------------------- prerequisites

java_major() {
  local line ver
  line="$(java -version 2>&1 | head -n 1)"
  ver="$(sed -E 's/^[^"]*"([^"]*)".*$/\1/' <<<"${line}")"
  case "${ver}" in
    1.*) ver="${ver#1.}" ;;
  esac
  printf '%s\n' "${ver%%[.+-]*}"
}

require_java() {
  local hint="install it, e.g. on Debian/Ubuntu: apt-get install openjdk-17-jre-headless maven"
  command -v java >/dev/null 2>&1 || die "java not found on PATH (Kafka ${KAFKA_VERSION} needs Java 17+); ${hint}"
  local major
  major="$(java_major)"
  [[ "${major}" =~ ^[0-9]+$ ]] || die "cannot read the java version from: $(java -version 2>&1 | head -n 1)"
  ((major >= 17)) || die "java ${major} found, Kafka ${KAFKA_VERSION} needs Java 17+; ${hint}"
}

require_mvn() {
  command -v mvn >/dev/null 2>&1 && return 0
  die "mvn (Apache Maven) not found on PATH; it is needed once to fetch the Kafka ${KAFKA_VERSION} jars into ${KAFKA_HOME_DIR}; install it, e.g. on Debian/Ubuntu: apt-get install openjdk-17-jre-headless maven"
}

# Serialise up/down/start-node/stop-node (ports are machine-wide, so the lock is per cache).
# fd 9 is closed in the broker processes so they do not keep holding it.
LOCKED=0
take_lock() {
  ((LOCKED == 0)) || return 0
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "${KAFKA_HOME_DIR}"
  exec 9>"${KAFKA_HOME_DIR}/.lock"
  flock -w 300 9 || die "another kafka-local.sh run holds ${KAFKA_HOME_DIR}/.lock"
  LOCKED=1
}

# ---------------------------------------------------------------- jar cache

write_pom() {
  cat >"$1" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.hookpipe.local</groupId>
  <artifactId>kafka-local-deps</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${SCALA_VERSION}</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>${KAFKA_VERSION}</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
        <exclusion><groupId>com.fasterxml.jackson.jakarta.rs</groupId><artifactId>jackson-jakarta-rs-json-provider</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF
}

fetch_jars() {
  local marker="${KAFKA_HOME_DIR}/.complete-${KAFKA_VERSION}"
  if [[ -f "${marker}" && -f "${LIB_DIR}/kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar" ]]; then
    [[ -f "${TOOLS_LOG4J}" ]] || write_tools_log4j
    return 0
  fi
  require_mvn
  take_lock
  if [[ -f "${marker}" ]]; then
    return 0 # fetched by a concurrent run while we waited for the lock
  fi
  log "fetching Apache Kafka ${KAFKA_VERSION} jars with mvn into ${KAFKA_HOME_DIR} (one time)"
  mkdir -p "${KAFKA_HOME_DIR}"
  local tmp="${KAFKA_HOME_DIR}/libs.tmp.$$"
  rm -rf "${tmp}"
  write_pom "${KAFKA_HOME_DIR}/pom.xml"
  if ! mvn -B -q -f "${KAFKA_HOME_DIR}/pom.xml" "${DEP_PLUGIN}:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="${tmp}" >"${KAFKA_HOME_DIR}/mvn.log" 2>&1; then
    tail -n 30 "${KAFKA_HOME_DIR}/mvn.log" >&2 || true
    rm -rf "${tmp}"
    die "mvn could not fetch org.apache.kafka:kafka_${SCALA_VERSION}:${KAFKA_VERSION} (full log: ${KAFKA_HOME_DIR}/mvn.log)"
  fi
  rm -rf "${LIB_DIR}"
  mv "${tmp}" "${LIB_DIR}"
  write_tools_log4j
  touch "${marker}"
  log "cached $(find "${LIB_DIR}" -name '*.jar' | wc -l) jars in ${LIB_DIR}"
}

# ---------------------------------------------------------------- layout helpers

node_dir() { printf '%s/node-%s\n' "${STATE_DIR}" "$1"; }
pid_file() { printf '%s/kafka.pid\n' "$(node_dir "$1")"; }
node_log() { printf '%s/kafka.log\n' "$(node_dir "$1")"; }
broker_port() { printf '%s\n' "$((BROKER_BASE_PORT + $1))"; }
controller_port() { printf '%s\n' "$((CONTROLLER_BASE_PORT + $1))"; }

state_brokers() {
  if [[ -f "${STATE_DIR}/brokers" ]]; then
    cat "${STATE_DIR}/brokers"
  else
    printf '0\n'
  fi
}

bootstrap_list() {
  local n="$1" i out=""
  for ((i = 0; i < n; i++)); do
    out+="${out:+,}127.0.0.1:$(broker_port "${i}")"
  done
  printf '%s\n' "${out}"
}

# The pid in the file counts only if that process is still our broker for that node
# (guards against pid reuse after a crash or reboot).
node_pid() {
  local k="$1" pf pid
  pf="$(pid_file "${k}")"
  [[ -f "${pf}" ]] || return 1
  pid="$(cat "${pf}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  kill -0 "${pid}" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -qF "$(node_dir "${k}")/server.properties" || return 1
  printf '%s\n' "${pid}"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------- configuration

voters() {
  local n="$1" i out=""
  for ((i = 0; i < n; i++)); do
    out+="${out:+,}${i}@127.0.0.1:$(controller_port "${i}")"
  done
  printf '%s\n' "${out}"
}

write_server_properties() {
  local k="$1" n="$2" dir rf isr
  dir="$(node_dir "${k}")"
  rf=$((n >= 3 ? 3 : 1))
  isr=$((n >= 3 ? 2 : 1))
  cat >"${dir}/server.properties" <<EOF
# generated by integration/kafka-local.sh (Apache Kafka ${KAFKA_VERSION}, node ${k} of ${n})
process.roles=broker,controller
node.id=${k}
controller.quorum.voters=$(voters "${n}")
listeners=PLAINTEXT://127.0.0.1:$(broker_port "${k}"),CONTROLLER://127.0.0.1:$(controller_port "${k}")$(secure_listener "${k}")
advertised.listeners=PLAINTEXT://127.0.0.1:$(broker_port "${k}")$(secure_listener "${k}")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=${dir}/data
num.partitions=1
default.replication.factor=${rf}
min.insync.replicas=${isr}
auto.create.topics.enable=false
offsets.topic.replication.factor=${rf}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=${rf}
transaction.state.log.min.isr=${isr}
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=${rf}
share.coordinator.state.topic.min.isr=${isr}
group.initial.rebalance.delay.ms=0
group.consumer.min.session.timeout.ms=6000
group.consumer.min.heartbeat.interval.ms=1000
log.retention.check.interval.ms=10000
log.segment.delete.delay.ms=1000
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
EOF
  secure_properties >>"${dir}/server.properties"
  if [[ -n "${HOOKPIPE_KAFKA_PROPS:-}" ]]; then
    [[ -f "${HOOKPIPE_KAFKA_PROPS}" ]] || die "HOOKPIPE_KAFKA_PROPS=${HOOKPIPE_KAFKA_PROPS} is not a file"
    {
      printf '# from HOOKPIPE_KAFKA_PROPS=%s\n' "${HOOKPIPE_KAFKA_PROPS}"
      cat "${HOOKPIPE_KAFKA_PROPS}"
    } >>"${dir}/server.properties"
  fi
}

write_broker_log4j() {
  cat >"${STATE_DIR}/log4j2-broker.properties" <<'EOF'
# Broker log: everything at INFO to stdout, which kafka-local.sh redirects to node-K/kafka.log.
status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
EOF
}

write_tools_log4j() {
  cat >"${TOOLS_LOG4J}" <<'EOF'
status = warn
shutdownHook = disable
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF
}

new_cluster_id() {
  # 16 random bytes, URL-safe base64 without padding: the form of a Kafka cluster id.
  # One starting with '-' would read as an option to kafka-storage: draw again.
  local id
  while id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"; [[ "${id}" == -* ]]; do :; done
  printf '%s\n' "${id}"
}

# ---------------------------------------------------------------- java launchers

run_tool() {
  local cls="$1"
  shift
  java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="${TOOLS_LOG4J}" \
    -cp "${CLASSPATH_GLOB}" "${cls}" "$@"
}

format_node() {
  local k="$1" cid="$2" dir scram=()
  dir="$(node_dir "${k}")"
  mapfile -t scram < <(scram_format_args)
  run_tool kafka.tools.StorageTool format -t "${cid}" -c "${dir}/server.properties" "${scram[@]}" \
    >"${dir}/format.log" 2>&1 || {
    cat "${dir}/format.log" >&2
    die "formatting the storage of node ${k} failed"
  }
}

start_node_process() {
  local k="$1" dir
  dir="$(node_dir "${k}")"
  # SC2086: HEAP_OPTS and GC_OPTS are lists of JVM flags; SC2016: $$ and $1 expand in the child bash.
  # shellcheck disable=SC2086,SC2016
  setsid bash -c 'echo $$ >"$1"; cd "$2" && shift 2 && exec "$@"' _ "$(pid_file "${k}")" "${dir}" \
    java ${HEAP_OPTS} ${GC_OPTS} -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dkafka.logs.dir="${dir}" \
    -Dlog4j2.configurationFile="${STATE_DIR}/log4j2-broker.properties" \
    -cp "${CLASSPATH_GLOB}" kafka.Kafka "${dir}/server.properties" \
    </dev/null >>"$(node_log "${k}")" 2>&1 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$(pid_file "${k}")" ]] && return 0
    sleep 0.1
  done
  die "node ${k} did not start (no pid file)"
}

# ---------------------------------------------------------------- readiness

log_tails() {
  local n="$1" i
  for ((i = 0; i < n; i++)); do
    log "---- last 40 lines of $(node_log "${i}") ----"
    tail -n 40 "$(node_log "${i}")" >&2 2>/dev/null || true
  done
}

fail_startup() {
  local n="$1" msg="$2"
  log_tails "${n}"
  stop_all "${n}" TERM
  die "${msg} (state and logs kept in ${STATE_DIR}; run '$0 down' to clean up)"
}

check_alive() {
  local n="$1" i
  for ((i = 0; i < n; i++)); do
    node_pid "${i}" >/dev/null || fail_startup "${n}" "broker node ${i} exited during startup"
  done
}

wait_ports() {
  local n="$1" deadline="$2" i
  for ((i = 0; i < n; i++)); do
    until port_open "$(broker_port "${i}")"; do
      check_alive "${n}"
      ((SECONDS < deadline)) || fail_startup "${n}" "timed out after ${TIMEOUT_S}s waiting for 127.0.0.1:$(broker_port "${i}")"
      sleep 0.5
    done
  done
}

# Create the probe topic, produce one record with acks=all, read a record back.
probe_once() {
  local n="$1" bs rf got log="${STATE_DIR}/ready-check.log"
  bs="$(bootstrap_list "${n}")"
  rf=$((n >= 3 ? 3 : 1))
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "${bs}" --create --if-not-exists \
    --topic "${READY_TOPIC}" --partitions 1 --replication-factor "${rf}" >>"${log}" 2>&1 || return 1
  printf 'ready %s\n' "$(date +%s)" | run_tool org.apache.kafka.tools.ConsoleProducer \
    --bootstrap-server "${bs}" --topic "${READY_TOPIC}" --request-required-acks all \
    --producer-property delivery.timeout.ms=20000 --producer-property request.timeout.ms=10000 \
    --max-block-ms 15000 >>"${log}" 2>&1 || return 1
  got="$(run_tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "${bs}" \
    --topic "${READY_TOPIC}" --from-beginning --max-messages 1 --timeout-ms 20000 \
    --group _hookpipe_ready_check 2>>"${log}")" || return 1
  [[ "${got}" == ready* ]]
}

wait_ready() {
  local n="$1" deadline=$((SECONDS + TIMEOUT_S))
  wait_ports "${n}" "${deadline}"
  until probe_once "${n}"; do
    check_alive "${n}"
    ((SECONDS < deadline)) || {
      tail -n 20 "${STATE_DIR}/ready-check.log" >&2 || true
      fail_startup "${n}" "timed out after ${TIMEOUT_S}s: the cluster did not accept produce+consume"
    }
    sleep 1
  done
}

# ---------------------------------------------------------------- stop

# stop_pids SIGNAL TIMEOUT PID...: signal, wait up to TIMEOUT seconds, then SIGKILL.
stop_pids() {
  local sig="$1" timeout="$2" pid alive deadline
  shift 2
  (($# > 0)) || return 0
  kill "-${sig}" "$@" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    alive=0
    for pid in "$@"; do kill -0 "${pid}" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.2
  done
  log "still running after ${timeout}s, sending SIGKILL to: $*"
  kill -KILL "$@" 2>/dev/null || true
  for pid in "$@"; do
    while kill -0 "${pid}" 2>/dev/null; do sleep 0.1; done
  done
}

stop_all() {
  local n="$1" sig="$2" i pid pids=()
  for ((i = 0; i < n; i++)); do
    if pid="$(node_pid "${i}")"; then pids+=("${pid}"); fi
  done
  stop_pids "${sig}" 20 "${pids[@]}"
  for ((i = 0; i < n; i++)); do rm -f "$(pid_file "${i}")"; done
}

# ---------------------------------------------------------------- commands

running_count() {
  local n="$1" i c=0
  for ((i = 0; i < n; i++)); do
    node_pid "${i}" >/dev/null && c=$((c + 1))
  done
  printf '%s\n' "${c}"
}

print_summary() {
  local n="$1" i
  for ((i = 0; i < n; i++)); do
    log "node ${i}: pid $(node_pid "${i}" || echo '?') 127.0.0.1:$(broker_port "${i}") log $(node_log "${i}")"
  done
  log "Apache Kafka ${KAFKA_VERSION} (KRaft, ${n} node(s)) ready; state in ${STATE_DIR}"
  print_env "${n}"
}

# print_env N: the KEY=VALUE lines a client needs, KAFKA_BROKERS last.
print_env() {
  local n="$1"
  if is_secure; then
    secure_env "${n}"
    printf 'KAFKA_BROKERS=%s\n' "$(secure_bootstrap_list "${n}")"
  else
    printf 'KAFKA_BROKERS=%s\n' "$(bootstrap_list "${n}")"
  fi
}

parse_brokers() {
  local n="${BROKERS:-1}"
  while (($# > 0)); do
    case "$1" in
      --brokers) (($# >= 2)) || usage; n="$2"; shift 2 ;;
      --brokers=*) n="${1#--brokers=}"; shift ;;
      --secure) shift ;;
      *) log "unknown option for up: $1"; usage ;;
    esac
  done
  [[ "${n}" == 1 || "${n}" == 3 ]] || die "--brokers must be 1 or 3 (got '${n}')"
  printf '%s\n' "${n}"
}

fresh_state() {
  local n="$1" cid i
  rm -rf "${STATE_DIR}"
  mkdir -p "${STATE_DIR}"
  printf '%s\n' "${n}" >"${STATE_DIR}/brokers"
  cid="$(new_cluster_id)"
  printf '%s\n' "${cid}" >"${STATE_DIR}/cluster-id"
  write_broker_log4j
  if ((WANT_SECURE)); then make_secure_material; fi
  for ((i = 0; i < n; i++)); do
    mkdir -p "$(node_dir "${i}")/data"
    write_server_properties "${i}" "${n}"
  done
  log "formatting KRaft storage (cluster id ${cid})"
  local pids=()
  for ((i = 0; i < n; i++)); do
    format_node "${i}" "${cid}" &
    pids+=("$!")
  done
  local p
  for p in "${pids[@]}"; do wait "${p}" || die "storage format failed"; done
  touch "${STATE_DIR}/formatted"
}

check_ports_free() {
  local n="$1" i
  for ((i = 0; i < n; i++)); do
    if node_pid "${i}" >/dev/null; then continue; fi
    local p
    for p in "$(broker_port "${i}")" "$(controller_port "${i}")" $( ((WANT_SECURE == 0)) || secure_port "${i}"); do
      port_open "${p}" && die "port 127.0.0.1:${p} is already in use by another process; stop it first"
    done
  done
  return 0
}

cmd_up() {
  local n have running i t0=${SECONDS} a
  n="$(parse_brokers "$@")"
  for a in "$@"; do [[ "${a}" != --secure ]] || WANT_SECURE=1; done
  have="$(state_brokers)"
  running="$(running_count "${have}")"
  if ((running > 0 && have != n)); then
    die "a ${have}-node cluster is already running from ${STATE_DIR}; run '$0 down' first"
  fi
  if ((running > 0)) && [[ "$(is_secure && echo 1 || echo 0)" != "${WANT_SECURE}" ]]; then
    die "a cluster $(is_secure && echo with || echo without) --secure is already running from ${STATE_DIR}; run '$0 down' first"
  fi
  if ((running == n)); then
    log "already running (${n} node(s))"
    print_summary "${n}"
    return 0
  fi
  require_java
  fetch_jars
  check_ports_free "${n}"
  # Three JVMs starting at once on a small machine take longer: allow more time.
  ((n < 3)) || TIMEOUT_S="${HOOKPIPE_KAFKA_TIMEOUT:-180}"
  if ((have != n)) || [[ ! -f "${STATE_DIR}/formatted" ]] || [[ "$(is_secure && echo 1 || echo 0)" != "${WANT_SECURE}" ]]; then
    fresh_state "${n}"
  else
    log "reusing existing state in ${STATE_DIR}"
  fi
  : >"${STATE_DIR}/ready-check.log"
  for ((i = 0; i < n; i++)); do
    node_pid "${i}" >/dev/null || start_node_process "${i}"
  done
  log "started ${n} node(s); waiting up to ${TIMEOUT_S}s for produce+consume (log: $(node_log 0))"
  wait_ready "${n}"
  secure_acls "${n}"
  log "ready in $((SECONDS - t0))s"
  print_summary "${n}"
}

cmd_down() {
  local keep=0 n
  while (($# > 0)); do
    case "$1" in
      --keep) keep=1; shift ;;
      *) log "unknown option for down: $1"; usage ;;
    esac
  done
  n="$(state_brokers)"
  if [[ ! -d "${STATE_DIR}" ]]; then
    log "not running (no state in ${STATE_DIR})"
    return 0
  fi
  stop_all "${n}" TERM
  log "stopped ${n} node(s)"
  if ((keep)); then
    log "kept state in ${STATE_DIR}"
  else
    rm -rf "${STATE_DIR}"
    log "removed ${STATE_DIR}"
  fi
}

cmd_status() {
  local n i pid up=0
  n="$(state_brokers)"
  for ((i = 0; i < n; i++)); do
    if pid="$(node_pid "${i}")"; then
      printf 'node %s: running (pid %s) on 127.0.0.1:%s\n' "${i}" "${pid}" "$(broker_port "${i}")"
      up=$((up + 1))
    else
      printf 'node %s: not running\n' "${i}"
    fi
  done
  if ((n > 0 && up == n)); then
    printf 'running: Apache Kafka %s, %s node(s), KAFKA_BROKERS=%s\n' "${KAFKA_VERSION}" "${n}" "$(is_secure && secure_bootstrap_list "${n}" || bootstrap_list "${n}")"
    return 0
  fi
  if ((up > 0)); then
    printf 'partially running: %s of %s node(s)\n' "${up}" "${n}"
  else
    printf 'not running\n'
  fi
  return 3
}

node_arg() {
  local k="${1:-}" n
  n="$(state_brokers)"
  ((n > 0)) || die "no cluster state in ${STATE_DIR}; run '$0 up' first"
  if ! [[ "${k}" =~ ^[0-9]+$ ]] || ((k >= n)); then
    die "node must be 0..$((n - 1)) (got '${k}')"
  fi
  printf '%s\n' "${k}"
}

cmd_stop_node() {
  (($# >= 1)) || usage
  local k sig=TERM pid
  k="$(node_arg "$1")"
  [[ "${2:-}" == "--kill" ]] && sig=KILL
  [[ -z "${2:-}" || "${2}" == "--kill" ]] || usage
  if ! pid="$(node_pid "${k}")"; then
    log "node ${k} is not running"
    return 0
  fi
  stop_pids "${sig}" 30 "${pid}"
  rm -f "$(pid_file "${k}")"
  log "node ${k} stopped (SIG${sig})"
}

wait_node_serving() {
  local k="$1" deadline="$2"
  until port_open "$(broker_port "${k}")" &&
    run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$(broker_port "${k}")" \
      --describe --topic "${READY_TOPIC}" >/dev/null 2>&1; do
    node_pid "${k}" >/dev/null || { tail -n 40 "$(node_log "${k}")" >&2; die "node ${k} exited during startup"; }
    ((SECONDS < deadline)) || { tail -n 40 "$(node_log "${k}")" >&2; die "node ${k} not serving after ${TIMEOUT_S}s"; }
    sleep 0.5
  done
}

# Wait until no partition in the cluster is under-replicated (the restarted node caught up).
wait_isr() {
  local k="$1" deadline="$2" out
  while :; do
    out="$(run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$(broker_port "${k}")" \
      --describe --under-replicated-partitions 2>/dev/null)" && [[ -z "${out}" ]] && return 0
    ((SECONDS < deadline)) || die "partitions still under-replicated after ${TIMEOUT_S}s: ${out}"
    sleep 1
  done
}

cmd_start_node() {
  (($# >= 1 && $# <= 2)) || usage
  local k deadline isr=0
  k="$(node_arg "$1")"
  case "${2:-}" in
    "") ;;
    --wait-isr) isr=1 ;;
    *) usage ;;
  esac
  if node_pid "${k}" >/dev/null; then
    log "node ${k} is already running"
    return 0
  fi
  require_java
  fetch_jars
  start_node_process "${k}"
  deadline=$((SECONDS + TIMEOUT_S))
  wait_node_serving "${k}" "${deadline}"
  ((isr == 0)) || wait_isr "${k}" "${deadline}"
  log "node ${k} running (pid $(node_pid "${k}")) on 127.0.0.1:$(broker_port "${k}")"
}

cmd_env() {
  local n
  n="$(state_brokers)"
  if ((n == 0)) || (($(running_count "${n}") == 0)); then
    die "not running; run '$0 up' first"
  fi
  print_env "${n}"
}

cmd_tool() {
  (($# >= 1)) || usage
  require_java
  fetch_jars
  run_tool "$@"
}

main() {
  (($# >= 1)) || usage
  local cmd="$1"
  shift
  case "${cmd}" in
    up) take_lock; cmd_up "$@" ;;
    down) take_lock; cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    stop-node) take_lock; cmd_stop_node "$@" ;;
    start-node) take_lock; cmd_start_node "$@" ;;
    env) cmd_env "$@" ;;
    tool) cmd_tool "$@" ;;
    version) printf '%s\n' "${KAFKA_VERSION}" ;;
    -h | --help | help) usage ;;
    *) log "unknown command: ${cmd}"; usage ;;
  esac
}

main "$@"
