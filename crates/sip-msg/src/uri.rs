//! SIP, SIPS and other URIs (RFC 3261 §19.1), with the comparison rules of §19.1.4.

use std::borrow::Cow;
use std::net::Ipv6Addr;

use memchr::memchr;

use crate::lex::{
    DIGITS, HOST, SCHEME, URI_HEADERS, URI_PASSWORD, URI_TEXT, URI_USER, escaped_span, parse_port,
    percent_decode, span,
};
use crate::{Params, ParseError};

/// The scheme of a [`Uri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (kept opaque).
    Tel,
    /// Any other scheme (kept opaque).
    Other,
}

/// A URI borrowed from the message.
///
/// `sip:` and `sips:` URIs are parsed fully. For other schemes `host` holds everything after
/// the colon and the other parts are empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uri<'a> {
    /// The scheme.
    pub scheme: Scheme,
    /// The user part, still `%`-escaped.
    pub user: Option<&'a str>,
    /// The password part, still `%`-escaped.
    pub password: Option<&'a str>,
    /// The host; IPv6 references keep their brackets.
    pub host: &'a str,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params<'a>,
    /// URI headers after `?`, raw.
    pub headers: Option<&'a str>,
    raw: &'a str,
}

impl<'a> Uri<'a> {
    /// Parses a URI; whitespace anywhere makes it invalid.
    pub fn parse(s: &'a str) -> Result<Self, ParseError> {
        parse_uri(s).map_err(|reason| ParseError::MalformedUri { reason })
    }

    /// The URI as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The user part with `%HH` escapes decoded (invalid UTF-8 replaced by U+FFFD).
    pub fn user_unescaped(&self) -> Cow<'a, str> {
        let Some(user) = self.user else {
            return Cow::Borrowed("");
        };
        match percent_decode(user) {
            Cow::Borrowed(_) => Cow::Borrowed(user),
            Cow::Owned(bytes) => Cow::Owned(match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }),
        }
    }

    /// The host in lower case (borrowed when it already is).
    pub fn host_lowercase(&self) -> Cow<'a, str> {
        if self.host.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(self.host.to_ascii_lowercase())
        } else {
            Cow::Borrowed(self.host)
        }
    }

    /// Whether two URIs are equivalent under RFC 3261 §19.1.4.
    ///
    /// User and password compare case-sensitively after unescaping, hosts case-insensitively
    /// (IPv6 references by address), ports must both be absent or equal; the `user`, `ttl`,
    /// `method`, `maddr` and `transport` parameters must match when either URI has them, other
    /// parameters only when both have them; headers must all match. URIs of other schemes are
    /// equivalent when their text is, up to the case of the scheme.
    pub fn equivalent(&self, other: &Uri<'_>) -> bool {
        if self.scheme != other.scheme {
            return false;
        }
        if !matches!(self.scheme, Scheme::Sip | Scheme::Sips) {
            let (a_scheme, a_rest) = self.raw.split_once(':').unwrap_or(("", self.raw));
            let (b_scheme, b_rest) = other.raw.split_once(':').unwrap_or(("", other.raw));
            return a_scheme.eq_ignore_ascii_case(b_scheme) && a_rest == b_rest;
        }
        decoded_eq(self.user, other.user)
            && decoded_eq(self.password, other.password)
            && hosts_equal(self.host, other.host)
            && self.port == other.port
            && params_equivalent(self.params, other.params)
            && headers_equivalent(self.headers, other.headers)
    }
}

impl std::fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw)
    }
}

/// Parses a whole URI.
pub(crate) fn parse_uri(s: &str) -> Result<Uri<'_>, &'static str> {
    let (uri, end) = parse_uri_prefix(s)?;
    if end != s.len() {
        return Err("invalid character in URI");
    }
    Ok(uri)
}

/// Parses the URI at the start of `s`, stopping at the first byte that cannot continue it
/// (such as the `>` of a name-addr); returns it and that byte's index.
pub(crate) fn parse_uri_prefix(s: &str) -> Result<(Uri<'_>, usize), &'static str> {
    let b = s.as_bytes();
    let colon = span(b, 0, &SCHEME);
    if colon == 0 || !b[0].is_ascii_alphabetic() || b.get(colon) != Some(&b':') {
        return Err("missing or invalid scheme");
    }
    let scheme_text = &b[..colon];
    let scheme = match colon {
        3 if scheme_text.eq_ignore_ascii_case(b"sip") => Scheme::Sip,
        4 if scheme_text.eq_ignore_ascii_case(b"sips") => Scheme::Sips,
        3 if scheme_text.eq_ignore_ascii_case(b"tel") => Scheme::Tel,
        _ => Scheme::Other,
    };
    let start = colon + 1;
    if !matches!(scheme, Scheme::Sip | Scheme::Sips) {
        let end = span(b, start, &URI_TEXT);
        if end == start {
            return Err("empty URI");
        }
        let uri = Uri {
            scheme,
            user: None,
            password: None,
            host: &s[start..end],
            port: None,
            params: Params::default(),
            headers: None,
            raw: &s[..end],
        };
        return Ok((uri, end));
    }
    // userinfo: a user (and password) followed by '@'; otherwise the host starts right away.
    let bad_escape = "invalid escape in the user part";
    let user_end = escaped_span(b, start, &URI_USER).ok_or(bad_escape)?;
    let (user, password, host_start) = match b.get(user_end) {
        Some(b'@') => (Some(&s[start..user_end]), None, user_end + 1),
        Some(b':') => {
            let password_end = escaped_span(b, user_end + 1, &URI_PASSWORD).ok_or(bad_escape)?;
            if b.get(password_end) == Some(&b'@') {
                let password = &s[user_end + 1..password_end];
                (Some(&s[start..user_end]), Some(password), password_end + 1)
            } else {
                (None, None, start)
            }
        }
        _ => (None, None, start),
    };
    if user == Some("") {
        return Err("empty user part");
    }
    let host_len = host_end(&b[host_start..]).ok_or("invalid host")?;
    let mut i = host_start + host_len;
    let host = &s[host_start..i];
    let mut port = None;
    if b.get(i) == Some(&b':') {
        let end = span(b, i + 1, &DIGITS);
        port = Some(parse_port(&b[i + 1..end]).ok_or("invalid port")?);
        i = end;
    }
    let mut params = Params::default();
    if b.get(i) == Some(&b';') {
        let (p, len) = Params::uri(&s[i..])?;
        params = p;
        i += len;
    }
    let mut headers = None;
    if b.get(i) == Some(&b'?') {
        let end = escaped_span(b, i + 1, &URI_HEADERS).ok_or("invalid escape in URI headers")?;
        if end == i + 1 {
            return Err("empty URI headers");
        }
        headers = Some(&s[i + 1..end]);
        i = end;
    }
    let uri = Uri {
        scheme,
        user,
        password,
        host,
        port,
        params,
        headers,
        raw: &s[..i],
    };
    Ok((uri, i))
}

/// Length of the host at the start of `b`: an IPv6 reference or a host name / IPv4 address.
pub(crate) fn host_end(b: &[u8]) -> Option<usize> {
    if b.first() == Some(&b'[') {
        let close = memchr(b']', b)?;
        let inner = std::str::from_utf8(&b[1..close]).ok()?;
        inner.parse::<Ipv6Addr>().ok()?;
        Some(close + 1)
    } else {
        let end = span(b, 0, &HOST);
        (end > 0).then_some(end)
    }
}

fn decoded_eq(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => percent_decode(a) == percent_decode(b),
        _ => false,
    }
}

fn hosts_equal(a: &str, b: &str) -> bool {
    let v6 = |h: &str| {
        h.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
    };
    match (v6(a), v6(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// Parameters that must match whenever either URI carries them.
const SIGNIFICANT: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];

fn find_param<'p>(params: Params<'p>, name: &str) -> Option<Option<&'p str>> {
    params
        .iter()
        .find(|(n, _)| percent_decode(n).eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v)
}

fn param_values_equal(name: &str, a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            let (a, b) = (percent_decode(a), percent_decode(b));
            if ["user", "maddr", "transport"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        }
        _ => false,
    }
}

fn params_equivalent(a: Params<'_>, b: Params<'_>) -> bool {
    for name in SIGNIFICANT {
        match (find_param(a, name), find_param(b, name)) {
            (None, None) => {}
            (Some(x), Some(y)) if param_values_equal(name, x, y) => {}
            _ => return false,
        }
    }
    // A repeated parameter counts by its first occurrence, as `Params::get` reads it.
    a.iter().all(|(name, value)| {
        let decoded = percent_decode(name);
        let Ok(name) = std::str::from_utf8(&decoded) else {
            return true;
        };
        if SIGNIFICANT.iter().any(|s| s.eq_ignore_ascii_case(name))
            || find_param(a, name) != Some(value)
        {
            return true;
        }
        find_param(b, name).is_none_or(|other| param_values_equal(name, value, other))
    })
}

fn headers_equivalent(a: Option<&str>, b: Option<&str>) -> bool {
    fn split(h: &str) -> impl Iterator<Item = (Cow<'_, [u8]>, Cow<'_, [u8]>)> {
        h.split('&').map(|pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(n), percent_decode(v))
        })
    }
    fn contains_all(x: &str, y: &str) -> bool {
        split(x).all(|(n, v)| split(y).any(|(m, w)| n.eq_ignore_ascii_case(&m) && v == w))
    }
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            split(a).count() == split(b).count() && contains_all(a, b) && contains_all(b, a)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri<'_> {
        Uri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn full_sip_uri() {
        let u = uri(
            "sips:alice:secret@Atlanta.COM:5061;transport=tcp;lr?subject=project%20x&priority=urgent",
        );
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user, Some("alice"));
        assert_eq!(u.password, Some("secret"));
        assert_eq!(u.host, "Atlanta.COM");
        assert_eq!(u.host_lowercase(), "atlanta.com");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.params.get("transport"), Some(Some("tcp")));
        assert!(u.params.contains("lr"));
        assert_eq!(u.headers, Some("subject=project%20x&priority=urgent"));
        assert_eq!(
            u.as_str(),
            "sips:alice:secret@Atlanta.COM:5061;transport=tcp;lr?subject=project%20x&priority=urgent"
        );
    }

    #[test]
    fn ipv6_and_hostless_user() {
        let u = uri("sip:[2001:db8::1]:5060;transport=udp");
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.port, Some(5060));
        assert_eq!(u.user, None);
        let u = uri("sip:bob@[::1]");
        assert_eq!(u.host, "[::1]");
        assert_eq!(u.port, None);
    }

    #[test]
    fn semicolon_in_user_part() {
        let u = uri("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user, Some("user;par=u%40example.net"));
        assert_eq!(u.user_unescaped(), "user;par=u@example.net");
        assert_eq!(u.host, "example.com");
        assert!(u.params.is_empty());
    }

    #[test]
    fn unescaping() {
        assert_eq!(uri("sip:%75se%72@example.com").user_unescaped(), "user");
        assert_eq!(
            uri("sip:null-%00-null@example.com").user_unescaped(),
            "null-\0-null"
        );
        assert_eq!(uri("sip:%E9t%C3%A9@h").user_unescaped(), "\u{FFFD}t\u{e9}");
        assert!(matches!(
            uri("sip:plain@h").user_unescaped(),
            Cow::Borrowed("plain")
        ));
        assert!(matches!(
            uri("sip:plain@h").host_lowercase(),
            Cow::Borrowed("h")
        ));
    }

    #[test]
    fn other_schemes_are_opaque() {
        let u = uri("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.host, "+1-201-555-0123;phone-context=example.com");
        let u = uri("soap.beep://192.0.2.103:3002");
        assert_eq!(u.scheme, Scheme::Other);
        assert_eq!(u.host, "//192.0.2.103:3002");
        assert_eq!(uri("urn:uuid:f81d4fae").host, "uuid:f81d4fae");
    }

    #[test]
    fn invalid_uris() {
        for s in [
            "",
            "sip",
            "1sip:a@b",
            "sip:",
            "sip:@host",
            "sip:user@",
            "sip:a b@host",
            " sip:a@b",
            "sip:a@b ",
            "sip:a@b:port",
            "sip:a@b:70000",
            "sip:a@b;",
            "sip:a@b; lr",
            "sip:a@b?",
            "sip:a@[::1",
            "sip:a@[zz::1]",
            "sip:a@b>",
            "sip:%zz@b",
            "<sip:a@b>",
            "http:",
            "x:a<b",
        ] {
            assert!(Uri::parse(s).is_err(), "{s:?} should be rejected");
        }
    }

    /// The equivalent pairs of RFC 3261 §19.1.4.
    #[test]
    fn rfc3261_equivalent_pairs() {
        let pairs = [
            (
                "sip:%61lice@atlanta.com;transport=TCP",
                "sip:alice@AtLanTa.CoM;Transport=tcp",
            ),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
            (
                "sip:carol@chicago.com;newparam=5",
                "sip:carol@chicago.com;security=on",
            ),
            (
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
            ),
            (
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
            ),
            ("sip:bob@[2001:db8::1]", "sip:bob@[2001:DB8:0:0:0:0:0:1]"),
        ];
        for (a, b) in pairs {
            assert!(uri(a).equivalent(&uri(b)), "{a} == {b}");
            assert!(uri(b).equivalent(&uri(a)), "{b} == {a}");
        }
    }

    /// The non-equivalent pairs of RFC 3261 §19.1.4, plus a few more.
    #[test]
    fn rfc3261_non_equivalent_pairs() {
        let pairs = [
            (
                "SIP:ALICE@AtLanTa.CoM;Transport=udp",
                "sip:alice@AtLanTa.CoM;Transport=UDP",
            ),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com:6000;transport=tcp",
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com?Subject=next%20meeting",
            ),
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;security=off",
            ),
            ("sip:a@h", "sips:a@h"),
            ("sip:a:pw@h", "sip:a@h"),
            ("sip:a@h;maddr=1.2.3.4", "sip:a@h"),
            ("sip:a@h;ttl=1", "sip:a@h;ttl=2"),
            ("sip:a@h?x=1", "sip:a@h?x=1&y=2"),
        ];
        for (a, b) in pairs {
            assert!(!uri(a).equivalent(&uri(b)), "{a} != {b}");
            assert!(!uri(b).equivalent(&uri(a)), "{b} != {a}");
        }
    }

    #[test]
    fn repeated_parameters_compare_by_their_first_occurrence() {
        let a = uri("sip:h;par=1;par=2");
        assert!(a.equivalent(&a));
        assert!(a.equivalent(&uri("sip:h;par=1")));
        assert!(!a.equivalent(&uri("sip:h;par=2")));
    }

    #[test]
    fn opaque_uri_equivalence() {
        assert!(uri("TEL:+123").equivalent(&uri("tel:+123")));
        assert!(!uri("tel:+123").equivalent(&uri("tel:+124")));
        assert!(!uri("urn:x").equivalent(&uri("name:x")));
    }
}
