#!/usr/bin/env bash
# Issue 13's cluster figures on this machine: `lkm bench` against a
# 3-node loopback cluster made by scripts/dev-cluster, then the failover
# and catch-up times. Every node runs `lkm serve --config DIR/nodeI/lkm.toml`
# with the per-identity audited-item rate lifted (one client certificate
# drives all connections, as in interop/bench-vs-pykmip.sh).
#
# Usage: interop/bench-cluster.sh
# Environment:
#   BENCH_DURATION=10   measured seconds per run (2 s warm-up before)
#   BENCH_CATCHUP=100000  writes a stopped node misses before it returns
#   BENCH_OUT=DIR       where the JSON reports and results.txt go (default: a temp dir)
# Prints one line per figure; the JSON reports are kept in BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
DURATION="${BENCH_DURATION:-10}"
CATCHUP="${BENCH_CATCHUP:-100000}"
OUT="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
cargo build --release --bin lkm -q

WORK=$(mktemp -d)
DIR="$WORK/cluster"
declare -A PID=()
cleanup() {
  local p
  for p in "${PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PID[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

P=$(lkm_free_base_port)
[ -n "$P" ] || { echo "no free base port found" >&2; exit 1; }
CERTS="$DIR/certs"
result() { echo "$*" | tee -a "$OUT/results.txt"; }

# Found the cluster with the README's script, then stop it (SIGINT, as
# Ctrl-C) and run the nodes here, so they can be stopped one by one.
set -m
LKM_SKIP_BUILD=1 scripts/dev-cluster --dir "$DIR" --base-port "$P" >"$WORK/dc.out" 2>&1 </dev/null &
dc=$!
set +m
for _ in $(seq 1 240); do
  grep -q "stops all three" "$WORK/dc.out" && break
  kill -0 "$dc" 2>/dev/null || { cat "$WORK/dc.out"; exit 1; }
  sleep 0.5
done
kill -INT "$dc"; wait "$dc" 2>/dev/null || true

configure() {  # $1 = read policy
  local i cfg
  for i in 1 2 3; do
    cfg="$DIR/node$i/lkm.toml"
    sed -i '/^read_policy = /d; /^\[limits\]/,$d' "$cfg"
    sed -i "s/^\[cluster\]\$/[cluster]\nread_policy = \"$1\"/" "$cfg"
    printf '\n[limits]\naudited_items_per_s = 0\n' >>"$cfg"
  done
}
start() {  # $1 = node
  "$LKM_BIN" serve --config "$DIR/node$1/lkm.toml" >>"$DIR/node$1/node.log" 2>&1 </dev/null &
  PID[$1]=$!
}
ready() {  # $1 = node; waits up to 120 s for /readyz 200
  local code
  for _ in $(seq 1 240); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$((P + 100 + $1 - 1))/readyz" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.5
  done
  echo "node $1 not ready" >&2
  return 1
}
stop() {  # $1 = node, $2 = signal
  kill "-${2:-TERM}" "${PID[$1]}" 2>/dev/null || true
  wait "${PID[$1]}" 2>/dev/null || true
  unset "PID[$1]"
}
status_of() {  # $1 = node: JSON status
  "$LKM_BIN" cluster status --config "$DIR/node$1/lkm.toml" --json
}
leader() {
  local i l
  for i in "${!PID[@]}"; do
    l=$(status_of "$i" 2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["leader"] if s["leader"] is not None and s["quorum"] else "")' || true)
    [ -n "$l" ] && { echo "$l"; return 0; }
  done
  return 1
}
bench() {  # $1 = node, $2 = name, rest = lkm bench options
  local node=$1 name=$2
  shift 2
  timeout $((DURATION + 120)) "$LKM_BIN" bench --port $((P + node - 1)) --ca "$CERTS/ca.crt" --cert "$CERTS/client.crt" \
    --key "$CERTS/client.key" -q --json "$OUT/$name.json" "$@" >/dev/null
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); l=r["latency_us"]; print("%-44s %9.0f ops/s  p50 %.2f ms  p99 %.2f ms  errors %d" % (sys.argv[2], r["ops_per_s"], l["p50"]/1000, l["p99"]/1000, r["errors"]))' "$OUT/$name.json" "$name" | tee -a "$OUT/results.txt"
}

run_series() {  # $1 = read policy
  configure "$1"
  local i
  for i in 1 2 3; do start "$i"; done
  for i in 1 2 3; do ready "$i"; done
  L=$(leader)
  F=$(( L % 3 + 1 ))
  result "== read policy $1: leader node $L, follower node $F"
  if [ "$1" = read-index ]; then
    bench "$L" "create-64-leader" --workload create -c 64 --duration "$DURATION" --warmup 2
    bench "$F" "create-64-follower" --workload create -c 64 --duration "$DURATION" --warmup 2
    bench "$F" "get-16-follower-read-index" --workload get -c 16 --duration "$DURATION" --warmup 2
    bench "$L" "get-16-leader-read-index" --workload get -c 16 --duration "$DURATION" --warmup 2
  else
    bench "$F" "get-16-follower-lease" --workload get -c 16 --duration "$DURATION" --warmup 2
    bench "$L" "get-16-leader-lease" --workload get -c 16 --duration "$DURATION" --warmup 2
  fi
  for i in 1 2 3; do stop "$i"; done
}

run_series read-index
run_series lease

# kill -9 of the leader to the next acknowledged write, sent to a survivor
# (one `lkm client create` after another, each a new connection).
configure read-index
for i in 1 2 3; do start "$i"; done
for i in 1 2 3; do ready "$i"; done
L=$(leader)
F=$(( L % 3 + 1 ))
timeout 120 "$LKM_BIN" bench --port $((P + F - 1)) --ca "$CERTS/ca.crt" --cert "$CERTS/client.crt" \
  --key "$CERTS/client.key" -q --workload create -c 64 --duration 8 >/dev/null 2>&1 &
load=$!
sleep 3
t0=$(date +%s.%N)
stop "$L" KILL
tries=0
until timeout 30 "$LKM_BIN" client --server "127.0.0.1:$((P + F - 1))" --certs "$CERTS" create >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 2000 ] || { echo "no write acknowledged after the leader was killed" >&2; exit 1; }
  sleep 0.01
done
t1=$(date +%s.%N)
wait "$load" 2>/dev/null || true
result "$(python3 -c 'import sys; print("kill -9 of the leader to the next acknowledged write: %.2f s (%s refused or failed tries)" % (float(sys.argv[2]) - float(sys.argv[1]), sys.argv[3]))' "$t0" "$t1" "$tries")"
start "$L"
ready "$L"

# A stopped node misses CATCHUP writes, then catches up.
L=$(leader)
F=$(( L % 3 + 1 ))
stop "$F"
timeout 1200 "$LKM_BIN" bench --port $((P + L - 1)) --ca "$CERTS/ca.crt" --cert "$CERTS/client.crt" \
  --key "$CERTS/client.key" -q --workload create -c 64 --requests "$CATCHUP" --json "$OUT/catchup-writes.json" >/dev/null
target=$(status_of "$L" | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit_index"])')
t0=$(date +%s.%N)
start "$F"
applied=0
for _ in $(seq 1 6000); do
  applied=$(curl -s --max-time 2 "http://127.0.0.1:$((P + 100 + F - 1))/metrics" | sed -n 's/^lkm_cluster_applied_index \([0-9]*\).*/\1/p' || true)
  [ -n "$applied" ] && [ "$applied" -ge "$target" ] && break
  sleep 0.1
done
t1=$(date +%s.%N)
ready "$F"
t2=$(date +%s.%N)
snap=$(curl -s "http://127.0.0.1:$((P + 100 + L - 1))/metrics" | sed -n 's/^lkm_cluster_snapshots_sent_total \([0-9]*\).*/\1/p')
result "$(python3 -c 'import sys; print("a node that missed %s writes: applied up to the leader'"'"'s commit index %s in %.1f s after its start, ready in %.1f s (snapshots sent by the leader: %s)" % (sys.argv[1], sys.argv[2], float(sys.argv[4]) - float(sys.argv[3]), float(sys.argv[5]) - float(sys.argv[3]), sys.argv[6]))' "$CATCHUP" "$target" "$t0" "$t1" "$t2" "${snap:-?}")"
echo "reports in $OUT"
