#!/usr/bin/env bash
# PyKMIP's own clients against a fresh `lkm serve --dev` on a free loopback
# port: DiscoverVersions and Query in KMIP 1.2, 1.4 and 2.0, then a
# self-encrypting-drive array's flow and a hypervisor's flow.
# The venv (PyKMIP 0.11.0 from PyPI) is kept in $LKM_INTEROP_CACHE
# (default ~/.cache/lkm-interop) so later runs need no network.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
CACHE="${LKM_INTEROP_CACHE:-$HOME/.cache/lkm-interop}"
VENV="$CACHE/venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import kmip" 2>/dev/null; then
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "pykmip==0.11.0"
fi
cargo build --release --bin lkm -q

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
"$LKM_BIN" serve --dev --data "$WORK/data" --listen "127.0.0.1:$PORT" \
  --metrics-listen "127.0.0.1:$(free_port)" >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$WORK/server.out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
C="$WORK/data/certs"
"$VENV/bin/python" interop/pykmip_smoke.py 127.0.0.1 "$PORT" "$C/client.crt" "$C/client.key" "$C/ca.crt"
"$VENV/bin/python" interop/pykmip_flows.py 127.0.0.1 "$PORT" "$C/client.crt" "$C/client.key" "$C/ca.crt"
