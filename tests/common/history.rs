//! What clients did and what they were told, and a checker that holds the
//! cluster's final state against it. Writes carry known random bytes, so
//! an object can be recognised by its bytes even when its uid was never
//! returned (an unknown or failed outcome).
//!
//! The checker's rules, over the views of every live node taken after the
//! load stopped and the nodes converged:
//! - an acknowledged Create/Register is on every node with exactly its
//!   bytes, unless a Destroy of it was acknowledged or may have happened;
//! - an acknowledged Destroy stays destroyed (Get fails) on every node;
//! - nodes agree on every object: same bytes, or all say destroyed;
//! - a failed write left nothing: a failed Register's bytes are nowhere, a
//!   failed Destroy destroyed nothing;
//! - a write was applied at most once (no bytes under two uids), an
//!   acknowledged Get returned the bytes that were written, and no object
//!   is there that no write can explain.
#![allow(dead_code)]

use lkm::client::{Client, ClientError};
use lkm::kmip::{ObjectType, Operation, ResultReason, tag};
use lkm::ttlv::Item;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// Time allowed for one request before its outcome counts as unknown.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Most objects a view reads from one node.
const MAX_VIEW_OBJECTS: usize = 200_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Register,
    Get,
    Destroy,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Acknowledged,
    /// Refused: the write must have had no effect.
    Failed(String),
    /// Maybe done, maybe not (the server said so, or the connection or
    /// the time ran out first).
    Unknown(String),
}

#[derive(Clone, Debug)]
pub struct Event {
    pub client: usize,
    /// The node the request went to.
    pub node: usize,
    pub op: Op,
    /// The object: given for Get/Destroy, returned by Create/Register.
    pub uid: Option<String>,
    /// The bytes sent (Register) or expected.
    pub sent: Option<Vec<u8>>,
    pub outcome: Outcome,
    /// The bytes a Get returned.
    pub returned: Option<Vec<u8>>,
}

impl Event {
    fn acked(&self) -> bool {
        self.outcome == Outcome::Acknowledged
    }
    fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
    fn unknown(&self) -> bool {
        matches!(self.outcome, Outcome::Unknown(_))
    }
}

/// What one node holds of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Bytes(Vec<u8>),
    Destroyed,
    /// Get failed otherwise (the message).
    Unreadable(String),
}

/// What one node holds: uid -> what Get says. A uid not in it is unknown
/// to the node.
pub type NodeView = BTreeMap<String, Seen>;

/// The events of every client, in the order they were recorded.
#[derive(Default)]
pub struct History {
    events: Mutex<Vec<Event>>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self, e: Event) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }

    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Acknowledged writes (Create, Register, Destroy) so far.
    pub fn acked_writes(&self) -> usize {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|e| e.acked() && e.op != Op::Get)
            .count()
    }

    /// Every uid any event names.
    pub fn uids(&self) -> BTreeSet<String> {
        self.events().into_iter().filter_map(|e| e.uid).collect()
    }

    /// Registers Secret Data holding `bytes` through `c`, and records it;
    /// the outcome, and the uid if acknowledged.
    pub async fn register(
        &self,
        client: usize,
        node: usize,
        c: &mut Client,
        bytes: Vec<u8>,
    ) -> (Outcome, Option<String>) {
        let r = timed(c.call(Operation::Register, register_secret(&bytes))).await;
        let uid = r.as_ref().ok().and_then(uid_in);
        let outcome = classify(&r);
        self.record(Event {
            client,
            node,
            op: Op::Register,
            uid: uid.clone(),
            sent: Some(bytes),
            outcome: outcome.clone(),
            returned: None,
        });
        (outcome, uid)
    }

    /// Creates an AES-256 key through `c`; its uid if acknowledged.
    pub async fn create(&self, client: usize, node: usize, c: &mut Client) -> Option<String> {
        let r = timed(c.call(Operation::Create, crate::common::create_aes256())).await;
        let uid = r.as_ref().ok().and_then(uid_in);
        self.record(Event {
            client,
            node,
            op: Op::Create,
            uid: uid.clone(),
            sent: None,
            outcome: classify(&r),
            returned: None,
        });
        uid
    }

    /// Gets `uid` through `c`; the bytes it returned, if acknowledged.
    pub async fn get(
        &self,
        client: usize,
        node: usize,
        c: &mut Client,
        uid: &str,
    ) -> Option<Vec<u8>> {
        let r = timed(c.call(Operation::Get, crate::common::uid_payload(uid))).await;
        let returned = r.as_ref().ok().and_then(material_of);
        self.record(Event {
            client,
            node,
            op: Op::Get,
            uid: Some(uid.to_owned()),
            sent: None,
            outcome: classify(&r),
            returned: returned.clone(),
        });
        returned
    }

    /// Destroys `uid` through `c`, and records it.
    pub async fn destroy(&self, client: usize, node: usize, c: &mut Client, uid: &str) -> Outcome {
        let r = timed(c.call(Operation::Destroy, crate::common::uid_payload(uid))).await;
        let outcome = classify(&r);
        self.record(Event {
            client,
            node,
            op: Op::Destroy,
            uid: Some(uid.to_owned()),
            sent: None,
            outcome: outcome.clone(),
            returned: None,
        });
        outcome
    }
}

/// `call`, bounded by [`CALL_TIMEOUT`]; running out of time is an I/O
/// error (the outcome is then unknown).
pub async fn timed<T>(
    call: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(r) => r,
        Err(_) => Err(ClientError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer in time",
        ))),
    }
}

/// What a client may conclude from an answer. A refusal is a failure
/// unless the server says the outcome is unknown; a lost connection or a
/// garbled answer leaves it unknown.
pub fn classify<T>(r: &Result<T, ClientError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Acknowledged,
        Err(ClientError::Kmip(e)) if e.message.to_lowercase().contains("unknown") => {
            Outcome::Unknown(e.to_string())
        }
        Err(ClientError::Kmip(e)) => Outcome::Failed(e.to_string()),
        Err(e) => Outcome::Unknown(e.to_string()),
    }
}

/// Whether a refusal names the missing quorum.
pub fn is_quorum_refusal(o: &Outcome) -> bool {
    matches!(o, Outcome::Failed(m) if m.to_lowercase().contains("quorum"))
}

fn uid_in(payload: &Item) -> Option<String> {
    payload
        .child(tag::UNIQUE_IDENTIFIER)
        .and_then(Item::as_text)
        .map(str::to_owned)
}

/// The Key Material bytes anywhere in a Get answer.
pub fn material_of(item: &Item) -> Option<Vec<u8>> {
    if item.tag == tag::KEY_MATERIAL {
        return item.as_bytes().map(<[u8]>::to_vec);
    }
    item.children().iter().find_map(material_of)
}

/// A Register payload for Secret Data (a password) holding `bytes`.
pub fn register_secret(bytes: &[u8]) -> Vec<Item> {
    vec![
        Item::enumeration(tag::OBJECT_TYPE, ObjectType::SecretData.value()),
        Item::structure(tag::ATTRIBUTES, vec![]),
        Item::structure(
            tag::SECRET_DATA,
            vec![
                Item::enumeration(tag::SECRET_DATA_TYPE, 1),
                Item::structure(
                    tag::KEY_BLOCK,
                    vec![
                        Item::enumeration(tag::KEY_FORMAT_TYPE, 2),
                        Item::structure(
                            tag::KEY_VALUE,
                            vec![Item::bytes(tag::KEY_MATERIAL, bytes.to_vec())],
                        ),
                    ],
                ),
            ],
        ),
    ]
}

/// 32 random bytes, for a Register whose bytes are checked later.
pub fn random_bytes() -> Vec<u8> {
    let mut b = uuid::Uuid::new_v4().as_bytes().to_vec();
    b.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    b
}

/// Everything `c`'s node holds for this client identity, destroyed
/// objects included, and whatever of `also` it knows.
pub async fn view_of(c: &mut Client, also: &BTreeSet<String>) -> Result<NodeView, ClientError> {
    // Storage Status Mask: on-line and destroyed objects.
    let located = timed(c.call(
        Operation::Locate,
        vec![Item::integer(tag::STORAGE_STATUS_MASK, 1 | 4)],
    ))
    .await?;
    let mut uids: BTreeSet<String> = located
        .children_with(tag::UNIQUE_IDENTIFIER)
        .filter_map(Item::as_text)
        .map(str::to_owned)
        .collect();
    uids.extend(also.iter().cloned());
    let mut view = NodeView::new();
    for uid in uids.into_iter().take(MAX_VIEW_OBJECTS) {
        match timed(c.call(Operation::Get, crate::common::uid_payload(&uid))).await {
            Ok(p) => match material_of(&p) {
                Some(b) => view.insert(uid, Seen::Bytes(b)),
                None => view.insert(uid, Seen::Unreadable("no Key Material".into())),
            },
            Err(ClientError::Kmip(e)) => match e.reason {
                ResultReason::ObjectDestroyed => view.insert(uid, Seen::Destroyed),
                ResultReason::ObjectNotFound | ResultReason::ItemNotFound => continue,
                _ => view.insert(uid, Seen::Unreadable(e.to_string())),
            },
            Err(e) => return Err(e),
        };
    }
    Ok(view)
}

/// One broken rule: what, and about which object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// An acknowledged Create/Register is missing or has other bytes.
    AckedWriteLost,
    /// An acknowledged Destroy did not stick.
    DestroyUndone,
    /// Two nodes disagree on an object.
    NodesDisagree,
    /// A failed write had an effect.
    FailedWriteApplied,
    /// One write's bytes are under two uids.
    AppliedTwice,
    /// An acknowledged Get returned other bytes than were written.
    WrongRead,
    /// An object no write explains.
    Unexplained,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.rule, self.detail)
    }
}

fn hex8(b: &[u8]) -> String {
    hex::encode(&b[..b.len().min(8)])
}

/// Checks `views` (node number, its view) against `events`; every broken
/// rule, or nothing.
pub fn check(events: &[Event], views: &[(usize, NodeView)]) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut v = |rule, detail: String| out.push(Violation { rule, detail });

    // What was written: uid -> the bytes expected under it.
    let mut expected: HashMap<&str, &[u8]> = HashMap::new();
    for e in events.iter().filter(|e| e.acked()) {
        if let (Some(uid), Some(b)) = (&e.uid, &e.sent)
            && e.op == Op::Register
        {
            expected.insert(uid, b);
        }
    }
    // A Create's bytes are known from the first acknowledged Get of it.
    for e in events.iter().filter(|e| e.acked() && e.op == Op::Get) {
        if let (Some(uid), Some(b)) = (&e.uid, &e.returned) {
            expected.entry(uid).or_insert(b);
        }
    }
    let destroy = |uid: &str, pred: fn(&Event) -> bool| {
        events
            .iter()
            .any(|e| e.op == Op::Destroy && e.uid.as_deref() == Some(uid) && pred(e))
    };

    for e in events.iter().filter(|e| e.acked()) {
        let Some(uid) = e.uid.as_deref() else {
            continue;
        };
        match e.op {
            Op::Create | Op::Register => {
                if destroy(uid, |d| d.acked() || d.unknown()) {
                    continue;
                }
                for (node, view) in views {
                    let ok = match (view.get(uid), expected.get(uid)) {
                        (Some(Seen::Bytes(got)), Some(want)) => got == want,
                        // A Create nobody read: being there is what counts.
                        (Some(Seen::Bytes(_)), None) => e.op == Op::Create,
                        _ => false,
                    };
                    if !ok {
                        v(
                            Rule::AckedWriteLost,
                            format!(
                                "{:?} {uid} by client {} on node {}: node {node} has {:?}",
                                e.op,
                                e.client,
                                e.node,
                                view.get(uid).map(short)
                            ),
                        );
                    }
                }
            }
            Op::Destroy => {
                for (node, view) in views {
                    if let Some(Seen::Bytes(_)) = view.get(uid) {
                        v(
                            Rule::DestroyUndone,
                            format!(
                                "{uid} destroyed by client {} but node {node} still serves it",
                                e.client
                            ),
                        );
                    }
                }
            }
            Op::Get => {
                if let (Some(got), Some(want)) = (&e.returned, expected.get(uid))
                    && got.as_slice() != *want
                {
                    v(
                        Rule::WrongRead,
                        format!(
                            "Get {uid} on node {} returned {}, written {}",
                            e.node,
                            hex8(got),
                            hex8(want)
                        ),
                    );
                }
            }
        }
    }

    // A failed Destroy destroyed nothing (unless another one may have).
    for e in events.iter().filter(|e| e.op == Op::Destroy && e.failed()) {
        let Some(uid) = e.uid.as_deref() else {
            continue;
        };
        if destroy(uid, |d| d.acked() || d.unknown()) {
            continue;
        }
        for (node, view) in views {
            if view.get(uid) == Some(&Seen::Destroyed) {
                v(
                    Rule::FailedWriteApplied,
                    format!(
                        "the Destroy of {uid} failed ({:?}) but node {node} destroyed it",
                        e.outcome
                    ),
                );
            }
        }
    }

    // Registers by their bytes.
    let mut by_bytes: HashMap<&[u8], &Event> = HashMap::new();
    for e in events.iter().filter(|e| e.op == Op::Register) {
        if let Some(b) = &e.sent {
            by_bytes.insert(b, e);
        }
    }
    let known_uids: BTreeSet<&str> = events
        .iter()
        .filter(|e| !e.failed() || e.op == Op::Get || e.op == Op::Destroy)
        .filter_map(|e| e.uid.as_deref())
        .collect();
    let unknown_creates = events
        .iter()
        .filter(|e| e.op == Op::Create && e.unknown())
        .count();
    for (node, view) in views {
        let mut uid_of_bytes: HashMap<&[u8], &str> = HashMap::new();
        let mut unexplained = Vec::new();
        for (uid, seen) in view {
            let Seen::Bytes(b) = seen else {
                if !known_uids.contains(uid.as_str()) {
                    unexplained.push(uid);
                }
                continue;
            };
            if let Some(other) = uid_of_bytes.insert(b, uid) {
                v(
                    Rule::AppliedTwice,
                    format!(
                        "node {node} holds bytes {} under {other} and {uid}",
                        hex8(b)
                    ),
                );
            }
            match by_bytes.get(b.as_slice()) {
                Some(w) if w.failed() => v(
                    Rule::FailedWriteApplied,
                    format!(
                        "the Register by client {} on node {} failed ({:?}) but node {node} holds its bytes as {uid}",
                        w.client, w.node, w.outcome
                    ),
                ),
                Some(w) if w.acked() && w.uid.as_deref() != Some(uid) => v(
                    Rule::AppliedTwice,
                    format!(
                        "node {node} holds the bytes registered as {:?} under {uid} too",
                        w.uid
                    ),
                ),
                Some(_) => {}
                None if known_uids.contains(uid.as_str()) => {}
                None => unexplained.push(uid),
            }
        }
        if unexplained.len() > unknown_creates {
            v(
                Rule::Unexplained,
                format!(
                    "node {node} holds {} objects no write explains (at most {unknown_creates} Creates had an unknown outcome): {:?}",
                    unexplained.len(),
                    unexplained.iter().take(5).collect::<Vec<_>>()
                ),
            );
        }
    }

    // Every node says the same of every object.
    let all: BTreeSet<&String> = views.iter().flat_map(|(_, view)| view.keys()).collect();
    for uid in all {
        let seen: Vec<(usize, Option<&Seen>)> =
            views.iter().map(|(n, view)| (*n, view.get(uid))).collect();
        if seen.windows(2).any(|w| w[0].1 != w[1].1) {
            v(
                Rule::NodesDisagree,
                format!(
                    "{uid}: {:?}",
                    seen.iter()
                        .map(|(n, s)| (n, s.map(short)))
                        .collect::<Vec<_>>()
                ),
            );
        }
    }
    out
}

/// A short form of what a node holds, for messages.
fn short(s: &Seen) -> String {
    match s {
        Seen::Bytes(b) => format!("bytes {}", hex8(b)),
        Seen::Destroyed => "destroyed".into(),
        Seen::Unreadable(m) => format!("unreadable: {m}"),
    }
}

/// Panics with every violation, if there is one.
pub fn assert_consistent(events: &[Event], views: &[(usize, NodeView)]) {
    let violations = check(events, views);
    if !violations.is_empty() {
        let shown: Vec<String> = violations.iter().take(30).map(|v| v.to_string()).collect();
        panic!(
            "{} violations of the history ({} events, nodes {:?}):\n{}",
            violations.len(),
            events.len(),
            views.iter().map(|(n, v)| (*n, v.len())).collect::<Vec<_>>(),
            shown.join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(op: Op, uid: Option<&str>, sent: Option<&[u8]>, outcome: Outcome) -> Event {
        Event {
            client: 1,
            node: 1,
            op,
            uid: uid.map(str::to_owned),
            sent: sent.map(<[u8]>::to_vec),
            outcome,
            returned: None,
        }
    }

    fn ack() -> Outcome {
        Outcome::Acknowledged
    }
    fn failed() -> Outcome {
        Outcome::Failed("Operation Failed: no quorum: reaches 1 of 2".into())
    }
    fn unknown() -> Outcome {
        Outcome::Unknown("Operation Failed: outcome unknown".into())
    }

    fn view(items: &[(&str, Seen)]) -> NodeView {
        items
            .iter()
            .map(|(u, s)| ((*u).to_owned(), s.clone()))
            .collect()
    }

    fn bytes(b: &[u8]) -> Seen {
        Seen::Bytes(b.to_vec())
    }

    /// A history that does everything once: acknowledged, failed and
    /// unknown writes, a destroy, a read.
    fn good() -> (Vec<Event>, Vec<(usize, NodeView)>) {
        let mut get = ev(Op::Get, Some("u1"), None, ack());
        get.returned = Some(b"one".to_vec());
        let mut create_get = ev(Op::Get, Some("c1"), None, ack());
        create_get.returned = Some(b"made".to_vec());
        let events = vec![
            ev(Op::Register, Some("u1"), Some(b"one"), ack()),
            ev(Op::Register, Some("u2"), Some(b"two"), ack()),
            ev(Op::Destroy, Some("u2"), None, ack()),
            ev(Op::Register, None, Some(b"refused"), failed()),
            // Unknown: one was applied, one was not; both are fine.
            ev(Op::Register, None, Some(b"maybe-yes"), unknown()),
            ev(Op::Register, None, Some(b"maybe-no"), unknown()),
            ev(Op::Register, Some("u3"), Some(b"three"), ack()),
            ev(Op::Destroy, Some("u3"), None, failed()),
            ev(Op::Create, Some("c1"), None, ack()),
            create_get,
            get,
        ];
        let node = view(&[
            ("u1", bytes(b"one")),
            ("u2", Seen::Destroyed),
            ("u3", bytes(b"three")),
            ("u9", bytes(b"maybe-yes")),
            ("c1", bytes(b"made")),
        ]);
        let views = vec![(1, node.clone()), (2, node.clone()), (3, node)];
        (events, views)
    }

    fn rules(events: &[Event], views: &[(usize, NodeView)]) -> Vec<Rule> {
        check(events, views).into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_consistent_history_passes() {
        let (events, views) = good();
        assert_eq!(check(&events, &views), vec![]);
        assert_consistent(&events, &views);
    }

    #[test]
    fn a_lost_acknowledged_write_is_caught() {
        let (events, mut views) = good();
        views[1].1.remove("u1");
        assert!(rules(&events, &views).contains(&Rule::AckedWriteLost));
        // Lost everywhere: still caught, though the nodes agree.
        let (events, mut views) = good();
        for (_, view) in views.iter_mut() {
            view.remove("u1");
        }
        assert_eq!(rules(&events, &views), vec![Rule::AckedWriteLost; 3]);
    }

    #[test]
    fn other_bytes_under_an_acknowledged_uid_are_caught() {
        let (events, mut views) = good();
        for (_, view) in views.iter_mut() {
            view.insert("u1".into(), bytes(b"ONE"));
        }
        assert_eq!(rules(&events, &views), vec![Rule::AckedWriteLost; 3]);
        // A Create whose read bytes changed on one node.
        let (events, mut views) = good();
        views[2].1.insert("c1".into(), bytes(b"other"));
        let r = rules(&events, &views);
        assert!(r.contains(&Rule::AckedWriteLost), "{r:?}");
        assert!(r.contains(&Rule::NodesDisagree), "{r:?}");
    }

    #[test]
    fn a_read_of_other_bytes_is_caught() {
        let (mut events, views) = good();
        let mut get = ev(Op::Get, Some("u1"), None, ack());
        get.returned = Some(b"uno".to_vec());
        events.push(get);
        assert_eq!(rules(&events, &views), vec![Rule::WrongRead]);
    }

    #[test]
    fn an_undone_destroy_is_caught() {
        let (events, mut views) = good();
        views[0].1.insert("u2".into(), bytes(b"two"));
        let r = rules(&events, &views);
        assert!(r.contains(&Rule::DestroyUndone), "{r:?}");
        assert!(r.contains(&Rule::NodesDisagree), "{r:?}");
    }

    #[test]
    fn nodes_that_disagree_are_caught() {
        // On an object whose write was unknown: no other rule sees it.
        let (events, mut views) = good();
        views[2].1.remove("u9");
        assert_eq!(rules(&events, &views), vec![Rule::NodesDisagree]);
        let (events, mut views) = good();
        views[0]
            .1
            .insert("u3".into(), Seen::Unreadable("sealed".into()));
        assert!(rules(&events, &views).contains(&Rule::NodesDisagree));
    }

    #[test]
    fn a_failed_write_that_took_effect_is_caught() {
        let (events, mut views) = good();
        for (_, view) in views.iter_mut() {
            view.insert("u7".into(), bytes(b"refused"));
        }
        assert_eq!(rules(&events, &views), vec![Rule::FailedWriteApplied; 3]);
        let (events, mut views) = good();
        for (_, view) in views.iter_mut() {
            view.insert("u3".into(), Seen::Destroyed);
        }
        assert!(rules(&events, &views).contains(&Rule::FailedWriteApplied));
    }

    #[test]
    fn a_write_applied_twice_is_caught() {
        let (events, mut views) = good();
        for (_, view) in views.iter_mut() {
            view.insert("u8".into(), bytes(b"maybe-yes"));
        }
        assert!(rules(&events, &views).contains(&Rule::AppliedTwice));
        let (events, mut views) = good();
        views[0].1.insert("u8".into(), bytes(b"one"));
        assert!(rules(&events, &views).contains(&Rule::AppliedTwice));
    }

    #[test]
    fn an_object_nobody_wrote_is_caught() {
        let (events, mut views) = good();
        for (_, view) in views.iter_mut() {
            view.insert("zz".into(), bytes(b"from nowhere"));
        }
        assert_eq!(rules(&events, &views), vec![Rule::Unexplained; 3]);
        // Unless a Create may have made it.
        let (mut events, mut views) = good();
        for (_, view) in views.iter_mut() {
            view.insert("zz".into(), bytes(b"from nowhere"));
        }
        events.push(ev(Op::Create, None, None, unknown()));
        assert_eq!(rules(&events, &views), vec![]);
    }

    #[test]
    fn outcomes_are_classified_as_a_client_must() {
        use lkm::kmip::KmipError;
        let ok: Result<(), ClientError> = Ok(());
        assert_eq!(classify(&ok), Outcome::Acknowledged);
        let quorum: Result<(), ClientError> = Err(ClientError::Kmip(KmipError::new(
            ResultReason::GeneralFailure,
            "no quorum: this node reaches 1 of the 2 nodes needed",
        )));
        assert!(is_quorum_refusal(&classify(&quorum)));
        let unsure: Result<(), ClientError> = Err(ClientError::Kmip(KmipError::new(
            ResultReason::GeneralFailure,
            "the outcome is unknown: the leader was lost",
        )));
        assert!(matches!(classify(&unsure), Outcome::Unknown(_)));
        let cut: Result<(), ClientError> =
            Err(ClientError::Io(std::io::ErrorKind::ConnectionReset.into()));
        assert!(matches!(classify(&cut), Outcome::Unknown(_)));
    }

    #[test]
    fn key_material_is_found_in_a_get_answer() {
        let payload = Item::structure(
            tag::RESPONSE_PAYLOAD,
            vec![
                Item::enumeration(tag::OBJECT_TYPE, ObjectType::SecretData.value()),
                Item::text(tag::UNIQUE_IDENTIFIER, "u"),
                register_secret(b"secret-bytes").remove(2),
            ],
        );
        assert_eq!(material_of(&payload), Some(b"secret-bytes".to_vec()));
        assert_ne!(random_bytes(), random_bytes());
    }
}
