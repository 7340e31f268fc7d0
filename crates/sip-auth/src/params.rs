//! Tokenizer for `Digest` auth-param lists (RFC 3261 §25.1, RFC 7616 §3.4) and the quoted-string writer.
//!
//! Accepts parameters in any order, names in any case, `token` or `quoted-string` values (backslash escapes),
//! linear whitespace (including folded lines) around separators, and empty list elements.

use std::borrow::Cow;
use std::fmt;

use crate::Error;

/// One `name=value` pair; the value is borrowed unless it contained escapes.
pub(crate) type Param<'a> = (&'a str, Cow<'a, str>);

/// Checks that `value` starts with the `Digest` scheme and returns an iterator over its parameters.
pub(crate) fn digest_params(value: &str) -> Result<Params<'_>, Error> {
    let mut params = Params { value, pos: 0 };
    params.skip_lws();
    let start = params.pos;
    params.pos += params.span(is_token_byte);
    let scheme = &value[start..params.pos];
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(Error::UnsupportedScheme(scheme.to_owned()));
    }
    if params.peek().is_some_and(|b| !is_lws(b)) {
        return Err(Error::Syntax { at: params.pos });
    }
    Ok(params)
}

/// Iterator over the parameters of a `Digest` header value; stops after the first error.
///
/// Scans bytes: every delimiter is ASCII, so each slice boundary falls between characters.
pub(crate) struct Params<'a> {
    value: &'a str,
    pos: usize,
}

impl<'a> Params<'a> {
    fn rest(&self) -> &'a str {
        &self.value[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.value.as_bytes().get(self.pos).copied()
    }

    /// Length of the run of bytes from the current position that satisfy `pred`.
    fn span(&self, pred: impl Fn(u8) -> bool) -> usize {
        self.rest().bytes().take_while(|&b| pred(b)).count()
    }

    fn skip_lws(&mut self) {
        self.pos += self.span(is_lws);
    }

    /// Stops the iteration and returns `err`.
    fn fail(&mut self, err: Error) -> Option<Result<Param<'a>, Error>> {
        self.pos = self.value.len();
        Some(Err(err))
    }

    /// A quoted-string starting at the current `"`; `None` if unterminated.
    fn quoted(&mut self) -> Option<Cow<'a, str>> {
        let body = &self.rest()[1..];
        let bytes = body.as_bytes();
        let mut owned: Option<String> = None;
        let mut copied = 0;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'"' => {
                    self.pos += 1 + i + 1;
                    return Some(match owned {
                        Some(mut s) => {
                            s.push_str(&body[copied..i]);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(&body[..i]),
                    });
                }
                b'\\' => {
                    let escaped = body[i + 1..].chars().next()?;
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&body[copied..i]);
                    s.push(escaped);
                    i += 1 + escaped.len_utf8();
                    copied = i;
                }
                _ => i += 1,
            }
        }
        None
    }

    /// A token-like value: everything up to a comma, quote or whitespace; `None` if empty.
    fn unquoted(&mut self) -> Option<Cow<'a, str>> {
        let rest = self.rest();
        let len = self.span(|b| b != b',' && b != b'"' && !is_lws(b));
        self.pos += len;
        (len > 0).then(|| Cow::Borrowed(&rest[..len]))
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.skip_lws();
            if self.peek() != Some(b',') {
                break;
            }
            self.pos += 1;
        }
        self.peek()?;
        let rest = self.rest();
        let name_len = self.span(is_token_byte);
        if name_len == 0 {
            return self.fail(Error::Syntax { at: self.pos });
        }
        let name = &rest[..name_len];
        self.pos += name_len;
        self.skip_lws();
        if self.peek() != Some(b'=') {
            return self.fail(Error::Malformed(name.to_owned()));
        }
        self.pos += 1;
        self.skip_lws();
        let value = if self.peek() == Some(b'"') {
            self.quoted()
        } else {
            self.unquoted()
        };
        let Some(value) = value else {
            return self.fail(Error::Malformed(name.to_owned()));
        };
        self.skip_lws();
        if self.peek().is_some_and(|b| b != b',') {
            return self.fail(Error::Malformed(name.to_owned()));
        }
        Some(Ok((name, value)))
    }
}

/// Linear whitespace: space, tab, and the CR/LF of folded lines.
fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 3261 `token` characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Stores a known parameter's value, refusing a second occurrence.
pub(crate) fn set_once<'a>(
    slot: &mut Option<Cow<'a, str>>,
    name: &'static str,
    value: Cow<'a, str>,
) -> Result<(), Error> {
    if slot.replace(value).is_some() {
        return Err(Error::Duplicate(name));
    }
    Ok(())
}

/// Returns the index of `name` in `known` (compared case-insensitively).
pub(crate) fn known_index(name: &str, known: &[&str]) -> Option<usize> {
    known.iter().position(|k| k.eq_ignore_ascii_case(name))
}

/// The values of the `known` parameters of a `Digest` header value, in `known`'s order; unknown parameters are
/// ignored, a repeated known one is [`Error::Duplicate`].
pub(crate) fn known_params<'a, const N: usize>(
    value: &'a str,
    known: &[&'static str; N],
) -> Result<[Option<Cow<'a, str>>; N], Error> {
    let mut slots: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    for param in digest_params(value)? {
        let (name, value) = param?;
        if let Some(index) = known_index(name, known) {
            set_once(&mut slots[index], known[index], value)?;
        }
    }
    Ok(slots)
}

/// Writes `value` as a quoted-string, escaping `"` and `\`.
///
/// CR, LF and other control characters except tab cannot appear in a quoted-string and are dropped, so a value
/// can never break out of its header.
pub(crate) fn write_quoted(out: &mut impl fmt::Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
            '\t' => out.write_char(c)?,
            c if c.is_control() => {}
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(value: &str) -> Result<Vec<(String, String)>, Error> {
        digest_params(value)?
            .map(|p| p.map(|(n, v)| (n.to_owned(), v.into_owned())))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn tokens_and_quoted_strings() {
        assert_eq!(
            collect(r#"Digest a="x y", b=tok ,c = "q" "#).unwrap(),
            pairs(&[("a", "x y"), ("b", "tok"), ("c", "q")])
        );
    }

    #[test]
    fn escapes_and_commas_inside_quotes() {
        let got = collect(r#"Digest realm="a\"b\\c,d", nonce="""#).unwrap();
        assert_eq!(got, pairs(&[("realm", r#"a"b\c,d"#), ("nonce", "")]));
    }

    #[test]
    fn escaped_non_ascii_character() {
        let got = collect("Digest u=\"x\\\u{e9}y\u{e9}\"").unwrap();
        assert_eq!(got, pairs(&[("u", "x\u{e9}y\u{e9}")]));
    }

    #[test]
    fn unescaped_values_are_borrowed() {
        let value = r#"Digest a="plain", b="esc\"aped""#;
        let params: Vec<_> = digest_params(value).unwrap().map(Result::unwrap).collect();
        assert!(matches!(params[0].1, Cow::Borrowed("plain")));
        assert!(matches!(params[1].1, Cow::Owned(_)));
    }

    #[test]
    fn folded_lines_and_empty_elements() {
        let got = collect("digest a=1,\r\n b=\"2\",, ,c=3,").unwrap();
        assert_eq!(got, pairs(&[("a", "1"), ("b", "2"), ("c", "3")]));
    }

    #[test]
    fn scheme_errors() {
        assert_eq!(
            collect("Basic QWxhZGRpbjpvcGVu").unwrap_err(),
            Error::UnsupportedScheme("Basic".into())
        );
        assert_eq!(
            collect("Digestrealm=\"x\"").unwrap_err(),
            Error::UnsupportedScheme("Digestrealm".into())
        );
        assert_eq!(collect("Digest,a=1").unwrap_err(), Error::Syntax { at: 6 });
        assert_eq!(collect("  Digest").unwrap(), vec![]);
    }

    #[test]
    fn malformed_params_are_named() {
        assert_eq!(
            collect(r#"Digest realm="unterminated"#).unwrap_err(),
            Error::Malformed("realm".into())
        );
        assert_eq!(
            collect(r#"Digest realm="x\"#).unwrap_err(),
            Error::Malformed("realm".into())
        );
        assert_eq!(
            collect("Digest nonce").unwrap_err(),
            Error::Malformed("nonce".into())
        );
        assert_eq!(
            collect("Digest nc=, a=1").unwrap_err(),
            Error::Malformed("nc".into())
        );
        assert_eq!(
            collect(r#"Digest realm="a" nonce="b""#).unwrap_err(),
            Error::Malformed("realm".into())
        );
        assert_eq!(collect("Digest =x").unwrap_err(), Error::Syntax { at: 7 });
    }

    #[test]
    fn iteration_stops_after_an_error() {
        let mut params = digest_params("Digest a=1, b, c=3").unwrap();
        assert!(params.next().unwrap().is_ok());
        assert!(params.next().unwrap().is_err());
        assert!(params.next().is_none());
    }

    #[test]
    fn quoted_writer_escapes_and_drops_controls() {
        let mut out = String::new();
        write_quoted(&mut out, "a\"b\\c\r\nd\te").unwrap();
        assert_eq!(out, "\"a\\\"b\\\\cd\te\"");
        let parsed = collect(&format!("Digest x={out}")).unwrap();
        assert_eq!(parsed, pairs(&[("x", "a\"b\\cd\te")]));
    }
}
