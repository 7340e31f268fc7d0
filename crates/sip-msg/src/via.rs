//! The Via header (RFC 3261 §20.42).

use crate::lex::{DIGITS, TOKEN, parse_port, skip_lws, span};
use crate::uri::host_end;
use crate::{Params, Transport};

/// One Via value: `SIP/2.0/transport sent-by;params`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    /// The transport token as written (`UDP`, `TCP`, `SCTP`, ...).
    pub transport: &'a str,
    /// The sent-by host; IPv6 references keep their brackets.
    pub host: &'a str,
    /// The sent-by port, if any.
    pub port: Option<u16>,
    /// The Via parameters.
    pub params: Params<'a>,
    branch: Option<&'a str>,
    rport: Option<Option<u16>>,
    received: Option<&'a str>,
}

impl<'a> Via<'a> {
    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&'a str> {
        self.branch
    }

    /// The `rport` parameter (RFC 3581): `Some(None)` when present without a value.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.rport
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&'a str> {
        self.received
    }

    /// The transport, if it is one this crate knows.
    pub fn known_transport(&self) -> Option<Transport> {
        Transport::parse(self.transport)
    }
}

/// Parses the Via value at the start of `s` up to the end or an unquoted `,`; returns it and
/// the index of the `,` or the end.
pub(crate) fn parse_via(s: &str) -> Result<(Via<'_>, usize), &'static str> {
    let b = s.as_bytes();
    let name_end = span(b, 0, &TOKEN);
    if !b[..name_end].eq_ignore_ascii_case(b"SIP") {
        return Err("protocol is not SIP");
    }
    let mut i = expect_slash(b, name_end)?;
    let version_end = span(b, i, &TOKEN);
    if &b[i..version_end] != b"2.0" {
        return Err("unsupported protocol version");
    }
    i = expect_slash(b, version_end)?;
    let transport_end = span(b, i, &TOKEN);
    if transport_end == i {
        return Err("missing transport");
    }
    let transport = &s[i..transport_end];
    i = skip_lws(b, transport_end);
    if i == transport_end {
        return Err("missing whitespace before sent-by");
    }
    let host_len = host_end(&b[i..]).ok_or("invalid sent-by host")?;
    let host = &s[i..i + host_len];
    i = skip_lws(b, i + host_len);
    let mut port = None;
    if b.get(i) == Some(&b':') {
        let start = skip_lws(b, i + 1);
        let end = span(b, start, &DIGITS);
        port = Some(parse_port(&b[start..end]).ok_or("invalid sent-by port")?);
        i = skip_lws(b, end);
    }
    let (params, [branch, rport, received], end) =
        Params::header(&s[i..], ["branch", "rport", "received"])?;
    let rport = match rport {
        Some(Some(p)) => Some(Some(parse_port(p.as_bytes()).ok_or("invalid rport")?)),
        Some(None) => Some(None),
        None => None,
    };
    if branch == Some(None) || received == Some(None) {
        return Err("branch or received parameter without a value");
    }
    let via = Via {
        transport,
        host,
        port,
        params,
        branch: branch.flatten(),
        rport,
        received: received.flatten(),
    };
    Ok((via, i + end))
}

fn expect_slash(b: &[u8], i: usize) -> Result<usize, &'static str> {
    let i = skip_lws(b, i);
    if b.get(i) != Some(&b'/') {
        return Err("malformed sent-protocol");
    }
    Ok(skip_lws(b, i + 1))
}

#[cfg(test)]
mod tests {
    use super::Via;
    use crate::Transport;

    fn parse_via(s: &str) -> Result<Via<'_>, &'static str> {
        let (via, end) = super::parse_via(s)?;
        assert_eq!(end, s.len(), "{s}");
        Ok(via)
    }

    #[test]
    fn stops_at_the_next_value() {
        let text = "SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , SIP/2.0/TCP b";
        let (via, end) = super::parse_via(text).unwrap();
        assert_eq!(
            (via.host, via.branch()),
            ("a.example.com", Some("z9hG4bK1"))
        );
        assert_eq!(&text[end..], ", SIP/2.0/TCP b");
        let (via, end) = super::parse_via("SIP/2.0/UDP h:5060,x").unwrap();
        assert_eq!((via.port, end), (Some(5060), 18));
    }

    #[test]
    fn folded_via() {
        let v = parse_via("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.0.2.2");
        assert_eq!(v.port, None);
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert_eq!(v.known_transport(), Some(Transport::Udp));
    }

    #[test]
    fn spaced_params_and_port() {
        let v = parse_via(
            "SIP / 2.0 / TCP spindle.example.com : 5070  ;\r\n  branch  =   z9hG4bK9ikj8",
        )
        .unwrap();
        assert_eq!(v.transport, "TCP");
        assert_eq!(v.host, "spindle.example.com");
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
    }

    #[test]
    fn ipv6_rport_received() {
        let v =
            parse_via("SIP/2.0/UDP [2001:db8::1]:5060;rport;branch=z9hG4bKx;received=2001:db8::9")
                .unwrap();
        assert_eq!(v.host, "[2001:db8::1]");
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("2001:db8::9"));
        let v = parse_via("SIP/2.0/UDP h;rport=5062").unwrap();
        assert_eq!(v.rport(), Some(Some(5062)));
        let v = parse_via("SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en").unwrap();
        assert_eq!(v.transport, "UNKNOWN");
        assert_eq!(v.known_transport(), None);
        assert_eq!(v.rport(), None);
    }

    #[test]
    fn malformed() {
        for s in [
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/7.0/UDP c.example.com",
            "HTTP/2.0/UDP h",
            "SIP/2.0 h",
            "SIP/2.0/UDP",
            "SIP/2.0/UDPh",
            "SIP/2.0/UDP h:",
            "SIP/2.0/UDP h:99999",
            "SIP/2.0/UDP h junk",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/UDP h;rport=x",
            "SIP/2.0/UDP h;branch",
            "SIP/2.0/UDP h;received;branch=z9hG4bK1",
        ] {
            assert!(parse_via(s).is_err(), "{s:?} should be rejected");
        }
    }
}
