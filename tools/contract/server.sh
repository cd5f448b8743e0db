# Sourced by the scripts here. `start_server` starts the motcua binary on a
# fresh SQLite database in a temporary directory, on a free local port, with
# the demo data, and exports:
#   BASE        http://127.0.0.1:PORT
#   SERVER_DIR  its working directory (data/motcua.db, data/files/)
#   PW_ADMIN PW_OFFICER PW_HANDLER PW_LEADER PW_PORTAL PW_CITIZEN
#               the demo passwords (client secret for the portal) it printed once.
# `stop_server` stops it (an EXIT trap does too). MOTCUA_BIN overrides the binary.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

start_server() {
  if [[ -z "${MOTCUA_BIN:-}" ]]; then
    (cd "$REPO_ROOT" && cargo build -q -p motcua)
    MOTCUA_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/motcua"
  fi
  SERVER_DIR="$(mktemp -d -t motcua-contract.XXXXXX)"
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  BASE="http://127.0.0.1:$port"
  (
    cd "$SERVER_DIR"
    MOTCUA__SERVER__PUBLIC_BASE_URL="$BASE" \
    MOTCUA__LOG__LEVEL="${MOTCUA_LOG:-warn}" \
      exec "$MOTCUA_BIN" serve --bind "127.0.0.1:$port" --database-url "sqlite://$SERVER_DIR/data/motcua.db" \
      >"$SERVER_DIR/stdout.log" 2>"$SERVER_DIR/stderr.log"
  ) &
  SERVER_PID=$!
  trap stop_server EXIT
  for _ in $(seq 1 120); do
    if curl -sf -o /dev/null "$BASE/health/ready"; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$SERVER_DIR/stderr.log" >&2; echo "the server did not start" >&2; return 1
    fi
    sleep 0.5
  done
  curl -sf -o /dev/null "$BASE/health/ready"
  # "  officer       demo.handler   password: XXXX" → PW_HANDLER=XXXX
  eval "$(awk '/ (password|client_secret): /{
      user=$2; sub(/^demo\./, "", user);
      if ($1 == "citizen") user="citizen";
      printf "export PW_%s=%s\n", toupper(user), $4 }' "$SERVER_DIR/stdout.log")"
  [[ -n "${PW_ADMIN:-}" && -n "${PW_CITIZEN:-}" ]] || { echo "no demo passwords printed" >&2; return 1; }
  export BASE SERVER_DIR SERVER_PID
}

stop_server() {
  if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
  if [[ -n "${SERVER_DIR:-}" && -z "${KEEP_SERVER_DIR:-}" ]]; then rm -rf "$SERVER_DIR"; fi
}
