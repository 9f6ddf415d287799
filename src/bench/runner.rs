//! Drives the run: makes the keys, opens the connections, then runs one
//! task per connection until the clock or the request count says stop.
//! Each task sends, waits for the answer and records; in open loop it
//! first takes a send token from the [`Pacer`] and measures from the
//! token's due time.

use super::BenchError;
use super::config::{BenchConfig, Stop};
use super::pacer::{Pacer, Token};
use super::report::{Head, Recorder, Report};
use super::workload::{
    Keys, OpKind, Requests, Sequence, Step, create_payload, uid_payload, unexpected,
};
use crate::client::{Client, ClientError};
use crate::kmip::{KmipError, Operation, ResponseMessage, tag};
use crate::ttlv::{self, Item, Limits};
use rustls::ClientConfig;
use rustls::client::Resumption;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use tokio::time::{Instant, sleep, timeout};

/// Why one request failed.
enum OpError {
    /// The server answered with a failure: the connection is fine.
    Kmip(KmipError),
    /// The answer was a success but not what was asked for.
    Unexpected(&'static str),
    /// The connection broke, timed out or went out of step: replaced.
    Connection(&'static str, String),
}

impl OpError {
    fn from_client(e: ClientError) -> Self {
        match e {
            ClientError::Kmip(k) => OpError::Kmip(k),
            ClientError::Io(e) => OpError::Connection("connection", e.to_string()),
            ClientError::ServerName(e) => OpError::Connection("server name", e),
            ClientError::Decode(e) => OpError::Connection("bad response", e.to_string()),
            ClientError::Protocol(e) => OpError::Connection("bad response", e),
        }
    }
}

/// Everything the connection tasks share.
struct Shared {
    config: BenchConfig,
    /// TLS for the handshake workload: resumption off, so every
    /// connection is a full handshake.
    fresh_tls: Arc<ClientConfig>,
    requests: Requests,
    started: Instant,
    /// Open loop only.
    pacer: Option<Arc<Pacer>>,
    measure_from: Instant,
    /// End of the measured window (duration runs).
    until: Option<Instant>,
    /// Measured requests begun so far (request-count runs).
    begun: AtomicU64,
    /// Every answered request, warm-up included: for the progress line.
    done: AtomicU64,
    failed: AtomicU64,
    finished: AtomicBool,
}

const LIMITS: Limits = Limits {
    max_message_size: 64 << 20,
    max_depth: 32,
    max_items: 1 << 20,
};

/// Runs a benchmark to the end and returns its figures. Needs a tokio
/// runtime with the time and net drivers; spawns one task per connection.
pub async fn run(config: BenchConfig) -> Result<Report, BenchError> {
    config.validate()?;
    let version = config.version;
    let keys = setup(&config).await?;
    let requests = Requests::new(version, config.workload, &keys, config.data_size);

    let mut fresh = (*config.tls).clone();
    fresh.resumption = Resumption::disabled();
    let persistent = config.workload.persistent();
    // Open every connection before the clock starts, so connecting is not
    // counted as the first requests' latency.
    let mut clients = Vec::with_capacity(config.connections);
    if persistent {
        let opening: Vec<_> = (0..config.connections)
            .map(|_| tokio::spawn(connect(&config, config.tls.clone())))
            .collect();
        for o in opening {
            let c = o
                .await
                .map_err(|e| BenchError::Task(e.to_string()))?
                .map_err(|source| BenchError::Connect {
                    addr: config.addr.clone(),
                    source,
                })?;
            clients.push(Some(c));
        }
    } else {
        clients.resize_with(config.connections, || None);
    }

    let started = Instant::now();
    let measure_from = started + config.warmup;
    let until = match config.stop {
        Stop::After(d) => Some(measure_from + d),
        Stop::Requests(_) => None,
    };
    let pacer = match config.rate {
        Some(rate) => Some(
            Pacer::start(rate, started, until, config.connections).map_err(BenchError::Runtime)?,
        ),
        None => None,
    };
    let shared = Arc::new(Shared {
        pacer,
        fresh_tls: Arc::new(fresh),
        requests,
        started,
        measure_from,
        until,
        begun: AtomicU64::new(0),
        done: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        finished: AtomicBool::new(false),
        config,
    });
    let progress = shared
        .config
        .progress
        .then(|| tokio::spawn(progress(shared.clone())));
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(connection(shared.clone(), i, c)))
        .collect();
    let mut all = Recorder::new();
    let mut failed = None;
    for t in tasks {
        match t.await {
            Ok(r) => all.merge(r),
            Err(e) => failed = Some(e),
        }
    }
    if let Some(p) = &shared.pacer {
        p.stop();
    }
    if let Some(e) = failed {
        return Err(BenchError::Task(e.to_string()));
    }
    let elapsed = Instant::now().saturating_duration_since(shared.measure_from);
    shared.finished.store(true, Relaxed);
    if let Some(p) = progress {
        p.abort();
    }
    let c = &shared.config;
    let head = Head {
        workload: c.workload.name().into(),
        target: c.addr.clone(),
        kmip_version: format!("{}.{}", c.version.major, c.version.minor),
        connections: c.connections,
        rate: c.rate,
    };
    Ok(all.report(head, elapsed))
}

fn connect(
    config: &BenchConfig,
    tls: Arc<ClientConfig>,
) -> impl std::future::Future<Output = Result<Client, ClientError>> + Send + 'static {
    let (addr, name, version, limit) = (
        config.addr.clone(),
        config.server_name.clone(),
        config.version,
        config.timeout,
    );
    async move {
        match timeout(limit, Client::connect(&addr, &name, tls, version)).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ))),
        }
    }
}

/// Makes the keys the workload reads: AES-256, named, Activated (encrypt
/// needs an Active key; the others do not mind). Fails the run if the
/// server refuses, since every request would fail the same way.
async fn setup(config: &BenchConfig) -> Result<Keys, BenchError> {
    let mut c = connect(config, config.tls.clone())
        .await
        .map_err(|source| BenchError::Connect {
            addr: config.addr.clone(),
            source,
        })?;
    let mut keys = Keys {
        uids: Vec::new(),
        names: Vec::new(),
    };
    if config.workload.needs_keys() {
        let run_id = uuid::Uuid::new_v4().simple().to_string();
        for i in 0..config.keys {
            let name = format!("lkm-bench-{}-{i}", &run_id[..12]);
            let made = c
                .call(
                    Operation::Create,
                    create_payload(config.version, Some(&name)),
                )
                .await
                .map_err(|source| BenchError::Setup {
                    step: "Create",
                    source,
                })?;
            let uid = made
                .child(tag::UNIQUE_IDENTIFIER)
                .and_then(Item::as_text)
                .ok_or_else(|| BenchError::Setup {
                    step: "Create",
                    source: ClientError::Protocol("answer without Unique Identifier".into()),
                })?
                .to_owned();
            c.call(Operation::Activate, uid_payload(&uid))
                .await
                .map_err(|source| BenchError::Setup {
                    step: "Activate",
                    source,
                })?;
            keys.uids.push(uid);
            keys.names.push(name);
        }
    }
    let _ = timeout(Duration::from_secs(1), c.close()).await;
    Ok(keys)
}

/// Sends one encoded request and reads the first batch item's payload.
async fn exchange(c: &mut Client, request: &[u8]) -> Result<Item, OpError> {
    let bytes = c.roundtrip(request).await.map_err(OpError::from_client)?;
    let item = ttlv::decode(&bytes, &LIMITS)
        .map_err(|e| OpError::Connection("bad response", e.to_string()))?;
    let message = ResponseMessage::parse(&item)
        .map_err(|e| OpError::Connection("bad response", e.to_string()))?;
    let first = message
        .items
        .into_iter()
        .next()
        .ok_or_else(|| OpError::Connection("bad response", "no batch item".into()))?;
    if let Some(e) = first.error() {
        return Err(OpError::Kmip(e));
    }
    Ok(first
        .payload
        .unwrap_or_else(|| Item::structure(tag::RESPONSE_PAYLOAD, Vec::new())))
}

/// One request on `client` (opened first if it is None), with the
/// timeout. Leaves `client` None when the connection must be replaced.
async fn one(
    shared: &Shared,
    client: &mut Option<Client>,
    step: &Step<'_>,
) -> Result<Item, OpError> {
    let limit = shared.config.timeout;
    if step.kind == OpKind::Handshake {
        let run = async {
            let mut c = connect(&shared.config, shared.fresh_tls.clone())
                .await
                .map_err(OpError::from_client)?;
            let r = exchange(&mut c, &step.request).await;
            let _ = c.close().await;
            r
        };
        return match timeout(limit, run).await {
            Ok(r) => r,
            Err(_) => Err(OpError::Connection(
                "timeout",
                format!("no answer in {limit:?}"),
            )),
        };
    }
    let c = match client {
        Some(c) => c,
        None => client.insert(
            connect(&shared.config, shared.config.tls.clone())
                .await
                .map_err(OpError::from_client)?,
        ),
    };
    let r = match timeout(limit, exchange(c, &step.request)).await {
        Ok(r) => r,
        Err(_) => Err(OpError::Connection(
            "timeout",
            format!("no answer in {limit:?}"),
        )),
    };
    if matches!(r, Err(OpError::Connection(..))) {
        *client = None;
    }
    r
}

/// One connection's loop.
async fn connection(shared: Arc<Shared>, index: usize, mut client: Option<Client>) -> Recorder {
    let config = &shared.config;
    let mut recorder = Recorder::new();
    let mut sequence = Sequence::new(config.workload, index, config.connections, config.keys);
    loop {
        let scheduled = match &shared.pacer {
            None => Instant::now(),
            Some(p) => match p.next().await {
                Token::Due(t) => t,
                Token::End => break,
            },
        };
        if shared.until.is_some_and(|u| scheduled >= u) {
            break;
        }
        let measured = scheduled >= shared.measure_from;
        if measured
            && let Stop::Requests(n) = config.stop
            && shared.begun.fetch_add(1, Relaxed) >= n
        {
            if let Some(p) = &shared.pacer {
                p.stop();
            }
            break;
        }
        let step = sequence.next(&shared.requests);
        let result =
            one(&shared, &mut client, &step)
                .await
                .and_then(|p| match unexpected(step.kind, &p) {
                    Some(what) => Err(OpError::Unexpected(what)),
                    None => Ok(p),
                });
        let latency = Instant::now().saturating_duration_since(scheduled);
        sequence.done(step.kind, result.as_ref().ok());
        shared.done.fetch_add(1, Relaxed);
        match &result {
            Ok(_) => {
                if measured {
                    recorder.ok(step.kind, latency);
                }
            }
            Err(e) => {
                shared.failed.fetch_add(1, Relaxed);
                if measured {
                    match e {
                        OpError::Kmip(k) => recorder.error(step.kind, k.reason.name(), &k.message),
                        OpError::Unexpected(what) => {
                            recorder.error(step.kind, "unexpected answer", what)
                        }
                        OpError::Connection(what, m) => recorder.error(step.kind, what, m),
                    }
                }
                // A server that refuses connections is not hammered.
                if client.is_none() && config.workload.persistent() {
                    sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    if let Some(c) = client {
        let _ = timeout(Duration::from_secs(1), c.close()).await;
    }
    recorder
}

/// Once a second: requests answered in the last second, errors, phase.
async fn progress(shared: Arc<Shared>) {
    let mut last = (0, 0);
    let mut tick = tokio::time::interval_at(
        shared.started + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    loop {
        tick.tick().await;
        if shared.finished.load(Relaxed) {
            return;
        }
        let now = Instant::now();
        let (done, failed) = (shared.done.load(Relaxed), shared.failed.load(Relaxed));
        let phase = if now < shared.measure_from {
            "warm-up"
        } else {
            "measuring"
        };
        eprintln!(
            "[bench] {:>5.0}s {phase:<9} {:>9} req/s  errors {:>6}  total {done}",
            now.saturating_duration_since(shared.started).as_secs_f64(),
            done - last.0,
            failed - last.1,
        );
        last = (done, failed);
    }
}
