//! Who is acting and on what, for the entries one KMIP batch item or admin
//! action writes. The key store writes the entry of a change together with
//! the change; the scope remembers that it did, so the server does not
//! write a second one.

use super::Draft;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Scope {
    draft: Draft,
    written: AtomicBool,
    /// Each object the action wrote, with the record version it wrote:
    /// what a batch Undo checks before putting anything back.
    versions: Mutex<Vec<(String, u64)>>,
}

impl Scope {
    pub fn new(draft: Draft) -> Scope {
        Scope {
            draft,
            written: AtomicBool::new(false),
            versions: Mutex::new(Vec::new()),
        }
    }

    /// The entry for a change of `uids` (each with the record version it
    /// writes); marks the scope written once the change is committed.
    pub fn change(&self, uids: &[(&str, u64)]) -> Draft {
        let mut d = self.draft.clone();
        for (u, _) in uids {
            d.name(u);
        }
        d
    }

    /// The change made by [`Scope::change`] is committed.
    pub fn committed(&self, uids: &[(&str, u64)]) {
        self.written.store(true, Ordering::Relaxed);
        let mut v = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        v.extend(uids.iter().map(|(u, n)| ((*u).to_owned(), *n)));
    }

    /// The objects written under this scope and their record versions,
    /// in the order written.
    pub fn versions(&self) -> Vec<(String, u64)> {
        self.versions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether a change already wrote this action's entry.
    pub fn written(&self) -> bool {
        self.written.load(Ordering::Relaxed)
    }

    pub fn draft(&self) -> &Draft {
        &self.draft
    }
}
