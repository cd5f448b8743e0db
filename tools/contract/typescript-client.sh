#!/usr/bin/env bash
# The TypeScript client example (clients/typescript): installs its pinned
# packages (npm ci), generates the types from the committed document with
# openapi-typescript, refuses `any` and casts in its sources, compiles it with
# `tsc --strict`, and runs its whole flow against a fresh server.
#   tools/contract/typescript-client.sh          (OPENAPI=path overrides the document)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/server.sh"
client="$REPO_ROOT/clients/typescript"
cd "$client"
stamp=node_modules/.lock-sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f $stamp || "$(cat $stamp)" != "$want" ]]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > $stamp
fi
node generate.mjs
# Written as a frontend developer would: no `any`, no `as` casts, no `!` non-null assertions, no ts-ignore.
if grep -nE '\bany\b|[)A-Za-z0-9_\]]\s+as\s+[A-Za-z{(\[]|[A-Za-z0-9_)\]]!\.|@ts-(ignore|expect-error|nocheck)' src/*.ts; then
  echo "the example must not use any, casts or non-null assertions" >&2
  exit 1
fi
npx tsc -p tsconfig.json --strict
start_server
MOTCUA_BASE_URL="$BASE" node dist/flow.js
