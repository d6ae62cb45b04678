# Shared settings for the repo's scripts (sourced, not run).
# Builds go to a target directory outside the clone so CI and repeated runs rebuild incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pipectl/target}"
# The emulator is a test double: fixed dummy credentials, never real ones.
export PIPECTL_EMULATOR_PYTHON="${PIPECTL_EMULATOR_PYTHON:-$PWD/.venv/bin/python}"

# start_emulator [JSON settings]: starts emulator/server.py on a free port in the background and
# exports AWS_ENDPOINT_URL and dummy credentials for it. stop_emulator ends it.
start_emulator() {
  local settings="${1:-{\}}"
  local log
  log=$(mktemp)
  "$PIPECTL_EMULATOR_PYTHON" emulator/server.py --port 0 --config "$settings" >"$log" 2>&1 &
  EMULATOR_PID=$!
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$log"; then break; fi
    sleep 0.1
  done
  AWS_ENDPOINT_URL=$(grep -o 'http://[0-9.:]*' "$log" | head -1)
  if [ -z "$AWS_ENDPOINT_URL" ]; then
    echo "the emulator did not start:" >&2
    cat "$log" >&2
    return 1
  fi
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
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$log"; then break; fi
    sleep 0.1
  done
  KUBE_URL=$(grep -o 'http://[0-9.:]*' "$log" | head -1)
  if [ -z "$KUBE_URL" ]; then
    echo "the fake Kubernetes API server did not start:" >&2
    cat "$log" >&2
    return 1
  fi
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
