//! Attribute rules a storage array leans on: many long custom attributes,
//! read-only and single-valued attributes, unique names; and Create of
//! Secret Data in 2.x.

mod common;

use lkm::client::ClientError;
use lkm::kmip::{ObjectType, Operation, ProtocolVersion, ResultReason, tag};
use lkm::ttlv::Item;

fn vendor(name: &str, value: &str) -> Item {
    Item::structure(
        tag::ATTRIBUTE,
        vec![
            Item::text(tag::VENDOR_IDENTIFICATION, "x"),
            Item::text(tag::ATTRIBUTE_NAME, name),
            Item::text(tag::ATTRIBUTE_VALUE, value),
        ],
    )
}

fn refused(r: Result<Item, ClientError>) -> ResultReason {
    match r {
        Err(ClientError::Kmip(e)) => e.reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn twenty_long_custom_attributes_and_the_attribute_rules() {
    let server = common::start().await;
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let long: Vec<(String, String)> = (0..24)
        .map(|i| (format!("Attr{i:02}"), format!("{i:02}:{}", "v".repeat(253))))
        .collect();
    let mut attrs: Vec<Item> = long.iter().map(|(n, v)| vendor(n, v)).collect();
    attrs.push(Item::structure(
        tag::NAME,
        vec![
            Item::text(tag::NAME_VALUE, "bay-3"),
            Item::enumeration(tag::NAME_TYPE, 1),
        ],
    ));
    let created = c
        .call(
            Operation::Create,
            vec![
                Item::enumeration(tag::OBJECT_TYPE, ObjectType::SecretData.value()),
                Item::structure(tag::ATTRIBUTES, attrs),
            ],
        )
        .await
        .unwrap();
    let id = common::uid_item(&created);
    // Every custom attribute comes back whole.
    let all = c
        .call(Operation::GetAttributes, vec![id.clone()])
        .await
        .unwrap();
    let back: Vec<&Item> = all
        .child(tag::ATTRIBUTES)
        .unwrap()
        .children_with(tag::ATTRIBUTE)
        .collect();
    assert_eq!(back.len(), 24);
    for ((n, v), a) in long.iter().zip(back) {
        assert_eq!(
            a.child(tag::ATTRIBUTE_NAME).unwrap().as_text(),
            Some(n.as_str())
        );
        assert_eq!(
            a.child(tag::ATTRIBUTE_VALUE).unwrap().as_text(),
            Some(v.as_str())
        );
    }
    // Found by one of them.
    let found = c
        .call(
            Operation::Locate,
            vec![Item::structure(
                tag::ATTRIBUTES,
                vec![vendor(&long[17].0, &long[17].1)],
            )],
        )
        .await
        .unwrap();
    assert_eq!(found.children_with(tag::UNIQUE_IDENTIFIER).count(), 1);
    // Server-created secret data: 256 random bits by default.
    let got = c.call(Operation::Get, vec![id.clone()]).await.unwrap();
    let material = got
        .child(tag::SECRET_DATA)
        .and_then(|s| s.child(tag::KEY_BLOCK))
        .and_then(|b| b.child(tag::KEY_VALUE))
        .and_then(|v| v.child(tag::KEY_MATERIAL))
        .and_then(Item::as_bytes)
        .unwrap();
    assert_eq!(material.len(), 32);

    let add = |item: Item| vec![id.clone(), Item::structure(tag::NEW_ATTRIBUTE, vec![item])];
    assert_eq!(
        refused(
            c.call(
                Operation::AddAttribute,
                add(Item::enumeration(tag::STATE, 2))
            )
            .await
        ),
        ResultReason::AttributeReadOnly
    );
    c.call(
        Operation::AddAttribute,
        add(Item::text(tag::DESCRIPTION, "bay 3")),
    )
    .await
    .unwrap();
    assert_eq!(
        refused(
            c.call(
                Operation::AddAttribute,
                add(Item::text(tag::DESCRIPTION, "again"))
            )
            .await
        ),
        ResultReason::AttributeSingleValued
    );
    // A second object may not take a name already in use.
    let other = c
        .call(
            Operation::Create,
            vec![
                Item::enumeration(tag::OBJECT_TYPE, ObjectType::SecretData.value()),
                Item::structure(tag::ATTRIBUTES, vec![]),
            ],
        )
        .await
        .unwrap();
    let dup = vec![
        common::uid_item(&other),
        Item::structure(
            tag::NEW_ATTRIBUTE,
            vec![Item::structure(
                tag::NAME,
                vec![
                    Item::text(tag::NAME_VALUE, "bay-3"),
                    Item::enumeration(tag::NAME_TYPE, 1),
                ],
            )],
        ),
    ];
    assert_eq!(
        refused(c.call(Operation::AddAttribute, dup).await),
        ResultReason::NonUniqueNameAttribute
    );
    assert_eq!(
        refused(
            c.call(
                Operation::DeleteAttribute,
                vec![
                    id.clone(),
                    Item::enumeration(tag::ATTRIBUTE_REFERENCE, tag::CONTACT_INFORMATION)
                ]
            )
            .await
        ),
        ResultReason::AttributeNotFound
    );
}

#[tokio::test]
async fn an_undone_batch_puts_back_what_it_changed_and_nothing_else() {
    use lkm::kmip::{
        BatchErrorContinuationOption, RequestBatchItem, RequestHeader, RequestMessage, ResultStatus,
    };
    let server = common::start().await;
    let v = ProtocolVersion::new(2, 1);
    let mut c = server.client(v).await;
    let created = c
        .call(
            Operation::Create,
            vec![
                Item::enumeration(tag::OBJECT_TYPE, ObjectType::SecretData.value()),
                Item::structure(tag::ATTRIBUTES, vec![]),
            ],
        )
        .await
        .unwrap();
    let id = common::uid_item(&created);
    let item = |op: Operation, payload: Vec<Item>| RequestBatchItem {
        operation: op.value(),
        unique_batch_item_id: None,
        payload: Some(Item::structure(tag::REQUEST_PAYLOAD, payload)),
        message_extensions: vec![],
    };
    let mut header = RequestHeader::new(v, 4);
    header.batch_error_continuation = BatchErrorContinuationOption::Undo;
    let batch = RequestMessage {
        header,
        items: vec![
            // Finds the existing object: undoing must not delete it.
            item(Operation::Locate, vec![]),
            // Changes it: undoing must put it back.
            item(Operation::Activate, vec![id.clone()]),
            // Makes a new one: undoing must remove it.
            item(
                Operation::Create,
                vec![
                    Item::enumeration(tag::OBJECT_TYPE, ObjectType::SecretData.value()),
                    Item::structure(tag::ATTRIBUTES, vec![]),
                ],
            ),
            item(
                Operation::Get,
                vec![Item::text(tag::UNIQUE_IDENTIFIER, "no-such-object")],
            ),
        ],
    };
    let r = c.send(&batch).await.unwrap();
    let statuses: Vec<ResultStatus> = r.items.iter().map(|b| b.status).collect();
    use ResultStatus::*;
    assert_eq!(
        statuses,
        vec![
            OperationUndone,
            OperationUndone,
            OperationUndone,
            OperationFailed
        ]
    );
    let made = common::uid_item(r.items[2].payload.as_ref().unwrap());
    assert_eq!(
        common::state_of(&mut c, &id).await,
        Some(1),
        "back to Pre-Active"
    );
    assert_eq!(
        refused(c.call(Operation::Get, vec![made]).await),
        ResultReason::ObjectNotFound,
        "the created object is gone"
    );
    let all = c.call(Operation::Locate, vec![]).await.unwrap();
    assert_eq!(
        all.children_with(tag::UNIQUE_IDENTIFIER).count(),
        1,
        "the located object is still there"
    );
}
