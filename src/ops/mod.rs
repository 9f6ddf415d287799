//! KMIP operations, one file each. Every operation is a function from the
//! caller's context and the request payload to a response payload or a
//! KMIP-shaped error; the server layer handles batches and framing.

mod activate;
mod adjust_attribute;
mod attrs;
mod check;
mod create;
mod create_key_pair;
mod crypto;
mod decrypt;
mod derive_key;
mod destroy;
mod discover_versions;
mod edit_attributes;
mod encrypt;
mod get;
mod get_attribute_list;
mod get_attributes;
mod interop;
mod locate;
mod log;
mod mac;
mod mac_verify;
mod query;
mod register;
mod rekey;
mod revoke;
mod rng_retrieve;
mod sign;
mod signature_verify;
mod usage_allocation;
mod wrap;

use crate::auth::Identity;
use crate::keystore::{IndexKind, KeyStore, KeyStoreError, Owners};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ObjectType, Operation, ProtocolVersion, ResultReason};
use crate::objects::{ManagedObject, State};
use crate::ttlv::Item;
use tracing::error;

/// What the operations may read about the server itself.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    pub vendor_identification: String,
    pub wrapped_key_value: crate::config::WrappedKeyValue,
}

impl Default for ServerInfo {
    fn default() -> Self {
        Self {
            vendor_identification: format!("lkm {}", env!("CARGO_PKG_VERSION")),
            wrapped_key_value: crate::config::WrappedKeyValue::default(),
        }
    }
}

/// Everything an operation knows about the request it serves.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub identity: &'a Identity,
    /// The version the response is written in.
    pub version: ProtocolVersion,
    pub server: &'a ServerInfo,
    pub keystore: &'a KeyStore,
    /// An admin identity sees and manages every object.
    pub admin: bool,
    /// Who is acting, for the audit entries of the changes made.
    pub audit: &'a crate::audit::Scope,
}

impl Context<'_> {
    /// The key store, with every write recorded in the audit log.
    pub fn writer(&self) -> crate::keystore::Audited<'_> {
        self.keystore.audited(self.audit)
    }
}

/// The operations this build serves, in the order Query lists them.
pub const SUPPORTED_OPERATIONS: &[Operation] = &[
    Operation::Query,
    Operation::Locate,
    Operation::Destroy,
    Operation::Get,
    Operation::Create,
    Operation::CreateKeyPair,
    Operation::Register,
    Operation::GetAttributes,
    Operation::GetAttributeList,
    Operation::AddAttribute,
    Operation::ModifyAttribute,
    Operation::DeleteAttribute,
    Operation::SetAttribute,
    Operation::AdjustAttribute,
    Operation::Activate,
    Operation::Revoke,
    Operation::ReKey,
    Operation::Check,
    Operation::GetUsageAllocation,
    Operation::Encrypt,
    Operation::Decrypt,
    Operation::Sign,
    Operation::SignatureVerify,
    Operation::DeriveKey,
    Operation::MAC,
    Operation::MACVerify,
    Operation::RNGRetrieve,
    Operation::DiscoverVersions,
    Operation::Log,
    Operation::Interop,
];

/// The object types this build stores.
pub const SUPPORTED_OBJECT_TYPES: &[ObjectType] = &[
    ObjectType::Certificate,
    ObjectType::SymmetricKey,
    ObjectType::PublicKey,
    ObjectType::PrivateKey,
    ObjectType::SplitKey,
    ObjectType::SecretData,
    ObjectType::OpaqueObject,
    ObjectType::PGPKey,
];

/// Runs one batch item's operation. `payload` is the Request Payload
/// structure, if the request had one.
pub fn dispatch(ctx: &Context<'_>, op: Operation, payload: Option<&Item>) -> KmipResult<Item> {
    let empty = Item::structure(tag::REQUEST_PAYLOAD, Vec::new());
    let payload = payload.unwrap_or(&empty);
    // Everything but discovery needs the keys: refuse while sealed.
    if !matches!(op, Operation::DiscoverVersions | Operation::Query) {
        ctx.keystore.keyring().map_err(store_error)?;
    }
    match op {
        Operation::DiscoverVersions => discover_versions::run(ctx, payload),
        Operation::Query => query::run(ctx, payload),
        Operation::Create => create::run(ctx, payload),
        Operation::CreateKeyPair => create_key_pair::run(ctx, payload),
        Operation::Encrypt => encrypt::run(ctx, payload),
        Operation::DeriveKey => derive_key::run(ctx, payload),
        Operation::MAC => mac::run(ctx, payload),
        Operation::MACVerify => mac_verify::run(ctx, payload),
        Operation::RNGRetrieve => rng_retrieve::run(ctx, payload),
        Operation::Decrypt => decrypt::run(ctx, payload),
        Operation::Sign => sign::run(ctx, payload),
        Operation::SignatureVerify => signature_verify::run(ctx, payload),
        Operation::Register => register::run(ctx, payload),
        Operation::Get => get::run(ctx, payload),
        Operation::Activate => activate::run(ctx, payload),
        Operation::Destroy => destroy::run(ctx, payload),
        Operation::GetAttributes => get_attributes::run(ctx, payload),
        Operation::GetAttributeList => get_attribute_list::run(ctx, payload),
        Operation::AddAttribute => edit_attributes::run(ctx, payload, edit_attributes::Edit::Add),
        Operation::ModifyAttribute => {
            edit_attributes::run(ctx, payload, edit_attributes::Edit::Modify)
        }
        Operation::DeleteAttribute => {
            edit_attributes::run(ctx, payload, edit_attributes::Edit::Delete)
        }
        Operation::SetAttribute => edit_attributes::run(ctx, payload, edit_attributes::Edit::Set),
        Operation::Locate => locate::run(ctx, payload),
        Operation::Revoke => revoke::run(ctx, payload),
        Operation::ReKey => rekey::run(ctx, payload),
        Operation::GetUsageAllocation => usage_allocation::run(ctx, payload),
        Operation::AdjustAttribute => adjust_attribute::run(ctx, payload),
        Operation::Check => check::run(ctx, payload),
        Operation::Interop => interop::run(ctx, payload),
        Operation::Log => log::run(ctx, payload),
        other => Err(KmipError::new(
            ResultReason::OperationNotSupported,
            format!("operation {} is not supported by this server", other.name()),
        )),
    }
}

/// Store failures as the client sees them: the seal state is said as is;
/// anything else is logged here and reported without internals.
pub(crate) fn store_error(e: KeyStoreError) -> KmipError {
    match e {
        KeyStoreError::Sealed(_) | KeyStoreError::NotInitialized => {
            KmipError::new(ResultReason::GeneralFailure, e.to_string())
        }
        // Which quorum is missing, or that the outcome is unknown: the
        // client must know not to count on the write.
        KeyStoreError::Submit(_) | KeyStoreError::Changed { .. } => {
            KmipError::new(ResultReason::GeneralFailure, e.to_string())
        }
        KeyStoreError::Exists(uid) => KmipError::new(
            ResultReason::ObjectAlreadyExists,
            format!("object {uid} already exists"),
        ),
        other => {
            error!(error = %other, "key store failure");
            KmipError::new(
                ResultReason::GeneralFailure,
                "the key store could not complete the operation; see the server log",
            )
        }
    }
}

impl From<KeyStoreError> for KmipError {
    fn from(e: KeyStoreError) -> Self {
        store_error(e)
    }
}

/// Wraps response fields in a Response Payload.
fn response(children: Vec<Item>) -> Item {
    Item::structure(tag::RESPONSE_PAYLOAD, children)
}

/// The Unique Identifier a request names.
fn requested_uid(payload: &Item) -> KmipResult<&str> {
    payload
        .child(tag::UNIQUE_IDENTIFIER)
        .and_then(Item::as_text)
        .ok_or_else(|| KmipError::missing_data("the request needs a Unique Identifier"))
}

/// Not found and not yours look the same from outside: a client learns
/// nothing about objects it does not own.
fn not_found(uid: &str) -> KmipError {
    // Object Not Found in 2.x; 1.x clients read it as Item Not Found.
    KmipError::new(ResultReason::ObjectNotFound, format!("no object {uid}"))
}

fn owned_by(o: &ManagedObject, identity: &Identity) -> bool {
    identity.owns(&o.owner)
}

/// Whether the caller may see and manage the object.
fn may_access(ctx: &Context<'_>, o: &ManagedObject) -> bool {
    ctx.admin || owned_by(o, ctx.identity)
}

/// Loads an object the caller owns, with its state brought up to date.
fn load_owned(ctx: &Context<'_>, uid: &str) -> KmipResult<ManagedObject> {
    match ctx.keystore.load(uid)? {
        Some(mut o) if may_access(ctx, &o) => {
            follow_dates(&mut o, now());
            Ok(o)
        }
        _ => Err(not_found(uid)),
    }
}

/// Activation and Deactivation Dates move the state when they pass.
fn follow_dates(o: &mut ManagedObject, t: i64) {
    let passed = |o: &ManagedObject, tag| {
        o.first_attribute(tag)
            .and_then(Item::as_date_time)
            .is_some_and(|d| d <= t)
    };
    if o.state == State::PreActive && passed(o, tag::ACTIVATION_DATE) {
        o.state = State::Active;
    }
    if o.state == State::Active && passed(o, tag::DEACTIVATION_DATE) {
        o.state = State::Deactivated;
    }
}

/// Changes an object the caller owns, atomically and durably.
fn update_owned(
    ctx: &Context<'_>,
    uid: &str,
    change: impl FnOnce(&mut ManagedObject) -> KmipResult<()>,
) -> KmipResult<ManagedObject> {
    update_owned_with(ctx.writer(), ctx, uid, change)
}

pub(crate) fn update_owned_with(
    writer: crate::keystore::Audited<'_>,
    ctx: &Context<'_>,
    uid: &str,
    change: impl FnOnce(&mut ManagedObject) -> KmipResult<()>,
) -> KmipResult<ManagedObject> {
    writer
        .update(uid, |o: &mut ManagedObject| {
            if !may_access(ctx, o) {
                return Err(not_found(uid));
            }
            follow_dates(o, now());
            change(o)
        })?
        .ok_or_else(|| not_found(uid))
}

/// A Link attribute to another object.
fn link(kind: u32, uid: &str) -> Item {
    Item::structure(
        tag::LINK,
        vec![
            Item::enumeration(tag::LINK_TYPE, kind),
            Item::text(tag::LINKED_OBJECT_IDENTIFIER, uid),
        ],
    )
}

/// Fresh key material from the system's DRBG (aws-lc), wiped on drop
/// once it has been moved into a key block.
fn random_bytes(len: usize) -> KmipResult<crate::ttlv::Bytes> {
    let mut material = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut material).map_err(|_| {
        KmipError::new(
            ResultReason::CryptographicFailure,
            "the random generator failed",
        )
    })?;
    Ok(crate::ttlv::Bytes::new(material))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn object_type_of(payload: &Item) -> KmipResult<ObjectType> {
    let v = payload
        .child(tag::OBJECT_TYPE)
        .and_then(Item::as_enumeration)
        .ok_or_else(|| KmipError::missing_data("the request needs an Object Type"))?;
    ObjectType::from_u32(v).ok_or_else(|| {
        KmipError::new(
            ResultReason::InvalidObjectType,
            format!("unknown Object Type {v}"),
        )
    })
}

/// The object-structure tag that carries an object type's value.
fn object_tag(t: ObjectType) -> Option<u32> {
    Some(match t {
        ObjectType::SymmetricKey => tag::SYMMETRIC_KEY,
        ObjectType::SecretData => tag::SECRET_DATA,
        ObjectType::OpaqueObject => tag::OPAQUE_OBJECT,
        ObjectType::Certificate => tag::CERTIFICATE,
        ObjectType::PublicKey => tag::PUBLIC_KEY,
        ObjectType::PrivateKey => tag::PRIVATE_KEY,
        ObjectType::SplitKey => tag::SPLIT_KEY,
        ObjectType::PGPKey => tag::PGP_KEY,
        ObjectType::CertificateRequest => tag::CERTIFICATE_REQUEST,
        ObjectType::Template => tag::TEMPLATE,
    })
}

const SHA_256: u32 = 0x06;

/// SHA-256 of the object's value as stored (key material in its format,
/// certificate or opaque bytes), as the Digest attribute carries it.
fn digest(object: &Item) -> Option<Item> {
    let (bytes, format) = if let Some(block) = object.child(tag::KEY_BLOCK) {
        let material = block
            .child(tag::KEY_VALUE)?
            .child(tag::KEY_MATERIAL)?
            .as_bytes()?;
        (material, block.child(tag::KEY_FORMAT_TYPE).cloned())
    } else if let Some(v) = object
        .child(tag::CERTIFICATE_VALUE)
        .or_else(|| object.child(tag::OPAQUE_DATA_VALUE))
    {
        (v.as_bytes()?, None)
    } else {
        return None;
    };
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut fields = vec![
        Item::enumeration(tag::HASHING_ALGORITHM, SHA_256),
        Item::bytes(tag::DIGEST_VALUE, d.as_ref()),
    ];
    fields.extend(format);
    Some(Item::structure(tag::DIGEST, fields))
}

/// A request's attributes, with those of the 1.x templates it names
/// first (its own values replace a template's single-valued ones).
fn request_attributes(ctx: &Context<'_>, payload: &Item) -> KmipResult<Vec<Item>> {
    use crate::kmip::attributes;
    let own = attributes::from_payload(payload)?;
    let mut merged: Vec<Item> = Vec::new();
    for name in attributes::template_names(payload) {
        // Only the caller's own templates, even for an admin: another
        // tenant's objects are never read, nor can they crowd these out.
        let template = ctx
            .keystore
            .lookup(
                Owners::Of(&ctx.identity.owners()),
                IndexKind::Name,
                name.as_bytes(),
                64,
            )?
            .into_iter()
            .filter_map(|uid| ctx.keystore.load(&uid).ok().flatten())
            .find(|o| owned_by(o, ctx.identity) && o.object_type == ObjectType::Template)
            .ok_or_else(|| {
                KmipError::new(
                    ResultReason::ItemNotFound,
                    format!("no template named {name:?}"),
                )
            })?;
        if let Some(t) = &template.object {
            merged.extend(attributes::from_template(t)?);
        }
    }
    for a in own {
        if !attrs::multi_valued(a.tag) {
            merged.retain(|m| m.tag != a.tag);
        }
        merged.push(a);
    }
    Ok(merged)
}

/// Refuses attributes a client may not set (Fresh and the certificate's
/// type may be stated; the server sets them anyway).
fn refuse_read_only(attributes: &[Item]) -> KmipResult<()> {
    match attributes.iter().find(|a| {
        attrs::READ_ONLY.contains(&a.tag) && !matches!(a.tag, tag::FRESH | tag::CERTIFICATE_TYPE)
    }) {
        Some(ro) => Err(KmipError::new(
            ResultReason::AttributeReadOnly,
            format!("{} is set by the server", crate::ttlv::describe_tag(ro.tag)),
        )),
        None => Ok(()),
    }
}

/// A new object owned by the caller with the server-set attributes:
/// Pre-Active (or later, if its dates have passed), Initial and Last
/// Change Dates, Digest, and Fresh until first served.
fn new_object(
    ctx: &Context<'_>,
    object_type: ObjectType,
    attributes: Vec<Item>,
    object: Item,
) -> KmipResult<ManagedObject> {
    refuse_read_only(&attributes)?;
    let mut attributes: Vec<Item> = attributes
        .into_iter()
        .map(usage_allocation::with_count)
        .collect();
    let t = now();
    attributes.push(Item::date_time(tag::INITIAL_DATE, t));
    attributes.push(Item::date_time(tag::LAST_CHANGE_DATE, t));
    if let Some(d) = digest(&object) {
        attributes.push(d);
    }
    if !attributes.iter().any(|a| a.tag == tag::FRESH) {
        attributes.push(Item::boolean(tag::FRESH, true));
    }
    // Sensitive and Extractable are stated on every object (KMIP's
    // defaults: not Sensitive, Extractable), and Always Sensitive / Never
    // Extractable record its history from its birth. The edits only let
    // Sensitive go on and Extractable go off, so they stay true.
    if object_type != ObjectType::Template {
        let sensitive = attrs::flag(&attributes, tag::SENSITIVE)?.unwrap_or(false);
        let extractable = attrs::flag(&attributes, tag::EXTRACTABLE)?.unwrap_or(true);
        for (t, v) in [
            (tag::SENSITIVE, sensitive),
            (tag::EXTRACTABLE, extractable),
            (tag::ALWAYS_SENSITIVE, sensitive),
            (tag::NEVER_EXTRACTABLE, !extractable),
        ] {
            if !attributes.iter().any(|a| a.tag == t) {
                attributes.push(Item::boolean(t, v));
            }
        }
    }
    let mut o = ManagedObject {
        uid: uuid::Uuid::new_v4().to_string(),
        object_type,
        state: State::PreActive,
        owner: ctx.identity.owner.clone(),
        owner_name: ctx.identity.common_name.clone().unwrap_or_default(),
        attributes,
        object: Some(object),
    };
    follow_dates(&mut o, t);
    Ok(o)
}
