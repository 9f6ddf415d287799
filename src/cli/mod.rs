//! The `lkm` command line: serve, certs, client, config, audit.

mod audit;
pub(crate) mod client;
mod cluster;
mod objects;
mod seal;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "lkm",
    version,
    about = "KMIP key server with a Shamir-sealed key store"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the KMIP server.
    Serve(serve::ServeArgs),
    /// Make certificates for development and tests.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// Create the key hierarchy in a new store and write the share files.
    Init(seal::InitArgs),
    /// Give one share to a running, sealed server.
    Unseal(seal::UnsealArgs),
    /// Show whether a running server is sealed, and how many shares it has.
    Status(seal::SocketArgs),
    /// Add a KEK version to a running server; records move to it in the background.
    RotateKek(seal::SocketArgs),
    /// Manage the objects of a running server (ownership transfer).
    Objects {
        #[command(subcommand)]
        command: objects::ObjectsCommand,
    },
    /// Talk KMIP to a server.
    Client(Box<client::ClientArgs>),
    /// Read and check the activity log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Found a cluster, add and remove nodes, show where it stands.
    Cluster {
        #[command(subcommand)]
        command: cluster::ClusterCommand,
    },
    /// Load a KMIP server and measure it (ops/s, latency percentiles).
    Bench(Box<crate::bench::args::BenchArgs>),
    /// Show configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum CertsCommand {
    /// Create a CA, a server certificate (localhost, 127.0.0.1, ::1) and a client certificate.
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
    /// Issue another client certificate from an existing CA.
    Issue {
        /// Folder holding ca.crt and ca.key.
        #[arg(long)]
        ca_dir: PathBuf,
        /// The client's name (certificate common name and file names).
        #[arg(long)]
        name: String,
        /// Where NAME.crt and NAME.key are written.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print every configuration key with its default value.
    Defaults,
}

/// Runs the command line; the exit code is the process's.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Certs { command } => certs(command),
        Command::Client(args) => client::run(*args),
        Command::Bench(args) => crate::bench::args::main(*args),
        Command::Init(args) => seal::init(args),
        Command::Unseal(args) => seal::unseal(args),
        Command::Status(args) => seal::status(args),
        Command::RotateKek(args) => seal::rotate_kek(args),
        Command::Objects { command } => objects::run(command),
        Command::Audit { command } => audit::run(command),
        Command::Cluster { command } => cluster::run(command),
        Command::Config {
            command: ConfigCommand::Defaults,
        } => {
            print!("{}", crate::config::Config::default().to_toml());
            Ok(())
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("lkm: {e}");
            1
        }
    }
}

/// Creates DATA and DATA/store with mode 0700 (the sealed records, the
/// audit log and, in dev mode, the unseal share and the PKI live there).
/// A DATA that already existed is left as it is; the returned warning
/// says so when its group or others have access.
pub(crate) fn create_data_dir(data: &std::path::Path) -> Result<Option<String>, String> {
    for dir in [data.to_owned(), data.join("store")] {
        crate::private_files::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    Ok(crate::private_files::open_to_others(data).map(|mode| {
        format!(
            "the data directory {} has mode {mode:o}: group and others can read what it holds \
             (chmod 700 it unless that is meant)",
            data.display()
        )
    }))
}

fn certs(cmd: CertsCommand) -> Result<(), String> {
    match cmd {
        CertsCommand::Init { dir, force } => {
            crate::pki::init(&dir, force).map_err(|e| e.to_string())?;
            println!(
                "wrote {} in {}",
                crate::pki::FILES.join(", "),
                dir.display()
            );
        }
        CertsCommand::Issue { ca_dir, name, out } => {
            let (crt, key) = crate::pki::issue(&ca_dir, &name, &out).map_err(|e| e.to_string())?;
            println!("wrote {} and {}", crt.display(), key.display());
        }
    }
    Ok(())
}
