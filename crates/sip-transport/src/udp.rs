//! The UDP transport: one receive loop and one overflow send loop per socket.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use sip_msg::Transport;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::TransportError;
use crate::handler_call::deliver;
use crate::inbound::{Handler, Inbound};
use crate::reply::ReplyHandle;

/// Receive buffer size: one more than the largest UDP payload, so no datagram is truncated.
const RECV_BUFFER: usize = 65_536;

/// A bound UDP socket and the queue for datagrams the socket could not take at once.
#[derive(Debug)]
pub(crate) struct UdpEndpoint {
    socket: UdpSocket,
    local: SocketAddr,
    overflow: mpsc::Sender<(Bytes, SocketAddr)>,
}

/// Datagrams waiting for a busy UDP socket.
pub(crate) type Overflow = mpsc::Receiver<(Bytes, SocketAddr)>;

impl UdpEndpoint {
    /// Wraps a bound socket; the caller runs [`send_loop`] on the returned queue.
    pub(crate) fn new(socket: UdpSocket, queue_len: usize) -> io::Result<(Arc<Self>, Overflow)> {
        let local = socket.local_addr()?;
        let (overflow, queue) = mpsc::channel(queue_len.max(1));
        let endpoint = Self {
            socket,
            local,
            overflow,
        };
        Ok((Arc::new(endpoint), queue))
    }

    /// The bound address.
    pub(crate) fn local(&self) -> SocketAddr {
        self.local
    }

    /// Sends a datagram at once, or queues it if the socket is busy.
    pub(crate) fn send(&self, remote: SocketAddr, data: Bytes) -> Result<(), TransportError> {
        match self.socket.try_send_to(&data, remote) {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => self
                .overflow
                .try_send((data, remote))
                .map_err(|error| match error {
                    mpsc::error::TrySendError::Full(_) => {
                        tracing::warn!(local = %self.local, %remote, "UDP send queue full");
                        TransportError::QueueFull { remote }
                    }
                    mpsc::error::TrySendError::Closed(_) => TransportError::ShutDown,
                }),
            Err(source) => Err(TransportError::Send { remote, source }),
        }
    }
}

/// Receives datagrams and hands each to the handler until shutdown.
///
/// Each datagram is copied out of one reused buffer into a `Bytes` of its exact size: one
/// allocation per datagram, and a message kept by the application pins only its own bytes.
/// Datagrams over `max_message_size` are dropped, and so are keep-alives (datagrams of
/// nothing but CR, LF, spaces, tabs or NULs, which some user agents send).
pub(crate) async fn receive_loop(
    endpoint: Arc<UdpEndpoint>,
    handler: Arc<dyn Handler>,
    max_message_size: usize,
    shutdown: CancellationToken,
) {
    let mut buf = vec![0_u8; RECV_BUFFER];
    loop {
        let received = tokio::select! {
            () = shutdown.cancelled() => return,
            received = endpoint.socket.recv_from(&mut buf) => received,
        };
        let (len, remote) = match received {
            Ok(received) => received,
            Err(error) => {
                tracing::debug!(local = %endpoint.local, %error, "UDP receive failed");
                continue;
            }
        };
        let datagram = &buf[..len];
        if len > max_message_size {
            tracing::warn!(
                local = %endpoint.local, %remote, len, limit = max_message_size,
                "dropping oversized UDP datagram"
            );
            continue;
        }
        if is_keep_alive(datagram) {
            continue;
        }
        let msg = Inbound {
            data: Bytes::copy_from_slice(datagram),
            remote,
            local: endpoint.local,
            transport: Transport::Udp,
            connection: None,
            reply: ReplyHandle::udp(Arc::clone(&endpoint), remote),
        };
        deliver(|| handler.on_message(msg));
    }
}

/// Sends the datagrams that found the socket busy, waiting for it, until shutdown.
pub(crate) async fn send_loop(
    endpoint: Arc<UdpEndpoint>,
    mut queue: Overflow,
    shutdown: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => return,
            next = queue.recv() => next,
        };
        let Some((data, remote)) = next else { return };
        if let Err(error) = endpoint.socket.send_to(&data, remote).await {
            tracing::debug!(local = %endpoint.local, %remote, %error, "UDP send failed");
        }
    }
}

/// Whether a datagram is a keep-alive rather than a message.
fn is_keep_alive(datagram: &[u8]) -> bool {
    datagram
        .iter()
        .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0))
}

#[cfg(test)]
mod tests {
    use super::is_keep_alive;

    #[test]
    fn keep_alives_are_blank_datagrams() {
        assert!(is_keep_alive(b""));
        assert!(is_keep_alive(b"\r\n\r\n"));
        assert!(is_keep_alive(b"\0\0\0\0"));
        assert!(!is_keep_alive(b"\r\nOPTIONS sip:a SIP/2.0\r\n\r\n"));
    }
}
