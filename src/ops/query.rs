//! Query: what this server supports. Answers are listed in the order the
//! specification gives the response fields, whatever order the functions
//! were asked in; functions about features lkm does not have answer with
//! nothing, which is how the specification says "none".

use super::{Context, SUPPORTED_OBJECT_TYPES, SUPPORTED_OPERATIONS, response};
use crate::kmip::tag;
use crate::kmip::{KmipError, KmipResult, QueryFunction};
use crate::ttlv::{Item, describe_tag};

// Enumeration values written in the answers.
const RNG_ALGORITHM_DRBG: u32 = 0x03;
const DRBG_ALGORITHM_CTR: u32 = 0x05;
const CRYPTOGRAPHIC_ALGORITHM_AES: u32 = 0x03;
const UNSPECIFIED: u32 = 0x01;

pub(super) fn run(ctx: &Context<'_>, payload: &Item) -> KmipResult<Item> {
    let mut asked = Vec::new();
    for c in payload.children() {
        if c.tag != tag::QUERY_FUNCTION {
            return Err(KmipError::invalid_field(format!(
                "Query takes only Query Function items, found {}",
                describe_tag(c.tag)
            )));
        }
        let v = c
            .as_enumeration()
            .ok_or_else(|| KmipError::invalid_field("a Query Function must be an Enumeration"))?;
        asked.push(QueryFunction::from_u32(v).ok_or_else(|| {
            KmipError::invalid_field(format!("unknown Query Function 0x{v:08X}"))
        })?);
    }
    let wants = |f| asked.contains(&f);
    let mut out = Vec::new();
    if wants(QueryFunction::QueryOperations) {
        out.extend(
            SUPPORTED_OPERATIONS
                .iter()
                .map(|o| Item::enumeration(tag::OPERATION, o.value())),
        );
    }
    if wants(QueryFunction::QueryObjects) {
        out.extend(
            SUPPORTED_OBJECT_TYPES
                .iter()
                .map(|o| Item::enumeration(tag::OBJECT_TYPE, o.value())),
        );
    }
    if wants(QueryFunction::QueryServerInformation) {
        out.push(Item::text(
            tag::VENDOR_IDENTIFICATION,
            ctx.server.vendor_identification.clone(),
        ));
        out.push(Item::structure(tag::SERVER_INFORMATION, Vec::new()));
    }
    // Application namespaces, extensions, attestation types: none.
    if wants(QueryFunction::QueryRNGs) {
        // Randomness comes from aws-lc's CTR-DRBG (AES-256), seeded by the OS.
        out.push(Item::structure(
            tag::RNG_PARAMETERS,
            vec![
                Item::enumeration(tag::RNG_ALGORITHM, RNG_ALGORITHM_DRBG),
                Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, CRYPTOGRAPHIC_ALGORITHM_AES),
                Item::integer(tag::CRYPTOGRAPHIC_LENGTH, 256),
                Item::enumeration(tag::DRBG_ALGORITHM, DRBG_ALGORITHM_CTR),
            ],
        ));
    }
    // Profiles are claimed once the conformance runner proves them.
    if wants(QueryFunction::QueryCapabilities) {
        out.push(Item::structure(
            tag::CAPABILITY_INFORMATION,
            vec![
                Item::boolean(tag::STREAMING_CAPABILITY, false),
                Item::boolean(tag::ASYNCHRONOUS_CAPABILITY, false),
                Item::boolean(tag::ATTESTATION_CAPABILITY, false),
                Item::boolean(tag::BATCH_UNDO_CAPABILITY, false),
                Item::boolean(tag::BATCH_CONTINUE_CAPABILITY, true),
                Item::enumeration(tag::UNWRAP_MODE, UNSPECIFIED),
                Item::enumeration(tag::DESTROY_ACTION, UNSPECIFIED),
                Item::enumeration(tag::SHREDDING_ALGORITHM, UNSPECIFIED),
                Item::enumeration(tag::RNG_MODE, UNSPECIFIED),
            ],
        ));
    }
    Ok(response(out))
}
