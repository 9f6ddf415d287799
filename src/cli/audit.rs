//! `lkm audit export` and `lkm audit verify`: read the activity log out of
//! a store, beside a running server or from a copy, without unsealing it.

use crate::audit::{self, Filter, Format};
use crate::store::Store;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print entries, oldest first.
    Export(ExportArgs),
    /// Check the hash chain from the oldest kept entry to the newest.
    Verify(StoreArgs),
}

#[derive(Args)]
pub struct StoreArgs {
    /// Data directory (the store is DATA/store).
    #[arg(long, default_value = "lkm-data")]
    data: PathBuf,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Entries at or after this time (RFC 3339, or a date: 2026-11-28).
    #[arg(long)]
    since: Option<String>,
    /// Entries before this time (RFC 3339, or a date).
    #[arg(long)]
    until: Option<String>,
    /// Entries naming this object.
    #[arg(long)]
    uid: Option<String>,
    /// Entries of this client: `cn:NAME`, NAME, or a certificate fingerprint.
    #[arg(long)]
    identity: Option<String>,
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
}

pub fn run(cmd: AuditCommand) -> Result<(), String> {
    match cmd {
        AuditCommand::Export(args) => export(args),
        AuditCommand::Verify(args) => verify(args),
    }
}

fn open(args: &StoreArgs) -> Result<Store, String> {
    Store::open_read_only(&args.data.join("store")).map_err(|e| e.to_string())
}

fn export(args: ExportArgs) -> Result<(), String> {
    let filter = Filter {
        since_ms: args.since.as_deref().map(parse_time).transpose()?,
        until_ms: args.until.as_deref().map(parse_time).transpose()?,
        uid: args.uid,
        identity: args.identity,
    };
    let store = open(&args.store)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let n = audit::export(&store, &filter, args.format, &mut out).map_err(|e| e.to_string())?;
    std::io::Write::flush(&mut out).map_err(|e| e.to_string())?;
    eprintln!("{n} entries");
    Ok(())
}

fn verify(args: StoreArgs) -> Result<(), String> {
    let store = open(&args)?;
    let report = audit::verify(&store).map_err(|e| e.to_string())?;
    let range = match (report.first_seq, report.last_seq) {
        (Some(a), Some(b)) => format!("entries {a} to {b}"),
        _ => "no entries".into(),
    };
    match report.broken {
        None => {
            println!(
                "audit log intact: {} {range} checked; {} removed earlier by retention",
                report.entries, report.pruned
            );
            Ok(())
        }
        Some(b) => Err(format!(
            "audit log broken at entry {}: {} ({} entries before it hold)",
            b.seq, b.problem, report.entries
        )),
    }
}

/// Unix milliseconds of an RFC 3339 time or a date (midnight UTC).
fn parse_time(text: &str) -> Result<i64, String> {
    use time::format_description::well_known::Rfc3339;
    let t = time::OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| {
            time::Date::parse(
                text,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map(|d| d.midnight().assume_utc())
        })
        .map_err(|_| format!("{text:?} is neither an RFC 3339 time nor a date (YYYY-MM-DD)"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| format!("{text:?} is out of range"))
}
