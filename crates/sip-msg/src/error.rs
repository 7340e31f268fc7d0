//! The error type of every parsing operation.

use crate::HeaderName;

/// Why a message, a header or a URI could not be parsed.
///
/// Message-level errors come from [`parse`](crate::parse); header-level errors come from the
/// typed accessors of [`Message`](crate::Message) and name the header concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The buffer holds no message (nothing, or only line endings).
    #[error("empty message")]
    Empty,
    /// The buffer is larger than [`Limits::max_message_size`](crate::Limits).
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// Size of the buffer.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The message has more header fields than [`Limits::max_headers`](crate::Limits).
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
    },
    /// A physical line is longer than [`Limits::max_line_length`](crate::Limits).
    #[error("line {line} is longer than {limit} bytes")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The start line or a header line is not valid UTF-8.
    #[error("message head is not valid UTF-8")]
    NotUtf8,
    /// The Request-Line is not `Method SP Request-URI SP SIP/2.0`.
    #[error("malformed Request-Line")]
    BadRequestLine,
    /// The Status-Line is not `SIP/2.0 SP 3DIGIT SP Reason-Phrase`.
    #[error("malformed Status-Line")]
    BadStatusLine,
    /// The start line names a SIP version other than 2.0.
    #[error("unsupported SIP version")]
    UnsupportedVersion,
    /// A header line is malformed (no colon, empty or illegal name, stray continuation).
    #[error("malformed header line {line}: {reason}")]
    BadHeaderLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The header section does not end with an empty line.
    #[error("header section is not terminated by an empty line")]
    IncompleteHeaders,
    /// Content-Length is not a number, is repeated with different values, or exceeds the data.
    #[error("bad Content-Length: {reason}")]
    BadContentLength {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header that the accessor requires is absent.
    #[error("missing {0} header")]
    MissingHeader(HeaderName),
    /// A header that must appear once appears more than once.
    #[error("more than one {0} header")]
    DuplicateHeader(HeaderName),
    /// A header's value does not follow its grammar.
    #[error("malformed {header} header: {reason}")]
    MalformedHeader {
        /// The header concerned.
        header: HeaderName,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A URI given to [`Uri::parse`](crate::Uri::parse) does not follow its grammar.
    #[error("malformed URI: {reason}")]
    MalformedUri {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The CSeq method differs from the Request-Line method (RFC 3261 §8.1.1.5).
    #[error("CSeq method does not match the Request-Line method")]
    CSeqMethodMismatch,
}

impl ParseError {
    /// A short reason phrase for the error response, e.g. `Malformed Via header`.
    pub fn reason_phrase(&self) -> String {
        match self {
            Self::Empty => "Empty message".into(),
            Self::MessageTooLarge { .. } => "Message Too Large".into(),
            Self::TooManyHeaders { .. } => "Too many headers".into(),
            Self::LineTooLong { .. } => "Header line too long".into(),
            Self::NotUtf8 => "Invalid UTF-8 in message header".into(),
            Self::BadRequestLine => "Malformed Request-Line".into(),
            Self::BadStatusLine => "Malformed Status-Line".into(),
            Self::UnsupportedVersion => "Unsupported SIP version".into(),
            Self::BadHeaderLine { .. } => "Malformed header line".into(),
            Self::IncompleteHeaders => "Incomplete header section".into(),
            Self::BadContentLength { .. } => "Bad Content-Length".into(),
            Self::MissingHeader(h) => format!("Missing {h} header"),
            Self::DuplicateHeader(h) => format!("Multiple {h} headers"),
            Self::MalformedHeader { header, .. } => format!("Malformed {header} header"),
            Self::MalformedUri { .. } => "Malformed URI".into(),
            Self::CSeqMethodMismatch => "CSeq method does not match Request-Line".into(),
        }
    }

    /// The status code to answer with: 505 for an unsupported version, 513 for an oversized
    /// message, 400 otherwise.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::UnsupportedVersion => 505,
            Self::MessageTooLarge { .. } => 513,
            _ => 400,
        }
    }
}
