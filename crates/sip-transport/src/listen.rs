//! The `Listen` configuration value: a transport and a local socket address.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use sip_msg::Transport;

use crate::error::ListenError;

/// Where to accept SIP traffic, written `<transport>:<ip>:<port>` (`udp:0.0.0.0:5060`,
/// `tcp:[::1]:5060`). Port 0 asks the system for a free port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Listen {
    /// The transport: UDP or TCP.
    pub transport: Transport,
    /// The local address.
    pub addr: SocketAddr,
}

impl Listen {
    /// A listen address.
    pub fn new(transport: Transport, addr: SocketAddr) -> Self {
        Self { transport, addr }
    }
}

impl FromStr for Listen {
    type Err = ListenError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let Some((transport, address)) = input.trim().split_once(':') else {
            return Err(ListenError::Format {
                input: input.to_owned(),
            });
        };
        let transport = Transport::parse(transport)
            .filter(|t| matches!(t, Transport::Udp | Transport::Tcp))
            .ok_or_else(|| ListenError::Transport {
                input: input.to_owned(),
                transport: transport.to_owned(),
            })?;
        let addr = address.parse().map_err(|_| ListenError::Address {
            input: input.to_owned(),
            address: address.to_owned(),
        })?;
        Ok(Self { transport, addr })
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = self.transport.as_str().to_ascii_lowercase();
        write!(f, "{transport}:{}", self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipv4_and_ipv6() {
        let udp: Listen = "udp:127.0.0.1:5060".parse().unwrap();
        assert_eq!(udp.transport, Transport::Udp);
        assert_eq!(udp.addr, "127.0.0.1:5060".parse().unwrap());
        let tcp: Listen = "TCP:[::1]:5070".parse().unwrap();
        assert_eq!(tcp.transport, Transport::Tcp);
        assert_eq!(tcp.addr, "[::1]:5070".parse().unwrap());
        let any: Listen = "udp:0.0.0.0:5060".parse().unwrap();
        assert!(any.addr.ip().is_unspecified());
    }

    #[test]
    fn displays_in_the_parsed_form() {
        for text in ["udp:0.0.0.0:5060", "tcp:[::1]:5060"] {
            assert_eq!(text.parse::<Listen>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_values_with_the_expected_format() {
        let missing = "127.0.0.1".parse::<Listen>().unwrap_err();
        assert!(matches!(missing, ListenError::Format { .. }));
        assert!(missing.to_string().contains("<transport>:<ip>:<port>"));

        let tls = "tls:127.0.0.1:5061".parse::<Listen>().unwrap_err();
        assert!(matches!(tls, ListenError::Transport { ref transport, .. } if transport == "tls"));
        assert!(matches!(
            "sctp:127.0.0.1:5060".parse::<Listen>(),
            Err(ListenError::Transport { .. })
        ));

        for bad in [
            "udp:localhost:5060",
            "udp:127.0.0.1",
            "udp:::1:5060",
            "tcp:[::1]:99999",
        ] {
            let err = bad.parse::<Listen>().unwrap_err();
            assert!(matches!(err, ListenError::Address { .. }), "{bad}: {err}");
            assert!(err.to_string().contains("IP address and port"));
        }
    }
}
