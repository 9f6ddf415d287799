//! What one request may cost the server. A batch multiplies every
//! per-item cost, so a request is priced before anything runs (and refused
//! whole if it asks too much), expensive requests of one client identity
//! are limited in number, and a running batch is stopped between items
//! when its deadline passes, its client goes away or its response grows
//! past the byte budget.

use crate::kmip::{KmipError, Operation, RequestMessage, ResultReason, tag};
use crate::ttlv::Item;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A request of at least this much work holds one of its identity's
/// expensive-work permits while it runs.
pub(crate) const EXPENSIVE: u64 = 10;

const RSA: u32 = 0x04;
const PBKDF2: u32 = 0x01;
/// PBKDF2 iterations (times 20-byte output blocks) that make one unit.
const PBKDF2_ITERATIONS_PER_UNIT: u64 = 3_000;

/// Work units of a whole request: about a millisecond of CPU each.
pub(crate) fn work_of(req: &RequestMessage) -> u64 {
    req.items
        .iter()
        .map(|bi| {
            let payload = bi.payload.as_ref();
            match Operation::from_u32(bi.operation) {
                Some(op) => work_of_item(op, payload),
                None => 1,
            }
        })
        .fold(0u64, u64::saturating_add)
}

fn work_of_item(op: Operation, payload: Option<&Item>) -> u64 {
    match op {
        Operation::CreateKeyPair => {
            let algorithms = find_all(payload, tag::CRYPTOGRAPHIC_ALGORITHM, |i| {
                i.as_enumeration().map(u64::from)
            });
            // Lengths may come from a named template: assume the largest.
            let bits = lengths(payload).into_iter().max().unwrap_or(4096);
            let rsa = algorithms.is_empty() || algorithms.contains(&u64::from(RSA));
            match (rsa, bits) {
                (false, _) => 5,
                (true, ..=2048) => 100,
                (true, ..=3072) => 300,
                (true, _) => 1_000,
            }
        }
        Operation::DeriveKey => {
            let pbkdf2 = find_all(payload, tag::DERIVATION_METHOD, |i| {
                i.as_enumeration().map(u64::from)
            })
            .contains(&u64::from(PBKDF2));
            if !pbkdf2 {
                return 2;
            }
            let iterations = find_all(payload, tag::ITERATION_COUNT, |i| {
                i.as_integer().and_then(|n| u64::try_from(n).ok())
            })
            .into_iter()
            .max()
            .unwrap_or(1);
            // No length given (a template's): the longest one allowed.
            let bytes = lengths(payload)
                .into_iter()
                .max()
                .map_or(MAX_DERIVED_BYTES, |bits| bits / 8);
            let blocks = bytes.div_ceil(20).max(1);
            1 + iterations.saturating_mul(blocks).min(MAX_PBKDF2_WORK) / PBKDF2_ITERATIONS_PER_UNIT
        }
        // Private-key arithmetic (RSA-4096 takes milliseconds).
        Operation::Sign | Operation::Decrypt | Operation::SignatureVerify => 5,
        // May walk many index entries and open many records.
        Operation::Locate => 5,
        _ => 1,
    }
}

/// Derive Key's own bounds (`ops::derive_key`): the longest output, and
/// the most PBKDF2 iterations times 20-byte blocks one item may ask.
const MAX_DERIVED_BYTES: u64 = 64 * 1024;
const MAX_PBKDF2_WORK: u64 = 10_000_000;

/// Every Cryptographic Length in the payload, in bits: 2.x attributes
/// and 1.x Attribute structures (name and value) alike.
fn lengths(payload: Option<&Item>) -> Vec<u64> {
    let as_bits = |i: &Item| i.as_integer().and_then(|b| u64::try_from(b).ok());
    let mut out = find_all(payload, tag::CRYPTOGRAPHIC_LENGTH, as_bits);
    out.extend(find_all(payload, tag::ATTRIBUTE, |a| {
        (a.child(tag::ATTRIBUTE_NAME)?.as_text()? == "Cryptographic Length")
            .then(|| a.child(tag::ATTRIBUTE_VALUE).and_then(as_bits))
            .flatten()
    }));
    out
}

/// Every value of `t` anywhere in the payload, as `read` makes it.
fn find_all<T>(payload: Option<&Item>, t: u32, read: impl Fn(&Item) -> Option<T>) -> Vec<T> {
    let mut out = Vec::new();
    let mut stack: Vec<&Item> = payload.into_iter().collect();
    while let Some(i) = stack.pop() {
        if i.tag == t
            && let Some(v) = read(i)
        {
            out.push(v);
        }
        stack.extend(i.children());
    }
    out
}

/// Expensive requests running, per client identity.
#[derive(Default)]
pub(crate) struct Expensive {
    running: Mutex<HashMap<String, usize>>,
}

/// One running expensive request; counted out on drop.
pub(crate) struct ExpensivePermit {
    owner: Arc<Expensive>,
    identity: String,
}

impl Expensive {
    /// A permit if `identity` has fewer than `max` expensive requests
    /// running; none otherwise (the request is refused, not queued).
    pub(crate) fn try_acquire(
        self: &Arc<Self>,
        identity: &str,
        max: usize,
    ) -> Option<ExpensivePermit> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let n = running.entry(identity.to_owned()).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ExpensivePermit {
            owner: self.clone(),
            identity: identity.to_owned(),
        })
    }
}

impl Drop for ExpensivePermit {
    fn drop(&mut self) {
        let mut running = self.owner.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = running.get_mut(&self.identity) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.identity);
            }
        }
    }
}

/// The limits a batch checks between its items.
pub(crate) struct Progress<'a> {
    pub(crate) deadline: Instant,
    pub(crate) deadline_ms: u64,
    /// Set when the client has gone away: nobody will read the answer.
    pub(crate) cancelled: &'a AtomicBool,
    /// Bytes of response the server will still build.
    pub(crate) response_left: usize,
    pub(crate) response_limit: usize,
}

/// Which limit stopped a batch, for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Deadline,
    ClientGone,
    ResponseSize,
}

impl Stop {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Stop::Deadline => "request_deadline",
            Stop::ClientGone => "client_gone",
            Stop::ResponseSize => "response_size",
        }
    }
}

impl Progress<'_> {
    /// Whether the next item may run.
    pub(crate) fn check(&self) -> Result<(), (Stop, KmipError)> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err((
                Stop::ClientGone,
                KmipError::new(
                    ResultReason::OperationCanceledByRequester,
                    "the client closed the connection; the rest of the batch was not run",
                ),
            ));
        }
        if Instant::now() >= self.deadline {
            return Err((
                Stop::Deadline,
                KmipError::new(
                    ResultReason::ServerLimitExceeded,
                    format!(
                        "the request ran past its processing deadline of {} ms \
                         (limits.request_deadline_ms); this item was not run",
                        self.deadline_ms
                    ),
                ),
            ));
        }
        if self.response_left == 0 {
            return Err((Stop::ResponseSize, self.too_large()));
        }
        Ok(())
    }

    /// Takes `bytes` of answer from the budget; an error if it is spent.
    pub(crate) fn spend(&mut self, bytes: usize) -> Result<(), (Stop, KmipError)> {
        match self.response_left.checked_sub(bytes) {
            Some(left) => {
                self.response_left = left;
                Ok(())
            }
            None => {
                self.response_left = 0;
                Err((Stop::ResponseSize, self.too_large()))
            }
        }
    }

    fn too_large(&self) -> KmipError {
        KmipError::new(
            ResultReason::ResponseTooLarge,
            format!(
                "the response would exceed {} bytes (the smaller of the request's Maximum \
                 Response Size and limits.max_response_size); send fewer items per request",
                self.response_limit
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmip::{ProtocolVersion, RequestBatchItem, RequestHeader};

    fn request(items: Vec<(Operation, Vec<Item>)>) -> RequestMessage {
        RequestMessage {
            header: RequestHeader::new(ProtocolVersion::new(2, 1), items.len() as i32),
            items: items
                .into_iter()
                .map(|(op, children)| RequestBatchItem {
                    operation: op.value(),
                    unique_batch_item_id: None,
                    payload: Some(Item::structure(tag::REQUEST_PAYLOAD, children)),
                    message_extensions: vec![],
                })
                .collect(),
        }
    }

    fn rsa(bits: i32) -> Vec<Item> {
        vec![Item::structure(
            tag::COMMON_ATTRIBUTES,
            vec![
                Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, RSA),
                Item::integer(tag::CRYPTOGRAPHIC_LENGTH, bits),
            ],
        )]
    }

    #[test]
    fn batches_of_expensive_work_are_priced_by_what_they_ask() {
        let gets = request((0..1000).map(|_| (Operation::Get, vec![])).collect());
        assert_eq!(work_of(&gets), 1000);
        let one = request(vec![(Operation::CreateKeyPair, rsa(4096))]);
        assert_eq!(work_of(&one), 1000);
        let many = request(
            (0..1000)
                .map(|_| (Operation::CreateKeyPair, rsa(4096)))
                .collect(),
        );
        assert_eq!(work_of(&many), 1_000_000);
        let small = request(vec![(Operation::CreateKeyPair, rsa(2048))]);
        assert_eq!(work_of(&small), 100);
        let pbkdf2 = |iterations: i32| {
            vec![
                Item::enumeration(tag::DERIVATION_METHOD, PBKDF2),
                Item::structure(
                    tag::DERIVATION_PARAMETERS,
                    vec![Item::integer(tag::ITERATION_COUNT, iterations)],
                ),
                Item::integer(tag::CRYPTOGRAPHIC_LENGTH, 256),
            ]
        };
        let heavy = request(
            (0..1000)
                .map(|_| (Operation::DeriveKey, pbkdf2(10_000_000)))
                .collect(),
        );
        // Each priced at Derive Key's own cap: two exceed the default budget.
        assert_eq!(work_of(&heavy), 1000 * (1 + 10_000_000 / 3_000));
        let light = request(vec![(Operation::DeriveKey, pbkdf2(1_000))]);
        assert_eq!(work_of(&light), 1);
        // A 1.x length (an Attribute structure) counts; none at all is
        // priced as the longest output Derive Key allows.
        let mut v1 = pbkdf2(1_000);
        v1[2] = Item::structure(
            tag::ATTRIBUTE,
            vec![
                Item::text(tag::ATTRIBUTE_NAME, "Cryptographic Length"),
                Item::integer(tag::ATTRIBUTE_VALUE, 8 * 60_000),
            ],
        );
        assert_eq!(work_of(&request(vec![(Operation::DeriveKey, v1)])), 1_001);
        let mut no_length = pbkdf2(1_000);
        no_length.pop();
        assert_eq!(
            work_of(&request(vec![(Operation::DeriveKey, no_length)])),
            1 + 1_000 * 3_277 / 3_000
        );
    }

    #[test]
    fn expensive_permits_are_per_identity_and_given_back() {
        let e = Arc::new(Expensive::default());
        let a1 = e.try_acquire("a", 2).unwrap();
        let _a2 = e.try_acquire("a", 2).unwrap();
        assert!(e.try_acquire("a", 2).is_none());
        assert!(e.try_acquire("b", 2).is_some());
        drop(a1);
        assert!(e.try_acquire("a", 2).is_some());
    }

    #[test]
    fn progress_stops_on_deadline_client_gone_and_spent_budget() {
        let gone = AtomicBool::new(false);
        let mut p = Progress {
            deadline: Instant::now() + std::time::Duration::from_secs(60),
            deadline_ms: 60_000,
            cancelled: &gone,
            response_left: 100,
            response_limit: 100,
        };
        assert!(p.check().is_ok());
        assert!(p.spend(60).is_ok());
        assert_eq!(p.spend(60).unwrap_err().0, Stop::ResponseSize);
        assert_eq!(p.check().unwrap_err().0, Stop::ResponseSize);
        p.response_left = 10;
        gone.store(true, Ordering::Relaxed);
        assert_eq!(p.check().unwrap_err().0, Stop::ClientGone);
        gone.store(false, Ordering::Relaxed);
        p.deadline = Instant::now();
        assert_eq!(p.check().unwrap_err().0, Stop::Deadline);
    }
}
