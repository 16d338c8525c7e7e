#!/usr/bin/env bash
# Whole-server throughput over real TCP on loopback: each variant of
# examples/throughput_server.rs in turn, pinned to CPU 0, driven by wrk on
# CPU 1 with traceparent + a 5-member tracestate on every request; every
# variant is run ROUNDS times, alternating, and req/s and p99 are printed
# side by side. Bounded: DURATION seconds per run.
#
#   bash benches/throughput.sh                 # ROUNDS=2 DURATION=10 CONNECTIONS=32
#   ROUNDS=3 DURATION=20 bash benches/throughput.sh
#
# Needs wrk (Debian package `wrk`; installed here when missing) and taskset.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-3900}
VARIANTS=${VARIANTS:-"bare empty-layer ours ours-untraced floor hand-written direct direct-floor oitower ato"}

if ! command -v wrk >/dev/null; then
  apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >/dev/null
fi
cargo build --release --features axum --example throughput_server
server=target/release/examples/throughput_server

TP="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TS="congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,vendor@tenant=abc123,foo=bar,dd=s:1;o:rum"
results=$(mktemp)
trap 'rm -f "$results"; [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null || true' EXIT

for round in $(seq "$ROUNDS"); do
  for variant in $VARIANTS; do
    taskset -c 0 "$server" "$variant" "$PORT" 2>/dev/null &
    pid=$!
    for _ in $(seq 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
      sleep 0.1
    done
    # One second of warm-up, then the measured run.
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d1s "http://127.0.0.1:$PORT/api/data" >/dev/null
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -H "traceparent: $TP" -H "tracestate: $TS" "http://127.0.0.1:$PORT/api/data")
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
    echo "$variant $round $rps $p99 ${errors:+($errors)}" | tee -a "$results"
  done
done

echo
echo "| variant | req/s per round | p99 per round |"
echo "|---|---|---|"
for variant in $VARIANTS; do
  rps=$(awk -v v="$variant" '$1 == v {printf "%s%s", sep, $3; sep=", "}' "$results")
  p99=$(awk -v v="$variant" '$1 == v {printf "%s%s", sep, $4; sep=", "}' "$results")
  echo "| $variant | $rps | $p99 |"
done
