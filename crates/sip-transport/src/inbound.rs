//! What the transports hand to the application: [`Inbound`] messages, via a [`Handler`].

use std::net::SocketAddr;

use bytes::Bytes;
use sip_msg::Transport;

use crate::framing::FrameError;
use crate::reply::ReplyHandle;

/// One complete SIP message as received: a UDP datagram, or one framed message of a stream.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The message bytes.
    pub data: Bytes,
    /// The sender's address.
    pub remote: SocketAddr,
    /// The local address it arrived on: the bound address for UDP (which may be a wildcard),
    /// the connection's own local address for TCP.
    pub local: SocketAddr,
    /// The transport it arrived over.
    pub transport: Transport,
    /// The connection id, for connection-oriented transports.
    pub connection: Option<u64>,
    /// Sends replies back the way the message came.
    pub reply: ReplyHandle,
}

/// The application side of the transports. Its methods are called inline by the receive
/// loops, so they must not block: hand slow work (storage, authentication) to another task or
/// thread, which replies through [`Inbound::reply`] when done.
///
/// **Threads.** Messages arriving over UDP are handled on plain OS threads (named
/// `sip-udp-<n>`, [`TransportLimits::udp_workers`](crate::TransportLimits::udp_workers) per
/// socket), several at once, *outside any tokio runtime context*: code called from
/// [`Handler::on_message`] must not use `tokio::spawn`, `Handle::current` or anything else
/// that needs an ambient runtime. An application with async slow paths captures a
/// [`tokio::runtime::Handle`] itself (with `Handle::current()` when it creates the handler)
/// and spawns through it. TCP callbacks run on tasks of the runtime
/// [`Transports::bind`](crate::Transports::bind) was called in, but the handler should not
/// rely on it.
///
/// A panic in a method is caught and logged; on a stream it closes the connection, on UDP the
/// datagram is dropped and the thread keeps receiving.
pub trait Handler: Send + Sync + 'static {
    /// A message arrived. May run on a thread without a tokio runtime context (see above).
    fn on_message(&self, msg: Inbound);

    /// A stream carried a message that cannot be framed (see
    /// [`Frame::Invalid`](crate::Frame::Invalid)); `msg.data` is its head. Replies sent within
    /// [`TransportLimits::close_linger`](crate::TransportLimits::close_linger) are still
    /// delivered; then the connection closes.
    fn on_invalid(&self, _msg: Inbound, _error: &FrameError) {}

    /// A connection closed, for whatever reason; its id will not be used again.
    fn on_connection_closed(&self, _id: u64, _remote: SocketAddr) {}
}
