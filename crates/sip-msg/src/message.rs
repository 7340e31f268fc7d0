//! Indexing a received message in one pass, and reading it lazily.

use smallvec::SmallVec;

use crate::cseq::parse_cseq;
use crate::lex::{
    GRAPHIC, ListItems, TOKEN, URI_TEXT, delta_seconds, is_lws, parse_u32, span, trim_lws,
};
use crate::name_addr::{parse_name_addr, parse_single_name_addr};
use crate::via::parse_via;
use crate::{CSeq, Contacts, HeaderName, Limits, Method, NameAddr, ParseError, Via};

/// Header fields indexed without allocating; more spill to the heap.
const INLINE_HEADERS: usize = 20;

/// Number of known header names ([`HeaderName::Other`] excluded).
const KNOWN: usize = HeaderName::Other as usize;

// One bit per known name in `Message::repeated`.
const _: () = assert!(KNOWN <= 32);

/// Marks a known header that does not occur.
const ABSENT: u32 = u32::MAX;

/// Byte spans of one header field within the message head.
#[derive(Debug, Clone, Copy)]
struct Entry {
    name_start: u32,
    value_start: u32,
    value_end: u32,
    name_len: u16,
    name: HeaderName,
}

impl Entry {
    #[inline]
    fn value<'a>(&self, head: &'a str) -> &'a str {
        &head[self.value_start as usize..self.value_end as usize]
    }

    #[inline]
    fn raw_name<'a>(&self, head: &'a str) -> &'a str {
        let start = self.name_start as usize;
        &head[start..start + usize::from(self.name_len)]
    }
}

#[derive(Debug, Clone, Copy)]
enum StartLine<'a> {
    Request { method: Method<'a>, uri: &'a str },
    Response { code: u16, reason: &'a str },
}

/// One header field as it appears in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The identified name.
    pub name: HeaderName,
    /// The name as written (`v`, `VIA`, `X-Custom`, ...).
    pub raw_name: &'a str,
    /// The value, trimmed; a folded value keeps its internal line breaks.
    pub value: &'a str,
}

/// A parsed SIP message borrowing the received bytes.
///
/// [`parse`] checks the framing only: start line, header lines, Content-Length and limits.
/// Headers are decoded when an accessor asks for them, and accessors report missing or
/// malformed headers.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    bytes: &'a [u8],
    head: &'a str,
    start: StartLine<'a>,
    headers: SmallVec<[Entry; INLINE_HEADERS]>,
    /// Index in `headers` of the first occurrence of each known name.
    first: [u32; KNOWN],
    /// Bit per known name that occurs more than once.
    repeated: u32,
    body: &'a [u8],
}

/// Indexes one message (a datagram, or one message framed from a stream).
///
/// Leading CRLFs are skipped. With Content-Length the body is exactly that many bytes and
/// any further bytes are ignored (RFC 3261 §18.3); without it, the body is the rest of `buf`.
pub fn parse<'a>(buf: &'a [u8], limits: &Limits) -> Result<Message<'a>, ParseError> {
    if buf.len() > limits.max_message_size || u32::try_from(buf.len()).is_err() {
        return Err(ParseError::MessageTooLarge {
            size: buf.len(),
            limit: limits.max_message_size,
        });
    }
    let skip = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .ok_or(ParseError::Empty)?;
    let buf = &buf[skip..];

    // One pass over the line ends of the head.
    let mut newlines = memchr::memchr_iter(b'\n', buf);
    let start_nl = next_line_end(&mut newlines, buf, 0, 1, limits)?;
    let start = index_start_line(strip_cr(&buf[..start_nl]))?;

    let mut headers = SmallVec::<[Entry; INLINE_HEADERS]>::new();
    let mut first = [ABSENT; KNOWN];
    let mut repeated = 0u32;
    let mut content_length = None;
    let mut pos = start_nl + 1;
    let mut line = 1;
    let (head_end, body_start) = loop {
        line += 1;
        match buf.get(pos) {
            None => return Err(ParseError::IncompleteHeaders),
            Some(b'\n') => break (pos, pos + 1),
            Some(b'\r') if buf.get(pos + 1) == Some(&b'\n') => break (pos, pos + 2),
            _ => {}
        }
        let (name_len, name) = HeaderName::scan(&buf[pos..]);
        let name_end = pos + name_len;
        if name_end == pos {
            let reason = if matches!(buf[pos], b' ' | b'\t') {
                "continuation line without a header"
            } else {
                "empty or invalid header name"
            };
            return Err(ParseError::BadHeaderLine { line, reason });
        }
        let mut colon = name_end;
        while matches!(buf.get(colon), Some(b' ' | b'\t')) {
            colon += 1;
        }
        if buf.get(colon) != Some(&b':') {
            return Err(ParseError::BadHeaderLine {
                line,
                reason: "invalid header name or missing colon",
            });
        }
        let mut line_start = pos;
        let line_end = loop {
            let nl = next_line_end(&mut newlines, buf, line_start, line, limits)?;
            if matches!(buf.get(nl + 1), Some(b' ' | b'\t')) {
                line += 1;
                line_start = nl + 1;
            } else {
                break nl;
            }
        };
        let content_end = if buf[line_end - 1] == b'\r' {
            line_end - 1
        } else {
            line_end
        };
        let (value_start, value_end) = trim_span(buf, colon + 1, content_end);
        let name_len = u16::try_from(name_len).map_err(|_| ParseError::BadHeaderLine {
            line,
            reason: "header name too long",
        })?;
        if name == HeaderName::ContentLength {
            let value =
                parse_u32(&buf[value_start..value_end]).ok_or(ParseError::BadContentLength {
                    reason: "not a number",
                })?;
            if content_length.is_some_and(|previous| previous != value) {
                return Err(ParseError::BadContentLength {
                    reason: "conflicting values",
                });
            }
            content_length = Some(value);
        }
        if headers.len() >= limits.max_headers {
            return Err(ParseError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        // Offsets and counts fit in u32: the buffer length was checked above.
        if let Some(slot) = first.get_mut(name as usize) {
            if *slot == ABSENT {
                *slot = headers.len() as u32;
            } else {
                repeated |= 1 << (name as u32);
            }
        }
        let entry = Entry {
            name,
            name_start: pos as u32,
            name_len,
            value_start: value_start as u32,
            value_end: value_end as u32,
        };
        headers.push(entry);
        pos = line_end + 1;
    };

    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| ParseError::NotUtf8)?;
    let available = &buf[body_start..];
    let (body, end) = match content_length {
        Some(len) => {
            let body = usize::try_from(len)
                .ok()
                .and_then(|len| available.get(..len))
                .ok_or(ParseError::BadContentLength {
                    reason: "larger than the data received",
                })?;
            (body, body_start + body.len())
        }
        None => (available, buf.len()),
    };
    let start = match start {
        StartSpans::Request {
            method_end,
            uri_end,
        } => StartLine::Request {
            method: Method::parse(&head[..method_end]),
            uri: &head[method_end + 1..uri_end],
        },
        StartSpans::Response { code, reason_start } => StartLine::Response {
            code,
            reason: &head[reason_start..strip_cr(&buf[..start_nl]).len()],
        },
    };
    Ok(Message {
        bytes: &buf[..end],
        head,
        start,
        headers,
        first,
        repeated,
        body,
    })
}

/// The next `\n` from `newlines`, which ends the physical line starting at `line_start`;
/// enforces the line length limit.
#[inline]
fn next_line_end(
    newlines: &mut memchr::Memchr<'_>,
    buf: &[u8],
    line_start: usize,
    line: usize,
    limits: &Limits,
) -> Result<usize, ParseError> {
    let too_long = ParseError::LineTooLong {
        line,
        limit: limits.max_line_length,
    };
    match newlines.next() {
        Some(nl) if strip_cr(&buf[line_start..nl]).len() <= limits.max_line_length => Ok(nl),
        Some(_) => Err(too_long),
        None if buf.len() - line_start > limits.max_line_length => Err(too_long),
        None => Err(ParseError::IncompleteHeaders),
    }
}

/// `start..end` without leading and trailing LWS.
#[inline(always)]
fn trim_span(buf: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while let Some(&b) = buf.get(start)
        && start < end
        && is_lws(b)
    {
        start += 1;
    }
    while end > start && buf.get(end - 1).is_some_and(|&b| is_lws(b)) {
        end -= 1;
    }
    (start, end)
}

#[inline]
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

enum StartSpans {
    Request { method_end: usize, uri_end: usize },
    Response { code: u16, reason_start: usize },
}

/// Whether `v` is `SIP/<digits>.<digits>`, case-insensitively.
fn is_sip_version(v: &[u8]) -> bool {
    v.len() > 4
        && v[..4].eq_ignore_ascii_case(b"SIP/")
        && match v[4..].iter().position(|&c| c == b'.') {
            Some(dot) => {
                let (major, minor) = (&v[4..4 + dot], &v[5 + dot..]);
                !major.is_empty()
                    && !minor.is_empty()
                    && major.iter().chain(minor).all(u8::is_ascii_digit)
            }
            None => false,
        }
}

fn check_version(v: &[u8], otherwise: ParseError) -> Result<(), ParseError> {
    if v.len() == 7 && v[..3].eq_ignore_ascii_case(b"SIP") && &v[3..] == b"/2.0" {
        Ok(())
    } else if is_sip_version(v) {
        Err(ParseError::UnsupportedVersion)
    } else {
        Err(otherwise)
    }
}

fn index_start_line(line: &[u8]) -> Result<StartSpans, ParseError> {
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        let bad = ParseError::BadStatusLine;
        let version_end = line.iter().position(|&c| c == b' ').unwrap_or(line.len());
        check_version(&line[..version_end], bad)?;
        let code_start = version_end + 1;
        let digits = line.get(code_start..code_start + 3).ok_or(bad)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad);
        }
        let code = digits
            .iter()
            .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
        if !(100..=699).contains(&code) {
            return Err(bad);
        }
        let reason_start = match line.get(code_start + 3) {
            None => code_start + 3,
            Some(b' ') => code_start + 4,
            Some(_) => return Err(bad),
        };
        Ok(StartSpans::Response { code, reason_start })
    } else {
        let bad = ParseError::BadRequestLine;
        let method_end = span(line, 0, &TOKEN);
        if method_end == 0 || line.get(method_end) != Some(&b' ') {
            return Err(bad);
        }
        let uri_start = method_end + 1;
        let uri_end = uri_start
            + line[uri_start..]
                .iter()
                .position(|&c| c == b' ')
                .ok_or(bad)?;
        let uri = &line[uri_start..uri_end];
        let plausible = uri.first().is_some_and(u8::is_ascii_alphabetic)
            && uri.contains(&b':')
            && span(uri, 0, &URI_TEXT) == uri.len();
        if !plausible {
            return Err(bad);
        }
        check_version(&line[uri_end + 1..], bad)?;
        Ok(StartSpans::Request {
            method_end,
            uri_end,
        })
    }
}

impl<'a> Message<'a> {
    /// Whether this is a request (else a response).
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method; `None` for a response.
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI as written; `None` for a response. Parse it with [`Uri::parse`](crate::Uri::parse).
    pub fn request_uri(&self) -> Option<&'a str> {
        match self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// Status code and reason phrase; `None` for a request.
    pub fn status(&self) -> Option<(u16, &'a str)> {
        match self.start {
            StartLine::Response { code, reason } => Some((code, reason)),
            StartLine::Request { .. } => None,
        }
    }

    /// The trimmed value of the first header called `name`.
    pub fn header(&self, name: HeaderName) -> Option<&'a str> {
        self.header_values(name).next()
    }

    /// The trimmed value of the first header called `name`, case-insensitively; known names
    /// also match their compact forms and other spellings.
    pub fn header_named(&self, name: &str) -> Option<&'a str> {
        match HeaderName::parse(name.as_bytes()) {
            HeaderName::Other => self
                .headers()
                .find(|h| h.name == HeaderName::Other && h.raw_name.eq_ignore_ascii_case(name))
                .map(|h| h.value),
            known => self.header(known),
        }
    }

    /// The trimmed value of each header called `name`, in order.
    pub fn header_values(&self, name: HeaderName) -> impl Iterator<Item = &'a str> {
        let head = self.head;
        let start = match self.first.get(name as usize) {
            Some(&ABSENT) => self.headers.len(),
            Some(&index) => index as usize,
            None => 0,
        };
        self.headers[start..]
            .iter()
            .filter(move |e| e.name == name)
            .map(move |e| e.value(head))
    }

    /// The comma-separated items of every header called `name`, in order: split outside
    /// quoted strings and `<>`, trimmed, empty items skipped.
    pub fn list_items(&self, name: HeaderName) -> impl Iterator<Item = &'a str> {
        self.header_values(name).flat_map(ListItems::new)
    }

    /// All header fields in order.
    pub fn headers(&self) -> impl Iterator<Item = Header<'a>> {
        let head = self.head;
        self.headers.iter().map(move |e| Header {
            name: e.name,
            raw_name: e.raw_name(head),
            value: e.value(head),
        })
    }

    /// The body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The message's bytes from the start line to the end of the body (leading CRLFs and
    /// bytes past Content-Length excluded).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The value of the one header called `name` (a known name).
    fn single(&self, name: HeaderName) -> Result<&'a str, ParseError> {
        let index = self.first.get(name as usize).copied().unwrap_or(ABSENT);
        let entry = self
            .headers
            .get(index as usize)
            .ok_or(ParseError::MissingHeader(name))?;
        if self.repeated & (1 << (name as u32)) != 0 {
            return Err(ParseError::DuplicateHeader(name));
        }
        Ok(entry.value(self.head))
    }

    /// The Call-ID: present once, non-empty, visible ASCII only.
    pub fn call_id(&self) -> Result<&'a str, ParseError> {
        let value = self.single(HeaderName::CallId)?;
        if value.is_empty() || span(value.as_bytes(), 0, &GRAPHIC) != value.len() {
            return Err(malformed(HeaderName::CallId, "not a word[@word]"));
        }
        Ok(value)
    }

    /// The CSeq, present once.
    pub fn cseq(&self) -> Result<CSeq<'a>, ParseError> {
        parse_cseq(self.single(HeaderName::CSeq)?).map_err(|r| malformed(HeaderName::CSeq, r))
    }

    /// The first value of the first Via header (later values are not examined).
    pub fn top_via(&self) -> Result<Via<'a>, ParseError> {
        let value = self
            .header(HeaderName::Via)
            .ok_or(ParseError::MissingHeader(HeaderName::Via))?;
        parse_via(value)
            .map(|(via, _)| via)
            .map_err(|r| malformed(HeaderName::Via, r))
    }

    /// The From header, present once.
    pub fn from(&self) -> Result<NameAddr<'a>, ParseError> {
        self.name_addr(HeaderName::From)
    }

    /// The To header, present once.
    pub fn to(&self) -> Result<NameAddr<'a>, ParseError> {
        self.name_addr(HeaderName::To)
    }

    fn name_addr(&self, name: HeaderName) -> Result<NameAddr<'a>, ParseError> {
        parse_single_name_addr(self.single(name)?).map_err(|r| malformed(name, r))
    }

    /// Every Contact, across comma lists and repeated headers.
    ///
    /// No Contact header gives an empty list (a REGISTER query). `*` is accepted only as the
    /// single value of the only Contact header.
    pub fn contacts(&self) -> Result<Contacts<'a>, ParseError> {
        let bad = |reason| malformed(HeaderName::Contact, reason);
        let mut list = Vec::new();
        let mut star = false;
        let mut values = 0;
        for value in self.header_values(HeaderName::Contact) {
            values += 1;
            let mut rest = value;
            loop {
                rest = rest.trim_start_matches([',', ' ', '\t', '\r', '\n']);
                if rest.is_empty() {
                    break;
                }
                if let Some(after) = rest.strip_prefix('*') {
                    let after = trim_lws(after);
                    if !(after.is_empty() || after.starts_with(',')) {
                        return Err(bad("'*' with parameters"));
                    }
                    star = true;
                    rest = after;
                    continue;
                }
                let (addr, end) = parse_name_addr(rest).map_err(bad)?;
                list.push(addr);
                rest = &rest[end..];
            }
        }
        match (star, list.is_empty()) {
            (true, true) if values == 1 => Ok(Contacts::Star),
            (true, _) => Err(bad("'*' mixed with other values")),
            (false, true) if values > 0 => Err(bad("empty value")),
            (false, _) => Ok(Contacts::List(list)),
        }
    }

    /// The Expires header as delta-seconds (values above `u32::MAX` clamp to it); `None` when
    /// absent.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.header(HeaderName::Expires)
            .map(|v| delta_seconds(v).ok_or(malformed(HeaderName::Expires, "not delta-seconds")))
            .transpose()
    }

    /// The Max-Forwards header (0 to 255); `None` when absent.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        self.header(HeaderName::MaxForwards)
            .map(|v| {
                parse_u32(v.as_bytes())
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or(malformed(
                        HeaderName::MaxForwards,
                        "not a number from 0 to 255",
                    ))
            })
            .transpose()
    }

    /// Whether this is a request whose CSeq method equals the Request-Line method
    /// (RFC 3261 §8.1.1.5); false for a response or a missing or malformed CSeq.
    pub fn cseq_matches_method(&self) -> bool {
        match (self.method(), self.cseq()) {
            (Some(method), Ok(cseq)) => cseq.method == method,
            _ => false,
        }
    }

    /// Decodes the headers every request carries (Via, From, To, Call-ID, CSeq; RFC 3261
    /// §8.1.1) and checks the CSeq method, returning the first problem found.
    pub fn check_request(&self) -> Result<(), ParseError> {
        self.top_via()?;
        self.from()?;
        self.to()?;
        self.call_id()?;
        let cseq = self.cseq()?;
        match self.method() {
            Some(method) if method != cseq.method => Err(ParseError::CSeqMethodMismatch),
            _ => Ok(()),
        }
    }
}

fn malformed(header: HeaderName, reason: &'static str) -> ParseError {
    ParseError::MalformedHeader { header, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn bare_lf_and_leading_crlf() {
        let m = parse(
            b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nl: 2\n\nhi",
            &limits(),
        )
        .unwrap();
        assert_eq!(m.method(), Some(Method::Options));
        assert_eq!(m.body(), b"hi");
        assert!(m.as_bytes().starts_with(b"OPTIONS"));
    }

    #[test]
    fn start_line_variants() {
        let ok = |s: &str| {
            let text: &'static str = Box::leak(format!("{s}\r\n\r\n").into_boxed_str());
            parse(text.as_bytes(), &limits())
        };
        assert_eq!(ok("SIP/2.0 100 ").unwrap().status(), Some((100, "")));
        assert_eq!(ok("SIP/2.0 180").unwrap().status(), Some((180, "")));
        assert_eq!(ok("sip/2.0 200 OK").unwrap().status(), Some((200, "OK")));
        assert_eq!(
            ok("REGISTER sip:h sip/2.0").unwrap().request_uri(),
            Some("sip:h")
        );
        let err = |s: &str| ok(s).unwrap_err();
        assert_eq!(err("SIP/2.0 4294967301 big"), ParseError::BadStatusLine);
        assert_eq!(err("SIP/2.0 099 low"), ParseError::BadStatusLine);
        assert_eq!(err("SIP/2.0 2000 OK"), ParseError::BadStatusLine);
        assert_eq!(err("SIP/3.0 200 OK"), ParseError::UnsupportedVersion);
        assert_eq!(err("SIP/2.0x 200 OK"), ParseError::BadStatusLine);
        assert_eq!(err("OPTIONS sip:h SIP/7.0"), ParseError::UnsupportedVersion);
        assert_eq!(err("OPTIONS sip:h HTTP/1.1"), ParseError::BadRequestLine);
        assert_eq!(err("OPTIONS sip:h"), ParseError::BadRequestLine);
        assert_eq!(err("OPTIONS  sip:h SIP/2.0"), ParseError::BadRequestLine);
        assert_eq!(err("OPTIONS <sip:h> SIP/2.0"), ParseError::BadRequestLine);
        assert_eq!(err("OPTIONS host SIP/2.0"), ParseError::BadRequestLine);
        assert_eq!(err("OPTIONS sip:h SIP/2.0 "), ParseError::BadRequestLine);
        assert_eq!(err("OPT@ONS sip:h SIP/2.0"), ParseError::BadRequestLine);
    }

    #[test]
    fn header_values_keep_folds_but_are_trimmed() {
        let m = parse(
            b"OPTIONS sip:h SIP/2.0\r\nSubject :  \r\n   a\r\n\tb  \r\nX-E:\r\n\r\n",
            &limits(),
        )
        .unwrap();
        assert_eq!(m.header(HeaderName::Subject), Some("a\r\n\tb"));
        assert_eq!(m.header_named("x-e"), Some(""));
        let h: Vec<_> = m.headers().collect();
        assert_eq!(h[0].raw_name, "Subject");
        assert_eq!(h[1].raw_name, "X-E");
        assert_eq!(h[1].name, HeaderName::Other);
    }

    #[test]
    fn name_scan_matches_the_token_table_and_parse() {
        let reference = |b: &[u8]| b.iter().take_while(|&&c| TOKEN[usize::from(c)]).count();
        for base in [
            &b"aZ-q"[..],
            b"Content-Length",
            b"proxy-authorization",
            b"v",
        ] {
            for len in 0..30 {
                for at in 0..len {
                    for c in 0..=255u8 {
                        let mut b: Vec<u8> = base.iter().copied().cycle().take(len).collect();
                        b[at] = c;
                        let (n, name) = HeaderName::scan(&b);
                        assert_eq!(n, reference(&b), "{b:?}");
                        assert_eq!(name, HeaderName::parse(&b[..n]), "{b:?}");
                    }
                }
            }
        }
        let text = b"Content-Length: 0\r\nVia: x\r\n";
        assert_eq!(HeaderName::scan(text), (14, HeaderName::ContentLength));
        assert_eq!(HeaderName::scan(&text[19..]), (3, HeaderName::Via));
    }

    #[test]
    fn entries_spill_past_the_inline_capacity() {
        let mut text = String::from("OPTIONS sip:h SIP/2.0\r\n");
        for i in 0..(INLINE_HEADERS * 2) {
            text.push_str(&format!("X-H{i}: {i}\r\n"));
        }
        text.push_str("\r\n");
        let m = parse(text.as_bytes(), &limits()).unwrap();
        assert_eq!(m.headers().count(), INLINE_HEADERS * 2);
        assert_eq!(m.header_named("X-H39"), Some("39"));
    }
}
