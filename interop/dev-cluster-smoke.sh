#!/usr/bin/env bash
# The README's `scripts/dev-cluster` end to end: three nodes on free
# loopback ports in a temporary folder, `lkm client` and `lkm cluster
# status` against each, PyKMIP's client on all three (same bytes
# everywhere, a Destroy seen by all), one node stopped by its pid and
# started again with its own `lkm serve --config`, and Ctrl-C (SIGINT)
# stopping the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
lkm_pykmip_venv
cargo build --release --bin lkm -q

WORK=$(mktemp -d)
SCRIPT_PID=""
RESTARTED_PID=""
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
cleanup() {
  [ -n "$RESTARTED_PID" ] && kill -TERM "$RESTARTED_PID" 2>/dev/null || true
  [ -n "$SCRIPT_PID" ] && kill -INT "$SCRIPT_PID" 2>/dev/null || true
  [ -n "$SCRIPT_PID" ] && wait "$SCRIPT_PID" 2>/dev/null || true
  [ -n "$RESTARTED_PID" ] && wait "$RESTARTED_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

P=$(lkm_free_base_port)
[ -n "$P" ] || { echo "no free base port found"; exit 1; }
DIR="$WORK/cluster"
CERTS="$DIR/certs"

# Job control on for this one start: a background job of a script
# otherwise ignores SIGINT, and Ctrl-C is what is tested at the end.
set -m
LKM_SKIP_BUILD=1 scripts/dev-cluster --dir "$DIR" --base-port "$P" >"$WORK/out" 2>"$WORK/err" </dev/null &
SCRIPT_PID=$!
set +m
for _ in $(seq 1 240); do
  grep -q "stops all three" "$WORK/out" 2>/dev/null && break
  kill -0 "$SCRIPT_PID" 2>/dev/null || break
  sleep 0.5
done
if ! grep -q "stops all three" "$WORK/out"; then
  echo "scripts/dev-cluster did not come up:"; cat "$WORK/out" "$WORK/err"
  exit 1
fi
cat "$WORK/out"

for i in 1 2 3; do
  port=$((P + i - 1))
  if "$LKM_BIN" client --server "127.0.0.1:$port" --certs "$CERTS" query >"$WORK/q$i" 2>&1; then
    ok "lkm client query on node $i (127.0.0.1:$port)"
  else
    fail "lkm client query on node $i: $(cat "$WORK/q$i")"
  fi
  if "$LKM_BIN" cluster status --config "$DIR/node$i/lkm.toml" >"$WORK/s$i" 2>&1 &&
    grep -q "quorum: yes" "$WORK/s$i" &&
    [ "$(grep -cE '^ +[0-9]+ +node[0-9] .* (leader|voter) ' "$WORK/s$i")" = 3 ]; then
    ok "lkm cluster status on node $i: quorum, 3 voters"
  else
    fail "lkm cluster status on node $i: $(cat "$WORK/s$i")"
  fi
done

C="$CERTS"
if "$VENV/bin/python" interop/pykmip_cluster.py "$C/client.crt" "$C/client.key" "$C/ca.crt" \
  "$P" "$((P + 1))" "$((P + 2))"; then
  ok "PyKMIP's client on the three nodes"
else
  fail "PyKMIP's client on the three nodes"
fi

# Node 2 stopped by its pid and started again by its own command.
pid2=$(sed -n 's/^node 2 .* pid \([0-9]*\)$/\1/p' "$WORK/out")
if [ -n "$pid2" ] && kill -TERM "$pid2"; then
  for _ in $(seq 1 100); do kill -0 "$pid2" 2>/dev/null || break; sleep 0.2; done
  "$LKM_BIN" client --server "127.0.0.1:$P" --certs "$CERTS" query >/dev/null 2>&1 &&
    ok "node 1 answers with node 2 stopped" || fail "node 1 does not answer with node 2 stopped"
  "$LKM_BIN" serve --config "$DIR/node2/lkm.toml" >>"$DIR/node2/node.log" 2>&1 </dev/null &
  RESTARTED_PID=$!
  code=000
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$((P + 101))/readyz" || true)
    [ "$code" = 200 ] && break
    sleep 0.5
  done
  [ "$code" = 200 ] && ok "node 2 restarted with lkm serve --config is ready" ||
    fail "node 2 restarted: /readyz $code"
else
  fail "no pid for node 2 in the script's output"
fi

# Ctrl-C stops the nodes the script started.
kill -INT "$SCRIPT_PID"
stopped=0
for _ in $(seq 1 150); do
  kill -0 "$SCRIPT_PID" 2>/dev/null || { stopped=1; break; }
  sleep 0.2
done
wait "$SCRIPT_PID" 2>/dev/null || true
SCRIPT_PID=""
pids=$(sed -n 's/^node [13] .* pid \([0-9]*\)$/\1/p' "$WORK/out")
left=""
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
[ "$stopped" = 1 ] && [ -z "$left" ] && ok "Ctrl-C stopped scripts/dev-cluster and its nodes" ||
  fail "after Ctrl-C: script stopped=$stopped, nodes still running:$left"

echo "dev-cluster-smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
