//! Resource limits of the transports.

use std::num::NonZeroUsize;
use std::thread;
use std::time::Duration;

/// The most UDP receive threads per socket chosen by default, however many cores there are.
const MAX_DEFAULT_UDP_WORKERS: usize = 8;

/// Limits that keep a transport's memory and connection use bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportLimits {
    /// The largest message accepted, head and body, in bytes; larger datagrams are dropped and
    /// a stream carrying one is closed.
    pub max_message_size: usize,
    /// The most TCP connections open at once; connections accepted beyond it are closed at once.
    pub max_connections: usize,
    /// A connection with no traffic in either direction for this long is closed.
    pub connection_idle_timeout: Duration,
    /// Messages queued for sending per connection before sends fail with
    /// [`TransportError::QueueFull`](crate::TransportError::QueueFull).
    pub writer_queue: usize,
    /// How long a closing connection may still send: after a framing error, replies to the bad
    /// message are accepted for this long; on close, queued messages are flushed for this long.
    pub close_linger: Duration,
    /// OS threads receiving on each UDP socket, each blocked in `recv_from` and calling the
    /// [`Handler`](crate::Handler) inline, so this many messages per socket can be handled at
    /// once. Values below 1 count as 1. Defaults to the number of available cores, at most 8.
    pub udp_workers: usize,
    /// How long opening an outgoing connection may take before it fails.
    pub connect_timeout: Duration,
}

impl Default for TransportLimits {
    fn default() -> Self {
        Self {
            max_message_size: 65_535,
            max_connections: 10_000,
            connection_idle_timeout: Duration::from_secs(3_600),
            writer_queue: 256,
            close_linger: Duration::from_secs(1),
            udp_workers: thread::available_parallelism()
                .map_or(1, NonZeroUsize::get)
                .min(MAX_DEFAULT_UDP_WORKERS),
            connect_timeout: Duration::from_secs(5),
        }
    }
}
