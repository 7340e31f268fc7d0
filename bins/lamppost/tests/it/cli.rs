//! The command line: users, AOR display, status, reload and config errors.

use std::process::Command;

use crate::harness::{Opts, TestServer, binary};
use crate::sip::{Register, Udp};

#[test]
fn user_add_list_remove_and_import() {
    let s = TestServer::start(&Opts::default());
    let (ok, out, err) = s.cli(&["user", "add", "ann@example.com", "--password", "pw1"]);
    assert!(ok, "{err}");
    assert!(out.contains("ann@example.com"));
    let (ok, _, err) = s.cli(&["user", "add", "ann@example.com", "--password", "pw1"]);
    assert!(!ok, "a duplicate user is refused");
    assert!(err.contains("ann"), "{err}");

    let file = s.config().with_file_name("users.csv");
    let mut text = String::from("# user,password\n");
    for i in 0..1000 {
        text.push_str(&format!("imp{i:04}@other.example,secret-{i}\n"));
    }
    std::fs::write(&file, text).unwrap();
    let (ok, out, err) = s.cli(&["user", "import", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("imported 1000 users"), "{out}");

    let (ok, out, _) = s.cli(&["user", "list", "--domain", "other.example"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1000);
    let (ok, out, _) = s.cli(&["user", "list"]);
    assert!(ok);
    assert!(out.lines().any(|l| l == "ann@example.com"));

    let (ok, _, _) = s.cli(&["user", "remove", "ann@example.com"]);
    assert!(ok);
    let (ok, _, err) = s.cli(&["user", "remove", "ann@example.com"]);
    assert!(!ok);
    assert!(err.contains("no such user"), "{err}");

    std::fs::write(&file, "good@example.com,pw\nbroken-line\n").unwrap();
    let (ok, _, err) = s.cli(&["user", "import", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("users.csv:2"), "names file and line: {err}");
}

#[test]
fn aor_show_prints_bindings_from_the_running_server() {
    let s = TestServer::start(&Opts::default());
    let phone = Udp::new(s.sip);
    let r = phone.send(
        &Register::new("vic", "example.com")
            .contact("<sip:vic@192.0.2.44:5062>;q=0.5;+sip.instance=\"<urn:uuid:abc>\";reg-id=2")
            .expires(600),
    );
    assert_eq!(r.status(), 200);
    let (ok, out, err) = s.cli(&["aor", "show", "vic@example.com"]);
    assert!(ok, "{err}");
    for part in [
        "vic@example.com",
        "sip:vic@192.0.2.44:5062",
        "q=0.5",
        "UDP",
        "lamppost-test",
        "urn:uuid:abc",
        "reg-id 2",
    ] {
        assert!(out.contains(part), "{part} missing:\n{out}");
    }
    assert!(
        out.contains(&phone.local().to_string()),
        "source shown:\n{out}"
    );
    let (ok, out, _) = s.cli(&["aor", "show", "vic@example.com", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["bindings"][0]["reg_id"], 2);
    let (ok, _, err) = s.cli(&["aor", "show", "nobody@example.com"]);
    assert!(!ok);
    assert!(err.contains("no bindings"), "{err}");

    let (ok, out, _) = s.cli(&["status"]);
    assert!(ok);
    assert!(out.contains("bindings: 1"), "{out}");
    let (ok, out, err) = s.cli(&["reload"]);
    assert!(ok, "{err}");
    assert!(out.contains("reloaded"), "{out}");
}

#[test]
fn bad_config_names_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[registrar]\ndomains = [\"example.com\"]\nmax_contacts_policy = \"drop-newest\"\n",
    )
    .unwrap();
    let out = Command::new(binary())
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3"), "{err}");
    assert!(err.contains("evict-oldest"), "{err}");
}

#[test]
fn an_operator_removes_one_binding_through_the_api() {
    let s = TestServer::start(&Opts::default());
    let phone = Udp::new(s.sip);
    let r = phone.send(
        &Register::new("wes", "example.com")
            .contact("<sip:wes@192.0.2.1>, <sip:wes@192.0.2.2>")
            .expires(600),
    );
    assert_eq!(r.status(), 200);
    let id = s.aor("wes@example.com")["bindings"][0]["id"]
        .as_u64()
        .unwrap();
    let (code, _) = s
        .delete(&format!("/api/aors/wes@example.com/bindings/{id}"))
        .unwrap();
    assert_eq!(code, 204);
    let left = s.aor("wes@example.com");
    assert_eq!(left["bindings"].as_array().unwrap().len(), 1);
    assert_ne!(left["bindings"][0]["id"].as_u64(), Some(id));
    let (code, _) = s
        .delete(&format!("/api/aors/wes@example.com/bindings/{id}"))
        .unwrap();
    assert_eq!(code, 404);
    let metrics = s.get("/metrics").unwrap().1;
    assert!(
        metrics.contains("lamppost_binding_removals_total{reason=\"administrative\"} 1"),
        "{metrics}"
    );
}
