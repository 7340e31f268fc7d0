//! REGISTER processing, RFC 3261 §10.3 step by step.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sip_msg::{Contacts, HeaderName, Message, Method, Scheme, Uri};

use crate::binding::{Binding, Change, ContactExtras, RemovalReason, Source, UnixTime};
use crate::config::{OverflowPolicy, RegistrarConfig};
use crate::contact::RequestedContact;
use crate::location::LocationTable;
use crate::reply::{branch_hash, date_header, start, write_reply};

/// Option-tags this registrar supports in `Require`.
const SUPPORTED: &[&str] = &["path"];

/// The result of handling one request: the status written into the caller's buffer, and what to persist first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Status code of the response in the buffer; 0 when the request was dropped and nothing was written.
    pub status: u16,
    /// Changes to make durable before sending the response.
    pub changes: Vec<Change>,
}

impl Outcome {
    fn reply(status: u16) -> Self {
        Self {
            status,
            changes: Vec::new(),
        }
    }

    fn written(ok: bool, status: u16) -> Self {
        Self::reply(if ok { status } else { 0 })
    }
}

/// What the pre-authentication checks learned about a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Canonical AOR, `user@domain`.
    pub aor: String,
    /// Whether the request must carry valid credentials (the realm is the AOR's domain).
    pub needs_auth: bool,
}

impl Target {
    /// The AOR's domain, which is also the digest realm.
    pub fn domain(&self) -> &str {
        self.aor.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

/// Who is making the request, once authentication is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Digest-authenticated as `user@realm`.
    Authenticated(String),
    /// No authentication was required (policy exemption).
    Exempt,
}

/// Canonical AOR (`user@domain`, user unescaped, domain in lower case) of a SIP URI.
pub fn aor_of(uri: &Uri<'_>) -> Option<String> {
    uri.user.filter(|u| !u.is_empty())?;
    let (user, host) = (uri.user_unescaped(), uri.host_lowercase());
    // Sized once: this runs for every REGISTER, and `format!` would grow the string twice.
    let mut aor = String::with_capacity(user.len() + 1 + host.len());
    aor.push_str(&user);
    aor.push('@');
    aor.push_str(&host);
    Some(aor)
}

/// RFC 3261 §10.3 steps 1–2 and the auth decision: runs before any credential lookup.
///
/// On `Err`, the response (or nothing, for a drop) is in `out` and the outcome says which.
pub fn precheck(
    config: &RegistrarConfig,
    msg: &Message<'_>,
    source: &Source,
    out: &mut Vec<u8>,
) -> Result<Target, Outcome> {
    let bad = |out: &mut Vec<u8>, reason: &str| {
        Outcome::written(write_reply(out, msg, source.remote, 400, reason, &[]), 400)
    };
    if msg.top_via().is_err() {
        return Err(Outcome::reply(0));
    }
    if let Err(e) = msg.call_id() {
        return Err(bad(out, &e.reason_phrase()));
    }
    match msg.cseq() {
        Err(e) => return Err(bad(out, &e.reason_phrase())),
        Ok(c) if c.method != Method::Register => {
            return Err(bad(out, "CSeq method does not match REGISTER"));
        }
        Ok(_) => {}
    }
    if let Err(e) = msg.from() {
        return Err(bad(out, &e.reason_phrase()));
    }
    let to = match msg.to() {
        Ok(to) => to,
        Err(e) => return Err(bad(out, &e.reason_phrase())),
    };
    if !matches!(to.uri.scheme, Scheme::Sip | Scheme::Sips) {
        return Err(bad(out, "To URI must be sip or sips"));
    }
    let Some(aor) = aor_of(&to.uri) else {
        return Err(bad(out, "To URI has no user part"));
    };
    let domain = to.uri.host_lowercase();
    if !config.serves(&domain) {
        let ok = write_reply(out, msg, source.remote, 403, "Domain not served here", &[]);
        return Err(Outcome::written(ok, 403));
    }
    let unsupported: Vec<&str> = msg
        .list_items(HeaderName::Require)
        .filter(|tag| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag)))
        .collect();
    if !unsupported.is_empty() {
        let list = unsupported.join(", ");
        let ok = write_reply(
            out,
            msg,
            source.remote,
            420,
            "Bad Extension",
            &[("Unsupported", &list)],
        );
        return Err(Outcome::written(ok, 420));
    }
    let needs_auth = config.auth.requires_auth(&domain, source.remote.ip());
    Ok(Target { aor, needs_auth })
}

/// One shard of the location service: its table and the rules that change it.
#[derive(Debug)]
pub struct Registrar {
    config: Arc<RegistrarConfig>,
    table: LocationTable,
    ids: Arc<AtomicU64>,
    /// One shared copy of each User-Agent value in use: thousands of phones of one model send the same one.
    agents: HashSet<Arc<str>>,
}

impl Registrar {
    /// A registrar over an empty table. `ids` hands out binding ids and may be shared between shards.
    pub fn new(config: Arc<RegistrarConfig>, ids: Arc<AtomicU64>) -> Self {
        Self {
            config,
            table: LocationTable::new(),
            ids,
            agents: HashSet::new(),
        }
    }

    /// The rules in force.
    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// Replaces the rules (on reload); bindings are kept.
    pub fn set_config(&mut self, config: Arc<RegistrarConfig>) {
        self.config = config;
    }

    /// The location table, for lookups and the management API.
    pub fn table(&self) -> &LocationTable {
        &self.table
    }

    /// Loads bindings read back from the store, dropping those already expired at `now`.
    pub fn restore(&mut self, bindings: impl IntoIterator<Item = Binding>, now: SystemTime) {
        let now = UnixTime::from_system(now);
        for mut b in bindings {
            if b.expires_at > now {
                self.ids.fetch_max(b.id, Ordering::Relaxed);
                b.user_agent = self.intern_agent(&b.user_agent);
                self.table.upsert(b);
            }
        }
    }

    /// Removes expired bindings; the returned removals must be persisted.
    pub fn expire(&mut self, now: SystemTime) -> Vec<Change> {
        let removed = self.table.expire(UnixTime::from_system(now));
        if !removed.is_empty() {
            // Forget User-Agent values no binding uses any more.
            self.agents.retain(|a| Arc::strong_count(a) > 1);
        }
        removed
    }

    /// The shared copy of a User-Agent value.
    fn intern_agent(&mut self, agent: &str) -> Arc<str> {
        if let Some(a) = self.agents.get(agent) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(agent);
        self.agents.insert(a.clone());
        a
    }

    /// Whether `msg` repeats the request that last wrote one of `aor`'s bindings (same Call-ID, CSeq and Via branch):
    /// a retransmission, which gets the same answer and changes nothing.
    pub fn is_retransmission(&self, aor: &str, msg: &Message<'_>) -> bool {
        let (Ok(call_id), Ok(cseq), Ok(via)) = (msg.call_id(), msg.cseq(), msg.top_via()) else {
            return false;
        };
        let branch = branch_hash(via.branch());
        self.table
            .bindings(aor)
            .iter()
            .any(|b| &*b.call_id == call_id && b.cseq == cseq.seq && b.branch_hash == branch)
    }

    /// Removes one binding on an operator's request.
    pub fn remove_binding(&mut self, aor: &str, id: u64) -> Option<Change> {
        let b = self.table.bindings(aor).iter().find(|b| b.id == id)?;
        let change = Change::Remove {
            id,
            aor: b.aor.to_string(),
            uri: b.uri.to_string(),
            reason: RemovalReason::Administrative,
        };
        self.table.remove(aor, id);
        Some(change)
    }

    /// RFC 3261 §10.3 steps 4–8 for a request that passed [`precheck`] and authentication.
    ///
    /// Writes the response into `out`; the in-memory table is already updated when this returns, and
    /// `Outcome::changes` must be made durable before the response is sent.
    pub fn register(
        &mut self,
        now: SystemTime,
        msg: &Message<'_>,
        source: &Source,
        target: &Target,
        identity: &Identity,
        out: &mut Vec<u8>,
    ) -> Outcome {
        let reply = |out: &mut Vec<u8>, code: u16, reason: &str, headers: &[(&str, &str)]| {
            Outcome::written(
                write_reply(out, msg, source.remote, code, reason, headers),
                code,
            )
        };
        if let Identity::Authenticated(user) = identity
            && !self.config.auth.may_register(user, &target.aor)
        {
            return reply(out, 403, "Not allowed to register this AOR", &[]);
        }
        let (Ok(call_id), Ok(cseq), Ok(via)) = (msg.call_id(), msg.cseq(), msg.top_via()) else {
            return Outcome::reply(0);
        };
        let header_expires = match msg.expires() {
            Ok(e) => e,
            Err(e) => return reply(out, 400, &e.reason_phrase(), &[]),
        };
        let contacts = match msg.contacts() {
            Ok(c) => c,
            Err(e) => return reply(out, 400, &e.reason_phrase(), &[]),
        };
        let request = Request {
            now: UnixTime::from_system(now),
            aor: target.aor.as_str().into(),
            call_id,
            cseq: cseq.seq,
            branch_hash: branch_hash(via.branch()),
            source: *source,
            user_agent: self.intern_agent(msg.header(HeaderName::UserAgent).unwrap_or("")),
            path: msg.list_items(HeaderName::Path).map(Into::into).collect(),
        };
        let decided = match contacts {
            Contacts::Star => {
                if header_expires != Some(0) {
                    return reply(out, 400, "Wildcard Contact requires Expires: 0", &[]);
                }
                self.unregister_all(&target.aor, &request)
            }
            Contacts::List(list) if list.is_empty() => Ok(Decision::Query),
            Contacts::List(list) => {
                let mut requested = Vec::with_capacity(list.len());
                for addr in list {
                    match RequestedContact::from_name_addr(addr, header_expires, &self.config) {
                        Ok(c) => requested.push(c),
                        Err(e) => return reply(out, 400, e.reason(), &[]),
                    }
                }
                if let Some(min) = self.too_brief(&requested) {
                    let min = min.to_string();
                    return reply(out, 423, "Interval Too Brief", &[("Min-Expires", &min)]);
                }
                self.update(&target.aor, &request, &requested)
            }
        };
        let changes = match decided {
            Ok(Decision::Changes(changes)) => changes,
            Ok(Decision::Query | Decision::Retransmission) => Vec::new(),
            Err(Refusal::OutOfOrder) => {
                return reply(out, 400, "CSeq out of order for this Call-ID", &[]);
            }
            Err(Refusal::TooManyContacts) => {
                return reply(out, 403, "Too many contacts for this AOR", &[]);
            }
        };
        self.table.apply(&changes);
        let status = self.write_ok(out, msg, source, &target.aor, &request, now);
        Outcome { status, changes }
    }

    /// The Min-Expires to demand when some non-zero expiry is below the minimum.
    fn too_brief(&self, requested: &[RequestedContact<'_>]) -> Option<u32> {
        let min = self.config.min_expires;
        requested
            .iter()
            .any(|c| c.expires != 0 && c.expires < min)
            .then_some(min)
    }

    /// `Contact: *` with `Expires: 0`: remove every binding, subject to the Call-ID/CSeq rule.
    fn unregister_all(&self, aor: &str, req: &Request<'_>) -> Result<Decision, Refusal> {
        let mut changes = Vec::new();
        for b in self.table.live(aor, req.now) {
            match req.ordering(b) {
                Ordering_::Newer => changes.push(removal(b, RemovalReason::Unregistered)),
                Ordering_::Retransmission => return Ok(Decision::Retransmission),
                Ordering_::Stale => return Err(Refusal::OutOfOrder),
            }
        }
        Ok(Decision::Changes(changes))
    }

    /// Adds, refreshes and removes the requested contacts (§10.3 step 7) and enforces `max_contacts`.
    fn update(
        &self,
        aor: &str,
        req: &Request<'_>,
        requested: &[RequestedContact<'_>],
    ) -> Result<Decision, Refusal> {
        // The AOR's bindings as this request leaves them: untouched ones borrowed from the table, written ones
        // pointing at their upsert in `changes` (nothing is cloned that does not change).
        let mut current: Vec<Slot<'_>> = self.table.live(aor, req.now).map(Slot::Kept).collect();
        let mut changes = Vec::new();
        for c in requested {
            let expires = c.expires.min(self.config.max_expires);
            match find_match(current.iter().map(|s| s.get(&changes)), c) {
                Some(i) => {
                    let old = current[i].get(&changes);
                    match req.ordering(old) {
                        Ordering_::Newer => {}
                        Ordering_::Retransmission => return Ok(Decision::Retransmission),
                        Ordering_::Stale => return Err(Refusal::OutOfOrder),
                    }
                    let (old_id, registered_at) = (old.id, old.registered_at);
                    if expires == 0 {
                        changes.push(removal(old, RemovalReason::Unregistered));
                        current.remove(i);
                    } else if !same_uri(old, c) {
                        // The same device (instance) moved to a new contact: the old binding is replaced.
                        changes.push(removal(old, RemovalReason::Replaced));
                        let fresh = req.binding(self.next_id(), c, expires, req.now);
                        current[i] = Slot::Written(changes.len());
                        changes.push(Change::Upsert(fresh));
                    } else {
                        let refreshed = req.binding(old_id, c, expires, registered_at);
                        current[i] = Slot::Written(changes.len());
                        changes.push(Change::Upsert(refreshed));
                    }
                }
                None if expires == 0 => {}
                None => {
                    let fresh = req.binding(self.next_id(), c, expires, req.now);
                    current.push(Slot::Written(changes.len()));
                    changes.push(Change::Upsert(fresh));
                }
            }
        }
        let max = self.config.max_contacts;
        if max > 0 && current.len() > max {
            if self.config.overflow == OverflowPolicy::Reject {
                return Err(Refusal::TooManyContacts);
            }
            let mut evictable: Vec<&Binding> = current
                .iter()
                .filter_map(|s| match s {
                    Slot::Kept(b) => Some(*b),
                    Slot::Written(_) => None,
                })
                .collect();
            evictable.sort_by_key(|b| (b.registered_at, b.id));
            let excess = current.len() - max;
            if evictable.len() < excess {
                return Err(Refusal::TooManyContacts);
            }
            let evicted: Vec<Change> = evictable[..excess]
                .iter()
                .map(|b| removal(b, RemovalReason::Evicted))
                .collect();
            changes.extend(evicted);
        }
        Ok(Decision::Changes(changes))
    }

    fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The 200 listing every current binding with its remaining expiry, plus Date (and Path when supported).
    fn write_ok(
        &self,
        out: &mut Vec<u8>,
        msg: &Message<'_>,
        source: &Source,
        aor: &str,
        req: &Request<'_>,
        wall: SystemTime,
    ) -> u16 {
        let Some(mut w) = start(out, msg, source.remote, 200, "OK") else {
            return 0;
        };
        let now = req.now;
        for b in self.table.live(aor, now) {
            let q = b.q_str();
            w.header_fmt(
                "Contact",
                format_args!(
                    "<{}>{}{}{};expires={}",
                    b.uri,
                    b.params(),
                    if q.is_some() { ";q=" } else { "" },
                    q.as_deref().unwrap_or(""),
                    b.expires_in(now)
                ),
            );
        }
        // RFC 3327 §5.3: echo the request's Path, in order, to a client that supports it.
        let supports_path = msg
            .list_items(HeaderName::Supported)
            .any(|t| t.eq_ignore_ascii_case("path"));
        if supports_path {
            for p in &req.path {
                w.header("Path", p);
            }
        }
        w.header("Date", &date_header(wall));
        w.finish(b"");
        200
    }
}

/// Per-request facts shared by every binding it writes.
struct Request<'m> {
    now: UnixTime,
    aor: Box<str>,
    call_id: &'m str,
    cseq: u32,
    branch_hash: u32,
    source: Source,
    user_agent: Arc<str>,
    path: Box<[Box<str>]>,
}

/// How a request relates to an existing binding under the Call-ID/CSeq rule (§10.3 step 7).
enum Ordering_ {
    /// Other Call-ID, or the same with a higher CSeq: apply.
    Newer,
    /// The very request that last wrote the binding, received again.
    Retransmission,
    /// Same Call-ID with a lower or equal CSeq: the request fails.
    Stale,
}

impl Request<'_> {
    fn ordering(&self, b: &Binding) -> Ordering_ {
        if &*b.call_id != self.call_id || self.cseq > b.cseq {
            Ordering_::Newer
        } else if self.cseq == b.cseq && self.branch_hash == b.branch_hash {
            Ordering_::Retransmission
        } else {
            Ordering_::Stale
        }
    }

    fn binding(
        &self,
        id: u64,
        c: &RequestedContact<'_>,
        expires: u32,
        registered_at: UnixTime,
    ) -> Binding {
        Binding {
            id,
            aor: self.aor.clone(),
            uri: c.addr.raw_uri().into(),
            q: c.q,
            expires_at: self.now.plus(expires),
            registered_at,
            updated_at: self.now,
            call_id: self.call_id.into(),
            cseq: self.cseq,
            branch_hash: self.branch_hash,
            source: self.source,
            user_agent: self.user_agent.clone(),
            extras: ContactExtras {
                params: c.params.as_str().into(),
                path: self.path.clone(),
                instance: c.instance.as_deref().map(Into::into),
                reg_id: c.reg_id,
            }
            .into(),
        }
    }
}

enum Decision {
    Changes(Vec<Change>),
    Query,
    Retransmission,
}

enum Refusal {
    OutOfOrder,
    TooManyContacts,
}

fn removal(b: &Binding, reason: RemovalReason) -> Change {
    Change::Remove {
        id: b.id,
        aor: b.aor.to_string(),
        uri: b.uri.to_string(),
        reason,
    }
}

/// The existing binding a requested contact refers to: same `+sip.instance` (and `reg-id`) when the
/// contact carries an instance, else an equivalent URI (RFC 3261 §19.1.4).
fn find_match<'b>(
    current: impl Iterator<Item = &'b Binding> + Clone,
    c: &RequestedContact<'_>,
) -> Option<usize> {
    if let Some(instance) = &c.instance
        && let Some(i) = current
            .clone()
            .position(|b| b.instance() == Some(instance.as_str()) && b.reg_id() == c.reg_id)
    {
        return Some(i);
    }
    current.into_iter().position(|b| same_uri(b, c))
}

/// One binding of the AOR while a request is being applied.
enum Slot<'t> {
    /// Unchanged, still in the table.
    Kept(&'t Binding),
    /// Written by this request: the upsert at this index of the request's changes.
    Written(usize),
}

impl<'t> Slot<'t> {
    fn get<'s>(&'s self, changes: &'s [Change]) -> &'s Binding
    where
        't: 's,
    {
        match self {
            Self::Kept(b) => b,
            Self::Written(i) => match &changes[*i] {
                Change::Upsert(b) => b,
                Change::Remove { .. } => unreachable!("a written slot always points at an upsert"),
            },
        }
    }
}

fn same_uri(b: &Binding, c: &RequestedContact<'_>) -> bool {
    // A refresh repeats the contact byte for byte; only a different spelling needs the full comparison.
    &*b.uri == c.addr.raw_uri() || Uri::parse(&b.uri).is_ok_and(|u| u.equivalent(&c.addr.uri))
}
