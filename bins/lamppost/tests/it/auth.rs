//! Digest authentication and third-party registration over real sockets.

use sip_auth::{Algorithm, Challenge, ClientSecret};
use sip_msg::HeaderName;

use crate::harness::{Opts, TestServer};
use crate::sip::{Register, Response, Udp};

fn server(extra: &str) -> TestServer {
    let s = TestServer::start(&Opts {
        auth: true,
        auth_extra: format!("algorithms = [\"SHA-256\", \"MD5\"]\n{extra}"),
        ..Opts::default()
    });
    for (user, pw) in [
        ("alice@example.com", "alice-pw"),
        ("admin@example.com", "admin-pw"),
    ] {
        let (ok, _, err) = s.cli(&["user", "add", user, "--password", pw]);
        assert!(ok, "{err}");
    }
    s
}

/// The challenge offered for `alg` in a 401.
fn challenge(r: &Response, alg: Algorithm) -> String {
    r.headers(HeaderName::WwwAuthenticate)
        .into_iter()
        .find(|c| Challenge::parse(c).is_ok_and(|c| c.algorithm == alg))
        .unwrap_or_else(|| panic!("no {alg} challenge in {}", r.raw))
}

/// Answers `challenge` for `reg` as `user` with `password`, nonce count `nc`.
fn authorize(reg: &Register, challenge: &str, user: &str, password: &str, nc: u32) -> Register {
    let c = Challenge::parse(challenge).unwrap();
    let uri = format!("sip:{}", reg.domain);
    let value = sip_auth::respond(
        &c,
        "REGISTER",
        &uri,
        user,
        ClientSecret::Password(password),
        "cn0nce",
        nc,
    )
    .unwrap();
    let mut reg = reg.clone();
    reg.extra.retain(|l| !l.starts_with("Authorization:"));
    reg.header(&format!("Authorization: {value}"))
}

#[test]
fn md5_and_sha256_digest_registration() {
    let s = server("");
    let phone = Udp::new(s.sip);
    for alg in [Algorithm::Md5, Algorithm::Sha256] {
        let reg = Register::new("alice", "example.com")
            .contact(&format!("<sip:alice@192.0.2.{}>", alg.digest_len()))
            .expires(600);
        let r = phone.send(&reg);
        assert_eq!(r.status(), 401, "{}", r.raw);
        let offered = r.headers(HeaderName::WwwAuthenticate);
        assert_eq!(offered.len(), 2, "SHA-256 and MD5 offered: {}", r.raw);
        assert!(
            offered[0].contains("algorithm=SHA-256"),
            "SHA-256 first: {offered:?}"
        );
        assert!(offered.iter().all(|c| c.contains("qop=\"auth\"")));
        let authed = authorize(&reg.next(), &challenge(&r, alg), "alice", "alice-pw", 1);
        let r = phone.send(&authed);
        assert_eq!(r.status(), 200, "{alg}: {}", r.raw);
    }
    assert_eq!(
        s.aor("alice@example.com")["bindings"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_answer() {
    let s = server("");
    let phone = Udp::new(s.sip);
    let attempt = |user: &str, pw: &str| {
        let reg = Register::new(user, "example.com").contact("<sip:x@192.0.2.1>");
        let r = phone.send(&reg);
        assert_eq!(r.status(), 401);
        let authed = authorize(&reg.next(), &challenge(&r, Algorithm::Md5), user, pw, 1);
        phone.send(&authed)
    };
    let wrong = attempt("alice", "not-her-password");
    let unknown = attempt("mallory", "whatever");
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.reason(), unknown.reason());
    let shape = |r: &Response| {
        r.headers(HeaderName::WwwAuthenticate)
            .iter()
            .map(|c| {
                let c = Challenge::parse(c).unwrap();
                (c.realm.to_string(), c.algorithm, c.stale)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&wrong), shape(&unknown));
    assert!(s.aor("alice@example.com").is_null());
    assert!(s.aor("mallory@example.com").is_null());
}

#[test]
fn replayed_authorization_is_refused() {
    let s = server("");
    let phone = Udp::new(s.sip);
    let reg = Register::new("alice", "example.com")
        .contact("<sip:alice@192.0.2.1>")
        .expires(600);
    let c = challenge(&phone.send(&reg), Algorithm::Md5);
    let first = authorize(&reg.next(), &c, "alice", "alice-pw", 1);
    assert_eq!(phone.send(&first).status(), 200);

    // The same Authorization (same nonce and nc) in a new request: a replay.
    let replay = first.next();
    let r = phone.send(&replay);
    assert_eq!(r.status(), 401, "replay must be refused: {}", r.raw);

    // A retransmission of the accepted request (same branch, Call-ID and CSeq) gets the same 200, not a 401.
    let again = phone.send(&first);
    assert_eq!(again.status(), 200, "retransmission: {}", again.raw);
    assert_eq!(again.contacts(), phone.send(&first).contacts());

    // The next nonce count on the same nonce is fine.
    let fresh = authorize(&first.next().next(), &c, "alice", "alice-pw", 2);
    assert_eq!(phone.send(&fresh).status(), 200);
}

#[test]
fn expired_nonce_is_answered_with_stale_true() {
    let s = server("nonce_lifetime = 1");
    let phone = Udp::new(s.sip);
    let reg = Register::new("alice", "example.com")
        .contact("<sip:alice@192.0.2.1>")
        .expires(600);
    let c = challenge(&phone.send(&reg), Algorithm::Md5);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = phone.send(&authorize(&reg.next(), &c, "alice", "alice-pw", 1));
    assert_eq!(r.status(), 401);
    let stale = challenge(&r, Algorithm::Md5);
    assert!(Challenge::parse(&stale).unwrap().stale, "{stale}");
    let r = phone.send(&authorize(
        &reg.next().next(),
        &stale,
        "alice",
        "alice-pw",
        1,
    ));
    assert_eq!(r.status(), 200, "{}", r.raw);
}

#[test]
fn third_party_registration_needs_a_grant() {
    let s = server(
        "[[auth.third_party]]\nuser = \"admin@example.com\"\nmay_register = [\"*@example.com\"]",
    );
    let phone = Udp::new(s.sip);
    let (ok, _, err) = s.cli(&["user", "add", "bob@example.com", "--password", "bob-pw"]);
    assert!(ok, "{err}");

    // alice may not register bob.
    let mut reg = Register::new("bob", "example.com")
        .contact("<sip:bob@192.0.2.1>")
        .expires(600);
    reg.from_user = Some("alice".into());
    let c = challenge(&phone.send(&reg), Algorithm::Md5);
    let r = phone.send(&authorize(&reg.next(), &c, "alice", "alice-pw", 1));
    assert_eq!(r.status(), 403, "{}", r.raw);
    assert!(s.aor("bob@example.com").is_null());

    // admin holds a grant for *@example.com.
    let mut reg = Register::new("bob", "example.com")
        .contact("<sip:bob@192.0.2.2>")
        .expires(600);
    reg.from_user = Some("admin".into());
    let c = challenge(&phone.send(&reg), Algorithm::Md5);
    let r = phone.send(&authorize(&reg.next(), &c, "admin", "admin-pw", 1));
    assert_eq!(r.status(), 200, "{}", r.raw);
    assert_eq!(
        s.aor("bob@example.com")["bindings"][0]["contact"],
        "sip:bob@192.0.2.2"
    );
}

#[test]
fn trusted_networks_and_exempt_domains_skip_authentication() {
    let s = server("exempt_domains = [\"other.example\"]");
    let phone = Udp::new(s.sip);
    let r = phone.send(&Register::new("pat", "other.example").contact("<sip:pat@192.0.2.1>"));
    assert_eq!(r.status(), 200, "{}", r.raw);
    let r = phone.send(&Register::new("pat", "example.com").contact("<sip:pat@192.0.2.1>"));
    assert_eq!(r.status(), 401);

    let trusted = server("trusted_networks = [\"127.0.0.0/8\"]");
    let phone = Udp::new(trusted.sip);
    let r = phone.send(&Register::new("pat", "example.com").contact("<sip:pat@192.0.2.1>"));
    assert_eq!(r.status(), 200, "{}", r.raw);
}

#[test]
fn default_challenge_is_md5_only_for_compatibility() {
    let s = TestServer::start(&Opts {
        auth: true,
        ..Opts::default()
    });
    let phone = Udp::new(s.sip);
    let r = phone.send(&Register::new("alice", "example.com").contact("<sip:alice@192.0.2.1>"));
    assert_eq!(r.status(), 401);
    let offered = r.headers(HeaderName::WwwAuthenticate);
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert_eq!(
        Challenge::parse(&offered[0]).unwrap().algorithm,
        Algorithm::Md5
    );
}

#[test]
fn a_user_removed_with_the_cli_can_no_longer_register() {
    let s = server("");
    let phone = Udp::new(s.sip);
    let login = |phone: &Udp| {
        let reg = Register::new("alice", "example.com")
            .contact("<sip:alice@192.0.2.1>")
            .expires(600);
        let c = challenge(&phone.send(&reg), Algorithm::Md5);
        phone
            .send(&authorize(&reg.next(), &c, "alice", "alice-pw", 1))
            .status()
    };
    assert_eq!(login(&phone), 200, "cached after the first registration");
    let (ok, out, err) = s.cli(&["user", "remove", "alice@example.com"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("running server"),
        "the CLI tells the server: {out}"
    );
    assert_eq!(
        login(&phone),
        401,
        "the running server must not keep accepting a removed user"
    );
    let (ok, _, err) = s.cli(&["user", "add", "alice@example.com", "--password", "alice-pw"]);
    assert!(ok, "{err}");
    assert_eq!(
        login(&phone),
        200,
        "and a user added again is accepted without waiting"
    );
}
