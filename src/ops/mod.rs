//! KMIP operations, one file each. Every operation is a function from the
//! caller's context and the request payload to a response payload or a
//! KMIP-shaped error; the server layer handles batches and framing.

mod activate;
mod create;
mod destroy;
mod discover_versions;
mod get;
mod query;
mod register;

use crate::auth::Identity;
use crate::keystore::{KeyStore, KeyStoreError};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ObjectType, Operation, ProtocolVersion, ResultReason};
use crate::objects::ManagedObject;
use crate::ttlv::Item;
use tracing::error;

/// What the operations may read about the server itself.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    pub vendor_identification: String,
}

impl Default for ServerInfo {
    fn default() -> Self {
        Self {
            vendor_identification: format!("lkm {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Everything an operation knows about the request it serves.
pub struct Context<'a> {
    pub identity: &'a Identity,
    /// The version the response is written in.
    pub version: ProtocolVersion,
    pub server: &'a ServerInfo,
    pub keystore: &'a KeyStore,
}

/// The operations this build serves, in the order Query lists them.
pub const SUPPORTED_OPERATIONS: &[Operation] = &[
    Operation::Query,
    Operation::DiscoverVersions,
    Operation::Create,
    Operation::Register,
    Operation::Get,
    Operation::Activate,
    Operation::Destroy,
];

/// The object types this build stores.
pub const SUPPORTED_OBJECT_TYPES: &[ObjectType] = &[
    ObjectType::SymmetricKey,
    ObjectType::SecretData,
    ObjectType::OpaqueObject,
    ObjectType::Certificate,
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
        Operation::Register => register::run(ctx, payload),
        Operation::Get => get::run(ctx, payload),
        Operation::Activate => activate::run(ctx, payload),
        Operation::Destroy => destroy::run(ctx, payload),
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
    KmipError::new(ResultReason::ItemNotFound, format!("no object {uid}"))
}

fn owned_by(o: &ManagedObject, identity: &Identity) -> bool {
    o.owner == identity.fingerprint
}

/// Loads an object the caller owns.
fn load_owned(ctx: &Context<'_>, uid: &str) -> KmipResult<ManagedObject> {
    match ctx.keystore.load(uid)? {
        Some(o) if owned_by(&o, ctx.identity) => Ok(o),
        _ => Err(not_found(uid)),
    }
}

/// Changes an object the caller owns, atomically.
fn update_owned(
    ctx: &Context<'_>,
    uid: &str,
    change: impl FnOnce(&mut ManagedObject) -> KmipResult<()>,
) -> KmipResult<ManagedObject> {
    let identity = ctx.identity;
    ctx.keystore
        .update(uid, |o: &mut ManagedObject| {
            if !owned_by(o, identity) {
                return Err(not_found(uid));
            }
            change(o)
        })?
        .ok_or_else(|| not_found(uid))
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
        _ => return None,
    })
}

/// A new object owned by the caller, Pre-Active, with the server-set dates.
fn new_object(
    ctx: &Context<'_>,
    object_type: ObjectType,
    mut attributes: Vec<Item>,
    object: Item,
) -> ManagedObject {
    let t = now();
    attributes.retain(|a| {
        !matches!(
            a.tag,
            tag::INITIAL_DATE
                | tag::LAST_CHANGE_DATE
                | tag::STATE
                | tag::UNIQUE_IDENTIFIER
                | tag::OBJECT_TYPE
        )
    });
    attributes.push(Item::date_time(tag::INITIAL_DATE, t));
    attributes.push(Item::date_time(tag::LAST_CHANGE_DATE, t));
    ManagedObject {
        uid: uuid::Uuid::new_v4().to_string(),
        object_type,
        state: crate::objects::State::PreActive,
        owner: ctx.identity.fingerprint.clone(),
        owner_name: ctx.identity.common_name.clone().unwrap_or_default(),
        attributes,
        object: Some(object),
    }
}
