//! The UDP transport: per socket, a pool of OS threads each blocked in `recv_from` and calling
//! the handler inline; replies are blocking `send_to` calls made by whichever thread sends.
//!
//! One system call per datagram received and one per reply, with no readiness polling and no
//! hand-off between threads: the model of the classic forking SIP servers.
//!
//! **Stopping.** A thread blocked in `recv_from` does not return when asked to. The socket
//! therefore carries a read timeout ([`STOP_CHECK_INTERVAL`]) and the endpoint a stop flag,
//! which a worker checks after every datagram and every timeout: it exits at most one interval
//! (plus the handler call in progress) after [`UdpEndpoint::stop`]. This needs nothing to go
//! right, unlike the alternatives: a wake-up datagram is lost when the receive buffer is full,
//! and `shutdown(2)` on an unconnected UDP socket wakes readers only on Linux (and fails while
//! doing so). The cost is that an idle worker wakes a few times a second; a busy one never
//! reaches the timeout.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use sip_msg::Transport;
use tokio_util::task::task_tracker::TaskTrackerToken;

use crate::error::TransportError;
use crate::handler_call::deliver;
use crate::inbound::{Handler, Inbound};
use crate::reply::ReplyHandle;

/// Receive buffer size: one more than the largest UDP payload, so no datagram is truncated.
const RECV_BUFFER: usize = 65_536;

/// How long a worker may stay blocked in `recv_from` before it looks at the stop flag again.
const STOP_CHECK_INTERVAL: Duration = Duration::from_millis(200);

/// The longest a `send_to` may block. A UDP send blocks only while the socket's (large) send
/// buffer is full, which the network drains in microseconds; the bound keeps a sending thread
/// (a receive worker, or the application's own) from stalling behind a wedged interface.
const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// A bound UDP socket, shared by its receive workers and every reply handle.
#[derive(Debug)]
pub(crate) struct UdpEndpoint {
    socket: UdpSocket,
    local: SocketAddr,
    stopped: AtomicBool,
}

impl UdpEndpoint {
    /// Wraps a bound blocking socket, setting the timeouts the workers and senders rely on.
    pub(crate) fn new(socket: UdpSocket) -> io::Result<Arc<Self>> {
        socket.set_read_timeout(Some(STOP_CHECK_INTERVAL))?;
        socket.set_write_timeout(Some(SEND_TIMEOUT))?;
        let local = socket.local_addr()?;
        Ok(Arc::new(Self {
            socket,
            local,
            stopped: AtomicBool::new(false),
        }))
    }

    /// The bound address.
    pub(crate) fn local(&self) -> SocketAddr {
        self.local
    }

    /// Sends a datagram, from the calling thread. The socket stays open (and sends keep
    /// working) after [`UdpEndpoint::stop`], for as long as a reply handle holds it.
    pub(crate) fn send(&self, remote: SocketAddr, data: &[u8]) -> Result<(), TransportError> {
        loop {
            match self.socket.send_to(data, remote) {
                Ok(_) => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    tracing::debug!(
                        local = %self.local, %remote, error = %source, "UDP send failed"
                    );
                    return Err(TransportError::Send { remote, source });
                }
            }
        }
    }

    /// Tells the receive workers to exit; each does within [`STOP_CHECK_INTERVAL`] (plus the
    /// handler call it is in).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Starts receive worker number `index` (named `sip-udp-<index>`) on a clone of the
    /// socket. The worker holds `running` until it has closed its clone, so a task tracker
    /// waiting on it learns when the worker is gone.
    pub(crate) fn spawn_worker(
        self: &Arc<Self>,
        index: usize,
        handler: Arc<dyn Handler>,
        max_message_size: usize,
        running: TaskTrackerToken,
    ) -> io::Result<()> {
        let worker = Worker {
            socket: self.socket.try_clone()?,
            endpoint: Arc::clone(self),
            handler,
            max_message_size,
            _running: running,
        };
        thread::Builder::new()
            .name(format!("sip-udp-{index}"))
            .spawn(move || worker.run())?;
        Ok(())
    }
}

/// One receive thread's state. Fields drop in declaration order, so `_running` is released
/// only once the socket clone is closed and the handler let go.
struct Worker {
    socket: UdpSocket,
    endpoint: Arc<UdpEndpoint>,
    handler: Arc<dyn Handler>,
    max_message_size: usize,
    _running: TaskTrackerToken,
}

impl Worker {
    /// Receives datagrams and hands each to the handler until the endpoint stops.
    ///
    /// Each datagram is copied out of the worker's reused buffer into a `Bytes` of its exact
    /// size: one allocation per datagram, and a message kept by the application pins only its
    /// own bytes.
    fn run(self) {
        let mut buf = vec![0_u8; RECV_BUFFER];
        while !self.endpoint.is_stopped() {
            match self.socket.recv_from(&mut buf) {
                Ok((len, remote)) => self.handle(&buf[..len], remote),
                Err(error) if is_timeout(&error) => {}
                Err(error) => {
                    tracing::debug!(local = %self.endpoint.local, %error, "UDP receive failed");
                }
            }
        }
    }

    /// Hands one datagram to the handler, unless it is oversized or a keep-alive (a datagram of
    /// nothing but CR, LF, spaces, tabs or NULs, which some user agents send).
    fn handle(&self, datagram: &[u8], remote: SocketAddr) {
        if datagram.len() > self.max_message_size {
            tracing::warn!(
                local = %self.endpoint.local, %remote, len = datagram.len(),
                limit = self.max_message_size, "dropping oversized UDP datagram"
            );
            return;
        }
        if is_keep_alive(datagram) {
            return;
        }
        let msg = Inbound {
            data: Bytes::copy_from_slice(datagram),
            remote,
            local: self.endpoint.local,
            transport: Transport::Udp,
            connection: None,
            reply: ReplyHandle::udp(Arc::clone(&self.endpoint), remote),
        };
        deliver(|| self.handler.on_message(msg));
    }
}

/// Whether a receive error is the read timeout expiring (`EAGAIN` on Unix, `TimedOut` on
/// Windows) rather than a failure.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
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
