//! Message-level behaviour: header names, lists, Contacts, IPv6, limits and every error.

use sip_msg::{Contacts, HeaderName, Limits, Message, Method, NameAddr, ParseError, Uri, parse};

fn parse_ok(text: &str) -> Message<'_> {
    parse(text.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn parse_err(text: &[u8], limits: &Limits) -> ParseError {
    match parse(text, limits) {
        Ok(_) => panic!("should be rejected: {}", String::from_utf8_lossy(text)),
        Err(e) => e,
    }
}

fn contact_list<'a>(msg: &Message<'a>) -> Vec<NameAddr<'a>> {
    match msg.contacts() {
        Ok(Contacts::List(list)) => list,
        other => panic!("expected a list, got {other:?}"),
    }
}

/// A REGISTER head followed by `extra` header lines (each ending in CRLF) and an empty line.
fn register(extra: &str) -> String {
    format!(
        "REGISTER sip:example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds7\r\n\
         From: <sip:alice@example.com>;tag=a73kszlfl\r\n\
         To: <sip:alice@example.com>\r\n\
         Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.1\r\n\
         CSeq: 1 REGISTER\r\n\
         {extra}\r\n"
    )
}

#[test]
fn compact_forms_and_any_case() {
    let text = "REGISTER sip:example.com SIP/2.0\r\n\
        V: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n\
        f: <sip:alice@example.com>;tag=1\r\n\
        T: <sip:alice@example.com>\r\n\
        i: compact@192.0.2.1\r\n\
        cSeQ: 7 REGISTER\r\n\
        M: <sip:alice@192.0.2.1;transport=tcp>\r\n\
        k: path, gruu\r\n\
        s: hello\r\n\
        c: text/plain\r\n\
        e: gzip\r\n\
        o: reg\r\n\
        u: presence\r\n\
        eXPIRES: 60\r\n\
        MAX-FORWARDS: 70\r\n\
        l: 4\r\n\r\nbody";
    let m = parse_ok(text);
    assert_eq!(m.top_via().unwrap().transport, "TCP");
    assert_eq!(m.from().unwrap().tag(), Some("1"));
    assert_eq!(m.to().unwrap().raw_uri(), "sip:alice@example.com");
    assert_eq!(m.call_id(), Ok("compact@192.0.2.1"));
    assert_eq!(m.cseq().unwrap().seq, 7);
    assert_eq!(
        contact_list(&m)[0].uri.params.get("transport"),
        Some(Some("tcp"))
    );
    assert_eq!(
        m.list_items(HeaderName::Supported).collect::<Vec<_>>(),
        ["path", "gruu"]
    );
    for (name, value) in [
        (HeaderName::Subject, "hello"),
        (HeaderName::ContentType, "text/plain"),
        (HeaderName::ContentEncoding, "gzip"),
        (HeaderName::Event, "reg"),
        (HeaderName::AllowEvents, "presence"),
        (HeaderName::ContentLength, "4"),
    ] {
        assert_eq!(m.header(name), Some(value), "{name}");
    }
    assert_eq!(m.expires(), Ok(Some(60)));
    assert_eq!(m.max_forwards(), Ok(Some(70)));
    assert_eq!(m.body(), b"body");
    let raw_names: Vec<_> = m.headers().map(|h| h.raw_name).collect();
    assert_eq!(raw_names[..5], ["V", "f", "T", "i", "cSeQ"]);
    assert_eq!(m.header_named("content-length"), Some("4"));
    assert_eq!(m.header_named("Call-Id"), Some("compact@192.0.2.1"));
}

#[test]
fn repeated_and_comma_separated_contacts() {
    let text = register(
        "Contact: <sip:alice@192.0.2.1:5060;transport=udp>;expires=3600;q=0.7;\
         +sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1,\r\n \
         \"Alice, mobile\" <sip:alice@198.51.100.7:41000;ob>;q=1.0;expires=60;x-custom=\"a, b; c\";flag\r\n\
         m: sip:alice@203.0.113.9;expires=0\r\n\
         Contact: <sip:alice@[2001:db8::10]:5070;transport=tcp>;+sip.ice;reg-id=2\r\n",
    );
    let m = parse_ok(&text);
    let list = contact_list(&m);
    assert_eq!(list.len(), 4);

    assert_eq!(list[0].uri.host, "192.0.2.1");
    assert_eq!(list[0].uri.port, Some(5060));
    assert_eq!(list[0].params.get("expires"), Some(Some("3600")));
    assert_eq!(list[0].params.get("q"), Some(Some("0.7")));
    assert_eq!(
        list[0].params.get("+sip.instance"),
        Some(Some("<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"))
    );
    assert_eq!(list[0].params.get("reg-id"), Some(Some("1")));

    assert_eq!(list[1].display_name, Some("Alice, mobile"));
    assert!(list[1].uri.params.contains("ob"));
    assert_eq!(list[1].params.get("x-custom"), Some(Some("a, b; c")));
    assert_eq!(list[1].params.get("flag"), Some(None));
    assert_eq!(
        list[1].params.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        ["q", "expires", "x-custom", "flag"]
    );

    assert_eq!(list[2].raw_uri(), "sip:alice@203.0.113.9");
    assert_eq!(list[2].params.get("expires"), Some(Some("0")));

    assert_eq!(list[3].uri.host, "[2001:db8::10]");
    assert_eq!(list[3].uri.port, Some(5070));
    assert!(list[3].params.contains("+SIP.ICE"));
    assert_eq!(m.list_items(HeaderName::Contact).count(), 4);
}

#[test]
fn star_contact() {
    let text = register("Contact: *\r\nExpires: 0\r\n");
    let m = parse_ok(&text);
    assert_eq!(m.contacts(), Ok(Contacts::Star));
    assert_eq!(m.expires(), Ok(Some(0)));
    for extra in [
        "Contact: *, <sip:a@b>\r\n",
        "Contact: <sip:a@b>\r\nContact: *\r\n",
        "Contact: *\r\nContact: *\r\n",
        "Contact:\r\n",
        "Contact: ,\r\n",
    ] {
        let text = register(extra);
        let err = parse_ok(&text).contacts().unwrap_err();
        assert!(
            matches!(
                err,
                ParseError::MalformedHeader {
                    header: HeaderName::Contact,
                    ..
                }
            ),
            "{extra:?}: {err:?}"
        );
    }
    let text = register("");
    let m = parse_ok(&text);
    assert_eq!(m.contacts(), Ok(Contacts::List(vec![])));
    assert_eq!(m.expires(), Ok(None));
}

#[test]
fn ipv6_everywhere() {
    let text = "REGISTER sip:[2001:db8::1] SIP/2.0\r\n\
        Via: SIP/2.0/UDP [2001:db8::20]:5060;branch=z9hG4bK6;rport;received=2001:db8::99\r\n\
        From: <sip:bob@[2001:db8::1]>;tag=x\r\n\
        To: sip:bob@[2001:db8::1]\r\n\
        Call-ID: v6@[2001:db8::20]\r\n\
        CSeq: 3 REGISTER\r\n\
        Contact: <sip:bob@[2001:db8::20]:5060;transport=udp>\r\n\r\n";
    let m = parse_ok(text);
    let ruri = Uri::parse(m.request_uri().unwrap()).unwrap();
    assert_eq!((ruri.host, ruri.port), ("[2001:db8::1]", None));
    let via = m.top_via().unwrap();
    assert_eq!((via.host, via.port), ("[2001:db8::20]", Some(5060)));
    assert_eq!(via.received(), Some("2001:db8::99"));
    assert_eq!(m.to().unwrap().uri.host, "[2001:db8::1]");
    assert!(
        m.to()
            .unwrap()
            .uri
            .equivalent(&Uri::parse("sip:bob@[2001:DB8:0::1]").unwrap())
    );
    assert_eq!(contact_list(&m)[0].uri.port, Some(5060));
    assert_eq!(m.call_id(), Ok("v6@[2001:db8::20]"));
}

#[test]
fn message_size_limit() {
    let limits = Limits::default();
    let mut text = register("").into_bytes();
    text.resize(limits.max_message_size, b'x');
    assert!(parse(&text, &limits).is_ok());
    text.push(b'x');
    assert_eq!(
        parse_err(&text, &limits),
        ParseError::MessageTooLarge {
            size: 65_536,
            limit: 65_535
        }
    );
}

#[test]
fn header_count_limit() {
    let limits = Limits {
        max_headers: 6,
        ..Limits::default()
    };
    let ok = register("Expires: 1\r\n");
    assert!(parse(ok.as_bytes(), &limits).is_ok());
    let too_many = register("Expires: 1\r\nMax-Forwards: 70\r\n");
    assert_eq!(
        parse_err(too_many.as_bytes(), &limits),
        ParseError::TooManyHeaders { limit: 6 }
    );
}

#[test]
fn line_length_limit() {
    let limits = Limits {
        max_line_length: 64,
        ..Limits::default()
    };
    let fits = register(&format!("X-Long: {}\r\n", "a".repeat(64 - 8)));
    assert!(parse(fits.as_bytes(), &limits).is_ok());
    let long = register(&format!("X-Long: {}\r\n", "a".repeat(64 - 7)));
    assert_eq!(
        parse_err(long.as_bytes(), &limits),
        ParseError::LineTooLong { line: 7, limit: 64 }
    );
    let folded = register(&format!("X-Long: a\r\n {}\r\n", "b".repeat(64)));
    assert_eq!(
        parse_err(folded.as_bytes(), &limits),
        ParseError::LineTooLong { line: 8, limit: 64 }
    );
    let start = format!("OPTIONS sip:{}@h SIP/2.0\r\n\r\n", "u".repeat(64));
    assert_eq!(
        parse_err(start.as_bytes(), &limits),
        ParseError::LineTooLong { line: 1, limit: 64 }
    );
    let unterminated = format!("OPTIONS sip:h SIP/2.0\r\nX: {}", "a".repeat(100));
    assert_eq!(
        parse_err(unterminated.as_bytes(), &limits),
        ParseError::LineTooLong { line: 2, limit: 64 }
    );
}

#[test]
fn content_length_framing() {
    let with_extra = register("Content-Length: 3\r\n") + "abcdef";
    let m = parse_ok(&with_extra);
    assert_eq!(m.body(), b"abc");
    assert!(m.as_bytes().ends_with(b"\r\n\r\nabc"));

    let mut binary = register("").into_bytes();
    binary.extend_from_slice(&[0xff, 0x00, 0xfe]);
    let m = parse(&binary, &Limits::default()).unwrap();
    assert_eq!(m.body(), [0xff, 0x00, 0xfe]);

    let same_twice = register("Content-Length: 2\r\nl: 2\r\n") + "ok";
    assert_eq!(parse_ok(&same_twice).body(), b"ok");
}

#[test]
fn lists_span_repeated_headers() {
    let text = register("Allow: INVITE, ACK,CANCEL\r\nAllow: ,OPTIONS ,\r\nRequire: \"a,b\"\r\n");
    let m = parse_ok(&text);
    assert_eq!(
        m.list_items(HeaderName::Allow).collect::<Vec<_>>(),
        ["INVITE", "ACK", "CANCEL", "OPTIONS"]
    );
    assert_eq!(m.header_values(HeaderName::Allow).count(), 2);
    assert_eq!(
        m.list_items(HeaderName::Require).collect::<Vec<_>>(),
        ["\"a,b\""]
    );
    assert_eq!(m.header(HeaderName::Unsupported), None);
}

#[test]
fn typed_header_errors() {
    let m = parse_ok(
        "OPTIONS sip:h SIP/2.0\r\nCall-ID: has space\r\nExpires: soon\r\nMax-Forwards: 256\r\nVia: ,\r\n\r\n",
    );
    let malformed = |e: ParseError| match e {
        ParseError::MalformedHeader { header, .. } => header,
        other => panic!("{other:?}"),
    };
    assert_eq!(malformed(m.call_id().unwrap_err()), HeaderName::CallId);
    assert_eq!(malformed(m.expires().unwrap_err()), HeaderName::Expires);
    assert_eq!(
        malformed(m.max_forwards().unwrap_err()),
        HeaderName::MaxForwards
    );
    assert_eq!(malformed(m.top_via().unwrap_err()), HeaderName::Via);
    assert_eq!(m.cseq(), Err(ParseError::MissingHeader(HeaderName::CSeq)));
    assert_eq!(m.method(), Some(Method::Options));
}

/// Every error, produced from real input, with its reason phrase and status code.
#[test]
fn every_error_has_its_reason_phrase() {
    let d = Limits::default();
    let small = Limits {
        max_headers: 1,
        max_line_length: 40,
        max_message_size: 200,
    };
    let req = |extra: &str| format!("OPTIONS sip:h SIP/2.0\r\n{extra}\r\n").into_bytes();
    let cases: Vec<(ParseError, &str, u16)> = vec![
        (parse_err(b"\r\n\r\n", &d), "Empty message", 400),
        (parse_err(&[b'a'; 201], &small), "Message Too Large", 513),
        (
            parse_err(&req("A: 1\r\nB: 2\r\n"), &small),
            "Too many headers",
            400,
        ),
        (
            parse_err(&req(&format!("A: {}\r\n", "x".repeat(40))), &small),
            "Header line too long",
            400,
        ),
        (
            parse_err(b"OPTIONS sip:h SIP/2.0\r\nX: \xff\r\n\r\n", &d),
            "Invalid UTF-8 in message header",
            400,
        ),
        (
            parse_err(b"OPTIONS sip:h\r\n\r\n", &d),
            "Malformed Request-Line",
            400,
        ),
        (
            parse_err(b"SIP/2.0 OK\r\n\r\n", &d),
            "Malformed Status-Line",
            400,
        ),
        (
            parse_err(b"OPTIONS sip:h SIP/3.0\r\n\r\n", &d),
            "Unsupported SIP version",
            505,
        ),
        (
            parse_err(&req("No colon here\r\n"), &d),
            "Malformed header line",
            400,
        ),
        (
            parse_err(b"OPTIONS sip:h SIP/2.0\r\nVia: x\r\n", &d),
            "Incomplete header section",
            400,
        ),
        (
            parse_err(&req("Content-Length: x\r\n"), &d),
            "Bad Content-Length",
            400,
        ),
        (
            ParseError::MissingHeader(HeaderName::CallId),
            "Missing Call-ID header",
            400,
        ),
        (
            ParseError::DuplicateHeader(HeaderName::CSeq),
            "Multiple CSeq headers",
            400,
        ),
        (
            parse_ok("OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/UDP\r\n\r\n")
                .top_via()
                .unwrap_err(),
            "Malformed Via header",
            400,
        ),
        (Uri::parse("no-scheme").unwrap_err(), "Malformed URI", 400),
        (
            parse_ok(&register("").replace("1 REGISTER", "1 INVITE"))
                .check_request()
                .unwrap_err(),
            "CSeq method does not match Request-Line",
            400,
        ),
    ];
    for (err, phrase, code) in cases {
        assert_eq!(err.reason_phrase(), phrase, "{err:?}");
        assert_eq!(err.status_code(), code, "{err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn bad_header_lines_name_the_line() {
    let d = Limits::default();
    for (extra, line) in [
        ("No colon here\r\n", 2),
        ("X: 1\r\n: empty name\r\n", 3),
        ("X: 1\r\nY: 2\r\nBad Name: x\r\n", 4),
        ("Bad@Name: x\r\n", 2),
        (" leading continuation\r\n", 2),
        ("X: a\r\n b\r\nBroken\r\n", 4),
    ] {
        let text = format!("OPTIONS sip:h SIP/2.0\r\n{extra}\r\n");
        match parse_err(text.as_bytes(), &d) {
            ParseError::BadHeaderLine { line: l, .. } => assert_eq!(l, line, "{extra:?}"),
            other => panic!("{extra:?}: {other:?}"),
        }
    }
}

#[test]
fn incomplete_and_truncated_messages() {
    let d = Limits::default();
    assert_eq!(parse_err(b"", &d), ParseError::Empty);
    assert_eq!(
        parse_err(b"OPTIONS sip:h SIP/2.0", &d),
        ParseError::IncompleteHeaders
    );
    assert_eq!(
        parse_err(b"OPTIONS sip:h SIP/2.0\r\nVia: x", &d),
        ParseError::IncompleteHeaders
    );
    assert_eq!(
        parse_err(b"OPTIONS sip:h SIP/2.0\r\nVia: x\r\n", &d),
        ParseError::IncompleteHeaders
    );
    assert!(parse(b"OPTIONS sip:h SIP/2.0\r\n\r\n", &d).is_ok());
}
