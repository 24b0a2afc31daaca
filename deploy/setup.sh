#!/usr/bin/env bash
# One-shot setup for a fresh Debian/Ubuntu machine: system packages, npm packages, build.
# Idempotent; safe to run again. Services (Kafka, ClickHouse server, Redis) are installed
# separately by deploy/services.sh because the embedded default needs none of them.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
dpkg -s libpcap-dev >/dev/null 2>&1 || need_apt+=(libpcap-dev)
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++ make)
# librdkafka (@confluentinc/kafka-javascript) is built from source here, linked against these
for p in libssl-dev libsasl2-dev zlib1g-dev libzstd-dev liblz4-dev pkg-config python3; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# node-gyp (for `cap`) must build against the local Node headers, never download them.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
# @confluentinc/kafka-javascript: its prebuilt binary (GitHub) and the static build's sources
# (zlib.net, GitHub) are downloads; linked dynamically, it builds from the bundled librdkafka
# sources against the Debian packages above (a few minutes, once).
export CKJS_LINKING="${CKJS_LINKING:-dynamic}"
echo "setup: installing npm packages"
# `npm install` (honouring package-lock.json) rather than `npm ci`: npm 10/11 leave other
# platforms' optional native packages (@swc/core-*, jest's resolver bindings) out of the lock
# file, and `npm ci` then refuses the lock as out of sync (npm/cli#4828, #8320).
npm install --no-save --no-audit --no-fund --loglevel=error
# npm >= 11 skips dependency install scripts unless approved (package.json allowScripts);
# npm 10 runs them anyway. Rebuild the native ones explicitly so both behave the same.
npm rebuild cap @swc/core --loglevel=error >/dev/null 2>&1 || echo "setup: warning: could not build 'cap' (live capture disabled; pcap replay unaffected)"
# librdkafka: rebuilt only when the module does not load (npm install built it, or skipped it)
if ! node -e "require('@confluentinc/kafka-javascript')" >/dev/null 2>&1; then
  echo "setup: building librdkafka (@confluentinc/kafka-javascript; a few minutes)"
  npm rebuild @confluentinc/kafka-javascript --loglevel=error >/dev/null
  node -e "require('@confluentinc/kafka-javascript')"
fi
# the batched UDP receive path (N-API, one build for every Node); without it ingest and serve
# read reports through dgram
NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
ADDON=packages/pipeline/native/udp-recv
if [ ! -f $ADDON/build/Release/udp_recv.node ] ||
  [ $ADDON/udp_recv.c -nt $ADDON/build/Release/udp_recv.node ]; then
  (cd $ADDON && node "$NODE_GYP" rebuild --loglevel=error >/dev/null) ||
    echo "setup: warning: could not build the recvmmsg addon (UDP reports are read through dgram)"
fi
echo "setup: building"
npx tsc -b
echo "setup: done"
