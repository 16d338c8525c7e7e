#!/usr/bin/env bash
# Instructions per request under callgrind, for every variant of the
# request-path comparison (benches/support/axum_app.rs), sampled and
# unsampled: examples/throughput_server.rs sends N and then 2N requests
# in-process (`--oneshot`), and (I(2N) - I(N)) / N is the cost of one
# request, start-up and warm-up cancelled out. Instruction counts hold on a
# busy machine, where timings do not.
#
#   bash benches/callgrind.sh                      # N=2000, every variant
#   N=1000 VARIANTS="bare ours direct oitower" bash benches/callgrind.sh
#
# Needs valgrind (Debian package `valgrind`; installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-2000}
VARIANTS=${VARIANTS:-"bare floor hand-written ours direct-floor direct oitower ato"}

if ! command -v valgrind >/dev/null; then
  apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind >/dev/null
fi
cargo build --release --features axum --example throughput_server
server=target/release/examples/throughput_server
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

instructions() { # variant n
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$server" "$1" --oneshot "$2" \
    2>&1 | awk '/Collected/ {print $4}'
}

declare -A per
for variant in $VARIANTS; do
  for suffix in "" "-unsampled"; do
    one=$(instructions "$variant$suffix" "$N")
    two=$(instructions "$variant$suffix" "$((2 * N))")
    per[$variant$suffix]=$(( (two - one) / N ))
    echo "$variant$suffix: $(( (two - one) / N )) instructions per request" >&2
  done
done

echo "| variant | sampled | added over bare | unsampled | added over bare |"
echo "|---|---:|---:|---:|---:|"
for variant in $VARIANTS; do
  s=${per[$variant]} u=${per[$variant-unsampled]}
  echo "| $variant | $s | $(( s - ${per[bare]:-0} )) | $u | $(( u - ${per[bare-unsampled]:-0} )) |"
done
