# Sourced by the scripts here: installs the pinned npm tools (npm ci against
# package-lock.json) unless node_modules already matches the lockfile.
# Needs node >= 20.19 and the npm registry; nothing else from the network.
CONTRACT_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
contract_npm_ci() {
  local stamp="$CONTRACT_TOOLS/node_modules/.lock-sha256"
  local want
  want="$(sha256sum "$CONTRACT_TOOLS/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    (cd "$CONTRACT_TOOLS" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
  export PATH="$CONTRACT_TOOLS/node_modules/.bin:$PATH"
}
