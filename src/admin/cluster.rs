//! The cluster's admin requests: status, add a node (its join bundle comes
//! back over the socket, which only the server's user can open), remove one.

use crate::cluster::node::{Node, Status};
use std::path::PathBuf;
use std::sync::Arc;

/// What the admin socket needs of the cluster: the node, and the folder
/// holding the cluster CA (on the node that founded the cluster).
pub(crate) struct ClusterAdmin {
    pub(crate) node: Arc<Node>,
    pub(crate) dir: PathBuf,
}

fn need(cluster: Option<&ClusterAdmin>) -> Result<&ClusterAdmin, String> {
    cluster.ok_or_else(|| "this server runs no cluster node".to_owned())
}

pub(super) fn status(cluster: Option<&ClusterAdmin>) -> Result<Status, String> {
    Ok(need(cluster)?.node.status())
}

/// The message, and the bundle as JSON.
pub(super) fn add_node(
    cluster: Option<&ClusterAdmin>,
    name: &str,
    addr: &str,
) -> Result<(String, String), String> {
    let c = need(cluster)?;
    crate::cluster::pki::split_addr(addr).map_err(|e| format!("--addr {addr}: {e}"))?;
    let runtime = tokio::runtime::Handle::current();
    let bundle = runtime.block_on(c.node.add_node(&c.dir, name, addr))?;
    let json = bundle.to_json().map_err(|e| e.to_string())?;
    Ok((
        format!(
            "node {} ({name}, {addr}) may join: start it with `lkm serve --join BUNDLE`; \
             the bundle works once",
            bundle.node_id
        ),
        json,
    ))
}

pub(super) fn remove(cluster: Option<&ClusterAdmin>, id: u64) -> Result<String, String> {
    let c = need(cluster)?;
    let runtime = tokio::runtime::Handle::current();
    runtime.block_on(c.node.remove(id))?;
    Ok(format!(
        "node {id} left the cluster; its id is never given again"
    ))
}
