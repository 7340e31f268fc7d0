//! The binding: one contact registered for one address-of-record.

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use sip_msg::Transport;

/// Seconds since the Unix epoch; bindings store absolute times so they survive restarts.
///
/// 32 bits (good until 2106), as every binding holds three of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(pub u32);

impl UnixTime {
    /// Converts a wall-clock time, saturating at the epoch and at the end of the range.
    pub fn from_system(t: SystemTime) -> Self {
        Self(
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
        )
    }

    /// Converts back to a wall-clock time.
    pub fn to_system(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.into())
    }

    /// This time plus `secs` seconds, saturating at the end of the range.
    pub fn plus(self, secs: u32) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Seconds from `now` until this time, zero if it has passed.
    pub fn secs_after(self, now: Self) -> u32 {
        self.0.saturating_sub(now.0)
    }
}

/// Why a binding left the location table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalReason {
    /// The client removed it (expires=0 or `Contact: *`).
    Unregistered,
    /// Its expiry time passed without a refresh.
    Expired,
    /// A newer registration of the same device (same `+sip.instance`/`reg-id`) took its place.
    Replaced,
    /// `max_contacts` was reached and the oldest binding was evicted for a new one.
    Evicted,
    /// An operator removed it through the management API.
    Administrative,
}

impl RemovalReason {
    /// Lower-case name used in logs, metrics and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unregistered => "unregistered",
            Self::Expired => "expired",
            Self::Replaced => "replaced",
            Self::Evicted => "evicted",
            Self::Administrative => "administrative",
        }
    }
}

/// Where a REGISTER came from: what the transport layer saw, not what the message claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Remote address the request was received from.
    pub remote: SocketAddr,
    /// Local socket it arrived on.
    pub local: LocalAddr,
    /// Transport it arrived over.
    pub transport: Transport,
    /// Connection identifier for connection-oriented transports (the transports number them from 1).
    pub connection: Option<NonZeroU64>,
}

/// A local socket address, interned: a server has few of them, and every binding names one.
///
/// Each distinct address is stored once for the life of the process, so a binding holds a pointer, not the address.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalAddr(&'static SocketAddr);

impl LocalAddr {
    /// The shared copy of `addr`.
    pub fn intern(addr: SocketAddr) -> Self {
        static SEEN: RwLock<Vec<&'static SocketAddr>> = RwLock::new(Vec::new());
        let find = |seen: &[&'static SocketAddr]| seen.iter().copied().find(|&&a| a == addr);
        if let Some(a) = find(&SEEN.read().unwrap_or_else(PoisonError::into_inner)) {
            return Self(a);
        }
        let mut seen = SEEN.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = find(&seen) {
            return Self(a);
        }
        let a: &'static SocketAddr = Box::leak(Box::new(addr));
        seen.push(a);
        Self(a)
    }

    /// The address.
    pub fn get(self) -> SocketAddr {
        *self.0
    }
}

impl From<SocketAddr> for LocalAddr {
    fn from(addr: SocketAddr) -> Self {
        Self::intern(addr)
    }
}

impl fmt::Debug for LocalAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for LocalAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

/// The parts of a contact that most bindings lack, as plain fields (see [`Extras`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactExtras {
    /// Contact header parameters other than `expires` and `q`, raw, each starting with `;`.
    pub params: Box<str>,
    /// Path header values (RFC 3327), in order; empty when none.
    pub path: Box<[Box<str>]>,
    /// `+sip.instance` contact parameter (RFC 5626), without quotes.
    pub instance: Option<Box<str>>,
    /// `reg-id` contact parameter (RFC 5626).
    pub reg_id: Option<u32>,
}

/// [`ContactExtras`] kept out of line, and not allocated at all when every part is empty, so a plain binding stays
/// small.
#[derive(Clone, Default)]
pub struct Extras(Option<Box<ContactExtras>>);

impl Extras {
    /// Contact parameters other than `expires` and `q` (empty if none).
    pub fn params(&self) -> &str {
        self.0.as_ref().map_or("", |e| &e.params)
    }

    /// Path header values, in order.
    pub fn path(&self) -> &[Box<str>] {
        self.0.as_ref().map_or(&[], |e| &e.path)
    }

    /// `+sip.instance`, without quotes.
    pub fn instance(&self) -> Option<&str> {
        self.0.as_ref().and_then(|e| e.instance.as_deref())
    }

    /// `reg-id`.
    pub fn reg_id(&self) -> Option<u32> {
        self.0.as_ref().and_then(|e| e.reg_id)
    }

    /// The parts as plain fields, to change them.
    pub fn to_parts(&self) -> ContactExtras {
        self.0.as_deref().cloned().unwrap_or_default()
    }
}

impl From<ContactExtras> for Extras {
    fn from(parts: ContactExtras) -> Self {
        if parts == ContactExtras::default() {
            Self(None)
        } else {
            Self(Some(Box::new(parts)))
        }
    }
}

impl PartialEq for Extras {
    fn eq(&self, other: &Self) -> bool {
        self.params() == other.params()
            && self.path() == other.path()
            && self.instance() == other.instance()
            && self.reg_id() == other.reg_id()
    }
}

impl Eq for Extras {}

impl fmt::Debug for Extras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extras")
            .field("params", &self.params())
            .field("path", &self.path())
            .field("instance", &self.instance())
            .field("reg_id", &self.reg_id())
            .finish()
    }
}

/// One contact bound to an address-of-record.
///
/// Strings are boxed (no spare capacity), the AOR and User-Agent are shared, the local socket is interned and the
/// contact's rarer parts live out of line: a server holds one of these per registered device, and its size is the
/// memory per binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Unique, stable identifier of this binding (survives refreshes).
    pub id: u64,
    /// Canonical address-of-record, `user@domain` (domain in lower case). Boxed, not shared: most AORs have one
    /// binding, and a shared copy's counters would cost 16 bytes more each.
    pub aor: Box<str>,
    /// The contact URI, exactly as the client sent it (without angle brackets).
    pub uri: Box<str>,
    /// Preference in thousandths (`q=0.5` is 500); `None` when the client sent no q.
    pub q: Option<u16>,
    /// When the binding expires.
    pub expires_at: UnixTime,
    /// When the binding was first created.
    pub registered_at: UnixTime,
    /// When the binding was last created or refreshed.
    pub updated_at: UnixTime,
    /// Call-ID of the REGISTER that last wrote it.
    pub call_id: Box<str>,
    /// CSeq number of the REGISTER that last wrote it.
    pub cseq: u32,
    /// Hash of the top Via branch of that REGISTER, to recognise retransmissions.
    pub branch_hash: u32,
    /// Where the REGISTER came from.
    pub source: Source,
    /// User-Agent header of the registering client (empty if none); one shared copy per distinct value.
    pub user_agent: Arc<str>,
    /// Contact parameters, Path, `+sip.instance` and `reg-id`.
    pub extras: Extras,
}

impl Binding {
    /// Seconds left before expiry at `now`.
    pub fn expires_in(&self, now: UnixTime) -> u32 {
        self.expires_at.secs_after(now)
    }

    /// Contact header parameters other than `expires` and `q`, raw, each starting with `;` (empty if none).
    pub fn params(&self) -> &str {
        self.extras.params()
    }

    /// Path header values (RFC 3327), in order; empty when none.
    pub fn path(&self) -> &[Box<str>] {
        self.extras.path()
    }

    /// `+sip.instance` contact parameter (RFC 5626), without quotes.
    pub fn instance(&self) -> Option<&str> {
        self.extras.instance()
    }

    /// `reg-id` contact parameter (RFC 5626).
    pub fn reg_id(&self) -> Option<u32> {
        self.extras.reg_id()
    }

    /// The q-value formatted as in SIP (`0.5`, `1`), if one was given.
    pub fn q_str(&self) -> Option<String> {
        self.q.map(format_q)
    }
}

/// Formats a q-value in thousandths the way SIP writes it (`1`, `0.5`, `0.125`).
pub fn format_q(q: u16) -> String {
    if q >= 1000 {
        "1".to_owned()
    } else {
        let s = format!("0.{q:03}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Parses a SIP q-value (`0`, `0.5`, `1.000`) into thousandths.
pub fn parse_q(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// A change to the location table that must be made durable before the reply is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Insert or replace the binding with this id.
    Upsert(Binding),
    /// Remove the binding with this id.
    Remove {
        /// Binding identifier.
        id: u64,
        /// Address-of-record it belonged to.
        aor: String,
        /// Its contact URI.
        uri: String,
        /// Why it was removed.
        reason: RemovalReason,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_stays_small() {
        // A binding list of one is a single allocation of this size; keep it within mimalloc's 160-byte class.
        assert!(size_of::<Binding>() <= 160, "{}", size_of::<Binding>());
        assert_eq!(size_of::<Extras>(), 8);
        assert_eq!(size_of::<LocalAddr>(), 8);
    }

    #[test]
    fn local_addresses_are_interned() {
        let a: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        let b: SocketAddr = "[2001:db8::1]:5061".parse().unwrap();
        let (la, lb) = (LocalAddr::intern(a), LocalAddr::from(b));
        assert_eq!(la.get(), a);
        assert_eq!(lb.get(), b);
        assert_ne!(la, lb);
        assert!(std::ptr::eq(la.0, LocalAddr::intern(a).0));
        assert_eq!(la.to_string(), "192.0.2.1:5060");
        assert_eq!(format!("{lb:?}"), "[2001:db8::1]:5061");
    }

    #[test]
    fn empty_extras_allocate_nothing_and_compare_by_value() {
        let none = Extras::from(ContactExtras::default());
        assert!(none.0.is_none());
        assert_eq!(none, Extras::default());
        assert_eq!(
            (none.params(), none.path(), none.instance(), none.reg_id()),
            ("", &[][..], None, None)
        );
        let parts = ContactExtras {
            params: ";ob".into(),
            path: vec!["<sip:p1.example.com;lr>".into()].into(),
            instance: Some("<urn:uuid:1>".into()),
            reg_id: Some(1),
        };
        let some = Extras::from(parts.clone());
        assert_eq!(some.params(), ";ob");
        assert_eq!(some.path().len(), 1);
        assert_eq!(some.instance(), Some("<urn:uuid:1>"));
        assert_eq!(some.reg_id(), Some(1));
        assert_eq!(some.to_parts(), parts);
        assert_ne!(some, none);
        assert_eq!(Extras::from(none.to_parts()), none);
    }

    #[test]
    fn q_values_round_trip() {
        for (text, q, back) in [
            ("1", 1000, "1"),
            ("1.0", 1000, "1"),
            ("0.5", 500, "0.5"),
            ("0.125", 125, "0.125"),
            ("0", 0, "0"),
        ] {
            assert_eq!(parse_q(text), Some(q), "{text}");
            assert_eq!(format_q(q), back);
        }
        for bad in ["1.5", "2", "0.1234", "-0.1", "x", ""] {
            assert_eq!(parse_q(bad), None, "{bad}");
        }
    }
}
