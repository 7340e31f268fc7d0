//! The REGISTER itself, refreshes, 423 and what the 200 says.

use std::time::Duration;

use sip_msg::Transport;
use sip_uac::{NextHop, State};

use crate::support::{Harness, account};

#[test]
fn first_register_has_every_field() {
    let mut h = Harness::new(account());
    assert_eq!(h.reg.status().state, State::Waiting);
    assert_eq!(h.reg.poll_timeout(), Some(h.base));
    let req = h.next_request();
    assert_eq!(h.elapsed(), 0.0);
    assert_eq!(req.start_line(), "REGISTER sip:trunk.example.com SIP/2.0");
    let via = req.header("Via");
    assert!(
        via.starts_with("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK"),
        "{via}"
    );
    assert!(via.ends_with(";rport"), "{via}");
    assert_eq!(req.header("Max-Forwards"), "70");
    let from = req.header("From");
    assert!(
        from.starts_with("<sip:4930123@trunk.example.com>;tag="),
        "{from}"
    );
    assert!(from.len() > "<sip:4930123@trunk.example.com>;tag=".len());
    assert_eq!(req.header("To"), "<sip:4930123@trunk.example.com>");
    let call_id = req.call_id();
    assert!(
        call_id.ends_with("@192.0.2.1") && call_id.len() > 20,
        "{call_id}"
    );
    assert_eq!(h.reg.call_id(), call_id);
    assert!(h.reg.matches_call_id(&call_id) && !h.reg.matches_call_id("x@y"));
    assert_eq!(req.header("CSeq"), "1 REGISTER");
    assert_eq!(
        req.header("Contact"),
        "<sip:trunk1@192.0.2.1:5060>;expires=600"
    );
    assert_eq!(req.header("Expires"), "600");
    assert_eq!(req.header("User-Agent"), "lamppost");
    assert_eq!(req.header("Content-Length"), "0");
    assert!(!req.has_header("Authorization"));
    assert_eq!(
        req.transmit.destination,
        NextHop {
            host: "trunk.example.com".into(),
            port: None,
            transport: Transport::Udp
        }
    );
    assert_eq!(req.transmit.local, h.reg.local_binding().local);
    assert_eq!(h.reg.status().state, State::Registering);
    assert_eq!(h.reg.status().cseq, 1);
}

#[test]
fn tcp_via_contact_and_proxy_next_hop() {
    let mut a = account();
    a.transport = Transport::Tcp;
    a.proxy = Some(NextHop::parse_uri("sip:edge.example.net:5080;transport=tcp").unwrap());
    a.contact_user = "line 1".into();
    let mut h = Harness::new(a);
    let req = h.next_request();
    assert!(req.header("Via").starts_with("SIP/2.0/TCP 192.0.2.1:5060;"));
    assert_eq!(
        req.header("Contact"),
        "<sip:line%201@192.0.2.1:5060;transport=tcp>;expires=600"
    );
    assert_eq!(req.start_line(), "REGISTER sip:trunk.example.com SIP/2.0");
    assert_eq!(req.transmit.destination.host, "edge.example.net");
    assert_eq!(req.transmit.destination.port, Some(5080));
    // The 200 lists the escaped Contact: it matches ours.
    h.accept(&req);
    let status = h.reg.status();
    assert_eq!(status.state, State::Registered);
    assert!(!status.contact_rewritten);
    assert_eq!(status.contact, "sip:line%201@192.0.2.1:5060;transport=tcp");
}

#[test]
fn refresh_follows_the_granted_expiry_and_keeps_the_call_id() {
    let mut h = Harness::new(account());
    let first = h.next_request();
    assert!(h.answer(
        &first,
        200,
        "OK",
        "Contact: <sip:trunk1@192.0.2.1:5060>;expires=120\r\nExpires: 3600\r\n"
    ));
    let status = h.reg.status();
    assert_eq!(status.state, State::Registered);
    assert_eq!(status.granted_expires, Some(120));
    assert_eq!(status.registered_until, Some(h.at(120.0)));
    assert_eq!(status.last_success, Some(h.now));
    assert_eq!(
        (status.last_code, status.last_reason.as_deref()),
        (Some(200), Some("OK"))
    );
    assert_eq!(status.failures, 0);
    assert_eq!(status.last_error, None);
    // 120 s granted: refresh 12 s before expiry, up to 5 % earlier, never later.
    let due = (status.next_attempt.unwrap() - h.base).as_secs_f64();
    assert!((108.0 * 0.95..=108.0).contains(&due), "{due}");
    assert_eq!(h.reg.poll_timeout(), status.next_attempt);

    let second = h.next_request();
    assert_eq!(h.elapsed(), due);
    assert_eq!(second.call_id(), first.call_id());
    assert_eq!(second.header("From"), first.header("From"));
    assert_eq!(second.cseq(), first.cseq() + 1);
    assert_ne!(second.branch(), first.branch());
    assert_eq!(
        second.header("Expires"),
        "600",
        "still asks for what is configured"
    );
    assert_eq!(
        h.reg.status().state,
        State::Registered,
        "a refresh keeps the state"
    );
    h.accept(&second);
    let third = h.next_request();
    assert_eq!(third.cseq(), first.cseq() + 2);
    assert_eq!(third.call_id(), first.call_id());
}

#[test]
fn interval_too_brief_adopts_min_expires() {
    let mut h = Harness::new(account());
    let first = h.next_request();
    assert!(h.answer(&first, 423, "Interval Too Brief", "Min-Expires: 1800\r\n"));
    let second = h.sent();
    assert_eq!(second.cseq(), first.cseq() + 1);
    assert_eq!(second.header("Expires"), "1800");
    assert_eq!(
        second.header("Contact"),
        "<sip:trunk1@192.0.2.1:5060>;expires=1800"
    );
    h.accept(&second);
    assert_eq!(h.reg.status().granted_expires, Some(1800));
    // The raised expiry is kept for refreshes.
    let refresh = h.next_request();
    assert_eq!(refresh.header("Expires"), "1800");
}

#[test]
fn interval_too_brief_without_a_usable_min_expires_is_a_server_error() {
    for extra in ["", "Min-Expires: 600\r\n", "Min-Expires: soon\r\n"] {
        let mut h = Harness::new(account());
        let first = h.next_request();
        assert!(h.answer(&first, 423, "Interval Too Brief", extra));
        assert!(h.reg.poll_transmit().is_none(), "{extra:?}");
        let status = h.reg.status();
        assert_eq!(status.state, State::ServerError);
        let text = status.last_error.unwrap();
        assert!(
            text.contains("423 Interval Too Brief to expires 600"),
            "{text}"
        );
    }
}

#[test]
fn rewritten_contact_is_registered_with_a_warning() {
    let mut h = Harness::new(account());
    let req = h.next_request();
    assert!(h.answer(
        &req,
        200,
        "OK",
        "Contact: <sip:someone@198.51.100.2>;expires=300\r\n"
    ));
    let status = h.reg.status();
    assert_eq!(status.state, State::Registered);
    assert!(status.contact_rewritten);
    assert_eq!(
        status.granted_expires,
        Some(600),
        "no Contact of ours: the requested expiry"
    );
    assert_eq!(
        status.last_error.as_deref(),
        Some(
            "the trunk's 200 OK does not list our Contact <sip:trunk1@192.0.2.1:5060>; it lists \
             <sip:someone@198.51.100.2>: the registrar rewrote it, calls may not reach us"
        )
    );
}

#[test]
fn a_200_granting_nothing_is_not_a_registration() {
    let mut h = Harness::new(account());
    let req = h.next_request();
    assert!(h.answer(
        &req,
        200,
        "OK",
        "Contact: <sip:trunk1@192.0.2.1:5060>;expires=0\r\n"
    ));
    let status = h.reg.status();
    assert_eq!(status.state, State::ServerError);
    assert_eq!(status.registered_until, None);
    assert_eq!(status.failures, 1);
    assert!(status.last_error.unwrap().contains("granted 0 seconds"));
    assert!(status.next_attempt.is_some());
}

#[test]
fn initial_delay_and_spread() {
    let mut a = account();
    a.reg_delay = Duration::from_secs(10);
    let mut firsts = Vec::new();
    for seed in 0..20 {
        let mut h = Harness::with(
            a.clone(),
            crate::support::binding(Transport::Udp),
            Duration::from_secs(5),
            seed,
        );
        let due = (h.reg.poll_timeout().unwrap() - h.base).as_secs_f64();
        assert!((10.0..15.0).contains(&due), "{due}");
        h.advance_to(h.at(due - 0.001));
        assert!(h.reg.poll_transmit().is_none(), "nothing before the delay");
        assert_eq!(h.reg.status().state, State::Waiting);
        assert_eq!(h.reg.status().next_attempt, h.reg.poll_timeout());
        h.advance_to(h.at(due));
        assert!(h.reg.poll_transmit().is_some());
        firsts.push(due);
    }
    firsts.sort_by(f64::total_cmp);
    assert!(
        firsts[19] - firsts[0] > 2.0,
        "the spread spreads: {firsts:?}"
    );
}

#[test]
fn disabled_and_zero_expires_send_nothing() {
    let mut disabled = account();
    disabled.enabled = false;
    let mut never = account();
    never.expires = 0;
    let mut broken = account();
    broken.remote_domain = "not a domain".into();
    for (a, state) in [
        (disabled, State::Disabled),
        (never, State::NotRegistering),
        (broken, State::ConfigError),
    ] {
        let mut h = Harness::new(a);
        assert_eq!(h.reg.status().state, state);
        assert_eq!(h.reg.poll_timeout(), None);
        h.advance_to(h.at(10_000.0));
        h.reg.refresh_now(h.now);
        assert!(h.reg.poll_transmit().is_none());
        assert_eq!(h.reg.status().state, state);
    }
    let h = Harness::new({
        let mut a = account();
        a.transport = Transport::Tls;
        a
    });
    let text = h.reg.status().last_error.unwrap();
    assert!(text.contains("transport TLS is not supported"), "{text}");
}
