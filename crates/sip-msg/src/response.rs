//! Writing a response by copying spans of the request into a caller-owned buffer.

use std::fmt;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::via::parse_via;
use crate::{HeaderName, Message, Via};

/// The `received` and `rport` values to add to the top Via of a response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViaFix {
    /// Value for `received=` (RFC 3261 §18.2.2).
    pub received: Option<IpAddr>,
    /// Value for `rport=` (RFC 3581).
    pub rport: Option<u16>,
}

/// Computes the Via fix for a request received from `source`.
///
/// A bare `rport` yields `rport=<source port>` and `received=<source ip>`. Otherwise
/// `received` is set when the sent-by host is not the source IP (IP addresses are compared
/// after parsing; a host name always differs).
pub fn via_fix(top_via: &Via<'_>, source: SocketAddr) -> ViaFix {
    let ip = source.ip().to_canonical();
    if top_via.rport() == Some(None) {
        return ViaFix {
            received: Some(ip),
            rport: Some(source.port()),
        };
    }
    let host = top_via.host;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let sent_by = host.parse::<IpAddr>().ok().map(|a| a.to_canonical());
    ViaFix {
        received: (sent_by != Some(ip)).then_some(ip),
        rport: None,
    }
}

/// Builds a response in a caller-owned buffer, copying the request's header spans.
#[derive(Debug)]
pub struct ResponseWriter<'b> {
    out: &'b mut Vec<u8>,
}

impl<'b> ResponseWriter<'b> {
    /// Clears `out` and writes the status line, every Via (the top one fixed), From, To (with
    /// `;tag=to_tag` added when the To has no tag), Call-ID and CSeq of `req`.
    pub fn new(
        out: &'b mut Vec<u8>,
        req: &Message<'_>,
        code: u16,
        reason: &str,
        fix: &ViaFix,
        to_tag: Option<&str>,
    ) -> Self {
        out.clear();
        write_status_line(out, code, reason);
        for (i, via) in req.header_values(HeaderName::Via).enumerate() {
            if i == 0 {
                write_top_via(out, via, fix);
            } else {
                write_header(out, "Via", via);
            }
        }
        if let Some(from) = req.header(HeaderName::From) {
            write_header(out, "From", from);
        }
        if let Some(to) = req.header(HeaderName::To) {
            let has_tag = req.to().is_ok_and(|t| t.tag().is_some());
            write_to(out, to, to_tag.filter(|_| !has_tag));
        }
        for name in [HeaderName::CallId, HeaderName::CSeq] {
            if let Some(value) = req.header(name) {
                write_header(out, name.as_str(), value);
            }
        }
        Self { out }
    }

    /// Appends `name: value`.
    pub fn header(&mut self, name: &str, value: &str) -> &mut Self {
        write_header(self.out, name, value);
        self
    }

    /// Appends `name: <formatted value>` without an intermediate `String`.
    pub fn header_fmt(&mut self, name: &str, value: fmt::Arguments<'_>) -> &mut Self {
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b": ");
        // Writing into a Vec cannot fail; a failing Display impl only truncates the value.
        let _ = self.out.write_fmt(value);
        self.out.extend_from_slice(b"\r\n");
        self
    }

    /// Appends Content-Length, the empty line and `body`.
    pub fn finish(self, body: &[u8]) {
        self.out.extend_from_slice(b"Content-Length: ");
        push_decimal(self.out, body.len());
        self.out.extend_from_slice(b"\r\n\r\n");
        self.out.extend_from_slice(body);
    }
}

pub(crate) fn write_status_line(out: &mut Vec<u8>, code: u16, reason: &str) {
    out.extend_from_slice(b"SIP/2.0 ");
    push_decimal(out, usize::from(code));
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn write_to(out: &mut Vec<u8>, to: &str, tag: Option<&str>) {
    out.extend_from_slice(b"To: ");
    out.extend_from_slice(to.as_bytes());
    if let Some(tag) = tag {
        out.extend_from_slice(b";tag=");
        out.extend_from_slice(tag.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes the first Via header with its first value rebuilt and fixed; a value that does not
/// parse is copied unchanged.
pub(crate) fn write_top_via(out: &mut Vec<u8>, value: &str, fix: &ViaFix) {
    let Ok((via, top_end)) = parse_via(value) else {
        write_header(out, "Via", value);
        return;
    };
    out.extend_from_slice(b"Via: SIP/2.0/");
    out.extend_from_slice(via.transport.as_bytes());
    out.push(b' ');
    out.extend_from_slice(via.host.as_bytes());
    if let Some(port) = via.port {
        out.push(b':');
        push_decimal(out, usize::from(port));
    }
    let (mut received_done, mut rport_done) = (false, false);
    for (name, raw_value) in via.params.raw_iter() {
        if let (true, Some(ip)) = (name.eq_ignore_ascii_case("received"), fix.received) {
            push_received(out, ip);
            received_done = true;
        } else if let (true, Some(port)) = (name.eq_ignore_ascii_case("rport"), fix.rport) {
            push_rport(out, port);
            rport_done = true;
        } else {
            out.push(b';');
            out.extend_from_slice(name.as_bytes());
            if let Some(v) = raw_value {
                out.push(b'=');
                out.extend_from_slice(v.as_bytes());
            }
        }
    }
    if let (false, Some(ip)) = (received_done, fix.received) {
        push_received(out, ip);
    }
    if let (false, Some(port)) = (rport_done, fix.rport) {
        push_rport(out, port);
    }
    // The remaining values of the first Via header follow unchanged.
    out.extend_from_slice(&value.as_bytes()[top_end..]);
    out.extend_from_slice(b"\r\n");
}

fn push_received(out: &mut Vec<u8>, ip: IpAddr) {
    out.extend_from_slice(b";received=");
    match ip {
        // Digit by digit: this runs for most UDP responses, and `Display` for addresses is slow.
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_decimal(out, usize::from(octet));
            }
        }
        // Writing into a Vec cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

fn push_rport(out: &mut Vec<u8>, port: u16) {
    out.extend_from_slice(b";rport=");
    push_decimal(out, usize::from(port));
}

fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::push_received;

    #[test]
    fn received_addresses_are_written_as_display_writes_them() {
        let addrs = [
            IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)),
            IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 100, 7)),
            IpAddr::V4(Ipv4Addr::new(192, 9, 20, 199)),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6("2001:db8::ffff:1".parse().unwrap()),
        ];
        for ip in addrs {
            let mut out = Vec::new();
            push_received(&mut out, ip);
            assert_eq!(String::from_utf8(out).unwrap(), format!(";received={ip}"));
        }
    }
}
