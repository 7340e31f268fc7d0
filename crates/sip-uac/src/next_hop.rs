//! Where a REGISTER is sent: the outbound proxy or the trunk's domain.

use std::fmt;

use sip_msg::{Scheme, Transport, Uri};

/// Where to send: a host (name or IP literal), optional port, transport.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// A DNS name or an IP address; IPv6 addresses are kept without brackets.
    pub host: String,
    /// The explicit port; `None` means DNS SRV or the transport's default port (5060).
    pub port: Option<u16>,
    /// The transport to use.
    pub transport: Transport,
}

/// Why a next hop could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NextHopError {
    /// The text does not start with `sip:` (or `sips:`).
    #[error("{0:?} is not a SIP URI: write it as sip:host[:port][;transport=udp|tcp]")]
    NotSipUri(String),
    /// The URI (or `host[:port]`) does not parse.
    #[error("{text:?} is not a valid {what}: {reason}")]
    Malformed {
        /// The text as given.
        text: String,
        /// What was expected: `SIP URI` or `host[:port]`.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The URI asks for a transport the client cannot use.
    #[error(
        "{text:?} asks for transport {transport}, which outbound registration does not support yet: use udp or tcp"
    )]
    UnsupportedTransport {
        /// The text as given.
        text: String,
        /// The transport asked for (`TLS` for a `sips:` URI).
        transport: String,
    },
}

impl NextHop {
    /// Reads `sip:host[:port][;transport=udp|tcp]` (a user part and other parameters are ignored).
    ///
    /// `sips:` URIs and transports other than UDP and TCP are refused with
    /// [`NextHopError::UnsupportedTransport`].
    pub fn parse_uri(uri: &str) -> Result<Self, NextHopError> {
        let text = uri.trim();
        let scheme_ok = text
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case("sip:"))
            || text
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("sips:"));
        if !scheme_ok {
            return Err(NextHopError::NotSipUri(text.to_owned()));
        }
        let parsed = Uri::parse(text).map_err(|e| NextHopError::Malformed {
            text: text.to_owned(),
            what: "SIP URI",
            reason: e.to_string(),
        })?;
        let unsupported = |transport: &str| NextHopError::UnsupportedTransport {
            text: text.to_owned(),
            transport: transport.to_owned(),
        };
        if parsed.scheme == Scheme::Sips {
            return Err(unsupported("TLS"));
        }
        let transport = match parsed.params.get("transport") {
            None => Transport::Udp,
            Some(Some(token)) => match Transport::parse(token) {
                Some(t @ (Transport::Udp | Transport::Tcp)) => t,
                _ => return Err(unsupported(&token.to_ascii_uppercase())),
            },
            Some(None) => {
                return Err(NextHopError::Malformed {
                    text: text.to_owned(),
                    what: "SIP URI",
                    reason: "the transport parameter has no value".to_owned(),
                });
            }
        };
        Ok(Self {
            host: unbracket(parsed.host).to_owned(),
            port: parsed.port,
            transport,
        })
    }

    /// Reads `host[:port]` (IPv6 addresses in brackets) and pairs it with `transport`.
    pub fn from_domain(domain: &str, transport: Transport) -> Result<Self, NextHopError> {
        let text = domain.trim();
        let malformed = |reason: &str| NextHopError::Malformed {
            text: text.to_owned(),
            what: "host[:port]",
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(malformed("it is empty"));
        }
        let uri = format!("sip:{text}");
        let parsed = Uri::parse(&uri).map_err(|e| malformed(&e.to_string()))?;
        if parsed.user.is_some() || !parsed.params.is_empty() || parsed.headers.is_some() {
            return Err(malformed("only a host and an optional port are allowed"));
        }
        Ok(Self {
            host: unbracket(parsed.host).to_owned(),
            port: parsed.port,
            transport,
        })
    }

    /// The host as written in a URI: IPv6 addresses in brackets.
    pub fn uri_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

/// `sip:host[:port][;transport=tcp]`.
impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sip:{}", self.uri_host())?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if self.transport != Transport::Udp {
            write!(
                f,
                ";transport={}",
                self.transport.as_str().to_ascii_lowercase()
            )?;
        }
        Ok(())
    }
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_uris() {
        let hop = NextHop::parse_uri("sip:proxy.example.net:5080;transport=TCP;lr").unwrap();
        assert_eq!(hop.host, "proxy.example.net");
        assert_eq!(hop.port, Some(5080));
        assert_eq!(hop.transport, Transport::Tcp);
        assert_eq!(hop.to_string(), "sip:proxy.example.net:5080;transport=tcp");

        let hop = NextHop::parse_uri(" SIP:[2001:db8::1] ").unwrap();
        assert_eq!(
            (hop.host.as_str(), hop.port, hop.transport),
            ("2001:db8::1", None, Transport::Udp)
        );
        assert_eq!(hop.to_string(), "sip:[2001:db8::1]");
    }

    #[test]
    fn proxy_errors_say_what_is_wrong() {
        let err = NextHop::parse_uri("proxy.example.net").unwrap_err();
        assert!(matches!(err, NextHopError::NotSipUri(_)));
        assert!(err.to_string().contains("sip:host[:port]"));

        let err = NextHop::parse_uri("sips:proxy.example.net").unwrap_err();
        assert!(err.to_string().contains("transport TLS"), "{err}");

        let err = NextHop::parse_uri("sip:proxy.example.net;transport=ws").unwrap_err();
        assert!(err.to_string().contains("transport WS"), "{err}");

        let err = NextHop::parse_uri("sip:proxy example").unwrap_err();
        assert!(matches!(err, NextHopError::Malformed { .. }), "{err}");
    }

    #[test]
    fn domains() {
        let hop = NextHop::from_domain("Trunk.Example.com:5070", Transport::Tcp).unwrap();
        assert_eq!(
            (hop.host.as_str(), hop.port, hop.transport),
            ("Trunk.Example.com", Some(5070), Transport::Tcp)
        );
        let hop = NextHop::from_domain("[::1]:5062", Transport::Udp).unwrap();
        assert_eq!((hop.host.as_str(), hop.port), ("::1", Some(5062)));
        for bad in ["", "user@host", "host;transport=tcp", "host:99999", "a b"] {
            assert!(
                NextHop::from_domain(bad, Transport::Udp).is_err(),
                "{bad:?}"
            );
        }
    }
}
