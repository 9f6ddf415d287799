//! Who is acting and on what, for the entries one KMIP batch item or admin
//! action writes. The key store writes the entry of a change together with
//! the change; the scope remembers that it did, so the server does not
//! write a second one.

use super::Draft;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Scope {
    draft: Draft,
    written: AtomicBool,
}

impl Scope {
    pub fn new(draft: Draft) -> Scope {
        Scope {
            draft,
            written: AtomicBool::new(false),
        }
    }

    /// The entry for a successful change of `uids`; marks the scope written.
    pub fn change(&self, uids: &[&str]) -> Draft {
        self.written.store(true, Ordering::Relaxed);
        let mut d = self.draft.clone();
        for u in uids {
            d.name(u);
        }
        d
    }

    /// Whether a change already wrote this action's entry.
    pub fn written(&self) -> bool {
        self.written.load(Ordering::Relaxed)
    }

    pub fn draft(&self) -> &Draft {
        &self.draft
    }
}
