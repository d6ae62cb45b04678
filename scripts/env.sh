# Shared settings for the repo's scripts (sourced, not run).
# Builds go to a target directory outside the clone so CI and repeated runs rebuild incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pipectl/target}"
# The emulator is a test double: fixed dummy credentials, never real ones.
export PIPECTL_EMULATOR_PYTHON="${PIPECTL_EMULATOR_PYTHON:-$PWD/.venv/bin/python}"

# listening_url LOG WHAT: waits up to 10 s for a server started in the background to print
# "listening on http://HOST:PORT" into LOG, and prints that URL (or the log, on failure).
listening_url() {
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$1"; then break; fi
    sleep 0.1
  done
  local url
  url=$(grep -o 'http://[0-9.:]*' "$1" | head -1)
  if [ -z "$url" ]; then
    echo "$2 did not start:" >&2
    cat "$1" >&2
    return 1
  fi
  echo "$url"
}

# start_emulator [JSON settings]: starts emulator/server.py on a free port in the background and
# exports AWS_ENDPOINT_URL and dummy credentials for it. stop_emulator ends it.
start_emulator() {
  local settings="${1:-{\}}"
  local log
  log=$(mktemp)
  "$PIPECTL_EMULATOR_PYTHON" emulator/server.py --port 0 --config "$settings" >"$log" 2>&1 &
  EMULATOR_PID=$!
  AWS_ENDPOINT_URL=$(listening_url "$log" "the emulator") || return 1
  export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true
}

stop_emulator() {
  if [ -n "${EMULATOR_PID:-}" ]; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
  fi
}

# start_kube [--eks-cluster NAME]: starts the fake Kubernetes API server (emulator/kube_apiserver.py,
# a test double) on a free port, writes a kubeconfig whose context "fake" reaches it, and exports
# KUBE_URL and KUBECONFIG. stop_kube ends it.
start_kube() {
  local log
  log=$(mktemp)
  "$PIPECTL_EMULATOR_PYTHON" emulator/kube_apiserver.py --port 0 "$@" >"$log" 2>&1 &
  KUBE_PID=$!
  KUBE_URL=$(listening_url "$log" "the fake Kubernetes API server") || return 1
  KUBECONFIG=$(mktemp)
  cat >"$KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: "$KUBE_URL"}
users:
- name: fake
  user: {token: fake}
contexts:
- name: fake
  context: {cluster: fake, user: fake, namespace: kafka}
current-context: fake
EOF
  export KUBE_URL KUBECONFIG
}

stop_kube() {
  if [ -n "${KUBE_PID:-}" ]; then
    kill "$KUBE_PID" 2>/dev/null || true
    wait "$KUBE_PID" 2>/dev/null || true
  fi
}

# start_kafka_double: starts the test kit's Kafka broker double (emulator/kafka_broker, built as
# the example kafka-broker-double) as the seed article's brokers: TLS with a private CA made here,
# SASL/SCRAM with seed.py's admin user, topic application-logs at 6 partitions × 3 replicas.
# Exports PIPECTL_KAFKA_BOOTSTRAP (the --kafka-bootstrap of a port-forward) and SSL_CERT_FILE
# (the CA). stop_kafka_double ends it.
start_kafka_double() {
  local dir log
  dir=$(mktemp -d)
  log=$(mktemp)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=demo-ca \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=CA:FALSE -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -keyout "$dir/broker.key" -out "$dir/broker.pem" 2>/dev/null
  "$CARGO_TARGET_DIR/debug/examples/kafka-broker-double" --port 0 --brokers 3 \
    --scram-user pipectl-admin --scram-password kafka-double-admin-password \
    --tls-cert "$dir/broker.pem" --tls-key "$dir/broker.key" --topic application-logs:6:3 >"$log" 2>&1 &
  KAFKA_DOUBLE_PID=$!
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$log"; then break; fi
    sleep 0.1
  done
  PIPECTL_KAFKA_BOOTSTRAP=$(grep -o '127.0.0.1:[0-9]*' "$log" | head -1)
  if [ -z "$PIPECTL_KAFKA_BOOTSTRAP" ]; then
    echo "the Kafka broker double did not start:" >&2
    cat "$log" >&2
    return 1
  fi
  SSL_CERT_FILE="$dir/ca.pem"
  export PIPECTL_KAFKA_BOOTSTRAP SSL_CERT_FILE
}

stop_kafka_double() {
  if [ -n "${KAFKA_DOUBLE_PID:-}" ]; then
    kill "$KAFKA_DOUBLE_PID" 2>/dev/null || true
    wait "$KAFKA_DOUBLE_PID" 2>/dev/null || true
  fi
}
