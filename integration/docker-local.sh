#!/usr/bin/env bash
# docker-local.sh — a Docker engine for hookpipe's container paths, when the machine has none.
#
#   integration/docker-local.sh up       if `docker info` answers, use that engine and touch
#                                        nothing; else install Debian's docker.io (root + apt)
#                                        when dockerd is missing, start dockerd in the
#                                        background and wait until it answers
#   integration/docker-local.sh down     stop the dockerd that `up` started (pid file); a
#                                        daemon this script did not start is never touched
#   integration/docker-local.sh status   whether an engine answers, and whether it is ours
#
# Environment:
#   HOOKPIPE_DOCKER_STATE    pid file and dockerd log (default ~/.cache/hookpipe/docker-local)
#   HOOKPIPE_DOCKER_TIMEOUT  seconds `up` waits for the daemon (default 60)
set -euo pipefail

: "${HOME:=$(cd ~ && pwd)}"
STATE_DIR="${HOOKPIPE_DOCKER_STATE:-${HOME}/.cache/hookpipe/docker-local}"
PID_FILE="${STATE_DIR}/dockerd.pid"
LOG_FILE="${STATE_DIR}/dockerd.log"
TIMEOUT_S="${HOOKPIPE_DOCKER_TIMEOUT:-60}"
SOCK="/var/run/docker.sock"

log() { printf 'docker-local: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

engine_answers() { docker info >/dev/null 2>&1; }

# The pid in the file counts only while it is still a dockerd.
our_pid() {
  local pid
  [[ -s "${PID_FILE}" ]] || return 1
  pid="$(cat "${PID_FILE}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  kill -0 "${pid}" 2>/dev/null || return 1
  [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == dockerd ]] || return 1
  printf '%s\n' "${pid}"
}

install_docker() {
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 && return 0
  [[ "$(id -u)" == 0 ]] || die "dockerd is not installed and this is not root; install Docker (Debian: apt-get install docker.io) or run as root"
  command -v apt-get >/dev/null 2>&1 || die "dockerd is not installed and there is no apt-get; install a Docker engine first"
  log "installing Debian's docker.io (dockerd not found)"
  # The package's scripts must not start a daemon of their own: this script
  # starts (and later stops) the one it owns.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e "${policy}" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"${policy}"
    chmod +x "${policy}"
    made_policy=1
  fi
  local rc=0
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null 2>&1; then
    log "apt-get install failed; running apt-get update and trying again"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null || rc=$?
  fi
  ((made_policy == 0)) || rm -f "${policy}"
  ((rc == 0)) || die "apt-get install docker.io failed (exit ${rc})"
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is not on PATH"
  log "installed $(dockerd --version 2>/dev/null || echo docker.io)"
}

cmd_up() {
  if engine_answers; then
    if pid="$(our_pid)"; then
      log "dockerd (pid ${pid}) started earlier by this script answers; nothing to do"
    else
      log "a Docker engine already answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null)); using it, not starting one"
    fi
    return 0
  fi
  if pid="$(our_pid)"; then
    die "dockerd (pid ${pid}) started by this script runs but does not answer; see ${LOG_FILE}, or run '$0 down'"
  fi
  install_docker
  if [[ -S "${SOCK}" ]] && pgrep -x dockerd >/dev/null 2>&1; then
    die "a dockerd not started by this script runs but 'docker info' fails; not touching it"
  fi
  [[ "$(id -u)" == 0 ]] || die "starting dockerd needs root"
  mkdir -p "${STATE_DIR}"
  log "starting dockerd in the background (log: ${LOG_FILE})"
  # SC2016: $$ expands in the child bash, which then becomes dockerd.
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "${PID_FILE}" \
    dockerd --host "unix://${SOCK}" </dev/null >>"${LOG_FILE}" 2>&1 &
  # The launcher becomes dockerd (exec, same pid); until it has, the pid
  # file may be missing or name a bash, so liveness is the launcher's.
  local launcher=$! deadline=$((SECONDS + TIMEOUT_S)) pid=""
  until engine_answers; do
    kill -0 "${launcher}" 2>/dev/null || {
      tail -n 30 "${LOG_FILE}" >&2 || true
      die "dockerd exited during startup (log: ${LOG_FILE})"
    }
    if ((SECONDS >= deadline)); then
      tail -n 30 "${LOG_FILE}" >&2 || true
      die "dockerd did not answer on ${SOCK} within ${TIMEOUT_S}s (log: ${LOG_FILE}); '$0 down' stops it"
    fi
    sleep 0.5
  done
  pid="$(our_pid)"
  log "dockerd $(docker info --format '{{.ServerVersion}}' 2>/dev/null) started (pid ${pid}), answering on ${SOCK}; '$0 down' stops it"
}

cmd_down() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "${PID_FILE}"
    if engine_answers; then
      log "the Docker engine that answers was not started by this script; leaving it running"
    else
      log "no dockerd started by this script is running"
    fi
    return 0
  fi
  log "stopping dockerd (pid ${pid}) started by this script"
  kill -TERM "${pid}" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "${pid}" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "dockerd still running after 30s; SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
    fi
    sleep 0.2
  done
  rm -f "${PID_FILE}"
  log "dockerd stopped"
}

cmd_status() {
  local pid
  if engine_answers; then
    if pid="$(our_pid)"; then
      printf 'running: dockerd pid %s, started by docker-local.sh\n' "${pid}"
    else
      printf 'running: a Docker engine not started by docker-local.sh\n'
    fi
    return 0
  fi
  printf 'not running\n'
  return 3
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) printf 'usage: %s up|down|status\n' "$0" >&2; exit 2 ;;
esac
