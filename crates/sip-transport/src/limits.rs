//! Resource limits of the transports.

use std::time::Duration;

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
    /// Messages queued for sending per connection (and per UDP socket when the socket is busy)
    /// before sends fail with [`TransportError::QueueFull`](crate::TransportError::QueueFull).
    pub writer_queue: usize,
    /// How long a closing connection may still send: after a framing error, replies to the bad
    /// message are accepted for this long; on close, queued messages are flushed for this long.
    pub close_linger: Duration,
}

impl Default for TransportLimits {
    fn default() -> Self {
        Self {
            max_message_size: 65_535,
            max_connections: 10_000,
            connection_idle_timeout: Duration::from_secs(3_600),
            writer_queue: 256,
            close_linger: Duration::from_secs(1),
        }
    }
}
