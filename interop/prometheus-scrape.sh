#!/usr/bin/env bash
# A real Prometheus (Debian's `prometheus` package) scrapes a fresh
# `lkm serve --dev` after a known sequence of `lkm client` calls, and its
# query API must give back exactly the counts those calls make. Also checks
# deploy/prometheus.yml and deploy/alerts.yml with promtool (and runs the
# alert rules' unit tests, deploy/alerts-test.yml), loads the alert rules
# into the Prometheus under test, and checks that every query of
# deploy/grafana-dashboard.json is valid PromQL.
# Everything runs on free loopback ports with its data in a temporary
# folder; no network once the package is installed.
# LKM_SKIP_BUILD=1 uses the lkm binary already built in $CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
START=$(date +%s)
lkm_ensure_packages prometheus
lkm_build

WORK=$(mktemp -d)
PROM_PID=""
# shellcheck disable=SC2317  # run by the trap
cleanup() {
  if [ -n "$PROM_PID" ]; then
    kill -TERM "$PROM_PID" 2>/dev/null || true
    wait "$PROM_PID" 2>/dev/null || true
  fi
  lkm_stop_dev
  rm -rf "$WORK"
}
trap cleanup EXIT
lkm_start_dev "$WORK"
METRICS="http://127.0.0.1:$LKM_METRICS_PORT"

# The KMIP traffic. Each `lkm client` call sends one request with one batch
# item, so the expected counts are one per call:
#   create x3                      -> Create   Success                          3
#   get id1, get id2               -> Get      Success                          2
#   get (an id that does not exist) -> Get     OperationFailed ObjectNotFound   1
#   activate id1                   -> Activate Success                          1
#   locate --name lkm-prom-2       -> Locate   Success                          1
#   destroy id3 (Pre-Active)       -> Destroy  Success                          1
#   destroy id1 (Active)           -> Destroy  OperationFailed WrongKeyLifecycleState 1
# 10 requests in all, 2 of them failed.
cli() { "$LKM_BIN" client --server "127.0.0.1:$LKM_PORT" --certs "$LKM_CERTS" "$@"; }
CLI_RESULTS="$WORK/cli-results"
: >"$CLI_RESULTS"
note() { echo "$1 $2" >>"$CLI_RESULTS"; }   # ok|FAIL, what
for _ in $(seq 1 50); do
  curl -sf "$METRICS/healthz" >/dev/null && break
  sleep 0.1
done
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$METRICS/readyz")" = 200 ]; then
  note ok "/readyz answers 200 once unsealed"
else
  note FAIL "/readyz answers 200 once unsealed"
fi
ID1=$(cli create --name lkm-prom-1) || true
ID2=$(cli create --name lkm-prom-2) || true
ID3=$(cli create --name lkm-prom-3) || true
if [ -n "$ID1" ] && [ -n "$ID2" ] && [ -n "$ID3" ] && [ "$ID1" != "$ID2" ] && [ "$ID2" != "$ID3" ]; then
  note ok "lkm client create x3 gives 3 identifiers"
else
  note FAIL "lkm client create x3 gives 3 identifiers"
fi
if cli get "$ID1" >/dev/null && cli get "$ID2" >/dev/null; then
  note ok "lkm client get of 2 keys"
else
  note FAIL "lkm client get of 2 keys"
fi
if cli get 00000000-0000-0000-0000-000000000000 >/dev/null 2>"$WORK/get-missing.err"; then
  note FAIL "lkm client get of a missing id fails"
else
  note ok "lkm client get of a missing id fails"
fi
if cli activate "$ID1" >/dev/null; then note ok "lkm client activate"; else note FAIL "lkm client activate"; fi
if [ "$(cli locate --name lkm-prom-2)" = "$ID2" ]; then
  note ok "lkm client locate --name finds the one key"
else
  note FAIL "lkm client locate --name finds the one key"
fi
if cli destroy "$ID3" >/dev/null; then note ok "lkm client destroy of a Pre-Active key"; else note FAIL "lkm client destroy of a Pre-Active key"; fi
if cli destroy "$ID1" >/dev/null 2>"$WORK/destroy-active.err"; then
  note FAIL "lkm client destroy of an Active key fails"
else
  note ok "lkm client destroy of an Active key fails"
fi

# Prometheus, scraping the metrics listener every second.
PROM_PORT=$(lkm_free_port)
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/deploy/alerts.yml
scrape_configs:
  - job_name: lkm
    static_configs:
      - targets: ["127.0.0.1:$LKM_METRICS_PORT"]
EOF
/usr/bin/prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" \
  >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!

status=0
python3 - "http://127.0.0.1:$PROM_PORT" "$CLI_RESULTS" deploy/grafana-dashboard.json \
  deploy/prometheus.yml "$START" "$PROM_PID" <<'PY' || status=$?
import json, os, subprocess, sys, time, urllib.error, urllib.parse, urllib.request
sys.path.insert(0, "interop")
from checks import Checks

prom, cli_results, dashboard, prom_config, start, prom_pid = sys.argv[1:7]
check = Checks("prometheus-scrape")

for line in open(cli_results):
    verdict, what = line.rstrip("\n").split(" ", 1)
    check(what, verdict == "ok")

r = subprocess.run(["promtool", "check", "config", prom_config], capture_output=True, text=True)
check(f"promtool check config {prom_config}", r.returncode == 0, r.stdout + r.stderr)
r = subprocess.run(["promtool", "check", "rules", "deploy/alerts.yml"], capture_output=True, text=True)
check("promtool check rules deploy/alerts.yml", r.returncode == 0, r.stdout + r.stderr)
r = subprocess.run(["promtool", "test", "rules", "deploy/alerts-test.yml"], capture_output=True, text=True)
check("promtool test rules deploy/alerts-test.yml", r.returncode == 0, r.stdout + r.stderr)


def query(expr):
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        return json.load(e)


def vector(expr):
    """{frozenset(labels): value} of an instant query."""
    answer = query(expr)
    if answer.get("status") != "success":
        raise RuntimeError(f"{expr}: {answer.get('error')}")
    return {frozenset(s["metric"].items()): float(s["value"][1]) for s in answer["data"]["result"]}


def scalar(expr):
    """The value of a one-sample query, or None when it has no sample."""
    v = vector(expr)
    if len(v) > 1:
        raise RuntimeError(f"{expr}: {len(v)} samples")
    return next(iter(v.values()), None)


# Wait until Prometheus is up and has scraped lkm at least once.
up = None
deadline = time.time() + 30
while time.time() < deadline:
    try:
        os.kill(int(prom_pid), 0)
    except OSError:
        break
    try:
        up = scalar('up{job="lkm"}')
        if up == 1:
            break
    except (OSError, RuntimeError, ValueError):
        pass
    time.sleep(0.2)
check("Prometheus scrapes lkm (up == 1)", up == 1, f"up={up}")
if up != 1:
    check.finish()


def expect(what, expr, want):
    try:
        got = scalar(expr)
    except RuntimeError as e:
        check(what, False, str(e))
        return
    check(f"{what}: {expr} == {want}", got == want, f"got {got}")


REQ = "lkm_kmip_requests_total"
expect("Create succeeded 3 times", f'{REQ}{{operation="Create",status="Success",reason=""}}', 3)
expect("Get succeeded 2 times", f'{REQ}{{operation="Get",status="Success",reason=""}}', 2)
expect("Get of a missing id failed once",
       f'{REQ}{{operation="Get",status="OperationFailed",reason="ObjectNotFound"}}', 1)
expect("Activate succeeded once", f'{REQ}{{operation="Activate",status="Success",reason=""}}', 1)
expect("Locate succeeded once", f'{REQ}{{operation="Locate",status="Success",reason=""}}', 1)
expect("Destroy succeeded once", f'{REQ}{{operation="Destroy",status="Success",reason=""}}', 1)
expect("Destroy of an Active key failed once",
       f'{REQ}{{operation="Destroy",status="OperationFailed",reason="WrongKeyLifecycleState"}}', 1)
expect("no other request", f"sum({REQ})", 10)
expect("no other series", f"count({REQ})", 7)
expect("failures", f'sum({REQ}{{status!="Success"}})', 2)

want = {"Create": 3, "Get": 3, "Activate": 1, "Locate": 1, "Destroy": 2}
try:
    got = {dict(k)["operation"]: v for k, v in
           vector("sum by (operation) (lkm_kmip_request_duration_seconds_count)").items()}
    check("latency histogram counts one observation per request", got == want, f"got {got}")
    inf = {dict(k)["operation"]: v for k, v in
           vector('sum by (operation) (lkm_kmip_request_duration_seconds_bucket{le="+Inf"})').items()}
    check("latency histogram +Inf buckets match its counts", inf == want, f"got {inf}")
except RuntimeError as e:
    check("latency histogram", False, str(e))

expect("the store is unsealed", "lkm_sealed", 0)
expect("all client connections closed", "lkm_connections_open", 0)
try:
    needed = scalar("lkm_unseal_shares_needed")
    check("lkm_unseal_shares_needed is scraped (>= 1)", needed is not None and needed >= 1, f"got {needed}")
except RuntimeError as e:
    check("lkm_unseal_shares_needed", False, str(e))

# The rest of what lkm exports. The 10 client calls are 10 TLS connections
# with valid certificates; the audit log holds Init, the dev share's Unseal
# and one entry per call; id1 is Active, id2 Pre-Active, id3 Destroyed.
now = time.time()
rest = [
    ("sum(lkm_kmip_received_bytes_total)", lambda v: v > 0, "> 0"),
    ("sum(lkm_kmip_sent_bytes_total)", lambda v: v > 0, "> 0"),
    ("sum(lkm_kmip_messages_total)", lambda v: v == 10, "== 10"),
    ("sum(lkm_tls_handshakes_total)", lambda v: v == 10, "== 10"),
    ("sum(lkm_tls_handshake_failures_total) or vector(0)", lambda v: v == 0, "== 0"),
    ('sum(lkm_objects{type="SymmetricKey",state="Active"})', lambda v: v == 1, "== 1"),
    ('sum(lkm_objects{type="SymmetricKey",state="PreActive"})', lambda v: v == 1, "== 1"),
    ('sum(lkm_objects{type="SymmetricKey",state="Destroyed"})', lambda v: v == 1, "== 1"),
    ("sum(lkm_store_size_bytes)", lambda v: v >= 0, ">= 0"),
    ("sum(lkm_store_write_duration_seconds_count)", lambda v: v >= 4, ">= 4"),
    # 12 entries of requests, and at most one anchor a second vouching for them.
    ("sum(lkm_audit_entries_total)", lambda v: 12 <= v <= 12 + int(now - int(start)) + 1,
     "12 + anchors"),
    ("min(lkm_audit_oldest_entry_timestamp_seconds)",
     lambda v: int(start) - 5 <= v <= now + 5, "within this run"),
    ("max(lkm_audit_oldest_entry_age_seconds)",
     lambda v: 0 <= v <= now - int(start) + 5, "within this run"),
    ("sum(lkm_audit_pruned_by_size_total)", lambda v: v == 0, "== 0"),
    ("min(lkm_audit_retention_max_age_seconds)", lambda v: v == 365 * 86400, "== 365 days"),
]
for expr, ok, text in rest:
    try:
        got = scalar(expr)
        check(f"{expr} {text}", got is not None and ok(got), f"got {got}")
    except RuntimeError as e:
        check(f"{expr} {text}", False, str(e))

# The alert rules are loaded, healthy, and none fires on this quiet node.
try:
    deadline = time.time() + 10
    while True:
        with urllib.request.urlopen(f"{prom}/api/v1/rules?type=alert", timeout=5) as resp:
            groups = json.load(resp)["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        # Health is "unknown" until the rules' first evaluation.
        if time.time() > deadline or (rules and all(r.get("health") != "unknown" for r in rules)):
            break
        time.sleep(0.2)
    check("deploy/alerts.yml loads: 3 alert rules", len(rules) == 3, f"{len(rules)}")
    check("every alert rule evaluates", all(r.get("health") == "ok" for r in rules),
          str([(r["name"], r.get("health"), r.get("lastError")) for r in rules]))
    check("no audit alert fires", all(r.get("state") == "inactive" for r in rules),
          str([(r["name"], r.get("state")) for r in rules]))
except (OSError, KeyError, ValueError) as e:
    check("deploy/alerts.yml loads", False, str(e))

# Every dashboard query parses and runs, with "All" for the node variable.
with open(dashboard) as f:
    dash = json.load(f)
exprs = []
def walk(panels):
    for p in panels:
        exprs.extend(t["expr"] for t in p.get("targets", []) if "expr" in t)
        walk(p.get("panels", []))
walk(dash["panels"])
check(f"{dashboard} has queries", len(exprs) >= 10, f"{len(exprs)}")
for expr in exprs:
    e = expr.replace("${instance}", ".*").replace("$instance", ".*")
    answer = query(e)
    check(f"dashboard query runs: {expr}", answer.get("status") == "success", answer.get("error", ""))

print(f"took {time.time() - int(start):.0f}s")
check.finish()
PY
if [ "$status" -ne 0 ]; then
  echo "--- prometheus log (tail)" >&2
  tail -20 "$WORK/prometheus.log" >&2 || true
  echo "--- lkm log (tail)" >&2
  tail -20 "$WORK/server.log" >&2 || true
fi
exit "$status"
