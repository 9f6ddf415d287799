//! One audit entry, as stored (compact JSON, hashed byte for byte) and as
//! exported.

use serde::{Deserialize, Serialize};

/// A draft with the time it happened, decided before it is proposed: the
/// chain (sequence number, link to the entry before) is made when the
/// command carrying it is applied, identically on every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    pub time_ms: i64,
    /// As its JSON text: the draft's optional fields are left out of the
    /// JSON, which a binary format without field names cannot express.
    #[serde(with = "draft_as_json")]
    pub draft: Draft,
}

mod draft_as_json {
    use super::Draft;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Draft, s: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(d).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Draft, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
}

/// What a caller knows of an action before the log orders it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// Who acted: `cn:NAME` of a client certificate, or the admin channel.
    pub actor: String,
    /// SHA-256 of the client certificate (hex); empty for local admin actions.
    pub fingerprint: String,
    /// The client's address, or `local` for the admin socket and the CLI.
    pub peer: String,
    /// The KMIP operation (`Create`, `Get`...) or admin action (`Unseal`...).
    pub operation: String,
    /// Objects the action named or produced.
    pub uids: Vec<String>,
    /// `Success`, or the KMIP result status.
    pub status: String,
    /// The KMIP result reason, or the admin action's failure, when it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// What an admin action did, in words (never a secret).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
    /// On an `AuditAnchor` entry: the key holder's word for the chain up
    /// to an earlier entry (see [`Anchor`]). Absent everywhere else, so
    /// entries written before anchors existed decode and hash unchanged.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub anchor: Option<Anchor>,
}

/// Entry `through_seq` had stored-bytes hash `hash` when a holder of the
/// audit key looked, and so, through the `prev` links, did every entry
/// before it. Entries are placed in the chain when a replicated command is
/// applied, with no key (a sealed node applies the same commands and must
/// write the same bytes); anchors are how the key holder vouches for them
/// afterwards. Only the key's holder can make `mac`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub through_seq: u64,
    pub hash: String,
    /// HMAC-SHA256 with the audit key over the cluster id, `through_seq`
    /// and `hash` (see [`super::MacKey::anchor`]).
    pub mac: String,
}

/// A stored entry: the draft, placed in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    /// Unix time in milliseconds (for retention and filters).
    pub time_ms: i64,
    #[serde(flatten)]
    pub draft: Draft,
    /// Hash of the entry before this one (or of the checkpoint's last pruned
    /// entry, or 64 zeros for the first entry ever).
    pub prev: String,
    /// On the first entry written with the key after entries without a
    /// MAC: what those entries are (see [`Gap`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gap: Option<Gap>,
    /// HMAC-SHA256, with the audit key, of the stored entry without this
    /// field; absent on entries written while the store was sealed (and by
    /// lkm before MACs existed). Through `prev`, a MAC that checks also
    /// vouches for every entry before this one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mac: Option<String>,
}

/// The entries without a MAC just before the entry that carries this: a
/// server that gets the key writes, in its first entry with a MAC, which
/// of them it wrote itself while sealed (it vouches for those) and which
/// it found in the store (nobody vouches for those: they were written
/// before MACs existed, or by an earlier run that was never unsealed, or
/// by someone who altered the store while the server was stopped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub inherited: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sealed: Option<Span>,
}

/// Entries `first` to `last`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub first: u64,
    pub last: u64,
}

impl Span {
    /// The span from `first` to `last`, if it holds any entry.
    pub fn new(first: u64, last: u64) -> Option<Span> {
        (first <= last).then_some(Span { first, last })
    }
}

impl Gap {
    /// The entries the gap accounts for, from the first to the last.
    pub fn span(&self) -> Option<Span> {
        match (self.inherited, self.sealed) {
            (Some(i), Some(s)) => Some(Span {
                first: i.first,
                last: s.last,
            }),
            (one, other) => one.or(other),
        }
    }

    /// Whether the two parts follow each other without a hole.
    pub fn contiguous(&self) -> bool {
        match (self.inherited, self.sealed) {
            (Some(i), Some(s)) => i.last.checked_add(1) == Some(s.first),
            _ => true,
        }
    }
}

/// At most this many uids are kept per entry: a Locate may find thousands.
pub const MAX_UIDS: usize = 64;

/// Longest uid kept as given (lkm's own are 36 characters).
pub const MAX_UID_LEN: usize = 128;

impl Draft {
    pub fn new(actor: impl Into<String>, operation: impl Into<String>) -> Draft {
        Draft {
            actor: actor.into(),
            peer: "local".into(),
            operation: operation.into(),
            status: "Success".into(),
            ..Draft::default()
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Draft {
        self.detail = Some(detail.into());
        self
    }

    pub fn failed(mut self, reason: impl Into<String>) -> Draft {
        self.status = "OperationFailed".into();
        self.reason = Some(reason.into());
        self
    }

    /// Adds a uid once, up to [`MAX_UIDS`]. A uid longer than any this
    /// server makes (a client may send anything) is kept as its hash, so
    /// no request can make an entry large and push history out early.
    pub fn name(&mut self, uid: &str) {
        let uid = if uid.len() > MAX_UID_LEN {
            format!("sha256:{}", super::hash(uid.as_bytes()))
        } else {
            uid.to_owned()
        };
        if self.uids.len() < MAX_UIDS && !self.uids.contains(&uid) {
            self.uids.push(uid);
        }
    }
}

impl Entry {
    /// The bytes stored and hashed.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Entry, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The bytes a MAC covers: the entry as stored, without its MAC.
    pub(crate) fn unmaced(&self) -> Vec<u8> {
        Entry {
            mac: None,
            ..self.clone()
        }
        .encode()
    }

    /// One line for people: time, actor, peer, operation, result, uids.
    /// Control characters a client slipped into a field are escaped, so
    /// no entry can print as two lines.
    pub fn to_text(&self) -> String {
        escape_controls(&self.to_raw_text())
    }

    fn to_raw_text(&self) -> String {
        let d = &self.draft;
        let result = match &d.reason {
            Some(r) => format!("{} ({r})", d.status),
            None => d.status.clone(),
        };
        format!(
            "{} #{} {} [{}] from {}: {} -> {}{}{}",
            self.time,
            self.seq,
            d.actor,
            d.fingerprint.get(..16).unwrap_or(&d.fingerprint),
            d.peer,
            d.operation,
            result,
            if d.uids.is_empty() {
                String::new()
            } else {
                format!(" uids={}", d.uids.join(","))
            },
            d.detail
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        )
    }
}

/// Text with its control characters (newlines, ANSI escapes...) escaped,
/// for anything a client chose that ends up on a line people read.
pub(crate) fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
