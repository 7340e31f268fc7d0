//! [`ReplyHandle`]: sending back over the socket or connection a message came from.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use sip_msg::Transport;

use crate::connections::Connection;
use crate::error::TransportError;
use crate::udp::UdpEndpoint;

/// Sends messages to one peer over the socket or connection a message came from. Cheap to
/// clone, and usable from any thread, inside a tokio runtime or not.
#[derive(Debug, Clone)]
pub struct ReplyHandle {
    remote: SocketAddr,
    route: Route,
}

/// The way back to the peer.
#[derive(Debug, Clone)]
enum Route {
    Udp(Arc<UdpEndpoint>),
    Stream(Arc<Connection>),
}

impl ReplyHandle {
    /// Replies to `remote` from a UDP socket.
    pub(crate) fn udp(endpoint: Arc<UdpEndpoint>, remote: SocketAddr) -> Self {
        Self {
            remote,
            route: Route::Udp(endpoint),
        }
    }

    /// Replies over a connection.
    pub(crate) fn stream(connection: Arc<Connection>) -> Self {
        Self {
            remote: connection.remote(),
            route: Route::Stream(connection),
        }
    }

    /// Sends one message.
    ///
    /// UDP sends the datagram at once, from the calling thread: a blocking `send_to` that
    /// returns as soon as the kernel has queued it (it waits only while the socket's send
    /// buffer is full, and then at most 100 ms). A connection queues the message for its
    /// writer without waiting. Fails if the socket reports an error, the connection has closed,
    /// or its queue is full.
    pub fn send(&self, data: Bytes) -> Result<(), TransportError> {
        match &self.route {
            Route::Udp(endpoint) => endpoint.send(self.remote, &data),
            Route::Stream(connection) => connection.send(data),
        }
    }

    /// The peer's address.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// The local address replies leave from (for UDP, the bound address).
    pub fn local(&self) -> SocketAddr {
        match &self.route {
            Route::Udp(endpoint) => endpoint.local(),
            Route::Stream(connection) => connection.local(),
        }
    }

    /// The transport replies go over.
    pub fn transport(&self) -> Transport {
        match &self.route {
            Route::Udp(_) => Transport::Udp,
            Route::Stream(connection) => connection.transport(),
        }
    }

    /// The connection replies go over, for connection-oriented transports.
    pub fn connection(&self) -> Option<u64> {
        match &self.route {
            Route::Udp(_) => None,
            Route::Stream(connection) => Some(connection.id()),
        }
    }
}
