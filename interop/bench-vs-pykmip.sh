#!/usr/bin/env bash
# lkm against PyKMIP's own server, side by side: the same `lkm bench`
# client, the same workloads, the same connection count, one server at a
# time on this machine. Each workload gets fresh servers (empty stores),
# so the order of workloads does not matter. Prints a table and keeps
# every JSON report.
#
# Usage: interop/bench-vs-pykmip.sh [WORKLOAD...]   (default: all seven)
# Environment:
#   BENCH_DURATION=10      measured seconds per workload and server
#   BENCH_WARMUP=1         seconds of load before measuring
#   BENCH_CONNECTIONS=16   connections (handshake: parallel handshakers)
#   BENCH_KEYS=100         keys made before get, locate, encrypt, mix
#   BENCH_KMIP_VERSION=1.2 (PyKMIP's server speaks 1.0 to 1.4)
#   BENCH_OUT=DIR          where the JSON reports and table.md go (default: a temp dir)
#   LKM_INTEROP_DIR        PyKMIP scripts (default: ../shared/interop from the repo root)
#   PYKMIP_VENV            PyKMIP's venv (default: ~/.cache/lkm-interop/venv)
#   LKM_CARGO_LOCK=FILE    run cargo under `flock FILE` (machines that share a build folder)
# Workloads PyKMIP's server cannot do show as n/a with the reason; the
# script fails only if lkm itself fails a workload.
# After each server's closed-loop get, the same server gets an open-loop
# get at half the rate it just reached (latency from each request's due
# time), for the "p99 at half the peak rate" line.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

INTEROP="${LKM_INTEROP_DIR:-$(cd .. && pwd)/shared/interop}"
export PYKMIP_VENV="${PYKMIP_VENV:-$HOME/.cache/lkm-interop/venv}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-1}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
KEYS="${BENCH_KEYS:-100}"
VERSION="${BENCH_KMIP_VERSION:-1.2}"
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(get create create-get-destroy locate encrypt handshake mix)

[ -f "$INTEROP/pykmip-server.sh" ] || {
  echo "[bench] $INTEROP/pykmip-server.sh not found: set LKM_INTEROP_DIR" >&2
  exit 3
}
lkm_require_cargo
if [ -n "${LKM_CARGO_LOCK:-}" ]; then
  flock "$LKM_CARGO_LOCK" cargo build --release --bin lkm -q
else
  cargo build --release --bin lkm -q
fi

WORK=$(mktemp -d)
OUT="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
PYKMIP_DIR="$WORK/pykmip"
cleanup() {
  lkm_stop_dev
  LKM_PID=""
  bash "$INTEROP/pykmip-server.sh" stop "$PYKMIP_DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One client certificate drives every connection here, far past the
# per-client rate of audited requests a server allows by default
# (limits.audited_items_per_s): lift it for the measurement.
LKM_DEV_CONFIG="$WORK/lkm-bench.toml"
printf '[limits]\naudited_items_per_s = 0\n' >"$LKM_DEV_CONFIG"
export LKM_DEV_CONFIG

# bench NAME WORKLOAD PORT CA CERT KEY: one run, JSON in $OUT/NAME-WORKLOAD.json,
# its stderr (progress, errors) in $OUT/NAME-WORKLOAD.log.
bench() {
  local name=$1 w=$2 port=$3 ca=$4 cert=$5 key=$6
  "$LKM_BIN" bench --port "$port" --ca "$ca" --cert "$cert" --key "$key" \
    --workload "$w" --connections "$CONNECTIONS" --duration "$DURATION" \
    --warmup "$WARMUP" --keys "$KEYS" --kmip-version "$VERSION" \
    --json "$OUT/$name-$w.json" >"$OUT/$name-$w.txt" 2>"$OUT/$name-$w.log"
}

# half NAME PORT CA CERT KEY: open-loop get at half of NAME's closed-loop
# get rate, into $OUT/NAME-get-half.json.
half() {
  local name=$1 port=$2 ca=$3 cert=$4 key=$5 rate
  rate=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["ops_per_s"] / 2))' "$OUT/$name-get.json") || return 1
  [ "$rate" -gt 0 ] || return 1
  "$LKM_BIN" bench --port "$port" --ca "$ca" --cert "$cert" --key "$key" \
    --workload get --connections "$CONNECTIONS" --duration "$DURATION" \
    --warmup "$WARMUP" --keys "$KEYS" --kmip-version "$VERSION" --rate "$rate" \
    --json "$OUT/$name-get-half.json" >"$OUT/$name-get-half.txt" 2>"$OUT/$name-get-half.log"
}

status=0
for w in "${workloads[@]}"; do
  echo "== $w: lkm" >&2
  rm -rf "$WORK/lkm"
  mkdir -p "$WORK/lkm"
  lkm_start_dev "$WORK/lkm"
  if bench lkm "$w" "$LKM_PORT" "$LKM_CERTS/ca.crt" "$LKM_CERTS/client.crt" "$LKM_CERTS/client.key"; then
    sed -n 2p "$OUT/lkm-$w.txt" >&2
    if [ "$w" = get ]; then
      echo "== get at half that rate: lkm" >&2
      half lkm "$LKM_PORT" "$LKM_CERTS/ca.crt" "$LKM_CERTS/client.crt" "$LKM_CERTS/client.key" || {
        echo "[bench] lkm failed the open-loop get: $(tail -n 1 "$OUT/lkm-get-half.log" 2>/dev/null)" >&2
        status=1
      }
    fi
  else
    echo "[bench] lkm failed $w: $(tail -n 1 "$OUT/lkm-$w.log")" >&2
    status=1
  fi
  lkm_stop_dev
  LKM_PID=""

  echo "== $w: PyKMIP" >&2
  # ECDSA certificates: PyKMIP then negotiates ECDHE-ECDSA-AES-GCM, which
  # rustls speaks (with RSA it offers only CBC suites).
  port=$(lkm_free_port)
  PKI_ALG=ec bash "$INTEROP/pykmip-server.sh" start "$PYKMIP_DIR" "$port" >/dev/null
  P="$PYKMIP_DIR/pki"
  if bench pykmip "$w" "$port" "$P/ca.crt" "$P/client.crt" "$P/client.key"; then
    sed -n 2p "$OUT/pykmip-$w.txt" >&2
    if [ "$w" = get ]; then
      echo "== get at half that rate: PyKMIP" >&2
      half pykmip "$port" "$P/ca.crt" "$P/client.crt" "$P/client.key" ||
        echo "[bench] PyKMIP open-loop get: $(tail -n 1 "$OUT/pykmip-get-half.log" 2>/dev/null)" >&2
    fi
  else
    echo "[bench] PyKMIP: $(tail -n 1 "$OUT/pykmip-$w.log")" >&2
  fi
  bash "$INTEROP/pykmip-server.sh" stop "$PYKMIP_DIR" >/dev/null
done

# The table: throughput and p99 of both, the ratio; n/a (with why) where a
# server did not run the workload or answered nothing but errors.
python3 - "$OUT" "$DURATION" "$CONNECTIONS" "$VERSION" "${workloads[@]}" <<'EOF' | tee "$OUT/table.md"
import json, os, sys
out, duration, conns, version, workloads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

def load(name, w):
    path = os.path.join(out, f"{name}-{w}.json")
    if not os.path.exists(path):
        log = os.path.join(out, f"{name}-{w}.log")
        why = open(log).read().strip().splitlines()[-1:] if os.path.exists(log) else []
        return None, (why[0] if why else "did not run")
    r = json.load(open(path))
    if r["ok"] == 0:
        reasons = ", ".join(f"{k} x{v['count']}" for k, v in r["errors_by_reason"].items())
        return None, reasons or "no answer"
    return r, None

rows, notes = [], []
for w in workloads:
    cells = [w]
    a, a_why = load("lkm", w)
    b, b_why = load("pykmip", w)
    cells.append(f"{a['ops_per_s']:.0f}" if a else "n/a")
    cells.append(f"{b['ops_per_s']:.1f}" if b else "n/a")
    cells.append(f"{a['ops_per_s'] / b['ops_per_s']:.0f}x" if a and b and b["ops_per_s"] > 0 else "n/a")
    cells.append(f"{a['latency_us']['p99'] / 1000:.2f} ms" if a else "n/a")
    cells.append(f"{b['latency_us']['p99'] / 1000:.1f} ms" if b else "n/a")
    cells.append(str(a["errors"] if a else "-") + " / " + str(b["errors"] if b else "-"))
    rows.append(cells)
    for name, why in (("lkm", a_why), ("PyKMIP", b_why)):
        if why:
            notes.append(f"* {w}, {name}: n/a: {why}")

print(f"lkm bench, {conns} connections, closed loop, {duration} s per run, KMIP {version}, fresh servers per workload\n")
head = ["workload", "lkm ops/s", "PyKMIP ops/s", "ratio", "lkm p99", "PyKMIP p99", "errors lkm / PyKMIP"]
print("| " + " | ".join(head) + " |")
print("|" + "|".join(" --- " for _ in head) + "|")
for r in rows:
    print("| " + " | ".join(r) + " |")
if notes:
    print()
    print("\n".join(notes))

half = [(name, load(name, "get-half")) for name in ("lkm", "pykmip")]
if any(r for _, (r, _) in half):
    print("\nget at half of each server's closed-loop get rate (open loop, latency from each request's due time)\n")
    head = ["server", "rate", "ops/s", "p50", "p90", "p99", "p99.9", "errors"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(" --- " for _ in head) + "|")
    for name, (r, why) in half:
        if not r:
            print(f"| {name} | n/a: {why} | | | | | | |")
            continue
        l = r["latency_us"]
        print(f"| {name} | {r['rate']:.0f}/s | {r['ops_per_s']:.0f} | " + " | ".join(f"{l[k] / 1000:.2f} ms" for k in ("p50", "p90", "p99", "p999")) + f" | {r['errors']} |")
EOF
echo "[bench] reports in $OUT" >&2
exit "$status"
