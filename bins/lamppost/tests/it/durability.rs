//! Acknowledged bindings survive `kill -9`; expired ones are dropped at start.

use crate::harness::{Opts, TestServer};
use crate::sip::{Register, Udp};

#[test]
fn acknowledged_bindings_survive_kill_9() {
    let mut s = TestServer::start(&Opts::default());
    let phone = Udp::new(s.sip);
    const N: usize = 300;
    for i in 0..N {
        let r = phone.send(
            &Register::new(&format!("u{i}"), "example.com")
                .contact(&format!("<sip:u{i}@192.0.2.1:{}>", 5000 + i))
                .expires(3600),
        );
        assert_eq!(r.status(), 200, "{}", r.raw);
    }
    // No grace period: SIGKILL right after the last 200.
    s.kill_and_restart();
    let dump: serde_json::Value = serde_json::from_str(&s.get("/api/aors").unwrap().1).unwrap();
    assert_eq!(
        dump.as_array().unwrap().len(),
        N,
        "every acknowledged binding is back"
    );
    let b = &s.aor("u7@example.com")["bindings"][0];
    assert_eq!(b["contact"], "sip:u7@192.0.2.1:5007");
    assert_eq!(b["source"], phone.local().to_string());
    assert_eq!(b["user_agent"], "lamppost-test");

    // A restored binding keeps obeying the Call-ID/CSeq rule and can be removed.
    let r = phone.send(
        &Register::new("u7", "example.com")
            .contact("<sip:u7@192.0.2.1:5007>")
            .expires(0),
    );
    assert_eq!(r.status(), 200);
    s.kill_and_restart();
    assert!(
        s.aor("u7@example.com").is_null(),
        "the removal was durable too"
    );
}

#[test]
fn bindings_expire_on_a_timer_and_stay_gone_after_restart() {
    let mut s = TestServer::start(&Opts {
        registrar: "min_expires = 1\ndefault_expires = 60\nmax_expires = 3600".into(),
        ..Opts::default()
    });
    let phone = Udp::new(s.sip);
    let r = phone.send(
        &Register::new("short", "example.com")
            .contact("<sip:s@192.0.2.1>")
            .expires(1),
    );
    assert_eq!(r.status(), 200);
    let r = phone.send(
        &Register::new("long", "example.com")
            .contact("<sip:l@192.0.2.1>")
            .expires(600),
    );
    assert_eq!(r.status(), 200);
    std::thread::sleep(std::time::Duration::from_millis(3000));
    assert!(s.aor("short@example.com").is_null());
    let metrics = s.get("/metrics").unwrap().1;
    assert!(
        metrics.contains("lamppost_binding_removals_total{reason=\"expired\"} 1"),
        "{metrics}"
    );
    s.kill_and_restart();
    assert!(s.aor("short@example.com").is_null());
    assert!(!s.aor("long@example.com").is_null());
}
