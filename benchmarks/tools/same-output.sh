#!/usr/bin/env bash
# Behaviour-preservation check between two commits: dissect (JSON Lines) of every capture in
# captures/ and ../shared/captures/, and the anomalies (JSON Lines) of a replay of every bundled
# capture and of a simulated capture of N records, must be byte-identical at both commits.
#
# Usage: bash benchmarks/tools/same-output.sh BEFORE_REF [AFTER_REF=HEAD] [N=2000000]
# Each ref is checked out in a temporary worktree sharing this tree's node_modules and built.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
before=$1
after=${2:-HEAD}
n=${3:-2000000}
work=$(mktemp -d /tmp/hopwatch-same-XXXXXX)
trap 'cd "$root"; git worktree remove --force "$work/before" 2>/dev/null || true; git worktree remove --force "$work/after" 2>/dev/null || true; rm -rf "$work"' EXIT

shared=$root/../shared/captures
caps=("$root"/captures/*.pcap)
[ -d "$shared" ] && caps+=("$shared"/*.pcap "$shared"/*.pcapng)

cd "$root"
for side in before after; do
  ref=$before
  [ $side = after ] && ref=$after
  git worktree add -q --detach "$work/$side" "$ref"
  # the installed packages shared, the workspace links (relative) resolving to this checkout
  mkdir "$work/$side/node_modules"
  for m in "$root"/node_modules/* "$root"/node_modules/.bin; do
    [ "$(basename "$m")" = @hopwatch ] || ln -s "$m" "$work/$side/node_modules/"
  done
  cp -a "$root/node_modules/@hopwatch" "$work/$side/node_modules/"
  (cd "$work/$side" && npx tsc -b)
done
# one simulated capture for both sides: the replay benchmark's fabric (AFTER's simulator)
node -e "
  const { simulate, loadScenario } = require('$work/after/packages/simulator');
  const { REPLAY_SCENARIO } = require('$root/benchmarks/lib/replay-scenario.js');
  simulate(loadScenario(REPLAY_SCENARIO), { out: '$work/big.pcap', limit: $n });
"

run() { # side outdir
  local bin=$work/$1/packages/cli/bin/hopwatch.js out=$2
  mkdir -p "$out"
  for c in "${caps[@]}"; do
    local b
    b=$(basename "$c")
    node "$bin" dissect --json "$c" >"$out/$b.dissect.jsonl" 2>"$out/$b.dissect.summary" || true
  done
  for c in "$root"/captures/*.pcap "$work/big.pcap"; do
    local b
    b=$(basename "$c")
    # --no-flows where the ref knows it (flows do not change anomalies, they only cost time)
    node "$bin" replay --no-store --no-flows --anomalies "$out/$b.anomalies.jsonl" "$c" >/dev/null 2>&1 ||
      node "$bin" replay --no-store --anomalies "$out/$b.anomalies.jsonl" "$c" >/dev/null 2>&1 ||
      echo "replay failed" >"$out/$b.anomalies.jsonl"
  done
}
run before "$work/out-before"
run after "$work/out-after"

fail=0
for f in "$work"/out-before/*; do
  b=$(basename "$f")
  if cmp -s "$f" "$work/out-after/$b"; then
    printf 'same     %s (%s lines)\n' "$b" "$(wc -l <"$f")"
  else
    printf 'DIFFERS  %s\n' "$b"
    fail=1
  fi
done
exit $fail
