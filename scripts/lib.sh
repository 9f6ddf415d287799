# Shared by the scripts: where builds go, and the system packages lkm needs.
# Sourced, not run.

# One build folder outside the checkout, shared by the README's commands,
# CI, the interop scripts and the benchmarks: heavy C dependencies are
# compiled once per machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lkm-target}"
LKM_BIN="$CARGO_TARGET_DIR/release/lkm"

# Debian packages: clang and libclang-dev to build RocksDB (bindgen),
# python3-venv for the PyKMIP interop checks. Installed
# when missing (as root, or through sudo); otherwise the script says what
# to run.
lkm_ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "[lkm] installing Debian packages: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"; } >&2; then
    echo "[lkm] could not install them; run: sudo apt-get install ${missing[*]}" >&2
    return 1
  fi
}

lkm_require_cargo() {
  command -v cargo >/dev/null || {
    echo "[lkm] cargo not found: install Rust (https://rustup.rs), then run this again" >&2
    exit 1
  }
}

lkm_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Builds the release lkm binary, unless LKM_SKIP_BUILD=1 (then the one
# already in $CARGO_TARGET_DIR is used).
lkm_build() {
  if [ "${LKM_SKIP_BUILD:-}" = 1 ]; then
    [ -x "$LKM_BIN" ] || { echo "[lkm] LKM_SKIP_BUILD=1 but $LKM_BIN is missing" >&2; return 1; }
    return 0
  fi
  lkm_require_cargo
  cargo build --release --bin lkm -q
}

# Starts `lkm serve --dev` with its data in $1 on free loopback ports and
# waits until it listens. Sets LKM_PORT, LKM_METRICS_PORT, LKM_PID and
# LKM_CERTS.
lkm_start_dev() {
  local work=$1
  LKM_PORT=$(lkm_free_port)
  LKM_METRICS_PORT=$(lkm_free_port)
  # LKM_DEV_CONFIG: an optional config file for the server (the bench
  # script lifts the per-client rate limit with it).
  local config=()
  [ -n "${LKM_DEV_CONFIG:-}" ] && config=(--config "$LKM_DEV_CONFIG")
  "$LKM_BIN" serve --dev "${config[@]}" --data "$work/data" --listen "127.0.0.1:$LKM_PORT" \
    --metrics-listen "127.0.0.1:$LKM_METRICS_PORT" >"$work/server.out" 2>"$work/server.log" &
  LKM_PID=$!
  LKM_CERTS="$work/data/certs"
  for _ in $(seq 1 100); do
    grep -q "listening on" "$work/server.out" 2>/dev/null && return 0
    kill -0 "$LKM_PID" 2>/dev/null || { cat "$work/server.log" >&2; return 1; }
    sleep 0.1
  done
  echo "[lkm] the dev server did not start" >&2
  return 1
}

lkm_stop_dev() {
  if [ -n "${LKM_PID:-}" ]; then
    kill -TERM "$LKM_PID" 2>/dev/null || true
    wait "$LKM_PID" 2>/dev/null || true
  fi
}

# PyKMIP 0.11.0 from PyPI in a venv kept in $LKM_INTEROP_CACHE (default
# ~/.cache/lkm-interop), so later runs need no network. Sets VENV.
lkm_pykmip_venv() {
  local cache="${LKM_INTEROP_CACHE:-$HOME/.cache/lkm-interop}"
  VENV="$cache/venv"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import kmip" 2>/dev/null; then
    mkdir -p "$cache"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "pykmip==0.11.0"
  fi
}

# A base port P for scripts/dev-cluster --base-port with P..P+2,
# P+100..P+102 and P+200..P+202 all free on 127.0.0.1 (empty if none found).
lkm_free_base_port() {
  python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    p = random.randrange(20000, 60000)
    if all(free(p + d) for d in (0, 1, 2, 100, 101, 102, 200, 201, 202)):
        print(p)
        break
PY
}
