//! The crate's error type.

use crate::Algorithm;

/// Why a header value could not be parsed or a response could not be built.
///
/// Parse errors name the offending parameter where there is one, so the caller can log something useful.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The value does not use the `Digest` scheme (the scheme found is carried, e.g. `Basic`).
    #[error("authentication scheme {0:?} is not Digest")]
    UnsupportedScheme(String),
    /// Text that is not a parameter where one was expected (byte offset into the header value).
    #[error("syntax error at byte {at} of the header value")]
    Syntax {
        /// Byte offset of the offending text.
        at: usize,
    },
    /// The named parameter is malformed: no `=`, an unterminated quoted string, an empty value, or junk after it.
    #[error("parameter {0} is malformed")]
    Malformed(String),
    /// A required parameter is absent.
    #[error("required parameter {0} is missing")]
    Missing(&'static str),
    /// A parameter appears more than once.
    #[error("parameter {0} appears more than once")]
    Duplicate(&'static str),
    /// A parameter's value is not acceptable (e.g. `nc` that is not eight hex digits, an unknown `qop`).
    #[error("parameter {0} has an invalid value")]
    InvalidValue(&'static str),
    /// The `algorithm` parameter names an algorithm this crate does not implement.
    #[error("algorithm {0:?} is not supported")]
    UnsupportedAlgorithm(String),
    /// The challenge offers `qop` values of which none is supported (only `auth` is).
    #[error("the challenge offers no supported qop")]
    UnsupportedQop,
    /// A stored HA1 is not a hex digest of the algorithm's length.
    #[error("HA1 for {0} is not a hex digest of the right length")]
    InvalidHa1(Algorithm),
}
