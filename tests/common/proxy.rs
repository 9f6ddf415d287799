//! A fault-injecting TCP proxy between cluster nodes, since these machines
//! have no iptables, nft or netem. One listener stands in front of each
//! node and forwards to that node's real cluster address; peers are given
//! the proxy's address to dial. The connecting node is known by its source
//! address: node X dials from 127.0.0.(10+X) (see [`node_ip`]).
//!
//! A link is directional: `block(x, y)` cuts the connections node x opened
//! to node y (x's requests to y and their answers) and refuses new ones;
//! connections y opened to x are untouched. `partition(n)` blocks every
//! link to and from n, `heal()` lifts every block, `delay(ms)` holds every
//! forwarded chunk that long in both directions (a delay line, so
//! throughput is kept). Connections from an address that is no node's are
//! forwarded unless the target node is partitioned.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Most connections one proxy carries at once; more are closed on accept.
const MAX_CONNECTIONS: usize = 256;
/// Time allowed to reach the node behind a proxy.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Chunks in flight in one direction of one connection (the delay line).
const CHUNKS_IN_FLIGHT: usize = 64;
const CHUNK: usize = 16 * 1024;

/// The loopback address node `node` (1-based) listens on and dials from.
pub fn node_ip(node: usize) -> Ipv4Addr {
    assert!((1..=200).contains(&node), "node numbers run from 1 to 200");
    Ipv4Addr::new(127, 0, 0, 10 + node as u8)
}

/// Who opened a connection: a node, or an address that is no node's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Source {
    Node(usize),
    Other,
}

struct Conn {
    from: Source,
    to: usize,
    cut: CancellationToken,
}

#[derive(Default)]
struct State {
    /// Blocked (from, to) links.
    blocked: HashSet<(Source, usize)>,
    /// Nodes cut off from everyone, including unknown sources.
    partitioned: HashSet<usize>,
    conns: HashMap<u64, Conn>,
    next_id: u64,
    /// Connections accepted from an address that is no node's.
    strangers: usize,
}

impl State {
    fn is_blocked(&self, from: Source, to: usize) -> bool {
        self.partitioned.contains(&to)
            || matches!(from, Source::Node(x) if self.partitioned.contains(&x))
            || self.blocked.contains(&(from, to))
    }

    /// Cuts every live connection that the current blocks forbid.
    fn enforce(&mut self) {
        let doomed: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| self.is_blocked(c.from, c.to))
            .map(|(id, _)| *id)
            .collect();
        for id in doomed {
            if let Some(c) = self.conns.remove(&id) {
                c.cut.cancel();
            }
        }
    }
}

struct Shared {
    state: Mutex<State>,
    delay_ms: AtomicU64,
    nodes: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: go on.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn source(&self, ip: IpAddr) -> Source {
        (1..=self.nodes)
            .find(|&n| ip == IpAddr::V4(node_ip(n)))
            .map_or(Source::Other, Source::Node)
    }
}

/// One proxy in front of each node; every task stops when this is dropped.
pub struct Proxies {
    shared: Arc<Shared>,
    addrs: Vec<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Proxies {
    /// Starts proxy I (1-based) in front of `targets[I-1]`, each listening
    /// on a free port of 127.0.0.1.
    pub async fn start(targets: &[SocketAddr]) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            delay_ms: AtomicU64::new(0),
            nodes: targets.len(),
        });
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            addrs.push(listener.local_addr()?);
            tasks.push(tokio::spawn(accept_loop(
                listener,
                i + 1,
                *target,
                shared.clone(),
            )));
        }
        Ok(Self {
            shared,
            addrs,
            tasks,
        })
    }

    /// The address to dial to reach `node` through its proxy.
    pub fn addr(&self, node: usize) -> SocketAddr {
        self.addrs[node - 1]
    }

    /// Cuts the connections `from` opened to `to`, and refuses new ones.
    pub fn block(&self, from: usize, to: usize) {
        let mut s = self.shared.lock();
        s.blocked.insert((Source::Node(from), to));
        s.enforce();
    }

    pub fn unblock(&self, from: usize, to: usize) {
        self.shared.lock().blocked.remove(&(Source::Node(from), to));
    }

    /// Blocks every link to and from `node`.
    pub fn partition(&self, node: usize) {
        let mut s = self.shared.lock();
        s.partitioned.insert(node);
        s.enforce();
    }

    /// Lifts every block and partition (the delay stays).
    pub fn heal(&self) {
        let mut s = self.shared.lock();
        s.blocked.clear();
        s.partitioned.clear();
    }

    /// Holds every forwarded chunk `ms` milliseconds (0: none).
    pub fn delay(&self, ms: u64) {
        self.shared.delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Connections ever accepted from an address that is no node's: a
    /// node that does not dial from its own address escapes the blocks.
    pub fn strangers(&self) -> usize {
        self.shared.lock().strangers
    }

    /// Connections being forwarded now, over all proxies.
    pub fn live_connections(&self) -> usize {
        self.shared.lock().conns.len()
    }
}

impl Drop for Proxies {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for (_, c) in self.shared.lock().conns.drain() {
            c.cut.cancel();
        }
    }
}

async fn accept_loop(listener: TcpListener, to: usize, target: SocketAddr, shared: Arc<Shared>) {
    loop {
        let (inbound, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(_) => {
                // Out of descriptors or similar: try again shortly.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let from = shared.source(peer.ip());
        let registered = {
            let mut s = shared.lock();
            if from == Source::Other {
                s.strangers += 1;
            }
            if s.is_blocked(from, to) || s.conns.len() >= MAX_CONNECTIONS {
                None
            } else {
                let id = s.next_id;
                s.next_id += 1;
                let cut = CancellationToken::new();
                s.conns.insert(
                    id,
                    Conn {
                        from,
                        to,
                        cut: cut.clone(),
                    },
                );
                Some((id, cut))
            }
        };
        match registered {
            // Refused: closed at once, as a dead link would look to TLS.
            None => drop(inbound),
            Some((id, cut)) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = cut.cancelled() => {}
                        _ = pipe(inbound, target, &shared) => {}
                    }
                    shared.lock().conns.remove(&id);
                });
            }
        }
    }
}

/// Forwards both ways until both sides are done (the streams close when
/// the future is dropped, which is how a cut ends a connection).
async fn pipe(inbound: TcpStream, target: SocketAddr, shared: &Shared) {
    let Ok(Ok(outbound)) = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await
    else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (ri, wi) = inbound.into_split();
    let (ro, wo) = outbound.into_split();
    tokio::join!(forward(ri, wo, shared), forward(ro, wi, shared));
}

/// One direction: a reader puts chunks on a bounded delay line, a writer
/// sends each once its time has come.
async fn forward(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, shared: &Shared) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, Vec<u8>)>(CHUNKS_IN_FLIGHT);
    let reader = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due = Instant::now()
                        + Duration::from_millis(shared.delay_ms.load(Ordering::Relaxed));
                    if tx.send((due, buf[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        // The source is done: pass the half-close on.
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpSocket;

    /// An echo server: everything read is written back.
    async fn echo() -> (SocketAddr, JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        (addr, task)
    }

    /// Connects as node `from` (from its address) to `addr`.
    async fn dial(from: usize, addr: SocketAddr) -> TcpStream {
        let s = TcpSocket::new_v4().unwrap();
        s.bind(SocketAddr::new(IpAddr::V4(node_ip(from)), 0))
            .unwrap();
        s.connect(addr).await.unwrap()
    }

    /// Whether `msg` comes back through `s` within a second.
    async fn echoes(s: &mut TcpStream, msg: &[u8]) -> bool {
        if s.write_all(msg).await.is_err() {
            return false;
        }
        let mut got = vec![0u8; msg.len()];
        matches!(
            tokio::time::timeout(Duration::from_secs(1), s.read_exact(&mut got)).await,
            Ok(Ok(_))
        ) && got == msg
    }

    /// Whether the connection is closed (EOF or reset) within a second.
    async fn closed(s: &mut TcpStream) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_secs(1), s.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    /// Waits (bounded) until the proxies carry `n` connections.
    async fn settle(p: &Proxies, n: usize) {
        for _ in 0..100 {
            if p.live_connections() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(p.live_connections(), n);
    }

    #[tokio::test]
    async fn forwards_both_ways_from_every_node() {
        let (target, _echo) = echo().await;
        let p = Proxies::start(&[target, target, target]).await.unwrap();
        for from in 1..=3 {
            for to in 1..=3 {
                let mut s = dial(from, p.addr(to)).await;
                assert!(echoes(&mut s, b"hello through the proxy").await);
                // A large message crosses in several chunks.
                let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
                assert!(echoes(&mut s, &big).await, "{from} -> {to}");
            }
        }
        settle(&p, 0).await;
    }

    #[tokio::test]
    async fn blocking_a_link_cuts_it_and_refuses_new_connections() {
        let (target, _echo) = echo().await;
        let p = Proxies::start(&[target, target, target]).await.unwrap();
        let mut one_to_two = dial(1, p.addr(2)).await;
        let mut three_to_two = dial(3, p.addr(2)).await;
        let mut two_to_one = dial(2, p.addr(1)).await;
        assert!(echoes(&mut one_to_two, b"a").await);
        assert!(echoes(&mut three_to_two, b"b").await);
        assert!(echoes(&mut two_to_one, b"c").await);
        settle(&p, 3).await;

        p.block(1, 2);
        assert!(closed(&mut one_to_two).await, "the live connection is cut");
        let mut again = dial(1, p.addr(2)).await;
        assert!(closed(&mut again).await, "a new one is refused");
        // Other links, and the other direction, are untouched.
        assert!(echoes(&mut three_to_two, b"still").await);
        assert!(echoes(&mut two_to_one, b"still").await);

        p.unblock(1, 2);
        let mut back = dial(1, p.addr(2)).await;
        assert!(echoes(&mut back, b"back").await);
    }

    #[tokio::test]
    async fn a_partition_cuts_every_link_of_a_node_until_healed() {
        let (target, _echo) = echo().await;
        let p = Proxies::start(&[target, target, target]).await.unwrap();
        let mut to_two = [dial(1, p.addr(2)).await, dial(3, p.addr(2)).await];
        let mut from_two = dial(2, p.addr(3)).await;
        let mut unrelated = dial(1, p.addr(3)).await;
        let mut stranger = TcpStream::connect(p.addr(2)).await.unwrap();
        for s in to_two.iter_mut() {
            assert!(echoes(s, b"x").await);
        }
        assert!(echoes(&mut from_two, b"x").await);
        assert!(echoes(&mut unrelated, b"x").await);
        assert!(echoes(&mut stranger, b"x").await);

        p.partition(2);
        for s in to_two.iter_mut() {
            assert!(closed(s).await);
        }
        assert!(closed(&mut from_two).await);
        assert!(closed(&mut stranger).await, "even an unknown source");
        assert_eq!(p.strangers(), 1);
        assert!(echoes(&mut unrelated, b"1 and 3 still talk").await);
        assert!(closed(&mut dial(1, p.addr(2)).await).await);
        assert!(closed(&mut dial(2, p.addr(1)).await).await);

        p.heal();
        assert!(echoes(&mut dial(1, p.addr(2)).await, b"healed").await);
        assert!(echoes(&mut dial(2, p.addr(1)).await, b"healed").await);
    }

    #[tokio::test]
    async fn a_delay_holds_each_way_without_reordering() {
        let (target, _echo) = echo().await;
        let p = Proxies::start(&[target]).await.unwrap();
        let mut s = dial(1, p.addr(1)).await;
        let t = Instant::now();
        assert!(echoes(&mut s, b"fast").await);
        assert!(t.elapsed() < Duration::from_millis(150));

        p.delay(150);
        let t = Instant::now();
        assert!(echoes(&mut s, b"slow").await);
        // Held once on the way there and once on the way back.
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );

        // Many writes in a row keep their order and are not slowed one by one.
        let t = Instant::now();
        let mut expected = Vec::new();
        for i in 0..20u8 {
            s.write_all(&[i; 100]).await.unwrap();
            expected.extend_from_slice(&[i; 100]);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut got = vec![0u8; expected.len()];
        tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, expected);
        assert!(
            t.elapsed() < Duration::from_millis(900),
            "{:?}",
            t.elapsed()
        );

        p.delay(0);
        let t = Instant::now();
        assert!(echoes(&mut s, b"fast again").await);
        assert!(t.elapsed() < Duration::from_millis(150));
    }
}
