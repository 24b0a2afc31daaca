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
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# node-gyp (for `cap`) must build against the local Node headers, never download them.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
echo "setup: installing npm packages"
# `npm install` (honouring package-lock.json) rather than `npm ci`: npm 10/11 leave other
# platforms' optional native packages (@swc/core-*, jest's resolver bindings) out of the lock
# file, and `npm ci` then refuses the lock as out of sync (npm/cli#4828, #8320).
npm install --no-save --no-audit --no-fund --loglevel=error
# npm >= 11 skips dependency install scripts unless approved (package.json allowScripts);
# npm 10 runs them anyway. Rebuild the native ones explicitly so both behave the same.
npm rebuild cap @swc/core --loglevel=error >/dev/null 2>&1 || echo "setup: warning: could not build 'cap' (live capture disabled; pcap replay unaffected)"
echo "setup: building"
npx tsc -b
echo "setup: done"
