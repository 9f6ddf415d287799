//! `lkm init`, `lkm unseal`, `lkm status`: creating the key hierarchy and
//! feeding shares to a running server through its admin socket.

use crate::admin::{self, AdminRequest, AdminResponse};
use crate::keystore::KeyStore;
use crate::seal::shares::{self, ShareFile};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct InitArgs {
    /// Data directory (the store goes in DATA/store).
    #[arg(long, default_value = "lkm-data", conflicts_with = "config")]
    data: PathBuf,
    /// The server's configuration file: its data_dir is used.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Number of shares to split the master key into (one per node or operator).
    #[arg(long)]
    shares: u8,
    /// Shares needed to unseal [default: ceil(shares / 2), and 2 for 2 shares].
    /// Threshold 1 is refused with several shares: each share would be the
    /// master key on its own.
    #[arg(long)]
    threshold: Option<u8>,
    /// Where the share files are written [default: ./lkm-shares].
    #[arg(long, default_value = "lkm-shares")]
    share_out: PathBuf,
}

#[derive(Args)]
pub struct SocketArgs {
    /// Data directory of the running server.
    #[arg(long, default_value = "lkm-data", conflicts_with = "config")]
    data: PathBuf,
    /// The running server's configuration file (its admin socket is used).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The admin socket [default: admin_socket from the config, or DATA/admin/lkm.sock].
    #[arg(long)]
    socket: Option<PathBuf>,
}

impl SocketArgs {
    pub(super) fn path(&self) -> Result<PathBuf, String> {
        if let Some(s) = &self.socket {
            return Ok(s.clone());
        }
        match &self.config {
            Some(c) => Ok(crate::config::Config::load(c)
                .map_err(|e| e.to_string())?
                .admin_socket_path()),
            None => Ok(admin::default_socket(&self.data)),
        }
    }
}

/// The data directory of `--config` when given, else `data`.
pub(super) fn data_dir(
    config: Option<&std::path::Path>,
    data: &std::path::Path,
) -> Result<PathBuf, String> {
    match config {
        Some(c) => Ok(crate::config::Config::load(c)
            .map_err(|e| e.to_string())?
            .data_dir),
        None => Ok(data.to_owned()),
    }
}

#[derive(Args)]
pub struct UnsealArgs {
    /// A share file written by `lkm init`.
    #[arg(long)]
    share: PathBuf,
    #[command(flatten)]
    socket: SocketArgs,
}

pub fn init(args: InitArgs) -> Result<(), String> {
    if args.shares == 0 {
        return Err("--shares must be at least 1".into());
    }
    let threshold = args
        .threshold
        .unwrap_or(shares::default_threshold(args.shares));
    // Refused before any folder is made.
    shares::check_threshold(threshold, args.shares).map_err(|e| e.to_string())?;
    let data = data_dir(args.config.as_deref(), &args.data)?;
    crate::private_files::create_dir(&args.share_out)
        .map_err(|e| format!("{}: {e}", args.share_out.display()))?;
    if let Some(w) = super::create_data_dir(&data)? {
        eprintln!("lkm: warning: {w}");
    }
    let store = data.join("store");
    let keystore = KeyStore::open(&store)
        .map_err(|e| format!("{e} (is a server running on {}?)", data.display()))?;
    let out = args.share_out.clone();
    let n = args.shares;
    // The cluster founded by `lkm cluster init` names the hierarchy too.
    let cluster_dir = match &args.config {
        Some(c) => crate::config::Config::load(c)
            .map_err(|e| e.to_string())?
            .cluster_dir(),
        None => crate::config::Config {
            data_dir: data.clone(),
            ..Default::default()
        }
        .cluster_dir(),
    };
    let cluster_id = if cluster_dir.join(crate::cluster::pki::NODE_JSON).exists() {
        crate::cluster::pki::NodeIdentity::load(&cluster_dir)
            .map_err(|e| format!("{}: {e}", cluster_dir.display()))?
            .cluster_id
    } else {
        uuid::Uuid::new_v4().to_string()
    };
    let files = keystore
        .initialize_in(
            &cluster_id,
            args.shares,
            threshold,
            "One share of the lkm master key. Keep it secret and apart from the other shares.",
            |files| {
                // Every share is on disk before the store is written.
                for f in files {
                    let path = out.join(format!("share-{}-of-{n}.json", f.index));
                    f.write(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    println!("wrote {}", path.display());
                }
                Ok(())
            },
        )
        .map_err(|e| e.to_string())?;
    let cluster = files
        .first()
        .map(|f| f.split.cluster_id.clone())
        .unwrap_or_default();
    println!(
        "initialized cluster {cluster}: {} shares, any {threshold} unseal it.\n\
         Give each share to a different node or operator, then delete {}.",
        args.shares,
        args.share_out.display()
    );
    Ok(())
}

fn print(r: &AdminResponse) {
    println!("{}", r.message);
    if !r.message.contains(&r.status.summary) {
        println!("{}", r.status.summary);
    }
}

pub fn unseal(args: UnsealArgs) -> Result<(), String> {
    // Read and check it here first, so a bad file is named before sending.
    let file = ShareFile::read(&args.share)?;
    let r = admin::request(
        &args.socket.path()?,
        &AdminRequest::Unseal {
            share: file.to_json().to_string(),
        },
    )?;
    print(&r);
    if r.ok { Ok(()) } else { Err(r.message) }
}

pub fn status(args: SocketArgs) -> Result<(), String> {
    let r = admin::request(&args.path()?, &AdminRequest::Status)?;
    println!("{}", r.status.summary);
    if let Some(c) = &r.status.cluster_id {
        println!(
            "cluster {c}; threshold {} of {} shares",
            r.status.threshold, r.status.shares
        );
    }
    Ok(())
}

pub fn rotate_kek(args: SocketArgs) -> Result<(), String> {
    let r = admin::request(&args.path()?, &AdminRequest::RotateKek)?;
    if !r.ok {
        return Err(r.message);
    }
    println!("{}", r.message);
    Ok(())
}
