//! What the registration and the shell exchange: local addresses, requests to send, send failures.

use std::net::SocketAddr;

use sip_msg::Transport;

use crate::next_hop::NextHop;

/// The addresses the shell chose for a registration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalBinding {
    /// The transport of the local socket.
    pub transport: Transport,
    /// The local socket; its address goes into the Via header.
    pub local: SocketAddr,
    /// The Contact's `host[:port]`, e.g. `192.0.2.1:5060` or `[::1]:5070`.
    pub contact_host: String,
}

/// A request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: NextHop,
    /// The local socket to send it from.
    pub local: SocketAddr,
    /// One UDP datagram, or one message to write on the TCP flow.
    pub payload: Vec<u8>,
}

/// Why the shell could not send the last [`Transmit`]; the text is what the shell saw, shown to operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The destination's name did not resolve.
    Dns(String),
    /// Connecting or sending failed.
    Transport(String),
}
