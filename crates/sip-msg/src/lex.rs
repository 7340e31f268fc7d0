//! Character classes and small scanners shared by the header and URI parsers.
//!
//! Header values handed to these scanners come from the message index, so a CR or LF inside
//! them can only belong to a folded line: they count as whitespace everywhere (LWS).

use std::borrow::Cow;

/// A 256-entry membership table for one character class.
pub(crate) type Class = [bool; 256];

const fn class(extra: &[u8]) -> Class {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// `token` (RFC 3261 §25.1).
pub(crate) static TOKEN: Class = class(b"-.!%*_+`'~");
/// URI `user` characters besides `%HH` escapes: unreserved and user-unreserved.
pub(crate) static URI_USER: Class = class(b"-_.!~*'()&=+$,;?/");
/// URI `password` characters besides escapes.
pub(crate) static URI_PASSWORD: Class = class(b"-_.!~*'()&=+$,");
/// URI `paramchar` characters besides escapes.
pub(crate) static URI_PARAM: Class = class(b"-_.!~*'()[]/:&+$");
/// URI `headers` characters besides escapes (names, values and the `=`/`&` separators).
pub(crate) static URI_HEADERS: Class = class(b"-_.!~*'()[]/?:+$=&");
/// Host names and IPv4 addresses (`_` tolerated).
pub(crate) static HOST: Class = class(b"-._");
/// Unquoted `gen-value`: token, host or IPv6 address.
pub(crate) static GEN_VALUE: Class = class(b"-.!%*_+`'~:[]");
/// Visible ASCII (`%x21-7E`).
pub(crate) static GRAPHIC: Class = {
    let mut t = [false; 256];
    let mut c = 0x21;
    while c <= 0x7e {
        t[c] = true;
        c += 1;
    }
    t
};
/// Characters a URI may contain as written in a message: visible ASCII but `<`, `>`, `"`.
pub(crate) static URI_TEXT: Class = {
    let mut t = GRAPHIC;
    t[b'<' as usize] = false;
    t[b'>' as usize] = false;
    t[b'"' as usize] = false;
    t
};
/// Decimal digits.
pub(crate) static DIGITS: Class = {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    t
};
/// URI scheme characters after the first letter.
pub(crate) static SCHEME: Class = class(b"+-.");

/// Whether `b` is linear white space (SP, HT, or the CR/LF of a fold).
#[inline]
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Index of the first non-LWS byte at or after `i`.
#[inline]
pub(crate) fn skip_lws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_lws(b[i]) {
        i += 1;
    }
    i
}

/// `s` without leading and trailing LWS.
#[inline]
pub(crate) fn trim_lws(s: &str) -> &str {
    let b = s.as_bytes();
    let Some(start) = b.iter().position(|&c| !is_lws(c)) else {
        return "";
    };
    let end = b.iter().rposition(|&c| !is_lws(c)).map_or(start, |e| e + 1);
    &s[start..end]
}

/// `s` without trailing LWS.
#[inline]
pub(crate) fn trim_end_lws(s: &str) -> &str {
    let end = s.bytes().rposition(|c| !is_lws(c)).map_or(0, |e| e + 1);
    &s[..end]
}

/// Whether every byte of `s` belongs to `class`.
#[inline]
pub(crate) fn all_in(s: &[u8], class: &Class) -> bool {
    s.iter().all(|&b| class[usize::from(b)])
}

/// Index of the first byte at or after `i` that is not in `class` (or the length).
#[inline]
pub(crate) fn span(b: &[u8], i: usize, class: &Class) -> usize {
    let rest = b.get(i..).unwrap_or_default();
    let is = |c: u8| class[usize::from(c)];
    let mut n = 0;
    // Four bytes per step: no early exit inside a step.
    for quad in rest.chunks_exact(4) {
        if !(is(quad[0]) & is(quad[1]) & is(quad[2]) & is(quad[3])) {
            break;
        }
        n += 4;
    }
    while n < rest.len() && is(rest[n]) {
        n += 1;
    }
    i + n
}

/// Index just past the run of `class` bytes and `%HH` escapes starting at `i`; `None` if a
/// `%` in the run does not start a valid escape. `class` must not contain `%`.
#[inline]
pub(crate) fn escaped_span(b: &[u8], mut i: usize, class: &Class) -> Option<usize> {
    while let Some(&c) = b.get(i) {
        if class[usize::from(c)] {
            i += 1;
        } else if c == b'%' {
            match b.get(i + 1..i + 3) {
                Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return None,
            }
        } else {
            break;
        }
    }
    Some(i)
}

/// Given `b[start] == '"'`, the index just past the closing quote (backslash escapes honoured).
#[inline]
pub(crate) fn quoted_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// Index of the first `delim` outside quoted strings and `<...>`; `None` if there is none or a
/// quoted string or `<` is unterminated.
#[inline]
pub(crate) fn find_unquoted(b: &[u8], delim: u8) -> Option<usize> {
    let mut i = 0;
    loop {
        let at = i + memchr::memchr3(delim, b'"', b'<', b.get(i..)?)?;
        match b[at] {
            c if c == delim => return Some(at),
            b'"' => i = quoted_end(b, at)?,
            _ => i = at + 1 + memchr::memchr(b'>', &b[at + 1..])? + 1,
        }
    }
}

/// Splits `s` at the first unquoted `delim`: the part before and, if found, the part after.
#[inline]
pub(crate) fn split_unquoted(s: &str, delim: u8) -> (&str, Option<&str>) {
    match find_unquoted(s.as_bytes(), delim) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// Comma-separated items of one header value (quote- and `<>`-aware), trimmed, empty ones skipped.
#[derive(Debug, Clone)]
pub(crate) struct ListItems<'a> {
    rest: Option<&'a str>,
}

impl<'a> ListItems<'a> {
    pub(crate) fn new(value: &'a str) -> Self {
        Self { rest: Some(value) }
    }
}

impl<'a> Iterator for ListItems<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            let (item, rest) = split_unquoted(self.rest?, b',');
            self.rest = rest;
            let item = trim_lws(item);
            if !item.is_empty() {
                return Some(item);
            }
        }
    }
}

/// A decimal number of at most 5 digits that fits a `u16` (ports).
pub(crate) fn parse_port(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = s
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    u16::try_from(v).ok()
}

/// A non-empty run of decimal digits that fits a `u32`.
pub(crate) fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// Parses `delta-seconds` (RFC 3261 §25.1): digits only, values above `u32::MAX` clamp to it.
///
/// Surrounding whitespace is ignored; anything else returns `None`.
pub fn delta_seconds(s: &str) -> Option<u32> {
    let s = trim_lws(s).as_bytes();
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(parse_u32(s).unwrap_or(u32::MAX))
}

/// Decodes `%HH` escapes; malformed escapes are kept as written.
pub(crate) fn percent_decode(s: &str) -> Cow<'_, [u8]> {
    let b = s.as_bytes();
    if memchr::memchr(b'%', b).is_none() {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = b.get(i + 1..i + 3).and_then(hex_pair)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex_pair(p: &[u8]) -> Option<u8> {
    let &[h, l] = p else { return None };
    u8::try_from(char::from(h).to_digit(16)? * 16 + char::from(l).to_digit(16)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_items_respect_quotes_and_angles() {
        let items: Vec<_> = ListItems::new(
            r#""Doe, John" <sip:a@b;x=1,2>;q=0.5 ,, <sip:c@d>, "esc \", still" <sip:e@f>, "#,
        )
        .collect();
        assert_eq!(
            items,
            [
                r#""Doe, John" <sip:a@b;x=1,2>;q=0.5"#,
                "<sip:c@d>",
                r#""esc \", still" <sip:e@f>"#
            ]
        );
    }

    #[test]
    fn unterminated_quote_keeps_the_rest_as_one_item() {
        let items: Vec<_> = ListItems::new(r#"a, "b, c"#).collect();
        assert_eq!(items, ["a", r#""b, c"#]);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_port(b"5060"), Some(5060));
        assert_eq!(parse_port(b"65535"), Some(65535));
        assert_eq!(parse_port(b"65536"), None);
        assert_eq!(parse_port(b"005060"), None);
        assert_eq!(parse_port(b""), None);
        assert_eq!(parse_u32(b"0009"), Some(9));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"12a"), None);
        assert_eq!(delta_seconds(" 3600 "), Some(3600));
        assert_eq!(delta_seconds(&"1".repeat(40)), Some(u32::MAX));
        assert_eq!(delta_seconds("-1"), None);
        assert_eq!(delta_seconds(""), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(escaped_span(b"a%20b%7e", 0, &URI_USER), Some(8));
        assert_eq!(escaped_span(b"a%2", 0, &URI_USER), None);
        assert_eq!(escaped_span(b"%zz", 0, &URI_USER), None);
        assert_eq!(escaped_span(b"", 0, &URI_USER), Some(0));
        assert_eq!(escaped_span(b"a b", 0, &URI_USER), Some(1));
        assert_eq!(escaped_span(b"ab%41;x", 0, &URI_PARAM), Some(5));
        assert_eq!(&*percent_decode("%75se%72"), b"user");
        assert_eq!(&*percent_decode("100%"), b"100%");
        assert!(matches!(percent_decode("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn find_unquoted_skips_quotes_and_angles() {
        assert_eq!(find_unquoted(br#"a"b,c"<d,e>,f"#, b','), Some(11));
        assert_eq!(find_unquoted(b"<a,b", b','), None);
        assert_eq!(find_unquoted(b"\"a,b", b','), None);
        assert_eq!(find_unquoted(b"a>,b", b','), Some(2));
        assert_eq!(find_unquoted(b"", b','), None);
    }

    #[test]
    fn trims() {
        assert_eq!(trim_lws(" \r\n\ta b \r\n"), "a b");
        assert_eq!(trim_lws(" \t "), "");
        assert_eq!(trim_end_lws(" a \r\n"), " a");
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted_end(br#""a\"b" x"#, 0), Some(6));
        assert_eq!(quoted_end(br#""open"#, 0), None);
        assert_eq!(quoted_end(b"\"trailing\\", 0), None);
    }
}
