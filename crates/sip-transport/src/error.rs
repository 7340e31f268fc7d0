//! Errors of the transport layer.

use std::io;
use std::net::SocketAddr;

use sip_msg::Transport;

use crate::listen::Listen;

/// An error binding, or sending over, a transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// [`Transports::bind`](crate::Transports::bind) was given a TCP listen address outside a
    /// tokio runtime (UDP needs none).
    #[error("TCP listeners must be bound from within a tokio runtime")]
    NoRuntime,
    /// A listening socket could not be set up.
    #[error("cannot listen on {listen}: {source}")]
    Bind {
        /// The listen address that failed.
        listen: Listen,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The transport is not implemented.
    #[error("transport {} is not supported", .0.as_str())]
    Unsupported(Transport),
    /// Sending failed at the socket.
    #[error("send to {remote} failed: {source}")]
    Send {
        /// The destination.
        remote: SocketAddr,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The connection has closed.
    #[error("connection {id} is closed")]
    ConnectionClosed {
        /// The connection id.
        id: u64,
    },
    /// The send queue is full: the peer or the network is not keeping up.
    #[error("send queue to {remote} is full")]
    QueueFull {
        /// The destination.
        remote: SocketAddr,
    },
    /// No bound socket of this transport has this local address.
    #[error("no {} socket is bound to {local}", .transport.as_str())]
    NoSocket {
        /// The transport asked for.
        transport: Transport,
        /// The local address asked for.
        local: SocketAddr,
    },
    /// No open connection joins these addresses.
    #[error("no open {} connection from {local} to {remote}", .transport.as_str())]
    NoConnection {
        /// The transport asked for.
        transport: Transport,
        /// The local address.
        local: SocketAddr,
        /// The remote address.
        remote: SocketAddr,
    },
    /// An outgoing connection could not be opened.
    #[error("cannot connect to {remote}: {source}")]
    Connect {
        /// The destination.
        remote: SocketAddr,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The connection table is full.
    #[error("cannot connect to {remote}: connection limit reached")]
    TooManyConnections {
        /// The destination.
        remote: SocketAddr,
    },
    /// The transports have been shut down.
    #[error("transports are shut down")]
    ShutDown,
}

/// An error parsing a [`Listen`] value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// The value is not `<transport>:<ip>:<port>`.
    #[error(
        "invalid listen address `{input}`: expected `<transport>:<ip>:<port>`, \
         such as `udp:0.0.0.0:5060` or `tcp:[::1]:5060`"
    )]
    Format {
        /// The value given.
        input: String,
    },
    /// The transport is unknown or not supported.
    #[error(
        "invalid listen address `{input}`: unsupported transport `{transport}`, expected `udp` or `tcp`"
    )]
    Transport {
        /// The value given.
        input: String,
        /// The transport part.
        transport: String,
    },
    /// The address part is not an IP address with a port.
    #[error(
        "invalid listen address `{input}`: `{address}` is not an IP address and port, \
         such as `0.0.0.0:5060` or `[::1]:5060`"
    )]
    Address {
        /// The value given.
        input: String,
        /// The address part.
        address: String,
    },
}
