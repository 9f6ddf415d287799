//! The TOML configuration. Every key has a default, so an empty file (or
//! none, with `--dev`) runs; `lkm config defaults` prints them all.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// KMIP over mutual TLS.
    pub listen: SocketAddr,
    /// Plain HTTP for /metrics, /healthz and /readyz.
    pub metrics_listen: SocketAddr,
    /// Where the store (and, in dev mode, the generated PKI) lives.
    pub data_dir: PathBuf,
    /// The local admin socket for `lkm unseal` / `lkm status`
    /// [default: DATA_DIR/admin/lkm.sock].
    pub admin_socket: Option<PathBuf>,
    /// Threads that serve KMIP connections, each with its own share of
    /// them; 0 = one per CPU.
    pub io_threads: usize,
    pub tls: TlsConfig,
    pub seal: SealConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub kmip: KmipConfig,
    /// How long the audit log keeps entries.
    pub audit: crate::audit::Retention,
    /// The replicated cluster (a lone server is a cluster of one).
    pub cluster: ClusterConfig,
}

/// `[cluster]`: the node-to-node channel, Raft's timing, reads.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The cluster channel (mutual TLS under the cluster CA).
    pub listen: SocketAddr,
    /// host:port the other nodes dial [default: listen].
    pub advertise: Option<String>,
    /// This node's identity and the cluster CA [default: DATA_DIR/cluster].
    pub dir: Option<PathBuf>,
    /// A join bundle from `lkm cluster add-node`, used on first start.
    pub join: Option<PathBuf>,
    pub heartbeat_ms: u64,
    /// The shortest election timeout; the longest is twice it.
    pub election_timeout_ms: u64,
    pub read_policy: ReadPolicy,
    /// Without a quorum, serve reads of what was last applied (a read may
    /// then miss a Revoke made on the majority side of a partition).
    pub degraded_reads: bool,
    /// Log entries between snapshots (and kept after one).
    pub snapshot_every: u64,
    /// How long a write waits to be committed before its outcome is
    /// reported unknown.
    pub write_timeout_ms: u64,
}

/// How a read is made linearizable (`cluster.read_policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadPolicy {
    /// The leader confirms with a quorum (ReadIndex): safe whatever the clocks.
    #[default]
    ReadIndex,
    /// The leader answers from its lease: no round trip to a quorum, but
    /// assumes the nodes' clocks drift less than the election timeout.
    Lease,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 5697)),
            advertise: None,
            dir: None,
            join: None,
            heartbeat_ms: 250,
            election_timeout_ms: 1_000,
            read_policy: ReadPolicy::ReadIndex,
            degraded_reads: true,
            snapshot_every: 10_000,
            write_timeout_ms: 10_000,
        }
    }
}

impl ClusterConfig {
    pub fn advertised(&self) -> String {
        self.advertise
            .clone()
            .unwrap_or_else(|| self.listen.to_string())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s), PEM: client certificates must chain to one.
    pub ca_cert: PathBuf,
    /// Server certificate chain, PEM.
    pub server_cert: PathBuf,
    /// Server private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub server_key: PathBuf,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Identities that see and manage every object. Each entry is one of:
    /// a client certificate's SHA-256 fingerprint (64 hex digits, colons
    /// allowed; a pin on that one certificate, the recommended form),
    /// `subject:DN` (a certificate whose whole subject is DN, e.g.
    /// `subject:CN=ops,O=Example`), or `cn:NAME` (a subject that is exactly
    /// `CN=NAME` and nothing more). Any other entry stops the server at
    /// start. Everyone else sees only the objects it owns.
    pub admins: Vec<String>,
    /// What of a client certificate owns the objects it creates or
    /// registers: "subject" (its whole subject DN, so a renewed
    /// certificate with the same subject keeps its keys; the CA must never
    /// give two clients one subject), "san-dns", "san-uri" or "san-email"
    /// (its first subject alternative name of that type; a certificate
    /// without one is refused), or "fingerprint" (SHA-256 of the whole
    /// certificate: a renewed certificate loses its objects until an admin
    /// runs `lkm objects transfer`). Objects made by earlier builds stay
    /// their certificate's whatever this says.
    pub identity: crate::auth::IdentitySource,
}

/// Choices where the KMIP specification and widely used clients disagree.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KmipConfig {
    /// How Get answers a key wrapped with Encoding Option "No Encoding".
    pub wrapped_key_value: WrappedKeyValue,
}

/// The form of a Key Value wrapped without TTLV encoding. The specification
/// says the wrapped bytes are those of the Key Material "within the Key
/// Value structure", and its 1.4 test cases show that structure; its 1.1,
/// 1.2 and 2.0 test cases show a bare Byte String instead. PyKMIP (client
/// and server) only reads the structure.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum WrappedKeyValue {
    /// A structure in KMIP 1.x, a Byte String in 2.x.
    #[default]
    Auto,
    /// Always a bare Byte String.
    ByteString,
    /// Always a Key Value structure holding the wrapped Key Material.
    Structure,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SealConfig {
    /// Share files read at start to unseal without an operator (each one
    /// is a secret: keep them on separate media or nodes).
    pub share_files: Vec<PathBuf>,
    /// Shares given to a sealed server are dropped (wiped) once this many
    /// seconds have passed since the first of them without reaching the
    /// threshold: a share is not left in memory for good.
    pub pending_share_timeout_s: u64,
}

impl Default for SealConfig {
    fn default() -> Self {
        Self {
            share_files: Vec::new(),
            pending_share_timeout_s: 600,
        }
    }
}

impl SealConfig {
    pub fn pending_share_timeout(&self) -> Duration {
        Duration::from_secs(self.pending_share_timeout_s)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request, header included, in bytes.
    pub max_message_size: usize,
    /// Deepest structure nesting in a request.
    pub max_depth: usize,
    /// Most TTLV items in a request.
    pub max_items: usize,
    /// Most batch items in a request.
    pub max_batch_items: usize,
    /// Most simultaneous client connections that completed their TLS
    /// handshake; more are closed once their handshake is done.
    pub max_connections: usize,
    /// Most connections still in their TLS handshake, in total. They have
    /// a budget of their own (nobody has shown a certificate yet): when it
    /// is full the oldest idle one is dropped, never the newcomer and never
    /// an authenticated client.
    pub max_handshaking: usize,
    /// Most connections in their TLS handshake from one source address.
    pub max_handshaking_per_source: usize,
    /// Time allowed between accepting a connection and its first byte.
    pub first_byte_timeout_ms: u64,
    /// Time allowed for the TLS handshake.
    pub handshake_timeout_ms: u64,
    /// Time allowed to receive a whole request once its first byte arrived,
    /// and to send a response.
    pub message_timeout_ms: u64,
    /// A connection with no request for this long is closed.
    pub idle_timeout_ms: u64,
    /// On SIGTERM/ctrl-c, how long in-flight requests may take to finish.
    pub shutdown_grace_ms: u64,
    /// Most work one request may ask for, in units of about a millisecond
    /// of CPU (a Get is 1, an RSA-2048 key pair about 100, PBKDF2 one per
    /// 3,000 iterations); a request over it is refused before it runs.
    pub max_request_work: u64,
    /// A request still running its batch after this long has its
    /// remaining items refused (checked between items).
    pub request_deadline_ms: u64,
    /// Largest response the server builds, checked as items are answered
    /// [0 = 4 x max_message_size].
    pub max_response_size: usize,
    /// Requests of expensive work (10 units or more) one client identity
    /// may have running at once; more are refused, not queued.
    pub max_expensive_per_identity: usize,
    /// Audited batch items one client identity may send per second, on
    /// average (each writes an audit entry); 0 = no limit. Past it,
    /// requests are refused until the budget refills.
    pub audited_items_per_s: u64,
    /// How many audited items one identity may send in a burst above
    /// `audited_items_per_s`.
    pub audited_items_burst: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// "text" or "json".
    pub format: String,
    /// A tracing filter, e.g. "info" or "lkm=debug"; RUST_LOG overrides it.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 5696)),
            metrics_listen: SocketAddr::from(([127, 0, 0, 1], 9696)),
            data_dir: PathBuf::from("lkm-data"),
            admin_socket: None,
            io_threads: 0,
            tls: TlsConfig::default(),
            seal: SealConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
            kmip: KmipConfig::default(),
            audit: crate::audit::Retention::default(),
            cluster: ClusterConfig::default(),
        }
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self::in_dir(Path::new("certs"))
    }
}

impl TlsConfig {
    /// The layout `lkm certs init` writes.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ca_cert: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_message_size: 1 << 20,
            max_depth: 32,
            max_items: 65_536,
            max_batch_items: 1_000,
            max_connections: 1_024,
            max_handshaking: 256,
            max_handshaking_per_source: 32,
            first_byte_timeout_ms: 3_000,
            handshake_timeout_ms: 10_000,
            message_timeout_ms: 30_000,
            idle_timeout_ms: 300_000,
            shutdown_grace_ms: 30_000,
            max_request_work: 5_000,
            request_deadline_ms: 20_000,
            max_response_size: 0,
            max_expensive_per_identity: 2,
            audited_items_per_s: 200,
            audited_items_burst: 20_000,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

impl LimitsConfig {
    pub fn codec(&self) -> crate::ttlv::Limits {
        crate::ttlv::Limits {
            max_message_size: self.max_message_size,
            max_depth: self.max_depth,
            max_items: self.max_items,
        }
    }
    pub fn first_byte_timeout(&self) -> Duration {
        Duration::from_millis(self.first_byte_timeout_ms)
    }
    pub fn request_deadline(&self) -> Duration {
        Duration::from_millis(self.request_deadline_ms)
    }
    /// The response size limit in force.
    pub fn response_budget(&self) -> usize {
        match self.max_response_size {
            0 => self.max_message_size.saturating_mul(4),
            n => n,
        }
    }
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }
    pub fn message_timeout(&self) -> Duration {
        Duration::from_millis(self.message_timeout_ms)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// The number of connection threads `io_threads` asks for.
    pub fn io_threads(&self) -> usize {
        match self.io_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let cfg: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Rejects values that would make the server useless or unsafe.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if l.max_message_size < 64 || l.max_message_size > (64 << 20) {
            return bad("limits.max_message_size must be between 64 bytes and 64 MiB");
        }
        let c = &self.cluster;
        if c.heartbeat_ms < 10 || c.election_timeout_ms < 3 * c.heartbeat_ms {
            return bad(
                "cluster.heartbeat_ms must be at least 10 and cluster.election_timeout_ms at least 3 heartbeats",
            );
        }
        if c.snapshot_every < 100 || c.write_timeout_ms < 100 {
            return bad(
                "cluster.snapshot_every must be at least 100 and cluster.write_timeout_ms at least 100",
            );
        }
        if self.io_threads > 1024 {
            return bad("io_threads must be at most 1024 (0 = one per CPU)");
        }
        if l.max_depth < 4 || l.max_depth > 256 {
            return bad("limits.max_depth must be between 4 and 256");
        }
        if l.max_items < 16 {
            return bad("limits.max_items must be at least 16");
        }
        if l.max_batch_items == 0 || l.max_connections == 0 {
            return bad("limits.max_batch_items and limits.max_connections must be at least 1");
        }
        if l.handshake_timeout_ms == 0
            || l.message_timeout_ms == 0
            || l.idle_timeout_ms == 0
            || l.first_byte_timeout_ms == 0
            || l.request_deadline_ms == 0
        {
            return bad("limits.*_timeout_ms and limits.request_deadline_ms must be positive");
        }
        if l.max_handshaking == 0
            || l.max_handshaking_per_source == 0
            || l.max_expensive_per_identity == 0
        {
            return bad(
                "limits.max_handshaking, limits.max_handshaking_per_source and limits.max_expensive_per_identity must be at least 1",
            );
        }
        if l.max_request_work < 100 {
            return bad("limits.max_request_work must be at least 100");
        }
        if l.max_response_size != 0 && l.max_response_size < 1024 {
            return bad("limits.max_response_size must be 0 (automatic) or at least 1024 bytes");
        }
        if l.audited_items_per_s != 0
            && (l.audited_items_burst < l.audited_items_per_s
                || l.audited_items_burst < l.max_batch_items as u64)
        {
            return bad(
                "limits.audited_items_burst must be at least limits.audited_items_per_s and limits.max_batch_items",
            );
        }
        if self.seal.pending_share_timeout_s == 0 {
            return bad("seal.pending_share_timeout_s must be at least 1");
        }
        for entry in &self.auth.admins {
            crate::auth::check_admin_entry(entry).map_err(ConfigError::Invalid)?;
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad("log.format must be \"text\" or \"json\"");
        }
        // A slip here would erase the activity log at the next pruning.
        let a = &self.audit;
        if a.max_age_days == 0 || a.max_bytes < (1 << 20) || a.prune_interval_s == 0 {
            return bad(
                "audit.max_age_days and audit.prune_interval_s must be at least 1, audit.max_bytes at least 1 MiB",
            );
        }
        Ok(())
    }

    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// This node's cluster identity and the cluster CA.
    pub fn cluster_dir(&self) -> PathBuf {
        self.cluster
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("cluster"))
    }

    pub fn admin_socket_path(&self) -> PathBuf {
        self.admin_socket
            .clone()
            .unwrap_or_else(|| crate::admin::default_socket(&self.data_dir))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_and_defaults_round_trip() {
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(c, Config::default());
        let back: Config = toml::from_str(&Config::default().to_toml()).unwrap();
        assert_eq!(back, Config::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<Config>("lisen = \"1.2.3.4:1\"").is_err());
        let c: Config = toml::from_str("[limits]\nmax_depth = 1").unwrap();
        assert!(c.validate().is_err());
        assert!(Config::default().validate().is_ok());
        for bad in ["max_bytes = 0", "max_age_days = 0", "prune_interval_s = 0"] {
            let c: Config = toml::from_str(&format!("[audit]\n{bad}")).unwrap();
            assert!(c.validate().is_err(), "{bad}");
        }
        let c: Config = toml::from_str("[seal]\npending_share_timeout_s = 0").unwrap();
        assert!(c.validate().is_err());
        let c: Config = toml::from_str("[seal]\npending_share_timeout_s = 30").unwrap();
        assert!(c.validate().is_ok());
        assert_eq!(c.seal.pending_share_timeout(), Duration::from_secs(30));
        assert_eq!(Config::default().seal.pending_share_timeout_s, 600);
        for bad in ["\"\"", "\"cn:\"", "\"admin\"", "\"subject:CN\"", "\"abcd\""] {
            let c: Config = toml::from_str(&format!("[auth]\nadmins = [{bad}]")).unwrap();
            assert!(c.validate().is_err(), "admins = [{bad}]");
        }
        let c: Config =
            toml::from_str("[auth]\nadmins = [\"cn:ops\"]\nidentity = \"san-dns\"").unwrap();
        assert!(c.validate().is_ok());
        assert_eq!(c.auth.identity, crate::auth::IdentitySource::SanDns);
        assert_eq!(
            Config::default().auth.identity,
            crate::auth::IdentitySource::Subject
        );
        assert!(toml::from_str::<Config>("[auth]\nidentity = \"cn\"").is_err());
        let c: Config = toml::from_str("[kmip]\nwrapped_key_value = \"structure\"").unwrap();
        assert_eq!(c.kmip.wrapped_key_value, WrappedKeyValue::Structure);
        assert!(toml::from_str::<Config>("[kmip]\nwrapped_key_value = \"ttlv\"").is_err());
    }
}
