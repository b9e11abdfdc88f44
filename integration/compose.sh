#!/usr/bin/env bash
# compose.sh — hookpipe's docker compose paths, with `docker compose` (v2) or Debian's
# `docker-compose` (1.29), whichever exists.
#
#   integration/compose.sh image        build hookpipe/hookpipe:dev (Dockerfile, FROM scratch)
#                                       from a static binary built on the host
#   integration/compose.sh kafka-up     Kafka alone (docker-compose.kafka.yml), healthy
#   integration/compose.sh kafka-down
#   integration/compose.sh up           Kafka + hookpipe + the development receiver
#                                       (docker-compose.stack.yml), until /readyz answers
#   integration/compose.sh down         remove the stack and its volumes
#   integration/compose.sh logs [SVC]   the services' logs
#
# The Kafka image is resolved by kafka-image.sh (KAFKA_IMAGE, else the official image when
# it can be pulled, else hookpipe/kafka:4.1.1 built locally). Ports are published on
# 127.0.0.1 only: KAFKA_HOST_PORT (9092), HOOKPIPE_API_PORT (8080), HOOKPIPE_RECEIVER_PORT
# (9999).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${SCRIPT_DIR}/.." && pwd)"
readonly PROJECT="${HOOKPIPE_COMPOSE_PROJECT:-hookpipe}"
readonly HOOKPIPE_IMAGE="${HOOKPIPE_IMAGE:-hookpipe/hookpipe:dev}"
export HOOKPIPE_IMAGE
KAFKA_FILE="${REPO_DIR}/docker-compose.kafka.yml"
STACK_FILE="${REPO_DIR}/docker-compose.stack.yml"
TIMEOUT_S="${HOOKPIPE_COMPOSE_TIMEOUT:-180}"

log() { printf 'compose: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

COMPOSE=()
find_compose() {
  ((${#COMPOSE[@]} == 0)) || return 0
  if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
  elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "neither 'docker compose' nor 'docker-compose' found; installing Debian's docker-compose"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
    }
    COMPOSE=(docker-compose)
  else
    die "neither 'docker compose' nor 'docker-compose' is installed"
  fi
  log "using '${COMPOSE[*]}' ($("${COMPOSE[@]}" version --short 2>/dev/null || true))"
}

compose() { "${COMPOSE[@]}" -p "${PROJECT}" "$@"; }

require_docker() {
  docker info >/dev/null 2>&1 || die "no Docker engine answers; start one (integration/docker-local.sh up)"
}

resolve_kafka_image() {
  local out
  out="$(bash "${SCRIPT_DIR}/kafka-image.sh" resolve)" || die "no Kafka image (see above)"
  KAFKA_IMAGE="$(sed -n 's/^KAFKA_IMAGE=//p' <<<"${out}" | tail -n 1)"
  export KAFKA_IMAGE
}

cmd_image() {
  require_docker
  local ctx="${REPO_DIR}/bin/docker" ca=/etc/ssl/certs/ca-certificates.crt
  [[ -s "${ca}" ]] || die "no CA bundle at ${ca} (Debian: apt-get install ca-certificates)"
  mkdir -p "${ctx}"
  log "CGO_ENABLED=0 go build -o bin/docker/hookpipe ./cmd/hookpipe"
  (cd "${REPO_DIR}" && CGO_ENABLED=0 GOOS=linux ${GO:-go} build -trimpath \
    -ldflags "-s -w -X main.version=${VERSION:-dev}" -o "${ctx}/hookpipe" ./cmd/hookpipe)
  cp "${ca}" "${ctx}/ca-certificates.crt"
  local builder=()
  docker buildx version >/dev/null 2>&1 || builder=(env DOCKER_BUILDKIT=0)
  log "docker build -t ${HOOKPIPE_IMAGE} (FROM scratch${builder:+, legacy builder: no buildx})"
  "${builder[@]}" docker build -q -f "${REPO_DIR}/Dockerfile" -t "${HOOKPIPE_IMAGE}" "${ctx}" >/dev/null
  log "built ${HOOKPIPE_IMAGE} ($(docker image inspect -f '{{.Size}}' "${HOOKPIPE_IMAGE}" | awk '{printf "%.1f MB", $1/1e6}'))"
}

wait_healthy() {
  local svc="$1" deadline=$((SECONDS + TIMEOUT_S)) id st
  id="$(compose "${FILES[@]}" ps -q "${svc}")"
  [[ -n "${id}" ]] || die "service ${svc} has no container"
  while :; do
    st="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "${id}")"
    case "${st}" in
      healthy) return 0 ;;
      unhealthy | exited | dead) compose "${FILES[@]}" logs --tail 40 "${svc}" >&2 || true; die "${svc} is ${st}" ;;
    esac
    ((SECONDS < deadline)) || { compose "${FILES[@]}" logs --tail 40 "${svc}" >&2 || true; die "${svc} not healthy after ${TIMEOUT_S}s (${st})"; }
    sleep 1
  done
}

wait_ready() {
  local url="http://127.0.0.1:${HOOKPIPE_API_PORT:-8080}/readyz" deadline=$((SECONDS + TIMEOUT_S))
  until curl -fs -o /dev/null --max-time 2 "${url}"; do
    ((SECONDS < deadline)) || { compose "${FILES[@]}" logs --tail 40 hookpipe >&2 || true; die "${url} not ready after ${TIMEOUT_S}s"; }
    sleep 1
  done
}

FILES=()
cmd_kafka_up() {
  require_docker
  find_compose
  resolve_kafka_image
  FILES=(-f "${KAFKA_FILE}")
  compose "${FILES[@]}" up -d
  wait_healthy kafka
  log "Kafka (${KAFKA_IMAGE}) healthy; KAFKA_BROKERS=localhost:${KAFKA_HOST_PORT:-9092}"
}

cmd_up() {
  require_docker
  find_compose
  resolve_kafka_image
  docker image inspect "${HOOKPIPE_IMAGE}" >/dev/null 2>&1 || cmd_image
  FILES=(-f "${KAFKA_FILE}" -f "${STACK_FILE}")
  compose "${FILES[@]}" up -d
  wait_healthy kafka
  wait_ready
  log "stack up: Kafka (${KAFKA_IMAGE}), hookpipe (${HOOKPIPE_IMAGE}) on 127.0.0.1:${HOOKPIPE_API_PORT:-8080}, receiver on 127.0.0.1:${HOOKPIPE_RECEIVER_PORT:-9999}"
  log "post an event (README), then '${COMPOSE[*]} -p ${PROJECT} -f docker-compose.kafka.yml -f docker-compose.stack.yml logs receiver' (or: make compose-logs) shows it delivered"
}

cmd_down() {
  find_compose
  # The file names its image through ${KAFKA_IMAGE}; any value does for down.
  export KAFKA_IMAGE="${KAFKA_IMAGE:-apache/kafka:4.1.1}"
  compose -f "${KAFKA_FILE}" -f "${STACK_FILE}" down -v --remove-orphans
}

cmd_logs() {
  find_compose
  export KAFKA_IMAGE="${KAFKA_IMAGE:-apache/kafka:4.1.1}"
  compose -f "${KAFKA_FILE}" -f "${STACK_FILE}" logs --no-color "$@"
}

case "${1:-}" in
  image) cmd_image ;;
  kafka-up) cmd_kafka_up ;;
  kafka-down | down) cmd_down ;;
  up) cmd_up ;;
  logs) shift; cmd_logs "$@" ;;
  *) printf 'usage: %s image|kafka-up|kafka-down|up|down|logs [service]\n' "$0" >&2; exit 2 ;;
esac
