//! `lkm serve`: load the configuration (or the dev defaults), start the
//! listener, and stop gracefully on SIGTERM or ctrl-c.

use crate::audit::Draft;
use crate::config::{Config, TlsConfig};
use crate::keystore::KeyStore;
use crate::seal::shares::ShareFile;
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
    init_logging(&config);
    if let Some(w) = super::create_data_dir(&config.data_dir)? {
        warn!("{w}");
    }
    if args.dev {
        prepare_dev(&mut config)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let keystore = open_keystore(&config, args.dev)?;
    rt.block_on(async move {
        let handle = crate::server::start(&config, keystore)
            .await
            .map_err(|e| e.to_string())?;
        if args.dev {
            print_dev_instructions(&config, handle.local_addr);
        }
        wait_for_signal().await;
        info!("signal received: finishing in-flight requests");
        handle.shutdown();
        handle.wait().await;
        Ok(())
    })
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

/// Opens the store; in dev mode initializes it on first start; then gives
/// it the configured share files (a bad one is reported, not fatal: an
/// operator can still unseal through `lkm unseal`).
fn open_keystore(config: &Config, dev: bool) -> Result<Arc<KeyStore>, String> {
    let keystore = KeyStore::open(&config.store_dir())
        .map_err(|e| format!("{e} (is another lkm using {}?)", config.data_dir.display()))?;
    let mut share_files = config.seal.share_files.clone();
    if dev {
        let path = dev_share_path(config);
        if !keystore.status().initialized {
            // A share left from an earlier, deleted dev store opens nothing.
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            keystore
                .initialize(
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
        share_files.push(path);
    }
    for path in &share_files {
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
    info!(status = %keystore.status(), "key store opened");
    Ok(Arc::new(keystore))
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
