#!/usr/bin/env bash
# Instructions per outgoing call under callgrind: reqwest GETs over loopback
# (the server in the same process) inside a caller span, through each
# variant of benches/client.rs; N and then 2N calls, (I(2N) - I(N)) / N.
#
#   bash benches/callgrind_client.sh                 # N=1000, every variant
#   N=500 VARIANTS="bare layer layer-direct" bash benches/callgrind_client.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000}
VARIANTS=${VARIANTS:-"bare middleware-bare middleware-noop layer layer-direct middleware middleware-direct no-client-span hand-written"}

if ! command -v valgrind >/dev/null; then
  apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind >/dev/null
fi
bench=$(cargo bench --features reqwest-middleware,axum --bench client --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m.get("target", {}).get("name") == "client":
        print(m["executable"])')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

instructions() { # variant calls
  CLIENT_VARIANT=$1 CLIENT_CALLS=$2 valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bench" \
    2>&1 | awk '/Collected/ {print $4}'
}

declare -A per
for variant in $VARIANTS; do
  one=$(instructions "$variant" "$N")
  two=$(instructions "$variant" "$((2 * N))")
  per[$variant]=$(( (two - one) / N ))
  echo "$variant: ${per[$variant]} instructions per call" >&2
done
echo "| variant | instructions per call | added over bare |"
echo "|---|---:|---:|"
for variant in $VARIANTS; do
  echo "| $variant | ${per[$variant]} | $(( ${per[$variant]} - ${per[bare]:-0} )) |"
done
