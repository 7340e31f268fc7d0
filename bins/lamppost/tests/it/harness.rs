//! Starts the real `lamppost` binary on free loopback ports with a temporary config and store.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A running server; killed when dropped.
pub(crate) struct TestServer {
    child: Option<Child>,
    dir: TempDir,
    /// SIP address (UDP and TCP share the port).
    pub(crate) sip: SocketAddr,
    /// Management API address.
    pub(crate) http: SocketAddr,
    config: PathBuf,
}

/// The path of the binary under test.
pub(crate) fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_lamppost")
}

/// A port free for both UDP and TCP on `ip`.
pub(crate) fn free_port(ip: &str) -> u16 {
    loop {
        let udp = UdpSocket::bind((ip, 0)).unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

impl TestServer {
    /// Starts a server serving `example.com` with auth off, plus `extra` TOML appended to the sections below.
    ///
    /// `extra` is given per section: `registrar` keys, `auth` keys, and raw trailing TOML.
    pub(crate) fn start(opts: &Opts) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port("127.0.0.1");
        let http_port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut listen = format!("\"udp:127.0.0.1:{port}\", \"tcp:127.0.0.1:{port}\"");
        if opts.ipv6 {
            listen.push_str(&format!(", \"udp:[::1]:{port}\", \"tcp:[::1]:{port}\""));
        }
        let config = dir.path().join("lamppost.toml");
        let text = format!(
            "[sip]\nlisten = [{listen}]\n\n[registrar]\ndomains = [\"example.com\", \"other.example\"]\n{registrar}\n\n\
             [auth]\nenabled = {auth}\n{auth_extra}\n\n[store]\nurl = \"sqlite://{db}\"\n\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n\n\
             [log]\nlevel = \"debug\"\n\n{raw}\n",
            registrar = opts.registrar,
            auth = opts.auth,
            auth_extra = opts.auth_extra,
            db = dir.path().join("lamppost.db").display(),
            raw = opts.raw,
        );
        std::fs::write(&config, text).unwrap();
        let mut server = Self {
            child: None,
            dir,
            sip: format!("127.0.0.1:{port}").parse().unwrap(),
            http: format!("127.0.0.1:{http_port}").parse().unwrap(),
            config,
        };
        server.spawn();
        server
    }

    /// The config file path.
    pub(crate) fn config(&self) -> &Path {
        &self.config
    }

    /// Runs `lamppost ARGS --config <this server's config>` and returns (success, stdout, stderr).
    pub(crate) fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(binary())
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log")).unwrap();
        let child = Command::new(binary())
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.get("/api/status").is_some_and(|(code, _)| code == 200) {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not come up:\n{}", self.log());
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and starts it again on the same store.
    pub(crate) fn kill_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Kills the server with SIGKILL.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Stops the server with SIGTERM, as an operator would, and waits up to 10 s for it to exit.
    pub(crate) fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `GET path` on the management API: (status, body).
    pub(crate) fn get(&self, path: &str) -> Option<(u16, String)> {
        http(self.http, "GET", path)
    }

    /// `DELETE path` on the management API.
    pub(crate) fn delete(&self, path: &str) -> Option<(u16, String)> {
        http(self.http, "DELETE", path)
    }

    /// The AOR's bindings as JSON (`null` when it has none).
    pub(crate) fn aor(&self, aor: &str) -> serde_json::Value {
        match self.get(&format!("/api/aors/{aor}")) {
            Some((200, body)) => serde_json::from_str(&body).unwrap(),
            Some((404, _)) => serde_json::Value::Null,
            other => panic!("unexpected API answer {other:?}"),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- server log ---\n{}", self.log());
        }
    }
}

/// Per-test configuration.
pub(crate) struct Opts {
    /// Extra `[registrar]` lines.
    pub(crate) registrar: String,
    /// `auth.enabled`.
    pub(crate) auth: bool,
    /// Extra `[auth]` lines.
    pub(crate) auth_extra: String,
    /// TOML appended at the end.
    pub(crate) raw: String,
    /// Also listen on [::1].
    pub ipv6: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            registrar:
                "min_expires = 60\nmax_expires = 7200\ndefault_expires = 3600\nmax_contacts = 10"
                    .into(),
            auth: false,
            auth_extra: String::new(),
            raw: String::new(),
            ipv6: false,
        }
    }
}

fn http(addr: SocketAddr, method: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let code = resp.get(9..12)?.parse().ok()?;
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b)?;
    // axum answers with a fixed Content-Length; no chunked decoding needed.
    Some((code, body.to_owned()))
}

/// Directories searched after `PATH`: servers such as Kamailio install into `sbin`, which a non-root `PATH` may lack.
const SBIN_DIRS: [&str; 2] = ["/usr/sbin", "/usr/local/sbin"];

/// The full path of `prog` from `PATH` or the `sbin` directories; says loudly that `test` is skipped when absent.
pub(crate) fn program(test: &str, prog: &str, package: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(SBIN_DIRS.map(PathBuf::from))
        .map(|dir| dir.join(prog))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        skipped(test, prog, package);
    }
    found
}

/// Whether `prog` is installed (see [`program`]); says loudly that `test` is skipped when it is not.
pub(crate) fn installed(test: &str, prog: &str, package: &str) -> bool {
    program(test, prog, package).is_some()
}

/// Says loudly that `test` is skipped because `what` (from the Debian package `package`) is missing.
pub(crate) fn skipped(test: &str, what: &str, package: &str) {
    // Written to the process's stderr directly, past the test harness's output capture.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test}: {what} not installed (apt-get install {package})"
    );
}
