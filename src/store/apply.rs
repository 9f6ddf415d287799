//! The one write path: a [`Command`] becomes one atomic RocksDB batch,
//! its preconditions checked, its audit entries placed in the chain, and
//! (under Raft) the log position it was applied at written with it. The
//! same command applied to the same state writes the same bytes on every
//! node: nothing here reads a clock, a key or a random source.

use super::{Applied, Cf, Command, Conflict, Store, StoreError};
use crate::audit::{self, Head};
use rocksdb::{WriteBatch, WriteOptions};
use std::collections::HashMap;
use std::sync::MutexGuard;

/// Where a record's version sits: `format(1) || version(8, big-endian)`,
/// the header `keystore::record` writes in clear before the ciphertext,
/// so preconditions are checked without any key.
pub fn record_version(value: &[u8]) -> u64 {
    value
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// Meta keys whose change the key store must see at once (the hierarchy
/// and its seal record): applying a command that writes one bumps
/// [`Store::meta_generation`].
const WATCHED_META: [&[u8]; 3] = [b"cluster", b"keyring", b"root"];

impl Store {
    pub(super) fn head(&self) -> MutexGuard<'_, Head> {
        self.audit.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The audit chain's head as applied.
    pub fn audit_head(&self) -> Head {
        self.head().clone()
    }

    /// Applies `command` outside any log and returns once it is on disk:
    /// for tests, benches and tools that own the store alone. Writers
    /// share syncs: each writes under the chain's lock without waiting for
    /// the disk, then syncs the WAL, which covers every batch before it.
    pub fn apply(&self, command: &Command) -> Result<Applied, StoreError> {
        let applied = self.apply_at(command, 0, &[], false)?;
        self.sync()?;
        Ok(applied)
    }

    /// Applies `command` as log entry `index`, writing `marks` (meta keys
    /// the log keeps, such as how far it has applied) in the same batch;
    /// `sync` waits for the disk. A precondition that fails writes only
    /// the marks and says which object it was.
    pub fn apply_at(
        &self,
        command: &Command,
        index: u64,
        marks: &[(&[u8], &[u8])],
        sync: bool,
    ) -> Result<Applied, StoreError> {
        self.apply_all_at(std::slice::from_ref(command), index, marks, sync)?
            .pop()
            .ok_or_else(|| StoreError::Write("one command applied, no outcome".into()))
    }

    /// Applies `commands` in order as one atomic batch (one log entry that
    /// groups concurrent writes), with `marks`: a crash leaves all of them
    /// or none, so a group is never half applied and never applied twice.
    /// Each command is checked against the state the ones before it leave
    /// and answers on its own: one conflict writes nothing of that command
    /// and does not stop the others.
    pub fn apply_all_at<C: std::borrow::Borrow<Command>>(
        &self,
        commands: &[C],
        index: u64,
        marks: &[(&[u8], &[u8])],
        sync: bool,
    ) -> Result<Vec<Applied>, StoreError> {
        let started = std::time::Instant::now();
        let mut head = self.head();
        let mut batch = WriteBatch::default();
        let meta = self.cf(Cf::Meta)?;
        for (k, v) in marks {
            batch.put_cf(meta, k, v);
        }
        let mut next = head.clone();
        // Object versions the commands before write, not yet in the store.
        let mut written: HashMap<&[u8], u64> = HashMap::new();
        let mut applied = Vec::with_capacity(commands.len());
        let mut chain_moved = false;
        let mut watched = false;
        for command in commands {
            let command: &Command = command.borrow();
            let conflict = self.check(command, &next, &written)?;
            let mut first_seq = 0;
            if conflict.is_none() {
                self.add_to(&mut batch, command)?;
                note_versions(command, &mut written);
                if let Some(p) = &command.prune {
                    let audit_cf = self.cf(Cf::Audit)?;
                    batch.delete_range_cf(
                        audit_cf,
                        audit::key(next.first_seq),
                        audit::key(p.through_seq + 1),
                    );
                    next.first_seq = p.through_seq + 1;
                    next.bytes = next.bytes.saturating_sub(p.removed_bytes);
                    next.oldest_ms = p.next_oldest_ms;
                }
                for s in &command.audit {
                    let (seq, bytes, after) = next.append(&s.draft, s.time_ms, None);
                    if first_seq == 0 {
                        first_seq = seq;
                    }
                    batch.put_cf(self.cf(Cf::Audit)?, audit::key(seq), &bytes);
                    next = after;
                }
                chain_moved |= !command.audit.is_empty() || command.prune.is_some();
                watched |= touches_watched(command);
            }
            applied.push(Applied {
                index,
                conflict,
                first_seq,
            });
        }
        if chain_moved {
            batch.put_cf(meta, audit::META_HEAD, next.encode());
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db.write_opt(batch, &wo)?;
        *head = next;
        drop(head);
        if watched {
            self.bump_meta_generation();
        }
        self.write_seconds.observe(started.elapsed().as_secs_f64());
        Ok(applied)
    }

    /// The first precondition of `command` that does not hold.
    /// `written` holds the versions earlier commands of the same batch
    /// gave objects; the store holds the rest.
    fn check(
        &self,
        command: &Command,
        head: &Head,
        written: &HashMap<&[u8], u64>,
    ) -> Result<Option<Conflict>, StoreError> {
        for e in &command.expect {
            let found = match written.get(e.uid.as_bytes()) {
                Some(v) => *v,
                None => self
                    .get(Cf::Objects, e.uid.as_bytes())?
                    .map_or(0, |v| record_version(&v)),
            };
            if found != e.version {
                return Ok(Some(Conflict {
                    uid: e.uid.clone(),
                    expected: e.version,
                    found,
                }));
            }
        }
        if let Some(p) = &command.prune {
            // The newest entry always stays: the head links to it.
            let in_range = p.through_seq >= head.first_seq && p.through_seq + 1 < head.next_seq;
            let same = in_range
                && self
                    .get(Cf::Audit, &audit::key(p.through_seq))?
                    .is_some_and(|v| audit::hash(&v) == p.hash);
            if !same {
                return Ok(Some(Conflict {
                    uid: format!("audit entry {}", p.through_seq),
                    expected: p.through_seq,
                    found: head.first_seq,
                }));
            }
        }
        Ok(None)
    }

    pub(super) fn bump_meta_generation(&self) {
        self.meta_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

/// Records the object versions `command` writes (0: deleted), for the
/// preconditions of the commands after it in the same batch.
fn note_versions<'a>(command: &'a Command, written: &mut HashMap<&'a [u8], u64>) {
    for m in &command.mutations {
        match m {
            super::Mutation::Put {
                cf: Cf::Objects,
                key,
                value,
            } => {
                written.insert(key.as_slice(), record_version(value));
            }
            super::Mutation::Delete {
                cf: Cf::Objects,
                key,
            } => {
                written.insert(key.as_slice(), 0);
            }
            _ => {}
        }
    }
}

fn touches_watched(command: &Command) -> bool {
    command.mutations.iter().any(|m| match m {
        super::Mutation::Put {
            cf: Cf::Meta, key, ..
        }
        | super::Mutation::Delete { cf: Cf::Meta, key } => WATCHED_META.contains(&key.as_slice()),
        _ => false,
    })
}

#[cfg(test)]
mod determinism {
    use super::super::{Cf, Command, Expect, Store};
    use crate::audit::{Draft, Stamped};
    use proptest::prelude::*;

    /// A small command: a few writes to a handful of keys, maybe a
    /// precondition on an object, maybe an audit entry.
    fn command() -> impl Strategy<Value = Command> {
        let mutation = (0u8..3, 0u8..4, 0u8..6, any::<i8>());
        (
            proptest::collection::vec(mutation, 0..5),
            proptest::option::of((0u8..6, 0u64..3)),
            proptest::option::of((0i64..1_000_000, "[a-z]{1,8}")),
        )
            .prop_map(|(ms, expect, audit)| {
                let mut c = Command::default();
                let cfs = [Cf::Objects, Cf::Index, Cf::Meta, Cf::Audit];
                for (kind, cf, key, v) in ms {
                    let key = format!("k{key}");
                    match kind {
                        // A record-shaped value: format byte then version.
                        0 => {
                            let mut value = vec![2u8];
                            value.extend_from_slice(&(v.unsigned_abs() as u64 % 3).to_be_bytes());
                            c.put(cfs[cf as usize], key, value)
                        }
                        1 => c.delete(cfs[cf as usize], key),
                        _ => c.add(Cf::Meta, key, i64::from(v)),
                    }
                }
                if let Some((uid, version)) = expect {
                    c.expect.push(Expect {
                        uid: format!("k{uid}"),
                        version,
                    });
                }
                if let Some((time_ms, op)) = audit {
                    c.audit.push(Stamped {
                        time_ms,
                        draft: Draft::new("cn:test", op),
                    });
                }
                c
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// What Raft relies on: the same commands applied in the same order
        /// to two fresh stores (two nodes) leave them byte for byte equal,
        /// conflicts and audit chain included.
        #[test]
        fn the_same_commands_leave_identical_stores(commands in proptest::collection::vec(command(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let a = Store::open(&dir.path().join("a")).unwrap();
            let b = Store::open(&dir.path().join("b")).unwrap();
            for (i, c) in commands.iter().enumerate() {
                let mark = (i as u64).to_be_bytes();
                let marks: [(&[u8], &[u8]); 1] = [(b"raft/applied", &mark)];
                let ra = a.apply_at(c, i as u64, &marks, false).unwrap();
                let rb = b.apply_at(c, i as u64, &marks, false).unwrap();
                prop_assert_eq!(ra, rb);
            }
            prop_assert_eq!(a.digest().unwrap(), b.digest().unwrap());
            prop_assert_eq!(a.audit_head(), b.audit_head());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// A group of commands in one log entry leaves the store as the
        /// same commands applied one by one: each sees what the ones
        /// before it wrote (preconditions included) and answers the same.
        #[test]
        fn a_batch_applies_as_its_commands_in_turn(
            commands in proptest::collection::vec(command(), 1..40),
            cut in 1usize..8,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let one = Store::open(&dir.path().join("one")).unwrap();
            let grouped = Store::open(&dir.path().join("grouped")).unwrap();
            let mut each = Vec::new();
            for c in &commands {
                each.push(one.apply_at(c, 1, &[], false).unwrap());
            }
            let mut batched = Vec::new();
            for group in commands.chunks(cut) {
                batched.extend(grouped.apply_all_at(group, 1, &[], false).unwrap());
            }
            prop_assert_eq!(each, batched);
            prop_assert_eq!(one.digest().unwrap(), grouped.digest().unwrap());
            prop_assert_eq!(one.audit_head(), grouped.audit_head());
        }
    }

    #[test]
    fn a_failed_precondition_writes_only_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let before = s.digest().unwrap();
        let mut c = Command::default();
        c.put(Cf::Objects, "uid-1", vec![2, 0, 0, 0, 0, 0, 0, 0, 1]);
        c.expect.push(Expect {
            uid: "uid-1".into(),
            version: 3,
        });
        c.audit.push(Stamped {
            time_ms: 1,
            draft: Draft::new("cn:x", "Revoke"),
        });
        let applied = s.apply_at(&c, 7, &[], false).unwrap();
        let conflict = applied.conflict.expect("the precondition must fail");
        assert_eq!((conflict.expected, conflict.found), (3, 0));
        assert_eq!(s.digest().unwrap(), before, "nothing may be written");
        assert_eq!(s.audit_head().next_seq, 1, "no audit entry either");
    }
}
