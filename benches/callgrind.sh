#!/usr/bin/env bash
# Instructions per request (or call) under callgrind: each variant runs N and
# then 2N times in-process, and (I(2N) - I(N)) / N is the cost of one, start-up
# and warm-up cancelled out. Instruction counts hold on a busy machine, where
# timings do not.
#
#   bash benches/callgrind.sh            # server: the request-path variants of
#                                        # benches/support/axum_app.rs through
#                                        # examples/throughput_server.rs
#                                        # --oneshot, sampled and unsampled
#   bash benches/callgrind.sh client     # reqwest over loopback, benches/client.rs
#   bash benches/callgrind.sh tonic      # a unary tonic call, benches/tonic.rs
#   N=500 VARIANTS="bare ours direct" bash benches/callgrind.sh
#
# Needs valgrind (Debian package `valgrind`; installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

WHAT=${1:-server}
if ! command -v valgrind >/dev/null; then
  apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind >/dev/null
fi

# The executable of a bench target.
bench_exe() { # features bench
  cargo bench --features "$1" --bench "$2" --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m.get("target", {}).get("name") == sys.argv[1]:
        print(m["executable"])' "$2"
}

case "$WHAT" in
  server)
    N=${N:-2000}
    VARIANTS=${VARIANTS:-"bare floor hand-written ours direct-floor direct oitower ato"}
    SUFFIXES=("" "-unsampled")
    cargo build --release --features axum --example throughput_server
    exe=target/release/examples/throughput_server ;;
  client)
    N=${N:-1000}
    VARIANTS=${VARIANTS:-"bare middleware-bare middleware-noop layer layer-direct middleware middleware-direct no-client-span hand-written"}
    SUFFIXES=("")
    exe=$(bench_exe reqwest-middleware,axum client) ;;
  tonic)
    N=${N:-500}
    VARIANTS=${VARIANTS:-"bare floor hand-written ours ours-direct ours-server ours-client tto"}
    SUFFIXES=("")
    exe=$(bench_exe tonic tonic) ;;
  *) echo "usage: $0 [server|client|tonic]" >&2; exit 2 ;;
esac

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
instructions() { # variant n
  local cg=(valgrind --tool=callgrind --callgrind-out-file="$out/cg")
  case "$WHAT" in
    server) "${cg[@]}" "$exe" "$1" --oneshot "$2" ;;
    client) CLIENT_VARIANT=$1 CLIENT_CALLS=$2 "${cg[@]}" "$exe" ;;
    tonic) TONIC_BENCH_ONLY=$1:$2 "${cg[@]}" "$exe" ;;
  esac 2>&1 | awk '/Collected/ {print $4}'
}

declare -A per
for variant in $VARIANTS; do
  for suffix in "${SUFFIXES[@]}"; do
    one=$(instructions "$variant$suffix" "$N")
    two=$(instructions "$variant$suffix" "$((2 * N))")
    per[$variant$suffix]=$(( (two - one) / N ))
    echo "$variant$suffix: ${per[$variant$suffix]} instructions each" >&2
  done
done

if [[ ${#SUFFIXES[@]} -eq 2 ]]; then
  echo "| variant | sampled | added over bare | unsampled | added over bare |"
  echo "|---|---:|---:|---:|---:|"
  for variant in $VARIANTS; do
    s=${per[$variant]} u=${per[$variant-unsampled]}
    echo "| $variant | $s | $(( s - ${per[bare]:-0} )) | $u | $(( u - ${per[bare-unsampled]:-0} )) |"
  done
else
  echo "| variant | instructions each | added over bare |"
  echo "|---|---:|---:|"
  for variant in $VARIANTS; do
    echo "| $variant | ${per[$variant]} | $(( ${per[$variant]} - ${per[bare]:-0} )) |"
  done
fi
