//! The cluster: consensus (openraft), the node-to-node channel and
//! membership. It sits between the key store, which prepares commands,
//! and the store, which applies them; no openraft type leaves this module.
pub(crate) mod bundle;
#[cfg(test)]
mod conformance;
mod group;
mod log_store;
pub(crate) mod node;
pub(crate) mod pki;
mod state_machine;
pub(crate) mod transport;
pub(crate) mod types;

/// Snapshots this process sent to lagging members.
pub(crate) fn snapshots_sent() -> u64 {
    transport::client::SNAPSHOTS_SENT.load(std::sync::atomic::Ordering::Relaxed)
}
