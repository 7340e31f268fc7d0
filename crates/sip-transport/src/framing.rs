//! Sans-IO framing of SIP messages on a byte stream (RFC 3261 §18.3, RFC 5626 §4.4.1).

use bytes::{Bytes, BytesMut};

/// How much free space [`StreamFramer::read_buffer`] guarantees for the next read.
const READ_RESERVE: usize = 8 * 1024;

/// The end of a message head.
const HEAD_END: &[u8] = b"\r\n\r\n";

/// One unit read from a SIP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One complete SIP message: its head and exactly `Content-Length` body bytes.
    Message(Bytes),
    /// A double CRLF keep-alive ping (RFC 5626 §4.4.1); answer it with a single CRLF.
    KeepAlivePing,
    /// A lone CRLF: a keep-alive pong, or a stray CRLF before a message.
    KeepAlivePong,
    /// A message whose head was read but that cannot be framed; the stream must be closed.
    Invalid {
        /// The message head, up to and including the blank line.
        head: Bytes,
        /// Why the message cannot be framed.
        error: FrameError,
    },
}

/// Why a stream cannot be framed any further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The message has no Content-Length header, which streams require (RFC 3261 §18.3).
    #[error("message has no Content-Length header, which is required on stream transports")]
    MissingContentLength,
    /// A Content-Length value is not a decimal number.
    #[error("Content-Length value is not a decimal number")]
    InvalidContentLength,
    /// Several Content-Length headers disagree.
    #[error("message has several Content-Length headers with different values")]
    ConflictingContentLength,
    /// The message, or its head alone, is longer than the size limit.
    #[error("message exceeds the size limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// An earlier error left the stream without known message boundaries.
    #[error("stream lost its message boundaries after an earlier framing error")]
    Desynchronized,
}

/// Where the framer is in the stream.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Between messages: keep-alives or a message head come next.
    Boundary {
        /// Bytes at the start of the buffer already searched for the end of the head.
        scanned: usize,
    },
    /// A message head was read; the message is `len` bytes long in total.
    Body { len: usize },
    /// A framing error occurred; nothing more can be framed.
    Failed,
}

/// Splits a byte stream into SIP messages and keep-alives.
///
/// [`StreamFramer`] takes the bytes read from a connection, in pieces of any size, and yields
/// [`Frame`]s: whole messages, keep-alive pings and pongs. It performs no I/O and reads no clock.
///
/// # Rules
///
/// * A message is its head (start line and headers, up to and including the first CRLFCRLF)
///   followed by exactly `Content-Length` body bytes. On a stream the header is mandatory
///   (RFC 3261 §18.3); it may be spelled `Content-Length` or compactly `l`, in any case, with
///   whitespace around the colon and value, and may be folded onto continuation lines.
///   Repeated headers must agree.
/// * Between messages, a double CRLF is a keep-alive ping ([`Frame::KeepAlivePing`], to be
///   answered with a single CRLF) and a lone CRLF is a pong ([`Frame::KeepAlivePong`]). Such
///   CRLFs are never part of a message frame, so stray CRLFs before a message are skipped as
///   keep-alives. A CRLF is classified once the byte after it is known, so the frames do not
///   depend on how the stream was split into reads.
/// * A message (head and body) may be at most `max_message_size` bytes.
///
/// # Errors
///
/// A stream cannot be resynchronised after a bad message: its end is unknown. When the bad
/// message's head could be isolated, the framer yields [`Frame::Invalid`] with that head, so the
/// application can still answer it (for example `400 Bad Request` or `513 Message Too Large`);
/// otherwise (a head longer than the limit) [`StreamFramer::next_frame`] returns the error.
/// Either way the framer then fails for good ([`FrameError::Desynchronized`]) and the caller
/// must close the connection.
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    max_message_size: usize,
    state: State,
}

impl StreamFramer {
    /// A framer accepting messages of at most `max_message_size` bytes (head and body).
    pub fn new(max_message_size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max_message_size,
            state: State::Boundary { scanned: 0 },
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The internal buffer, with room for at least 8 KiB more, for reading straight into it.
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        self.buf.reserve(READ_RESERVE);
        &mut self.buf
    }

    /// Bytes received but not yet returned in a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or the error that ends the
    /// stream (see [`StreamFramer`]).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        match self.state {
            State::Failed => Err(FrameError::Desynchronized),
            State::Body { len } => Ok(self.take_message(len)),
            State::Boundary { scanned } => self.at_boundary(scanned),
        }
    }

    /// Reads keep-alives or a message head at a message boundary.
    fn at_boundary(&mut self, scanned: usize) -> Result<Option<Frame>, FrameError> {
        match self.keep_alive() {
            KeepAlive::Frame(frame) => return Ok(Some(frame)),
            KeepAlive::NeedMore => return Ok(None),
            KeepAlive::None => {}
        }
        let window = &self.buf[..self.buf.len().min(self.max_message_size)];
        let Some(head_len) = find_head_end(window, scanned) else {
            if self.buf.len() >= self.max_message_size {
                self.state = State::Failed;
                return Err(FrameError::TooLarge {
                    limit: self.max_message_size,
                });
            }
            self.state = State::Boundary {
                scanned: window.len(),
            };
            return Ok(None);
        };
        let len = content_length(&self.buf[..head_len]).and_then(|body| {
            head_len
                .checked_add(body)
                .filter(|&len| len <= self.max_message_size)
                .ok_or(FrameError::TooLarge {
                    limit: self.max_message_size,
                })
        });
        match len {
            Ok(len) => {
                self.state = State::Body { len };
                Ok(self.take_message(len))
            }
            Err(error) => {
                self.state = State::Failed;
                let head = self.buf.split_to(head_len).freeze();
                Ok(Some(Frame::Invalid { head, error }))
            }
        }
    }

    /// Consumes a keep-alive at the start of the buffer, if there is one.
    fn keep_alive(&mut self) -> KeepAlive {
        let (frame, len) = match *self.buf {
            [b'\r', b'\n', b'\r', b'\n', ..] => (Frame::KeepAlivePing, 4),
            [b'\r', b'\n', b'\r', next, ..] if next != b'\n' => (Frame::KeepAlivePong, 2),
            [b'\r', b'\n', next, ..] if next != b'\r' => (Frame::KeepAlivePong, 2),
            // Too few bytes to tell a ping from a pong from a stray CR.
            [b'\r'] | [b'\r', b'\n'] | [b'\r', b'\n', b'\r'] => return KeepAlive::NeedMore,
            _ => return KeepAlive::None,
        };
        let _ = self.buf.split_to(len);
        self.state = State::Boundary { scanned: 0 };
        KeepAlive::Frame(frame)
    }

    /// Splits off the `len`-byte message once it is fully buffered.
    fn take_message(&mut self, len: usize) -> Option<Frame> {
        if self.buf.len() < len {
            return None;
        }
        self.state = State::Boundary { scanned: 0 };
        Some(Frame::Message(self.buf.split_to(len).freeze()))
    }
}

/// The length of the head (through the first CRLFCRLF) in `buf`, searching from `scanned - 3`.
fn find_head_end(buf: &[u8], scanned: usize) -> Option<usize> {
    let from = scanned.saturating_sub(HEAD_END.len() - 1);
    buf.get(from..)?
        .windows(HEAD_END.len())
        .position(|w| w == HEAD_END)
        .map(|pos| from + pos + HEAD_END.len())
}

/// The body length declared by the Content-Length headers of `head`.
fn content_length(head: &[u8]) -> Result<usize, FrameError> {
    let mut found: Option<usize> = None;
    let mut current: Option<DecimalValue> = None;
    // Skip the start line; the head ends with an empty line.
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let [b' ' | b'\t', ..] = line {
            if let Some(value) = current.as_mut() {
                value.feed(line);
            }
            continue;
        }
        if let Some(value) = current.take() {
            found = Some(merge(found, value.finish()?)?);
        }
        if let Some((name, value)) = split_header(line)
            && is_content_length(name)
        {
            let mut decimal = DecimalValue::default();
            decimal.feed(value);
            current = Some(decimal);
        }
    }
    if let Some(value) = current {
        found = Some(merge(found, value.finish()?)?);
    }
    found.ok_or(FrameError::MissingContentLength)
}

/// Combines a repeated Content-Length value with the earlier one.
fn merge(earlier: Option<usize>, value: usize) -> Result<usize, FrameError> {
    match earlier {
        Some(earlier) if earlier != value => Err(FrameError::ConflictingContentLength),
        _ => Ok(value),
    }
}

/// Splits a header line into its name (trimmed) and raw value.
fn split_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line[..colon].trim_ascii_end();
    Some((name, &line[colon + 1..]))
}

/// Whether a header name is `Content-Length` or its compact form `l`.
fn is_content_length(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")
}

/// What the bytes at a message boundary hold.
enum KeepAlive {
    /// A keep-alive, now consumed.
    Frame(Frame),
    /// CRLFs whose meaning depends on bytes not yet received.
    NeedMore,
    /// No keep-alive: a message head starts here.
    None,
}

/// A decimal header value read from one or more (folded) lines; saturates on overflow, which
/// is then reported as too large.
#[derive(Debug, Default)]
struct DecimalValue {
    value: Option<usize>,
    /// Whitespace followed the digits: any further digit is an error.
    ended: bool,
    invalid: bool,
}

impl DecimalValue {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'0'..=b'9' if !self.ended => {
                    let digit = usize::from(b - b'0');
                    let value = self.value.unwrap_or(0);
                    self.value = Some(value.saturating_mul(10).saturating_add(digit));
                }
                b' ' | b'\t' => self.ended |= self.value.is_some(),
                _ => self.invalid = true,
            }
        }
    }

    fn finish(self) -> Result<usize, FrameError> {
        match self.value {
            Some(value) if !self.invalid => Ok(value),
            _ => Err(FrameError::InvalidContentLength),
        }
    }
}

#[cfg(test)]
mod tests;
