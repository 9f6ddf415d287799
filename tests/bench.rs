//! `lkm bench` against a real server: every workload runs to the request
//! count asked for, without errors. No timing is asserted: figures belong
//! in BENCHMARKS.md, not in tests.

mod common;

use common::start;
use lkm::bench::{BenchConfig, Stop, Workload};
use lkm::kmip::ProtocolVersion;
use std::time::Duration;

const REQUESTS: u64 = 60;

fn config(server: &common::TestServer, workload: Workload) -> BenchConfig {
    let mut c = BenchConfig::new(server.addr.clone(), "localhost", server.tls());
    c.workload = workload;
    c.connections = 3;
    c.keys = 5;
    c.stop = Stop::Requests(REQUESTS);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workload_completes_the_requests_asked_without_errors() {
    let server = start().await;
    for workload in Workload::ALL {
        let report = lkm::bench::run(config(&server, workload)).await.unwrap();
        assert_eq!(
            (report.ok, report.errors),
            (REQUESTS, 0),
            "{}: {:?}",
            workload.name(),
            report.errors_by_reason
        );
        assert_eq!(report.workload, workload.name());
        let per_op: u64 = report.operations.values().map(|o| o.ok).sum();
        assert_eq!(per_op, REQUESTS, "{}", workload.name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_with_warmup_and_kmip_2_1() {
    let server = start().await;
    let mut c = config(&server, Workload::Mix);
    c.version = ProtocolVersion::new(2, 1);
    c.rate = Some(2_000.0);
    c.warmup = Duration::from_millis(100);
    let report = lkm::bench::run(c).await.unwrap();
    assert_eq!((report.ok, report.errors), (REQUESTS, 0));
    assert_eq!(report.mode, "open-loop");
    // Each connection keeps its own 7:2:1 cycle, so the totals are near,
    // not exactly, 70/20/10 %.
    for op in ["get", "locate", "create"] {
        assert!(report.operations.contains_key(op), "{op}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_counted_and_replaced() {
    // The server drops any connection that sends more than 2 KiB; the
    // keys are made with small requests, then every 4 KiB Encrypt costs
    // the connection. The run still ends, with every request an error.
    let server = common::start_with(|c| c.limits.max_message_size = 2048).await;
    let mut c = config(&server, Workload::Encrypt);
    c.stop = Stop::Requests(12);
    let report = lkm::bench::run(c).await.unwrap();
    assert_eq!((report.ok, report.errors), (0, 12));
    assert!(
        report
            .errors_by_reason
            .keys()
            .all(|k| k.starts_with("encrypt: ")),
        "{:?}",
        report.errors_by_reason
    );
    // The same server still serves a benchmark that fits its limits.
    let mut c = config(&server, Workload::Encrypt);
    c.data_size = 256;
    let report = lkm::bench::run(c).await.unwrap();
    assert_eq!((report.ok, report.errors), (REQUESTS, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_writes_its_report_as_json() {
    let server = start().await;
    let certs = server.certs();
    let addr = server.addr.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_lkm"))
            .args(["bench", "--addr", &addr, "--workload", "create-get-destroy"])
            .args([
                "--requests",
                "30",
                "--connections",
                "2",
                "--quiet",
                "--json",
            ])
            .arg("--ca")
            .arg(certs.join("ca.crt"))
            .arg("--cert")
            .arg(certs.join("client.crt"))
            .arg("--key")
            .arg(certs.join("client.key"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["workload"], "create-get-destroy");
    assert_eq!(report["ok"], 30);
    assert_eq!(report["errors"], 0);
    for op in ["create", "get", "destroy"] {
        assert!(
            report["operations"][op]["ok"].as_u64().unwrap() >= 9,
            "{op}"
        );
    }
    assert!(
        report["latency_us"]["p99"].as_u64().unwrap()
            >= report["latency_us"]["p50"].as_u64().unwrap()
    );
    assert!(report["ops_per_s"].as_f64().unwrap() > 0.0);
    // The human summary went to stderr.
    assert!(String::from_utf8_lossy(&output.stderr).contains("throughput"));
}
