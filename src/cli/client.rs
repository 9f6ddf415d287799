//! `lkm client`: one KMIP operation from the command line, printed as KMIP
//! XML or JSON. Operators and scripts use it; so do the README's examples.

use crate::client::Client;
use crate::kmip::{Operation, ProtocolVersion, QueryFunction, tag};
use crate::server::tls::client_config;
use crate::ttlv::{Item, json, xml};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Args)]
pub struct ClientArgs {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:5696")]
    server: String,
    /// Name to check the server certificate against.
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// Folder with ca.crt, client.crt and client.key (as `lkm certs init` makes).
    #[arg(long, default_value = "lkm-data/certs")]
    certs: PathBuf,
    /// CA certificate [default: CERTS/ca.crt].
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Client certificate [default: CERTS/client.crt].
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Client key [default: CERTS/client.key].
    #[arg(long)]
    key: Option<PathBuf>,
    /// KMIP version of the requests, e.g. 1.2 or 2.1.
    #[arg(long, default_value = "2.1", value_parser = parse_version)]
    kmip_version: ProtocolVersion,
    #[arg(long, value_enum, default_value_t = Format::Xml)]
    format: Format,
    #[command(subcommand)]
    op: ClientOp,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Xml,
    Json,
}

#[derive(Subcommand)]
enum ClientOp {
    /// Discover Versions; --offer limits the answer to these versions.
    DiscoverVersions {
        #[arg(long, value_parser = parse_version)]
        offer: Vec<ProtocolVersion>,
    },
    /// Query operations, objects and server information.
    Query,
}

fn parse_version(s: &str) -> Result<ProtocolVersion, String> {
    let (a, b) = s.split_once('.').ok_or("expected MAJOR.MINOR")?;
    Ok(ProtocolVersion::new(
        a.parse().map_err(|_| "bad major")?,
        b.parse().map_err(|_| "bad minor")?,
    ))
}

pub fn run(args: ClientArgs) -> Result<(), String> {
    let ca = args.ca.clone().unwrap_or_else(|| args.certs.join("ca.crt"));
    let cert = args
        .cert
        .clone()
        .unwrap_or_else(|| args.certs.join("client.crt"));
    let key = args
        .key
        .clone()
        .unwrap_or_else(|| args.certs.join("client.key"));
    let tls = client_config(&ca, &cert, &key).map_err(|e| e.to_string())?;
    let (op, payload) = match &args.op {
        ClientOp::DiscoverVersions { offer } => (
            Operation::DiscoverVersions,
            offer.iter().map(|v| v.to_item()).collect(),
        ),
        ClientOp::Query => (
            Operation::Query,
            [
                QueryFunction::QueryOperations,
                QueryFunction::QueryObjects,
                QueryFunction::QueryServerInformation,
            ]
            .iter()
            .map(|f| Item::enumeration(tag::QUERY_FUNCTION, f.value()))
            .collect(),
        ),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let response = rt.block_on(async {
        let mut c = Client::connect(&args.server, &args.server_name, tls, args.kmip_version)
            .await
            .map_err(|e| e.to_string())?;
        let r = c.call(op, payload).await.map_err(|e| e.to_string());
        let _ = c.close().await;
        r
    })?;
    match args.format {
        Format::Xml => print!("{}", xml::to_xml(&response)),
        Format::Json => println!("{}", json::to_json_string(&response)),
    }
    Ok(())
}
