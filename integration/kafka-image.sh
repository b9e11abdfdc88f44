#!/usr/bin/env bash
# kafka-image.sh — the Kafka image for hookpipe's Docker paths, with or without a registry.
#
#   integration/kafka-image.sh build     build hookpipe/kafka:4.1.1 from a Debian rootfs with a
#                                        JRE (debootstrap) and the Maven Central jars that
#                                        kafka-local.sh caches; both are cached under
#                                        ~/.cache/hookpipe, so a second build takes seconds
#   integration/kafka-image.sh resolve   print KAFKA_IMAGE=<image> for the image to run:
#                                        $KAFKA_IMAGE when set (pulled, or built when it is
#                                        hookpipe/kafka:*; an error when it cannot be had);
#                                        else the official apache/kafka:4.1.1 when it is
#                                        present or can be pulled; else hookpipe/kafka:4.1.1,
#                                        built when missing
#
# Environment:
#   KAFKA_IMAGE             the image to use (see resolve)
#   HOOKPIPE_CACHE          cache directory (default ~/.cache/hookpipe)
#   HOOKPIPE_DEBIAN_MIRROR  mirror for debootstrap (default: the host's apt source, else
#                           http://deb.debian.org/debian)
set -euo pipefail

readonly KAFKA_VERSION="4.1.1"
readonly OFFICIAL_IMAGE="apache/kafka:${KAFKA_VERSION}"
readonly LOCAL_IMAGE="hookpipe/kafka:${KAFKA_VERSION}"
readonly SUITE="bookworm"
readonly BASE_IMAGE="hookpipe/debian-jre17:${SUITE}"

: "${HOME:=$(cd ~ && pwd)}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${SCRIPT_DIR}/.." && pwd)"
CACHE="${HOOKPIPE_CACHE:-${HOME}/.cache/hookpipe}"
ROOTFS_TAR="${CACHE}/rootfs/debian-${SUITE}-jre17.tar"
JARS_DIR="${HOOKPIPE_KAFKA_HOME:-${CACHE}/kafka-${KAFKA_VERSION}}/libs"

log() { printf 'kafka-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

require_docker() {
  docker info >/dev/null 2>&1 || die "no Docker engine answers; start one (integration/docker-local.sh up)"
}

debian_mirror() {
  if [[ -n "${HOOKPIPE_DEBIAN_MIRROR:-}" ]]; then
    printf '%s\n' "${HOOKPIPE_DEBIAN_MIRROR}"
    return
  fi
  local m
  m="$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    grep -oE 'https?://[^ ]+' | head -n 1 || true)"
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# The rootfs tarball: Debian minbase with openjdk-17-jre-headless, made once.
ensure_rootfs() {
  [[ -s "${ROOTFS_TAR}" ]] && return 0
  if ! command -v debootstrap >/dev/null 2>&1; then
    [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1 ||
      die "debootstrap is missing; install it (Debian: apt-get install debootstrap)"
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
  fi
  [[ "$(id -u)" == 0 ]] || die "debootstrap needs root"
  local mirror work t0=${SECONDS}
  mirror="$(debian_mirror)"
  mkdir -p "$(dirname "${ROOTFS_TAR}")"
  work="$(mktemp -d "${CACHE}/rootfs/build.XXXXXX")"
  log "debootstrap --variant=minbase --include=openjdk-17-jre-headless ${SUITE} from ${mirror} (one time, about a minute)"
  if ! debootstrap --variant=minbase --include=openjdk-17-jre-headless "${SUITE}" "${work}/rootfs" "${mirror}" \
    >"${work}/debootstrap.log" 2>&1; then
    tail -n 30 "${work}/debootstrap.log" >&2 || true
    rm -rf "${work}"
    die "debootstrap failed"
  fi
  rm -rf "${work}/rootfs/var/cache/apt/archives/"*.deb "${work}/rootfs/var/lib/apt/lists/"* "${work}/rootfs/tmp/"*
  tar --numeric-owner -C "${work}/rootfs" -cf "${ROOTFS_TAR}.tmp" .
  mv "${ROOTFS_TAR}.tmp" "${ROOTFS_TAR}"
  rm -rf "${work}"
  log "cached the rootfs in ${ROOTFS_TAR} ($(du -h "${ROOTFS_TAR}" | cut -f1), $((SECONDS - t0))s)"
}

ensure_base() {
  have_image "${BASE_IMAGE}" && return 0
  ensure_rootfs
  log "docker import ${ROOTFS_TAR} ${BASE_IMAGE}"
  docker import --change 'ENV LANG=C.UTF-8' "${ROOTFS_TAR}" "${BASE_IMAGE}" >/dev/null
}

ensure_jars() {
  [[ -f "${JARS_DIR}/kafka_2.13-${KAFKA_VERSION}.jar" && -f "${JARS_DIR}/../.complete-${KAFKA_VERSION}" ]] && return 0
  log "fetching the Kafka ${KAFKA_VERSION} jars through kafka-local.sh (one time)"
  bash "${SCRIPT_DIR}/kafka-local.sh" tool kafka.Kafka --version >/dev/null
}

# Tool launchers with the names the official image has under /opt/kafka/bin.
write_bin() {
  local dir="$1" name cls
  mkdir -p "${dir}"
  cat >"${dir}/kafka-run-class.sh" <<'EOF'
#!/usr/bin/env bash
exec java ${KAFKA_TOOL_OPTS:--Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
  -Dlog4j2.configurationFile=/etc/kafka/docker/tools-log4j2.yaml -cp '/opt/kafka/libs/*' "$@"
EOF
  while read -r name cls; do
    printf '#!/usr/bin/env bash\nexec /opt/kafka/bin/kafka-run-class.sh %s "$@"\n' "${cls}" >"${dir}/${name}"
  done <<'EOF'
kafka-storage.sh kafka.tools.StorageTool
kafka-topics.sh org.apache.kafka.tools.TopicCommand
kafka-broker-api-versions.sh org.apache.kafka.tools.BrokerApiVersionsCommand
kafka-console-producer.sh org.apache.kafka.tools.ConsoleProducer
kafka-console-consumer.sh org.apache.kafka.tools.consumer.ConsoleConsumer
kafka-consumer-groups.sh org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
kafka-configs.sh org.apache.kafka.admin.ConfigCommand
kafka-server-start.sh kafka.Kafka
EOF
  chmod +x "${dir}"/*.sh
}

cmd_build() {
  local t0=${SECONDS} ctx
  require_docker
  ensure_jars
  ensure_base
  ctx="$(mktemp -d "${TMPDIR:-/tmp}/hookpipe-kafka-image.XXXXXX")"
  # shellcheck disable=SC2064 # expand ctx now
  trap "rm -rf '${ctx}'" RETURN
  cp "${REPO_DIR}/docker/kafka/"{Dockerfile,run,server.properties,log4j2.yaml,tools-log4j2.yaml} "${ctx}/"
  mkdir -p "${ctx}/libs"
  cp -p "${JARS_DIR}/"*.jar "${ctx}/libs/"
  write_bin "${ctx}/bin"
  touch -d '2000-01-01 00:00:00' "${ctx}/bin/"* # stable metadata keeps the layer cache
  log "docker build -t ${LOCAL_IMAGE} (base ${BASE_IMAGE})"
  if ! DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=${BASE_IMAGE}" -t "${LOCAL_IMAGE}" "${ctx}" >"${ctx}/build.log" 2>&1; then
    cat "${ctx}/build.log" >&2
    die "docker build of ${LOCAL_IMAGE} failed"
  fi
  log "built ${LOCAL_IMAGE} in $((SECONDS - t0))s ($(docker image inspect -f '{{.Size}}' "${LOCAL_IMAGE}" | awk '{printf "%d MB", $1/1e6}'))"
}

# obtain IMAGE: present, pulled, or (hookpipe/kafka:*) built.
obtain() {
  local img="$1"
  have_image "${img}" && return 0
  if [[ "${img}" == hookpipe/kafka:* ]]; then
    [[ "${img}" == "${LOCAL_IMAGE}" ]] || die "this script builds ${LOCAL_IMAGE}, not ${img}"
    cmd_build
    return 0
  fi
  log "docker pull ${img}"
  docker pull -q "${img}" >/dev/null 2>&1
}

cmd_resolve() {
  require_docker
  if [[ -n "${KAFKA_IMAGE:-}" ]]; then
    obtain "${KAFKA_IMAGE}" || die "KAFKA_IMAGE=${KAFKA_IMAGE} is not present and cannot be pulled; 'make kafka-image' builds ${LOCAL_IMAGE} without a registry"
    log "using KAFKA_IMAGE=${KAFKA_IMAGE} (set by the caller)"
    printf 'KAFKA_IMAGE=%s\n' "${KAFKA_IMAGE}"
    return 0
  fi
  if obtain "${OFFICIAL_IMAGE}"; then
    log "using the official ${OFFICIAL_IMAGE}"
    printf 'KAFKA_IMAGE=%s\n' "${OFFICIAL_IMAGE}"
    return 0
  fi
  log "the official ${OFFICIAL_IMAGE} cannot be pulled (no registry); using ${LOCAL_IMAGE}, built locally"
  obtain "${LOCAL_IMAGE}"
  printf 'KAFKA_IMAGE=%s\n' "${LOCAL_IMAGE}"
}

case "${1:-}" in
  build) cmd_build ;;
  resolve) cmd_resolve ;;
  *) printf 'usage: %s build|resolve\n' "$0" >&2; exit 2 ;;
esac
