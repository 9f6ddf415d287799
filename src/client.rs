//! A KMIP client over mutual TLS, on the same codec as the server. Used by
//! `lkm client`, `lkm bench` and the black-box tests.

use crate::kmip::{
    KmipError, Operation, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage,
    ResponseMessage, tag,
};
use crate::ttlv::binary::{HEADER_LEN, decode_header};
use crate::ttlv::{self, DecodeError, Item, Limits};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::sync::Arc;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid server name {0:?}")]
    ServerName(String),
    #[error("bad response: {0}")]
    Decode(#[from] DecodeError),
    #[error("bad response: {0}")]
    Protocol(String),
    #[error("server refused: {0}")]
    Kmip(#[from] KmipError),
}

pub struct Client {
    stream: TlsStream<TcpStream>,
    /// The version requests are sent in.
    pub version: ProtocolVersion,
    limits: Limits,
}

impl Client {
    /// Connects and completes the TLS handshake. `server_name` is checked
    /// against the server certificate (an IP address works too).
    pub async fn connect(
        addr: &str,
        server_name: &str,
        tls: Arc<ClientConfig>,
        version: ProtocolVersion,
    ) -> Result<Self, ClientError> {
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| ClientError::ServerName(server_name.to_owned()))?;
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let stream = TlsConnector::from(tls).connect(name, tcp).await?;
        Ok(Self {
            stream,
            version,
            limits: Limits {
                max_message_size: 64 << 20,
                ..Limits::default()
            },
        })
    }

    /// Sends raw request bytes and returns the raw response bytes.
    pub async fn roundtrip(&mut self, request: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.stream.write_all(request).await?;
        self.stream.flush().await?;
        let mut header = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut header).await?;
        let h = decode_header(&header);
        if h.tag != tag::RESPONSE_MESSAGE || h.type_code != 1 {
            return Err(ClientError::Protocol(format!(
                "expected a Response Message, got tag 0x{:06X}",
                h.tag
            )));
        }
        if h.length as usize > self.limits.max_message_size {
            return Err(ClientError::Protocol(format!(
                "response of {} bytes is too large",
                h.length
            )));
        }
        let mut buf = vec![0u8; HEADER_LEN + h.length as usize];
        buf[..HEADER_LEN].copy_from_slice(&header);
        self.stream.read_exact(&mut buf[HEADER_LEN..]).await?;
        Ok(buf)
    }

    pub async fn send(&mut self, request: &RequestMessage) -> Result<ResponseMessage, ClientError> {
        let bytes = self.roundtrip(&ttlv::encode(&request.to_item())).await?;
        let item = ttlv::decode(&bytes, &self.limits)?;
        Ok(ResponseMessage::parse(&item)?)
    }

    /// One operation in a one-item batch; its Response Payload, or the
    /// server's failure as an error.
    pub async fn call(&mut self, op: Operation, payload: Vec<Item>) -> Result<Item, ClientError> {
        let request = RequestMessage {
            header: RequestHeader::new(self.version, 1),
            items: vec![RequestBatchItem {
                operation: op.value(),
                unique_batch_item_id: None,
                payload: Some(Item::structure(tag::REQUEST_PAYLOAD, payload)),
                message_extensions: Vec::new(),
            }],
        };
        let response = self.send(&request).await?;
        let item = response
            .items
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Protocol("response holds no batch item".into()))?;
        if let Some(e) = item.error() {
            return Err(ClientError::Kmip(e));
        }
        Ok(item
            .payload
            .unwrap_or_else(|| Item::structure(tag::RESPONSE_PAYLOAD, Vec::new())))
    }

    /// Closes the connection politely (close_notify).
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.stream.shutdown().await?;
        Ok(())
    }
}
