//! SIP transport protocols, as named in Via headers.

/// A SIP transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP datagrams.
    Udp,
    /// A TCP connection.
    Tcp,
    /// A TLS connection.
    Tls,
    /// A WebSocket connection.
    Ws,
    /// A secure WebSocket connection.
    Wss,
}

impl Transport {
    /// The upper-case token used in Via headers (`UDP`, `TCP`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Ws => "WS",
            Self::Wss => "WSS",
        }
    }

    /// Parses a Via/config transport token, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Udp, Self::Tcp, Self::Tls, Self::Ws, Self::Wss]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether the transport is connection-oriented (a binding may be tied to the connection).
    pub fn is_reliable(self) -> bool {
        self != Self::Udp
    }
}
