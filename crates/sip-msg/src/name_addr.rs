//! `name-addr` / `addr-spec` values of From, To and Contact (RFC 3261 §20.10, §25.1).

use crate::lex::{TOKEN, is_lws, quoted_end, skip_lws, span, trim_end_lws};
use crate::uri::{parse_uri, parse_uri_prefix};
use crate::{Params, Uri};

/// An address with optional display name and header parameters.
///
/// When the URI is not enclosed in `<>`, everything after the first `;` is a header
/// parameter (RFC 3261 §20), and the URI may not contain `?` or `,`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name: a quoted string without its quotes (escapes kept), or the tokens as
    /// written.
    pub display_name: Option<&'a str>,
    /// The address.
    pub uri: Uri<'a>,
    /// Header parameters (`;tag=...`, `;expires=...`, `;q=...`).
    pub params: Params<'a>,
    tag: Option<&'a str>,
}

impl<'a> NameAddr<'a> {
    /// The `tag` parameter, if present with a value.
    pub fn tag(&self) -> Option<&'a str> {
        self.tag
    }

    /// The URI as written.
    pub fn raw_uri(&self) -> &'a str {
        self.uri.as_str()
    }
}

/// The Contact header values of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts<'a> {
    /// `Contact: *` (remove all bindings; RFC 3261 §10.2.2).
    Star,
    /// The addresses in order; empty when the request has no Contact.
    List(Vec<NameAddr<'a>>),
}

/// Parses the `name-addr` or `addr-spec` and header parameters at the start of `s` (which
/// starts with a non-LWS byte), up to the end or an unquoted `,`; returns the address and the
/// index of the `,` or the end.
pub(crate) fn parse_name_addr(s: &str) -> Result<(NameAddr<'_>, usize), &'static str> {
    let b = s.as_bytes();
    let (display_name, lt) = if b.first() == Some(&b'"') {
        let end = quoted_end(b, 0).ok_or("unterminated quoted string")?;
        let lt = skip_lws(b, end);
        if b.get(lt) != Some(&b'<') {
            return Err("expected '<' after the display name");
        }
        (Some(&s[1..end - 1]), lt)
    } else {
        let end = display_tokens_end(b);
        if b.get(end) != Some(&b'<') {
            return parse_addr_spec(s);
        }
        let display = trim_end_lws(&s[..end]);
        ((!display.is_empty()).then_some(display), end)
    };
    let (uri, uri_len) = parse_uri_prefix(&s[lt + 1..])?;
    let gt = lt + 1 + uri_len;
    if b.get(gt) != Some(&b'>') {
        return Err("invalid URI or missing '>'");
    }
    let (params, [tag], end) = Params::header(&s[gt + 1..], ["tag"])?;
    let addr = NameAddr {
        display_name,
        uri,
        params,
        tag: require_value(tag)?,
    };
    Ok((addr, gt + 1 + end))
}

/// A captured `tag`, which must have a value when present (RFC 3261 §25.1).
fn require_value(tag: Option<Option<&str>>) -> Result<Option<&str>, &'static str> {
    match tag {
        Some(None) => Err("tag parameter without a value"),
        Some(value) => Ok(value),
        None => Ok(None),
    }
}

/// Parses a whole header value holding exactly one address (From, To).
pub(crate) fn parse_single_name_addr(s: &str) -> Result<NameAddr<'_>, &'static str> {
    let (addr, end) = parse_name_addr(s)?;
    if end != s.len() {
        return Err("more than one address");
    }
    Ok(addr)
}

/// End of a run of tokens separated by LWS.
fn display_tokens_end(b: &[u8]) -> usize {
    let mut i = 0;
    loop {
        let next = span(b, i, &TOKEN);
        let next = if next < b.len() && is_lws(b[next]) {
            skip_lws(b, next)
        } else {
            next
        };
        if next == i {
            return i;
        }
        i = next;
    }
}

fn parse_addr_spec(s: &str) -> Result<(NameAddr<'_>, usize), &'static str> {
    let uri_end = memchr::memchr2(b';', b',', s.as_bytes()).unwrap_or(s.len());
    let uri_text = trim_end_lws(&s[..uri_end]);
    if uri_text.contains('?') {
        return Err("a URI containing '?', ',' or ';' must be enclosed in '<>'");
    }
    let uri = parse_uri(uri_text)?;
    let (params, [tag], end) = Params::header(&s[uri_end..], ["tag"])?;
    let addr = NameAddr {
        display_name: None,
        uri,
        params,
        tag: require_value(tag)?,
    };
    Ok((addr, uri_end + end))
}

#[cfg(test)]
mod tests {
    use super::parse_single_name_addr as parse_name_addr;
    use crate::Scheme;

    #[test]
    fn quoted_display_name_with_escapes() {
        let n = parse_name_addr(
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
        )
        .unwrap();
        assert_eq!(n.display_name, Some("J Rosenberg \\\\\\\""));
        assert_eq!(n.raw_uri(), "sip:jdrosen@example.com");
        assert_eq!(n.tag(), Some("98asjd8"));
    }

    #[test]
    fn token_display_names() {
        let n = parse_name_addr("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(n.display_name, Some("caller"));
        assert_eq!(n.tag(), Some("323"));
        let n =
            parse_name_addr("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>").unwrap();
        assert_eq!(n.display_name, Some("token1~` token2'+_ token3*%!.-"));
        let n = parse_name_addr("<sip:a@b>").unwrap();
        assert_eq!(n.display_name, None);
    }

    #[test]
    fn addr_spec_params_belong_to_the_header() {
        let n = parse_name_addr("sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert!(n.uri.params.is_empty());
        assert!(n.params.contains("unknownparam"));
        let n =
            parse_name_addr("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(n.uri.host, "chair-dnrc.example.com");
        assert_eq!(n.tag(), Some("1918181833n"));
        let n = parse_name_addr("<sip:+19725552222@gw1.example.net;unknownparam>").unwrap();
        assert!(n.uri.params.contains("unknownparam"));
        assert!(n.params.is_empty());
    }

    #[test]
    fn quoted_param_values_may_hold_angle_brackets() {
        let n = parse_name_addr("sip:a@b;+sip.instance=\"<urn:uuid:1>\";reg-id=1").unwrap();
        assert_eq!(n.params.get("+sip.instance"), Some(Some("<urn:uuid:1>")));
        assert_eq!(n.params.get("reg-id"), Some(Some("1")));
    }

    #[test]
    fn other_schemes() {
        let n = parse_name_addr("<name:John_Smith>").unwrap();
        assert_eq!(n.uri.scheme, Scheme::Other);
        let n = parse_name_addr("isbn:2983792873").unwrap();
        assert_eq!(n.uri.host, "2983792873");
    }

    #[test]
    fn malformed() {
        for s in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "\"Joe\" <sip:joe@example.org>;;;;",
            "<sip:a@b",
            "<sip:a@b> junk",
            "\"name\" sip:a@b",
            "<sip:a@b>;tag",
            "sip:a@b;tag;x=1",
            "",
        ] {
            assert!(parse_name_addr(s).is_err(), "{s:?} should be rejected");
        }
    }
}
