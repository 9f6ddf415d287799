//! Every OASIS conformance vector (read from ../shared/kmip-testcases, or
//! KMIP_TESTCASES_DIR) parses from KMIP XML, encodes to binary TTLV and
//! decodes back to the same tree; writing it back out as XML or JSON and
//! reading that again gives the same tree too.

use lkm::ttlv::xml::{self, Element};
use lkm::ttlv::{self, Bytes, ItemType, Limits, Value, json};
use std::path::{Path, PathBuf};

pub fn testcases_dir() -> PathBuf {
    std::env::var_os("KMIP_TESTCASES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/kmip-testcases"))
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e} (set KMIP_TESTCASES_DIR)", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            xml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "xml") {
            out.push(p);
        }
    }
}

/// A fixed stand-in for each placeholder, by type, so placeholders survive
/// the round trip unchanged in meaning.
fn stand_in(el: &Element) -> Option<Value> {
    let text = el.placeholder()?.to_owned();
    Some(match el.item_type {
        ItemType::TextString => Value::TextString(text),
        ItemType::Integer => Value::Integer(0),
        ItemType::LongInteger => Value::LongInteger(0),
        ItemType::BigInteger => Value::BigInteger(Bytes::new(vec![0; 8])),
        ItemType::Enumeration => Value::Enumeration(0),
        ItemType::Boolean => Value::Boolean(false),
        ItemType::ByteString => Value::ByteString(Bytes::new(text.into_bytes())),
        ItemType::DateTime => Value::DateTime(1_700_000_000),
        ItemType::Interval => Value::Interval(0),
        ItemType::DateTimeExtended => Value::DateTimeExtended(1_700_000_000_000_000),
        ItemType::Structure => return None,
    })
}

#[test]
fn every_vector_round_trips_through_binary_xml_and_json() {
    let mut files = Vec::new();
    xml_files(&testcases_dir(), &mut files);
    assert!(
        files.len() >= 660,
        "found only {} vector files",
        files.len()
    );
    let limits = Limits::default();
    let mut messages = 0;
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let result = (|| -> Result<usize, String> {
            let elements = xml::parse_document(&text).map_err(|e| e.to_string())?;
            for el in &elements {
                let item = el.to_item_with(&mut stand_in).map_err(|e| e.to_string())?;
                let bytes = ttlv::encode(&item);
                let back = ttlv::decode(&bytes, &limits).map_err(|e| e.to_string())?;
                if back != item {
                    return Err("binary round trip changed the tree".into());
                }
                let rewritten =
                    xml::parse_document(&xml::to_xml(&item)).map_err(|e| e.to_string())?;
                let again = rewritten[0]
                    .to_item_with(&mut stand_in)
                    .map_err(|e| e.to_string())?;
                if again != item {
                    return Err(format!(
                        "XML round trip changed the tree:\n{}",
                        xml::to_xml(&item)
                    ));
                }
                let from_json =
                    json::from_json(&json::to_json(&item)).map_err(|e| e.to_string())?;
                if from_json != item {
                    return Err("JSON round trip changed the tree".into());
                }
            }
            Ok(elements.len())
        })();
        match result {
            Ok(n) => messages += n,
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    println!("{} files, {messages} messages round-tripped", files.len());
    assert!(
        failures.is_empty(),
        "{} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(messages > 5_000);
}

#[test]
fn the_spec_examples_decode_as_written() {
    // From the 1.x vectors: a 1.x attribute whose enumeration is named by
    // the Attribute Name beside it.
    let item = xml::from_xml(
        r#"<Attribute>
             <AttributeName type="TextString" value="Cryptographic Usage Mask"/>
             <AttributeValue type="Integer" value="Encrypt Decrypt"/>
           </Attribute>"#,
    )
    .unwrap();
    assert_eq!(item.children()[1].as_integer(), Some(0x0C));
    let object_type = xml::from_xml(
        r#"<Attribute>
             <AttributeName type="TextString" value="Object Type"/>
             <AttributeValue type="Enumeration" value="SymmetricKey"/>
           </Attribute>"#,
    )
    .unwrap();
    assert_eq!(object_type.children()[1].as_enumeration(), Some(2));
    // Extension tags keep their number.
    let ext = xml::from_xml(r#"<TTLV tag="0x540001" type="TextString" value="na"/>"#).unwrap();
    assert_eq!(ext.tag, 0x540001);
    assert!(xml::to_xml(&ext).contains(r#"tag="0x540001""#));
    // An unknown element name is an error that names it.
    let err = xml::from_xml(r#"<NoSuchTag type="Integer" value="1"/>"#).unwrap_err();
    assert!(err.to_string().contains("NoSuchTag"));
}
