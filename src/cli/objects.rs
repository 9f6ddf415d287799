//! `lkm objects`: managing objects on a running server through its admin
//! socket (local, so only the server's user or root can).

use super::seal::SocketArgs;
use crate::admin::{self, AdminRequest};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum ObjectsCommand {
    /// Give objects to another owner: every object of --from, or the one
    /// --uid. Owners are written subject:DN, cn:NAME (the subject CN=NAME),
    /// san-dns:NAME, san-uri:URI, san-email:ADDRESS, or a certificate's
    /// SHA-256 fingerprint (what objects of earlier builds are owned by).
    Transfer(TransferArgs),
}

#[derive(Args)]
pub struct TransferArgs {
    /// The owner whose objects move.
    #[arg(long)]
    from: Option<String>,
    /// One object to move.
    #[arg(long)]
    uid: Option<String>,
    /// The new owner.
    #[arg(long)]
    to: String,
    #[command(flatten)]
    socket: SocketArgs,
}

pub fn run(command: ObjectsCommand) -> Result<(), String> {
    match command {
        ObjectsCommand::Transfer(args) => {
            // Checked here first, so a typo is named before anything is sent.
            crate::auth::parse_owner(&args.to).map_err(|e| format!("--to: {e}"))?;
            if let Some(f) = &args.from {
                crate::auth::parse_owner(f).map_err(|e| format!("--from: {e}"))?;
            }
            let r = admin::request(
                &args.socket.path()?,
                &AdminRequest::TransferOwner {
                    from: args.from,
                    uid: args.uid,
                    to: args.to,
                },
            )?;
            if !r.ok {
                return Err(r.message);
            }
            println!("{}", r.message);
            Ok(())
        }
    }
}
