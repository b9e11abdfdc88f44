# kafka-local-secure.sh — the `up --secure` part of kafka-local.sh (sourced by it, not run).
#
# With --secure every node gets, beside its PLAINTEXT listener (kept for inter-broker traffic
# and the script's own readiness probe), a SASL_SSL listener on HOOKPIPE_KAFKA_SECURE_PORT+K
# (default first broker port + 10 + K):
#   - a CA, a broker certificate (127.0.0.1, localhost) and a client certificate, made with
#     openssl for this run under <state>/tls/; an unrelated CA too, for "untrusted CA" tests;
#   - SCRAM-SHA-512 and SCRAM-SHA-256 credentials for the user "hookpipe", created with Kafka's
#     own `kafka-storage format --add-scram`, and the same user for PLAIN;
#   - OAUTHBEARER with Kafka's built-in *unsecured* token validator (unsigned JWTs, "alg":"none",
#     the principal in "sub"): enough to test a client's OAUTHBEARER, never for production;
#   - ssl.client.auth=requested: a client certificate is verified when one is presented (mTLS);
#   - ACLs enforced (StandardAuthorizer): "hookpipe" gets exactly what the README's "Running on
#     your Kafka" lists, on the topic and group prefixes "hookpipe.", "it-" (the suite's) and
#     "bench-" (hookpipe bench's, which also gets Delete);
#     the PLAINTEXT listener's ANONYMOUS principal (tools, inter-broker) is a super user.
# The password is random per run, in <state>/tls/hookpipe.password (mode 600); `up` and `env`
# print its path, never the password.

WANT_SECURE=0
readonly SECURE_USER="hookpipe"

secure_dir() { printf '%s/tls\n' "${STATE_DIR}"; }
is_secure() { [[ -f "${STATE_DIR}/secure" ]]; }
secure_port() { printf '%s\n' "$((${HOOKPIPE_KAFKA_SECURE_PORT:-$((BROKER_BASE_PORT + 10))} + $1))"; }

secure_bootstrap_list() {
  local n="$1" i out=""
  for ((i = 0; i < n; i++)); do
    out+="${out:+,}127.0.0.1:$(secure_port "${i}")"
  done
  printf '%s\n' "${out}"
}

# secure_listener K: ",SASL_SSL://127.0.0.1:<port>" when the state is secure, else nothing.
secure_listener() {
  if is_secure; then printf ',SASL_SSL://127.0.0.1:%s' "$(secure_port "$1")"; fi
}

# secure_properties: the server.properties lines of the SASL_SSL listener.
secure_properties() {
  is_secure || return 0
  local d pw
  d="$(secure_dir)"
  pw="$(cat "${d}/hookpipe.password")"
  cat <<EOP
# --secure: SASL_SSL listener, certificates in ${d}
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${SECURE_USER}="${pw}";
ssl.keystore.type=PEM
ssl.keystore.location=${d}/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=${d}/ca.pem
ssl.client.auth=requested
ssl.endpoint.identification.algorithm=
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:ANONYMOUS
EOP
}

# secure_acls N: grant the user the ACLs hookpipe needs (idempotent; through the PLAINTEXT
# listener, whose ANONYMOUS principal is a super user).
secure_acls() {
  is_secure || return 0
  local bs log="${STATE_DIR}/acls.log" prefix args=()
  bs="$(bootstrap_list "$1")"
  for prefix in hookpipe. it- bench-; do args+=(--topic "${prefix}"); done
  run_tool org.apache.kafka.tools.AclCommand --bootstrap-server "${bs}" --add --force \
    --allow-principal "User:${SECURE_USER}" --resource-pattern-type prefixed "${args[@]}" \
    --operation Create --operation Describe --operation DescribeConfigs --operation AlterConfigs \
    --operation Read --operation Write >"${log}" 2>&1 || { cat "${log}" >&2; die "adding the topic ACLs failed"; }
  args=()
  for prefix in hookpipe. it- bench-; do args+=(--group "${prefix}"); done
  run_tool org.apache.kafka.tools.AclCommand --bootstrap-server "${bs}" --add --force \
    --allow-principal "User:${SECURE_USER}" --resource-pattern-type prefixed "${args[@]}" \
    --operation Read --operation Describe >>"${log}" 2>&1 || { cat "${log}" >&2; die "adding the group ACLs failed"; }
  # Ingest, fanout, deliver and retry write in transactions, with ids
  # <p>.<stage>.<instance>; hookpipe replay with <p>.replay.<name>.
  args=()
  for prefix in hookpipe. it- bench-; do args+=(--transactional-id "${prefix}"); done
  run_tool org.apache.kafka.tools.AclCommand --bootstrap-server "${bs}" --add --force \
    --allow-principal "User:${SECURE_USER}" --resource-pattern-type prefixed "${args[@]}" \
    --operation Write --operation Describe >>"${log}" 2>&1 || { cat "${log}" >&2; die "adding the transactional id ACLs failed"; }
  # hookpipe bench deletes what it made when it ends.
  run_tool org.apache.kafka.tools.AclCommand --bootstrap-server "${bs}" --add --force \
    --allow-principal "User:${SECURE_USER}" --resource-pattern-type prefixed --topic bench- --group bench- \
    --operation Delete >>"${log}" 2>&1 || { cat "${log}" >&2; die "adding the bench ACLs failed"; }
  log "ACLs for User:${SECURE_USER} on the prefixes hookpipe., it- and bench- (topics: Create, Describe, DescribeConfigs, AlterConfigs, Read, Write; groups: Read, Describe; transactional ids: Write, Describe; bench- also Delete)"
}

# scram_format_args: the --add-scram arguments of `kafka-storage format`, one a line.
scram_format_args() {
  is_secure || return 0
  local pw m
  pw="$(cat "$(secure_dir)/hookpipe.password")"
  for m in SCRAM-SHA-512 SCRAM-SHA-256; do
    printf -- '--add-scram\n%s=[name=%s,password=%s]\n' "${m}" "${SECURE_USER}" "${pw}"
  done
}

# make_secure_material: the CA, certificates and password of a fresh secure state.
make_secure_material() {
  command -v openssl >/dev/null 2>&1 || die "openssl not found on PATH; --secure needs it to make the run's CA and certificates"
  local d
  d="$(secure_dir)"
  mkdir -p "${d}"
  chmod 700 "${d}"
  (
    set -e
    cd "${d}"
    umask 077
    ossl() { openssl "$@" >>openssl.log 2>&1; }
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=hookpipe kafka-local CA" -keyout ca.key -out ca.pem
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=an unrelated CA" -keyout untrusted-ca.key -out untrusted-ca.pem
    local name san
    for name in broker client; do
      san="subjectAltName=IP:127.0.0.1,DNS:localhost"
      ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=${name}" \
        -keyout "${name}.key.tmp" -out "${name}.csr"
      ossl pkcs8 -topk8 -nocrypt -in "${name}.key.tmp" -out "${name}.key"
      ossl x509 -req -in "${name}.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile <(printf '%s\nextendedKeyUsage=serverAuth,clientAuth\n' "${san}") -out "${name}.pem"
      rm -f "${name}.key.tmp" "${name}.csr"
    done
    cat broker.key broker.pem >broker-keystore.pem
    head -c 18 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >hookpipe.password
  ) || { tail -n 20 "${d}/openssl.log" >&2 || true; die "making the TLS material with openssl failed (log: ${d}/openssl.log)"; }
  touch "${STATE_DIR}/secure"
  log "made a CA, broker and client certificates and a SCRAM password for user ${SECURE_USER} in ${d}"
}

# secure_env N: the HOOKPIPE_KAFKA_* lines hookpipe and the suite need, and the files the
# integration tests use (HOOKPIPE_IT_*); KAFKA_BROKERS is printed after them by the caller.
secure_env() {
  local n="$1" d
  d="$(secure_dir)"
  printf 'HOOKPIPE_KAFKA_TLS=1\n'
  printf 'HOOKPIPE_KAFKA_CA_FILE=%s\n' "${d}/ca.pem"
  printf 'HOOKPIPE_KAFKA_SASL_MECHANISM=SCRAM-SHA-512\n'
  printf 'HOOKPIPE_KAFKA_SASL_USER=%s\n' "${SECURE_USER}"
  printf 'HOOKPIPE_KAFKA_SASL_PASSWORD_FILE=%s\n' "${d}/hookpipe.password"
  printf 'HOOKPIPE_IT_CLIENT_CERT_FILE=%s\n' "${d}/client.pem"
  printf 'HOOKPIPE_IT_CLIENT_KEY_FILE=%s\n' "${d}/client.key"
  printf 'HOOKPIPE_IT_UNTRUSTED_CA_FILE=%s\n' "${d}/untrusted-ca.pem"
  printf 'HOOKPIPE_IT_PLAINTEXT_BROKERS=%s\n' "$(bootstrap_list "${n}")"
  printf 'HOOKPIPE_IT_ACL_PREFIXES=hookpipe.,it-,bench-\n'
  printf 'HOOKPIPE_IT_OAUTHBEARER_UNSECURED=1\n'
}
