//! lkm: a KMIP key server whose store is sealed by a master key split among
//! the nodes of a cluster. See README.md and DESIGN.md for the picture;
//! the layers below each know only the ones under them.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod client;
pub(crate) mod cluster;
pub mod config;
pub mod keystore;
pub mod kmip;
pub mod metrics;
pub mod objects;
pub mod ops;
pub mod pki;
mod private_files;
pub mod seal;
pub mod server;
pub mod store;
pub mod ttlv;
