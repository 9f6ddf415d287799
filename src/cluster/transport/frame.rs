//! Frames: a 4-byte big-endian length, then that many bytes of postcard.
//! A length over [`MAX_FRAME`] is refused before its body is read, so a
//! peer cannot make this node allocate or wait for more. Buffers are wiped
//! when dropped (a Join frame carries its token in clear).

use super::TransportError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use zeroize::Zeroizing;

/// The largest frame body: room for a snapshot chunk
/// ([`super::snapshot::CHUNK`]) or a batch of log entries, with margin.
pub(crate) const MAX_FRAME: usize = 8 << 20;

/// Runs `f` until `deadline`; `what` names it in the timeout error.
pub(crate) async fn by<T>(
    deadline: Instant,
    what: &'static str,
    f: impl Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    let start = Instant::now();
    match tokio::time::timeout_at(deadline, f).await {
        Ok(r) => r,
        Err(_) => Err(TransportError::Timeout {
            what,
            after: deadline.saturating_duration_since(start),
        }),
    }
}

fn eof_as_closed(e: std::io::Error) -> TransportError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        TransportError::Closed
    } else {
        TransportError::Io(e)
    }
}

/// What one write (a log entry) may weigh once encoded: a frame, less
/// room for what an append carries besides its entries. A bigger entry
/// could never reach a follower, and replication would stop behind it.
pub(crate) const MAX_ENTRY: usize = MAX_FRAME - (64 << 10);

/// The encoded size of `msg`, counted without encoding it.
pub(crate) fn encoded_len<T: Serialize + ?Sized>(msg: &T) -> Result<usize, TransportError> {
    postcard::serialize_with_flavor(msg, postcard::ser_flavors::Size::default())
        .map_err(|e| TransportError::Encode(e.to_string()))
}

/// Encodes `msg` as a frame (length and body).
pub(crate) fn encode<T: Serialize>(msg: &T) -> Result<Zeroizing<Vec<u8>>, TransportError> {
    let mut buf = Zeroizing::new(vec![0u8; 4]);
    let mut body = Zeroizing::new(
        postcard::to_stdvec(msg).map_err(|e| TransportError::Encode(e.to_string()))?,
    );
    if body.len() > MAX_FRAME {
        return Err(TransportError::Oversize {
            len: body.len(),
            max: MAX_FRAME,
        });
    }
    let len = u32::try_from(body.len()).map_err(|_| TransportError::Oversize {
        len: body.len(),
        max: MAX_FRAME,
    })?;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf.append(&mut body);
    Ok(buf)
}

/// Writes `msg` as one frame and flushes it, by `deadline`.
pub(crate) async fn write_frame<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    msg: &T,
    deadline: Instant,
) -> Result<(), TransportError> {
    let buf = encode(msg)?;
    by(deadline, "write", async {
        w.write_all(&buf).await?;
        w.flush().await?;
        Ok(())
    })
    .await
}

/// Reads the length of the next frame; `None` when the peer closed the
/// connection cleanly between frames. A length over `max` is an error and
/// the body is left unread.
pub(crate) async fn read_header<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<usize>, TransportError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < len.len() {
        let n = r.read(&mut len[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(TransportError::Closed)
            };
        }
        got += n;
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(TransportError::Oversize { len, max });
    }
    Ok(Some(len))
}

/// Reads a body of `len` bytes and decodes it; the whole body must be
/// one message.
pub(crate) async fn read_body<R: AsyncRead + Unpin, T: DeserializeOwned>(
    r: &mut R,
    len: usize,
) -> Result<T, TransportError> {
    let mut body = Zeroizing::new(vec![0u8; len]);
    r.read_exact(&mut body).await.map_err(eof_as_closed)?;
    decode(&body)
}

pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, TransportError> {
    let (msg, rest) =
        postcard::take_from_bytes(body).map_err(|e| TransportError::Decode(e.to_string()))?;
    if !rest.is_empty() {
        return Err(TransportError::Decode(format!(
            "{} bytes after the message",
            rest.len()
        )));
    }
    Ok(msg)
}

/// Reads one whole frame by `deadline`; a closed connection is an error.
pub(crate) async fn read_frame<R: AsyncRead + Unpin, T: DeserializeOwned>(
    r: &mut R,
    deadline: Instant,
) -> Result<T, TransportError> {
    by(deadline, "read", async {
        let len = read_header(r, MAX_FRAME)
            .await?
            .ok_or(TransportError::Closed)?;
        read_body(r, len).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn a_frame_round_trips_and_trailing_bytes_are_refused() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        write_frame(&mut a, &(7u64, "seven".to_owned()), soon())
            .await
            .unwrap();
        let got: (u64, String) = read_frame(&mut b, soon()).await.unwrap();
        assert_eq!(got, (7, "seven".to_owned()));
        // A u8 body read as a u8 with a byte left over.
        let mut raw = 2u32.to_be_bytes().to_vec();
        raw.extend([1, 2]);
        a.write_all(&raw).await.unwrap();
        let e = read_frame::<_, u8>(&mut b, soon()).await.unwrap_err();
        assert!(matches!(e, TransportError::Decode(_)), "{e}");
    }

    #[tokio::test]
    async fn an_oversize_length_is_refused_before_its_body() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&((MAX_FRAME + 1) as u32).to_be_bytes())
            .await
            .unwrap();
        // No body follows: refusing must not wait for one.
        let e = read_frame::<_, u8>(&mut b, soon()).await.unwrap_err();
        assert!(
            matches!(e, TransportError::Oversize { len, .. } if len == MAX_FRAME + 1),
            "{e}"
        );
        let big = vec![0u8; MAX_FRAME + 1];
        assert!(matches!(encode(&big), Err(TransportError::Oversize { .. })));
    }

    #[tokio::test]
    async fn a_silent_peer_times_out_and_a_cut_frame_is_closed() {
        let (_a, mut b) = tokio::io::duplex(64);
        let deadline = Instant::now() + Duration::from_millis(50);
        let e = read_frame::<_, u8>(&mut b, deadline).await.unwrap_err();
        assert!(e.is_timeout(), "{e}");
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&10u32.to_be_bytes()).await.unwrap();
        a.write_all(&[1, 2]).await.unwrap();
        drop(a);
        let e = read_frame::<_, u8>(&mut b, soon()).await.unwrap_err();
        assert!(matches!(e, TransportError::Closed), "{e}");
        let (a, mut b) = tokio::io::duplex(64);
        drop(a);
        assert!(read_header(&mut b, MAX_FRAME).await.unwrap().is_none());
    }
}
