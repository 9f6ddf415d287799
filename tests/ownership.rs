//! Objects belong to the identity that made them: another client sees
//! nothing of them, an admin identity sees everything.

mod common;

use lkm::client::{Client, ClientError};
use lkm::kmip::{ObjectType, Operation, ProtocolVersion, ResultReason, tag};
use lkm::server::tls::client_config;
use lkm::ttlv::Item;

/// A Name attribute: `name`, as an uninterpreted text string.
fn name_attr(name: &str) -> Item {
    Item::structure(
        tag::NAME,
        vec![
            Item::text(tag::NAME_VALUE, name),
            Item::enumeration(tag::NAME_TYPE, 1),
        ],
    )
}

fn register_secret(name: &str) -> Vec<Item> {
    vec![
        Item::enumeration(tag::OBJECT_TYPE, ObjectType::SecretData.value()),
        Item::structure(tag::ATTRIBUTES, vec![name_attr(name)]),
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
                            vec![Item::bytes(tag::KEY_MATERIAL, b"drive-7-auth-key".to_vec())],
                        ),
                    ],
                ),
            ],
        ),
    ]
}

/// A client speaking `version` with a certificate for `name` issued into
/// `folder` (a folder per issue: the same name issued twice is a renewal,
/// new key and serial).
async fn client_speaking(
    server: &common::TestServer,
    folder: &str,
    name: &str,
    version: ProtocolVersion,
) -> Client {
    let certs = server.certs();
    let out = server.dir.path().join(folder);
    let crt = out.join(format!("{name}.crt"));
    if !crt.exists() {
        lkm::pki::issue(&certs, name, &out).unwrap();
    }
    let tls = client_config(
        &certs.join("ca.crt"),
        &crt,
        &out.join(format!("{name}.key")),
    )
    .unwrap();
    Client::connect(&server.addr, "localhost", tls, version)
        .await
        .unwrap()
}

/// The same, speaking KMIP 2.1.
async fn client_from(server: &common::TestServer, folder: &str, name: &str) -> Client {
    client_speaking(server, folder, name, ProtocolVersion::new(2, 1)).await
}

/// How many object records the server has opened so far.
fn records_opened(server: &common::TestServer) -> u64 {
    server
        .keystore
        .records_opened
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// Registers a secret named `name` through `c`; its identifier.
async fn registered(c: &mut Client, name: &str) -> Item {
    common::uid_item(
        &c.call(Operation::Register, register_secret(name))
            .await
            .unwrap(),
    )
}

fn located(p: &Item) -> usize {
    p.children_with(tag::UNIQUE_IDENTIFIER).count()
}

#[tokio::test]
async fn another_identity_sees_nothing_and_an_admin_sees_all() {
    let server = common::start_with(|c| c.auth.admins = vec!["cn:auditor".into()]).await;
    let v = ProtocolVersion::new(2, 1);
    let mut owner = server.client(v).await;
    let id = registered(&mut owner, "drive-7").await;
    assert_eq!(
        located(&owner.call(Operation::Locate, vec![]).await.unwrap()),
        1
    );

    for version in [ProtocolVersion::new(2, 1), ProtocolVersion::new(1, 4)] {
        let mut other = client_speaking(&server, "issued", "other", version).await;
        assert_eq!(
            located(&other.call(Operation::Locate, vec![]).await.unwrap()),
            0
        );
        if version.is_2x() {
            assert_eq!(
                located(
                    &other
                        .call(Operation::Locate, by_name("drive-7"))
                        .await
                        .unwrap()
                ),
                0
            );
        }
        let expected = if version.is_2x() {
            ResultReason::ObjectNotFound
        } else {
            ResultReason::ItemNotFound
        };
        for (op, extra) in [
            (Operation::Get, vec![]),
            (Operation::GetAttributes, vec![]),
            (Operation::Activate, vec![]),
            (Operation::Destroy, vec![]),
            (
                Operation::Revoke,
                vec![Item::structure(
                    tag::REVOCATION_REASON,
                    vec![Item::enumeration(tag::REVOCATION_REASON_CODE, 2)],
                )],
            ),
        ] {
            let mut payload = vec![id.clone()];
            payload.extend(extra);
            match other.call(op, payload).await {
                Err(ClientError::Kmip(e)) => assert_eq!(e.reason, expected, "{op:?} in {version}"),
                r => panic!("{op:?} by another identity in {version}: {r:?}"),
            }
        }
    }
    // Nothing the other client did changed the object.
    let state = common::state_of(&mut owner, &id).await;
    assert_eq!(state, Some(1), "still Pre-Active");

    let mut admin = client_speaking(&server, "issued", "auditor", v).await;
    assert_eq!(
        located(&admin.call(Operation::Locate, vec![]).await.unwrap()),
        1
    );
    let got = admin.call(Operation::Get, vec![id]).await.unwrap();
    assert!(got.child(tag::SECRET_DATA).is_some());
}

fn by_name(name: &str) -> Vec<Item> {
    vec![Item::structure(tag::ATTRIBUTES, vec![name_attr(name)])]
}

fn reason(r: Result<Item, ClientError>) -> ResultReason {
    match r {
        Err(ClientError::Kmip(e)) => e.reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_renewed_certificate_with_the_same_subject_keeps_its_keys() {
    let server = common::start().await;
    let mut first = client_from(&server, "issued-2024", "array-7").await;
    let id = registered(&mut first, "drive-7").await;
    // Renewed: same subject, new key pair, new serial, new fingerprint.
    let mut renewed = client_from(&server, "issued-2025", "array-7").await;
    let got = renewed
        .call(Operation::Get, vec![id.clone()])
        .await
        .unwrap();
    assert!(got.child(tag::SECRET_DATA).is_some());
    assert_eq!(
        located(
            &renewed
                .call(Operation::Locate, by_name("drive-7"))
                .await
                .unwrap()
        ),
        1
    );
    // A different subject still sees nothing.
    let mut other = client_from(&server, "issued-2025", "array-8").await;
    assert_eq!(
        reason(other.call(Operation::Get, vec![id]).await),
        ResultReason::ObjectNotFound
    );
}

#[tokio::test]
async fn owned_by_fingerprint_a_renewed_certificate_loses_its_keys_until_transferred() {
    use lkm::admin::{self, AdminRequest};
    let server =
        common::start_with(|c| c.auth.identity = lkm::auth::IdentitySource::Fingerprint).await;
    let mut first = client_from(&server, "issued-2024", "array-7").await;
    let mut ids = Vec::new();
    for name in ["drive-1", "drive-2"] {
        ids.push(registered(&mut first, name).await);
    }
    let mut renewed = client_from(&server, "issued-2025", "array-7").await;
    assert_eq!(
        reason(renewed.call(Operation::Get, vec![ids[0].clone()]).await),
        ResultReason::ObjectNotFound
    );
    // An admin moves everything of the old certificate to the new one.
    use rustls_pki_types::pem::PemObject;
    let fingerprint = |folder: &str| {
        let pem = std::fs::read(server.dir.path().join(folder).join("array-7.crt")).unwrap();
        let der = rustls_pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
        hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der).as_ref())
    };
    let socket = server.dir.path().join("admin").join("lkm.sock");
    let request = AdminRequest::TransferOwner {
        from: Some(fingerprint("issued-2024")),
        uid: None,
        to: fingerprint("issued-2025"),
    };
    let answer = tokio::task::spawn_blocking(move || admin::request(&socket, &request).unwrap())
        .await
        .unwrap();
    assert!(answer.ok, "{}", answer.message);
    assert!(
        answer.message.contains("moved 2 object(s)"),
        "{}",
        answer.message
    );
    for id in &ids {
        assert!(renewed.call(Operation::Get, vec![id.clone()]).await.is_ok());
        assert_eq!(
            reason(first.call(Operation::Get, vec![id.clone()]).await),
            ResultReason::ObjectNotFound
        );
    }
    assert_eq!(
        located(
            &renewed
                .call(Operation::Locate, by_name("drive-2"))
                .await
                .unwrap()
        ),
        1
    );
    // Each move is in the audit log, under the object it moved.
    let mut raw = Vec::new();
    let filter = lkm::audit::Filter {
        uid: ids[0].as_text().map(str::to_owned),
        ..Default::default()
    };
    lkm::audit::export(
        server.keystore.store(),
        &filter,
        lkm::audit::Format::Jsonl,
        &mut raw,
    )
    .unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(text.contains("\"operation\":\"TransferOwner\""), "{text}");
}

#[tokio::test]
async fn locate_by_a_name_reads_none_of_another_tenants_records() {
    let server = common::start_with(|c| c.auth.admins = vec!["cn:auditor".into()]).await;
    let mut a = client_from(&server, "issued", "tenant-a").await;
    let mut b = client_from(&server, "issued", "tenant-b").await;
    for _ in 0..5 {
        b.call(Operation::Register, register_secret("shared"))
            .await
            .unwrap();
    }
    a.call(Operation::Register, register_secret("shared"))
        .await
        .unwrap();
    let opened = || records_opened(&server);
    let before = opened();
    let found = a.call(Operation::Locate, by_name("shared")).await.unwrap();
    assert_eq!(located(&found), 1);
    assert_eq!(opened() - before, 1, "only tenant a's own record is read");
    let before = opened();
    assert_eq!(
        located(&a.call(Operation::Locate, vec![]).await.unwrap()),
        1
    );
    assert_eq!(opened() - before, 1);
    // An admin still sees across tenants.
    let mut admin = client_from(&server, "issued", "auditor").await;
    assert_eq!(
        located(
            &admin
                .call(Operation::Locate, by_name("shared"))
                .await
                .unwrap()
        ),
        6
    );
}

#[tokio::test]
async fn names_are_unique_per_owner_and_checked_without_other_tenants_records() {
    let server = common::start().await;
    let mut a = client_from(&server, "issued", "tenant-a").await;
    let mut b = client_from(&server, "issued", "tenant-b").await;
    for _ in 0..3 {
        b.call(Operation::Register, register_secret("x"))
            .await
            .unwrap();
    }
    let mine = registered(&mut a, "y").await;
    let name = |n: &str| Item::structure(tag::NEW_ATTRIBUTE, vec![name_attr(n)]);
    let opened = || records_opened(&server);
    let before = opened();
    // Tenant b's three "x" do not stop tenant a from naming its own "x"...
    a.call(Operation::AddAttribute, vec![mine.clone(), name("x")])
        .await
        .unwrap();
    // ...and were not even read: only the object being changed was.
    assert_eq!(opened() - before, 1);
    // But tenant a cannot have two objects named "x".
    let second = registered(&mut a, "z").await;
    assert_eq!(
        reason(
            a.call(Operation::AddAttribute, vec![second, name("x")])
                .await
        ),
        ResultReason::NonUniqueNameAttribute
    );
}
