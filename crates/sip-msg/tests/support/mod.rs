//! Checks shared by the property tests, the corpus replay and the fuzz targets.
//!
//! Both take arbitrary bytes and panic only when the crate misbehaves.

use std::net::SocketAddr;

use sip_msg::{
    Contacts, HeaderName, Limits, Message, ParseError, ResponseWriter, Uri, parse, via_fix,
    write_bad_request,
};

/// Where the checked messages pretend to come from.
fn source() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 99], 5099))
}

/// Limits for re-parsing our own output, which may exceed the defaults by a few bytes and one
/// header (the added Content-Length and Via parameters).
fn roomy() -> Limits {
    Limits {
        max_message_size: 1 << 24,
        max_headers: 1 << 16,
        max_line_length: 1 << 24,
    }
}

/// Every typed accessor of `msg`, checking the invariants that hold whatever the input.
fn touch(msg: &Message<'_>) {
    assert!(msg.as_bytes().ends_with(msg.body()));
    assert_eq!(msg.is_request(), msg.method().is_some());
    assert_eq!(msg.is_request(), msg.request_uri().is_some());
    assert_eq!(msg.is_request(), msg.status().is_none());
    if let Some(Ok(uri)) = msg.request_uri().map(Uri::parse) {
        assert!(uri.equivalent(&uri));
        let _ = (uri.user_unescaped(), uri.host_lowercase());
    }
    for header in msg.headers() {
        assert_eq!(header.name, HeaderName::parse(header.raw_name.as_bytes()));
        assert!(msg.header_named(header.raw_name).is_some());
        let _ = msg.list_items(header.name).count();
    }
    let _ = (msg.call_id(), msg.cseq(), msg.expires(), msg.max_forwards());
    let _ = (msg.cseq_matches_method(), msg.check_request());
    if let Ok(via) = msg.top_via() {
        let _ = (
            via.branch(),
            via.rport(),
            via.received(),
            via.known_transport(),
        );
        let _ = via_fix(&via, source());
    }
    for addr in [msg.from(), msg.to()].into_iter().flatten() {
        assert!(addr.uri.equivalent(&addr.uri));
        let _ = (
            addr.tag(),
            addr.params.iter().count(),
            addr.uri.user_unescaped(),
        );
    }
    if let Ok(Contacts::List(list)) = msg.contacts() {
        for contact in list {
            assert!(contact.uri.equivalent(&contact.uri));
            let _ = contact
                .params
                .get("expires")
                .flatten()
                .map(sip_msg::delta_seconds);
        }
    }
}

/// Parses `data`; if it is a request, answers it with [`ResponseWriter`] and checks that the
/// response parses and carries the request's identifiers.
pub(crate) fn check_message(data: &[u8]) {
    let Ok(req) = parse(data, &Limits::default()) else {
        return;
    };
    touch(&req);
    if !req.is_request() {
        return;
    }
    let top_via = req.top_via();
    let fix = top_via
        .as_ref()
        .map(|via| via_fix(via, source()))
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut writer = ResponseWriter::new(&mut out, &req, 200, "OK", &fix, Some("checktag"));
    writer
        .header("Server", "lamppost-check")
        .header_fmt("Expires", format_args!("{}", 3600));
    writer.finish(b"ok");
    let resp = parse(&out, &roomy()).unwrap_or_else(|e| {
        panic!(
            "response does not parse: {e}\n{}",
            String::from_utf8_lossy(&out)
        )
    });
    touch(&resp);
    assert_eq!(resp.status(), Some((200, "OK")));
    assert_eq!(resp.body(), b"ok");
    assert_eq!(resp.header_named("Expires"), Some("3600"));
    for name in [HeaderName::CallId, HeaderName::CSeq, HeaderName::From] {
        assert_eq!(resp.header(name), req.header(name), "{name}");
    }
    assert_eq!(
        resp.header_values(HeaderName::Via).count(),
        req.header_values(HeaderName::Via).count()
    );
    if let Ok(via) = top_via {
        let fixed = resp.top_via().expect("the fixed top Via parses");
        assert_eq!(
            (fixed.host, fixed.port, fixed.branch()),
            (via.host, via.port, via.branch())
        );
        if let Some(ip) = fix.received {
            assert_eq!(fixed.received(), Some(ip.to_string().as_str()));
        }
        if let Some(port) = fix.rport {
            assert_eq!(fixed.rport(), Some(Some(port)));
        }
    }
    if let Ok(to) = req.to() {
        let answered = resp.to().expect("the answered To parses");
        assert_eq!(answered.tag(), Some(to.tag().unwrap_or("checktag")));
    }
}

/// Runs [`write_bad_request`] on `data` with the error its parse gives; when it writes, the
/// response must parse and carry the error's status.
pub(crate) fn check_bad_request(data: &[u8]) {
    let err = match parse(data, &Limits::default()) {
        Err(e) => e,
        Ok(msg) => msg
            .check_request()
            .err()
            .unwrap_or(ParseError::MissingHeader(HeaderName::Contact)),
    };
    let mut out = b"untouched".to_vec();
    if write_bad_request(&mut out, data, &err, source()) {
        let resp = parse(&out, &roomy()).unwrap_or_else(|e| {
            panic!(
                "error response does not parse: {e}\n{}",
                String::from_utf8_lossy(&out)
            )
        });
        touch(&resp);
        assert_eq!(resp.status().map(|s| s.0), Some(err.status_code()));
        assert!(resp.header(HeaderName::Via).is_some());
        assert!(resp.body().is_empty());
    } else {
        assert_eq!(out, b"untouched");
    }
}
