//! An in-process SIP registrar on loopback UDP and TCP whose answers a test scripts with a [`Mode`].
//!
//! It keeps no bindings: every REGISTER is recorded ([`Received`]) and answered from the current mode alone, so
//! a test sees exactly what the client under test sent and controls exactly what it gets back.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sip_auth::{Algorithm, Credentials, NonceSecret, StoredSecret, Verdict, Verifier};
use sip_msg::{Contacts, HeaderName, Limits, Message, Method, ResponseWriter, Transport, via_fix};

/// The Contact a [`Mode::RewriteContact`] trunk lists instead of the registered one.
pub(crate) const REWRITTEN_CONTACT: &str = "sip:rewritten@192.0.2.99:5060";

/// How long [`FakeTrunk::send_request`] waits for a final response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the socket threads look at the stop flag.
const POLL: Duration = Duration::from_millis(20);

/// The expiry a REGISTER asks for when it names none (RFC 3261 §10.2.1.1 leaves it to the registrar).
const DEFAULT_EXPIRES: u32 = 3600;

/// How the trunk answers REGISTER requests.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// 200 OK listing each Contact with `;expires=min(asked, grant)`, plus a Date.
    Accept {
        /// The longest expiry granted.
        grant: u32,
    },
    /// Digest authentication in front of [`Mode::Accept`].
    Digest(Digest),
    /// 423 with `Min-Expires: min` when a Contact asks for less than `min` (but not 0), else as [`Mode::Accept`].
    IntervalTooBrief {
        /// The shortest expiry accepted.
        min: u32,
        /// The longest expiry granted.
        grant: u32,
    },
    /// 503 Service Unavailable, with `Retry-After` when given.
    Unavailable {
        /// Seconds for `Retry-After`.
        retry_after: Option<u32>,
    },
    /// Records the request and never answers.
    Silent,
    /// 403 Forbidden.
    Forbidden,
    /// 200 OK listing [`REWRITTEN_CONTACT`] instead of each registered Contact.
    RewriteContact {
        /// The longest expiry granted.
        grant: u32,
    },
}

/// The settings of [`Mode::Digest`].
#[derive(Debug, Clone)]
pub(crate) struct Digest {
    /// The only user known.
    pub(crate) user: String,
    /// Its password.
    pub(crate) password: String,
    /// The realm challenged for.
    pub(crate) realm: String,
    /// The longest expiry granted once authenticated.
    pub(crate) grant: u32,
    /// Challenge with 407 and `Proxy-Authenticate` (and read `Proxy-Authorization`) instead of 401.
    pub(crate) proxy: bool,
    /// Treat a nonce older than this as stale: a correct answer gets a new challenge with `stale=true`.
    pub(crate) stale_after: Option<Duration>,
    /// Answer a wrong password with 403 instead of a new challenge.
    pub(crate) forbid_wrong: bool,
    /// The algorithms offered, one challenge header each (SHA-256 first when both are offered).
    pub(crate) algorithms: Vec<Algorithm>,
}

impl Digest {
    /// `user`/`password` in `realm`, granting up to `grant` seconds: 401, MD5, no staleness, wrong password
    /// challenged again.
    pub(crate) fn new(user: &str, password: &str, realm: &str, grant: u32) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
            realm: realm.into(),
            grant,
            proxy: false,
            stale_after: None,
            forbid_wrong: false,
            algorithms: vec![Algorithm::Md5],
        }
    }
}

/// One REGISTER as the trunk received it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// When it arrived.
    pub(crate) at: Instant,
    /// UDP or TCP.
    pub(crate) transport: Transport,
    /// The sender's address.
    pub(crate) source: SocketAddr,
    /// The Call-ID.
    pub(crate) call_id: String,
    /// The CSeq number.
    pub(crate) cseq: u32,
    /// The Expires header.
    pub(crate) expires: Option<u32>,
    /// The Contact header value(s) as written, comma-joined when repeated.
    pub(crate) contact: Option<String>,
    /// The credentials, when the request carried `Authorization` or `Proxy-Authorization`.
    pub(crate) authorization: Option<Authorization>,
}

/// The credentials of a recorded REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    /// `Authorization` or `Proxy-Authorization`.
    pub(crate) header: &'static str,
    /// The `username` parameter (empty when the value does not parse).
    pub(crate) username: String,
    /// The `realm` parameter (empty when the value does not parse).
    pub(crate) realm: String,
}

/// A running fake trunk; its threads stop when it is dropped.
pub(crate) struct FakeTrunk {
    shared: Arc<Shared>,
    addr: SocketAddr,
    udp: UdpSocket,
    threads: Vec<JoinHandle<()>>,
}

/// State shared between the trunk's handle and its threads.
struct Shared {
    mode: Mutex<Mode>,
    seen: Mutex<Vec<Received>>,
    seen_changed: Condvar,
    responses: Mutex<Vec<String>>,
    responses_changed: Condvar,
    connections: Mutex<Vec<TcpStream>>,
    connection_threads: Mutex<Vec<JoinHandle<()>>>,
    accepted: AtomicUsize,
    verifier: Verifier,
    nonces: Mutex<HashMap<String, Instant>>,
    to_tag: String,
    stop: AtomicBool,
}

/// Locks `m`, ignoring poisoning: a panicking test thread must not hide the trunk's state from the others.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FakeTrunk {
    /// Starts a trunk answering as `mode` on 127.0.0.1, UDP and TCP on the same free port.
    pub(crate) fn start(mode: Mode) -> Self {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()) {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        udp.set_read_timeout(Some(POLL)).unwrap();
        tcp.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            seen: Mutex::default(),
            seen_changed: Condvar::new(),
            responses: Mutex::default(),
            responses_changed: Condvar::new(),
            connections: Mutex::default(),
            connection_threads: Mutex::default(),
            accepted: AtomicUsize::new(0),
            verifier: Verifier::new(&NonceSecret::random(), Default::default()),
            nonces: Mutex::default(),
            to_tag: format!("trunk{}", addr.port()),
            stop: AtomicBool::new(false),
        });
        let threads = vec![
            {
                let shared = Arc::clone(&shared);
                let udp = udp.try_clone().unwrap();
                std::thread::spawn(move || serve_udp(&shared, &udp))
            },
            {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || accept_tcp(&shared, &tcp))
            },
        ];
        Self {
            shared,
            addr,
            udp,
            threads,
        }
    }

    /// The address, for UDP and TCP.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes how later requests are answered.
    pub(crate) fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    /// Every REGISTER received so far, oldest first.
    pub(crate) fn received(&self) -> Vec<Received> {
        lock(&self.shared.seen).clone()
    }

    /// Waits until at least `n` REGISTERs have been received or `timeout` has passed; returns them all.
    pub(crate) fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let seen = lock(&self.shared.seen);
        let (seen, _) = self
            .shared
            .seen_changed
            .wait_timeout_while(seen, timeout, |seen| seen.len() < n)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.clone()
    }

    /// Sends the request `raw` over UDP from the trunk's socket to `to`, and returns the first final response
    /// with the same Call-ID and CSeq that arrives within 5 s.
    ///
    /// `raw` is sent as written: its top Via should name [`FakeTrunk::addr`] over UDP.
    pub(crate) fn send_request(&self, to: SocketAddr, raw: &str) -> Option<String> {
        let request = sip_msg::parse(raw.as_bytes(), &Limits::default()).ok()?;
        let call_id = request.call_id().ok()?;
        let cseq = request.cseq().ok()?;
        self.udp.send_to(raw.as_bytes(), to).ok()?;
        let answers = |text: &String| {
            sip_msg::parse(text.as_bytes(), &Limits::default()).is_ok_and(|response| {
                response.status().is_some_and(|(code, _)| code >= 200)
                    && response.call_id() == Ok(call_id)
                    && response.cseq() == Ok(cseq)
            })
        };
        let responses = lock(&self.shared.responses);
        let (mut responses, _) = self
            .shared
            .responses_changed
            .wait_timeout_while(responses, REQUEST_TIMEOUT, |r| !r.iter().any(answers))
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let at = responses.iter().position(answers)?;
        Some(responses.remove(at))
    }

    /// How many TCP connections the trunk has accepted so far.
    pub(crate) fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Closes every open TCP connection (as a trunk restarting or a NAT timing out would).
    pub(crate) fn drop_connections(&self) {
        for stream in lock(&self.shared.connections).drain(..) {
            // Fails harmlessly when the peer has already closed it.
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for FakeTrunk {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.drop_connections();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        let connection_threads = std::mem::take(&mut *lock(&self.shared.connection_threads));
        for thread in connection_threads {
            let _ = thread.join();
        }
    }
}

/// Receives datagrams until stopped: requests are answered to their source, responses kept for `send_request`.
fn serve_udp(shared: &Shared, socket: &UdpSocket) {
    let mut buf = vec![0; 65_535];
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok((len, source)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Ok(msg) = sip_msg::parse(&buf[..len], &Limits::default()) else {
            continue;
        };
        if msg.is_request() {
            if let Some(reply) = shared.answer(&msg, source, Transport::Udp) {
                let _ = socket.send_to(&reply, source);
            }
        } else {
            lock(&shared.responses).push(String::from_utf8_lossy(&buf[..len]).into_owned());
            shared.responses_changed.notify_all();
        }
    }
}

/// Accepts TCP connections until stopped, one reader thread each.
fn accept_tcp(shared: &Arc<Shared>, listener: &TcpListener) {
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok((stream, peer)) = listener.accept() else {
            std::thread::sleep(POLL);
            continue;
        };
        if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(POLL)).is_err() {
            continue;
        }
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        lock(&shared.connections).push(handle);
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let thread = {
            let shared = Arc::clone(shared);
            std::thread::spawn(move || serve_tcp(&shared, stream, peer))
        };
        lock(&shared.connection_threads).push(thread);
    }
}

/// Reads one connection until it closes or the trunk stops, answering each framed request on it.
fn serve_tcp(shared: &Shared, mut stream: TcpStream, peer: SocketAddr) {
    let mut buf = Vec::new();
    let mut chunk = [0; 8192];
    while !shared.stop.load(Ordering::SeqCst) {
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        }
        loop {
            match next_frame(&mut buf) {
                Frame::Incomplete => break,
                Frame::Broken => return,
                Frame::Ping => {
                    if stream.write_all(b"\r\n").is_err() {
                        return;
                    }
                }
                Frame::Message(bytes) => {
                    let Ok(msg) = sip_msg::parse(&bytes, &Limits::default()) else {
                        return;
                    };
                    if let Some(reply) = msg
                        .is_request()
                        .then(|| shared.answer(&msg, peer, Transport::Tcp))
                        .flatten()
                        && stream.write_all(&reply).is_err()
                    {
                        return;
                    }
                }
            }
        }
    }
}

/// What [`next_frame`] found at the start of a stream buffer.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// More bytes are needed.
    Incomplete,
    /// A double-CRLF keepalive ping (RFC 5626 §4.4.1), to be answered with one CRLF.
    Ping,
    /// One whole message, head and Content-Length body.
    Message(Vec<u8>),
    /// A head without a valid Content-Length: the stream cannot be framed.
    Broken,
}

/// Takes the next frame off the front of `buf`; a single leading CRLF (a pong, or padding) is skipped.
fn next_frame(buf: &mut Vec<u8>) -> Frame {
    loop {
        if buf.starts_with(b"\r\n\r\n") {
            buf.drain(..4);
            return Frame::Ping;
        }
        if buf.starts_with(b"\r\n") && buf.get(2).is_some_and(|&b| b != b'\r') {
            buf.drain(..2);
            continue;
        }
        break;
    }
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Frame::Incomplete;
    };
    let head = &buf[..head_end];
    let Some(body_len) = content_length(head) else {
        return Frame::Broken;
    };
    let total = head_end + 4 + body_len;
    if buf.len() < total {
        return Frame::Incomplete;
    }
    Frame::Message(buf.drain(..total).collect())
}

/// The Content-Length (or `l`) of a message head; 0 when absent, `None` when not a number.
fn content_length(head: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(head).ok()?;
    let value = head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l"))
            .then_some(value)
    });
    value.map_or(Some(0), |v| v.trim().parse().ok())
}

impl Shared {
    /// The reply to a request from `source`, if any: REGISTER as the mode says, OPTIONS 200, others nothing.
    fn answer(
        &self,
        msg: &Message<'_>,
        source: SocketAddr,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let reply = Reply::new(msg, source, &self.to_tag)?;
        match msg.method()? {
            Method::Register => {}
            Method::Options => return Some(reply.finish(200, "OK", |_| {})),
            _ => return None,
        }
        self.record(msg, source, transport)?;
        let mode = lock(&self.mode).clone();
        match mode {
            Mode::Accept { grant } => Some(accept(&reply, msg, grant, false)),
            Mode::Digest(digest) => Some(self.digest(&reply, msg, &digest)),
            Mode::IntervalTooBrief { min, grant } => {
                let asked = asked_expiries(msg)?;
                if asked.iter().any(|&(_, e)| e != 0 && e < min) {
                    Some(reply.finish(423, "Interval Too Brief", |w| {
                        w.header_fmt("Min-Expires", format_args!("{min}"));
                    }))
                } else {
                    Some(accept(&reply, msg, grant, false))
                }
            }
            Mode::Unavailable { retry_after } => {
                Some(reply.finish(503, "Service Unavailable", |w| {
                    if let Some(seconds) = retry_after {
                        w.header_fmt("Retry-After", format_args!("{seconds}"));
                    }
                }))
            }
            Mode::Silent => None,
            Mode::Forbidden => Some(reply.finish(403, "Forbidden", |_| {})),
            Mode::RewriteContact { grant } => Some(accept(&reply, msg, grant, true)),
        }
    }

    /// Records a REGISTER; `None` when its Call-ID or CSeq does not parse.
    fn record(&self, msg: &Message<'_>, source: SocketAddr, transport: Transport) -> Option<()> {
        let authorization = [HeaderName::Authorization, HeaderName::ProxyAuthorization]
            .into_iter()
            .find_map(|name| Some((name, msg.header(name)?)))
            .map(|(name, value)| {
                let creds = Credentials::parse(value).ok();
                Authorization {
                    header: name.as_str(),
                    username: creds
                        .as_ref()
                        .map(|c| c.username.to_string())
                        .unwrap_or_default(),
                    realm: creds
                        .as_ref()
                        .map(|c| c.realm.to_string())
                        .unwrap_or_default(),
                }
            });
        let contact: Vec<&str> = msg.header_values(HeaderName::Contact).collect();
        let received = Received {
            at: Instant::now(),
            transport,
            source,
            call_id: msg.call_id().ok()?.to_owned(),
            cseq: msg.cseq().ok()?.seq,
            expires: msg.expires().ok().flatten(),
            contact: (!contact.is_empty()).then(|| contact.join(", ")),
            authorization,
        };
        lock(&self.seen).push(received);
        self.seen_changed.notify_all();
        Some(())
    }

    /// Answers a REGISTER under [`Mode::Digest`].
    fn digest(&self, reply: &Reply<'_, '_>, msg: &Message<'_>, d: &Digest) -> Vec<u8> {
        let header = if d.proxy {
            HeaderName::ProxyAuthorization
        } else {
            HeaderName::Authorization
        };
        let Some(creds) = msg.header(header).and_then(|v| Credentials::parse(v).ok()) else {
            return self.challenge(reply, d, false);
        };
        let stored = if creds.username == d.user {
            StoredSecret::from_password(&d.user, &d.realm, &d.password)
        } else {
            StoredSecret::dummy()
        };
        let issued = lock(&self.nonces).get(creds.nonce.as_ref()).copied();
        let too_old = d
            .stale_after
            .zip(issued)
            .is_some_and(|(limit, at)| at.elapsed() > limit);
        match self
            .verifier
            .verify(&creds, "REGISTER", &d.realm, &stored, unix_now())
        {
            Verdict::Ok if !too_old => accept(reply, msg, d.grant, false),
            Verdict::Ok | Verdict::Stale => self.challenge(reply, d, true),
            Verdict::WrongResponse if d.forbid_wrong => reply.finish(403, "Forbidden", |_| {}),
            _ => self.challenge(reply, d, false),
        }
    }

    /// A 401 (or 407) with a fresh nonce, one challenge per offered algorithm.
    fn challenge(&self, reply: &Reply<'_, '_>, d: &Digest, stale: bool) -> Vec<u8> {
        let nonce = self.verifier.issue_nonce(&d.realm, unix_now());
        lock(&self.nonces).insert(nonce.to_string(), Instant::now());
        let mut algorithms = d.algorithms.clone();
        algorithms.sort_by_key(|a| *a != Algorithm::Sha256);
        let (code, reason, name) = if d.proxy {
            (407, "Proxy Authentication Required", "Proxy-Authenticate")
        } else {
            (401, "Unauthorized", "WWW-Authenticate")
        };
        reply.finish(code, reason, |w| {
            for algorithm in algorithms {
                let mut value = String::new();
                // Writing into a String cannot fail.
                let _ = self
                    .verifier
                    .write_challenge(&mut value, &d.realm, &nonce, algorithm, stale);
                w.header(name, &value);
            }
        })
    }
}

/// What every reply to one request shares: the request, its Via fix and the To tag.
struct Reply<'m, 'a> {
    msg: &'m Message<'a>,
    fix: sip_msg::ViaFix,
    to_tag: &'m str,
}

impl<'m, 'a> Reply<'m, 'a> {
    /// `None` when the request has no usable top Via.
    fn new(msg: &'m Message<'a>, source: SocketAddr, to_tag: &'m str) -> Option<Self> {
        let fix = via_fix(&msg.top_via().ok()?, source);
        Some(Self { msg, fix, to_tag })
    }

    /// The response `code reason`: Via (with received/rport), From, To (tagged), Call-ID, CSeq, the headers
    /// `extra` adds, and `Content-Length: 0`.
    fn finish(
        &self,
        code: u16,
        reason: &str,
        extra: impl FnOnce(&mut ResponseWriter<'_>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = ResponseWriter::new(
            &mut out,
            self.msg,
            code,
            reason,
            &self.fix,
            Some(self.to_tag),
        );
        extra(&mut writer);
        writer.finish(b"");
        out
    }
}

/// Each Contact with the expiry it asks for: its `expires` parameter, else the Expires header, else 3600.
/// `Contact: *` asks for nothing; `None` when the Contact or Expires header does not parse.
fn asked_expiries<'a>(msg: &Message<'a>) -> Option<Vec<(sip_msg::NameAddr<'a>, u32)>> {
    let default = msg.expires().ok()?.unwrap_or(DEFAULT_EXPIRES);
    let Contacts::List(list) = msg.contacts().ok()? else {
        return Some(Vec::new());
    };
    Some(
        list.into_iter()
            .map(|contact| {
                let asked = contact
                    .params
                    .get("expires")
                    .flatten()
                    .and_then(sip_msg::delta_seconds)
                    .unwrap_or(default);
                (contact, asked)
            })
            .collect(),
    )
}

/// A 200 OK listing each Contact that asked for a non-zero expiry with `;expires=min(asked, grant)` (or
/// [`REWRITTEN_CONTACT`] in its place when `rewrite`), plus a Date; 400 when Contact or Expires does not parse.
fn accept(reply: &Reply<'_, '_>, msg: &Message<'_>, grant: u32, rewrite: bool) -> Vec<u8> {
    let Some(asked) = asked_expiries(msg) else {
        return reply.finish(400, "Bad Request", |_| {});
    };
    reply.finish(200, "OK", |w| {
        for (contact, asked) in asked.into_iter().filter(|&(_, asked)| asked > 0) {
            let expires = asked.min(grant);
            if rewrite {
                w.header_fmt(
                    "Contact",
                    format_args!("<{REWRITTEN_CONTACT}>;expires={expires}"),
                );
            } else {
                let params: String = contact
                    .params
                    .raw()
                    .split(';')
                    .filter(|p| {
                        let name = p.split('=').next().unwrap_or_default().trim();
                        !name.is_empty() && !name.eq_ignore_ascii_case("expires")
                    })
                    .map(|p| format!(";{p}"))
                    .collect();
                w.header_fmt(
                    "Contact",
                    format_args!("<{}>{params};expires={expires}", contact.raw_uri()),
                );
            }
        }
        w.header("Date", &http_date(SystemTime::now()));
    })
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `t` in the RFC 1123 form a SIP Date header uses: `Tue, 14 Nov 2023 22:13:20 GMT`.
fn http_date(t: SystemTime) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, time) = (secs / 86_400, secs % 86_400);
    // Civil date from a day count (proleptic Gregorian calendar, eras of 400 years from 0000-03-01).
    let z = days + 719_468;
    let (era, day_of_era) = (z / 146_097, z % 146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = (shifted_month + 2) % 12;
    let year = era * 400 + year_of_era + u64::from(month < 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[month as usize],
        time / 3600,
        time / 60 % 60,
        time % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_formats_known_instants() {
        let at = |secs| http_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(at(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
        // A leap day, and the last second of a year.
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(at(1_735_689_599), "Tue, 31 Dec 2024 23:59:59 GMT");
    }

    #[test]
    fn frames_are_cut_by_content_length_and_pings_recognised() {
        let mut buf = b"\r\n\r\nOPTIONS sip:x SIP/2.0\r\nl: 3\r\n\r\nabcREG".to_vec();
        assert_eq!(next_frame(&mut buf), Frame::Ping);
        assert_eq!(
            next_frame(&mut buf),
            Frame::Message(b"OPTIONS sip:x SIP/2.0\r\nl: 3\r\n\r\nabc".to_vec())
        );
        assert_eq!(next_frame(&mut buf), Frame::Incomplete);
        assert_eq!(buf, b"REG");
        let mut partial = b"A\r\nContent-Length: 5\r\n\r\nab".to_vec();
        assert_eq!(next_frame(&mut partial), Frame::Incomplete);
        let mut broken = b"A\r\nContent-Length: x\r\n\r\n".to_vec();
        assert_eq!(next_frame(&mut broken), Frame::Broken);
    }
}
