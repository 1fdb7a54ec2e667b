#!/usr/bin/env bash
# Prints the bin directory of Node.js VERSION for this machine, fetched through npm: the
# node-linux-<arch> package holds the official node binary (its bin/node), and npm checks the
# tarball against the registry's integrity hash. Kept in node_modules/.cache/ci-node, so a second
# call costs nothing.
#
#   .ci/node-bin.sh 24.22.3   →   /…/node_modules/.cache/ci-node/24.22.3/package/bin
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:?usage: .ci/node-bin.sh VERSION}
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "node-bin: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac

dir="node_modules/.cache/ci-node/$version"
if [ ! -x "$dir/package/bin/node" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  tarball=$(npm pack --json --pack-destination "$dir" "node-linux-$arch@$version" |
    node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8"))[0].filename)')
  tar -xzf "$dir/$tarball" -C "$dir"
  rm "$dir/$tarball"
fi
actual=$("$dir/package/bin/node" --version)
if [ "$actual" != "v$version" ]; then
  echo "node-bin: $dir/package/bin/node is $actual, not v$version" >&2
  exit 1
fi
echo "$(pwd)/$dir/package/bin"
