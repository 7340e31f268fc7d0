//! The trunks lamppost registers to in other tests, checked here with handwritten REGISTERs over raw sockets.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use sip_auth::{Algorithm, Challenge, ClientSecret, respond};
use sip_msg::{HeaderName, Limits, Message, ResponseWriter, Transport, via_fix};

use crate::trunk::fake::{Digest, FakeTrunk, Mode, REWRITTEN_CONTACT};
use crate::trunk::kamailio::KamailioTrunk;

const USER_AGENT: &str = "lamppost-selftest";

/// A SIP user agent on a loopback UDP socket.
struct Ua {
    socket: UdpSocket,
    addr: SocketAddr,
}

impl Ua {
    fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        Self { socket, addr }
    }

    /// The next datagram and its source, within `wait`.
    fn recv(&self, wait: Duration) -> Option<(String, SocketAddr)> {
        self.socket.set_read_timeout(Some(wait)).unwrap();
        let mut buf = vec![0; 65_535];
        let (len, source) = self.socket.recv_from(&mut buf).ok()?;
        Some((String::from_utf8_lossy(&buf[..len]).into_owned(), source))
    }

    /// Sends `text` to `to` and returns the answer; panics when none comes within 2 s.
    fn request(&self, to: SocketAddr, text: &str) -> String {
        self.socket.send_to(text.as_bytes(), to).unwrap();
        let (answer, source) = self
            .recv(Duration::from_secs(2))
            .unwrap_or_else(|| panic!("no answer from {to} to:\n{text}"));
        assert_eq!(source, to);
        answer
    }

    /// Answers `request` (received from `source`) with `code reason`.
    fn reply(&self, request: &str, source: SocketAddr, code: u16, reason: &str) {
        let msg = parse(request);
        let mut out = Vec::new();
        let fix = via_fix(&msg.top_via().unwrap(), source);
        ResponseWriter::new(&mut out, &msg, code, reason, &fix, Some("ua")).finish(b"");
        self.socket.send_to(&out, source).unwrap();
    }
}

/// A REGISTER to write by hand.
struct Register<'a> {
    user: &'a str,
    domain: &'a str,
    call_id: &'a str,
    cseq: u32,
    contact: Option<String>,
    expires: Option<u32>,
    /// Header name and value of the credentials.
    authorization: Option<(&'a str, String)>,
}

impl<'a> Register<'a> {
    fn new(user: &'a str, domain: &'a str, call_id: &'a str, cseq: u32) -> Self {
        Self {
            user,
            domain,
            call_id,
            cseq,
            contact: None,
            expires: None,
            authorization: None,
        }
    }

    /// The request as sent from `local` over `transport`.
    fn text(&self, local: SocketAddr, transport: Transport) -> String {
        let mut text = format!(
            "REGISTER sip:{domain} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch=z9hG4bK-{call_id}-{cseq};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{domain}>;tag=self\r\n\
             To: <sip:{user}@{domain}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             User-Agent: {USER_AGENT}\r\n",
            domain = self.domain,
            user = self.user,
            call_id = self.call_id,
            cseq = self.cseq,
            transport = transport.as_str(),
        );
        if let Some(contact) = &self.contact {
            text.push_str(&format!("Contact: {contact}\r\n"));
        }
        if let Some(expires) = self.expires {
            text.push_str(&format!("Expires: {expires}\r\n"));
        }
        if let Some((name, value)) = &self.authorization {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        text
    }
}

fn parse(text: &str) -> Message<'_> {
    sip_msg::parse(text.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}:\n{text}"))
}

fn code(text: &str) -> u16 {
    parse(text)
        .status()
        .unwrap_or_else(|| panic!("not a response:\n{text}"))
        .0
}

fn headers(text: &str, name: HeaderName) -> Vec<&str> {
    parse(text).header_values(name).collect()
}

/// The credentials answering the `index`th challenge in `response`'s `challenge_header` for a REGISTER to
/// `sip:domain`, with nonce count `nc`.
fn answer(
    response: &str,
    challenge_header: HeaderName,
    index: usize,
    user: &str,
    password: &str,
    domain: &str,
    nc: u32,
) -> String {
    let value = headers(response, challenge_header)[index];
    let challenge = Challenge::parse(value).unwrap();
    let uri = format!("sip:{domain}");
    respond(
        &challenge,
        "REGISTER",
        &uri,
        user,
        ClientSecret::Password(password),
        "0a4f113b",
        nc,
    )
    .unwrap()
}

/// Whether a Date value has the RFC 1123 shape (`Tue, 14 Nov 2023 22:13:20 GMT`).
fn is_rfc1123(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 29
        && date[..3].chars().all(|c| c.is_ascii_alphabetic())
        && &date[3..5] == ", "
        && date.ends_with(" GMT")
        && [5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

#[test]
fn fake_trunk_accept_grants_the_shorter_expiry_and_records_each_register() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let ua = Ua::new();
    let contact = format!("<sip:alice@{}>;+sip.instance=\"<urn:uuid:1>\"", ua.addr);
    let started = Instant::now();

    let mut register = Register::new("alice", "trunk.test", "accept-1", 1);
    register.contact = Some(contact.clone());
    register.expires = Some(3600);
    let ok = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&ok), 200, "{ok}");
    assert_eq!(
        headers(&ok, HeaderName::Contact),
        [format!("{contact};expires=300")],
        "{ok}"
    );
    let msg = parse(&ok);
    assert_eq!(msg.top_via().unwrap().received(), Some("127.0.0.1"), "{ok}");
    assert_eq!(
        msg.top_via().unwrap().rport(),
        Some(Some(ua.addr.port())),
        "{ok}"
    );
    assert!(msg.to().unwrap().tag().is_some(), "{ok}");
    assert_eq!(msg.call_id().unwrap(), "accept-1");
    assert_eq!(msg.cseq().unwrap().seq, 1);
    assert_eq!(msg.header(HeaderName::ContentLength), Some("0"));
    let date = msg.header_named("Date").unwrap_or_default();
    assert!(is_rfc1123(date), "{ok}");

    // A shorter expiry in the Contact parameter is granted as asked.
    register.cseq = 2;
    register.contact = Some(format!("<sip:alice@{}>;expires=60", ua.addr));
    register.expires = None;
    let ok = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(
        headers(&ok, HeaderName::Contact),
        [format!("<sip:alice@{}>;expires=60", ua.addr)]
    );

    // Expires 0 removes: the 200 lists nothing.
    register.cseq = 3;
    register.contact = Some(format!("<sip:alice@{}>", ua.addr));
    register.expires = Some(0);
    let ok = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&ok), 200, "{ok}");
    assert!(headers(&ok, HeaderName::Contact).is_empty(), "{ok}");

    let seen = trunk.wait_for(3, Duration::from_secs(1));
    assert_eq!(seen.len(), 3);
    assert_eq!(trunk.received().len(), 3);
    for (i, r) in seen.iter().enumerate() {
        assert_eq!(r.transport, Transport::Udp);
        assert_eq!(r.source, ua.addr);
        assert_eq!(r.call_id, "accept-1");
        assert_eq!(r.cseq as usize, i + 1);
        assert!(r.authorization.is_none());
        assert!(r.at >= started && r.at <= Instant::now());
    }
    assert!(seen[0].at <= seen[1].at && seen[1].at <= seen[2].at);
    assert_eq!(
        seen.iter().map(|r| r.expires).collect::<Vec<_>>(),
        [Some(3600), None, Some(0)]
    );
    assert_eq!(seen[0].contact.as_deref(), Some(contact.as_str()));
}

#[test]
fn fake_trunk_digest_challenges_accepts_the_password_and_rejects_a_wrong_one() {
    let digest = Digest {
        algorithms: vec![Algorithm::Md5, Algorithm::Sha256],
        ..Digest::new("alice", "pw", "trunk.test", 120)
    };
    let trunk = FakeTrunk::start(Mode::Digest(digest.clone()));
    let ua = Ua::new();
    let mut register = Register::new("alice", "trunk.test", "digest-1", 1);
    register.contact = Some(format!("<sip:alice@{}>", ua.addr));

    let challenge = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&challenge), 401, "{challenge}");
    let offered = headers(&challenge, HeaderName::WwwAuthenticate);
    assert_eq!(offered.len(), 2, "{challenge}");
    // SHA-256 is offered first (RFC 8760 §2.4), both with qop=auth in the trunk's realm.
    for (value, algorithm) in offered.iter().zip([Algorithm::Sha256, Algorithm::Md5]) {
        let parsed = Challenge::parse(value).unwrap();
        assert_eq!(parsed.algorithm, algorithm);
        assert_eq!(parsed.realm, "trunk.test");
        assert!(parsed.qop.is_some_and(|q| q.auth) && !parsed.stale);
    }

    // The right password answering the SHA-256 challenge: 200 with the granted expiry.
    register.cseq = 2;
    register.authorization = Some((
        "Authorization",
        answer(
            &challenge,
            HeaderName::WwwAuthenticate,
            0,
            "alice",
            "pw",
            "trunk.test",
            1,
        ),
    ));
    let ok = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&ok), 200, "{ok}");
    assert_eq!(
        headers(&ok, HeaderName::Contact),
        [format!("<sip:alice@{}>;expires=120", ua.addr)]
    );

    // A wrong password is challenged again, or forbidden when so configured.
    register.cseq = 3;
    register.authorization = Some((
        "Authorization",
        answer(
            &challenge,
            HeaderName::WwwAuthenticate,
            1,
            "alice",
            "nope",
            "trunk.test",
            1,
        ),
    ));
    let again = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&again), 401, "{again}");
    trunk.set_mode(Mode::Digest(Digest {
        forbid_wrong: true,
        ..digest
    }));
    register.cseq = 4;
    register.authorization = Some((
        "Authorization",
        answer(
            &again,
            HeaderName::WwwAuthenticate,
            1,
            "alice",
            "nope",
            "trunk.test",
            1,
        ),
    ));
    let forbidden = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&forbidden), 403, "{forbidden}");

    let seen = trunk.wait_for(4, Duration::from_secs(1));
    assert!(seen[0].authorization.is_none());
    for r in &seen[1..] {
        let auth = r.authorization.as_ref().unwrap();
        assert_eq!(
            (auth.header, auth.username.as_str(), auth.realm.as_str()),
            ("Authorization", "alice", "trunk.test")
        );
    }
}

#[test]
fn fake_trunk_proxy_digest_uses_407_and_marks_old_nonces_stale() {
    let trunk = FakeTrunk::start(Mode::Digest(Digest {
        proxy: true,
        stale_after: Some(Duration::from_millis(300)),
        ..Digest::new("alice", "pw", "trunk.test", 600)
    }));
    let ua = Ua::new();
    let mut register = Register::new("alice", "trunk.test", "proxy-1", 1);
    register.contact = Some(format!("<sip:alice@{}>", ua.addr));
    let challenge = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&challenge), 407, "{challenge}");
    assert!(headers(&challenge, HeaderName::WwwAuthenticate).is_empty());
    // Credentials in Authorization do not answer a proxy challenge.
    register.cseq = 2;
    register.authorization = Some((
        "Authorization",
        answer(
            &challenge,
            HeaderName::ProxyAuthenticate,
            0,
            "alice",
            "pw",
            "trunk.test",
            1,
        ),
    ));
    let wrong_header = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&wrong_header), 407, "{wrong_header}");

    register.cseq = 3;
    register.authorization = Some((
        "Proxy-Authorization",
        answer(
            &challenge,
            HeaderName::ProxyAuthenticate,
            0,
            "alice",
            "pw",
            "trunk.test",
            1,
        ),
    ));
    let ok = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&ok), 200, "{ok}");

    // The same nonce once older than 300 ms: right digest, but stale.
    std::thread::sleep(Duration::from_millis(400));
    register.cseq = 4;
    register.authorization = Some((
        "Proxy-Authorization",
        answer(
            &challenge,
            HeaderName::ProxyAuthenticate,
            0,
            "alice",
            "pw",
            "trunk.test",
            2,
        ),
    ));
    let stale = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&stale), 407, "{stale}");
    let fresh = headers(&stale, HeaderName::ProxyAuthenticate)[0];
    assert!(Challenge::parse(fresh).unwrap().stale, "{stale}");
    register.cseq = 5;
    register.authorization = Some((
        "Proxy-Authorization",
        answer(
            &stale,
            HeaderName::ProxyAuthenticate,
            0,
            "alice",
            "pw",
            "trunk.test",
            1,
        ),
    ));
    let ok = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&ok), 200, "{ok}");
    let last = trunk.received().pop().unwrap().authorization.unwrap();
    assert_eq!(last.header, "Proxy-Authorization");
}

#[test]
fn fake_trunk_asks_for_a_longer_interval_with_423() {
    let trunk = FakeTrunk::start(Mode::IntervalTooBrief {
        min: 600,
        grant: 1800,
    });
    let ua = Ua::new();
    let contact = format!("<sip:alice@{}>", ua.addr);
    let mut register = Register::new("alice", "trunk.test", "brief-1", 1);
    register.contact = Some(contact.clone());
    for (cseq, (asked, expect)) in [(60, None), (900, Some(900)), (3600, Some(1800)), (0, None)]
        .into_iter()
        .enumerate()
    {
        register.cseq = cseq as u32 + 1;
        register.expires = Some(asked);
        let answer = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
        if asked == 60 {
            assert_eq!(code(&answer), 423, "{answer}");
            assert_eq!(
                headers(&answer, HeaderName::MinExpires),
                ["600"],
                "{answer}"
            );
        } else {
            assert_eq!(code(&answer), 200, "{answer}");
            let listed: Vec<String> = expect
                .iter()
                .map(|e| format!("{contact};expires={e}"))
                .collect();
            assert_eq!(headers(&answer, HeaderName::Contact), listed, "{answer}");
        }
    }
}

#[test]
fn fake_trunk_unavailable_sends_503_with_and_without_retry_after() {
    let trunk = FakeTrunk::start(Mode::Unavailable {
        retry_after: Some(30),
    });
    let ua = Ua::new();
    let mut register = Register::new("alice", "trunk.test", "busy-1", 1);
    let busy = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&busy), 503, "{busy}");
    assert_eq!(
        parse(&busy).header_named("Retry-After"),
        Some("30"),
        "{busy}"
    );
    trunk.set_mode(Mode::Unavailable { retry_after: None });
    register.cseq = 2;
    let busy = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&busy), 503, "{busy}");
    assert_eq!(parse(&busy).header_named("Retry-After"), None, "{busy}");
}

#[test]
fn fake_trunk_silent_records_but_never_answers_then_forbidden_sends_403() {
    let trunk = FakeTrunk::start(Mode::Silent);
    let ua = Ua::new();
    let mut register = Register::new("alice", "trunk.test", "silent-1", 1);
    ua.socket
        .send_to(
            register.text(ua.addr, Transport::Udp).as_bytes(),
            trunk.addr(),
        )
        .unwrap();
    assert_eq!(trunk.wait_for(1, Duration::from_secs(1)).len(), 1);
    assert_eq!(ua.recv(Duration::from_millis(300)), None);

    trunk.set_mode(Mode::Forbidden);
    register.cseq = 2;
    let forbidden = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&forbidden), 403, "{forbidden}");
}

#[test]
fn fake_trunk_rewrite_contact_lists_another_contact() {
    let trunk = FakeTrunk::start(Mode::RewriteContact { grant: 90 });
    let ua = Ua::new();
    let mut register = Register::new("alice", "trunk.test", "rewrite-1", 1);
    register.contact = Some(format!("<sip:alice@{}>", ua.addr));
    let ok = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&ok), 200, "{ok}");
    assert_eq!(
        headers(&ok, HeaderName::Contact),
        [format!("<{REWRITTEN_CONTACT}>;expires=90")],
        "{ok}"
    );
}

/// Reads one response (head plus `Content-Length: 0`) from `stream`.
fn read_response(stream: &mut TcpStream) -> String {
    let mut text = Vec::new();
    let mut byte = [0];
    while !text.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "closed after {:?}",
            String::from_utf8_lossy(&text)
        );
        text.push(byte[0]);
    }
    String::from_utf8(text).unwrap()
}

#[test]
fn fake_trunk_serves_tcp_frames_pings_and_drops_connections() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let mut stream = TcpStream::connect(trunk.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let local = stream.local_addr().unwrap();

    // A keepalive ping gets its pong.
    stream.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0; 2];
    stream.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");

    // A REGISTER split over two writes is framed whole and answered on the connection.
    let mut register = Register::new("alice", "trunk.test", "tcp-1", 1);
    register.contact = Some(format!("<sip:alice@{local};transport=tcp>"));
    let text = register.text(local, Transport::Tcp);
    let (first, second) = text.split_at(text.len() / 2);
    stream.write_all(first.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    stream.write_all(second.as_bytes()).unwrap();
    let ok = read_response(&mut stream);
    assert_eq!(code(&ok), 200, "{ok}");
    assert_eq!(
        headers(&ok, HeaderName::Contact),
        [format!("<sip:alice@{local};transport=tcp>;expires=300")]
    );
    let seen = trunk.wait_for(1, Duration::from_secs(1));
    assert_eq!((seen[0].transport, seen[0].source), (Transport::Tcp, local));
    assert_eq!(trunk.connections(), 1);

    // The trunk closes it.
    trunk.drop_connections();
    let closed = stream.read(&mut [0; 16]);
    assert!(
        matches!(closed, Ok(0))
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
        "{closed:?}"
    );
}

#[test]
fn fake_trunk_sends_requests_and_answers_options() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let ua = Ua::new();
    let options = format!(
        "OPTIONS sip:alice@{ua} SIP/2.0\r\nVia: SIP/2.0/UDP {trunk};branch=z9hG4bK-opt-1\r\nMax-Forwards: 70\r\n\
         From: <sip:trunk@trunk.test>;tag=t\r\nTo: <sip:alice@{ua}>\r\nCall-ID: opt-1\r\nCSeq: 7 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n",
        ua = ua.addr,
        trunk = trunk.addr(),
    );
    let answer = std::thread::scope(|s| {
        let sent = s.spawn(|| trunk.send_request(ua.addr, &options));
        let (request, source) = ua.recv(Duration::from_secs(2)).unwrap();
        assert_eq!(source, trunk.addr());
        assert!(request.starts_with("OPTIONS sip:alice@"), "{request}");
        // A provisional response is not what the trunk waits for.
        ua.reply(&request, source, 100, "Trying");
        ua.reply(&request, source, 200, "OK");
        sent.join().unwrap()
    });
    let answer = answer.unwrap();
    assert_eq!(code(&answer), 200, "{answer}");
    assert_eq!(parse(&answer).call_id().unwrap(), "opt-1");

    // The trunk itself answers OPTIONS with 200 and records only REGISTERs.
    let probe = options.replace(
        &format!("SIP/2.0/UDP {}", trunk.addr()),
        &format!("SIP/2.0/UDP {}", ua.addr),
    );
    let ok = ua.request(trunk.addr(), &probe);
    assert_eq!(code(&ok), 200, "{ok}");
    assert!(trunk.received().is_empty());
}

/// Registers `user` (password `password`) at `trunk` from `ua` for 300 s, answering the challenge.
fn register_at_kamailio(
    trunk: &KamailioTrunk,
    ua: &Ua,
    user: &str,
    password: &str,
    call_id: &str,
) -> String {
    let mut register = Register::new(user, trunk.domain(), call_id, 1);
    register.contact = Some(format!("<sip:{user}@{}>", ua.addr));
    register.expires = Some(300);
    let challenge = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&challenge), 401, "{challenge}");
    register.cseq = 2;
    register.authorization = Some((
        "Authorization",
        answer(
            &challenge,
            HeaderName::WwwAuthenticate,
            0,
            user,
            password,
            trunk.domain(),
            1,
        ),
    ));
    ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp))
}

#[test]
fn kamailio_trunk_challenges_registers_and_rejects_a_wrong_password() {
    let test = "kamailio_trunk_challenges_registers_and_rejects_a_wrong_password";
    let Some(trunk) = KamailioTrunk::start(test, &[("alice", "pw"), ("bob", "pw2")]) else {
        return;
    };
    let ua = Ua::new();
    let mut register = Register::new("alice", trunk.domain(), "kam-1", 1);
    register.contact = Some(format!("<sip:alice@{}>", ua.addr));
    register.expires = Some(300);
    let challenge = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&challenge), 401, "{challenge}");
    let offered = Challenge::parse(headers(&challenge, HeaderName::WwwAuthenticate)[0]).unwrap();
    assert_eq!(offered.realm, trunk.realm());
    assert!(offered.qop.is_some_and(|q| q.auth), "{challenge}");

    register.cseq = 2;
    register.authorization = Some((
        "Authorization",
        answer(
            &challenge,
            HeaderName::WwwAuthenticate,
            0,
            "alice",
            "wrong",
            trunk.domain(),
            1,
        ),
    ));
    let again = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&again), 401, "{again}");
    assert!(trunk.contacts("alice").is_empty(), "{}", trunk.log());

    register.cseq = 3;
    register.authorization = Some((
        "Authorization",
        answer(
            &again,
            HeaderName::WwwAuthenticate,
            0,
            "alice",
            "pw",
            trunk.domain(),
            1,
        ),
    ));
    let ok = ua.request(trunk.addr(), &register.text(ua.addr, Transport::Udp));
    assert_eq!(code(&ok), 200, "{ok}\n{}", trunk.log());
    let contacts = trunk.wait_contacts("alice", |c| !c.is_empty(), Duration::from_secs(2));
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let binding = &contacts[0];
    assert_eq!(binding.uri, format!("sip:alice@{}", ua.addr));
    // Asked for 300 s; the trunk's registrar grants at most 10.
    assert!(
        binding.expires.is_some_and(|left| (5..=10).contains(&left)),
        "{binding:?}"
    );
    assert_eq!((binding.call_id.as_str(), binding.cseq), ("kam-1", 3));
    assert_eq!(binding.user_agent.as_deref(), Some(USER_AGENT));
    assert_eq!(binding.received, None);
    assert!(trunk.contacts("bob").is_empty());
}

#[test]
fn kamailio_trunk_relays_requests_for_a_registered_user_to_its_contact() {
    let test = "kamailio_trunk_relays_requests_for_a_registered_user_to_its_contact";
    let Some(trunk) = KamailioTrunk::start(test, &[("alice", "pw")]) else {
        return;
    };
    let ua = Ua::new();
    let ok = register_at_kamailio(&trunk, &ua, "alice", "pw", "kam-2");
    assert_eq!(code(&ok), 200, "{ok}");

    let caller = Ua::new();
    let options = |user: &str, call_id: &str| {
        format!(
            "OPTIONS sip:{user}@{domain} SIP/2.0\r\nVia: SIP/2.0/UDP {caller};branch=z9hG4bK-{call_id};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:caller@{domain}>;tag=c\r\nTo: <sip:{user}@{domain}>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            domain = trunk.domain(),
            caller = caller.addr,
        )
    };
    caller
        .socket
        .send_to(options("alice", "relay-1").as_bytes(), trunk.addr())
        .unwrap();
    let (request, source) = ua
        .recv(Duration::from_secs(2))
        .unwrap_or_else(|| panic!("not relayed:\n{}", trunk.log()));
    assert_eq!(source, trunk.addr());
    assert_eq!(
        parse(&request).request_uri(),
        Some(format!("sip:alice@{}", ua.addr).as_str()),
        "{request}"
    );
    ua.reply(&request, source, 200, "OK");
    let (relayed, _) = caller.recv(Duration::from_secs(2)).unwrap();
    assert_eq!(code(&relayed), 200, "{relayed}");
    assert_eq!(parse(&relayed).call_id().unwrap(), "relay-1");

    let unknown = caller.request(trunk.addr(), &options("bob", "relay-2"));
    assert_eq!(code(&unknown), 404, "{unknown}");
}
