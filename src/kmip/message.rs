//! Request and Response Messages, both directions: the server parses
//! requests and builds responses; `lkm client`, `lkm bench` and the tests
//! build requests and parse responses with the same types.

use super::enums::{BatchErrorContinuationOption, ResultReason, ResultStatus};
use super::error::{KmipError, KmipResult};
use super::tag;
use super::version::ProtocolVersion;
use crate::ttlv::{Bytes, Item, Value, describe_tag};

#[derive(Clone, Debug, PartialEq)]
pub struct RequestHeader {
    pub version: ProtocolVersion,
    pub maximum_response_size: Option<i32>,
    pub client_correlation_value: Option<String>,
    pub asynchronous_indicator: bool,
    pub batch_error_continuation: BatchErrorContinuationOption,
    pub batch_order: bool,
    pub batch_count: i32,
}

impl RequestHeader {
    pub fn new(version: ProtocolVersion, batch_count: i32) -> Self {
        Self {
            version,
            maximum_response_size: None,
            client_correlation_value: None,
            asynchronous_indicator: false,
            batch_error_continuation: BatchErrorContinuationOption::Stop,
            batch_order: true,
            batch_count,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RequestBatchItem {
    /// Kept raw: an operation this server does not know must still be
    /// echoed in its failure.
    pub operation: u32,
    pub unique_batch_item_id: Option<Bytes>,
    /// The Request Payload structure (absent for some operations).
    pub payload: Option<Item>,
    pub message_extensions: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RequestMessage {
    pub header: RequestHeader,
    pub items: Vec<RequestBatchItem>,
}

/// A request that cannot be processed at all; answered with one failed
/// batch item, in `version` when the header got that far.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageError {
    pub version: Option<ProtocolVersion>,
    pub error: KmipError,
}

impl RequestMessage {
    pub fn parse(item: &Item) -> Result<RequestMessage, MessageError> {
        let fail = |version, msg: String| MessageError {
            version,
            error: KmipError::invalid_message(msg),
        };
        if item.tag != tag::REQUEST_MESSAGE {
            return Err(fail(
                None,
                format!(
                    "expected a Request Message, found {}",
                    describe_tag(item.tag)
                ),
            ));
        }
        let Value::Structure(children) = &item.value else {
            return Err(fail(None, "the Request Message is not a structure".into()));
        };
        let header_item = children
            .first()
            .filter(|c| c.tag == tag::REQUEST_HEADER)
            .ok_or_else(|| {
                fail(
                    None,
                    "the Request Message does not start with a Request Header".into(),
                )
            })?;
        let version = header_item
            .child(tag::PROTOCOL_VERSION)
            .and_then(ProtocolVersion::from_item)
            .ok_or_else(|| {
                fail(
                    None,
                    "the Request Header has no valid Protocol Version".into(),
                )
            })?;
        let header = parse_header(header_item, version).map_err(|e| MessageError {
            version: Some(version),
            error: e,
        })?;
        let mut items = Vec::with_capacity(children.len().saturating_sub(1));
        for c in &children[1..] {
            if c.tag != tag::BATCH_ITEM {
                return Err(fail(
                    Some(version),
                    format!("unexpected {} in the Request Message", describe_tag(c.tag)),
                ));
            }
            items.push(parse_batch_item(c).map_err(|e| MessageError {
                version: Some(version),
                error: e,
            })?);
        }
        if items.is_empty() {
            return Err(fail(
                Some(version),
                "the request holds no Batch Item".into(),
            ));
        }
        if usize::try_from(header.batch_count).ok() != Some(items.len()) {
            return Err(fail(
                Some(version),
                format!(
                    "Batch Count is {} but the message holds {} Batch Items",
                    header.batch_count,
                    items.len()
                ),
            ));
        }
        Ok(RequestMessage { header, items })
    }

    pub fn to_item(&self) -> Item {
        let h = &self.header;
        let mut header = vec![h.version.to_item()];
        if let Some(m) = h.maximum_response_size {
            header.push(Item::integer(tag::MAXIMUM_RESPONSE_SIZE, m));
        }
        if let Some(c) = &h.client_correlation_value {
            header.push(Item::text(tag::CLIENT_CORRELATION_VALUE, c.clone()));
        }
        if h.asynchronous_indicator {
            header.push(Item::boolean(tag::ASYNCHRONOUS_INDICATOR, true));
        }
        if h.batch_error_continuation != BatchErrorContinuationOption::Stop {
            header.push(Item::enumeration(
                tag::BATCH_ERROR_CONTINUATION_OPTION,
                h.batch_error_continuation.value(),
            ));
        }
        if !h.batch_order {
            header.push(Item::boolean(tag::BATCH_ORDER_OPTION, false));
        }
        header.push(Item::integer(tag::BATCH_COUNT, h.batch_count));
        let mut children = vec![Item::structure(tag::REQUEST_HEADER, header)];
        for b in &self.items {
            let mut bi = vec![Item::enumeration(tag::OPERATION, b.operation)];
            if let Some(id) = &b.unique_batch_item_id {
                bi.push(Item::bytes(tag::UNIQUE_BATCH_ITEM_ID, id.clone()));
            }
            if let Some(p) = &b.payload {
                bi.push(p.clone());
            }
            bi.extend(b.message_extensions.iter().cloned());
            children.push(Item::structure(tag::BATCH_ITEM, bi));
        }
        Item::structure(tag::REQUEST_MESSAGE, children)
    }
}

fn expect<T>(item: &Item, got: Option<T>, what: &str) -> KmipResult<T> {
    got.ok_or_else(|| {
        KmipError::invalid_message(format!(
            "{} must be {what}, found {:?}",
            describe_tag(item.tag),
            item.value.item_type()
        ))
    })
}

fn parse_header(h: &Item, version: ProtocolVersion) -> KmipResult<RequestHeader> {
    let mut out = RequestHeader::new(version, -1);
    let mut saw_count = false;
    for c in h.children() {
        match c.tag {
            tag::MAXIMUM_RESPONSE_SIZE => {
                out.maximum_response_size = Some(expect(c, c.as_integer(), "an Integer")?)
            }
            tag::CLIENT_CORRELATION_VALUE => {
                out.client_correlation_value =
                    Some(expect(c, c.as_text(), "a Text String")?.to_owned())
            }
            tag::ASYNCHRONOUS_INDICATOR => {
                out.asynchronous_indicator = expect(c, c.as_boolean(), "a Boolean")?
            }
            tag::BATCH_ERROR_CONTINUATION_OPTION => {
                let v = expect(c, c.as_enumeration(), "an Enumeration")?;
                out.batch_error_continuation = BatchErrorContinuationOption::from_u32(v)
                    .ok_or_else(|| {
                        KmipError::invalid_message(format!(
                            "unknown Batch Error Continuation Option {v}"
                        ))
                    })?;
            }
            tag::BATCH_ORDER_OPTION => out.batch_order = expect(c, c.as_boolean(), "a Boolean")?,
            tag::BATCH_COUNT => {
                out.batch_count = expect(c, c.as_integer(), "an Integer")?;
                saw_count = true;
            }
            // Protocol Version was read already; authentication, attestation
            // and time stamps are accepted and not acted on: the client's
            // certificate is the credential.
            _ => {}
        }
    }
    if !saw_count {
        return Err(KmipError::invalid_message(
            "the Request Header has no Batch Count",
        ));
    }
    Ok(out)
}

fn parse_batch_item(b: &Item) -> KmipResult<RequestBatchItem> {
    if !matches!(b.value, Value::Structure(_)) {
        return Err(KmipError::invalid_message(
            "a Batch Item must be a structure",
        ));
    }
    let mut operation = None;
    let mut out = RequestBatchItem {
        operation: 0,
        unique_batch_item_id: None,
        payload: None,
        message_extensions: Vec::new(),
    };
    for c in b.children() {
        match c.tag {
            tag::OPERATION => operation = Some(expect(c, c.as_enumeration(), "an Enumeration")?),
            tag::UNIQUE_BATCH_ITEM_ID => {
                out.unique_batch_item_id =
                    Some(Bytes::from(expect(c, c.as_bytes(), "a Byte String")?))
            }
            tag::REQUEST_PAYLOAD => {
                if !matches!(c.value, Value::Structure(_)) {
                    return Err(KmipError::invalid_message(
                        "the Request Payload must be a structure",
                    ));
                }
                out.payload = Some(c.clone());
            }
            tag::MESSAGE_EXTENSION => out.message_extensions.push(c.clone()),
            other => {
                return Err(KmipError::invalid_message(format!(
                    "unexpected {} in a Batch Item",
                    describe_tag(other)
                )));
            }
        }
    }
    out.operation =
        operation.ok_or_else(|| KmipError::invalid_message("a Batch Item has no Operation"))?;
    Ok(out)
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResponseBatchItem {
    pub operation: Option<u32>,
    pub unique_batch_item_id: Option<Bytes>,
    pub status: ResultStatus,
    pub reason: Option<ResultReason>,
    pub message: Option<String>,
    /// The Response Payload structure.
    pub payload: Option<Item>,
}

impl ResponseBatchItem {
    pub fn success(operation: u32, id: Option<Bytes>, payload: Option<Item>) -> Self {
        Self {
            operation: Some(operation),
            unique_batch_item_id: id,
            status: ResultStatus::Success,
            reason: None,
            message: None,
            payload,
        }
    }

    pub fn failure(operation: Option<u32>, id: Option<Bytes>, error: KmipError) -> Self {
        Self {
            operation,
            unique_batch_item_id: id,
            status: ResultStatus::OperationFailed,
            reason: Some(error.reason),
            message: Some(error.message),
            payload: None,
        }
    }

    /// The failure as a typed error (None when the item succeeded).
    pub fn error(&self) -> Option<KmipError> {
        (self.status != ResultStatus::Success).then(|| {
            KmipError::new(
                self.reason.unwrap_or(ResultReason::GeneralFailure),
                self.message.clone().unwrap_or_default(),
            )
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResponseMessage {
    pub version: ProtocolVersion,
    pub time_stamp: i64,
    pub client_correlation_value: Option<String>,
    pub items: Vec<ResponseBatchItem>,
}

impl ResponseMessage {
    pub fn to_item(&self) -> Item {
        let mut header = vec![
            self.version.to_item(),
            Item::date_time(tag::TIME_STAMP, self.time_stamp),
        ];
        // Correlation values exist from 1.4 on.
        if let Some(c) = &self.client_correlation_value
            && self.version >= ProtocolVersion::new(1, 4)
        {
            header.push(Item::text(tag::CLIENT_CORRELATION_VALUE, c.clone()));
        }
        header.push(Item::integer(
            tag::BATCH_COUNT,
            i32::try_from(self.items.len()).unwrap_or(i32::MAX),
        ));
        let mut children = vec![Item::structure(tag::RESPONSE_HEADER, header)];
        for b in &self.items {
            let mut bi = Vec::with_capacity(6);
            if let Some(op) = b.operation {
                bi.push(Item::enumeration(tag::OPERATION, op));
            }
            if let Some(id) = &b.unique_batch_item_id {
                bi.push(Item::bytes(tag::UNIQUE_BATCH_ITEM_ID, id.clone()));
            }
            bi.push(Item::enumeration(tag::RESULT_STATUS, b.status.value()));
            if let Some(r) = b.reason {
                bi.push(Item::enumeration(
                    tag::RESULT_REASON,
                    r.for_version(self.version.major).value(),
                ));
            }
            if let Some(m) = &b.message {
                bi.push(Item::text(tag::RESULT_MESSAGE, m.clone()));
            }
            if let Some(p) = &b.payload {
                bi.push(p.clone());
            }
            children.push(Item::structure(tag::BATCH_ITEM, bi));
        }
        Item::structure(tag::RESPONSE_MESSAGE, children)
    }

    /// Parses a response (client side). Lenient about fields it does not
    /// need, strict about the ones it reads.
    pub fn parse(item: &Item) -> KmipResult<ResponseMessage> {
        if item.tag != tag::RESPONSE_MESSAGE {
            return Err(KmipError::invalid_message(format!(
                "expected a Response Message, found {}",
                describe_tag(item.tag)
            )));
        }
        let header = item
            .child(tag::RESPONSE_HEADER)
            .ok_or_else(|| KmipError::invalid_message("no Response Header"))?;
        let version = header
            .child(tag::PROTOCOL_VERSION)
            .and_then(ProtocolVersion::from_item)
            .ok_or_else(|| KmipError::invalid_message("no Protocol Version"))?;
        let time_stamp = header
            .child(tag::TIME_STAMP)
            .and_then(Item::as_date_time)
            .unwrap_or(0);
        let mut items = Vec::new();
        for b in item.children_with(tag::BATCH_ITEM) {
            let status = b
                .child(tag::RESULT_STATUS)
                .and_then(Item::as_enumeration)
                .and_then(ResultStatus::from_u32)
                .ok_or_else(|| KmipError::invalid_message("a Batch Item has no Result Status"))?;
            items.push(ResponseBatchItem {
                operation: b.child(tag::OPERATION).and_then(Item::as_enumeration),
                unique_batch_item_id: b
                    .child(tag::UNIQUE_BATCH_ITEM_ID)
                    .and_then(Item::as_bytes)
                    .map(Bytes::from),
                status,
                reason: b
                    .child(tag::RESULT_REASON)
                    .and_then(Item::as_enumeration)
                    .and_then(ResultReason::from_u32),
                message: b
                    .child(tag::RESULT_MESSAGE)
                    .and_then(Item::as_text)
                    .map(str::to_owned),
                payload: b.child(tag::RESPONSE_PAYLOAD).cloned(),
            });
        }
        Ok(ResponseMessage {
            version,
            time_stamp,
            client_correlation_value: header
                .child(tag::CLIENT_CORRELATION_VALUE)
                .and_then(Item::as_text)
                .map(str::to_owned),
            items,
        })
    }
}
