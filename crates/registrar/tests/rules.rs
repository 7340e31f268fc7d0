//! The registrar core without a network: messages in, responses and changes out, on a virtual clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use registrar::{
    Change, Identity, OverflowPolicy, Registrar, RegistrarConfig, RemovalReason, Source, Transport,
    precheck,
};
use sip_msg::{HeaderName, Limits};

const T0: u64 = 1_800_000_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn config() -> RegistrarConfig {
    RegistrarConfig {
        domains: vec!["example.com".into()],
        max_contacts: 2,
        overflow: OverflowPolicy::EvictOldest,
        ..RegistrarConfig::default()
    }
}

fn source() -> Source {
    let remote: SocketAddr = "192.0.2.1:5060".parse().unwrap();
    Source {
        remote,
        local: "192.0.2.254:5060".parse::<SocketAddr>().unwrap().into(),
        transport: Transport::Udp,
        connection: None,
    }
}

fn register(
    call_id: &str,
    cseq: u32,
    branch: &str,
    contacts: &[&str],
    expires: Option<u32>,
) -> String {
    let mut m = format!(
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\n\
         From: <sip:alice@example.com>;tag=f\r\nTo: <sip:alice@Example.COM>\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n"
    );
    for c in contacts {
        m.push_str(&format!("Contact: {c}\r\n"));
    }
    if let Some(e) = expires {
        m.push_str(&format!("Expires: {e}\r\n"));
    }
    m.push_str("Content-Length: 0\r\n\r\n");
    m
}

struct Harness {
    registrar: Registrar,
    config: Arc<RegistrarConfig>,
}

impl Harness {
    fn new(config: RegistrarConfig) -> Self {
        let config = Arc::new(config);
        Self {
            registrar: Registrar::new(config.clone(), Arc::new(AtomicU64::new(0))),
            config,
        }
    }

    /// Handles one request at `now`; returns (status, response text, changes).
    fn handle(&mut self, text: &str, now: SystemTime) -> (u16, String, Vec<Change>) {
        let msg = sip_msg::parse(text.as_bytes(), &Limits::default()).unwrap();
        let mut out = Vec::new();
        let target = match precheck(&self.config, &msg, &source(), &mut out) {
            Ok(t) => t,
            Err(o) => return (o.status, String::from_utf8(out).unwrap(), o.changes),
        };
        assert_eq!(target.aor, "alice@example.com", "domain is canonicalised");
        let o = self
            .registrar
            .register(now, &msg, &source(), &target, &Identity::Exempt, &mut out);
        (o.status, String::from_utf8(out).unwrap(), o.changes)
    }
}

#[test]
fn a_binding_expires_on_the_virtual_clock() {
    let mut h = Harness::new(config());
    let (status, _, changes) = h.handle(
        &register("c1", 1, "b1", &["<sip:a@192.0.2.1>"], Some(60)),
        at(0),
    );
    assert_eq!(status, 200);
    assert!(
        matches!(&changes[..], [Change::Upsert(b)] if b.expires_in(registrar::UnixTime(T0 as u32)) == 60)
    );
    assert!(h.registrar.expire(at(59)).is_empty());
    let gone = h.registrar.expire(at(60));
    assert!(matches!(
        &gone[..],
        [Change::Remove {
            reason: RemovalReason::Expired,
            ..
        }]
    ));
    assert!(h.registrar.table().is_empty());
}

#[test]
fn remaining_expiry_is_reported_after_time_passes() {
    let mut h = Harness::new(config());
    h.handle(
        &register("c1", 1, "b1", &["<sip:a@192.0.2.1>"], Some(600)),
        at(0),
    );
    let (status, text, changes) = h.handle(&register("c2", 1, "b2", &[], None), at(100));
    assert_eq!(status, 200);
    assert!(changes.is_empty(), "a query changes nothing");
    assert!(text.contains("<sip:a@192.0.2.1>;expires=500"), "{text}");
}

#[test]
fn restore_drops_bindings_that_expired_while_down() {
    let mut h = Harness::new(config());
    let (_, _, mut changes) = h.handle(
        &register("c1", 1, "b1", &["<sip:a@192.0.2.1>"], Some(60)),
        at(0),
    );
    let (_, _, more) = h.handle(
        &register("c2", 1, "b2", &["<sip:a@192.0.2.2>"], Some(600)),
        at(0),
    );
    changes.extend(more);
    let stored: Vec<_> = changes
        .into_iter()
        .filter_map(|c| match c {
            Change::Upsert(b) => Some(b),
            Change::Remove { .. } => None,
        })
        .collect();
    let mut fresh = Harness::new(config());
    fresh.registrar.restore(stored, at(120));
    assert_eq!(fresh.registrar.table().len(), 1);
    // New ids continue above the restored ones.
    let (_, _, changes) = fresh.handle(
        &register("c3", 1, "b3", &["<sip:a@192.0.2.3>"], Some(600)),
        at(121),
    );
    let Change::Upsert(b) = &changes[0] else {
        panic!()
    };
    assert!(b.id > 2, "{}", b.id);
}

#[test]
fn eviction_removes_the_oldest_and_says_why() {
    let mut h = Harness::new(config());
    h.handle(
        &register("c1", 1, "b1", &["<sip:a@192.0.2.1>"], Some(600)),
        at(0),
    );
    h.handle(
        &register("c2", 1, "b2", &["<sip:a@192.0.2.2>"], Some(600)),
        at(10),
    );
    let (status, text, changes) = h.handle(
        &register("c3", 1, "b3", &["<sip:a@192.0.2.3>"], Some(600)),
        at(20),
    );
    assert_eq!(status, 200);
    assert!(!text.contains("<sip:a@192.0.2.1>"), "{text}");
    assert!(changes.iter().any(|c| matches!(c,
        Change::Remove { uri, reason: RemovalReason::Evicted, .. } if uri == "sip:a@192.0.2.1")));
}

#[test]
fn a_retransmission_changes_nothing_and_gets_the_same_answer() {
    let mut h = Harness::new(config());
    let req = register("c1", 7, "b1", &["<sip:a@192.0.2.1>"], Some(600));
    let (_, first, _) = h.handle(&req, at(0));
    let (status, again, changes) = h.handle(&req, at(0));
    assert_eq!(status, 200);
    assert!(changes.is_empty());
    assert_eq!(first, again, "byte-identical within the same second");
}

#[test]
fn uri_equivalence_matches_contacts_written_differently() {
    let mut h = Harness::new(config());
    h.handle(
        &register(
            "c1",
            1,
            "b1",
            &["<sip:a@EXAMPLE.net;transport=udp>"],
            Some(600),
        ),
        at(0),
    );
    let (_, text, changes) = h.handle(
        &register(
            "c1",
            2,
            "b2",
            &["<sip:a@example.net;Transport=UDP>"],
            Some(900),
        ),
        at(1),
    );
    assert_eq!(h.registrar.table().len(), 1, "{text}");
    assert!(matches!(&changes[..], [Change::Upsert(b)] if b.id == 1));
}

#[test]
fn answers_carry_date_and_to_tag() {
    let mut h = Harness::new(config());
    let (_, text, _) = h.handle(
        &register("c1", 1, "b1", &["<sip:a@192.0.2.1>"], Some(600)),
        at(0),
    );
    let msg = sip_msg::parse(text.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(
        msg.header(HeaderName::Date),
        Some("Fri, 15 Jan 2027 08:00:00 GMT")
    );
    assert!(msg.to().unwrap().tag().is_some());
    // A 423 also carries a To tag and Min-Expires.
    let (status, text, _) = h.handle(
        &register("c1", 2, "b2", &["<sip:a@192.0.2.1>"], Some(5)),
        at(1),
    );
    assert_eq!(status, 423);
    assert!(text.contains("Min-Expires: 60\r\n"), "{text}");
}
