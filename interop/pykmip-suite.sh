#!/usr/bin/env bash
# PyKMIP's whole integration suite (../shared/interop/run-pykmip-suite.sh)
# against a fresh `lkm serve --dev` on free loopback ports, for each KMIP
# version given (default: 1.2 1.4). Exits with the suite's status: 0 only
# if every selected test passed in every version.
# Extra pytest arguments go after --, e.g. -- -k encrypt -x
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
HARNESS="${LKM_INTEROP_HARNESS:-$(cd .. && pwd)/shared/interop/run-pykmip-suite.sh}"
CACHE="${LKM_INTEROP_CACHE:-$HOME/.cache/lkm-interop}"
versions=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do versions+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#versions[@]} -gt 0 ] || versions=(1.2 1.4)
cargo build --release --bin lkm -q

status=0
for v in "${versions[@]}"; do
  WORK=$(mktemp -d)
  lkm_start_dev "$WORK"
  C="$LKM_CERTS"
  echo "== PyKMIP suite, KMIP $v"
  PYKMIP_KMIP_VERSION="$v" PYKMIP_VENV="$CACHE/venv" PYKMIP_WORKDIR="$CACHE/suite" \
    bash "$HARNESS" 127.0.0.1 "$LKM_PORT" "$C/client.crt" "$C/client.key" "$C/ca.crt" -- "$@" || status=$?
  lkm_stop_dev
  rm -rf "$WORK"
done
exit "$status"
