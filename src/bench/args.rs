//! `lkm bench` on the command line: options, defaults (the dev server's
//! address and certificates), a runtime, and the report on stdout or in a
//! JSON file.

use super::config::{BenchConfig, Stop};
use super::workload::Workload;
use super::{BenchError, run};
use crate::cli::client::parse_version;
use crate::kmip::ProtocolVersion;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Server address HOST:PORT; overrides --host and --port.
    #[arg(long)]
    addr: Option<String>,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 5696)]
    port: u16,
    /// Name to check the server certificate against.
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// Data folder of `lkm serve --dev`: certificates are read from DATA/certs.
    #[arg(long, default_value = "lkm-data")]
    data: PathBuf,
    #[command(flatten)]
    tls: crate::cli::client::TlsFiles,
    #[arg(long, value_enum, default_value_t = Workload::Get)]
    workload: Workload,
    /// Simultaneous connections (handshake: simultaneous handshakers).
    #[arg(long, short = 'c', default_value_t = 16)]
    connections: usize,
    /// Seconds measured [default: 10 unless --requests].
    #[arg(long, conflicts_with = "requests")]
    duration: Option<f64>,
    /// Stop after this many measured requests in all.
    #[arg(long)]
    requests: Option<u64>,
    /// Open loop at this many requests per second in all (latency counted
    /// from each request's scheduled time); without it, closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// KMIP version of the requests (PyKMIP's server speaks 1.0 to 1.2).
    #[arg(long, default_value = "1.2", value_parser = parse_version)]
    kmip_version: ProtocolVersion,
    /// Keys made before get, locate, encrypt and mix.
    #[arg(long, default_value_t = 100)]
    keys: usize,
    /// Plaintext bytes per Encrypt.
    #[arg(long, default_value_t = 4096)]
    data_size: usize,
    /// Seconds before an unanswered request counts as an error.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Client runtime threads [default: one per CPU in closed loop, one in
    /// open loop]. One thread paces and sends without waking another for
    /// each request, which on a machine shared with the server keeps the
    /// client's own wake-ups out of the latency it measures; it drives
    /// about 45,000 requests/s here, so raise it for higher rates.
    #[arg(long)]
    threads: Option<usize>,
    /// Write the report as JSON to FILE, or to stdout with `--json` or
    /// `--json -` (the text summary then goes to stderr).
    #[arg(long, num_args = 0..=1, default_missing_value = "-", value_name = "FILE")]
    json: Option<String>,
    /// No progress line on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

fn seconds(what: &str, s: f64) -> Result<Duration, BenchError> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| BenchError::Config(format!("{what}: {s} is not a number of seconds")))
}

fn config(args: &BenchArgs) -> Result<BenchConfig, BenchError> {
    let tls = args.tls.config(&args.data.join("certs"))?;
    let addr = args
        .addr
        .clone()
        .unwrap_or_else(|| format!("{}:{}", args.host, args.port));
    let mut c = BenchConfig::new(addr, args.server_name.clone(), tls);
    c.version = args.kmip_version;
    c.workload = args.workload;
    c.connections = args.connections;
    c.stop = match (args.requests, args.duration) {
        (Some(n), _) => Stop::Requests(n),
        (None, d) => Stop::After(seconds("--duration", d.unwrap_or(10.0))?),
    };
    c.rate = args.rate;
    c.warmup = seconds("--warmup", args.warmup)?;
    c.keys = args.keys;
    c.data_size = args.data_size;
    c.timeout = seconds("--timeout", args.timeout)?;
    c.progress = !args.quiet;
    Ok(c)
}

pub(crate) fn main(args: BenchArgs) -> Result<(), String> {
    let inner = || -> Result<(), BenchError> {
        let config = config(&args)?;
        if args.threads == Some(0) {
            return Err(BenchError::Config("--threads must be at least 1".into()));
        }
        let mut rt = tokio::runtime::Builder::new_multi_thread();
        let threads = args.threads.or(args.rate.map(|_| 1));
        if let Some(t) = threads {
            rt.worker_threads(t);
        }
        let rt = rt.enable_all().build().map_err(BenchError::Runtime)?;
        let report = rt.block_on(run(config))?;
        let text = report.to_text();
        match args.json.as_deref() {
            None => print!("{text}"),
            Some(target) => {
                let json = match serde_json::to_string_pretty(&report) {
                    Ok(j) => j,
                    Err(e) => return Err(BenchError::Task(format!("report to JSON: {e}"))),
                };
                if target == "-" {
                    eprint!("{text}");
                    println!("{json}");
                } else {
                    print!("{text}");
                    std::fs::write(target, json + "\n").map_err(|source| BenchError::Output {
                        path: target.to_owned(),
                        source,
                    })?;
                }
            }
        }
        Ok(())
    };
    inner().map_err(|e| e.to_string())
}
