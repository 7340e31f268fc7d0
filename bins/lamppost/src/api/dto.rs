//! JSON shapes of the management API, shared by the server and the CLI.

use serde::{Deserialize, Serialize};

/// One binding as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BindingView {
    /// Binding identifier.
    pub id: u64,
    /// Contact URI.
    pub contact: String,
    /// Contact parameters other than q and expires (raw).
    pub params: String,
    /// q-value as written in SIP, if the client gave one.
    pub q: Option<String>,
    /// Seconds until expiry.
    pub expires_in: u32,
    /// Expiry time, seconds since the Unix epoch.
    pub expires_at: u64,
    /// First registration, seconds since the Unix epoch.
    pub registered_at: u64,
    /// Last refresh, seconds since the Unix epoch.
    pub updated_at: u64,
    /// Address the REGISTER came from (`ip:port`).
    pub source: String,
    /// Transport it came over (`UDP`, `TCP`).
    pub transport: String,
    /// Local socket it arrived on (`ip:port`).
    pub local: String,
    /// Connection id for TCP.
    pub connection: Option<u64>,
    /// User-Agent header.
    pub user_agent: String,
    /// `+sip.instance`.
    pub instance: Option<String>,
    /// `reg-id`.
    pub reg_id: Option<u32>,
    /// Path header values.
    pub path: Vec<String>,
    /// Call-ID of the last REGISTER.
    pub call_id: String,
    /// CSeq of the last REGISTER.
    pub cseq: u32,
}

/// An AOR and its bindings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AorView {
    /// The address-of-record.
    pub aor: String,
    /// Its live bindings.
    pub bindings: Vec<BindingView>,
}

/// Server status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusView {
    /// lamppost version.
    pub version: String,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// SIP listen addresses actually bound.
    pub listening: Vec<String>,
    /// AORs with at least one binding.
    pub aors: usize,
    /// Bindings held.
    pub bindings: usize,
    /// Domains served.
    pub domains: Vec<String>,
}

/// Error body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorView {
    /// What went wrong.
    pub error: String,
}
