#!/usr/bin/env bash
# Installs libfaketime (Debian package faketime), which .ci/shifted-clocks.sh runs the unit suite
# under. Idempotent: when faketime is already present it returns without touching apt.
set -euo pipefail

installed() {
  [ "$(dpkg-query -W -f='${Status}' faketime 2>/dev/null)" = "install ok installed" ] &&
    command -v faketime >/dev/null 2>&1
}

if installed; then
  echo "faketime-deps: already installed ($(dpkg-query -W -f='${Version}' faketime))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends faketime >/dev/null
end=$(date +%s)

if ! installed; then
  echo "faketime-deps: apt-get finished but faketime is still missing" >&2
  exit 1
fi
echo "faketime-deps: installed faketime $(dpkg-query -W -f='${Version}' faketime) in $((end - start)) s"
