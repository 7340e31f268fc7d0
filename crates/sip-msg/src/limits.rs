//! Size limits enforced while indexing a message.

/// Limits that [`parse`](crate::parse) enforces, each with its own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted buffer, in bytes (default 65 535).
    pub max_message_size: usize,
    /// Largest accepted number of header fields (default 100).
    pub max_headers: usize,
    /// Longest accepted physical line, in bytes without the line ending (default 8 192).
    pub max_line_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 65_535,
            max_headers: 100,
            max_line_length: 8_192,
        }
    }
}
