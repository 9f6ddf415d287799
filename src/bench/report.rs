//! Counting and printing: each connection records into its own
//! histograms (no locks on the hot path); they are merged at the end into
//! a [`Report`], printed as text or JSON.

use super::workload::OpKind;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Highest latency recorded, in microseconds (larger ones are clamped).
const MAX_LATENCY_US: u64 = 3_600_000_000;

fn histogram() -> Histogram<u64> {
    // 3 significant digits from 1 us to an hour: a few tens of KiB.
    match Histogram::new_with_bounds(1, MAX_LATENCY_US, 3) {
        Ok(h) => h,
        Err(_) => unreachable!("the bounds are constants and valid"),
    }
}

/// One connection's figures.
pub(crate) struct Recorder {
    all: Histogram<u64>,
    by_op: BTreeMap<OpKind, Histogram<u64>>,
    errors: BTreeMap<String, ErrorCount>,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Self {
            all: histogram(),
            by_op: BTreeMap::new(),
            errors: BTreeMap::new(),
        }
    }

    pub(crate) fn ok(&mut self, kind: OpKind, latency: Duration) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.all.saturating_record(us);
        self.by_op
            .entry(kind)
            .or_insert_with(histogram)
            .saturating_record(us);
    }

    /// Counts a failure under `reason` (a KMIP Result Reason, or what went
    /// wrong on the connection), keeping the first message as an example.
    pub(crate) fn error(&mut self, kind: OpKind, reason: &str, message: &str) {
        let e = self
            .errors
            .entry(format!("{}: {reason}", kind.name()))
            .or_insert_with(|| ErrorCount {
                count: 0,
                example: message.chars().take(200).collect(),
            });
        e.count += 1;
    }

    pub(crate) fn merge(&mut self, other: Recorder) {
        // Same bounds everywhere, so adding cannot fail.
        let _ = self.all.add(&other.all);
        for (k, h) in other.by_op {
            let _ = self.by_op.entry(k).or_insert_with(histogram).add(&h);
        }
        for (k, e) in other.errors {
            self.errors
                .entry(k)
                .and_modify(|c| c.count += e.count)
                .or_insert(e);
        }
    }

    pub(crate) fn report(self, head: Head, elapsed: Duration) -> Report {
        let ok = self.all.len();
        let errors = self.errors.values().map(|e| e.count).sum();
        let secs = elapsed.as_secs_f64();
        Report {
            workload: head.workload,
            target: head.target,
            kmip_version: head.kmip_version,
            connections: head.connections,
            mode: if head.rate.is_some() {
                "open-loop"
            } else {
                "closed-loop"
            }
            .into(),
            rate: head.rate,
            elapsed_s: secs,
            ok,
            errors,
            ops_per_s: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            latency_us: Latency::of(&self.all),
            operations: self
                .by_op
                .iter()
                .map(|(k, h)| {
                    (
                        k.name().to_owned(),
                        OpStats {
                            ok: h.len(),
                            latency_us: Latency::of(h),
                        },
                    )
                })
                .collect(),
            errors_by_reason: self.errors,
        }
    }
}

/// What the report says about the run itself.
pub(crate) struct Head {
    pub workload: String,
    pub target: String,
    pub kmip_version: String,
    pub connections: usize,
    pub rate: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ErrorCount {
    pub count: u64,
    /// The first message seen for this reason.
    pub example: String,
}

/// Latency of successful requests, microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct OpStats {
    pub ok: u64,
    pub latency_us: Latency,
}

/// The figures of one run. `ok` and `errors` count measured requests
/// (warm-up excluded); `ops_per_s` is successful requests per second.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub workload: String,
    pub target: String,
    pub kmip_version: String,
    pub connections: usize,
    pub mode: String,
    pub rate: Option<f64>,
    pub elapsed_s: f64,
    pub ok: u64,
    pub errors: u64,
    pub ops_per_s: f64,
    pub latency_us: Latency,
    pub operations: BTreeMap<String, OpStats>,
    /// "operation: reason" -> count and an example message.
    pub errors_by_reason: BTreeMap<String, ErrorCount>,
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

impl Report {
    /// The human summary printed at the end of `lkm bench`.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let load = match self.rate {
            Some(r) => format!("open loop at {r} req/s"),
            None => "closed loop".into(),
        };
        let _ = writeln!(
            s,
            "lkm bench: {} against {} (KMIP {}), {} connections, {load}, {:.1} s measured",
            self.workload, self.target, self.kmip_version, self.connections, self.elapsed_s
        );
        let _ = writeln!(
            s,
            "  ok {}  errors {}  throughput {:.1} ops/s",
            self.ok, self.errors, self.ops_per_s
        );
        let _ = writeln!(
            s,
            "  {:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}   (latency, ms)",
            "operation", "ok", "p50", "p90", "p99", "p99.9", "max"
        );
        let mut row = |name: &str, ok: u64, l: &Latency| {
            let _ = writeln!(
                s,
                "  {:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                name,
                ok,
                ms(l.p50),
                ms(l.p90),
                ms(l.p99),
                ms(l.p999),
                ms(l.max)
            );
        };
        if self.operations.len() > 1 {
            for (name, o) in &self.operations {
                row(name, o.ok, &o.latency_us);
            }
        }
        row("all", self.ok, &self.latency_us);
        if !self.errors_by_reason.is_empty() {
            let _ = writeln!(s, "  errors:");
            for (reason, e) in &self.errors_by_reason {
                let _ = writeln!(s, "    {reason}: {} (e.g. {:?})", e.count, e.example);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_recorders_add_up() {
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        a.ok(OpKind::Get, Duration::from_micros(100));
        b.ok(OpKind::Get, Duration::from_micros(300));
        b.ok(OpKind::Create, Duration::from_micros(900));
        b.error(OpKind::Get, "Item Not Found", "no such key");
        a.error(OpKind::Get, "Item Not Found", "other");
        a.merge(b);
        let head = Head {
            workload: "mix".into(),
            target: "x".into(),
            kmip_version: "1.2".into(),
            connections: 2,
            rate: None,
        };
        let r = a.report(head, Duration::from_secs(1));
        assert_eq!(r.ok, 3);
        assert_eq!(r.errors, 2);
        assert_eq!(r.operations["get"].ok, 2);
        let e = &r.errors_by_reason["get: Item Not Found"];
        assert_eq!((e.count, e.example.as_str()), (2, "other"));
        assert!(r.latency_us.max >= 900);
        assert!(r.to_text().contains("Item Not Found"));
    }
}
