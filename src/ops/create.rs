//! Create: a new symmetric key, or (2.x) new random Secret Data, made by
//! the server.

use super::{Context, new_object, object_type_of, request_attributes, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, ObjectType, ResultReason};
use crate::ttlv::Item;

const KEY_FORMAT_RAW: u32 = 0x01;
const AES: u32 = 0x03;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let object_type = object_type_of(payload)?;
    let attrs = request_attributes(ctx, payload)?;
    if object_type == ObjectType::SecretData {
        return create_secret_data(ctx, attrs);
    }
    if object_type != ObjectType::SymmetricKey {
        return Err(KmipError::new(
            ResultReason::InvalidObjectType,
            format!(
                "Create makes symmetric keys and secret data, not {}",
                object_type.name()
            ),
        ));
    }
    let int_attr = |t| attrs.iter().find(|a| a.tag == t).and_then(Item::as_integer);
    let algorithm = attrs
        .iter()
        .find(|a| a.tag == tag::CRYPTOGRAPHIC_ALGORITHM)
        .and_then(Item::as_enumeration)
        .ok_or_else(|| KmipError::missing_data("Create needs a Cryptographic Algorithm"))?;
    let length = int_attr(tag::CRYPTOGRAPHIC_LENGTH)
        .ok_or_else(|| KmipError::missing_data("Create needs a Cryptographic Length"))?;
    check_length(algorithm, length)?;
    let material = super::random_bytes(length as usize / 8)?;
    let key = Item::structure(
        tag::SYMMETRIC_KEY,
        vec![Item::structure(
            tag::KEY_BLOCK,
            vec![
                Item::enumeration(tag::KEY_FORMAT_TYPE, KEY_FORMAT_RAW),
                Item::structure(
                    tag::KEY_VALUE,
                    vec![Item::bytes(tag::KEY_MATERIAL, material)],
                ),
                Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, algorithm),
                Item::integer(tag::CRYPTOGRAPHIC_LENGTH, length),
            ],
        )],
    );
    let o = new_object(ctx, object_type, attrs, key)?;
    ctx.writer().insert(&o)?;
    Ok(response(vec![
        Item::enumeration(tag::OBJECT_TYPE, object_type.value()),
        Item::text(tag::UNIQUE_IDENTIFIER, o.uid),
    ]))
}

/// Secret Data of Cryptographic Length bits (256 by default), typed Seed
/// unless the request says otherwise.
fn create_secret_data(ctx: &Context<'_>, mut attrs: Vec<Item>) -> KmipResult<Item> {
    const SEED: u32 = 0x02;
    const OPAQUE: u32 = 0x02;
    let bits = attrs
        .iter()
        .find(|a| a.tag == tag::CRYPTOGRAPHIC_LENGTH)
        .and_then(Item::as_integer)
        .unwrap_or(256);
    if bits <= 0 || bits % 8 != 0 || bits > 8 * 4096 {
        return Err(KmipError::invalid_field(format!(
            "Cryptographic Length {bits} is not valid for secret data"
        )));
    }
    let kind = attrs
        .iter()
        .find(|a| a.tag == tag::SECRET_DATA_TYPE)
        .and_then(Item::as_enumeration)
        .unwrap_or(SEED);
    attrs.retain(|a| a.tag != tag::SECRET_DATA_TYPE);
    let material = super::random_bytes(bits as usize / 8)?;
    let object = Item::structure(
        tag::SECRET_DATA,
        vec![
            Item::enumeration(tag::SECRET_DATA_TYPE, kind),
            Item::structure(
                tag::KEY_BLOCK,
                vec![
                    Item::enumeration(tag::KEY_FORMAT_TYPE, OPAQUE),
                    Item::structure(
                        tag::KEY_VALUE,
                        vec![Item::bytes(tag::KEY_MATERIAL, material)],
                    ),
                ],
            ),
        ],
    );
    let o = new_object(ctx, ObjectType::SecretData, attrs, object)?;
    ctx.writer().insert(&o)?;
    Ok(response(vec![
        Item::enumeration(tag::OBJECT_TYPE, ObjectType::SecretData.value()),
        Item::text(tag::UNIQUE_IDENTIFIER, o.uid),
    ]))
}

fn check_length(algorithm: u32, length: i32) -> KmipResult<()> {
    let ok = if algorithm == AES {
        matches!(length, 128 | 192 | 256)
    } else {
        length > 0 && length % 8 == 0 && length <= 4096
    };
    if ok {
        Ok(())
    } else {
        Err(KmipError::invalid_field(format!(
            "Cryptographic Length {length} is not valid for this algorithm"
        )))
    }
}
