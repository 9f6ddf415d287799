//! Sensitive and Extractable only ever tighten: once a key is Sensitive
//! (or not Extractable) no edit brings it back out in clear, and it leaves
//! wrapped only under a key that itself never leaves the server and cannot
//! undo the wrap by decrypting.

mod common;

use lkm::client::{Client, ClientError};
use lkm::kmip::{ObjectType, Operation, ProtocolVersion, ResultReason, tag};
use lkm::ttlv::Item;

const AES: u32 = 3;
const ENCRYPT: i32 = 0x04;
const DECRYPT: i32 = 0x08;
const WRAP_KEY: i32 = 0x10;

fn refused(r: Result<Item, ClientError>) -> ResultReason {
    match r {
        Err(ClientError::Kmip(e)) => e.reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Makes an active AES-256 key with these extra attributes by `op`, its
/// payload the object type, the attributes, then `rest`.
async fn active_aes(
    c: &mut Client,
    op: Operation,
    usage: i32,
    extra: Vec<Item>,
    rest: Vec<Item>,
) -> Item {
    let mut attrs = vec![
        Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, AES),
        Item::integer(tag::CRYPTOGRAPHIC_LENGTH, 256),
        Item::integer(tag::CRYPTOGRAPHIC_USAGE_MASK, usage),
    ];
    attrs.extend(extra);
    let mut payload = vec![
        Item::enumeration(tag::OBJECT_TYPE, ObjectType::SymmetricKey.value()),
        Item::structure(tag::ATTRIBUTES, attrs),
    ];
    payload.extend(rest);
    let made = c.call(op, payload).await.unwrap();
    let id = common::uid_item(&made);
    c.call(Operation::Activate, vec![id.clone()]).await.unwrap();
    id
}

/// Creates an active AES-256 key with these extra attributes.
async fn key(c: &mut Client, usage: i32, extra: Vec<Item>) -> Item {
    active_aes(c, Operation::Create, usage, extra, vec![]).await
}

/// Registers an active AES-256 key with known bytes.
async fn registered(c: &mut Client, usage: i32, extra: Vec<Item>) -> Item {
    let known = Item::structure(
        tag::SYMMETRIC_KEY,
        vec![Item::structure(
            tag::KEY_BLOCK,
            vec![
                Item::enumeration(tag::KEY_FORMAT_TYPE, 1),
                Item::structure(
                    tag::KEY_VALUE,
                    vec![Item::bytes(tag::KEY_MATERIAL, vec![0x42; 32])],
                ),
                Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, AES),
                Item::integer(tag::CRYPTOGRAPHIC_LENGTH, 256),
            ],
        )],
    );
    active_aes(c, Operation::Register, usage, extra, vec![known]).await
}

fn edit(id: &Item, item: Item) -> Vec<Item> {
    vec![id.clone(), Item::structure(tag::NEW_ATTRIBUTE, vec![item])]
}

fn reference(id: &Item, t: u32) -> Vec<Item> {
    vec![id.clone(), Item::enumeration(tag::ATTRIBUTE_REFERENCE, t)]
}

async fn flag(c: &mut Client, id: &Item, t: u32) -> Option<bool> {
    c.call(Operation::GetAttributes, reference(id, t))
        .await
        .unwrap()
        .child(tag::ATTRIBUTES)?
        .child(t)?
        .as_boolean()
}

/// Neither Set Attribute nor Modify Attribute may write `item` on `id`.
async fn no_edit_may_write(c: &mut Client, id: &Item, item: Item) {
    for op in [Operation::SetAttribute, Operation::ModifyAttribute] {
        assert_eq!(
            refused(c.call(op, edit(id, item.clone())).await),
            ResultReason::PermissionDenied,
            "{op:?}"
        );
    }
}

/// Delete Attribute may not remove attribute `t` of `id`.
async fn no_delete(c: &mut Client, id: &Item, t: u32) {
    assert_eq!(
        refused(c.call(Operation::DeleteAttribute, reference(id, t)).await),
        ResultReason::PermissionDenied
    );
}

fn wrapped_under(id: &Item, kek: &Item) -> Vec<Item> {
    vec![
        id.clone(),
        Item::structure(
            tag::KEY_WRAPPING_SPECIFICATION,
            vec![
                Item::enumeration(tag::WRAPPING_METHOD, 1),
                Item::structure(
                    tag::ENCRYPTION_KEY_INFORMATION,
                    vec![Item::text(
                        tag::UNIQUE_IDENTIFIER,
                        kek.as_text().unwrap().to_owned(),
                    )],
                ),
            ],
        ),
    ]
}

#[tokio::test]
async fn sensitive_goes_only_on_and_extractable_only_off() {
    let server = common::start().await;
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let s = key(
        &mut c,
        ENCRYPT | DECRYPT,
        vec![Item::boolean(tag::SENSITIVE, true)],
    )
    .await;
    no_edit_may_write(&mut c, &s, Item::boolean(tag::SENSITIVE, false)).await;
    no_delete(&mut c, &s, tag::SENSITIVE).await;
    assert_eq!(
        refused(c.call(Operation::Get, vec![s.clone()]).await),
        ResultReason::Sensitive
    );
    assert_eq!(flag(&mut c, &s, tag::ALWAYS_SENSITIVE).await, Some(true));

    let n = key(
        &mut c,
        ENCRYPT | DECRYPT,
        vec![Item::boolean(tag::EXTRACTABLE, false)],
    )
    .await;
    assert_eq!(
        refused(
            c.call(
                Operation::SetAttribute,
                edit(&n, Item::boolean(tag::EXTRACTABLE, true))
            )
            .await
        ),
        ResultReason::PermissionDenied
    );
    no_delete(&mut c, &n, tag::EXTRACTABLE).await;
    assert_eq!(
        refused(c.call(Operation::Get, vec![n.clone()]).await),
        ResultReason::NotExtractable
    );
    assert_eq!(flag(&mut c, &n, tag::NEVER_EXTRACTABLE).await, Some(true));

    // A plain key states KMIP's defaults and its history; tightening it is
    // allowed, and its history stays true.
    let p = key(&mut c, ENCRYPT | DECRYPT, vec![]).await;
    assert_eq!(flag(&mut c, &p, tag::SENSITIVE).await, Some(false));
    assert_eq!(flag(&mut c, &p, tag::EXTRACTABLE).await, Some(true));
    assert_eq!(flag(&mut c, &p, tag::ALWAYS_SENSITIVE).await, Some(false));
    assert_eq!(flag(&mut c, &p, tag::NEVER_EXTRACTABLE).await, Some(false));
    c.call(
        Operation::SetAttribute,
        edit(&p, Item::boolean(tag::SENSITIVE, true)),
    )
    .await
    .unwrap();
    c.call(
        Operation::SetAttribute,
        edit(&p, Item::boolean(tag::EXTRACTABLE, false)),
    )
    .await
    .unwrap();
    assert_eq!(flag(&mut c, &p, tag::ALWAYS_SENSITIVE).await, Some(false));
    assert_eq!(flag(&mut c, &p, tag::NEVER_EXTRACTABLE).await, Some(false));
    // Nobody may write the history.
    assert_eq!(
        refused(
            c.call(
                Operation::SetAttribute,
                edit(&p, Item::boolean(tag::ALWAYS_SENSITIVE, true))
            )
            .await
        ),
        ResultReason::AttributeReadOnly
    );
}

#[tokio::test]
async fn a_sensitive_key_leaves_only_under_a_key_that_never_does() {
    let server = common::start().await;
    let mut c = server.client(ProtocolVersion::new(2, 1)).await;
    let s = key(
        &mut c,
        ENCRYPT | DECRYPT,
        vec![Item::boolean(tag::SENSITIVE, true)],
    )
    .await;
    let not_extractable = || vec![Item::boolean(tag::EXTRACTABLE, false)];
    // Registered with known bytes: whoever registered it could unwrap.
    let known = registered(&mut c, WRAP_KEY, not_extractable()).await;
    // Extractable: anyone may Get it and unwrap.
    let extractable = key(&mut c, WRAP_KEY, vec![]).await;
    // Allowed to Decrypt: AES-ECB decryption undoes the wrap block by block.
    let decrypting = key(&mut c, WRAP_KEY | DECRYPT, not_extractable()).await;
    for kek in [&known, &extractable, &decrypting] {
        assert_eq!(
            refused(c.call(Operation::Get, wrapped_under(&s, kek)).await),
            ResultReason::PermissionDenied
        );
    }
    let good = key(&mut c, WRAP_KEY, not_extractable()).await;
    let got = c
        .call(Operation::Get, wrapped_under(&s, &good))
        .await
        .unwrap();
    let block = got
        .child(tag::SYMMETRIC_KEY)
        .and_then(|k| k.child(tag::KEY_BLOCK))
        .unwrap();
    assert!(block.child(tag::KEY_WRAPPING_DATA).is_some());
    // And the good key cannot learn to decrypt afterwards.
    no_edit_may_write(
        &mut c,
        &good,
        Item::integer(tag::CRYPTOGRAPHIC_USAGE_MASK, WRAP_KEY | DECRYPT),
    )
    .await;
    no_delete(&mut c, &good, tag::CRYPTOGRAPHIC_USAGE_MASK).await;
    // Losing a use is fine.
    c.call(
        Operation::SetAttribute,
        edit(
            &decrypting,
            Item::integer(tag::CRYPTOGRAPHIC_USAGE_MASK, WRAP_KEY),
        ),
    )
    .await
    .unwrap();
    // A key that is not Sensitive may still be wrapped under any wrapping key,
    // and, never having been non-extractable, may still gain uses.
    let plain = key(&mut c, ENCRYPT, vec![]).await;
    c.call(
        Operation::SetAttribute,
        edit(
            &plain,
            Item::integer(tag::CRYPTOGRAPHIC_USAGE_MASK, ENCRYPT | DECRYPT),
        ),
    )
    .await
    .unwrap();
    assert!(
        c.call(Operation::Get, wrapped_under(&plain, &extractable))
            .await
            .is_ok()
    );
}
