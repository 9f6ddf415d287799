//! Admission of connections that have not finished their TLS handshake.
//!
//! Anyone who can reach the port can open TCP connections without a
//! certificate, so these connections get a budget of their own, apart from
//! the connection slots of authenticated clients: at most
//! `limits.max_handshaking` in total and `limits.max_handshaking_per_source`
//! from one address. A newcomer is never refused: when a budget is full the
//! oldest pending connection that has not sent a byte yet (or, failing
//! that, the oldest pending one) is dropped to make room. A flood of idle
//! connections therefore only churns itself, while a client that sends its
//! hello at once finishes its handshake long before its turn to be evicted
//! comes. A connection that completed its handshake leaves this budget and
//! is never displaced by it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The pending connections, oldest first (ids grow with arrival).
pub(crate) struct Admission {
    state: Mutex<State>,
    max_total: usize,
    max_per_source: usize,
}

#[derive(Default)]
struct State {
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    by_source: HashMap<IpAddr, usize>,
}

struct Pending {
    source: IpAddr,
    since: Instant,
    evict: CancellationToken,
    spoke: Arc<AtomicBool>,
}

/// A connection counts as idle only once it has had this long to send its
/// ClientHello: clients open many connections at once, and the accept loop
/// runs ahead of the threads that look for their hellos.
const GRACE: Duration = Duration::from_millis(500);

/// Past this many times a budget, the oldest pending connection goes
/// whatever it did: the hard bound on what pending connections may hold.
const HARD_FACTOR: usize = 4;

/// Why a pending connection was dropped to make room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Eviction {
    /// Its source address had its full share of pending connections.
    PerSource,
    /// Every pending slot was taken.
    Total,
}

/// One admitted pending connection: cancelled when it is evicted, and
/// out of the budget when dropped (its handshake ended either way).
pub(crate) struct Ticket {
    admission: Arc<Admission>,
    id: u64,
    /// Cancelled when the connection is evicted to make room.
    pub(crate) evicted: CancellationToken,
    spoke: Arc<AtomicBool>,
}

impl Ticket {
    /// The client sent its first bytes: it is no longer idle, and goes
    /// after idle connections when room is needed.
    pub(crate) fn spoke(&self) {
        self.spoke.store(true, Ordering::Relaxed);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.remove(self.id);
    }
}

impl Admission {
    pub(crate) fn new(max_total: usize, max_per_source: usize) -> Arc<Admission> {
        Arc::new(Admission {
            state: Mutex::new(State::default()),
            max_total: max_total.max(1),
            max_per_source: max_per_source.max(1),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a new connection from `source`, evicting others if a budget
    /// is full; returns its ticket and the evictions made.
    pub(crate) fn admit(self: &Arc<Self>, source: IpAddr) -> (Ticket, Vec<Eviction>) {
        self.admit_at(source, Instant::now())
    }

    fn admit_at(self: &Arc<Self>, source: IpAddr, now: Instant) -> (Ticket, Vec<Eviction>) {
        let source = source_of(source);
        let mut st = self.lock();
        let mut evictions = Vec::new();
        let from_source = st.by_source.get(&source).copied().unwrap_or(0);
        if st.make_room(Some(source), from_source, self.max_per_source, now) {
            evictions.push(Eviction::PerSource);
        }
        let total = st.pending.len();
        if st.make_room(None, total, self.max_total, now) {
            evictions.push(Eviction::Total);
        }
        let id = st.next_id;
        st.next_id += 1;
        let evicted = CancellationToken::new();
        let spoke = Arc::new(AtomicBool::new(false));
        st.pending.insert(
            id,
            Pending {
                source,
                since: now,
                evict: evicted.clone(),
                spoke: spoke.clone(),
            },
        );
        *st.by_source.entry(source).or_default() += 1;
        drop(st);
        (
            Ticket {
                admission: self.clone(),
                id,
                evicted,
                spoke,
            },
            evictions,
        )
    }

    fn remove(&self, id: u64) {
        self.lock().forget(id);
    }

    /// Connections in their handshake now.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.lock().pending.len()
    }
}

/// The "source" a per-source budget counts: the IPv4 address, or the
/// IPv6 /64 (one host is given a whole /64, so single v6 addresses would
/// let it open as many budgets as it likes).
fn source_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
        v4 => v4,
    }
}

impl State {
    /// With `count` pending (from `source`, or in all) and a budget of
    /// `limit`: cancels and forgets the oldest idle one (no ClientHello
    /// after [`GRACE`]); past [`HARD_FACTOR`] times the budget, the oldest
    /// idle or else the oldest at all. Whether one was evicted.
    fn make_room(
        &mut self,
        source: Option<IpAddr>,
        count: usize,
        limit: usize,
        now: Instant,
    ) -> bool {
        if count < limit {
            return false;
        }
        let candidates = || {
            self.pending
                .iter()
                .filter(move |(_, p)| source.is_none_or(|s| p.source == s))
        };
        let idle = |p: &Pending| !p.spoke.load(Ordering::Relaxed);
        let victim = candidates()
            .find(|(_, p)| idle(p) && now.saturating_duration_since(p.since) >= GRACE)
            .or_else(|| {
                (count >= limit.saturating_mul(HARD_FACTOR)).then(|| {
                    candidates()
                        .find(|(_, p)| idle(p))
                        .or_else(|| candidates().next())
                })?
            })
            .map(|(id, _)| *id);
        match victim {
            Some(id) => {
                if let Some(p) = self.pending.get(&id) {
                    p.evict.cancel();
                }
                self.forget(id);
                true
            }
            None => false,
        }
    }

    fn forget(&mut self, id: u64) {
        if let Some(p) = self.pending.remove(&id)
            && let Some(n) = self.by_source.get_mut(&p.source)
        {
            *n -= 1;
            if *n == 0 {
                self.by_source.remove(&p.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn a_full_budget_evicts_the_oldest_idle_never_the_newcomer() {
        let a = Admission::new(3, 3);
        let t0 = Instant::now();
        let later = t0 + GRACE;
        let (t1, e) = a.admit_at(ip(1), t0);
        assert!(e.is_empty());
        let (t2, _) = a.admit_at(ip(2), t0);
        t2.spoke();
        let (t3, _) = a.admit_at(ip(3), t0);
        // Full: the oldest idle one (t1) goes, not t2 which has spoken.
        let (t4, e) = a.admit_at(ip(4), later);
        assert_eq!(e, vec![Eviction::Total]);
        assert!(t1.evicted.is_cancelled());
        assert!(!t2.evicted.is_cancelled() && !t3.evicted.is_cancelled());
        assert!(!t4.evicted.is_cancelled());
        assert_eq!(a.pending(), 3);
        // Connections that only just arrived are not idle yet: a client
        // opening many at once is admitted over the budget...
        t3.spoke();
        let burst: Vec<_> = (0..9).map(|_| a.admit_at(ip(5), later)).collect();
        assert!(
            burst
                .iter()
                .all(|(t, e)| e.is_empty() && !t.evicted.is_cancelled())
        );
        assert_eq!(a.pending(), 12);
        // ...up to the hard bound, past which the oldest idle one goes
        // (t4), however young, before any that has spoken.
        let (_t, e) = a.admit_at(ip(6), later);
        assert_eq!(e, vec![Eviction::Total]);
        assert!(t4.evicted.is_cancelled());
        assert!(!t2.evicted.is_cancelled() && !t3.evicted.is_cancelled());
        drop(t1);
    }

    #[test]
    fn one_source_only_displaces_its_own() {
        let a = Admission::new(100, 2);
        let t0 = Instant::now();
        let (other, _) = a.admit_at(ip(1), t0);
        let (s1, _) = a.admit_at(ip(9), t0);
        let (s2, _) = a.admit_at(ip(9), t0);
        let (s3, e) = a.admit_at(ip(9), t0 + GRACE);
        assert_eq!(e, vec![Eviction::PerSource]);
        assert!(s1.evicted.is_cancelled());
        assert!(!s2.evicted.is_cancelled() && !s3.evicted.is_cancelled());
        assert!(!other.evicted.is_cancelled());
        assert_eq!(a.pending(), 3);
    }

    #[test]
    fn an_ipv6_slash_64_is_one_source() {
        let a = Admission::new(100, 2);
        let t0 = Instant::now();
        let v6 = |last: u16| IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, last]);
        let (first, _) = a.admit_at(v6(1), t0);
        let (_second, _) = a.admit_at(v6(2), t0);
        let (_third, e) = a.admit_at(v6(3), t0 + GRACE);
        assert_eq!(e, vec![Eviction::PerSource]);
        assert!(first.evicted.is_cancelled());
        let (_other, e) = a.admit_at(IpAddr::from([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1]), t0 + GRACE);
        assert!(e.is_empty());
    }

    #[test]
    fn dropping_tickets_frees_the_budget() {
        let a = Admission::new(2, 2);
        let tickets: Vec<_> = (0..2).map(|_| a.admit(ip(1)).0).collect();
        assert_eq!(a.pending(), 2);
        drop(tickets);
        assert_eq!(a.pending(), 0);
        let (t, e) = a.admit(ip(1));
        assert!(e.is_empty() && !t.evicted.is_cancelled());
    }
}
