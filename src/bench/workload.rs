//! The workloads: what is made before the run, and which request each
//! connection sends next. Requests that never change (a Get of key 17, a
//! Create) are encoded once, so the client spends its CPU on TLS and on
//! reading answers, and the server gets the rest of the machine.

use crate::cli::client::{create_symmetric, locate_payload, name_item};
use crate::kmip::{
    Operation, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage, tag,
};
use crate::ttlv::{self, Item};
use clap::ValueEnum;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Get of pre-made AES-256 keys, round robin.
    Get,
    /// Create of AES-256 keys (a durable write each).
    Create,
    /// Create, then Get, then Destroy the new key, over and over.
    CreateGetDestroy,
    /// Locate of a pre-made key by its Name.
    Locate,
    /// AES-GCM Encrypt of DATA_SIZE bytes with a pre-made Active key.
    Encrypt,
    /// A new TLS connection (full handshake) per request, then DiscoverVersions.
    Handshake,
    /// 70% Get, 20% Locate, 10% Create.
    Mix,
}

impl Workload {
    pub const ALL: [Workload; 7] = [
        Workload::Get,
        Workload::Create,
        Workload::CreateGetDestroy,
        Workload::Locate,
        Workload::Encrypt,
        Workload::Handshake,
        Workload::Mix,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Get => "get",
            Workload::Create => "create",
            Workload::CreateGetDestroy => "create-get-destroy",
            Workload::Locate => "locate",
            Workload::Encrypt => "encrypt",
            Workload::Handshake => "handshake",
            Workload::Mix => "mix",
        }
    }

    /// Whether keys are made before the run.
    pub(crate) fn needs_keys(self) -> bool {
        matches!(
            self,
            Workload::Get | Workload::Locate | Workload::Encrypt | Workload::Mix
        )
    }

    /// Whether connections stay open between requests.
    pub(crate) fn persistent(self) -> bool {
        self != Workload::Handshake
    }
}

/// One kind of request, for per-operation figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum OpKind {
    Get,
    Create,
    Locate,
    Encrypt,
    Destroy,
    Handshake,
}

impl OpKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Create => "create",
            OpKind::Locate => "locate",
            OpKind::Encrypt => "encrypt",
            OpKind::Destroy => "destroy",
            OpKind::Handshake => "handshake",
        }
    }
}

/// Usage mask of the keys made here: Encrypt | Decrypt. PyKMIP's server
/// refuses a Create without one, and encrypt needs the Encrypt bit.
const USAGE_ENCRYPT_DECRYPT: i32 = 0x04 | 0x08;
const AES: u32 = 0x03;
const MODE_GCM: u32 = 0x09;

/// One request in a one-item batch, encoded.
pub(crate) fn encode(version: ProtocolVersion, op: Operation, payload: Vec<Item>) -> Vec<u8> {
    let request = RequestMessage {
        header: RequestHeader::new(version, 1),
        items: vec![RequestBatchItem {
            operation: op.value(),
            unique_batch_item_id: None,
            payload: Some(Item::structure(tag::REQUEST_PAYLOAD, payload)),
            message_extensions: Vec::new(),
        }],
    };
    ttlv::encode(&request.to_item())
}

/// The Create payload of every key made here (AES-256, Encrypt|Decrypt),
/// named when `name` is given.
pub(crate) fn create_payload(version: ProtocolVersion, name: Option<&str>) -> Vec<Item> {
    let mut extra = vec![Item::integer(
        tag::CRYPTOGRAPHIC_USAGE_MASK,
        USAGE_ENCRYPT_DECRYPT,
    )];
    extra.extend(name.map(name_item));
    create_symmetric(version, AES, 256, extra)
}

pub(crate) fn uid_payload(uid: &str) -> Vec<Item> {
    vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)]
}

/// The pre-made keys: their identifiers and names.
pub(crate) struct Keys {
    pub uids: Vec<String>,
    pub names: Vec<String>,
}

/// Requests encoded once before the run and shared by every connection.
pub(crate) struct Requests {
    pub version: ProtocolVersion,
    get: Vec<Vec<u8>>,
    locate: Vec<Vec<u8>>,
    encrypt: Vec<Vec<u8>>,
    create: Vec<u8>,
    pub discover: Vec<u8>,
}

impl Requests {
    pub(crate) fn new(
        version: ProtocolVersion,
        workload: Workload,
        keys: &Keys,
        data_size: usize,
    ) -> Self {
        let per_key = |wanted: bool, f: &dyn Fn(usize) -> Vec<u8>| -> Vec<Vec<u8>> {
            if wanted {
                (0..keys.uids.len()).map(f).collect()
            } else {
                Vec::new()
            }
        };
        let w = workload;
        let get = per_key(matches!(w, Workload::Get | Workload::Mix), &|i| {
            encode(version, Operation::Get, uid_payload(&keys.uids[i]))
        });
        let locate = per_key(matches!(w, Workload::Locate | Workload::Mix), &|i| {
            encode(
                version,
                Operation::Locate,
                locate_payload(version, vec![name_item(&keys.names[i])], None),
            )
        });
        // GCM with a 16-byte tag and no IV: each server draws a fresh
        // nonce per request (lkm 12 bytes, PyKMIP 16), so no nonce repeats.
        let data = vec![0x5Au8; data_size];
        let encrypt = per_key(w == Workload::Encrypt, &|i| {
            encode(
                version,
                Operation::Encrypt,
                vec![
                    Item::text(tag::UNIQUE_IDENTIFIER, keys.uids[i].clone()),
                    Item::structure(
                        tag::CRYPTOGRAPHIC_PARAMETERS,
                        vec![
                            // In the specification's order (PyKMIP
                            // insists): mode, algorithm, tag length.
                            Item::enumeration(tag::BLOCK_CIPHER_MODE, MODE_GCM),
                            Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, AES),
                            Item::integer(tag::TAG_LENGTH, 16),
                        ],
                    ),
                    Item::bytes(tag::DATA, data.clone()),
                ],
            )
        });
        Self {
            version,
            get,
            locate,
            encrypt,
            create: encode(version, Operation::Create, create_payload(version, None)),
            discover: encode(version, Operation::DiscoverVersions, Vec::new()),
        }
    }
}

/// The request to send next.
pub(crate) struct Step<'a> {
    pub kind: OpKind,
    pub request: std::borrow::Cow<'a, [u8]>,
}

/// One connection's sequence of requests. Connections start at different
/// keys so they do not all read the same one.
pub(crate) struct Sequence {
    workload: Workload,
    n: u64,
    key: usize,
    /// create-get-destroy: the key made by the last Create, and whether
    /// its Get is done.
    made: Option<(String, bool)>,
}

impl Sequence {
    pub(crate) fn new(
        workload: Workload,
        connection: usize,
        connections: usize,
        keys: usize,
    ) -> Self {
        let key = if keys == 0 {
            0
        } else {
            connection * keys / connections.max(1)
        };
        Self {
            workload,
            n: 0,
            key,
            made: None,
        }
    }

    fn next_key(&mut self, count: usize) -> usize {
        let k = self.key % count.max(1);
        self.key = k + 1;
        k
    }

    pub(crate) fn next<'a>(&mut self, r: &'a Requests) -> Step<'a> {
        use std::borrow::Cow::{Borrowed, Owned};
        let n = self.n;
        self.n += 1;
        let step = |kind, bytes: &'a [u8]| Step {
            kind,
            request: Borrowed(bytes),
        };
        match self.workload {
            Workload::Get => {
                let k = self.next_key(r.get.len());
                step(OpKind::Get, &r.get[k])
            }
            Workload::Locate => {
                let k = self.next_key(r.locate.len());
                step(OpKind::Locate, &r.locate[k])
            }
            Workload::Encrypt => {
                let k = self.next_key(r.encrypt.len());
                step(OpKind::Encrypt, &r.encrypt[k])
            }
            Workload::Create => step(OpKind::Create, &r.create),
            Workload::Handshake => step(OpKind::Handshake, &r.discover),
            Workload::Mix => match n % 10 {
                0..=6 => {
                    let k = self.next_key(r.get.len());
                    step(OpKind::Get, &r.get[k])
                }
                7 | 8 => {
                    let k = self.next_key(r.locate.len());
                    step(OpKind::Locate, &r.locate[k])
                }
                _ => step(OpKind::Create, &r.create),
            },
            Workload::CreateGetDestroy => match &self.made {
                None => step(OpKind::Create, &r.create),
                Some((uid, false)) => Step {
                    kind: OpKind::Get,
                    request: Owned(encode(r.version, Operation::Get, uid_payload(uid))),
                },
                Some((uid, true)) => Step {
                    kind: OpKind::Destroy,
                    request: Owned(encode(r.version, Operation::Destroy, uid_payload(uid))),
                },
            },
        }
    }

    /// Moves create-get-destroy on after an answer: a made key is read,
    /// then destroyed; any failure starts again with a Create.
    pub(crate) fn done(&mut self, kind: OpKind, payload: Option<&Item>) {
        if self.workload != Workload::CreateGetDestroy {
            return;
        }
        self.made = match (kind, payload, self.made.take()) {
            (OpKind::Create, Some(p), _) => p
                .child(tag::UNIQUE_IDENTIFIER)
                .and_then(Item::as_text)
                .map(|u| (u.to_owned(), false)),
            (OpKind::Get, Some(_), Some((uid, false))) => Some((uid, true)),
            _ => None,
        };
    }
}

/// Checks an answer beyond its result status: a Create names its key, a
/// Locate of a pre-made key finds it. None when it is as expected.
pub(crate) fn unexpected(kind: OpKind, payload: &Item) -> Option<&'static str> {
    match kind {
        OpKind::Create if payload.child(tag::UNIQUE_IDENTIFIER).is_none() => {
            Some("Create answer without Unique Identifier")
        }
        OpKind::Locate if payload.child(tag::UNIQUE_IDENTIFIER).is_none() => {
            Some("Locate found no object")
        }
        OpKind::Encrypt if payload.child(tag::DATA).is_none() => {
            Some("Encrypt answer without Data")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requests(workload: Workload) -> Requests {
        let keys = Keys {
            uids: vec!["a".into(), "b".into()],
            names: vec!["n-a".into(), "n-b".into()],
        };
        Requests::new(ProtocolVersion::new(1, 2), workload, &keys, 64)
    }

    #[test]
    fn mix_is_seven_gets_two_locates_one_create() {
        let r = requests(Workload::Mix);
        let mut s = Sequence::new(Workload::Mix, 0, 1, 2);
        let kinds: Vec<OpKind> = (0..10).map(|_| s.next(&r).kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == OpKind::Get).count(), 7);
        assert_eq!(kinds.iter().filter(|k| **k == OpKind::Locate).count(), 2);
        assert_eq!(kinds.iter().filter(|k| **k == OpKind::Create).count(), 1);
    }

    #[test]
    fn create_get_destroy_follows_the_made_key() {
        let r = requests(Workload::CreateGetDestroy);
        let mut s = Sequence::new(Workload::CreateGetDestroy, 0, 1, 0);
        assert_eq!(s.next(&r).kind, OpKind::Create);
        let made = Item::structure(tag::RESPONSE_PAYLOAD, uid_payload("k1"));
        s.done(OpKind::Create, Some(&made));
        assert_eq!(s.next(&r).kind, OpKind::Get);
        s.done(OpKind::Get, Some(&made));
        assert_eq!(s.next(&r).kind, OpKind::Destroy);
        s.done(OpKind::Destroy, Some(&made));
        assert_eq!(s.next(&r).kind, OpKind::Create);
        // A failed Create is simply retried.
        s.done(OpKind::Create, None);
        assert_eq!(s.next(&r).kind, OpKind::Create);
    }

    #[test]
    fn connections_start_on_different_keys() {
        let r = requests(Workload::Get);
        let mut a = Sequence::new(Workload::Get, 0, 2, 2);
        let mut b = Sequence::new(Workload::Get, 1, 2, 2);
        assert_ne!(a.next(&r).request, b.next(&r).request);
    }
}
