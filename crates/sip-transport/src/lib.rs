//! SIP transports for lamppost: UDP and TCP sockets, stream framing and the connection table.
//!
//! This is the thin I/O shell around the sans-IO protocol crates. [`Transports::bind`] binds
//! every [`Listen`] address and starts what serves it:
//!
//! * **UDP:** each socket gets [`TransportLimits::udp_workers`] dedicated OS threads, each
//!   blocked in `recv_from` on its own clone of the socket: one system call per datagram,
//!   no runtime involved. Stopped threads notice within 200 ms (a read timeout), see
//!   [`Transports::shutdown`].
//! * **TCP:** an accept loop, and per connection a reader and a writer, as tokio tasks on the
//!   runtime `bind` was called in.
//! * **In:** each complete message (a UDP datagram, or one message framed from a stream by the
//!   sans-IO [`StreamFramer`]) is handed, as an [`Inbound`], to the application's [`Handler`],
//!   called inline by the receiving thread or task: the handler must not block, and for UDP
//!   runs outside any tokio runtime context (see [`Handler`]).
//! * **Out:** [`ReplyHandle::send`] (and [`Transports::send_to`], [`Connections`]) may be
//!   called from any thread. UDP sends at once with a `send_to` on the calling thread, which
//!   returns once the kernel has queued the datagram; a connection queues for its writer task
//!   without waiting. Socket errors, full queues and closed connections are errors, never
//!   backpressure on the caller.
//! * **Connections** have monotonically increasing ids; the handler learns when one closes
//!   ([`Handler::on_connection_closed`]). Double-CRLF keep-alive pings are answered with a CRLF
//!   pong (RFC 5626 §4.4.1); idle connections are closed after
//!   [`TransportLimits::connection_idle_timeout`].
//!
//! Bounds on memory and connections come from [`TransportLimits`].

mod connections;
mod error;
mod framing;
mod handler_call;
mod inbound;
mod limits;
mod listen;
mod reply;
mod socket;
mod tcp;
mod transports;
mod udp;

pub use connections::Connections;
pub use error::{ListenError, TransportError};
pub use framing::{Frame, FrameError, StreamFramer};
pub use inbound::{Handler, Inbound};
pub use limits::TransportLimits;
pub use listen::Listen;
pub use reply::ReplyHandle;
pub use sip_msg::Transport;
pub use transports::Transports;
