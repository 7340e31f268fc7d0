//! Via fixing, the response writer (byte-exact) and the best-effort 400.

use std::net::{IpAddr, SocketAddr};

use sip_msg::{
    HeaderName, Limits, ParseError, ResponseWriter, ViaFix, parse, via_fix, write_bad_request,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn fix_for(via: &str, source: &str) -> ViaFix {
    let text = format!("OPTIONS sip:h SIP/2.0\r\nVia: {via}\r\n\r\n");
    let msg = parse(text.as_bytes(), &Limits::default()).unwrap();
    via_fix(&msg.top_via().unwrap(), addr(source))
}

#[test]
fn via_fix_cases() {
    let none = ViaFix::default();
    // Sent-by equals the source address: nothing to add.
    assert_eq!(
        fix_for(
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1",
            "192.0.2.1:5060"
        ),
        none
    );
    // The port alone differing does not matter without rport.
    assert_eq!(
        fix_for(
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1",
            "192.0.2.1:40000"
        ),
        none
    );
    // A different IP, or any host name, gets received.
    let received = ViaFix {
        received: Some(ip("203.0.113.5")),
        rport: None,
    };
    assert_eq!(
        fix_for("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1", "203.0.113.5:5060"),
        received
    );
    assert_eq!(
        fix_for(
            "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1",
            "203.0.113.5:5060"
        ),
        received
    );
    // Bare rport: rport and received, even when the IP matches.
    assert_eq!(
        fix_for(
            "SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1",
            "192.0.2.1:40000"
        ),
        ViaFix {
            received: Some(ip("192.0.2.1")),
            rport: Some(40000)
        }
    );
    // An rport that already has a value is not a request for one.
    assert_eq!(
        fix_for(
            "SIP/2.0/UDP 192.0.2.1;rport=7;branch=z9hG4bK1",
            "192.0.2.1:5060"
        ),
        none
    );
    // IPv6 compares as addresses, and v4-mapped sources as IPv4.
    assert_eq!(
        fix_for(
            "SIP/2.0/UDP [2001:db8:0::1];branch=z9hG4bK1",
            "[2001:db8::1]:5060"
        ),
        none
    );
    assert_eq!(
        fix_for(
            "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
            "[::ffff:192.0.2.1]:5060"
        ),
        none
    );
    assert_eq!(
        fix_for(
            "SIP/2.0/TCP [2001:db8::1];branch=z9hG4bK1",
            "[2001:db8::2]:5060"
        )
        .received,
        Some(ip("2001:db8::2"))
    );
}

const REQUEST: &str = "REGISTER sip:example.com SIP/2.0\r\n\
v: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKnashds7 , SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1\r\n\
Via: SIP/2.0/UDP edge.example.com;received=198.51.100.1;branch=z9hG4bKe1\r\n\
Max-Forwards: 70\r\n\
f: Alice <sip:alice@example.com>;tag=a73kszlfl\r\n\
t: Alice <sip:alice@example.com>\r\n\
i: 1j9FpLxk3uxtm8tn@10.0.0.5\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:alice@10.0.0.5:5060>\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn response_writer_output_is_exact() {
    let req = parse(REQUEST.as_bytes(), &Limits::default()).unwrap();
    let fix = via_fix(&req.top_via().unwrap(), addr("203.0.113.5:40123"));
    let mut out = b"stale bytes".to_vec();
    let mut w = ResponseWriter::new(&mut out, &req, 200, "OK", &fix, Some("srv-1"));
    w.header("Contact", "<sip:alice@10.0.0.5:5060>;expires=3600")
        .header_fmt("Date", format_args!("{}, {:02} Jan {}", "Sat", 3, 2026));
    w.finish(b"");
    let expected = "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5060;rport=40123;branch=z9hG4bKnashds7;received=203.0.113.5, SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1\r\n\
Via: SIP/2.0/UDP edge.example.com;received=198.51.100.1;branch=z9hG4bKe1\r\n\
From: Alice <sip:alice@example.com>;tag=a73kszlfl\r\n\
To: Alice <sip:alice@example.com>;tag=srv-1\r\n\
Call-ID: 1j9FpLxk3uxtm8tn@10.0.0.5\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:alice@10.0.0.5:5060>;expires=3600\r\n\
Date: Sat, 03 Jan 2026\r\n\
Content-Length: 0\r\n\r\n";
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn response_writer_keeps_an_existing_to_tag_and_replaces_received() {
    let text = "OPTIONS sip:h SIP/2.0\r\n\
Via: SIP/2.0/UDP [2001:db8::5]:5070 ; received=192.0.2.200 ;branch=\"z9hG4bKq\"\r\n\
From: <sip:a@h>;tag=1\r\n\
To: <sip:b@h>;tag=already\r\n\
Call-ID: c@h\r\n\
CSeq: 9 OPTIONS\r\n\r\n";
    let req = parse(text.as_bytes(), &Limits::default()).unwrap();
    let fix = ViaFix {
        received: Some(ip("2001:db8::6")),
        rport: Some(5071),
    };
    let mut out = Vec::new();
    ResponseWriter::new(&mut out, &req, 486, "Busy Here", &fix, Some("new")).finish(b"x");
    let expected = "SIP/2.0 486 Busy Here\r\n\
Via: SIP/2.0/UDP [2001:db8::5]:5070;received=2001:db8::6;branch=\"z9hG4bKq\";rport=5071\r\n\
From: <sip:a@h>;tag=1\r\n\
To: <sip:b@h>;tag=already\r\n\
Call-ID: c@h\r\n\
CSeq: 9 OPTIONS\r\n\
Content-Length: 1\r\n\r\nx";
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn response_writer_copies_an_unparseable_via_and_skips_missing_headers() {
    let text = "OPTIONS sip:h SIP/2.0\r\nVia: garbage here\r\nCSeq: 1 OPTIONS\r\n\r\n";
    let req = parse(text.as_bytes(), &Limits::default()).unwrap();
    let fix = ViaFix {
        received: Some(ip("192.0.2.1")),
        rport: None,
    };
    let mut out = Vec::new();
    ResponseWriter::new(&mut out, &req, 400, "Bad Request", &fix, None).finish(b"");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "SIP/2.0 400 Bad Request\r\nVia: garbage here\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
}

fn bad_request(raw: &[u8], err: &ParseError) -> Option<String> {
    let mut out = b"untouched".to_vec();
    if write_bad_request(&mut out, raw, err, addr("203.0.113.5:40123")) {
        Some(String::from_utf8(out).unwrap())
    } else {
        assert_eq!(out, b"untouched");
        None
    }
}

#[test]
fn bad_request_for_garbage_writes_nothing() {
    let err = ParseError::BadRequestLine;
    assert_eq!(bad_request(b"", &err), None);
    assert_eq!(bad_request(b"\x00\x01\x02garbage\xff", &err), None);
    assert_eq!(bad_request(b"hello", &err), None);
    assert_eq!(bad_request(b"\r\n\r\n", &err), None);
    // A response is never answered.
    assert_eq!(
        bad_request(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", &err),
        None
    );
    // A request without Via cannot be answered.
    assert_eq!(
        bad_request(b"OPTIONS sip:h SIP/2.0\r\nCall-ID: x\r\n\r\n", &err),
        None
    );
}

#[test]
fn bad_request_for_a_missing_call_id() {
    let raw = "REGISTER sip:example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnashds7;rport\r\n\
From: <sip:alice@example.com>;tag=a73kszlfl\r\n\
To: <sip:alice@example.com>\r\n\
CSeq: 1 REGISTER\r\n\
Content-Length: 0\r\n\r\n";
    let err = parse(raw.as_bytes(), &Limits::default())
        .unwrap()
        .call_id()
        .unwrap_err();
    let out = bad_request(raw.as_bytes(), &err).expect("a 400 is written");
    let tag = out
        .split("To: <sip:alice@example.com>;tag=")
        .nth(1)
        .and_then(|rest| rest.split("\r\n").next())
        .unwrap();
    assert!(tag.starts_with("lp") && tag.len() == 18, "{tag}");
    assert_eq!(
        out,
        format!(
            "SIP/2.0 400 Missing Call-ID header\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnashds7;rport=40123;received=203.0.113.5\r\n\
From: <sip:alice@example.com>;tag=a73kszlfl\r\n\
To: <sip:alice@example.com>;tag={tag}\r\n\
CSeq: 1 REGISTER\r\n\
Content-Length: 0\r\n\r\n"
        )
    );
    // Retransmissions get the same tag.
    assert_eq!(bad_request(raw.as_bytes(), &err), Some(out));
}

#[test]
fn bad_request_for_an_unknown_version() {
    let raw = b"OPTIONS sip:t.watson@example.org SIP/7.0\r\n\
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n\
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\r\n\
To:      T. Watson <sip:t.watson@example.org>\r\n\
Call-ID: badvers.31417@c.example.com\r\n\
CSeq:    1 OPTIONS\r\n\
l: 0\r\n\r\n";
    let err = parse(raw, &Limits::default()).unwrap_err();
    let out = bad_request(raw, &err).expect("a response is written");
    assert!(out.starts_with("SIP/2.0 505 Unsupported SIP version\r\nVia: SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n"), "{out}");
    assert!(out.contains("\r\nCall-ID: badvers.31417@c.example.com\r\nCSeq: 1 OPTIONS\r\n"));
    let resp = parse(out.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(resp.status(), Some((505, "Unsupported SIP version")));
}

#[test]
fn bad_request_for_a_70_kb_header() {
    let mut raw = b"REGISTER sip:example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1\r\n\
Call-ID: big@10.0.0.5\r\n\
X-Big: "
        .to_vec();
    raw.resize(raw.len() + 70 * 1024, b'a');
    raw.extend_from_slice(b"\r\nCSeq: 1 REGISTER\r\n\r\n");
    let err = parse(&raw, &Limits::default()).unwrap_err();
    assert!(matches!(err, ParseError::MessageTooLarge { .. }));
    let out = bad_request(&raw, &err).expect("the Via is still usable");
    let resp = parse(out.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(resp.status(), Some((513, "Message Too Large")));
    assert_eq!(resp.header(HeaderName::CallId), Some("big@10.0.0.5"));
    assert_eq!(resp.header(HeaderName::CSeq), Some("1 REGISTER"));
    assert!(out.len() < 400);
}

#[test]
fn bad_request_tolerates_broken_lines() {
    let raw = b"INVITE sip:user@example.com SIP/2.0\n\
To: \"Mr. J. User <sip:j.user@example.com>\n\
Garbage line without colon\n\
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\n\
From: \xff\xfe not utf8\n\
Call-ID: quotbal.aksdj\n\
CSeq: 8\n   INVITE\n\n";
    let out = bad_request(
        raw,
        &ParseError::BadHeaderLine {
            line: 3,
            reason: "x",
        },
    )
    .unwrap();
    assert_eq!(
        out,
        "SIP/2.0 400 Malformed header line\r\n\
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234;received=203.0.113.5\r\n\
To: \"Mr. J. User <sip:j.user@example.com>\r\n\
Call-ID: quotbal.aksdj\r\n\
CSeq: 8\n   INVITE\r\n\
Content-Length: 0\r\n\r\n"
    );
}
