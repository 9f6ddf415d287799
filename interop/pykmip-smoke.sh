#!/usr/bin/env bash
# PyKMIP's own clients against a fresh `lkm serve --dev` on a free loopback
# port: DiscoverVersions and Query in KMIP 1.2, 1.4 and 2.0, then a
# self-encrypting-drive array's flow and a hypervisor's flow.
# The venv (PyKMIP 0.11.0 from PyPI) is kept in $LKM_INTEROP_CACHE
# (default ~/.cache/lkm-interop) so later runs need no network.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
lkm_pykmip_venv
cargo build --release --bin lkm -q

WORK=$(mktemp -d)
cleanup() { lkm_stop_dev; rm -rf "$WORK"; }
trap cleanup EXIT
lkm_start_dev "$WORK"
C="$LKM_CERTS"
"$VENV/bin/python" interop/pykmip_smoke.py 127.0.0.1 "$LKM_PORT" "$C/client.crt" "$C/client.key" "$C/ca.crt"
"$VENV/bin/python" interop/pykmip_flows.py 127.0.0.1 "$LKM_PORT" "$C/client.crt" "$C/client.key" "$C/ca.crt"
