//! Outbound registration against an in-process fake trunk: the real binary registers to a scripted registrar over
//! real sockets, and every fault case is driven from the trunk's side.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use sip_msg::Transport;

use crate::harness::{Opts, TestServer};
use crate::trunk::fake::{Digest, FakeTrunk, Mode, REWRITTEN_CONTACT, Received};

const WAIT: Duration = Duration::from_secs(10);

/// A registration row for the config file, to the trunk at `trunk`, plus `extra` lines.
/// `expires` is 3600 unless `extra` sets it.
fn entry(id: &str, trunk: SocketAddr, extra: &str) -> String {
    let expires = if extra.contains("expires =") {
        ""
    } else {
        "expires = 3600\n"
    };
    format!(
        "[[uac.registration]]\nl_uuid = \"{id}\"\nl_username = \"alice\"\nl_domain = \"example.com\"\n\
         r_username = \"4930\"\nr_domain = \"{trunk}\"\nauth_password = \"pw\"\n{expires}{extra}\n"
    )
}

/// A lamppost with `[uac]` settings `uac` and the registration entries `entries`.
fn client(uac: &str, entries: &str) -> TestServer {
    TestServer::start(&Opts {
        raw: format!("[uac]\ninitial_spread = 0\n{uac}\n\n{entries}"),
        ..Opts::default()
    })
}

/// The registration's status from the API.
fn status(server: &TestServer, id: &str) -> Value {
    match server.get(&format!("/api/registrations/{id}")) {
        Some((200, body)) => serde_json::from_str(&body).unwrap(),
        other => panic!("unexpected API answer {other:?}"),
    }
}

/// Waits until the registration's status satisfies `pred`; returns it.
fn wait_status(server: &TestServer, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = status(server, id);
        if pred(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "status never matched: {s:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state_is(state: &'static str) -> impl Fn(&Value) -> bool {
    move |s| s["state"] == state
}

/// REGISTERs that unregister (Expires: 0).
fn unregisters(received: &[Received]) -> usize {
    received.iter().filter(|r| r.expires == Some(0)).count()
}

#[test]
fn registers_with_digest_and_refreshes_at_the_granted_expiry() {
    let trunk = FakeTrunk::start(Mode::Digest(Digest::new("4930", "pw", "trunk.test", 10)));
    let server = client("", &entry("trunk1", trunk.addr(), ""));
    let s = wait_status(&server, "trunk1", state_is("registered"));
    assert_eq!(s["granted_expires"], 10, "{s:#}");
    assert_eq!(s["requested_expires"], 3600);
    assert_eq!(s["realm"], "trunk.test");
    assert_eq!(s["last_code"], 200);
    assert_eq!(s["local_aor"], "alice@example.com");

    // 401, the authenticated REGISTER, then a refresh well before the 10 s grant runs out.
    let got = trunk.wait_for(3, Duration::from_secs(12));
    assert!(got[0].authorization.is_none());
    assert!(got[1].authorization.is_some());
    assert!(
        got[2].authorization.is_some(),
        "refresh answers the kept challenge"
    );
    assert!(
        got.iter().all(|r| r.call_id == got[0].call_id),
        "Call-ID kept"
    );
    assert!(got.windows(2).all(|w| w[1].cseq > w[0].cseq), "CSeq raised");
    let gap = got[2].at - got[1].at;
    assert!(
        gap >= Duration::from_secs(3) && gap < Duration::from_secs(10),
        "refreshed after {gap:?} of a 10 s grant"
    );
    assert_eq!(
        got[2].contact.as_deref().map(|c| c.contains("sip:trunk1@")),
        Some(true)
    );
}

#[test]
fn answers_a_proxy_challenge() {
    let mut digest = Digest::new("4930", "pw", "trunk.test", 300);
    digest.proxy = true;
    let trunk = FakeTrunk::start(Mode::Digest(digest));
    let server = client("", &entry("trunk1", trunk.addr(), ""));
    wait_status(&server, "trunk1", state_is("registered"));
    let got = trunk.received();
    let auth = got[1].authorization.as_ref().unwrap();
    assert_eq!(auth.header, "Proxy-Authorization");
    assert_eq!(auth.username, "4930");
}

#[test]
fn interval_too_brief_adopts_min_expires() {
    let trunk = FakeTrunk::start(Mode::IntervalTooBrief {
        min: 120,
        grant: 300,
    });
    let server = client("", &entry("trunk1", trunk.addr(), "expires = 60"));
    let s = wait_status(&server, "trunk1", state_is("registered"));
    let got = trunk.received();
    assert_eq!(got[0].expires, Some(60));
    assert_eq!(got[1].expires, Some(120));
    assert_eq!(s["granted_expires"], 120);
}

#[test]
fn unavailable_with_retry_after_waits_as_told_then_recovers() {
    let trunk = FakeTrunk::start(Mode::Unavailable {
        retry_after: Some(2),
    });
    let server = client("", &entry("trunk1", trunk.addr(), ""));
    let s = wait_status(&server, "trunk1", state_is("server_error"));
    assert_eq!(s["last_code"], 503);
    assert!(s["next_attempt_in"].as_u64().unwrap() <= 2, "{s:#}");
    let got = trunk.wait_for(2, Duration::from_secs(5));
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(1900) && gap < Duration::from_millis(3500),
        "retried after {gap:?}, Retry-After was 2 s"
    );
    trunk.set_mode(Mode::Accept { grant: 300 });
    let s = wait_status(&server, "trunk1", state_is("registered"));
    assert_eq!(s["failures"], 0);
}

#[test]
fn a_silent_trunk_gets_backoff_not_a_storm_and_is_recovered_within_one_step() {
    let trunk = FakeTrunk::start(Mode::Silent);
    let server = client(
        "t1_ms = 50\ntimeout = 1",
        &entry("trunk1", trunk.addr(), ""),
    );
    let s = wait_status(&server, "trunk1", state_is("timeout"));
    assert!(
        s["last_error"]
            .as_str()
            .unwrap()
            .contains("no final answer"),
        "{s:#}"
    );
    std::thread::sleep(Duration::from_secs(7));
    let got = trunk.received();
    let transactions: std::collections::BTreeSet<u32> = got.iter().map(|r| r.cseq).collect();
    // One transaction at once, the next after a 5 s (±20%) backoff: not one per timeout.
    assert!(
        (1..=2).contains(&transactions.len()),
        "{} transactions in 8 s: {transactions:?}",
        transactions.len()
    );
    // Retransmissions at T1 doubling within the 1 s transaction timeout: a handful per transaction, not more.
    assert!(
        got.len() <= transactions.len() * 6,
        "{} requests",
        got.len()
    );

    trunk.set_mode(Mode::Accept { grant: 300 });
    let next = status(&server, "trunk1")["next_attempt_in"]
        .as_u64()
        .unwrap();
    let started = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(next + 3);
    loop {
        if status(&server, "trunk1")["state"] == "registered" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not recovered within one backoff step ({next} s)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(started.elapsed() <= Duration::from_secs(next + 3));
}

#[test]
fn an_unresolvable_trunk_is_a_dns_failure() {
    let server = client(
        "",
        "[[uac.registration]]\nl_uuid = \"trunk1\"\nl_username = \"alice\"\nr_username = \"4930\"\n\
         r_domain = \"no-such-trunk.invalid\"\nauth_password = \"pw\"\nexpires = 600\n",
    );
    let s = wait_status(&server, "trunk1", state_is("dns_failure"));
    let e = s["last_error"].as_str().unwrap();
    assert!(e.contains("no-such-trunk.invalid"), "{e}");
    assert!(
        s["next_attempt_in"].as_u64().is_some(),
        "retried later: {s:#}"
    );
}

#[test]
fn a_row_that_cannot_be_used_is_listed_with_the_reason() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let entries = format!(
        "{}{}",
        entry("good", trunk.addr(), ""),
        entry("bad", trunk.addr(), "auth_proxy = \"proxy.example.com\"")
    );
    let server = client("", &entries);
    wait_status(&server, "good", state_is("registered"));
    let s = status(&server, "bad");
    assert_eq!(s["state"], "config_error");
    let e = s["last_error"].as_str().unwrap();
    assert!(
        e.contains("lamppost.toml:") && e.contains("auth_proxy") && e.contains("sip:"),
        "{e}"
    );
    let (ok, list, err) = server.cli(&["reg", "list"]);
    assert!(ok, "{err}");
    assert!(
        list.lines()
            .any(|l| l.starts_with("bad ") && l.contains("config_error")),
        "{list}"
    );
}

#[test]
fn a_second_row_with_the_same_l_uuid_is_refused_and_the_first_runs() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let entries = format!(
        "{}{}{}",
        entry("one", trunk.addr(), ""),
        entry("two", trunk.addr(), ""),
        entry("one", trunk.addr(), "auth_username = \"other\"")
    );
    let server = client("", &entries);
    wait_status(&server, "one", state_is("registered"));
    wait_status(&server, "two", state_is("registered"));
    let (ok, list, err) = server.cli(&["reg", "list"]);
    assert!(ok, "{err}");
    let refused: Vec<&str> = list
        .lines()
        .filter(|l| l.contains("config_error"))
        .collect();
    assert_eq!(refused.len(), 1, "{list}");
    assert!(refused[0].starts_with("one "), "{list}");
}

#[test]
fn forbidden_is_reported_as_forbidden() {
    let trunk = FakeTrunk::start(Mode::Forbidden);
    let server = client("", &entry("trunk1", trunk.addr(), ""));
    let s = wait_status(&server, "trunk1", state_is("forbidden"));
    assert_eq!(s["last_code"], 403);
    assert!(s["last_error"].as_str().unwrap().contains("403"), "{s:#}");
    assert!(
        s["next_attempt_in"].as_u64().is_some(),
        "never given up: {s:#}"
    );
}

#[test]
fn a_realm_mismatch_names_both_realms_and_the_fix() {
    let trunk = FakeTrunk::start(Mode::Digest(Digest::new("4930", "pw", "sip-1.pb", 300)));
    let server = client(
        "",
        &entry("trunk1", trunk.addr(), "realm = \"voip.example\""),
    );
    let s = wait_status(&server, "trunk1", state_is("realm_mismatch"));
    let e = s["last_error"].as_str().unwrap();
    assert!(
        e.contains("\"sip-1.pb\"") && e.contains("\"voip.example\""),
        "{e}"
    );
    assert!(e.contains("leave it empty"), "{e}");
    assert_eq!(
        trunk.received().len(),
        1,
        "no answer is sent to a foreign realm"
    );
}

#[test]
fn a_wrong_password_is_credentials_rejected() {
    let trunk = FakeTrunk::start(Mode::Digest(Digest::new(
        "4930",
        "right",
        "trunk.test",
        300,
    )));
    let server = client("", &entry("trunk1", trunk.addr(), ""));
    let s = wait_status(&server, "trunk1", state_is("credentials_rejected"));
    assert_eq!(s["last_code"], 401);
    let e = s["last_error"].as_str().unwrap();
    assert!(e.contains("4930") && e.contains("auth_password"), "{e}");
}

#[test]
fn a_rewritten_contact_is_flagged() {
    let trunk = FakeTrunk::start(Mode::RewriteContact { grant: 300 });
    let server = client("", &entry("trunk1", trunk.addr(), ""));
    let s = wait_status(&server, "trunk1", |s| s["contact_rewritten"] == true);
    assert_eq!(s["state"], "registered");
    assert!(
        s["last_error"]
            .as_str()
            .unwrap()
            .contains(REWRITTEN_CONTACT),
        "{s:#}"
    );
}

#[test]
fn tcp_registration_registers_again_when_the_connection_drops() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let proxy = format!("auth_proxy = \"sip:{};transport=tcp\"", trunk.addr());
    let server = client("", &entry("trunk1", trunk.addr(), &proxy));
    let s = wait_status(&server, "trunk1", state_is("registered"));
    assert_eq!(s["transport"], "tcp");
    assert!(
        s["contact"].as_str().unwrap().ends_with(";transport=tcp"),
        "{s:#}"
    );
    let first = trunk.wait_for(1, WAIT);
    assert_eq!(first[0].transport, Transport::Tcp);
    assert_eq!(trunk.connections(), 1);

    trunk.drop_connections();
    let got = trunk.wait_for(2, Duration::from_secs(3));
    assert_eq!(got[1].transport, Transport::Tcp);
    assert_eq!(got[1].call_id, got[0].call_id);
    assert!(got[1].cseq > got[0].cseq);
    assert_ne!(got[1].source, got[0].source, "a new connection");
    wait_status(&server, "trunk1", state_is("registered"));
}

#[test]
fn a_trunk_refusing_tcp_connections_is_a_transport_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = format!("auth_proxy = \"sip:{closed};transport=tcp\"");
    let server = client("", &entry("trunk1", closed, &proxy));
    let s = wait_status(&server, "trunk1", state_is("transport_error"));
    assert!(
        s["last_error"]
            .as_str()
            .unwrap()
            .contains(&closed.to_string()),
        "{s:#}"
    );
    assert!(
        s["next_attempt_in"].as_u64().is_some(),
        "retried later: {s:#}"
    );
}

#[test]
fn a_new_contact_address_is_registered_at_once_on_reload() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let server = client("contact_addr = \"\"", &entry("trunk1", trunk.addr(), ""));
    let before = wait_status(&server, "trunk1", state_is("registered"));
    assert_eq!(before["contact"], format!("sip:trunk1@{}", server.sip));
    let config = std::fs::read_to_string(server.config()).unwrap();
    let config = config.replace("contact_addr = \"\"", "contact_addr = \"192.0.2.55:5070\"");
    std::fs::write(server.config(), config).unwrap();
    let (ok, out, err) = server.cli(&["reg", "reload"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("changed 1"), "{out}");
    let got = trunk.wait_for(2, WAIT);
    assert_eq!(
        got[1]
            .contact
            .as_deref()
            .map(|c| c.contains("sip:trunk1@192.0.2.55:5070")),
        Some(true)
    );
    let after = wait_status(&server, "trunk1", |s| {
        s["state"] == "registered" && s["contact"] == "sip:trunk1@192.0.2.55:5070"
    });
    assert_eq!(after["call_id"], before["call_id"]);
}

#[test]
fn a_call_from_the_trunk_is_recognised_for_the_local_aor() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let server = client("", &entry("trunk1", trunk.addr(), ""));
    wait_status(&server, "trunk1", state_is("registered"));
    let invite = format!(
        "INVITE sip:trunk1@{0} SIP/2.0\r\nVia: SIP/2.0/UDP {1};branch=z9hG4bKcall1\r\nMax-Forwards: 70\r\n\
         From: <sip:+4930555@trunk.test>;tag=t1\r\nTo: <sip:trunk1@{0}>\r\nCall-ID: call-1\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:+4930555@{1}>\r\nContent-Length: 0\r\n\r\n",
        server.sip,
        trunk.addr()
    );
    let answer = trunk.send_request(server.sip, &invite).unwrap();
    assert!(answer.starts_with("SIP/2.0 480 "), "{answer}");
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("request from a trunk"))
        .unwrap_or_else(|| panic!("no log line:\n{log}"));
    assert!(
        line.contains("local_aor=alice@example.com") && line.contains("registration=trunk1"),
        "{line}"
    );
}

#[test]
fn stopping_the_server_unregisters() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let mut server = client("", &entry("trunk1", trunk.addr(), ""));
    wait_status(&server, "trunk1", state_is("registered"));
    server.terminate();
    let got = trunk.received();
    assert_eq!(unregisters(&got), 1, "{got:?}");
    assert_eq!(got.last().unwrap().call_id, got[0].call_id);
}

#[test]
fn disable_unregisters_and_enable_registers_again() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let server = client("", &entry("trunk1", trunk.addr(), ""));
    wait_status(&server, "trunk1", state_is("registered"));
    let (ok, out, err) = server.cli(&["reg", "disable", "trunk1"]);
    assert!(ok, "{out}{err}");
    let s = wait_status(&server, "trunk1", state_is("disabled"));
    assert_eq!(s["enabled"], false);
    assert_eq!(unregisters(&trunk.received()), 1);
    let (ok, out, err) = server.cli(&["reg", "enable", "trunk1"]);
    assert!(ok, "{out}{err}");
    wait_status(&server, "trunk1", state_is("registered"));
    let got = trunk.received();
    assert_eq!(got.last().unwrap().expires, Some(3600));
}

#[test]
fn reload_keeps_unchanged_registrations_and_applies_the_rest() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let entries = format!(
        "{}{}",
        entry("keep", trunk.addr(), "contact_user = \"keep\""),
        entry(
            "change",
            trunk.addr(),
            "contact_user = \"change\"\nexpires = 3599"
        )
    );
    let server = client("", &entries);
    let keep = wait_status(&server, "keep", state_is("registered"));
    let change = wait_status(&server, "change", state_is("registered"));
    let before = trunk.received().len();

    // Keep `keep`, change the expiry of `change`, add `new`.
    let config = std::fs::read_to_string(server.config()).unwrap();
    let config = config.replace("expires = 3599", "expires = 1800");
    let config = format!(
        "{config}\n{}",
        entry("new", trunk.addr(), "contact_user = \"new\"")
    );
    std::fs::write(server.config(), config).unwrap();
    let (ok, out, err) = server.cli(&["reg", "reload"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("added 1, changed 1, unchanged 1, removed 0"),
        "{out}"
    );

    let new = wait_status(&server, "new", state_is("registered"));
    let changed = wait_status(&server, "change", |s| {
        s["state"] == "registered" && s["requested_expires"] == 1800
    });
    let kept = status(&server, "keep");
    assert_eq!(kept["call_id"], keep["call_id"], "unchanged: same Call-ID");
    assert_eq!(kept["cseq"], keep["cseq"], "unchanged: nothing sent");
    assert_ne!(
        changed["call_id"], change["call_id"],
        "changed: registered afresh"
    );
    assert_ne!(new["call_id"], keep["call_id"]);
    let after: Vec<Received> = trunk.received()[before..].to_vec();
    assert!(
        after.iter().all(|r| r.call_id != keep["call_id"]),
        "nothing sent for the unchanged one"
    );

    // Removing an entry unregisters it.
    let config = std::fs::read_to_string(server.config()).unwrap();
    let cut = config.rfind("[[uac.registration]]").unwrap();
    std::fs::write(server.config(), &config[..cut]).unwrap();
    let (ok, out, err) = server.cli(&["reg", "reload"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("removed 1"), "{out}");
    let deadline = Instant::now() + WAIT;
    while !trunk
        .received()
        .iter()
        .any(|r| r.call_id == new["call_id"] && r.expires == Some(0))
    {
        assert!(
            Instant::now() < deadline,
            "removed registration not unregistered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.get("/api/registrations/new").unwrap().0, 404);
}

#[test]
fn rows_added_from_the_cli_are_checked_kept_in_the_table_and_removed() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let mut server = client("", "");
    let r_domain = trunk.addr().to_string();
    let add = |id: &str, extra: &[&str]| {
        let mut args = vec![
            "reg",
            "add",
            id,
            "--l-username",
            "bob",
            "--r-username",
            "77",
            "--r-domain",
            &r_domain,
            "--auth-password",
            "s3cret-pw",
        ];
        args.extend_from_slice(extra);
        server.cli(&args)
    };
    let (ok, out, err) = add("bad", &["--auth-proxy", "proxy.example.com"]);
    assert!(!ok, "{out}");
    assert!(err.contains("auth_proxy") && err.contains("sip:"), "{err}");
    let (ok, out, err) = add("row1", &[]);
    assert!(ok, "{out}{err}");
    let s = wait_status(&server, "row1", state_is("registered"));
    assert_eq!(s["origin"], "table");
    assert_eq!(s["local_aor"], "bob@example.com");

    // The row is in the table: it comes back after a restart.
    server.kill_and_restart();
    wait_status(&server, "row1", state_is("registered"));

    // Nothing shows the secret.
    let (_, list, _) = server.cli(&["reg", "list"]);
    let (_, show, _) = server.cli(&["reg", "show", "row1", "--json"]);
    let (_, api) = server.get("/api/registrations").unwrap();
    for text in [&list, &show, &api, &server.log()] {
        assert!(!text.contains("s3cret-pw"), "secret shown: {text}");
    }
    assert!(
        list.contains("row1") && list.contains("registered"),
        "{list}"
    );

    let before = unregisters(&trunk.received());
    let (ok, out, err) = server.cli(&["reg", "remove", "row1"]);
    assert!(ok, "{out}{err}");
    let deadline = Instant::now() + WAIT;
    while unregisters(&trunk.received()) == before {
        assert!(Instant::now() < deadline, "removed row not unregistered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (ok, _, err) = server.cli(&["reg", "show", "row1"]);
    assert!(!ok && err.contains("no outbound registration"), "{err}");
}

#[test]
fn metrics_count_registrations_per_state() {
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let server = client("", &entry("trunk1", trunk.addr(), ""));
    wait_status(&server, "trunk1", state_is("registered"));
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, text) = server.get("/metrics").unwrap();
        if text.contains("lamppost_uac_registrations{state=\"registered\"} 1") {
            assert!(
                text.contains("lamppost_uac_registrations{state=\"timeout\"} 0"),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
