#!/usr/bin/env bash
# Builds the go-plugin test host offline, against the go-plugin v1.0.1 sources Debian installs
# under /usr/share/gocode (GOPATH mode; no module proxy is contacted).
#
#   test/go-host/build.sh <output path>   build the host binary
#   test/go-host/build.sh --check         only check that the toolchain and sources are present
#
# Exits 77 when go or the go-plugin/gRPC sources are missing (install them with
# .ci/go-host-deps.sh), 2 on bad usage, non-zero on a compile error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gopath="${GO_HOST_GOPATH:-/usr/share/gocode}"

usage() {
  echo "usage: $0 <output path> | --check" >&2
  exit 2
}
[ $# -eq 1 ] || usage

missing=()
command -v go >/dev/null 2>&1 || missing+=("go (Debian package golang-go)")
for pkg in github.com/hashicorp/go-plugin github.com/hashicorp/go-hclog google.golang.org/grpc \
  github.com/golang/protobuf golang.org/x/net; do
  [ -d "$gopath/src/$pkg" ] || missing+=("$gopath/src/$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "go-host: cannot build, missing: ${missing[*]}" >&2
  echo "go-host: install them with .ci/go-host-deps.sh (apt: golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev)" >&2
  exit 77
fi

if [ "$1" = "--check" ]; then
  echo "go-host: ok ($(go version), go-plugin sources in $gopath)"
  exit 0
fi
case "$1" in
  -*) usage ;;
esac

out="$1"
case "$out" in
  /*) ;;
  *) out="$PWD/$out" ;;
esac
mkdir -p "$(dirname "$out")"

# go needs a build cache; without HOME (some CI sandboxes) it has none, so fall back to TMPDIR.
if [ -z "${GOCACHE:-}" ]; then
  cache="$(go env GOCACHE 2>/dev/null || true)"
  if [ -z "$cache" ] || [ "$cache" = "off" ]; then
    export GOCACHE="${TMPDIR:-/tmp}/go-host-gocache"
  fi
fi

cd "$here"
GO111MODULE=off GOPATH="$gopath" GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
  go build -trimpath -o "$out" .
echo "go-host: built $out"
