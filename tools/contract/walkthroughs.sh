#!/usr/bin/env bash
# Runs the curl walkthroughs of the docs as written, in order, against a fresh
# server (tools/contract/server.sh): every ```sh block of each file below, in one
# bash per file with `set -euo pipefail`, with the demo passwords in PW_* and
# the docs' 127.0.0.1:8080 pointed at the fresh server's port. A block fails the
# run when a command fails or an expected field is missing (the python3
# one-liners that read JSON fail then); the checks after each file make sure
# the walkthrough really got where the text says.
#   tools/contract/walkthroughs.sh [file.md …]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/server.sh"
cd "$REPO_ROOT"
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(README.md docs/catalog.md docs/dossiers.md docs/payments.md docs/events.md docs/portal.md docs/forms.md docs/results.md docs/papers.md)

start_server
port="${BASE##*:}"
export API="$BASE/api/v1"

# After each file: where the walkthrough must have got (run in the same shell).
declare -A after=(
  [docs/dossiers.md]='test "$(curl -s "$API/dossiers/$CODE" -H "authorization: Bearer $CITIZEN" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"status\"])")" = returned'
  [docs/payments.md]='test "$(curl -s "$API/payments/$PAY" -H "authorization: Bearer $CITIZEN" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"status\"])")" = success'
)

failed=0
for file in "${files[@]}"; do
  script="$SERVER_DIR/walkthrough-$(basename "$file" .md).sh"
  {
    echo 'set -euo pipefail'
    python3 - "$file" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)
# The walkthrough starts at the block that sets API= (README's first blocks build and test).
first = next((i for i, b in enumerate(blocks) if "API=" in b), len(blocks))
for block in blocks[first:]:
    print(block)
PY
    echo "${after[$file]:-true}"
  } | sed "s/127\.0\.0\.1:8080/127.0.0.1:$port/g" > "$script"
  blocks=$(grep -c '^```sh' "$file" || true)  # of which the walkthrough part runs
  start=$(date +%s)
  if (cd "$SERVER_DIR" && bash "$script" > "$script.out" 2>&1); then
    echo "ok    $file ($blocks sh blocks, $(( $(date +%s) - start ))s)"
  else
    echo "FAIL  $file ($blocks sh blocks): last output:"; tail -n 15 "$script.out" | sed 's/^/      /'
    failed=$((failed + 1))
  fi
done
passed=$(( ${#files[@]} - failed ))
echo "walkthroughs: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
