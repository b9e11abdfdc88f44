#!/usr/bin/env bash
# secure-suite.sh — run the integration suite's delivery, restart, replay, secrets and
# security tests against a SASL_SSL listener (TLS + SCRAM-SHA-512), on a broker of its own.
#
#   integration/secure-suite.sh [extra go test flags]
#
# It starts `kafka-local.sh up --secure` with its own state and ports (so that a plaintext
# broker for the main suite may run beside it), exports what that prints (KAFKA_BROKERS=the
# SASL_SSL listener, HOOKPIPE_KAFKA_TLS, _CA_FILE, _SASL_MECHANISM, _SASL_USER,
# _SASL_PASSWORD_FILE and the HOOKPIPE_IT_* test files), runs the tests, and stops the broker
# whatever the outcome. Exit status: the tests'.
#
# Environment: HOOKPIPE_KAFKA_PORT (default 19292; its controller takes +100),
# HOOKPIPE_KAFKA_SECURE_PORT (default HOOKPIPE_KAFKA_PORT+10), HOOKPIPE_KAFKA_STATE (default
# <repo>/.kafka-local-secure), GO (default go), SECURE_TESTS (the -run pattern).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export HOOKPIPE_KAFKA_PORT="${HOOKPIPE_KAFKA_PORT:-19292}"
export HOOKPIPE_KAFKA_STATE="${HOOKPIPE_KAFKA_STATE:-${REPO_DIR}/.kafka-local-secure}"
GO="${GO:-go}"
TESTS="${SECURE_TESTS:-TestFilteredSignedDelivery|TestRetryAfter503UntilDelivered|TestExpiryToDLQ|TestBadBatchWritesNothing|TestRestartMidStreamLosesNothing|TestCleanShutdownCommitsInFlight|TestReplayDeadLetters|Secret|Secure|NoCreateTopics}"
LOCAL="${REPO_DIR}/integration/kafka-local.sh"

trap '"${LOCAL}" down >&2 || true' EXIT
out="$("${LOCAL}" up --secure)"
while IFS= read -r line; do
  [[ "${line}" =~ ^(KAFKA_BROKERS|HOOKPIPE_KAFKA_[A-Z_]+|HOOKPIPE_IT_[A-Z_]+)=(.*)$ ]] || continue
  export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
  printf 'secure-suite: %s=%s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
done <<<"${out}"
[[ -n "${KAFKA_BROKERS:-}" && "${HOOKPIPE_KAFKA_TLS:-}" == 1 ]] || { echo "secure-suite: kafka-local.sh up --secure printed no secure settings:" >&2; echo "${out}" >&2; exit 1; }

cd "${REPO_DIR}"
"${GO}" test -race -count=1 -timeout 20m -v -run "${TESTS}" "$@" ./integration
