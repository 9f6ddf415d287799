//! Reads entries out for auditors: as stored (JSON lines, which can be
//! re-hashed to check the chain by hand) or as one line of text each.

use super::{Entry, seq_of, verify::each_stored};
use crate::store::{Store, StoreError};
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Text,
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Unix milliseconds, inclusive.
    pub since_ms: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until_ms: Option<i64>,
    pub uid: Option<String>,
    /// `cn:NAME`, `NAME`, or a certificate fingerprint.
    pub identity: Option<String>,
}

impl Filter {
    fn keeps(&self, e: &Entry) -> bool {
        let d = &e.draft;
        self.since_ms.is_none_or(|t| e.time_ms >= t)
            && self.until_ms.is_none_or(|t| e.time_ms < t)
            && self.uid.as_ref().is_none_or(|u| d.uids.contains(u))
            && self.identity.as_ref().is_none_or(|id| {
                d.actor == *id
                    || d.actor.strip_prefix("cn:") == Some(id.as_str())
                    || (!d.fingerprint.is_empty() && d.fingerprint.eq_ignore_ascii_case(id))
            })
    }
}

/// Writes the entries the filter keeps, oldest first; returns how many.
pub fn export(
    store: &Store,
    filter: &Filter,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let mut n = 0;
    each_stored(store, |k, v| {
        let entry = Entry::decode(v).map_err(|e| ExportError::Entry {
            seq: seq_of(k).unwrap_or(0),
            reason: e.to_string(),
        })?;
        if filter.keeps(&entry) {
            match format {
                Format::Jsonl => {
                    out.write_all(v)?;
                    out.write_all(b"\n")?;
                }
                Format::Text => writeln!(out, "{}", entry.to_text())?,
            }
            n += 1;
        }
        Ok::<_, ExportError>(true)
    })?;
    Ok(n)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("entry {seq} cannot be read ({reason}); run `lkm audit verify`")]
    Entry { seq: u64, reason: String },
}
