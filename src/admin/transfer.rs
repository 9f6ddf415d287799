//! Moving objects to another owner: a client whose certificate changed in
//! what `auth.identity` reads (or, with `auth.identity = "fingerprint"`,
//! renewed it at all), or objects of an earlier build still owned by a
//! certificate fingerprint. Each object moves in one audited write of its
//! record and index entries; the last write is made durable before the
//! answer. An object whose names the new owner already uses stays put:
//! names are unique per owner.

use crate::audit::{Draft, Scope, escape_controls};
use crate::auth::parse_owner;
use crate::keystore::{IndexKind, KeyStore, KeyStoreError, Owners};

/// Objects read from the owner index per step.
const STEP: usize = 256;

/// Why one object was not moved.
enum Kept {
    NotFrom,
    NameInUse(String),
    Store(KeyStoreError),
}

impl From<KeyStoreError> for Kept {
    fn from(e: KeyStoreError) -> Self {
        Kept::Store(e)
    }
}

/// Runs one transfer and says what it did, or why it did nothing.
pub(super) fn run(
    keystore: &KeyStore,
    from: Option<&str>,
    uid: Option<&str>,
    to: &str,
) -> Result<String, String> {
    let to = parse_owner(to).map_err(|e| format!("--to: {e}"))?;
    let from = from
        .map(parse_owner)
        .transpose()
        .map_err(|e| format!("--from: {e}"))?;
    if from.is_none() && uid.is_none() {
        return Err("say which objects: --from OWNER (all of them), --uid UID, or both".into());
    }
    if from.as_deref() == Some(to.as_str()) {
        return Err("--from and --to name the same owner".into());
    }
    // Owner keys hold certificate subjects: escaped, so no line of the
    // audit log's text can carry a client's control characters.
    let scope = Scope::new(
        Draft::new("admin-socket", "TransferOwner").detail(escape_controls(&format!(
            "to {to}{}",
            from.as_deref()
                .map(|f| format!(" from {f}"))
                .unwrap_or_default()
        ))),
    );
    let writer = keystore.audited(&scope);
    let mut moved = 0usize;
    let mut kept: Vec<String> = Vec::new();
    let mut move_one = |uid: &str| -> Result<(), String> {
        let result = writer.update::<Kept>(uid, |o| {
            if from.as_deref().is_some_and(|f| o.owner != f) {
                return Err(Kept::NotFrom);
            }
            for name in o.names() {
                let holders = keystore.lookup(
                    Owners::Of(&[to.as_str()]),
                    IndexKind::Name,
                    name.as_bytes(),
                    1,
                )?;
                if !holders.is_empty() {
                    return Err(Kept::NameInUse(name.to_owned()));
                }
            }
            o.owner.clone_from(&to);
            Ok(())
        });
        match result {
            Ok(Some(_)) => moved += 1,
            Ok(None) => return Err(format!("no object {uid}")),
            Err(Kept::NotFrom) => {
                return Err(format!("object {uid} is not owned by the --from owner"));
            }
            Err(Kept::NameInUse(n)) => {
                kept.push(format!("{uid} (the new owner has an object named {n:?})"))
            }
            Err(Kept::Store(e)) => return Err(e.to_string()),
        }
        Ok(())
    };
    let walked = match (uid, &from) {
        (Some(uid), _) => move_one(uid),
        (None, Some(from)) => (|| {
            let mut after = String::new();
            loop {
                let uids = keystore
                    .owned_uids(from, &after, STEP)
                    .map_err(|e| e.to_string())?;
                for u in &uids {
                    move_one(u)?;
                }
                match uids.last() {
                    Some(last) if uids.len() == STEP => after.clone_from(last),
                    _ => return Ok(()),
                }
            }
        })(),
        (None, None) => Ok(()),
    };
    // What was moved is on disk before anyone is told, even on an error.
    let synced = keystore.store().sync().map_err(|e| e.to_string());
    walked.map_err(|e| format!("{e} (after moving {moved} object(s))"))?;
    synced?;
    let mut message = format!("moved {moved} object(s) to {to}");
    if !kept.is_empty() {
        message.push_str(&format!("; not moved: {}", kept.join(", ")));
    }
    Ok(message)
}
