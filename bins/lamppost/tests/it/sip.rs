//! A minimal SIP user agent for the tests: builds REGISTERs, sends them over UDP or TCP, reads responses.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sip_msg::{HeaderName, Limits};

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A fresh token for Call-IDs, tags and branches.
pub(crate) fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A REGISTER under construction.
#[derive(Clone)]
pub(crate) struct Register {
    /// AOR user.
    pub(crate) user: String,
    /// AOR domain.
    pub(crate) domain: String,
    /// Contact header values, one header each (use commas inside one value for a list).
    pub(crate) contacts: Vec<String>,
    /// Expires header.
    pub(crate) expires: Option<String>,
    /// Call-ID.
    pub(crate) call_id: String,
    /// CSeq number.
    pub(crate) cseq: u32,
    /// Via branch.
    pub(crate) branch: String,
    /// Via sent-by (defaults to the socket's address).
    pub(crate) sent_by: Option<String>,
    /// Add `;rport` to the Via.
    pub(crate) rport: bool,
    /// From user (defaults to the AOR user, for third-party registration tests).
    pub(crate) from_user: Option<String>,
    /// Extra header lines.
    pub(crate) extra: Vec<String>,
}

impl Register {
    /// A REGISTER for `user@domain` with no contact (a query) and fresh identifiers.
    pub(crate) fn new(user: &str, domain: &str) -> Self {
        Self {
            user: user.into(),
            domain: domain.into(),
            contacts: Vec::new(),
            expires: None,
            call_id: unique("call"),
            cseq: 1,
            branch: unique("z9hG4bK"),
            sent_by: None,
            rport: false,
            from_user: None,
            extra: Vec::new(),
        }
    }

    /// Adds a Contact header.
    pub(crate) fn contact(mut self, c: &str) -> Self {
        self.contacts.push(c.into());
        self
    }

    /// Sets the Expires header.
    pub(crate) fn expires(mut self, e: u32) -> Self {
        self.expires = Some(e.to_string());
        self
    }

    /// Adds a raw header line.
    pub(crate) fn header(mut self, line: &str) -> Self {
        self.extra.push(line.into());
        self
    }

    /// The next request of the same dialog: same Call-ID, CSeq + 1, new branch.
    pub(crate) fn next(&self) -> Self {
        let mut n = self.clone();
        n.cseq += 1;
        n.branch = unique("z9hG4bK");
        n
    }

    /// The message text, as sent from `local` over `transport`.
    pub(crate) fn text(&self, local: SocketAddr, transport: &str) -> String {
        let sent_by = self.sent_by.clone().unwrap_or_else(|| local.to_string());
        let from_user = self.from_user.as_deref().unwrap_or(&self.user);
        let mut m = format!(
            "REGISTER sip:{domain} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {sent_by};branch={branch}{rport}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{from_user}@{domain}>;tag={tag}\r\n\
             To: <sip:{user}@{domain}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             User-Agent: lamppost-test\r\n",
            domain = self.domain,
            branch = self.branch,
            rport = if self.rport { ";rport" } else { "" },
            tag = unique("t"),
            user = self.user,
            call_id = self.call_id,
            cseq = self.cseq,
        );
        for c in &self.contacts {
            m.push_str(&format!("Contact: {c}\r\n"));
        }
        if let Some(e) = &self.expires {
            m.push_str(&format!("Expires: {e}\r\n"));
        }
        for l in &self.extra {
            m.push_str(l);
            m.push_str("\r\n");
        }
        m.push_str("Content-Length: 0\r\n\r\n");
        m
    }
}

/// A parsed response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// The raw text.
    pub(crate) raw: String,
}

impl Response {
    fn parse(bytes: &[u8]) -> Self {
        let raw = String::from_utf8_lossy(bytes).into_owned();
        sip_msg::parse(raw.as_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("server sent an unparseable response ({e}):\n{raw}"));
        Self { raw }
    }

    /// Status code.
    pub(crate) fn status(&self) -> u16 {
        self.raw[8..11].parse().unwrap()
    }

    /// Reason phrase.
    pub(crate) fn reason(&self) -> &str {
        self.raw[12..].split("\r\n").next().unwrap()
    }

    /// Every value of header `name`.
    pub(crate) fn headers(&self, name: HeaderName) -> Vec<String> {
        let msg = sip_msg::parse(self.raw.as_bytes(), &Limits::default()).unwrap();
        msg.header_values(name).map(str::to_owned).collect()
    }

    /// The first value of header `name`.
    pub(crate) fn header(&self, name: HeaderName) -> Option<String> {
        self.headers(name).into_iter().next()
    }

    /// Contact values (each item of each Contact header).
    pub(crate) fn contacts(&self) -> Vec<String> {
        let msg = sip_msg::parse(self.raw.as_bytes(), &Limits::default()).unwrap();
        msg.list_items(HeaderName::Contact)
            .map(str::to_owned)
            .collect()
    }

    /// The `expires` parameter of the contact whose URI contains `needle`.
    pub(crate) fn expires_of(&self, needle: &str) -> Option<u32> {
        let c = self.contacts().into_iter().find(|c| c.contains(needle))?;
        let e = c.split(";expires=").nth(1)?;
        e.split(|ch: char| !ch.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    }
}

/// A UDP phone.
pub(crate) struct Udp {
    sock: UdpSocket,
    server: SocketAddr,
}

impl Udp {
    /// A socket on 127.0.0.1 talking to `server`.
    pub(crate) fn new(server: SocketAddr) -> Self {
        let local = if server.is_ipv6() {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        };
        let sock = UdpSocket::bind(local).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        Self { sock, server }
    }

    /// Local address.
    pub(crate) fn local(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    /// Sends raw bytes.
    pub(crate) fn send_raw(&self, data: &[u8]) {
        self.sock.send_to(data, self.server).unwrap();
    }

    /// Waits up to `timeout` for one datagram.
    pub(crate) fn recv_within(&self, timeout: Duration) -> Option<Response> {
        self.sock.set_read_timeout(Some(timeout)).unwrap();
        let mut buf = vec![0u8; 65_535];
        let got = self.sock.recv_from(&mut buf).ok();
        self.sock
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let (n, from) = got?;
        assert_eq!(
            from, self.server,
            "response came from an unexpected address"
        );
        Some(Response::parse(&buf[..n]))
    }

    /// Sends a REGISTER and returns the response.
    pub(crate) fn send(&self, reg: &Register) -> Response {
        self.send_raw(reg.text(self.local(), "UDP").as_bytes());
        self.recv_within(Duration::from_secs(3))
            .expect("no response to REGISTER")
    }
}

/// A TCP phone.
pub(crate) struct Tcp {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Tcp {
    /// Connects to `server`.
    pub(crate) fn connect(server: SocketAddr) -> Self {
        let stream = TcpStream::connect(server).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Local address.
    pub(crate) fn local(&self) -> SocketAddr {
        self.stream.local_addr().unwrap()
    }

    /// Writes raw bytes.
    pub(crate) fn write(&mut self, data: &[u8]) {
        self.stream.write_all(data).unwrap();
    }

    /// Reads one response (framed by Content-Length).
    pub(crate) fn read_response(&mut self) -> Response {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("content-length:")
                            .or_else(|| l.strip_prefix("l:"))
                    })
                    .map_or(0, |v| v.trim().parse().unwrap());
                let total = end + 4 + len;
                if self.buf.len() >= total {
                    let msg: Vec<u8> = self.buf.drain(..total).collect();
                    return Response::parse(&msg);
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("no response over TCP");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a REGISTER and reads the response.
    pub(crate) fn send(&mut self, reg: &Register) -> Response {
        let text = reg.text(self.local(), "TCP");
        self.write(text.as_bytes());
        self.read_response()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
