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
