//! Starts a real lkm server on 127.0.0.1:0 with a fresh PKI, and connects
//! clients to it over mutual TLS.
#![allow(dead_code)]

use lkm::client::Client;
use lkm::config::{Config, TlsConfig};
use lkm::keystore::KeyStore;
use lkm::kmip::{ObjectType, ProtocolVersion, tag};
use lkm::server::{self, ServerHandle, tls::client_config};
use lkm::ttlv::Item;
use rustls::ClientConfig;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

pub struct TestServer {
    pub handle: ServerHandle,
    pub keystore: Arc<KeyStore>,
    pub addr: String,
    pub dir: TempDir,
}

impl TestServer {
    pub fn certs(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    pub fn tls(&self) -> Arc<ClientConfig> {
        let c = self.certs();
        client_config(
            &c.join("ca.crt"),
            &c.join("client.crt"),
            &c.join("client.key"),
        )
        .unwrap()
    }

    pub async fn client_result(&self) -> Result<Client, lkm::client::ClientError> {
        Client::connect(
            &self.addr,
            "localhost",
            self.tls(),
            ProtocolVersion::new(2, 1),
        )
        .await
    }

    pub async fn client(&self, version: ProtocolVersion) -> Client {
        Client::connect(&self.addr, "localhost", self.tls(), version)
            .await
            .unwrap()
    }
}

/// A TLS connection to the server with the test client certificate, for
/// tests that write raw bytes.
pub async fn raw(server: &TestServer) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    tokio_rustls::TlsConnector::from(server.tls())
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

/// Test limits: short deadlines so stalled clients are dropped quickly.
pub fn test_config(dir: &Path) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_owned(),
        tls: TlsConfig::in_dir(&dir.join("certs")),
        ..Config::default()
    };
    config.limits.handshake_timeout_ms = 2_000;
    config.limits.message_timeout_ms = 1_000;
    config.limits.idle_timeout_ms = 10_000;
    config.limits.shutdown_grace_ms = 5_000;
    config
}

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    lkm::pki::init(&dir.path().join("certs"), false).unwrap();
    let mut config = test_config(dir.path());
    tweak(&mut config);
    let keystore = Arc::new(KeyStore::open(&config.store_dir()).unwrap());
    for share in keystore.initialize(1, 1, "test", |_| Ok(())).unwrap() {
        keystore.unseal(share).unwrap();
    }
    start_on(dir, config, keystore).await
}

/// Starts a server on an existing directory and key store (sealed or not).
pub async fn start_on(dir: TempDir, config: Config, keystore: Arc<KeyStore>) -> TestServer {
    let handle = server::start(&config, keystore.clone()).await.unwrap();
    let addr = handle.local_addr.to_string();
    TestServer {
        handle,
        keystore,
        addr,
        dir,
    }
}

/// The `lkm` binary cargo built for these tests.
pub fn lkm_binary() -> &'static str {
    env!("CARGO_BIN_EXE_lkm")
}

/// A child process killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `lkm serve --dev` from the built binary, once it accepts connections.
pub async fn spawn_dev(data: &std::path::Path, port: u16) -> Running {
    let child = Command::new(lkm_binary())
        .args(["serve", "--dev", "--data"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--metrics-listen", &format!("127.0.0.1:{}", free_port())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return running;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("lkm serve --dev did not start");
}

/// A Create payload (2.x form) for an AES-256 key that may encrypt and decrypt.
pub fn create_aes256() -> Vec<Item> {
    vec![
        Item::enumeration(tag::OBJECT_TYPE, ObjectType::SymmetricKey.value()),
        Item::structure(
            tag::ATTRIBUTES,
            vec![
                Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, 3),
                Item::integer(tag::CRYPTOGRAPHIC_LENGTH, 256),
                Item::integer(tag::CRYPTOGRAPHIC_USAGE_MASK, 12),
            ],
        ),
    ]
}

/// The Unique Identifier a response payload names.
pub fn uid_of(payload: &Item) -> String {
    payload
        .child(tag::UNIQUE_IDENTIFIER)
        .unwrap()
        .as_text()
        .unwrap()
        .to_owned()
}

/// Creates `n` AES-256 keys and returns their identifiers.
pub async fn create_keys(c: &mut Client, n: usize) -> Vec<String> {
    let mut uids = Vec::new();
    for _ in 0..n {
        let p = c
            .call(lkm::kmip::Operation::Create, create_aes256())
            .await
            .unwrap();
        uids.push(uid_of(&p));
    }
    uids
}

/// The Unique Identifier a response payload names, as an item to send on.
pub fn uid_item(payload: &Item) -> Item {
    Item::text(tag::UNIQUE_IDENTIFIER, uid_of(payload))
}

/// The State of object `id`, as its Get Attributes answer gives it.
pub async fn state_of(c: &mut Client, id: &Item) -> Option<u32> {
    c.call(
        lkm::kmip::Operation::GetAttributes,
        vec![
            id.clone(),
            Item::enumeration(tag::ATTRIBUTE_REFERENCE, tag::STATE),
        ],
    )
    .await
    .unwrap()
    .child(tag::ATTRIBUTES)?
    .child(tag::STATE)?
    .as_enumeration()
}

/// A payload naming one object.
pub fn uid_payload(uid: &str) -> Vec<Item> {
    vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)]
}
