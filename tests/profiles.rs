//! The conformance runner: replays KMIP XML test cases (the OASIS vectors
//! from ../shared/kmip-testcases or KMIP_TESTCASES_DIR, and the project's
//! own cases in kmip-profiles/cases) against a fresh server over mutual TLS,
//! one server per file, and compares every response with the expected one.
//!
//! Comparison rules (the profiles' "Permitted Test Case Variations"):
//! values the server chooses (unique identifiers, generated key material,
//! digests, server-set dates) are bound on first sight and must then stay
//! consistent; time stamps, result messages, vendor identification and
//! server correlation values may differ; everything else, result status and
//! reason included, must match exactly. `kmip-profiles/manifest.txt` lists
//! the files the project claims; any of them failing fails the test.
//! `LKM_PROFILES_ALL=1` also tries every other vector and prints the table.

mod common;

use lkm::client::Client;
use lkm::config::WrappedKeyValue;
use lkm::kmip::{ProtocolVersion, tag};
use lkm::ttlv::xml::{self, Content, Element};
use lkm::ttlv::{self, Item, Limits, Tag, Value, describe_tag, tag_by_attribute_name, tag_by_name};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

fn testcases_dir() -> PathBuf {
    std::env::var_os("KMIP_TESTCASES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/kmip-testcases"))
}

fn t(name: &str) -> Tag {
    tag_by_name(name).unwrap_or_else(|| panic!("tag {name}"))
}

/// Fields whose value the server is free to choose, not compared.
fn ignored(tag: Tag) -> bool {
    [
        "TimeStamp",
        "ServerCorrelationValue",
        "ResultMessage",
        "VendorIdentification",
        "AsynchronousCorrelationValue",
    ]
    .iter()
    .any(|n| t(n) == tag)
}

/// Fields the server chooses once and must then repeat consistently.
fn bound(tag: Tag) -> bool {
    [
        "UniqueIdentifier",
        "PrivateKeyUniqueIdentifier",
        "PublicKeyUniqueIdentifier",
        "LinkedObjectIdentifier",
        "KeyMaterial",
        "DigestValue",
        "IVCounterNonce",
        "InitialDate",
        "LastChangeDate",
        "ActivationDate",
        "DeactivationDate",
        "DestroyDate",
        "CompromiseDate",
        "OriginalCreationDate",
        "Data",
        "AuthenticatedEncryptionTag",
    ]
    .iter()
    .any(|n| t(n) == tag)
}

#[derive(Default)]
struct Bindings {
    /// expected text (placeholder or literal) -> actual value
    values: HashMap<(Tag, String), Value>,
    /// expected uid text -> actual uid, for substitution in requests
    uids: HashMap<String, String>,
}

fn raw(el: &Element) -> &str {
    match &el.content {
        Content::Text(t) => t,
        Content::Children(_) => "",
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `$NOW`, `$NOW-3600`, `$NOW+86400`.
fn now_offset(text: &str) -> Option<i64> {
    let rest = text.strip_prefix("$NOW")?;
    if rest.is_empty() {
        return Some(0);
    }
    rest.parse::<i64>().ok()
}

fn request_item(el: &Element, b: &Bindings) -> Result<Item, String> {
    let mut item = el
        .to_item_with(&mut |e: &Element| {
            let text = raw(e);
            if let Some(off) = now_offset(text) {
                return Some(Value::DateTime(now() + off));
            }
            if let Some(uid) = b.uids.get(text) {
                return Some(Value::TextString(uid.clone()));
            }
            b.values.get(&(e.tag, text.to_owned())).cloned()
        })
        .map_err(|e| format!("request: {e}"))?;
    substitute_uids(&mut item, b);
    Ok(item)
}

/// Literal identifiers in 1.x vectors stand for what the server returned.
fn substitute_uids(item: &mut Item, b: &Bindings) {
    match &mut item.value {
        Value::Structure(c) => c.iter_mut().for_each(|c| substitute_uids(c, b)),
        Value::TextString(s) => {
            if let Some(u) = b.uids.get(s.as_str()) {
                *s = u.clone();
            }
        }
        _ => {}
    }
}

fn compare(exp: &Element, act: &Item, b: &mut Bindings, path: &str) -> Result<(), String> {
    compare_as(exp, exp.tag, act, b, path)
}

/// `value_tag`: the tag whose enumeration names the value (a 1.x
/// Attribute Value takes the one of the attribute named beside it).
fn compare_as(
    exp: &Element,
    value_tag: Tag,
    act: &Item,
    b: &mut Bindings,
    path: &str,
) -> Result<(), String> {
    let here = format!("{path}/{}", describe_tag(exp.tag));
    if exp.tag != act.tag {
        return Err(format!("{here}: found {}", describe_tag(act.tag)));
    }
    if exp.item_type != act.value.item_type() {
        return Err(format!(
            "{here}: type {:?}, expected {:?}",
            act.value.item_type(),
            exp.item_type
        ));
    }
    match (&exp.content, &act.value) {
        (Content::Children(ec), Value::Structure(ac)) => {
            compare_children(exp.tag, ec, ac, b, &here)
        }
        (Content::Text(text), v) => {
            if ignored(value_tag) || now_offset(text).is_some() {
                return Ok(());
            }
            let key = (exp.tag, text.clone());
            if let Some(prev) = b.values.get(&key) {
                return if prev == v {
                    Ok(())
                } else {
                    Err(format!("{here}: {v:?}, but earlier {prev:?}"))
                };
            }
            if text.starts_with('$') || bound(value_tag) {
                if let Value::TextString(s) = v {
                    b.uids.insert(text.clone(), s.clone());
                }
                b.values.insert(key, v.clone());
                return Ok(());
            }
            let as_value = Element {
                tag: value_tag,
                ..exp.clone()
            };
            let want = Item {
                tag: exp.tag,
                value: as_value
                    .to_item()
                    .map_err(|e| format!("{here}: {e}"))?
                    .value,
            };
            if &want.value == v {
                Ok(())
            } else {
                Err(format!(
                    "{here}: got {}, expected {}",
                    xml::to_xml(act).trim(),
                    xml::to_xml(&want).trim()
                ))
            }
        }
        _ => Err(format!("{here}: shape differs")),
    }
}

fn compare_children(
    parent: Tag,
    ec: &[Element],
    ac: &[Item],
    b: &mut Bindings,
    here: &str,
) -> Result<(), String> {
    // Query lists what the reference server supported: ours must include
    // the operations and object types the vector names, and may add more.
    if parent == tag::RESPONSE_PAYLOAD && ec.iter().any(|e| e.tag == tag::VENDOR_IDENTIFICATION) {
        // Templates (deprecated in 2.0) are not kept as objects by lkm, which
        // says so by not listing them.
        let template = Element {
            tag: tag::OBJECT_TYPE,
            item_type: lkm::ttlv::ItemType::Enumeration,
            content: Content::Text("Template".into()),
        };
        for e in ec
            .iter()
            .filter(|e| matches!(e.tag, tag::OPERATION | tag::OBJECT_TYPE) && **e != template)
        {
            let want = e.to_item().map_err(|x| x.to_string())?;
            if !ac.contains(&want) {
                return Err(format!(
                    "{here}: Query does not list {}",
                    xml::to_xml(&want).trim()
                ));
            }
        }
        return Ok(());
    }
    // "Attribute Index 0" is a permitted variation: present or absent.
    let index_zero = |tag: Tag, zero: bool| tag == t("AttributeIndex") && zero;
    let expects_index = ec.iter().any(|e| e.tag == t("AttributeIndex"));
    let has_index = ac.iter().any(|a| a.tag == t("AttributeIndex"));
    let owned: Vec<Item>;
    let ac: &[Item] = if !expects_index && has_index {
        owned = ac
            .iter()
            .filter(|a| !index_zero(a.tag, a.value == Value::Integer(0)))
            .cloned()
            .collect();
        &owned
    } else {
        ac
    };
    let ec: Vec<&Element> = ec
        .iter()
        .filter(|e| has_index || !index_zero(e.tag, raw(e).trim() == "0"))
        .collect();
    // The server correlation value is optional for the server.
    let ec: Vec<&Element> = ec
        .into_iter()
        .filter(|e| e.tag != t("ServerCorrelationValue") || ac.iter().any(|a| a.tag == e.tag))
        .collect();
    let attribute_name = ec
        .iter()
        .find(|e| e.tag == t("AttributeName"))
        .and_then(|e| tag_by_attribute_name(raw(e)));
    for (i, e) in ec.iter().enumerate() {
        let a = ac
            .get(i)
            .ok_or_else(|| format!("{here}: missing {} (item {i})", describe_tag(e.tag)))?;
        let value_tag = match attribute_name {
            Some(named) if e.tag == t("AttributeValue") => named,
            _ => e.tag,
        };
        compare_as(e, value_tag, a, b, here)?;
    }
    if ac.len() > ec.len() {
        return Err(format!(
            "{here}: unexpected {}",
            xml::to_xml(&ac[ec.len()]).trim()
        ));
    }
    Ok(())
}

/// Runs files in order on one fresh server: a line of the manifest may
/// chain cases that build on each other (SASED-M-3 reads what SASED-M-2
/// registered).
async fn run_chain(paths: &[PathBuf], settings: &[&str]) -> Result<usize, String> {
    let mut form = None;
    for setting in settings {
        form = Some(match *setting {
            "wrapped_key_value=byte-string" => WrappedKeyValue::ByteString,
            "wrapped_key_value=structure" => WrappedKeyValue::Structure,
            other => return Err(format!("unknown manifest setting {other}")),
        });
    }
    let server = common::start_with(|c| {
        if let Some(f) = form {
            c.kmip.wrapped_key_value = f;
        }
    })
    .await;
    let mut steps = 0;
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        steps += run_file(&server, path)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(steps)
}

async fn run_file(server: &common::TestServer, path: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let messages = xml::parse_document(&text).map_err(|e| e.to_string())?;
    let mut client: Option<Client> = None;
    let mut b = Bindings::default();
    let limits = Limits {
        max_message_size: 64 << 20,
        ..Limits::default()
    };
    let mut steps = 0;
    for (i, pair) in messages.chunks(2).enumerate() {
        let [req, resp] = pair else {
            return Err(format!("step {i}: a request without a response"));
        };
        let request = request_item(req, &b).map_err(|e| format!("step {i}: {e}"))?;
        let version = request
            .child(tag::REQUEST_HEADER)
            .and_then(|h| h.child(tag::PROTOCOL_VERSION))
            .and_then(ProtocolVersion::from_item)
            .unwrap_or(ProtocolVersion::new(2, 1));
        if client.is_none() {
            client = Some(server.client(version).await);
        }
        let c = client.as_mut().ok_or("no client")?;
        let bytes = c
            .roundtrip(&ttlv::encode(&request))
            .await
            .map_err(|e| format!("step {i}: {e}"))?;
        let actual = ttlv::decode(&bytes, &limits).map_err(|e| format!("step {i}: {e}"))?;
        compare(resp, &actual, &mut b, "").map_err(|e| {
            // The server's own words help when the status differs.
            let said: Vec<&str> = actual
                .children_with(tag::BATCH_ITEM)
                .filter_map(|bi| bi.child(tag::RESULT_MESSAGE).and_then(Item::as_text))
                .collect();
            format!("step {i}: {e} (server said: {said:?})")
        })?;
        steps += 1;
    }
    Ok(steps)
}

fn manifest() -> Vec<String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("kmip-profiles/manifest.txt"),
    )
    .expect("kmip-profiles/manifest.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Profile and version from a file name: ("SKLC", "2.1") for SKLC-M-1-21.xml.
fn classify(rel: &str) -> (String, String) {
    let first = rel
        .split_whitespace()
        .find(|w| !w.contains('='))
        .unwrap_or(rel);
    let name = first
        .rsplit('/')
        .next()
        .unwrap_or(first)
        .trim_end_matches(".xml");
    let parts: Vec<&str> = name.split(['-', '_']).collect();
    let profile = parts.first().copied().unwrap_or("?").to_owned();
    let version = parts
        .iter()
        .rev()
        .find(|p| p.len() == 2 && p.bytes().all(|c| c.is_ascii_digit()))
        .map(|v| format!("{}.{}", &v[..1], &v[1..]))
        .unwrap_or_else(|| "?".into());
    (profile, version)
}

fn resolve(rel: &str) -> PathBuf {
    if let Some(own) = rel.strip_prefix("kmip-profiles/") {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("kmip-profiles")
            .join(own)
    } else {
        testcases_dir().join(rel)
    }
}

fn all_vectors(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            all_vectors(&p, base, out);
        } else if p.extension().is_some_and(|e| e == "xml") {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_profile_vectors_pass() {
    let claimed = manifest();
    let mut files = claimed.clone();
    if std::env::var_os("LKM_PROFILES_ALL").is_some() {
        let base = testcases_dir();
        let mut all = Vec::new();
        all_vectors(&base, &base, &mut all);
        let named: Vec<&str> = claimed.iter().flat_map(|l| l.split_whitespace()).collect();
        files.extend(all.into_iter().filter(|f| !named.contains(&f.as_str())));
    }
    let mut table: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for rel in &files {
        let (settings, names): (Vec<&str>, Vec<&str>) =
            rel.split_whitespace().partition(|w| w.contains('='));
        let chain: Vec<PathBuf> = names.into_iter().map(resolve).collect();
        let result = run_chain(&chain, &settings).await;
        let row = table.entry(classify(rel)).or_default();
        match result {
            Ok(_) => row.0 += 1,
            Err(e) => {
                row.1 += 1;
                let is_claimed = claimed.contains(rel);
                println!(
                    "{} {rel}: {e}",
                    if is_claimed {
                        "FAIL"
                    } else {
                        "fail (unclaimed)"
                    }
                );
                if is_claimed {
                    failures.push(rel.clone());
                }
            }
        }
    }
    println!(
        "\n{:<12} {:<8} {:>6} {:>6}",
        "profile", "version", "passed", "failed"
    );
    for ((profile, version), (p, f)) in &table {
        println!("{profile:<12} {version:<8} {p:>6} {f:>6}");
    }
    println!(
        "claimed: {} files, {} failed",
        claimed.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "claimed files failed: {failures:?}");
}
