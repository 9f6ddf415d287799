//! `lkm serve`: load the configuration (or the dev defaults), start the
//! listener, and stop gracefully on SIGTERM or ctrl-c.

use crate::audit::Draft;
use crate::cluster::bundle::Bundle;
use crate::cluster::node::{ClusterApplier, Node};
use crate::cluster::pki::NodeIdentity;
use crate::config::{Config, TlsConfig};
use crate::keystore::KeyStore;
use crate::seal::shares::ShareFile;
use crate::store::Store;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tracing::{info, warn};

#[derive(Args)]
pub struct ServeArgs {
    /// TOML configuration file (every key has a default).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Development mode: generate a PKI under DATA/certs on first start and use it.
    #[arg(long)]
    dev: bool,
    /// Data directory [default: ./lkm-data, or data_dir from the config].
    #[arg(long)]
    data: Option<PathBuf>,
    /// KMIP listen address [default: 127.0.0.1:5696].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Metrics/health listen address [default: 127.0.0.1:9696].
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Join bundle from `lkm cluster add-node` (overrides cluster.join):
    /// used on first start, when the node has no cluster identity yet.
    #[arg(long, value_name = "BUNDLE")]
    join: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    if let Some(d) = args.data {
        config.data_dir = d;
    }
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(m) = args.metrics_listen {
        config.metrics_listen = m;
    }
    if let Some(j) = args.join {
        config.cluster.join = Some(j);
    }
    init_logging(&config);
    if let Some(w) = super::create_data_dir(&config.data_dir)? {
        warn!("{w}");
    }
    if args.dev {
        prepare_dev(&mut config)?;
        // Several dev servers side by side: the (unused) cluster channel
        // of a lone dev node takes any free port unless one is configured.
        if config.cluster.listen == crate::config::ClusterConfig::default().listen {
            config.cluster.listen.set_port(0);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let dev = args.dev;
    rt.block_on(async move {
        let store =
            Arc::new(Store::open(&config.store_dir()).map_err(|e| {
                format!("{e} (is another lkm using {}?)", config.data_dir.display())
            })?);
        let (identity, join) = cluster_identity(&config, dev)?;
        let cluster_id = identity.cluster_id.clone();
        let node = Node::start(&config, store.clone(), identity).await?;
        if let Some((seeds, token)) = join {
            tokio::spawn(node.clone().join(seeds, token));
        }
        let applier = Arc::new(ClusterApplier { node: node.clone() });
        let keystore = Arc::new(KeyStore::with_applier(store, applier).map_err(|e| e.to_string())?);
        let ks = keystore.clone();
        let cfg = config.clone();
        tokio::task::spawn_blocking(move || open_keystore(&cfg, &ks, &cluster_id, dev))
            .await
            .map_err(|e| e.to_string())??;
        tokio::spawn(unseal_when_initialized(
            config.clone(),
            keystore.clone(),
            dev,
        ));
        let handle = crate::server::start_with_cluster(&config, keystore, Some(node.clone()))
            .await
            .map_err(|e| e.to_string())?;
        if dev {
            print_dev_instructions(&config, handle.local_addr);
        }
        let failure = tokio::select! {
            () = wait_for_signal() => {
                info!("signal received: finishing in-flight requests");
                None
            }
            why = node.failed() => {
                tracing::error!(error = %why, "stopping: this node cannot go on without its Raft core; restart it");
                Some(why)
            }
        };
        handle.shutdown();
        handle.wait().await;
        node.shutdown().await;
        match failure {
            None => Ok(()),
            Some(why) => Err(why),
        }
    })
}

/// This node's cluster identity: kept in the cluster directory; on first
/// start unpacked from the join bundle, or (dev) made as a cluster of one.
/// Also the join to ask for, when the node starts from a bundle.
type Join = Option<(Vec<String>, String)>;

fn cluster_identity(config: &Config, dev: bool) -> Result<(NodeIdentity, Join), String> {
    let dir = config.cluster_dir();
    let known = dir.join(crate::cluster::pki::NODE_JSON).exists();
    let join = match &config.cluster.join {
        Some(path) => match Bundle::read(path) {
            Ok(b) => Some(b),
            // A member restarting needs its bundle no more (it may have
            // been deleted, as it should be, once the node joined).
            Err(e) if known => {
                info!(bundle = %path.display(), error = %e, "join bundle not read: this node already has its cluster identity");
                None
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        },
        None => None,
    };
    let identity = if known {
        NodeIdentity::load(&dir).map_err(|e| e.to_string())?
    } else if let Some(b) = &join {
        let id = b.unpack(&dir).map_err(|e| e.to_string())?;
        info!(node = id.node_id, dir = %dir.display(), "cluster identity unpacked from the join bundle");
        id
    } else {
        // A node with no identity and no bundle founds a cluster of one
        // (others join it with `lkm cluster add-node`).
        let id = crate::cluster::pki::init_cluster(
            &dir,
            &uuid::Uuid::new_v4().to_string(),
            "node1",
            &config.cluster.advertised(),
        )
        .map_err(|e| e.to_string())?;
        info!(dir = %dir.display(), dev, "founded a new cluster of one (node 1)");
        id
    };
    let join = join.map(|b| (b.seeds.clone(), b.token.to_string()));
    Ok((identity, join))
}

/// Shares configured for a node whose store was not yet initialized when
/// it started (a node that joined: the hierarchy arrives through the log)
/// are given once it is.
async fn unseal_when_initialized(config: Config, keystore: Arc<KeyStore>, dev: bool) {
    for _ in 0..3600 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let status = keystore.status();
        if !status.sealed {
            return;
        }
        if status.initialized && status.have == 0 {
            let ks = keystore.clone();
            let cfg = config.clone();
            let _ = tokio::task::spawn_blocking(move || give_shares(&cfg, &ks, dev)).await;
        }
    }
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}

/// The dev share file: one share, threshold 1, next to the store. It makes
/// the dev server unseal itself, and is exactly what production must not do.
pub(crate) fn dev_share_path(config: &Config) -> PathBuf {
    config.data_dir.join("DEV-ONLY-unseal-share.json")
}

/// In dev mode initializes the store on first start (through the
/// cluster's log); then gives it the configured share files (a bad one is
/// reported, not fatal: an operator can still unseal through `lkm unseal`).
fn open_keystore(
    config: &Config,
    keystore: &KeyStore,
    cluster_id: &str,
    dev: bool,
) -> Result<(), String> {
    if dev && !keystore.status().initialized && config.cluster.join.is_none() {
        let path = dev_share_path(config);
        // A share left from an earlier, deleted dev store opens nothing.
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        keystore
            .initialize_in(
                cluster_id,
                1,
                1,
                "DEVELOPMENT ONLY: this share unseals the store on its own and sits next to it.",
                |files| {
                    files
                        .iter()
                        .try_for_each(|f| f.write(&path))
                        .map_err(|e| format!("{}: {e}", path.display()))
                },
            )
            .map_err(|e| e.to_string())?;
        info!(share = %path.display(), "initialized a development store (1 share, threshold 1)");
    }
    if keystore.status().initialized {
        give_shares(config, keystore, dev);
    }
    info!(status = %keystore.status(), "key store opened");
    Ok(())
}

fn give_shares(config: &Config, keystore: &KeyStore, dev: bool) {
    let mut share_files = config.seal.share_files.clone();
    if dev {
        share_files.push(dev_share_path(config));
    }
    for path in &share_files {
        if !keystore.status().sealed {
            break;
        }
        let result = ShareFile::read(path).and_then(|f| {
            keystore
                .unseal(f)
                .map_err(|e| format!("{}: {e}", path.display()))
        });
        let draft = Draft::new("share-file", "Unseal");
        let draft = match &result {
            Ok(status) => {
                info!(share = %path.display(), %status, "share applied");
                draft.detail(format!("{}: {status}", path.display()))
            }
            Err(e) => {
                warn!(error = %e, "share file not applied");
                draft.failed(e.clone())
            }
        };
        if let Err(e) = keystore.record(&draft) {
            warn!(error = %e, "the audit log cannot be written");
        }
    }
}

/// Dev mode: certificates live in DATA/certs and are made on first start.
fn prepare_dev(config: &mut Config) -> Result<(), String> {
    let certs = config.data_dir.join("certs");
    if !crate::pki::is_complete(&certs) {
        crate::pki::init(&certs, false).map_err(|e| format!("dev PKI: {e}"))?;
        info!(dir = %certs.display(), "generated a development PKI");
    }
    // Dev certificates last a year: say so before clients start failing.
    if let Some(end) = crate::pki::server_cert_ending(&certs, time::OffsetDateTime::now_utc()) {
        warn!(
            not_after = %end,
            "the development server certificate in {} expires within 30 days or has expired: \
             run `lkm certs init --dir {} --force` for a new PKI",
            certs.display(),
            certs.display()
        );
    }
    config.tls = TlsConfig::in_dir(&certs);
    Ok(())
}

fn print_dev_instructions(config: &Config, addr: SocketAddr) {
    let certs = config.data_dir.join("certs");
    let certs = std::fs::canonicalize(&certs).unwrap_or(certs);
    let c = |f: &str| certs.join(f).display().to_string();
    println!(
        "lkm dev server listening on {addr} (KMIP over mutual TLS)\n\
         DEVELOPMENT ONLY: the PKI in {dir} was generated for this machine.\n\n\
         Try it:\n  lkm client --server {addr} --certs {dir} query\n\n\
         PyKMIP client settings (pykmip.conf):\n  \
         host={host}\n  port={port}\n  certfile={cc}\n  keyfile={ck}\n  ca_certs={ca}\n",
        dir = certs.display(),
        host = addr.ip(),
        port = addr.port(),
        cc = c("client.crt"),
        ck = c("client.key"),
        ca = c("ca.crt"),
    );
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
