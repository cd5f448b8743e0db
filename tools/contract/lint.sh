#!/usr/bin/env bash
# Lints the committed OpenAPI document with Redocly CLI (recommended ruleset,
# see redocly.yaml). Fails on any error; warnings are printed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
contract_npm_ci
cd "$CONTRACT_TOOLS/../.."
redocly lint openapi/openapi.json --config "$CONTRACT_TOOLS/redocly.yaml" \
  --max-problems 1000 --format "${LINT_FORMAT:-stylish}" "$@"
