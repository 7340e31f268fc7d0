//! Bad input gets a 400 with a reason (or is dropped when no response can be formed), and the server goes on.

use std::time::Duration;

use crate::harness::{Opts, TestServer};
use crate::sip::{Register, Tcp, Udp};

/// The server still registers normally.
fn still_alive(s: &TestServer) {
    let phone = Udp::new(s.sip);
    let r = phone.send(&Register::new("alive", "example.com").contact("<sip:alive@192.0.2.1>"));
    assert_eq!(r.status(), 200, "server stopped answering: {}", r.raw);
}

fn register_text(phone: &Udp) -> String {
    Register::new("zed", "example.com")
        .contact("<sip:zed@192.0.2.1>")
        .text(phone.local(), "UDP")
}

#[test]
fn garbage_is_dropped() {
    let s = TestServer::start(&Opts::default());
    let phone = Udp::new(s.sip);
    for junk in [
        &b"\x00\x01\x02garbage"[..],
        b"hello world\r\n\r\n",
        &[0xff; 300],
        b"SIP/2.0 200 OK\r\n\r\n",
    ] {
        phone.send_raw(junk);
        assert!(phone.recv_within(Duration::from_millis(300)).is_none());
    }
    still_alive(&s);
}

#[test]
fn missing_call_id_and_cseq_get_400_naming_the_header() {
    let s = TestServer::start(&Opts::default());
    let phone = Udp::new(s.sip);
    for header in ["Call-ID", "CSeq"] {
        let text: String = register_text(&phone)
            .split("\r\n")
            .filter(|l| !l.starts_with(&format!("{header}:")))
            .collect::<Vec<_>>()
            .join("\r\n");
        phone.send_raw(text.as_bytes());
        let r = phone.recv_within(Duration::from_secs(3)).expect("a 400");
        assert_eq!(r.status(), 400, "{}", r.raw);
        assert!(
            r.reason().contains(header),
            "reason {:?} should name {header}",
            r.reason()
        );
    }
    still_alive(&s);
}

#[test]
fn bad_content_length_unknown_version_and_oversized_header() {
    let s = TestServer::start(&Opts::default());
    let phone = Udp::new(s.sip);
    let text = register_text(&phone).replace("Content-Length: 0", "Content-Length: 500");
    phone.send_raw(text.as_bytes());
    let r = phone
        .recv_within(Duration::from_secs(3))
        .expect("a 400 for Content-Length");
    assert_eq!(r.status(), 400);
    assert!(r.reason().contains("Content-Length"), "{}", r.reason());

    let text = register_text(&phone).replace(
        "REGISTER sip:example.com SIP/2.0",
        "REGISTER sip:example.com SIP/3.0",
    );
    phone.send_raw(text.as_bytes());
    let r = phone
        .recv_within(Duration::from_secs(3))
        .expect("an answer for the version");
    assert_eq!(r.status(), 505, "RFC 3261 §21.5.7 Version Not Supported");
    assert!(
        r.reason().to_ascii_lowercase().contains("version"),
        "{}",
        r.reason()
    );

    // 70 KB in one header: over the datagram limit; dropped or refused, never a crash.
    let big = format!("X-Big: {}\r\n", "a".repeat(70_000));
    let text = register_text(&phone).replace(
        "Content-Length: 0\r\n",
        &format!("{big}Content-Length: 0\r\n"),
    );
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // The kernel may refuse a datagram this large; either way the server must survive.
    let _ = sock.send_to(text.as_bytes(), s.sip);
    if let Some(r) = phone.recv_within(Duration::from_millis(500)) {
        assert!(matches!(r.status(), 400 | 513), "{}", r.raw);
    }
    // Over TCP the same message arrives whole: the connection is refused with a 400 or closed.
    let mut tcp = Tcp::connect(s.sip);
    tcp.write(text.replace("/UDP", "/TCP").as_bytes());
    still_alive(&s);
}

#[test]
fn malformed_headers_get_400() {
    let s = TestServer::start(&Opts::default());
    let phone = Udp::new(s.sip);
    for (from, to) in [
        ("CSeq: 1 REGISTER", "CSeq: one REGISTER"),
        ("CSeq: 1 REGISTER", "CSeq: 1 INVITE"),
        ("To: <sip:zed@example.com>", "To: <sip:zed@example.com"),
        (
            "Contact: <sip:zed@192.0.2.1>",
            "Contact: <sip:zed@192.0.2.1>;expires=abc",
        ),
        (
            "Contact: <sip:zed@192.0.2.1>",
            "Contact: <http://example.com>",
        ),
    ] {
        let text = register_text(&phone).replace(from, to);
        phone.send_raw(text.as_bytes());
        let r = phone
            .recv_within(Duration::from_secs(3))
            .unwrap_or_else(|| panic!("no answer for {to}"));
        assert_eq!(r.status(), 400, "{to}: {}", r.raw);
        assert!(
            !r.reason().is_empty() && r.reason() != "Bad Request",
            "{to}: reason {:?}",
            r.reason()
        );
    }
    still_alive(&s);
}
