//! Zero-copy, lazily indexed SIP message parser and response writer.
//!
//! # I/O contract
//!
//! This crate is sans-IO: it never touches sockets, clocks, threads or randomness. Callers
//! hand it bytes (one UDP datagram, or one message already framed from a stream) and receive
//! borrowed views; responses are written into a caller-owned `Vec<u8>`.
//!
//! # Design
//!
//! [`parse`] makes one pass over the message: it finds the start line and every header line
//! with `memchr`, records their byte spans in an inline [`smallvec::SmallVec`], resolves
//! Content-Length, and validates the head as UTF-8 once. Nothing is decoded until asked:
//! [`Message::top_via`], [`Message::from`], [`Message::contacts`] and friends parse one header
//! on demand and report a missing or malformed one as a [`ParseError`] naming it.
//!
//! [`ResponseWriter`] builds a response by copying the request's Via/From/To/Call-ID/CSeq
//! spans (fixing the top Via per RFC 3261 §18.2.2 and RFC 3581), and [`write_bad_request`]
//! does the same from raw bytes that did not parse.
//!
//! ```
//! use sip_msg::{parse, Limits, Method};
//!
//! let raw = b"REGISTER sip:example.com SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport\r\n\
//!     From: <sip:alice@example.com>;tag=456\r\n\
//!     To: <sip:alice@example.com>\r\n\
//!     Call-ID: 843817637684230@998sdasdh09\r\n\
//!     CSeq: 1826 REGISTER\r\n\
//!     Contact: <sip:alice@192.0.2.1:5060>;expires=3600\r\n\
//!     Content-Length: 0\r\n\r\n";
//! let msg = parse(raw, &Limits::default())?;
//! assert_eq!(msg.method(), Some(Method::Register));
//! assert_eq!(msg.top_via()?.branch(), Some("z9hG4bK776"));
//! assert_eq!(msg.cseq()?.seq, 1826);
//! # Ok::<(), sip_msg::ParseError>(())
//! ```

mod bad_request;
mod cseq;
mod error;
mod header_name;
mod lex;
mod limits;
mod message;
mod method;
mod name_addr;
mod params;
mod response;
pub mod transport;
mod uri;
mod via;

pub use bad_request::write_bad_request;
pub use cseq::CSeq;
pub use error::ParseError;
pub use header_name::HeaderName;
pub use lex::delta_seconds;
pub use limits::Limits;
pub use message::{Header, Message, parse};
pub use method::Method;
pub use name_addr::{Contacts, NameAddr};
pub use params::{Params, ParamsIter};
pub use response::{ResponseWriter, ViaFix, via_fix};
pub use transport::Transport;
pub use uri::{Scheme, Uri};
pub use via::Via;
