//! The server while sealed, and unsealing it through the admin socket;
//! keys created over KMIP surviving kill -9 of the real `lkm` binary.

mod common;

use lkm::admin::{self, AdminRequest};
use lkm::client::{Client, ClientError};
use lkm::keystore::KeyStore;
use lkm::kmip::{Operation, ProtocolVersion, ResultReason, tag};
use lkm::seal::shares::ShareFile;
use lkm::ttlv::Item;
use std::sync::Arc;

#[tokio::test]
async fn sealed_server_refuses_all_but_discovery_until_k_shares_arrive() {
    let dir = tempfile::tempdir().unwrap();
    lkm::pki::init(&dir.path().join("certs"), false).unwrap();
    let config = common::test_config(dir.path());
    let keystore = Arc::new(KeyStore::open(&config.store_dir()).unwrap());
    let shares = keystore.initialize(3, 2, "test", |_| Ok(())).unwrap();
    keystore
        .unseal(ShareFile::parse(&shares[0].to_json()).unwrap())
        .unwrap();
    let socket = config.admin_socket_path();
    let server = common::start_on(dir, config, keystore).await;

    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    c.call(Operation::DiscoverVersions, vec![]).await.unwrap();
    c.call(Operation::Query, vec![]).await.unwrap();
    for (op, payload) in [
        (Operation::Create, common::create_aes256()),
        (
            Operation::Get,
            vec![Item::text(tag::UNIQUE_IDENTIFIER, "x")],
        ),
        (
            Operation::Destroy,
            vec![Item::text(tag::UNIQUE_IDENTIFIER, "x")],
        ),
    ] {
        match c.call(op, payload).await {
            Err(ClientError::Kmip(e)) => {
                assert_eq!(e.reason, ResultReason::GeneralFailure);
                assert!(e.message.contains("sealed: 1 of 2"), "{}", e.message);
            }
            other => panic!("{op:?} while sealed: {other:?}"),
        }
    }

    // The admin socket is the owner's only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let status = tokio::task::spawn_blocking({
        let socket = socket.clone();
        move || admin::request(&socket, &AdminRequest::Status).unwrap()
    })
    .await
    .unwrap();
    assert!(status.status.sealed);
    assert_eq!(status.status.shares_given, 1);

    // A garbage share is refused by name and changes nothing.
    let bad = tokio::task::spawn_blocking({
        let socket = socket.clone();
        move || {
            admin::request(
                &socket,
                &AdminRequest::Unseal {
                    share: "{\"x\":1}".into(),
                },
            )
            .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(!bad.ok);
    assert!(
        bad.message.contains("not an lkm share file"),
        "{}",
        bad.message
    );
    assert_eq!(bad.status.shares_given, 1);

    let share = shares[2].to_json().to_string();
    let r = tokio::task::spawn_blocking(move || {
        admin::request(&socket, &AdminRequest::Unseal { share }).unwrap()
    })
    .await
    .unwrap();
    assert!(r.ok, "{}", r.message);
    assert!(!r.status.sealed);

    let created = c
        .call(Operation::Create, common::create_aes256())
        .await
        .unwrap();
    let uid = common::uid_of(&created);
    let got = c
        .call(
            Operation::Get,
            vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)],
        )
        .await
        .unwrap();
    assert!(got.child(tag::SYMMETRIC_KEY).is_some());
}

async fn dev_client(data: &std::path::Path, port: u16) -> Client {
    let c = data.join("certs");
    let tls = lkm::server::tls::client_config(
        &c.join("ca.crt"),
        &c.join("client.crt"),
        &c.join("client.key"),
    )
    .unwrap();
    Client::connect(
        &format!("127.0.0.1:{port}"),
        "localhost",
        tls,
        ProtocolVersion::new(1, 4),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn keys_created_over_kmip_survive_kill_minus_nine() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = common::free_port();
    let mut keys = Vec::new();
    {
        let mut server = common::spawn_dev(&data, port).await;
        let mut c = dev_client(&data, port).await;
        for _ in 0..20 {
            let uid = common::uid_of(
                &c.call(Operation::Create, common::create_aes256())
                    .await
                    .unwrap(),
            );
            let got = c
                .call(
                    Operation::Get,
                    vec![Item::text(tag::UNIQUE_IDENTIFIER, uid.clone())],
                )
                .await
                .unwrap();
            keys.push((uid, got));
        }
        // No shutdown, no flush: SIGKILL right after the last acknowledgement.
        server.0.kill().unwrap();
        server.0.wait().unwrap();
    }
    let _server = common::spawn_dev(&data, port).await;
    let mut c = dev_client(&data, port).await;
    for (uid, before) in &keys {
        let after = c
            .call(
                Operation::Get,
                vec![Item::text(tag::UNIQUE_IDENTIFIER, uid.clone())],
            )
            .await
            .unwrap();
        assert_eq!(&after, before, "key {uid} byte for byte");
    }
}
