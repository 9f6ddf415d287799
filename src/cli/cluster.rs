//! `lkm cluster init|add-node|remove|status`: found a cluster offline, then
//! manage its members through a running node's admin socket.

use super::seal::SocketArgs;
use crate::admin::{self, AdminRequest};
use crate::config::Config;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(super) enum ClusterCommand {
    /// Make a new cluster of one (its id, its CA, node 1's certificate) in
    /// the data directory, before the first `lkm serve`.
    Init(InitArgs),
    /// Reserve a node id for a new machine and write its single-use join
    /// bundle (run on the node that founded the cluster: it holds the CA).
    AddNode {
        /// The new node's name (letters, digits, '-', '.', '_').
        name: String,
        /// The address the other nodes reach its cluster channel at (HOST:PORT).
        #[arg(long)]
        addr: String,
        /// Where the bundle is written (mode 0600). Copy it to the new
        /// machine and start it there with `lkm serve --join FILE` (or
        /// `cluster.join = FILE`).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// Take a node out of the cluster (its id is never given again).
    Remove {
        node_id: u64,
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// Leader, term and members (role, applied index, lag, reachability).
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        socket: SocketArgs,
    },
}

#[derive(Args)]
pub(super) struct InitArgs {
    /// The server's configuration file (data_dir, cluster.dir, cluster.advertise).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory, when there is no configuration file.
    #[arg(long, default_value = "lkm-data", conflicts_with = "config")]
    data: PathBuf,
    /// This first node's name.
    #[arg(long, default_value = "node1")]
    name: String,
}

pub(super) fn run(cmd: ClusterCommand) -> Result<(), String> {
    match cmd {
        ClusterCommand::Init(args) => init(args),
        ClusterCommand::AddNode {
            name,
            addr,
            out,
            socket,
        } => {
            if out.exists() {
                return Err(format!("{} exists; lkm will not replace it", out.display()));
            }
            let r = admin::request(
                &socket.path()?,
                &AdminRequest::ClusterAddNode { name, addr },
            )?;
            if !r.ok {
                return Err(r.message.clone());
            }
            let json = r
                .bundle
                .as_ref()
                .map(|b| b.as_str())
                .ok_or("the server sent no join bundle")?;
            // Checked before it is written: a bundle that cannot start a
            // node is not handed on.
            let bundle = crate::cluster::bundle::Bundle::parse(json.as_bytes())
                .map_err(|e| format!("the server's join bundle: {e}"))?;
            bundle
                .write(&out)
                .map_err(|e| format!("{}: {e}", out.display()))?;
            println!("{}\nwrote {}", r.message, out.display());
            Ok(())
        }
        ClusterCommand::Remove { node_id, socket } => {
            let r = admin::request(
                &socket.path()?,
                &AdminRequest::ClusterRemove { id: node_id },
            )?;
            if !r.ok {
                return Err(r.message.clone());
            }
            println!("{}", r.message);
            Ok(())
        }
        ClusterCommand::Status { json, socket } => {
            let r = admin::request(&socket.path()?, &AdminRequest::ClusterStatus)?;
            let status = match (&r.cluster, r.ok) {
                (Some(s), true) => s,
                _ => return Err(r.message.clone()),
            };
            if json {
                let text = serde_json::to_string_pretty(status).map_err(|e| e.to_string())?;
                println!("{text}");
            } else {
                print_status(status, &r.status.summary);
            }
            Ok(())
        }
    }
}

fn init(args: InitArgs) -> Result<(), String> {
    let config = match &args.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config {
            data_dir: args.data.clone(),
            ..Config::default()
        },
    };
    if let Some(w) = super::create_data_dir(&config.data_dir)? {
        eprintln!("lkm: warning: {w}");
    }
    let dir = config.cluster_dir();
    let cluster_id = uuid::Uuid::new_v4().to_string();
    let advertise = config.cluster.advertised();
    crate::cluster::pki::init_cluster(&dir, &cluster_id, &args.name, &advertise)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    println!(
        "founded cluster {cluster_id}: node 1 ({}) at {advertise}; its CA and identity are in {}.\n\
         Start it with `lkm serve`, then add nodes with `lkm cluster add-node`.",
        args.name,
        dir.display()
    );
    Ok(())
}

/// What this node's quorum verdict rests on: only the leader counts the
/// voters it reaches; a follower knows the leader reached it lately.
fn quorum_basis(s: &crate::cluster::node::Status) -> String {
    let voters = s.members.iter().filter(|m| m.role != "learner").count();
    if s.state == "Leader" {
        format!(
            "{} of {voters} voters reachable, {} needed",
            s.reach, s.need
        )
    } else if s.quorum {
        "the leader reached this node lately; it has every member's lag".to_owned()
    } else {
        format!("reaches {} of the {} voters needed", s.reach, s.need)
    }
}

/// Writes the status as a table; a closed pipe (`| head`) ends it quietly.
fn print_status(s: &crate::cluster::node::Status, seal: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = write_status(&mut out, s, seal).and_then(|()| out.flush());
}

fn write_status(
    out: &mut impl std::io::Write,
    s: &crate::cluster::node::Status,
    seal: &str,
) -> std::io::Result<()> {
    let leader = s
        .leader
        .map_or_else(|| "none".to_owned(), |l| format!("node {l}"));
    writeln!(
        out,
        "node {} ({}); leader {leader}, term {}; commit {}, applied {}; quorum: {} ({}); {seal}",
        s.node_id,
        s.state.to_lowercase(),
        s.term,
        s.commit_index,
        s.applied_index,
        if s.quorum { "yes" } else { "NO" },
        quorum_basis(s),
    )?;
    writeln!(
        out,
        "{:>4}  {:<16} {:<24} {:<8} {:>10} {:>8}  reachable",
        "id", "name", "address", "role", "matched", "lag"
    )?;
    let text = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    for m in &s.members {
        writeln!(
            out,
            "{:>4}  {:<16} {:<24} {:<8} {:>10} {:>8}  {}",
            m.id,
            m.name,
            m.addr,
            m.role,
            text(m.matched),
            text(m.lag),
            match m.reachable {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            }
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::node::{MemberStatus, Status};

    fn status(state: &str, quorum: bool, reach: usize) -> Status {
        let member = |id: u64, role: &str| MemberStatus {
            id,
            name: format!("node{id}"),
            addr: format!("127.0.0.1:{}", 5696 + id),
            role: role.to_owned(),
            matched: Some(7),
            lag: Some(0),
            reachable: Some(true),
        };
        Status {
            node_id: 1,
            leader: quorum.then_some(1),
            term: 3,
            state: state.to_owned(),
            commit_index: 7,
            applied_index: 7,
            last_log_index: 7,
            quorum,
            reach,
            need: 2,
            members: vec![
                member(1, "leader"),
                member(2, "voter"),
                member(3, "learner"),
            ],
            snapshot_index: 0,
        }
    }

    fn text(s: &Status) -> String {
        let mut out = Vec::new();
        write_status(&mut out, s, "unsealed").unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_leader_counts_voters_a_follower_defers_to_the_leader() {
        let t = text(&status("Leader", true, 2));
        assert!(
            t.contains("quorum: yes (2 of 2 voters reachable, 2 needed)"),
            "{t}"
        );
        assert!(t.contains("node3"), "{t}");
        let t = text(&status("Follower", true, 2));
        assert!(
            t.contains("quorum: yes (the leader reached this node lately"),
            "{t}"
        );
        let t = text(&status("Follower", false, 1));
        assert!(
            t.contains("quorum: NO (reaches 1 of the 2 voters needed)"),
            "{t}"
        );
        assert!(t.contains("leader none"), "{t}");
    }
}
