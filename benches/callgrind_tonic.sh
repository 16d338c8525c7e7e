#!/usr/bin/env bash
# Instructions per unary tonic call (client and server in one process) under
# callgrind, for each variant of benches/tonic.rs: N and then 2N calls
# (`TONIC_BENCH_ONLY=<variant>:<calls>`), (I(2N) - I(N)) / N.
#
#   bash benches/callgrind_tonic.sh                 # N=500, every variant
#   N=1000 VARIANTS="bare ours-direct tto" bash benches/callgrind_tonic.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-500}
VARIANTS=${VARIANTS:-"bare floor hand-written ours ours-direct ours-server ours-client tto"}

if ! command -v valgrind >/dev/null; then
  apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind >/dev/null
fi
bench=$(cargo bench --features tonic --bench tonic --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m.get("target", {}).get("name") == "tonic":
        print(m["executable"])')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

instructions() { # variant calls
  TONIC_BENCH_ONLY=$1:$2 valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bench" \
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
