#!/usr/bin/env bash
# Schemathesis (PyPI, pinned in schemathesis-requirements.txt, installed into a
# venv under target/) over the whole committed document with all checks,
# against a fresh server, signed in as the demo admin.
#   tools/contract/schemathesis.sh short   # CI: deterministic, a few cases per operation
#   tools/contract/schemathesis.sh full    # bounded: more cases, fuzzing too, 10 minutes at most
# Extra arguments go to `st run`. Exclusions, each with its reason: schemathesis.toml.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/server.sh"
mode="${1:-short}"; shift || true
venv="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/schemathesis-venv"
stamp="$venv/.requirements-sha256"
want="$(sha256sum "$here/schemathesis-requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/schemathesis-requirements.txt"
  echo "$want" > "$stamp"
fi

start_server
token="$(curl -sf "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"demo.admin\",\"password\":\"$PW_ADMIN\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

case "$mode" in
  short) args=(--generation-deterministic --seed 20261207 --max-examples 5 --workers 1
               --phases examples,coverage) ;;
  full)  args=(--seed 20261207 --max-examples 50 --workers 2 --max-time 600
               --phases examples,coverage,fuzzing,stateful --generation-database none) ;;
  *) echo "usage: $0 short|full [st run arguments]" >&2; exit 2 ;;
esac
report="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/schemathesis-$mode"
rm -rf "$report"
mkdir -p "$report"
cd "$report"   # schemathesis keeps its cache (.schemathesis/) in the working directory
run_st() {
  "$venv/bin/st" --config-file "$here/schemathesis.toml" run "$REPO_ROOT/openapi/openapi.json" --url "$BASE" \
    -H "Authorization: Bearer $token" \
    --request-timeout 30 --no-color --output-truncate true \
    --report junit --report-dir "$report" "${args[@]}" "$@"
}
# `POST /auth/logout-all` ends every session of the account the run signs in
# with; run in the same pass, it would leave most operations answering 401.
# It runs on its own, last, so every other operation is tested signed in.
run_st --exclude-path /api/v1/auth/logout-all "$@"
run_st --include-path /api/v1/auth/logout-all "$@"
