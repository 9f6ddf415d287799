//! Objects belong to the identity that made them: another client sees
//! nothing of them, an admin identity sees everything.

mod common;

use lkm::client::{Client, ClientError};
use lkm::kmip::{ObjectType, Operation, ProtocolVersion, ResultReason, tag};
use lkm::server::tls::client_config;
use lkm::ttlv::Item;

fn register_secret(name: &str) -> Vec<Item> {
    vec![
        Item::enumeration(tag::OBJECT_TYPE, ObjectType::SecretData.value()),
        Item::structure(
            tag::ATTRIBUTES,
            vec![Item::structure(
                tag::NAME,
                vec![
                    Item::text(tag::NAME_VALUE, name),
                    Item::enumeration(tag::NAME_TYPE, 1),
                ],
            )],
        ),
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

async fn client_named(server: &common::TestServer, name: &str, version: ProtocolVersion) -> Client {
    let certs = server.certs();
    let out = server.dir.path().join("issued");
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

fn located(p: &Item) -> usize {
    p.children_with(tag::UNIQUE_IDENTIFIER).count()
}

#[tokio::test]
async fn another_identity_sees_nothing_and_an_admin_sees_all() {
    let server = common::start_with(|c| c.auth.admins = vec!["cn:auditor".into()]).await;
    let v = ProtocolVersion::new(2, 1);
    let mut owner = server.client(v).await;
    let created = owner
        .call(Operation::Register, register_secret("drive-7"))
        .await
        .unwrap();
    let id = common::uid_item(&created);
    assert_eq!(
        located(&owner.call(Operation::Locate, vec![]).await.unwrap()),
        1
    );

    for version in [ProtocolVersion::new(2, 1), ProtocolVersion::new(1, 4)] {
        let mut other = client_named(&server, "other", version).await;
        assert_eq!(
            located(&other.call(Operation::Locate, vec![]).await.unwrap()),
            0
        );
        let by_name = vec![Item::structure(
            tag::ATTRIBUTES,
            vec![Item::structure(
                tag::NAME,
                vec![
                    Item::text(tag::NAME_VALUE, "drive-7"),
                    Item::enumeration(tag::NAME_TYPE, 1),
                ],
            )],
        )];
        if version.is_2x() {
            assert_eq!(
                located(&other.call(Operation::Locate, by_name).await.unwrap()),
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

    let mut admin = client_named(&server, "auditor", v).await;
    assert_eq!(
        located(&admin.call(Operation::Locate, vec![]).await.unwrap()),
        1
    );
    let got = admin.call(Operation::Get, vec![id]).await.unwrap();
    assert!(got.child(tag::SECRET_DATA).is_some());
}
