#!/usr/bin/env bash
# Two lkm builds, back to back, on the same workload: each round starts a
# fresh `lkm serve --dev` of build A, then of build B, runs `lkm bench`
# against it and prints ops/s with the server's CPU time and context
# switches per operation (from /proc). Alternating rounds is how a
# regression is told from this VM's minute-to-minute drift.
#
# Usage: interop/bench-ab.sh A_BINARY B_BINARY [ROUNDS] [WORKLOAD...]
#   e.g. git worktree add /tmp/base 1e667b9 && (cd /tmp/base && cargo build --release)
#        interop/bench-ab.sh /tmp/base/target/release/lkm target/release/lkm 3 create -c 64
# Environment: BENCH_DURATION=10 (seconds per run), BENCH_PORT (default: a free one)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
[ $# -ge 2 ] || { sed -n 2,13p "$0" >&2; exit 2; }
A=$1 B=$2 ROUNDS=${3:-3}
shift $(($# < 3 ? $# : 3))
WORKLOAD=("$@")
[ ${#WORKLOAD[@]} -gt 0 ] || WORKLOAD=(create -c 64)
DURATION=${BENCH_DURATION:-10}
PORT=${BENCH_PORT:-$(lkm_free_base_port)}
[ -n "$PORT" ] || { echo "no free port found" >&2; exit 1; }

run() { # binary label
  local bin=$1 label=$2 dir pid t0 t1 c0 c1 i
  dir=$(mktemp -d)
  printf '[limits]\naudited_items_per_s = 0\n' > "$dir/bench.toml"
  "$bin" serve --dev --config "$dir/bench.toml" --data "$dir/d" \
    --listen "127.0.0.1:$PORT" --metrics-listen "127.0.0.1:$((PORT + 1))" > "$dir/out" 2> "$dir/log" &
  pid=$!
  for i in $(seq 1 300); do grep -q "listening on" "$dir/out" 2>/dev/null && break; sleep 0.1; done
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  c0=$(cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}')
  timeout $((DURATION + 60)) "$bin" bench --port "$PORT" --ca "$dir/d/certs/ca.crt" \
    --cert "$dir/d/certs/client.crt" --key "$dir/d/certs/client.key" -q \
    --workload "${WORKLOAD[@]}" --duration "$DURATION" --warmup 0 --json "$dir/r.json" > /dev/null 2>&1 || true
  t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  c1=$(cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}')
  kill -TERM "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  python3 - "$dir/r.json" "$label" "$t0" "$t1" "$c0" "$c1" "$DURATION" << 'EOF'
import json, sys, os
path, label, t0, t1, c0, c1, d = sys.argv[1:]
try:
    r = json.load(open(path))
except (OSError, ValueError):
    print(f"{label}: no report"); sys.exit(0)
n = max(r["ops_per_s"] * float(d), 1)
tick = os.sysconf("SC_CLK_TCK")
print(f"{label}: {r['ops_per_s']:.0f} ops/s, errors {r['errors']}, "
      f"server CPU {(float(t1) - float(t0)) / tick * 1e6 / n:.0f} us/op, "
      f"{(int(c1) - int(c0)) / n:.1f} context switches/op")
EOF
  rm -rf "$dir"
}

for r in $(seq 1 "$ROUNDS"); do
  run "$A" "A round $r"
  run "$B" "B round $r"
done
