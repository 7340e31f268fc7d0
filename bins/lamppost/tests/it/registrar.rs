//! RFC 3261 §10.3 over real UDP and TCP sockets against the real binary (auth off).

use sip_msg::HeaderName;

use crate::harness::{Opts, TestServer};
use crate::sip::{Register, Tcp, Udp};

fn server() -> TestServer {
    TestServer::start(&Opts::default())
}

#[test]
fn add_query_refresh_and_remove_a_binding() {
    let s = server();
    let phone = Udp::new(s.sip);
    let reg = Register::new("alice", "example.com")
        .contact("<sip:alice@192.0.2.10:5060>")
        .expires(600);
    let r = phone.send(&reg);
    assert_eq!(r.status(), 200, "{}", r.raw);
    assert_eq!(r.expires_of("192.0.2.10"), Some(600));
    assert!(r.header(HeaderName::Date).is_some(), "200 carries a Date");

    // A query (no Contact) lists the binding without changing it.
    let q = phone.send(&Register::new("alice", "example.com"));
    assert_eq!(q.status(), 200);
    assert_eq!(q.contacts().len(), 1);
    let left = q.expires_of("192.0.2.10").unwrap();
    assert!((598..=600).contains(&left), "{left}");

    // Refresh with the same Call-ID and a higher CSeq.
    let refresh = reg.next().expires(1200);
    let r = phone.send(&refresh);
    assert_eq!(r.status(), 200);
    assert_eq!(r.expires_of("192.0.2.10"), Some(1200));
    let api = s.aor("alice@example.com");
    assert_eq!(api["bindings"].as_array().unwrap().len(), 1);
    assert_eq!(api["bindings"][0]["cseq"], 2);
    assert_eq!(api["bindings"][0]["user_agent"], "lamppost-test");
    assert_eq!(api["bindings"][0]["transport"], "UDP");
    assert_eq!(api["bindings"][0]["source"], phone.local().to_string());

    // Remove with expires=0.
    let r = phone.send(&refresh.next().expires(0));
    assert_eq!(r.status(), 200);
    assert!(r.contacts().is_empty(), "{}", r.raw);
    assert!(s.aor("alice@example.com").is_null());
    let metrics = s.get("/metrics").unwrap().1;
    assert!(
        metrics.contains("lamppost_binding_removals_total{reason=\"unregistered\"} 1"),
        "{metrics}"
    );
}

#[test]
fn many_contacts_per_aor_from_one_request_and_from_several_devices() {
    let s = server();
    let desk = Udp::new(s.sip);
    let home = Udp::new(s.sip);
    let r = desk.send(
        &Register::new("bob", "example.com")
            .contact("<sip:bob@192.0.2.1>;q=0.9, <sip:bob@192.0.2.2>;q=0.1")
            .contact("sip:bob@192.0.2.3")
            .expires(300),
    );
    assert_eq!(r.status(), 200, "{}", r.raw);
    assert_eq!(r.contacts().len(), 3, "{}", r.raw);
    let r = home.send(
        &Register::new("bob", "example.com")
            .contact("<sip:bob@198.51.100.7:5070;transport=udp>")
            .expires(300),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.contacts().len(), 4, "every binding is listed: {}", r.raw);
    let q: Vec<String> = r
        .contacts()
        .into_iter()
        .filter(|c| c.contains(";q="))
        .collect();
    assert_eq!(q.len(), 2, "q-values are kept: {}", r.raw);
    assert!(
        r.raw.contains("<sip:bob@192.0.2.1>;q=0.9;expires="),
        "{}",
        r.raw
    );
}

#[test]
fn per_contact_expires_overrides_header_and_limits_apply() {
    let s = server();
    let phone = Udp::new(s.sip);
    let r = phone.send(
        &Register::new("carol", "example.com")
            .contact("<sip:carol@192.0.2.1>;expires=120")
            .contact("<sip:carol@192.0.2.2>")
            .contact("<sip:carol@192.0.2.3>;expires=999999")
            .expires(300),
    );
    assert_eq!(r.status(), 200, "{}", r.raw);
    assert_eq!(r.expires_of("192.0.2.1"), Some(120));
    assert_eq!(r.expires_of("192.0.2.2"), Some(300));
    assert_eq!(
        r.expires_of("192.0.2.3"),
        Some(7200),
        "clamped to max_expires"
    );

    // No expiry asked at all: default_expires.
    let r = phone.send(&Register::new("carol2", "example.com").contact("<sip:c2@192.0.2.9>"));
    assert_eq!(r.expires_of("192.0.2.9"), Some(3600));

    // Below min_expires: 423 with Min-Expires, nothing stored.
    let r = phone.send(
        &Register::new("dave", "example.com")
            .contact("<sip:dave@192.0.2.1>")
            .expires(30),
    );
    assert_eq!(r.status(), 423, "{}", r.raw);
    assert_eq!(r.header(HeaderName::MinExpires).as_deref(), Some("60"));
    assert!(s.aor("dave@example.com").is_null());

    // An invalid expires value is a 400.
    let mut bad = Register::new("dave", "example.com").contact("<sip:dave@192.0.2.1>");
    bad.expires = Some("soon".into());
    assert_eq!(phone.send(&bad).status(), 400);
}

#[test]
fn wildcard_removes_all_and_other_forms_are_refused() {
    let s = server();
    let phone = Udp::new(s.sip);
    let reg = Register::new("erin", "example.com")
        .contact("<sip:erin@192.0.2.1>, <sip:erin@192.0.2.2>")
        .expires(600);
    assert_eq!(phone.send(&reg).status(), 200);

    // `*` with a non-zero Expires, without Expires, or next to another contact: 400.
    let star = |mut r: Register| {
        r.contacts.clear();
        r.contact("*")
    };
    let r = phone.send(&star(reg.next()).expires(600));
    assert_eq!(r.status(), 400, "{}", r.raw);
    let r = phone.send(&star(reg.next()));
    assert_eq!(r.status(), 400, "{}", r.raw);
    let r = phone.send(&star(reg.next()).contact("<sip:erin@192.0.2.3>").expires(0));
    assert_eq!(r.status(), 400, "{}", r.raw);
    assert_eq!(
        s.aor("erin@example.com")["bindings"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // `Contact: *` with `Expires: 0` removes every binding.
    let r = phone.send(&star(reg.next().next()).expires(0));
    assert_eq!(r.status(), 200, "{}", r.raw);
    assert!(r.contacts().is_empty());
    assert!(s.aor("erin@example.com").is_null());
}

#[test]
fn call_id_cseq_rule_refuses_old_requests_and_answers_retransmissions() {
    let s = server();
    let phone = Udp::new(s.sip);
    let first = Register::new("frank", "example.com")
        .contact("<sip:frank@192.0.2.1>")
        .expires(600);
    let mut second = first.next();
    second.cseq = 5;
    assert_eq!(phone.send(&first).status(), 200);
    assert_eq!(phone.send(&second).status(), 200);

    // Same Call-ID, lower CSeq: refused, binding unchanged.
    let mut older = second.next();
    older.cseq = 3;
    let r = phone.send(&older.clone().expires(0));
    assert_eq!(r.status(), 400, "{}", r.raw);
    assert_eq!(s.aor("frank@example.com")["bindings"][0]["cseq"], 5);

    // Same Call-ID, equal CSeq but a new transaction (new branch): refused as well.
    let mut equal = second.next();
    equal.cseq = 5;
    assert_eq!(phone.send(&equal.expires(0)).status(), 400);

    // A retransmission (same branch) gets the same answer as the original.
    let again = phone.send(&second);
    assert_eq!(again.status(), 200, "{}", again.raw);
    assert_eq!(again.contacts().len(), 1);

    // A different Call-ID (another device or a reboot) may update the binding.
    let other = Register::new("frank", "example.com")
        .contact("<sip:frank@192.0.2.1>")
        .expires(900);
    let r = phone.send(&other);
    assert_eq!(r.status(), 200);
    assert_eq!(r.expires_of("192.0.2.1"), Some(900));
}

#[test]
fn unknown_require_gets_420_with_unsupported() {
    let s = server();
    let phone = Udp::new(s.sip);
    let r = phone.send(
        &Register::new("gina", "example.com")
            .contact("<sip:gina@192.0.2.1>")
            .header("Require: path, x-frobnicate"),
    );
    assert_eq!(r.status(), 420, "{}", r.raw);
    assert_eq!(
        r.header(HeaderName::Unsupported).as_deref(),
        Some("x-frobnicate")
    );
    assert!(s.aor("gina@example.com").is_null());
}

#[test]
fn contact_parameters_and_instance_are_kept_and_listed() {
    let s = server();
    let phone = Udp::new(s.sip);
    let contact = "<sip:hank@192.0.2.1:5062;transport=tcp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1;x-custom=yes;q=0.7";
    let r = phone.send(
        &Register::new("hank", "example.com")
            .contact(contact)
            .expires(600)
            .header("Path: <sip:edge.example.com;lr>")
            .header("Supported: path"),
    );
    assert_eq!(r.status(), 200, "{}", r.raw);
    let c = &r.contacts()[0];
    for part in [
        "<sip:hank@192.0.2.1:5062;transport=tcp>",
        "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"",
        "reg-id=1",
        "x-custom=yes",
        "q=0.7",
        "expires=600",
    ] {
        assert!(c.contains(part), "{part} missing in {c}");
    }
    assert_eq!(
        r.header(HeaderName::Path).as_deref(),
        Some("<sip:edge.example.com;lr>")
    );
    let b = &s.aor("hank@example.com")["bindings"][0];
    assert_eq!(
        b["instance"],
        "urn:uuid:00000000-0000-1000-8000-000A95A0E128"
    );
    assert_eq!(b["reg_id"], 1);
    assert_eq!(b["path"][0], "<sip:edge.example.com;lr>");

    // The same instance from a new address replaces the old binding instead of piling up.
    let moved = contact.replace("192.0.2.1:5062", "203.0.113.5:5062");
    let r = phone.send(
        &Register::new("hank", "example.com")
            .contact(&moved)
            .expires(600),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.contacts().len(), 1, "{}", r.raw);
    assert!(r.contacts()[0].contains("203.0.113.5"));
    let metrics = s.get("/metrics").unwrap().1;
    assert!(
        metrics.contains("lamppost_binding_removals_total{reason=\"replaced\"} 1"),
        "{metrics}"
    );
}

#[test]
fn max_contacts_reject_policy() {
    let s = TestServer::start(&Opts {
        registrar: "max_contacts = 2\nmax_contacts_policy = \"reject\"".into(),
        ..Opts::default()
    });
    let phone = Udp::new(s.sip);
    let reg = Register::new("ivy", "example.com")
        .contact("<sip:ivy@192.0.2.1>, <sip:ivy@192.0.2.2>")
        .expires(600);
    assert_eq!(phone.send(&reg).status(), 200);
    let r = phone.send(
        &Register::new("ivy", "example.com")
            .contact("<sip:ivy@192.0.2.3>")
            .expires(600),
    );
    assert_eq!(r.status(), 403, "{}", r.raw);
    assert_eq!(
        s.aor("ivy@example.com")["bindings"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Refreshing an existing contact is not a new one.
    assert_eq!(phone.send(&reg.next()).status(), 200);
}

#[test]
fn max_contacts_evict_oldest_policy() {
    let s = TestServer::start(&Opts {
        registrar: "max_contacts = 2\nmax_contacts_policy = \"evict-oldest\"".into(),
        ..Opts::default()
    });
    let phone = Udp::new(s.sip);
    for ip in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        let r = phone.send(
            &Register::new("jack", "example.com")
                .contact(&format!("<sip:jack@{ip}>"))
                .expires(600),
        );
        assert_eq!(r.status(), 200, "{}", r.raw);
        // Distinct registered_at seconds are not needed: ties break by id (creation order).
    }
    let api = s.aor("jack@example.com");
    let contacts: Vec<&str> = api["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["contact"].as_str().unwrap())
        .collect();
    assert_eq!(contacts, ["sip:jack@192.0.2.2", "sip:jack@192.0.2.3"]);
    let metrics = s.get("/metrics").unwrap().1;
    assert!(
        metrics.contains("lamppost_binding_removals_total{reason=\"evicted\"} 1"),
        "{metrics}"
    );
}

#[test]
fn foreign_domain_is_refused() {
    let s = server();
    let phone = Udp::new(s.sip);
    let r = phone.send(&Register::new("kim", "elsewhere.example").contact("<sip:kim@192.0.2.1>"));
    assert_eq!(r.status(), 403, "{}", r.raw);
}

#[test]
fn nat_received_and_rport_follow_rfc_3581() {
    let s = server();
    let phone = Udp::new(s.sip);
    let mut reg = Register::new("lou", "example.com")
        .contact("<sip:lou@10.0.0.5:5060>")
        .expires(600);
    reg.sent_by = Some("10.0.0.5:5060".into());
    reg.rport = true;
    let r = phone.send(&reg);
    assert_eq!(r.status(), 200);
    let via = r.header(HeaderName::Via).unwrap();
    let port = phone.local().port();
    assert!(via.contains(";received=127.0.0.1"), "{via}");
    assert!(via.contains(&format!(";rport={port}")), "{via}");

    // Without rport: received is added because sent-by differs; the response still reaches the source port.
    let mut plain = reg.next();
    plain.rport = false;
    let r = phone.send(&plain);
    let via = r.header(HeaderName::Via).unwrap();
    assert!(via.contains(";received=127.0.0.1"), "{via}");
    assert!(!via.contains("rport"), "{via}");

    // sent-by equal to the source: no received.
    let mut honest = reg.next().next();
    honest.sent_by = None;
    honest.rport = false;
    let r = phone.send(&honest);
    assert!(
        !r.header(HeaderName::Via).unwrap().contains("received="),
        "{}",
        r.raw
    );
}

#[test]
fn register_over_tcp_with_pipelined_requests() {
    let s = server();
    let mut phone = Tcp::connect(s.sip);
    let reg = Register::new("mia", "example.com")
        .contact("<sip:mia@192.0.2.1;transport=tcp>")
        .expires(600);
    let r = phone.send(&reg);
    assert_eq!(r.status(), 200, "{}", r.raw);
    // Two requests in one write, the second split across two writes.
    let a = reg.next().text(phone.local(), "TCP");
    let b = reg.next().next().text(phone.local(), "TCP");
    let mut both = a.into_bytes();
    both.extend_from_slice(&b.as_bytes()[..20]);
    phone.write(&both);
    phone.write(&b.as_bytes()[20..]);
    assert_eq!(phone.read_response().status(), 200);
    assert_eq!(phone.read_response().status(), 200);
    let api = s.aor("mia@example.com");
    assert_eq!(api["bindings"][0]["transport"], "TCP");
    assert!(api["bindings"][0]["connection"].is_u64());
}

#[test]
fn register_over_ipv6() {
    let s = TestServer::start(&Opts {
        ipv6: true,
        ..Opts::default()
    });
    let server6 = format!("[::1]:{}", s.sip.port()).parse().unwrap();
    let phone = Udp::new(server6);
    let r = phone.send(
        &Register::new("nia", "example.com")
            .contact("<sip:nia@[2001:db8::7]:5060>")
            .expires(600),
    );
    assert_eq!(r.status(), 200, "{}", r.raw);
    assert!(r.raw.contains("<sip:nia@[2001:db8::7]:5060>"), "{}", r.raw);
    assert_eq!(
        s.aor("nia@example.com")["bindings"][0]["source"],
        phone.local().to_string()
    );
}

#[test]
fn options_and_other_methods_are_answered() {
    let s = server();
    let phone = Udp::new(s.sip);
    let options = format!(
        "OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKopt1\r\nFrom: <sip:p@example.com>;tag=1\r\n\
         To: <sip:example.com>\r\nCall-ID: opt1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        phone.local()
    );
    phone.send_raw(options.as_bytes());
    assert_eq!(
        phone
            .recv_within(std::time::Duration::from_secs(3))
            .unwrap()
            .status(),
        200
    );
    let invite = options.replace("OPTIONS", "INVITE");
    phone.send_raw(invite.as_bytes());
    let r = phone
        .recv_within(std::time::Duration::from_secs(3))
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.header(HeaderName::Allow).unwrap().contains("REGISTER"));
}
