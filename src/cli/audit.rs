//! `lkm audit export` and `lkm audit verify`: read the activity log out of
//! a store, beside a running server or from a copy, without unsealing it.
//! Verify asks the running server when there is one: only it, unsealed,
//! holds the key that checks the entries' MACs and signs heads.

use crate::admin::{self, AdminRequest, AuditVerdict};
use crate::audit::{self, Filter, Format, HeadToken, Report};
use crate::store::Store;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print entries, oldest first.
    Export(ExportArgs),
    /// Check the audit log. Through the admin socket of the running server
    /// (unsealed): it anchors the log, then checks links, every anchor's
    /// MAC (and old entries' own), and a head exported earlier.
    /// With no server answering, or --offline: links only, from the files.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct StoreArgs {
    /// Data directory (the store is DATA/store).
    #[arg(long, default_value = "lkm-data")]
    data: PathBuf,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The running server's admin socket [default: DATA/admin/lkm.sock].
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Read the store's files even if a server answers: links only.
    #[arg(long, conflicts_with_all = ["socket", "export_head"])]
    offline: bool,
    /// Write the head the server vouches for to FILE: keep it outside the
    /// store, and give it back later with --expect-head.
    #[arg(long, value_name = "FILE")]
    export_head: Option<PathBuf>,
    /// A head exported earlier: verify fails if the log was rewritten or
    /// cut short since (or the file was forged).
    #[arg(long, value_name = "FILE")]
    expect_head: Option<PathBuf>,
    /// Fail unless every entry kept is authenticated by a MAC (entries
    /// from before MACs, or that no anchor vouches for, fail it; so does
    /// an offline check, which cannot read MACs). The server anchors the
    /// log before it checks, so a healthy log passes.
    #[arg(long)]
    strict: bool,
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

fn verify(args: VerifyArgs) -> Result<(), String> {
    let expect = args.expect_head.as_deref().map(read_head).transpose()?;
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| admin::default_socket(&args.store.data));
    // A server answers on the socket: it verifies, with its key. A given
    // --socket must answer; the default one may be absent (stopped server).
    let live = !args.offline
        && (args.socket.is_some() || std::os::unix::net::UnixStream::connect(&socket).is_ok());
    if !live {
        if args.export_head.is_some() {
            return Err(format!(
                "no server answers on {}: only the running, unsealed server can make a head to export",
                socket.display()
            ));
        }
        let store = open(&args.store)?;
        let report =
            audit::verify_with(&store, None, expect.as_ref()).map_err(|e| e.to_string())?;
        return print_report(&report, expect.is_some()).and(strict(&args, &report));
    }
    let answer = admin::request(
        &socket,
        &AdminRequest::AuditVerify {
            expect_head: expect.clone(),
        },
    )?;
    let Some(AuditVerdict { report, head }) = answer.audit else {
        return Err(answer.message);
    };
    let printed = print_report(&report, expect.is_some()).and(strict(&args, &report));
    if let Some(h) = &head {
        println!(
            "head: cluster {}, entry {}, hash {} (vouched for by the server at {})",
            h.cluster_id,
            h.seq,
            h.hash,
            audit::rfc3339(h.time_ms)
        );
    }
    if let Some(path) = &args.export_head {
        let Some(h) = &head else {
            printed?;
            return Err(if report.macs_checked {
                "no head to export: the log is empty".into()
            } else {
                "no head to export: the server is sealed, so it cannot vouch for one".into()
            });
        };
        write_head(path, h)?;
        println!(
            "head written to {}: keep it outside the store, and check against it with --expect-head",
            path.display()
        );
    }
    printed
}

/// With --strict, an error unless the server checked every kept entry's
/// MAC chain and found none unauthenticated.
fn strict(args: &VerifyArgs, report: &Report) -> Result<(), String> {
    if !args.strict {
        return Ok(());
    }
    if !report.macs_checked {
        return Err(
            "--strict: MACs were not checked (that needs the running, unsealed server)".into(),
        );
    }
    let count = report.unauthenticated_count();
    if count > 0 {
        return Err(format!(
            "--strict: {count} entries kept are not authenticated by a MAC"
        ));
    }
    Ok(())
}

/// Prints what verify found; an error when the log is broken.
fn print_report(report: &Report, expected: bool) -> Result<(), String> {
    let range = match (report.first_seq, report.last_seq) {
        (Some(a), Some(b)) => format!("entries {a} to {b}"),
        _ => "no entries".into(),
    };
    if let Some(b) = &report.broken {
        return Err(format!(
            "audit log broken at entry {}: {} ({} entries before it hold)",
            b.seq, b.problem, report.entries
        ));
    }
    if report.macs_checked {
        println!(
            "audit log intact: {} {range} checked, with their MACs; {} authenticated; {} removed earlier by retention",
            report.entries, report.authenticated, report.pruned
        );
        if let Some(s) = report.macs_since {
            println!("MACs on each entry began at entry {s}");
        }
        match report.vouched_through {
            Some(v) => println!(
                "{} anchors checked; entries through {v} are vouched for",
                report.anchors
            ),
            None => println!("{} anchors checked", report.anchors),
        }
        if let Some(e) = &report.anchor_error {
            println!("the log could not be anchored before the check: {e}");
        }
        for u in report.unauthenticated.iter().chain(&report.unanchored) {
            println!(
                "NOT AUTHENTICATED: entries {} to {}: {}",
                u.first, u.last, u.why
            );
        }
        if report.since_verify > 0 {
            println!(
                "{} entries written since this check began are left to the next one",
                report.since_verify
            );
        }
    } else {
        println!(
            "audit log links intact (links only: MACs NOT checked; that needs the running, unsealed server): {} {range} checked; {} removed earlier by retention",
            report.entries, report.pruned
        );
        if expected {
            println!("the exported head's own MAC is NOT checked offline");
        }
    }
    if let Some(h) = &report.head {
        println!("{h}");
    }
    Ok(())
}

fn read_head(path: &Path) -> Result<HeadToken, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a head exported by `lkm audit verify` ({e})",
            path.display()
        )
    })
}

fn write_head(path: &Path, head: &HeadToken) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(head).map_err(|e| e.to_string())?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
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
