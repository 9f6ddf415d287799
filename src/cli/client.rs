//! `lkm client`: one KMIP operation from the command line, printed as KMIP
//! XML or JSON. Operators and scripts use it; so do the README's examples.

use crate::client::Client;
use crate::kmip::attributes::{to_v1_attribute, vendor_attribute};
use crate::kmip::{ObjectType, Operation, ProtocolVersion, QueryFunction, tag};
use crate::server::tls::client_config;
use crate::ttlv::text::parse_scalar;
use crate::ttlv::{Bytes, Item, ItemType, Value, describe_tag, json, tag_by_attribute_name, xml};
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
    #[command(flatten)]
    tls: TlsFiles,
    /// KMIP version of the requests, e.g. 1.2 or 2.1.
    #[arg(long, default_value = "2.1", value_parser = parse_version)]
    kmip_version: ProtocolVersion,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(subcommand)]
    op: ClientOp,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Identifiers one per line, key values in hex: for scripts.
    Text,
    /// The response payload in the KMIP XML encoding.
    Xml,
    /// The response payload in the KMIP JSON encoding.
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
    /// Create a symmetric key; prints its identifier.
    Create {
        #[arg(long, default_value = "AES")]
        algorithm: String,
        #[arg(long, default_value_t = 256)]
        length: i32,
        #[command(flatten)]
        attrs: NewAttrs,
    },
    /// Register a secret (password, drive key), symmetric key or opaque
    /// object; prints its identifier.
    Register {
        #[arg(long, value_enum, default_value_t = Kind::SecretData)]
        kind: Kind,
        /// The value, hex.
        #[arg(long, conflicts_with = "value_file")]
        value_hex: Option<String>,
        /// A file holding the value (raw bytes).
        #[arg(long)]
        value_file: Option<PathBuf>,
        /// For a symmetric key: its algorithm.
        #[arg(long, default_value = "AES")]
        algorithm: String,
        #[command(flatten)]
        attrs: NewAttrs,
    },
    /// Fetch an object; in text format prints its value in hex.
    Get { uid: String },
    /// Find objects; prints their identifiers.
    Locate {
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        group: Option<String>,
        /// Object type, e.g. SymmetricKey or SecretData.
        #[arg(long = "type")]
        object_type: Option<String>,
        /// State, e.g. Active.
        #[arg(long)]
        state: Option<String>,
        /// Custom attribute `x-Name=value` (repeatable).
        #[arg(long = "attr")]
        custom: Vec<String>,
        #[arg(long)]
        max: Option<i32>,
    },
    /// Show an object's attributes (all, or the named ones).
    GetAttributes {
        uid: String,
        /// Attribute names as in KMIP 1.x ("Cryptographic Length", "x-Drive").
        #[arg(long = "attr")]
        names: Vec<String>,
    },
    /// Pre-Active to Active.
    Activate { uid: String },
    /// Revoke: compromised keys become Compromised, others Deactivated.
    Revoke {
        uid: String,
        /// Unspecified, KeyCompromise, CACompromise, AffiliationChanged,
        /// Superseded, CessationOfOperation, PrivilegeWithdrawn.
        #[arg(long, default_value = "CessationOfOperation")]
        reason: String,
        #[arg(long)]
        message: Option<String>,
    },
    /// Destroy the key material (metadata stays).
    Destroy { uid: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    SecretData,
    SymmetricKey,
    Opaque,
}

/// Attributes for new objects.
#[derive(Args)]
struct NewAttrs {
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    group: Option<String>,
    /// Usage mask flags, e.g. "Encrypt Decrypt".
    #[arg(long)]
    usage: Option<String>,
    /// Custom attribute `x-Name=value` (repeatable).
    #[arg(long = "attr")]
    custom: Vec<String>,
}

/// `MAJOR.MINOR`, e.g. 1.2.
pub(crate) fn parse_version(s: &str) -> Result<ProtocolVersion, String> {
    let (a, b) = s.split_once('.').ok_or("expected MAJOR.MINOR")?;
    Ok(ProtocolVersion::new(
        a.parse().map_err(|_| "bad major")?,
        b.parse().map_err(|_| "bad minor")?,
    ))
}

fn enum_value(t: u32, name: &str) -> Result<u32, String> {
    match parse_scalar(t, ItemType::Enumeration, name) {
        Ok(Value::Enumeration(v)) => Ok(v),
        _ => Err(format!("{name:?} is not a valid {}", describe_tag(t))),
    }
}

/// A Name attribute (text string type), as Create and Locate send it.
pub(crate) fn name_item(name: &str) -> Item {
    Item::structure(
        tag::NAME,
        vec![
            Item::text(tag::NAME_VALUE, name),
            Item::enumeration(tag::NAME_TYPE, 1),
        ],
    )
}

fn custom_items(custom: &[String]) -> Result<Vec<Item>, String> {
    custom
        .iter()
        .map(|c| {
            let (name, value) = c
                .split_once('=')
                .ok_or(format!("{c:?}: expected x-Name=value"))?;
            let (vendor, n) = name
                .split_once('-')
                .filter(|(v, _)| matches!(*v, "x" | "y"))
                .ok_or(format!("{name:?}: custom attributes start with x- or y-"))?;
            Ok(vendor_attribute(
                vendor,
                n,
                Value::TextString(value.to_owned()),
            ))
        })
        .collect()
}

impl NewAttrs {
    fn items(&self) -> Result<Vec<Item>, String> {
        let mut out = Vec::new();
        if let Some(n) = &self.name {
            out.push(name_item(n));
        }
        if let Some(g) = &self.group {
            out.push(Item::text(tag::OBJECT_GROUP, g.clone()));
        }
        if let Some(u) = &self.usage {
            match parse_scalar(tag::CRYPTOGRAPHIC_USAGE_MASK, ItemType::Integer, u) {
                Ok(v) => out.push(Item::new(tag::CRYPTOGRAPHIC_USAGE_MASK, v)),
                Err(e) => return Err(e),
            }
        }
        out.extend(custom_items(&self.custom)?);
        Ok(out)
    }
}

/// Attributes in the request shape of the version.
pub(crate) fn attributes(version: ProtocolVersion, items: Vec<Item>) -> Item {
    if version.is_2x() {
        Item::structure(tag::ATTRIBUTES, items)
    } else {
        Item::structure(
            tag::TEMPLATE_ATTRIBUTE,
            items.iter().map(to_v1_attribute).collect(),
        )
    }
}

/// The three Query functions every server answers: operations, objects
/// and server information.
pub(crate) fn query_payload() -> Vec<Item> {
    [
        QueryFunction::QueryOperations,
        QueryFunction::QueryObjects,
        QueryFunction::QueryServerInformation,
    ]
    .iter()
    .map(|f| Item::enumeration(tag::QUERY_FUNCTION, f.value()))
    .collect()
}

/// A Create payload for a symmetric key of `algorithm` (enumeration value)
/// and `length` bits, with `extra` attributes (in the 2.x item form; they
/// are converted for 1.x).
pub(crate) fn create_symmetric(
    version: ProtocolVersion,
    algorithm: u32,
    length: i32,
    extra: Vec<Item>,
) -> Vec<Item> {
    let mut items = vec![
        Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, algorithm),
        Item::integer(tag::CRYPTOGRAPHIC_LENGTH, length),
    ];
    items.extend(extra);
    vec![
        Item::enumeration(tag::OBJECT_TYPE, ObjectType::SymmetricKey.value()),
        attributes(version, items),
    ]
}

/// A Locate payload matching every attribute in `items` (2.x item form),
/// at most `max` answers.
pub(crate) fn locate_payload(
    version: ProtocolVersion,
    items: Vec<Item>,
    max: Option<i32>,
) -> Vec<Item> {
    let mut payload = Vec::new();
    if let Some(m) = max {
        payload.push(Item::integer(tag::MAXIMUM_ITEMS, m));
    }
    if version.is_2x() {
        payload.push(Item::structure(tag::ATTRIBUTES, items));
    } else {
        payload.extend(items.iter().map(to_v1_attribute));
    }
    payload
}

fn request(args: &ClientArgs) -> Result<(Operation, Vec<Item>), String> {
    let v = args.kmip_version;
    let uid = |u: &String| Item::text(tag::UNIQUE_IDENTIFIER, u.clone());
    Ok(match &args.op {
        ClientOp::DiscoverVersions { offer } => (
            Operation::DiscoverVersions,
            offer.iter().map(|v| v.to_item()).collect(),
        ),
        ClientOp::Query => (Operation::Query, query_payload()),
        ClientOp::Create {
            algorithm,
            length,
            attrs,
        } => {
            let algorithm = enum_value(tag::CRYPTOGRAPHIC_ALGORITHM, algorithm)?;
            (
                Operation::Create,
                create_symmetric(v, algorithm, *length, attrs.items()?),
            )
        }
        ClientOp::Register {
            kind,
            value_hex,
            value_file,
            algorithm,
            attrs,
        } => {
            let value = match (value_hex, value_file) {
                (Some(h), _) => hex::decode(h.trim()).map_err(|e| format!("--value-hex: {e}"))?,
                (None, Some(f)) => std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?,
                (None, None) => return Err("give --value-hex or --value-file".into()),
            };
            let block = |format: u32, extra: Vec<Item>| {
                let mut b = vec![
                    Item::enumeration(tag::KEY_FORMAT_TYPE, format),
                    Item::structure(
                        tag::KEY_VALUE,
                        vec![Item::bytes(tag::KEY_MATERIAL, Bytes::new(value.clone()))],
                    ),
                ];
                b.extend(extra);
                Item::structure(tag::KEY_BLOCK, b)
            };
            const RAW: u32 = 1;
            const OPAQUE: u32 = 2;
            const PASSWORD: u32 = 1;
            let (object_type, object) = match kind {
                Kind::SecretData => (
                    ObjectType::SecretData,
                    Item::structure(
                        tag::SECRET_DATA,
                        vec![
                            Item::enumeration(tag::SECRET_DATA_TYPE, PASSWORD),
                            block(OPAQUE, vec![]),
                        ],
                    ),
                ),
                Kind::SymmetricKey => (
                    ObjectType::SymmetricKey,
                    Item::structure(
                        tag::SYMMETRIC_KEY,
                        vec![block(
                            RAW,
                            vec![
                                Item::enumeration(
                                    tag::CRYPTOGRAPHIC_ALGORITHM,
                                    enum_value(tag::CRYPTOGRAPHIC_ALGORITHM, algorithm)?,
                                ),
                                Item::integer(tag::CRYPTOGRAPHIC_LENGTH, (value.len() * 8) as i32),
                            ],
                        )],
                    ),
                ),
                Kind::Opaque => (
                    ObjectType::OpaqueObject,
                    Item::structure(
                        tag::OPAQUE_OBJECT,
                        vec![
                            Item::enumeration(tag::OPAQUE_DATA_TYPE, 0x8000_0000),
                            Item::bytes(tag::OPAQUE_DATA_VALUE, Bytes::new(value.clone())),
                        ],
                    ),
                ),
            };
            (
                Operation::Register,
                vec![
                    Item::enumeration(tag::OBJECT_TYPE, object_type.value()),
                    attributes(v, attrs.items()?),
                    object,
                ],
            )
        }
        ClientOp::Get { uid: u } => (Operation::Get, vec![uid(u)]),
        ClientOp::Locate {
            name,
            group,
            object_type,
            state,
            custom,
            max,
        } => {
            let mut items = Vec::new();
            if let Some(n) = name {
                items.push(name_item(n));
            }
            if let Some(g) = group {
                items.push(Item::text(tag::OBJECT_GROUP, g.clone()));
            }
            if let Some(t) = object_type {
                items.push(Item::enumeration(
                    tag::OBJECT_TYPE,
                    enum_value(tag::OBJECT_TYPE, t)?,
                ));
            }
            if let Some(s) = state {
                items.push(Item::enumeration(tag::STATE, enum_value(tag::STATE, s)?));
            }
            items.extend(custom_items(custom)?);
            (Operation::Locate, locate_payload(v, items, *max))
        }
        ClientOp::GetAttributes { uid: u, names } => {
            let mut payload = vec![uid(u)];
            for n in names {
                payload.push(if v.is_2x() {
                    match n.split_once('-').filter(|(vd, _)| matches!(*vd, "x" | "y")) {
                        Some((vendor, name)) => Item::structure(
                            tag::ATTRIBUTE_REFERENCE,
                            vec![
                                Item::text(tag::VENDOR_IDENTIFICATION, vendor),
                                Item::text(tag::ATTRIBUTE_NAME, name),
                            ],
                        ),
                        None => Item::enumeration(
                            tag::ATTRIBUTE_REFERENCE,
                            tag_by_attribute_name(n).ok_or(format!("unknown attribute {n:?}"))?,
                        ),
                    }
                } else {
                    Item::text(tag::ATTRIBUTE_NAME, n.clone())
                });
            }
            (Operation::GetAttributes, payload)
        }
        ClientOp::Activate { uid: u } => (Operation::Activate, vec![uid(u)]),
        ClientOp::Revoke {
            uid: u,
            reason,
            message,
        } => {
            let mut r = vec![Item::enumeration(
                tag::REVOCATION_REASON_CODE,
                enum_value(tag::REVOCATION_REASON_CODE, reason)?,
            )];
            if let Some(m) = message {
                r.push(Item::text(tag::REVOCATION_MESSAGE, m.clone()));
            }
            (
                Operation::Revoke,
                vec![uid(u), Item::structure(tag::REVOCATION_REASON, r)],
            )
        }
        ClientOp::Destroy { uid: u } => (Operation::Destroy, vec![uid(u)]),
    })
}

/// Text output: identifiers, or a value in hex; anything else as XML.
fn text(response: &Item) -> String {
    let uids: Vec<&str> = response
        .children_with(tag::UNIQUE_IDENTIFIER)
        .filter_map(Item::as_text)
        .collect();
    let value = [
        tag::SYMMETRIC_KEY,
        tag::SECRET_DATA,
        tag::OPAQUE_OBJECT,
        tag::CERTIFICATE,
    ]
    .iter()
    .find_map(|t| response.child(*t))
    .and_then(|o| {
        o.child(tag::KEY_BLOCK)
            .and_then(|b| b.child(tag::KEY_VALUE))
            .and_then(|v| v.child(tag::KEY_MATERIAL))
            .or_else(|| o.child(tag::OPAQUE_DATA_VALUE))
            .or_else(|| o.child(tag::CERTIFICATE_VALUE))
            .and_then(Item::as_bytes)
    });
    let only_ids = response.children().iter().all(|c| {
        matches!(
            c.tag,
            tag::UNIQUE_IDENTIFIER | tag::LOCATED_ITEMS | tag::OBJECT_TYPE
        )
    });
    match value {
        Some(v) => format!("{}\n", hex::encode(v)),
        None if only_ids => uids.iter().map(|u| format!("{u}\n")).collect(),
        None => xml::to_xml(response),
    }
}

/// The files of a client's mutual TLS, each defaulting to its usual name
/// in a certificate folder (as `lkm certs init` writes it).
#[derive(clap::Args)]
pub(crate) struct TlsFiles {
    /// CA certificate of the server [default: ca.crt in the certificate folder].
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Client certificate [default: client.crt in the certificate folder].
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Client key [default: client.key in the certificate folder].
    #[arg(long)]
    key: Option<PathBuf>,
}

impl TlsFiles {
    pub(crate) fn config(
        &self,
        certs: &std::path::Path,
    ) -> Result<std::sync::Arc<rustls::ClientConfig>, crate::server::tls::TlsSetupError> {
        let pick = |p: &Option<PathBuf>, file: &str| p.clone().unwrap_or_else(|| certs.join(file));
        client_config(
            &pick(&self.ca, "ca.crt"),
            &pick(&self.cert, "client.crt"),
            &pick(&self.key, "client.key"),
        )
    }
}

pub fn run(args: ClientArgs) -> Result<(), String> {
    let tls = args.tls.config(&args.certs).map_err(|e| e.to_string())?;
    let (op, payload) = request(&args)?;
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
        Format::Text => print!("{}", text(&response)),
        Format::Xml => print!("{}", xml::to_xml(&response)),
        Format::Json => println!("{}", json::to_json_string(&response)),
    }
    Ok(())
}
