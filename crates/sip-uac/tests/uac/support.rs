//! A virtual clock, a parsed view of what the registration sends, and a scripted trunk that answers it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sip_auth::{
    Algorithm, Credentials, NonceSecret, StoredSecret, Verdict, Verifier, VerifierConfig,
};
use sip_msg::{Limits, Transport};
use sip_uac::{Account, LocalBinding, Registration, Secret, Transmit};

/// The password of [`account`].
pub(crate) const PASSWORD: &str = "s3cret-pw";
/// The trunk's clock for nonces, in Unix seconds.
pub(crate) const UNIX_NOW: u64 = 1_700_000_000;

pub(crate) fn account() -> Account {
    Account {
        id: "trunk1".into(),
        local_user: "alice".into(),
        local_domain: "pbx.local".into(),
        remote_user: "4930123".into(),
        remote_domain: "trunk.example.com".into(),
        realm: None,
        auth_user: String::new(),
        secret: Secret::Password(PASSWORD.into()),
        proxy: None,
        expires: 600,
        enabled: true,
        reg_delay: Duration::ZERO,
        contact_user: "trunk1".into(),
        transport: Transport::Udp,
    }
}

pub(crate) fn binding(transport: Transport) -> LocalBinding {
    LocalBinding {
        transport,
        local: SocketAddr::from(([192, 0, 2, 1], 5060)),
        contact_host: "192.0.2.1:5060".into(),
    }
}

/// A registration on a virtual clock.
pub(crate) struct Harness {
    pub(crate) reg: Registration,
    pub(crate) base: Instant,
    pub(crate) now: Instant,
}

impl Harness {
    /// An account registering over its own transport, no initial spread.
    pub(crate) fn new(account: Account) -> Self {
        let binding = binding(account.transport);
        Self::with(account, binding, Duration::ZERO, 1)
    }

    pub(crate) fn with(
        account: Account,
        binding: LocalBinding,
        spread: Duration,
        seed: u64,
    ) -> Self {
        let base = Instant::now();
        Self {
            reg: Registration::new(account, binding, base, spread, seed),
            base,
            now: base,
        }
    }

    /// Seconds since the start.
    pub(crate) fn elapsed(&self) -> f64 {
        (self.now - self.base).as_secs_f64()
    }

    /// `secs` seconds after the start.
    pub(crate) fn at(&self, secs: f64) -> Instant {
        self.base + Duration::from_secs_f64(secs)
    }

    /// Moves the clock to `t` and runs the timers.
    pub(crate) fn advance_to(&mut self, t: Instant) {
        assert!(t >= self.now, "the clock only goes forward");
        self.now = t;
        self.reg.handle_timeout(t);
    }

    /// Moves the clock to the next timeout and runs it; returns the time in seconds since the start.
    pub(crate) fn fire(&mut self) -> f64 {
        let t = self.reg.poll_timeout().expect("a timeout is pending");
        self.advance_to(t);
        self.elapsed()
    }

    /// The next request sent, which must exist.
    pub(crate) fn sent(&mut self) -> Sent {
        Sent::new(self.reg.poll_transmit().expect("a request was sent"))
    }

    /// Fires timers until a request is sent.
    pub(crate) fn next_request(&mut self) -> Sent {
        loop {
            if let Some(t) = self.reg.poll_transmit() {
                return Sent::new(t);
            }
            self.fire();
        }
    }

    /// Hands `raw` to the registration at the current time.
    pub(crate) fn deliver(&mut self, raw: &[u8]) -> bool {
        let msg = sip_msg::parse(raw, &Limits::default()).expect("a valid response");
        self.reg.handle_response(self.now, &msg)
    }

    /// Answers `request` with `code reason` plus `extra` header lines.
    pub(crate) fn answer(&mut self, request: &Sent, code: u16, reason: &str, extra: &str) -> bool {
        let raw = request.reply(code, reason, extra);
        self.deliver(&raw)
    }

    /// Answers `request` with a 200 that lists its Contact.
    pub(crate) fn accept(&mut self, request: &Sent) {
        let contact = request.header("Contact");
        assert!(self.answer(request, 200, "OK", &format!("Contact: {contact}\r\n")));
    }
}

/// A request the registration sent.
#[derive(Debug)]
pub(crate) struct Sent {
    pub(crate) transmit: Transmit,
}

impl Sent {
    fn new(transmit: Transmit) -> Self {
        sip_msg::parse(&transmit.payload, &Limits::default()).expect("the request parses");
        Self { transmit }
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.transmit.payload).expect("UTF-8")
    }

    pub(crate) fn start_line(&self) -> &str {
        self.text().lines().next().unwrap_or_default()
    }

    /// The value of header `name` ("" when absent).
    pub(crate) fn header(&self, name: &str) -> String {
        let msg = sip_msg::parse(&self.transmit.payload, &Limits::default()).expect("parses");
        msg.header_named(name).unwrap_or_default().to_owned()
    }

    pub(crate) fn has_header(&self, name: &str) -> bool {
        let msg = sip_msg::parse(&self.transmit.payload, &Limits::default()).expect("parses");
        msg.header_named(name).is_some()
    }

    pub(crate) fn cseq(&self) -> u32 {
        let msg = sip_msg::parse(&self.transmit.payload, &Limits::default()).expect("parses");
        msg.cseq().expect("CSeq").seq
    }

    pub(crate) fn branch(&self) -> String {
        let msg = sip_msg::parse(&self.transmit.payload, &Limits::default()).expect("parses");
        let via = msg.top_via().expect("Via");
        via.branch().expect("branch").to_owned()
    }

    pub(crate) fn call_id(&self) -> String {
        self.header("Call-ID")
    }

    /// A response copying Via, From, To (with a tag), Call-ID and CSeq.
    pub(crate) fn reply(&self, code: u16, reason: &str, extra: &str) -> Vec<u8> {
        format!(
            "SIP/2.0 {code} {reason}\r\nVia: {};received=203.0.113.7;rport=40000\r\nFrom: {}\r\nTo: {};tag=trunk\r\n\
             Call-ID: {}\r\nCSeq: {}\r\n{extra}Content-Length: 0\r\n\r\n",
            self.header("Via"),
            self.header("From"),
            self.header("To"),
            self.header("Call-ID"),
            self.header("CSeq"),
        )
        .into_bytes()
    }
}

/// A trunk-side verifier with a fixed secret.
pub(crate) fn verifier() -> Verifier {
    Verifier::new(&NonceSecret::from_bytes([7; 32]), VerifierConfig::default())
}

/// One challenge value for `realm`.
pub(crate) fn challenge(
    verifier: &Verifier,
    realm: &str,
    algorithm: Algorithm,
    stale: bool,
) -> String {
    verifier
        .challenge(realm, UNIX_NOW, stale, &[algorithm])
        .remove(0)
}

/// Verifies the credentials in `header` of `request` against [`PASSWORD`] for `realm`.
pub(crate) fn verify(verifier: &Verifier, request: &Sent, header: &str, realm: &str) -> Verdict {
    let value = request.header(header);
    let creds = Credentials::parse(&value).expect("credentials parse");
    assert_eq!(creds.uri, "sip:trunk.example.com");
    let stored = StoredSecret::from_password(&creds.username, realm, PASSWORD);
    verifier.verify(&creds, "REGISTER", realm, &stored, UNIX_NOW + 1)
}
