#!/usr/bin/env bash
# The native codex binaries of the tested codex releases besides the pin, which npm ci installs as
# aliases of their linux-x64 platform packages (package.json optionalDependencies
# "codex-linux-x64-<version>").
#   .ci/codex-bin.sh --list      the versions, oldest first (the minimum, then the newest verified)
#   .ci/codex-bin.sh <version>   the binary's path, after checking that it reports that version
# Run the e2e suite against one: CODEX_BIN=$(.ci/codex-bin.sh 0.148.0) npm run test:e2e
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--list" ]; then
  node -p 'Object.keys(require("./package.json").optionalDependencies ?? {})
    .filter((name) => name.startsWith("codex-linux-x64-"))
    .map((name) => name.slice("codex-linux-x64-".length))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true })).join(" ")'
  exit 0
fi

version=${1:?usage: .ci/codex-bin.sh --list | <version>}
if [ "$(node -p 'process.platform + "-" + process.arch')" != "linux-x64" ]; then
  echo "codex-bin: codex $version is installed for linux-x64 only" >&2
  exit 1
fi
bin="$PWD/node_modules/codex-linux-x64-$version/vendor/x86_64-unknown-linux-musl/bin/codex"
reported=$("$bin" --version 2>&1) || true
if [ "$reported" != "codex-cli $version" ]; then
  echo "codex-bin: $bin reports '$reported', expected codex-cli $version (npm ci?)" >&2
  exit 1
fi
echo "$bin"
