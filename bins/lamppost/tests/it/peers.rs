//! Real SIP clients (sipsak, baresip) register against the real binary.
//!
//! Each test is skipped, loudly, when its client is not installed; CI installs both.
//!
//! Both clients predate SHA-256 digest (RFC 8760): sipsak 0.9.8 answers only the first
//! `WWW-Authenticate` and gives up when it is SHA-256, and baresip 1.0 (libre) rejects the whole
//! 401 when any challenge in it is not MD5, although RFC 8760 §2.4 asks a client to use the
//! topmost challenge it supports. The servers here therefore offer MD5 only, as an operator with
//! such phones would configure.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Opts, TestServer, free_port, installed};

const AOR: &str = "alice@example.com";

/// A server with digest auth offering MD5 only, and the user alice@example.com / `pw`.
fn server() -> TestServer {
    let s = TestServer::start(&Opts {
        auth: true,
        auth_extra: "algorithms = [\"MD5\"]".into(),
        ..Opts::default()
    });
    let (ok, _, err) = s.cli(&["user", "add", AOR, "--password", "pw"]);
    assert!(ok, "{err}");
    s
}

/// The AOR's only binding.
fn only_binding(s: &TestServer) -> Value {
    let aor = s.aor(AOR);
    let bindings = aor["bindings"]
        .as_array()
        .unwrap_or_else(|| panic!("no bindings: {aor}"));
    assert_eq!(bindings.len(), 1, "{aor}");
    bindings[0].clone()
}

/// Calls `f` every 50 ms until it returns something or `limit` has passed.
fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A client process with stdout and stderr in one log file; killed when dropped.
struct Client {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Client {
    fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Self {
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        Self { name, child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `limit` for the process to exit.
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let child = &mut self.child;
        poll(limit, || child.try_wait().unwrap()).unwrap_or_else(|| {
            panic!(
                "{} still running after {limit:?}:\n{}",
                self.name,
                self.log()
            )
        })
    }

    /// Sends `signal` (a name such as `TERM`) to the process; whether `kill` succeeded.
    fn signal(&self, signal: &str) -> bool {
        Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{signal} {}", self.child.id()))
            .status()
            .is_ok_and(|status| status.success())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) && self.signal("TERM") {
            // A polite stop first, so that the client flushes its buffered log for the report.
            let child = &mut self.child;
            poll(Duration::from_secs(2), || child.try_wait().ok().flatten());
        }
        // Fails harmlessly when the process has already exited and been reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.log());
        }
    }
}

/// Runs sipsak in usrloc mode (register only: no `-I`/`-M`) for alice@example.com over `transport`,
/// with `args` added; returns its exit status and output.
///
/// `-E` and `-p` come before `-s`: with the proxy address already known, sipsak does not try to
/// resolve example.com. sipsak retransmits for 32 s when unanswered; it is killed after 10 s.
fn sipsak(s: &TestServer, dir: &Path, transport: &str, args: &[&str]) -> (ExitStatus, String) {
    let mut cmd = Command::new("sipsak");
    cmd.args(["-vvv", "-E", transport, "-p", &s.sip.to_string(), "-U"])
        .args(args)
        .args(["-s", &format!("sip:{AOR}")]);
    let mut client = Client::spawn("sipsak", cmd, dir.join("sipsak.log"));
    let status = client.wait(Duration::from_secs(10));
    (status, client.log())
}

/// `text` as a literal in an extended regular expression.
fn literal(text: &str) -> String {
    text.replace('.', "\\.")
}

/// sipsak 0.9.8 puts `alice@` into the digest username in usrloc mode; `-u` sets it right.
const ALICE: [&str; 4] = ["-a", "pw", "-u", "alice"];

#[test]
fn sipsak_registers_queries_and_removes_with_md5_digest() {
    let test = "sipsak_registers_queries_and_removes_with_md5_digest";
    if !installed(test, "sipsak", "sipsak") {
        return;
    }
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    for transport in ["udp", "tcp"] {
        // sipsak sends the contact without angle brackets, so it cannot carry URI parameters.
        let contact = format!(
            "sip:alice@192.0.2.44:{}",
            5062 + u16::from(transport == "tcp")
        );
        let contact = contact.as_str();

        // Register for 600 s; sipsak answers the 401 itself. `-q` makes sipsak fail unless the
        // final response lists the contact with the granted expiry.
        let listed = format!("Contact: <{}>;expires=600", literal(contact));
        let (status, log) = sipsak(
            &s,
            dir.path(),
            transport,
            &[&ALICE[..], &["-C", contact, "-x", "600", "-q", &listed]].concat(),
        );
        assert!(
            status.success(),
            "{transport}: register failed ({status}):\n{log}"
        );
        assert!(
            log.contains("SIP/2.0 401 Unauthorized"),
            "{transport}: not challenged:\n{log}"
        );
        let binding = only_binding(&s);
        assert_eq!(binding["contact"], contact, "{binding}");
        assert_eq!(binding["transport"], transport.to_uppercase(), "{binding}");
        assert_eq!(
            binding["user_agent"]
                .as_str()
                .map(|ua| ua.starts_with("sipsak ")),
            Some(true),
            "{binding}"
        );
        let left = binding["expires_in"].as_u64().unwrap();
        assert!((595..=600).contains(&left), "{binding}");

        // A query (no Contact) lists the binding and leaves it alone.
        let listed = format!("Contact: <{}>;expires=(59[0-9]|600)", literal(contact));
        let (status, log) = sipsak(
            &s,
            dir.path(),
            transport,
            &[&ALICE[..], &["-C", "none", "-q", &listed]].concat(),
        );
        assert!(
            status.success(),
            "{transport}: query failed ({status}):\n{log}"
        );
        let after = only_binding(&s);
        for key in ["id", "contact", "call_id", "cseq", "registered_at"] {
            assert_eq!(
                after[key], binding[key],
                "{transport}: the query changed {key}: {after}"
            );
        }

        // Expires 0 removes it.
        let (status, log) = sipsak(
            &s,
            dir.path(),
            transport,
            &[&ALICE[..], &["-C", contact, "-x", "0"]].concat(),
        );
        assert!(
            status.success(),
            "{transport}: removal failed ({status}):\n{log}"
        );
        assert!(
            s.aor(AOR).is_null(),
            "{transport}: still bound: {}",
            s.aor(AOR)
        );
    }
}

#[test]
fn sipsak_without_valid_credentials_gets_401_and_nothing_is_stored() {
    let test = "sipsak_without_valid_credentials_gets_401_and_nothing_is_stored";
    if !installed(test, "sipsak", "sipsak") {
        return;
    }
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    // Without `-a` sipsak sends the REGISTER bare, then answers the 401 with an empty password.
    let wrong: &[&str] = &["-a", "not-pw", "-u", "alice"];
    for credentials in [&[][..], wrong] {
        let args = [
            credentials,
            &["-C", "sip:alice@192.0.2.44:5062", "-x", "600"],
        ]
        .concat();
        let (status, log) = sipsak(&s, dir.path(), "udp", &args);
        assert!(
            !status.success(),
            "{credentials:?}: sipsak reports success:\n{log}"
        );
        let first = log.find("SIP/2.0 ").and_then(|at| log.get(at..at + 24));
        assert_eq!(
            first,
            Some("SIP/2.0 401 Unauthorized"),
            "{credentials:?}:\n{log}"
        );
        assert!(!log.contains("SIP/2.0 200"), "{credentials:?}:\n{log}");
        assert!(
            s.aor(AOR).is_null(),
            "{credentials:?}: bound: {}",
            s.aor(AOR)
        );
    }
}

/// Where the distribution keeps baresip's modules (Debian: /usr/lib/baresip/modules).
fn baresip_modules() -> &'static str {
    [
        "/usr/lib/baresip/modules",
        "/usr/lib/x86_64-linux-gnu/baresip/modules",
        "/usr/lib/aarch64-linux-gnu/baresip/modules",
        "/usr/local/lib/baresip/modules",
    ]
    .into_iter()
    .find(|dir| Path::new(dir).join("account.so").is_file())
    .unwrap_or("/usr/lib/baresip/modules")
}

/// baresip registers alice over `transport` (`udp` or `tcp`) through the server as outbound proxy,
/// then unregisters when stopped with SIGTERM.
fn baresip_registers_and_unregisters(test: &str, transport: &str) {
    if !installed(test, "baresip", "baresip-core") {
        return;
    }
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port("127.0.0.1");
    // No UI module: baresip runs headless and stops on SIGTERM.
    std::fs::write(
        dir.path().join("config"),
        format!(
            "sip_listen\t127.0.0.1:{port}\nmodule_path\t{}\nmodule_app\taccount.so\n",
            baresip_modules()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("accounts"),
        format!(
            "<sip:{AOR};transport={transport}>;auth_pass=pw;outbound=\"sip:{};transport={transport}\";regint=600\n",
            s.sip
        ),
    )
    .unwrap();
    let mut cmd = Command::new("baresip");
    // `-s` traces the SIP messages into the log.
    cmd.arg("-f").arg(dir.path()).arg("-s");
    let mut baresip = Client::spawn("baresip", cmd, dir.path().join("baresip.log"));

    let binding = poll(Duration::from_secs(10), || {
        s.aor(AOR)["bindings"]
            .as_array()
            .and_then(|b| b.first())
            .cloned()
    })
    .unwrap_or_else(|| panic!("{transport}: baresip did not register"));
    assert_eq!(only_binding(&s)["id"], binding["id"]);
    let contact = binding["contact"].as_str().unwrap();
    assert!(contact.starts_with("sip:alice"), "{binding}");
    let suffix = match transport {
        "udp" => format!("@127.0.0.1:{port}"),
        _ => format!("@127.0.0.1:{port};transport=tcp"),
    };
    assert!(contact.ends_with(&suffix), "{binding}");
    assert_eq!(binding["transport"], transport.to_uppercase(), "{binding}");
    assert_eq!(
        binding["user_agent"]
            .as_str()
            .map(|ua| ua.contains("baresip")),
        Some(true),
        "{binding}"
    );
    let left = binding["expires_in"].as_u64().unwrap();
    assert!((590..=600).contains(&left), "{binding}");
    if transport == "udp" {
        // baresip sends from its listening port.
        assert_eq!(binding["source"], format!("127.0.0.1:{port}"), "{binding}");
    } else {
        assert!(
            binding["connection"].is_u64(),
            "a TCP binding names its connection: {binding}"
        );
    }

    // On SIGTERM baresip sends REGISTER with expires=0 (answering the 401 again) and exits
    // once that transaction is done.
    assert!(baresip.signal("TERM"), "kill -TERM failed");
    let status = baresip.wait(Duration::from_secs(8));
    assert!(
        status.success(),
        "{transport}: baresip exited with {status}"
    );
    let gone = poll(Duration::from_secs(3), || {
        s.aor(AOR).is_null().then_some(())
    });
    assert!(
        gone.is_some(),
        "{transport}: still bound after baresip stopped: {}",
        s.aor(AOR)
    );
    // The SIP trace (complete only now: baresip buffers its output) shows that both the
    // registration and the removal were challenged and answered.
    let log = baresip.log();
    let (register, removal) = log
        .split_once(";expires=0")
        .unwrap_or_else(|| panic!("{transport}: no removal in the trace:\n{log}"));
    for (what, part) in [("registration", register), ("removal", removal)] {
        assert!(
            part.contains("SIP/2.0 401 Unauthorized") && part.contains("Authorization: Digest"),
            "{transport}: {what} not challenged and answered:\n{log}"
        );
    }
}

#[test]
fn baresip_registers_and_unregisters_over_udp() {
    baresip_registers_and_unregisters("baresip_registers_and_unregisters_over_udp", "udp");
}

#[test]
fn baresip_registers_and_unregisters_over_tcp() {
    baresip_registers_and_unregisters("baresip_registers_and_unregisters_over_tcp", "tcp");
}
