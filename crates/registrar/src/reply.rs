//! Writing registrar responses into the caller's buffer.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::time::SystemTime;

use sip_msg::{Message, ResponseWriter, ViaFix};

/// Writes a response to `req` with `code`, `reason` and extra headers into `out`.
///
/// Returns false when no response can be formed (the request has no usable Via), in which case the request is dropped.
pub fn write_reply(
    out: &mut Vec<u8>,
    req: &Message<'_>,
    source: SocketAddr,
    code: u16,
    reason: &str,
    headers: &[(&str, &str)],
) -> bool {
    let Some(mut w) = start(out, req, source, code, reason) else {
        return false;
    };
    for (name, value) in headers {
        w.header(name, value);
    }
    w.finish(b"");
    true
}

/// Starts a response: status line plus the Via/From/To/Call-ID/CSeq copied from the request.
///
/// `None` when the request's top Via cannot be parsed (then there is nowhere to send a response).
pub fn start<'b>(
    out: &'b mut Vec<u8>,
    req: &Message<'_>,
    source: SocketAddr,
    code: u16,
    reason: &str,
) -> Option<ResponseWriter<'b>> {
    let via = req.top_via().ok()?;
    let fix: ViaFix = sip_msg::via_fix(&via, source);
    let tag = to_tag(req);
    let tag = std::str::from_utf8(&tag).ok()?;
    Some(ResponseWriter::new(out, req, code, reason, &fix, Some(tag)))
}

/// A To tag that is the same for retransmissions of one request, so a stateless reply is stable.
fn to_tag(req: &Message<'_>) -> [u8; 16] {
    let mut h = DefaultHasher::new();
    req.header(sip_msg::HeaderName::CallId).hash(&mut h);
    req.header(sip_msg::HeaderName::CSeq).hash(&mut h);
    if let Ok(from) = req.from() {
        from.tag().hash(&mut h);
    }
    hex16(h.finish())
}

/// Hashes a Via branch so a binding can remember it cheaply: 32 bits, enough to tell a retransmission (same
/// Call-ID and CSeq too) from a new request.
pub fn branch_hash(branch: Option<&str>) -> u32 {
    let mut h = DefaultHasher::new();
    branch.hash(&mut h);
    // The low half of the hash: what a 64-bit hash stored by an earlier version truncates to.
    h.finish() as u32
}

fn hex16(v: u64) -> [u8; 16] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = HEX[((v >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

/// The Date header value for `now` (RFC 7231 IMF-fixdate, as RFC 3261 §20.17 asks), formatted once per second per
/// thread.
pub fn date_header(now: SystemTime) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    LAST.with_borrow_mut(|(at, text)| {
        if *at != secs {
            *at = secs;
            *text = httpdate::fmt_http_date(now);
        }
        text.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex16_formats_all_nibbles() {
        assert_eq!(&hex16(0x0123_4567_89ab_cdef), b"0123456789abcdef");
        assert_eq!(&hex16(0), b"0000000000000000");
    }
}
