//! Turns one request's bytes into one response's bytes: decode, parse,
//! run each batch item, encode, and enforce the client's Maximum Response
//! Size. Every failure on the way becomes a well-formed KMIP response.

use super::budget::{self, Progress};
use super::collapse::Collapser;
use super::rate::AuditRate;
use crate::audit::{Draft, Scope};
use crate::auth::Identity;
use crate::kmip::message::MessageError;
use crate::kmip::tag;
use crate::kmip::{
    BatchErrorContinuationOption, KmipError, Operation, ProtocolVersion, RequestMessage,
    ResponseBatchItem, ResponseMessage, ResultReason, ResultStatus,
};
use crate::objects::ManagedObject;
use crate::ops::{self, Context, ServerInfo};
use crate::ttlv::{self, Limits};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tracing::debug;

pub struct Handler {
    pub keystore: std::sync::Arc<crate::keystore::KeyStore>,
    pub limits: Limits,
    pub max_batch_items: usize,
    pub info: ServerInfo,
    /// Identity patterns with access to every object (`auth.admins`).
    pub admins: Vec<String>,
    pub metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
    requests: RequestLimits,
    expensive: Arc<budget::Expensive>,
    rate: AuditRate,
    collapser: Collapser,
}

/// The per-request limits of `[limits]`, as the handler applies them.
struct RequestLimits {
    max_work: u64,
    deadline: std::time::Duration,
    response_budget: usize,
    max_expensive: usize,
}

/// How long repeats of one failure are counted into one audit entry.
const COLLAPSE_WINDOW_MS: i64 = 10_000;

/// The outcome of one request, for logs and (later) metrics.
pub struct Outcome {
    pub bytes: Vec<u8>,
    pub operations: Vec<(Option<u32>, ResultStatus)>,
    /// Each batch item's operation, status and reason, for the metrics.
    pub results: Vec<(Option<u32>, ResultStatus, Option<ResultReason>)>,
}

impl Handler {
    pub fn new(
        keystore: Arc<crate::keystore::KeyStore>,
        limits: &crate::config::LimitsConfig,
        info: ServerInfo,
        admins: Vec<String>,
        metrics: Option<Arc<crate::metrics::Metrics>>,
    ) -> Handler {
        Handler {
            keystore,
            limits: limits.codec(),
            max_batch_items: limits.max_batch_items,
            info,
            admins,
            metrics,
            requests: RequestLimits {
                max_work: limits.max_request_work,
                deadline: limits.request_deadline(),
                response_budget: limits.response_budget(),
                max_expensive: limits.max_expensive_per_identity,
            },
            expensive: Arc::default(),
            rate: AuditRate::new(limits.audited_items_per_s, limits.audited_items_burst),
            collapser: Collapser::new(COLLAPSE_WINDOW_MS),
        }
    }

    /// Answers one request. `cancelled` is set by the connection when the
    /// client goes away: the rest of the batch is then not run.
    pub fn handle(
        &self,
        identity: &Identity,
        peer: SocketAddr,
        request: &[u8],
        cancelled: &AtomicBool,
    ) -> Outcome {
        let started = std::time::Instant::now();
        let client = Client {
            identity,
            peer,
            cancelled,
            started,
        };
        let outcome = self.answer(&client, request);
        if let Some(m) = &self.metrics {
            let name = |op: Option<u32>| {
                op.and_then(Operation::from_u32)
                    .map_or("Unknown", Operation::name)
            };
            for (op, status, reason) in &outcome.results {
                m.requests
                    .with_label_values(&[
                        name(*op),
                        status.name(),
                        reason.map_or("", ResultReason::name),
                    ])
                    .inc();
            }
            let first = outcome.results.first().and_then(|(op, _, _)| *op);
            m.latency
                .with_label_values(&[name(first)])
                .observe(started.elapsed().as_secs_f64());
        }
        outcome
    }

    /// Answers a request that cannot be served (reads not confirmed by a
    /// quorum, with degraded reads off): one Operation Failed naming why,
    /// recorded in the audit log.
    pub fn refuse(
        &self,
        identity: &Identity,
        peer: SocketAddr,
        request: &[u8],
        why: &str,
    ) -> Outcome {
        let (response, _) = message_failure(MessageError {
            version: peek_version(request),
            error: KmipError::new(ResultReason::GeneralFailure, why.to_owned()),
        });
        let client = Client {
            identity,
            peer,
            cancelled: &AtomicBool::new(false),
            started: std::time::Instant::now(),
        };
        let draft = client.draft("Refused").failed(why.to_owned());
        if self.collapser.admit(&draft, crate::audit::now_ms())
            && let Err(e) = self.keystore.record(&draft)
        {
            tracing::error!(error = %e, "the audit log cannot be written");
        }
        outcome_of(&response, &response.to_item())
    }

    fn answer(&self, client: &Client<'_>, request: &[u8]) -> Outcome {
        let (mut response, max_size) = self.respond(client, request);
        let mut item = response.to_item();
        if let Some(max) = max_size {
            let size = ttlv::binary::encoded_len(&item);
            if size > usize::try_from(max).unwrap_or(0) {
                for b in &mut response.items {
                    *b = ResponseBatchItem::failure(
                        b.operation,
                        b.unique_batch_item_id.take(),
                        KmipError::new(
                            ResultReason::ResponseTooLarge,
                            format!(
                                "Response size: {size}, Maximum Response Size indicated in request: {max}"
                            ),
                        ),
                    );
                }
                item = response.to_item();
            }
        }
        outcome_of(&response, &item)
    }

    /// The response, and the Maximum Response Size the client set.
    fn respond(&self, client: &Client<'_>, request: &[u8]) -> (ResponseMessage, Option<i32>) {
        let (response, max) = self.respond_unaudited(client, request);
        // A message refused as a whole ran no operation: record the refusal.
        if let [only] = response.items.as_slice()
            && only.operation.is_none()
        {
            let draft = client
                .draft("InvalidMessage")
                .failed(only.reason.map_or("", ResultReason::name).to_owned());
            if self.collapser.admit(&draft, crate::audit::now_ms())
                && let Err(e) = self.keystore.record(&draft)
            {
                tracing::error!(error = %e, "the audit log cannot be written");
            }
        }
        (response, max)
    }

    fn respond_unaudited(
        &self,
        client: &Client<'_>,
        request: &[u8],
    ) -> (ResponseMessage, Option<i32>) {
        let identity = client.identity;
        let item = match ttlv::decode(request, &self.limits) {
            Ok(item) => item,
            Err(e) => {
                debug!(error = %e, "undecodable request");
                return message_failure(MessageError {
                    version: peek_version(request),
                    error: KmipError::invalid_message(format!("malformed TTLV: {e}")),
                });
            }
        };
        let req = match RequestMessage::parse(&item) {
            Ok(r) => r,
            Err(e) => return message_failure(e),
        };
        let Some(version) = req.header.version.negotiate() else {
            return message_failure(MessageError {
                version: Some(req.header.version),
                error: KmipError::new(
                    ResultReason::UnsupportedProtocolVersion,
                    format!(
                        "protocol version {} is not supported; this server speaks {}",
                        req.header.version,
                        supported_list()
                    ),
                ),
            });
        };
        if req.items.len() > self.max_batch_items {
            return message_failure(MessageError {
                version: Some(version),
                error: KmipError::invalid_message(format!(
                    "{} batch items exceed the limit of {}",
                    req.items.len(),
                    self.max_batch_items
                )),
            });
        }
        let work = match self.admit(identity, &req) {
            Ok(work) => work,
            Err(e) => {
                return message_failure(MessageError {
                    version: Some(version),
                    error: e,
                });
            }
        };
        let _permit = if work >= budget::EXPENSIVE {
            match self
                .expensive
                .try_acquire(&identity.owner, self.requests.max_expensive)
            {
                Some(p) => Some(p),
                None => {
                    self.count_refusal("expensive_concurrency");
                    return message_failure(MessageError {
                        version: Some(version),
                        error: KmipError::new(
                            ResultReason::ServerLimitExceeded,
                            format!(
                                "this client already has {} expensive requests running \
                                 (limits.max_expensive_per_identity); try again when they finish",
                                self.requests.max_expensive
                            ),
                        ),
                    });
                }
            }
        } else {
            None
        };
        let response_limit = match req.header.maximum_response_size {
            Some(m) if m > 0 => self.requests.response_budget.min(m as usize),
            _ => self.requests.response_budget,
        };
        let mut progress = Progress {
            deadline: client.started + self.requests.deadline,
            deadline_ms: self.requests.deadline.as_millis() as u64,
            cancelled: client.cancelled,
            response_left: response_limit,
            response_limit,
        };
        let unused = Scope::new(Draft::default());
        let ctx = Context {
            identity,
            version,
            server: &self.info,
            keystore: &self.keystore,
            admin: self.admins.iter().any(|a| identity.matches(a)),
            audit: &unused,
        };
        let items = self.run_batch(&ctx, client, &req, &mut progress);
        let response = ResponseMessage {
            version,
            time_stamp: now(),
            // The client's correlation value is for its own logs; the
            // OASIS vectors show responses without it.
            client_correlation_value: None,
            items,
        };
        (response, req.header.maximum_response_size)
    }
}

/// Operations answered on the connection's own task rather than the
/// blocking pool: they never wait for an fsync (a Get clearing Fresh does
/// not) and do no private-key arithmetic, so they finish in microseconds,
/// and the hand-off to another thread would cost more than they do.
const QUICK: &[Operation] = &[
    Operation::DiscoverVersions,
    Operation::Query,
    Operation::Get,
    Operation::GetAttributes,
    Operation::GetAttributeList,
    Operation::Encrypt,
    Operation::MAC,
    Operation::MACVerify,
    Operation::SignatureVerify,
    Operation::RNGRetrieve,
];

/// A request answered on the connection's task is at most this large
/// and holds at most this many items: a long batch of quick reads would
/// stall every other connection served by the same thread.
const QUICK_MAX_BYTES: usize = 64 * 1024;
const QUICK_MAX_ITEMS: usize = 8;

/// Whether every batch item of a small request is a [`QUICK`] operation,
/// read from the raw TTLV without decoding it (anything unexpected: no).
pub fn is_quick(request: &[u8]) -> bool {
    if request.len() > QUICK_MAX_BYTES {
        return false;
    }
    // Each item: tag (3), type (1), length (4), value padded to 8 bytes.
    fn items(b: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
        let mut rest = b;
        std::iter::from_fn(move || {
            let h = rest.get(..8)?;
            let tag = u32::from_be_bytes([0, h[0], h[1], h[2]]);
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            let value = rest.get(8..8 + len)?;
            rest = rest.get(8 + len.next_multiple_of(8)..).unwrap_or(&[]);
            Some((tag, value))
        })
    }
    let Some((tag::REQUEST_MESSAGE, body)) = items(request).next() else {
        return false;
    };
    let mut batch = 0;
    for (t, value) in items(body) {
        if t != tag::BATCH_ITEM {
            continue;
        }
        batch += 1;
        // Exactly one Operation: with two, the parser would not run the
        // one read here.
        let mut ops = items(value).filter(|(t, _)| *t == tag::OPERATION);
        let (Some((_, v)), None) = (ops.next(), ops.next()) else {
            return false;
        };
        let op = v
            .try_into()
            .ok()
            .map(u32::from_be_bytes)
            .and_then(Operation::from_u32);
        if !op.is_some_and(|o| QUICK.contains(&o)) || batch > QUICK_MAX_ITEMS {
            return false;
        }
    }
    batch > 0
}

/// Operations that name their object by Unique Identifier, and so take
/// the ID Placeholder when the request leaves it out.
const USES_UID: &[Operation] = &[
    Operation::Get,
    Operation::GetAttributes,
    Operation::GetAttributeList,
    Operation::AddAttribute,
    Operation::ModifyAttribute,
    Operation::DeleteAttribute,
    Operation::SetAttribute,
    Operation::Activate,
    Operation::Revoke,
    Operation::Destroy,
    Operation::Check,
    Operation::ReKey,
    Operation::GetUsageAllocation,
    Operation::AdjustAttribute,
    Operation::Encrypt,
    Operation::Decrypt,
    Operation::Sign,
    Operation::SignatureVerify,
    Operation::MAC,
    Operation::MACVerify,
];

/// Operations whose answer names objects they made.
const CREATES_OBJECT: &[Operation] = &[
    Operation::Create,
    Operation::CreateKeyPair,
    Operation::Register,
    Operation::DeriveKey,
    Operation::ReKey,
];

/// Operations that change the object they name.
const CHANGES_OBJECT: &[Operation] = &[
    Operation::Get,
    Operation::AddAttribute,
    Operation::ModifyAttribute,
    Operation::DeleteAttribute,
    Operation::SetAttribute,
    Operation::AdjustAttribute,
    Operation::Activate,
    Operation::Revoke,
    Operation::Destroy,
    Operation::ReKey,
    Operation::GetUsageAllocation,
];

/// Runs the batch items in order, honouring the Batch Error Continuation
/// Option: Stop ends the batch at the first failure, Continue runs every
/// item, Undo puts every object the batch touched back as it was and
/// reports the earlier items as undone. The ID Placeholder carries the
/// last identifier a successful item returned to items that name none.
/// Between items the request's limits are checked (deadline, client
/// gone, response bytes); once one stops the batch, no further item runs.
impl Handler {
    fn run_batch(
        &self,
        ctx: &Context<'_>,
        client: &Client<'_>,
        req: &RequestMessage,
        progress: &mut Progress<'_>,
    ) -> Vec<ResponseBatchItem> {
        let mut out = Vec::with_capacity(req.items.len());
        let continuation = req.header.batch_error_continuation;
        let undoing = continuation == BatchErrorContinuationOption::Undo;
        let mut placeholder: Option<String> = None;
        // uid -> the object as it was before the batch (None: it did not exist).
        let mut before: Vec<(String, Option<ManagedObject>)> = Vec::new();
        // uid -> the versions the batch's writes of it made, in order.
        let mut produced: HashMap<String, Lineage> = HashMap::new();
        // Per answered item, the uids it wrote (for an honest undo report).
        let mut wrote: Vec<Vec<String>> = Vec::new();
        let mut items = req.items.iter();
        while let Some(bi) = items.next() {
            let id = bi.unique_batch_item_id.clone();
            let op = Operation::from_u32(bi.operation);
            let payload = with_placeholder(op, bi.payload.as_ref(), placeholder.as_deref());
            // Remember how an object the item may change looked before, if
            // the caller may change it at all (nothing else can be undone).
            if undoing
                && op.is_some_and(|o| CHANGES_OBJECT.contains(&o))
                && let Some(uid) = payload.as_ref().and_then(uid_in)
                && !before.iter().any(|(u, _)| u == uid)
                && let Ok(Some((version, o))) = ctx.keystore.load_with_version(uid)
                && (ctx.admin || ctx.identity.owns(&o.owner))
            {
                before.push((uid.to_owned(), Some(o)));
                produced.insert(uid.to_owned(), Lineage::from(version));
            }
            let scope = Scope::new(client.draft(op.map_or("Unknown", Operation::name)));
            let item_ctx = Context {
                audit: &scope,
                ..*ctx
            };
            let stopped = progress.check().err();
            let result = match (&stopped, op) {
                (Some((_, e)), _) => Err(e.clone()),
                (None, None) => Err(KmipError::new(
                    ResultReason::OperationNotSupported,
                    format!("unknown operation 0x{:08X}", bi.operation),
                )),
                (None, Some(op)) => critical_extension(bi)
                    .map_or_else(|| ops::dispatch(&item_ctx, op, payload.as_ref()), Err),
            };
            let mut stop = stopped.map(|(s, _)| s);
            // The answer counts against the response budget; an answer
            // that changed nothing is not sent once the budget is spent.
            let result = match result {
                Ok(p) => match progress.spend(crate::ttlv::binary::encoded_len(&p) + 64) {
                    Err((s, e)) if !scope.written() => {
                        stop = Some(s);
                        Err(e)
                    }
                    Err((s, _)) => {
                        stop = Some(s);
                        Ok(p)
                    }
                    Ok(()) => Ok(p),
                },
                Err(e) => Err(e),
            };
            if let Some(s) = stop {
                self.count_refusal(s.label());
            }
            let result = self.record(ctx, &scope, payload.as_ref(), result);
            let versions = scope.versions();
            wrote.push(versions.iter().map(|(u, _)| u.clone()).collect());
            for (uid, version) in versions {
                produced
                    .entry(uid)
                    .or_insert_with(|| Lineage::from(version.saturating_sub(1)))
                    .wrote(version);
            }
            let failed = match result {
                Ok(payload) => {
                    // Objects a key pair creation made count as created too;
                    // the placeholder is then the private key (KMIP 1.x §3.2).
                    for t in [
                        tag::PUBLIC_KEY_UNIQUE_IDENTIFIER,
                        tag::PRIVATE_KEY_UNIQUE_IDENTIFIER,
                        tag::UNIQUE_IDENTIFIER,
                    ] {
                        if let Some(uid) = payload.child(t).and_then(crate::ttlv::Item::as_text) {
                            // Only a creating operation's answer names new objects
                            // (a Locate's names existing ones).
                            if undoing
                                && op.is_some_and(|o| CREATES_OBJECT.contains(&o))
                                && !before.iter().any(|(u, _)| u == uid)
                            {
                                before.push((uid.to_owned(), None));
                            }
                            placeholder = Some(uid.to_owned());
                        }
                    }
                    out.push(ResponseBatchItem::success(bi.operation, id, Some(payload)));
                    false
                }
                Err(e) => {
                    out.push(ResponseBatchItem::failure(Some(bi.operation), id, e));
                    true
                }
            };
            if failed && continuation == BatchErrorContinuationOption::Undo {
                let scope = Scope::new(client.draft("BatchUndo"));
                let kept = undo(
                    &Context {
                        audit: &scope,
                        ..*ctx
                    },
                    &before,
                    &produced,
                );
                let last = out.len() - 1;
                for (done, uids) in out[..last].iter_mut().zip(&wrote) {
                    // An item whose change someone else has changed since
                    // was not undone, and is not reported as undone.
                    if done.status == ResultStatus::Success
                        && !uids.iter().any(|u| kept.contains(u))
                    {
                        done.status = ResultStatus::OperationUndone;
                    }
                }
                break;
            }
            if failed && continuation == BatchErrorContinuationOption::Stop {
                break;
            }
            if stop.is_some() {
                // A limit stopped the batch: the items left are answered
                // with the same refusal, without running (nor an entry each).
                if let Err((_, e)) = progress.check() {
                    for bi in items.by_ref() {
                        out.push(ResponseBatchItem::failure(
                            Some(bi.operation),
                            bi.unique_batch_item_id.clone(),
                            e.clone(),
                        ));
                    }
                }
                break;
            }
        }
        out
    }

    /// The checks made before a request runs: its price, and its client's
    /// rate of audited items. The price, if it may run.
    fn admit(&self, identity: &Identity, req: &RequestMessage) -> Result<u64, KmipError> {
        let work = budget::work_of(req);
        if work > self.requests.max_work {
            self.count_refusal("request_work");
            return Err(KmipError::new(
                ResultReason::ServerLimitExceeded,
                format!(
                    "this request asks for about {work} units of work, more than \
                     limits.max_request_work ({}); send the items in smaller batches",
                    self.requests.max_work
                ),
            ));
        }
        if !self.rate.take(&identity.owner, req.items.len()) {
            self.count_refusal("audit_rate");
            return Err(KmipError::new(
                ResultReason::ServerLimitExceeded,
                format!(
                    "this client sends more than {} audited items per second \
                     (limits.audited_items_per_s); slow down and retry",
                    self.rate.per_s()
                ),
            ));
        }
        Ok(work)
    }

    fn count_refusal(&self, limit: &str) {
        if let Some(m) = &self.metrics {
            m.limit_refusals.with_label_values(&[limit]).inc();
        }
    }

    /// Writes the summary entries of the failure bursts that have ended
    /// (every one with `all`, at shutdown).
    pub fn flush_collapsed(&self, all: bool) {
        let now = if all {
            i64::MAX
        } else {
            crate::audit::now_ms()
        };
        for draft in self.collapser.closed(now) {
            if let Err(e) = self.keystore.record(&draft) {
                tracing::error!(error = %e, "the audit log cannot be written");
            }
        }
    }

    /// Writes the audit entry of an item that changed nothing (a change
    /// wrote its entry with it); repeats of one failure are only counted.
    /// An operation whose entry cannot be written fails: nothing is
    /// answered that the log does not show.
    fn record(
        &self,
        ctx: &Context<'_>,
        scope: &Scope,
        request: Option<&crate::ttlv::Item>,
        result: Result<crate::ttlv::Item, KmipError>,
    ) -> Result<crate::ttlv::Item, KmipError> {
        if scope.written() && result.is_ok() {
            return result;
        }
        let mut draft = scope.draft().clone();
        if let Some(uid) = request.and_then(uid_in) {
            draft.name(uid);
        }
        match &result {
            Ok(payload) => {
                for c in payload.children() {
                    if matches!(
                        c.tag,
                        tag::UNIQUE_IDENTIFIER
                            | tag::PUBLIC_KEY_UNIQUE_IDENTIFIER
                            | tag::PRIVATE_KEY_UNIQUE_IDENTIFIER
                    ) && let Some(uid) = c.as_text()
                    {
                        draft.name(uid);
                    }
                }
            }
            Err(e) => {
                draft.status = "OperationFailed".into();
                draft.reason = Some(e.reason.name().to_owned());
                if !self.collapser.admit(&draft, crate::audit::now_ms()) {
                    return result;
                }
            }
        }
        match ctx.keystore.record(&draft) {
            Ok(()) => result,
            Err(e) => {
                tracing::error!(error = %e, "the audit log cannot be written");
                Err(KmipError::new(
                    ResultReason::GeneralFailure,
                    "the audit log cannot be written",
                ))
            }
        }
    }
}

/// The connection a request came on, for the audit log.
struct Client<'a> {
    identity: &'a Identity,
    peer: SocketAddr,
    cancelled: &'a AtomicBool,
    started: std::time::Instant,
}

impl Client<'_> {
    fn draft(&self, operation: &str) -> Draft {
        let mut d = Draft::new(
            self.identity
                .common_name
                .as_deref()
                .map_or_else(|| "unnamed".to_owned(), |cn| format!("cn:{cn}")),
            operation,
        );
        d.fingerprint = self.identity.fingerprint.clone();
        d.peer = self.peer.to_string();
        d
    }
}

fn uid_in(payload: &crate::ttlv::Item) -> Option<&str> {
    payload
        .child(tag::UNIQUE_IDENTIFIER)
        .and_then(crate::ttlv::Item::as_text)
}

/// The payload, with the ID Placeholder put in where the operation needs
/// an identifier and the request gave none.
fn with_placeholder(
    op: Option<Operation>,
    payload: Option<&crate::ttlv::Item>,
    placeholder: Option<&str>,
) -> Option<crate::ttlv::Item> {
    let (Some(op), Some(uid)) = (op, placeholder) else {
        return payload.cloned();
    };
    if !USES_UID.contains(&op) || payload.and_then(uid_in).is_some() {
        return payload.cloned();
    }
    let mut children = vec![crate::ttlv::Item::text(tag::UNIQUE_IDENTIFIER, uid)];
    children.extend(payload.map(|p| p.children().to_vec()).unwrap_or_default());
    Some(crate::ttlv::Item::structure(tag::REQUEST_PAYLOAD, children))
}

/// The record versions a batch saw and wrote of one object. Every write
/// of the batch must follow the one before it (or the version the batch
/// first read) with no gap: a gap is someone else's change in between,
/// which an undo must not overwrite.
struct Lineage {
    last: u64,
    written: bool,
    interleaved: bool,
}

impl From<u64> for Lineage {
    fn from(seen: u64) -> Lineage {
        Lineage {
            last: seen,
            written: false,
            interleaved: false,
        }
    }
}

impl Lineage {
    fn wrote(&mut self, version: u64) {
        self.interleaved |= version != self.last + 1;
        self.last = version;
        self.written = true;
    }
}

/// Puts back, newest change first, every object the batch touched, if
/// nobody else changed it since the batch first read it: every version
/// between was the batch's own, and the record is still at the last one.
/// A change someone else made in the meantime, a Revoke or a Destroy, is
/// never reverted. Returns the uids left as they are.
fn undo(
    ctx: &Context<'_>,
    before: &[(String, Option<ManagedObject>)],
    produced: &HashMap<String, Lineage>,
) -> Vec<String> {
    let mut kept = Vec::new();
    for (uid, earlier) in before.iter().rev() {
        // Never written by the batch (a failed change): nothing to undo.
        let Some(lineage) = produced.get(uid).filter(|l| l.written) else {
            continue;
        };
        if lineage.interleaved {
            tracing::warn!(uid = %uid, "batch undo left an object another request changed during the batch");
            kept.push(uid.clone());
            continue;
        }
        match ctx.writer().restore_if(uid, earlier.as_ref(), lineage.last) {
            Ok(()) => {}
            Err(crate::keystore::KeyStoreError::Changed { uid, .. }) => {
                tracing::warn!(uid = %uid, "batch undo left an object changed by another request since");
                kept.push(uid);
            }
            Err(e) => {
                tracing::error!(uid = %uid, error = %e, "batch undo could not restore an object");
                kept.push(uid.clone());
            }
        }
    }
    kept
}

/// A Message Extension marked critical that this server does not know
/// must fail the item (KMIP 1.x §6.16, 2.x §8.17); non-critical ones are
/// ignored.
fn critical_extension(bi: &crate::kmip::RequestBatchItem) -> Option<KmipError> {
    bi.message_extensions
        .iter()
        .find(|ext| {
            ext.child(tag::CRITICALITY_INDICATOR)
                .and_then(|c| c.as_boolean())
                .unwrap_or(false)
        })
        .map(|_| {
            KmipError::new(
                ResultReason::UnknownMessageExtension,
                "a critical Message Extension is not supported by this server",
            )
        })
}

/// The bytes to send and what the metrics count of a response.
fn outcome_of(response: &ResponseMessage, item: &crate::ttlv::Item) -> Outcome {
    Outcome {
        bytes: ttlv::encode(item),
        operations: response
            .items
            .iter()
            .map(|b| (b.operation, b.status))
            .collect(),
        results: response
            .items
            .iter()
            .map(|b| (b.operation, b.status, b.reason))
            .collect(),
    }
}

fn message_failure(e: MessageError) -> (ResponseMessage, Option<i32>) {
    let version = e
        .version
        .and_then(ProtocolVersion::negotiate)
        .unwrap_or(match e.version {
            Some(v) if v.major > 2 => ProtocolVersion::SUPPORTED[0],
            _ => ProtocolVersion::new(1, 0),
        });
    let response = ResponseMessage {
        version,
        time_stamp: now(),
        client_correlation_value: None,
        items: vec![ResponseBatchItem::failure(None, None, e.error)],
    };
    (response, None)
}

fn supported_list() -> String {
    ProtocolVersion::SUPPORTED
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the protocol version straight from the bytes of a request that
/// did not decode, so even its error response can be in its version. The
/// layout is fixed: message, header, version, major, minor.
fn peek_version(b: &[u8]) -> Option<ProtocolVersion> {
    let int_at = |off: usize, tag: u32| -> Option<i32> {
        let h = b.get(off..off + 12)?;
        let t = u32::from_be_bytes([0, h[0], h[1], h[2]]);
        (t == tag && h[3] == 0x02).then(|| i32::from_be_bytes([h[8], h[9], h[10], h[11]]))
    };
    let tag_at = |off: usize| {
        b.get(off..off + 3)
            .map(|t| u32::from_be_bytes([0, t[0], t[1], t[2]]))
    };
    if tag_at(0)? != tag::REQUEST_MESSAGE
        || tag_at(8)? != tag::REQUEST_HEADER
        || tag_at(16)? != tag::PROTOCOL_VERSION
    {
        return None;
    }
    Some(ProtocolVersion::new(
        int_at(24, tag::PROTOCOL_VERSION_MAJOR)?,
        int_at(40, tag::PROTOCOL_VERSION_MINOR)?,
    ))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::is_quick;
    use crate::kmip::{
        Operation, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage,
    };
    use crate::ttlv;

    fn request(ops: &[Operation]) -> Vec<u8> {
        let m = RequestMessage {
            header: RequestHeader::new(ProtocolVersion::new(1, 2), ops.len() as i32),
            items: ops
                .iter()
                .map(|op| RequestBatchItem {
                    operation: *op as u32,
                    unique_batch_item_id: None,
                    payload: Some(ttlv::Item::structure(
                        crate::kmip::tag::REQUEST_PAYLOAD,
                        vec![ttlv::Item::text(crate::kmip::tag::UNIQUE_IDENTIFIER, "k")],
                    )),
                    message_extensions: vec![],
                })
                .collect(),
        };
        ttlv::encode(&m.to_item())
    }

    #[test]
    fn only_requests_made_of_quick_reads_skip_the_blocking_pool() {
        assert!(is_quick(&request(&[Operation::Get])));
        assert!(is_quick(&request(&[
            Operation::Get,
            Operation::GetAttributes
        ])));
        assert!(!is_quick(&request(&[Operation::Get, Operation::Create])));
        assert!(!is_quick(&request(&[Operation::Destroy])));
        assert!(!is_quick(&request(&[Operation::Sign])));
        assert!(!is_quick(&request(&[])));
        // A long batch of quick reads goes to the blocking pool.
        assert!(is_quick(&request(&[Operation::Get; 8])));
        assert!(!is_quick(&request(&[Operation::Get; 9])));
        let get = request(&[Operation::Get]);
        for cut in 0..get.len() {
            // Truncated or odd input never panics; it goes the slow way.
            let _ = is_quick(&get[..cut]);
        }
        assert!(!is_quick(b"\x42\x00\x78\x01\xff\xff\xff\xf8"));
        // A second Operation after Get (the parser keeps the last one).
        let mut m = crate::ttlv::decode(&get, &crate::ttlv::Limits::default()).unwrap();
        if let crate::ttlv::Value::Structure(items) = &mut m.value
            && let Some(bi) = items
                .iter_mut()
                .find(|i| i.tag == crate::kmip::tag::BATCH_ITEM)
            && let crate::ttlv::Value::Structure(children) = &mut bi.value
        {
            children.insert(
                1,
                ttlv::Item::enumeration(
                    crate::kmip::tag::OPERATION,
                    Operation::CreateKeyPair as u32,
                ),
            );
        }
        assert!(!is_quick(&ttlv::encode(&m)));
    }
}
