//! One client connection: read a request (header first, so a bad tag or an
//! oversized length is refused before the body is read), answer it, repeat
//! until the client leaves, idles out or the server shuts down.

use super::handler::Handler;
use crate::auth::Identity;
use crate::config::LimitsConfig;
use crate::kmip::tag;
use crate::ttlv::binary::{HEADER_LEN, decode_header};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Why a connection ended, for the log.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Close {
    ClientDone,
    Idle,
    Shutdown,
    NotKmip(String),
    TooLarge(u32),
    Deadline,
    Io(String),
}

pub(crate) struct Connection<S> {
    pub stream: S,
    pub peer: SocketAddr,
    pub identity: Identity,
}

/// A stream that can tell, without consuming anything, that its peer has
/// closed the connection.
pub(crate) trait PeerGone {
    /// Completes once the peer has closed (or reset) the connection; never
    /// while it may still be there. Bytes it sent (a pipelined request, read
    /// after the answer) are left in place.
    fn peer_gone(&self) -> impl std::future::Future<Output = ()> + Send;
}

impl PeerGone for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {
    async fn peer_gone(&self) {
        let tcp = self.get_ref().0;
        loop {
            match tcp.ready(tokio::io::Interest::READABLE).await {
                // The peer's FIN (after a close_notify or not) or a reset.
                Err(_) => return,
                Ok(r) if r.is_read_closed() || r.is_error() => return,
                // Bytes wait (a pipelined request, or a close_notify whose
                // FIN is on its way): nothing is consumed; look again.
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + PeerGone> Connection<S> {
    pub async fn serve(
        mut self,
        handler: Arc<Handler>,
        limits: &LimitsConfig,
        shutdown: CancellationToken,
    ) -> Close {
        let close = loop {
            let mut header = [0u8; HEADER_LEN];
            // Idle wait for the first byte of the next request; shutdown
            // only interrupts a connection here, between requests.
            let first = tokio::select! {
                _ = shutdown.cancelled() => break Close::Shutdown,
                r = timeout(limits.idle_timeout(), self.stream.read(&mut header[..1])) => r,
            };
            match first {
                Err(_) => break Close::Idle,
                Ok(Ok(0)) => break Close::ClientDone,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => break eof_or(e),
            }
            let deadline = Instant::now() + limits.message_timeout();
            match self
                .read_request(&mut header, deadline, limits.max_message_size)
                .await
            {
                Ok(request) => {
                    if let Some(m) = &handler.metrics {
                        m.messages.inc();
                        m.bytes_received.inc_by(request.len() as u64);
                    }
                    // Operations that may wait on an fsync or compute for
                    // long run off the async workers, so concurrent writers
                    // share syncs; quick reads are answered here.
                    // Linearizable reads: wait until this node has applied
                    // every write committed before the request arrived
                    // (concurrent requests share one round).
                    let fenced = handler.keystore.fence().await;
                    let outcome = if let Err(e) = &fenced {
                        handler.refuse(&self.identity, self.peer, &request, &e.to_string())
                    } else if super::handler::is_quick(&request) {
                        handler.handle(&self.identity, self.peer, &request, &AtomicBool::new(false))
                    } else {
                        let h = handler.clone();
                        let identity = self.identity.clone();
                        let peer = self.peer;
                        let cancelled = Arc::new(AtomicBool::new(false));
                        let flag = cancelled.clone();
                        let mut task = tokio::task::spawn_blocking(move || {
                            h.handle(&identity, peer, &request, &flag)
                        });
                        // While it runs, watch for the client going away:
                        // the rest of its batch is then not worth running.
                        let joined = tokio::select! {
                            r = &mut task => r,
                            () = self.stream.peer_gone() => {
                                cancelled.store(true, Ordering::Relaxed);
                                task.await
                            }
                        };
                        match joined {
                            Ok(o) => o,
                            Err(e) => break Close::Io(format!("request handler failed: {e}")),
                        }
                    };
                    debug!(peer = %self.peer, identity = %self.identity, ops = ?outcome.operations, "request served");
                    if let Some(m) = &handler.metrics {
                        m.bytes_sent.inc_by(outcome.bytes.len() as u64);
                    }
                    let deadline = Instant::now() + limits.message_timeout();
                    match timeout_at(deadline, self.write(&outcome.bytes)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => break eof_or(e),
                        Err(_) => break Close::Deadline,
                    }
                }
                Err(close) => break close,
            }
        };
        let limit = match &close {
            Close::TooLarge(_) => Some("message_too_large"),
            Close::Deadline => Some("message_deadline"),
            Close::Idle => Some("idle_timeout"),
            Close::NotKmip(_) => Some("not_kmip"),
            _ => None,
        };
        if let (Some(cause), Some(m)) = (limit, &handler.metrics) {
            m.refused.with_label_values(&[cause]).inc();
        }
        match &close {
            Close::ClientDone | Close::Shutdown | Close::Idle => {
                debug!(peer = %self.peer, reason = ?close, "connection closed")
            }
            _ => {
                warn!(peer = %self.peer, identity = %self.identity, reason = ?close, "connection dropped")
            }
        }
        // Best effort: tell the client we are done (close_notify).
        let _ = timeout(std::time::Duration::from_secs(1), self.stream.shutdown()).await;
        close
    }

    async fn read_request(
        &mut self,
        header: &mut [u8; HEADER_LEN],
        deadline: Instant,
        max: usize,
    ) -> Result<Vec<u8>, Close> {
        match timeout_at(deadline, self.stream.read_exact(&mut header[1..])).await {
            Err(_) => return Err(Close::Deadline),
            Ok(Err(e)) => return Err(eof_or(e)),
            Ok(Ok(_)) => {}
        }
        let h = decode_header(header);
        if h.tag != tag::REQUEST_MESSAGE || h.type_code != 0x01 {
            return Err(Close::NotKmip(format!(
                "first item is tag 0x{:06X} type 0x{:02X}, not a Request Message structure",
                h.tag, h.type_code
            )));
        }
        let total = HEADER_LEN as u64 + u64::from(h.length);
        if total > max as u64 || !h.length.is_multiple_of(8) {
            return Err(Close::TooLarge(h.length));
        }
        // Grow the buffer as bytes arrive rather than trusting the length:
        // a client that announces 1 MiB and sends nothing costs nothing.
        let mut buf = Vec::with_capacity(HEADER_LEN + (h.length as usize).min(16 * 1024));
        buf.extend_from_slice(header);
        let mut body = (&mut self.stream).take(u64::from(h.length));
        match timeout_at(deadline, body.read_to_end(&mut buf)).await {
            Err(_) => Err(Close::Deadline),
            Ok(Err(e)) => Err(eof_or(e)),
            Ok(Ok(n)) if n as u64 != u64::from(h.length) => Err(Close::ClientDone),
            Ok(Ok(_)) => Ok(buf),
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }
}

/// PyKMIP and many clients close without close_notify; rustls reports that
/// as UnexpectedEof, which is an ordinary goodbye here.
fn eof_or(e: io::Error) -> Close {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Close::ClientDone
    } else {
        Close::Io(e.to_string())
    }
}
