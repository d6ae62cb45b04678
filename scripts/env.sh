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
