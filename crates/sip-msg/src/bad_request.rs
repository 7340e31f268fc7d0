//! A best-effort error response for a message that [`parse`](crate::parse) rejected.

use std::net::SocketAddr;

use memchr::memchr;
use smallvec::SmallVec;

use crate::lex::{TOKEN, span, trim_lws};
use crate::name_addr::parse_single_name_addr;
use crate::response::{via_fix, write_header, write_status_line, write_to, write_top_via};
use crate::via::parse_via;
use crate::{HeaderName, ParseError};

/// Longest header line copied into the response.
const MAX_COPIED_LINE: usize = 8_192;
/// Most Via headers copied.
const MAX_VIAS: usize = 100;
/// Total bytes of Via values copied.
const VIA_BUDGET: usize = 32 * 1024;

/// Writes an error response (`SIP/2.0 <code> <reason>`, the code and reason from `err`) for a
/// request that could not be parsed, copying whatever Via, From, To, Call-ID and CSeq lines
/// the raw bytes hold, and adding a To tag derived from the request when there is none.
///
/// Returns false and leaves `out` untouched when no response can be formed: the bytes start
/// with a status line, do not start with a request line at all, or hold no usable Via.
pub fn write_bad_request(
    out: &mut Vec<u8>,
    raw: &[u8],
    err: &ParseError,
    source: SocketAddr,
) -> bool {
    let Some(start) = raw.iter().position(|&b| b != b'\r' && b != b'\n') else {
        return false;
    };
    let mut lines = Lines {
        rest: &raw[start..],
    };
    if !lines.next().is_some_and(looks_like_request_line) {
        return false;
    }
    let mut found = Found::default();
    for line in lines {
        found.take(line);
    }
    let Some(&top) = found.vias.first() else {
        return false;
    };

    out.clear();
    write_status_line(out, err.status_code(), &err.reason_phrase());
    let fix = parse_via(top)
        .map(|(via, _)| via_fix(&via, source))
        .unwrap_or_default();
    write_top_via(out, top, &fix);
    for via in &found.vias[1..] {
        write_header(out, "Via", via);
    }
    if let Some(from) = found.from {
        write_header(out, "From", from);
    }
    if let Some(to) = found.to {
        let tag = match parse_single_name_addr(to) {
            Ok(to) if to.tag().is_none() => Some(derived_tag(&found)),
            _ => None,
        };
        write_to(out, to, tag.as_deref());
    }
    if let Some(call_id) = found.call_id {
        write_header(out, "Call-ID", call_id);
    }
    if let Some(cseq) = found.cseq {
        write_header(out, "CSeq", cseq);
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    true
}

/// `Method SP something` with a token method; a status line does not qualify.
fn looks_like_request_line(line: &[u8]) -> bool {
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        return false;
    }
    let method_end = span(line, 0, &TOKEN);
    method_end > 0
        && line.get(method_end) == Some(&b' ')
        && line.get(method_end + 1).is_some_and(|&b| b > b' ')
}

#[derive(Default)]
struct Found<'a> {
    vias: SmallVec<[&'a str; 4]>,
    via_bytes: usize,
    from: Option<&'a str>,
    to: Option<&'a str>,
    call_id: Option<&'a str>,
    cseq: Option<&'a str>,
}

impl<'a> Found<'a> {
    /// Records `line` if it is one of the copied headers and safe to copy.
    fn take(&mut self, line: &'a [u8]) {
        if line.len() > MAX_COPIED_LINE {
            return;
        }
        let Some(colon) = memchr(b':', line) else {
            return;
        };
        let name_end = span(line, 0, &TOKEN);
        if name_end == 0
            || line[name_end..colon]
                .iter()
                .any(|&b| b != b' ' && b != b'\t')
        {
            return;
        }
        let Ok(value) = std::str::from_utf8(&line[colon + 1..]) else {
            return;
        };
        let value = trim_lws(value);
        let slot = match HeaderName::parse(&line[..name_end]) {
            HeaderName::Via => {
                if self.vias.len() < MAX_VIAS && self.via_bytes + value.len() <= VIA_BUDGET {
                    self.via_bytes += value.len();
                    self.vias.push(value);
                }
                return;
            }
            HeaderName::From => &mut self.from,
            HeaderName::To => &mut self.to,
            HeaderName::CallId => &mut self.call_id,
            HeaderName::CSeq => &mut self.cseq,
            _ => return,
        };
        slot.get_or_insert(value);
    }
}

/// A To tag that is the same for every retransmission of the request (RFC 3261 §8.2.6.2).
fn derived_tag(found: &Found<'_>) -> String {
    // FNV-1a over the fields that identify the request.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        found.vias.first().copied(),
        found.from,
        found.call_id,
        found.cseq,
    ] {
        for &b in part.unwrap_or("").as_bytes().iter().chain(b"\n") {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("lp{hash:016x}")
}

/// Logical lines (folds joined) of a message head, without line endings, up to the empty
/// line or the end of the bytes.
struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest;
        if rest.is_empty() || rest[0] == b'\n' || rest.starts_with(b"\r\n") {
            return None;
        }
        let mut end = 0;
        loop {
            match memchr(b'\n', &rest[end..]) {
                Some(nl) => {
                    end += nl + 1;
                    if !matches!(rest.get(end), Some(b' ' | b'\t')) {
                        break;
                    }
                }
                None => {
                    end = rest.len();
                    break;
                }
            }
        }
        self.rest = &rest[end..];
        let line = &rest[..end];
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}
