//! The key hierarchy's cryptography: AES-256-GCM envelopes, the versioned
//! KEK ring and the Shamir shares of the master key. No storage here; the
//! key store decides what is sealed where.

pub mod envelope;
pub mod keyring;
pub mod shares;
