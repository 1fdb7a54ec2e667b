#!/usr/bin/env bash
# Installs what test/go-host needs: a Go toolchain and the go-plugin sources (Debian's
# golang-github-hashicorp-go-plugin-dev, v1.0.1, under /usr/share/gocode). That package does not
# depend on gRPC although go-plugin imports it, so golang-google-grpc-dev is listed explicitly.
# Idempotent: when everything is already present it returns without touching apt.
set -euo pipefail

PKGS=(golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev)
GOPLUGIN_SRC=/usr/share/gocode/src/github.com/hashicorp/go-plugin
GRPC_SRC=/usr/share/gocode/src/google.golang.org/grpc

installed() {
  local p
  for p in "${PKGS[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
  done
  command -v go >/dev/null 2>&1 && [ -f "$GOPLUGIN_SRC/client.go" ] && [ -f "$GRPC_SRC/server.go" ]
}

if installed; then
  echo "go-host-deps: already installed ($(go version))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
end=$(date +%s)

if ! installed; then
  echo "go-host-deps: apt-get finished but go, $GOPLUGIN_SRC or $GRPC_SRC is still missing" >&2
  exit 1
fi
echo "go-host-deps: installed $(go version) and go-plugin/gRPC sources in $((end - start)) s"
