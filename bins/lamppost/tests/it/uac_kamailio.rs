//! Outbound registration against a real registrar: Kamailio with digest auth plays the trunk. Skipped, loudly,
//! where Kamailio is not installed.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Opts, TestServer};
use crate::trunk::kamailio::KamailioTrunk;

const WAIT: Duration = Duration::from_secs(10);

/// The trunk account all tests use.
const USER: (&str, &str) = ("4930", "pw");

/// A lamppost registering `id` to `trunk`, with `extra` row lines.
fn client(trunk: &KamailioTrunk, rows: &[(&str, &str)]) -> TestServer {
    let mut raw = String::from("[uac]\ninitial_spread = 0\n\n");
    for (id, extra) in rows {
        let password = if extra.contains("auth_password") {
            ""
        } else {
            "auth_password = \"pw\"\n"
        };
        raw.push_str(&format!(
            "[[uac.registration]]\nl_uuid = \"{id}\"\nl_username = \"alice\"\nl_domain = \"example.com\"\n\
             r_username = \"{user}\"\nr_domain = \"{domain}\"\nauth_proxy = \"sip:{addr}\"\nexpires = 3600\n\
             {password}{extra}\n\n",
            user = USER.0,
            domain = trunk.domain(),
            addr = trunk.addr(),
        ));
    }
    TestServer::start(&Opts {
        raw,
        ..Opts::default()
    })
}

fn status(server: &TestServer, id: &str) -> Value {
    match server.get(&format!("/api/registrations/{id}")) {
        Some((200, body)) => serde_json::from_str(&body).unwrap(),
        other => panic!("unexpected API answer {other:?}"),
    }
}

fn wait_state(server: &TestServer, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = status(server, id);
        if s["state"] == state {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "never {state}: {s:#}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn registers_to_kamailio_with_digest_and_refreshes_on_the_same_call_id() {
    let Some(trunk) = KamailioTrunk::start("uac_kamailio::registers", &[USER]) else {
        return;
    };
    let server = client(&trunk, &[("trunk1", "")]);
    let s = wait_state(&server, "trunk1", "registered");
    assert_eq!(s["realm"], trunk.realm());
    let granted = s["granted_expires"].as_u64().unwrap();
    assert!(granted <= 10, "Kamailio grants at most 10 s here: {s:#}");

    let contacts = trunk.wait_contacts(USER.0, |c| !c.is_empty(), WAIT);
    assert_eq!(contacts.len(), 1, "{}", trunk.log());
    let contact = &contacts[0];
    assert_eq!(contact.uri, format!("sip:trunk1@{}", server.sip));
    assert_eq!(contact.call_id, s["call_id"].as_str().unwrap());
    assert_eq!(contact.user_agent.as_deref(), Some("lamppost"));

    // Refreshed before the grant runs out, on the same Call-ID with a higher CSeq: the binding never lapses.
    let deadline = Instant::now() + Duration::from_secs(granted + 5);
    loop {
        let now = trunk.contacts(USER.0);
        assert_eq!(now.len(), 1, "binding lapsed or duplicated: {now:?}");
        if now[0].cseq > contact.cseq {
            assert_eq!(now[0].call_id, contact.call_id);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not refreshed within {granted} s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn reload_with_unchanged_rows_keeps_the_registration_as_it_is() {
    let Some(trunk) = KamailioTrunk::start("uac_kamailio::reload", &[USER]) else {
        return;
    };
    let server = client(&trunk, &[("trunk1", "")]);
    let before = wait_state(&server, "trunk1", "registered");
    let (ok, out, err) = server.cli(&["reg", "reload"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("unchanged 1"), "{out}");
    let after = status(&server, "trunk1");
    assert_eq!(after["state"], "registered");
    assert_eq!(after["call_id"], before["call_id"]);
    assert_eq!(after["cseq"], before["cseq"]);
    let contacts = trunk.contacts(USER.0);
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].call_id, before["call_id"].as_str().unwrap());
}

#[test]
fn disable_removes_the_binding_at_kamailio_and_enable_restores_it() {
    let Some(trunk) = KamailioTrunk::start("uac_kamailio::disable", &[USER]) else {
        return;
    };
    let server = client(&trunk, &[("trunk1", "")]);
    wait_state(&server, "trunk1", "registered");
    assert_eq!(
        trunk.wait_contacts(USER.0, |c| !c.is_empty(), WAIT).len(),
        1
    );

    let (ok, out, err) = server.cli(&["reg", "disable", "trunk1"]);
    assert!(ok, "{out}{err}");
    wait_state(&server, "trunk1", "disabled");
    assert!(
        trunk
            .wait_contacts(USER.0, <[_]>::is_empty, WAIT)
            .is_empty(),
        "the binding is still at the trunk"
    );

    let (ok, out, err) = server.cli(&["reg", "enable", "trunk1"]);
    assert!(ok, "{out}{err}");
    wait_state(&server, "trunk1", "registered");
    assert_eq!(
        trunk.wait_contacts(USER.0, |c| !c.is_empty(), WAIT).len(),
        1
    );
}

#[test]
fn a_realm_mismatch_and_a_wrong_password_are_told_apart() {
    let Some(trunk) = KamailioTrunk::start("uac_kamailio::failures", &[USER]) else {
        return;
    };
    let server = client(
        &trunk,
        &[
            ("realm", "realm = \"voip.example\""),
            ("password", "auth_password = \"wrong\""),
        ],
    );
    let s = wait_state(&server, "realm", "realm_mismatch");
    let e = s["last_error"].as_str().unwrap();
    assert!(
        e.contains(&format!("\"{}\"", trunk.realm())) && e.contains("\"voip.example\""),
        "{e}"
    );
    let s = wait_state(&server, "password", "credentials_rejected");
    assert_eq!(s["last_code"], 401);
    assert!(
        s["last_error"].as_str().unwrap().contains("auth_password"),
        "{s:#}"
    );
    assert!(trunk.contacts(USER.0).is_empty());
}

#[test]
fn a_call_kamailio_routes_to_the_registration_reaches_lamppost() {
    let Some(trunk) = KamailioTrunk::start("uac_kamailio::call", &[USER]) else {
        return;
    };
    let server = client(&trunk, &[("trunk1", "")]);
    wait_state(&server, "trunk1", "registered");
    trunk.wait_contacts(USER.0, |c| !c.is_empty(), WAIT);

    // A caller sends an INVITE for the trunk user to Kamailio, which relays it to lamppost's Contact.
    let caller = UdpSocket::bind("127.0.0.1:0").unwrap();
    caller
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let me = caller.local_addr().unwrap();
    let invite = format!(
        "INVITE sip:{user}@{domain} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKkcall1;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@{domain}>;tag=c1\r\nTo: <sip:{user}@{domain}>\r\n\
         Call-ID: kcall-1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{me}>\r\nContent-Length: 0\r\n\r\n",
        user = USER.0,
        domain = trunk.domain(),
    );
    caller.send_to(invite.as_bytes(), trunk.addr()).unwrap();
    let mut buf = [0; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    let final_response = loop {
        assert!(
            Instant::now() < deadline,
            "no final response:\n{}",
            trunk.log()
        );
        let n = caller.recv(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            break text;
        }
    };
    assert!(
        final_response.starts_with("SIP/2.0 480 "),
        "{final_response}"
    );
    let log = server.log();
    assert!(
        log.lines().any(|l| l.contains("request from a trunk")
            && l.contains("registration=trunk1")
            && l.contains("local_aor=alice@example.com")),
        "{log}"
    );
}
