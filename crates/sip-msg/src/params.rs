//! `;name=value` parameter lists of URIs and header fields.

use crate::lex::{
    Class, GEN_VALUE, TOKEN, URI_PARAM, escaped_span, is_lws, quoted_end, skip_lws, span,
};

/// A validated parameter list such as `;a=b;c;d="quoted"`, kept as its raw text.
///
/// Names compare case-insensitively; values are returned trimmed, and quoted values without
/// their quotes (backslash escapes inside are left as written). URI parameters are returned
/// still `%`-escaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Params<'a> {
    raw: &'a str,
}

impl<'a> Params<'a> {
    /// Checks the header parameters at the start of `s` (LWS allowed, `gen-value`s or quoted
    /// strings) up to the end or an unquoted `,` (the next list item), and captures the first
    /// value (unquoted) of each parameter in `wanted`, in the same pass.
    ///
    /// Returns the parameters, the captured values and the index of the `,` or the end.
    pub(crate) fn header<const N: usize>(
        s: &'a str,
        wanted: [&str; N],
    ) -> Result<HeaderParams<'a, N>, &'static str> {
        let b = s.as_bytes();
        let mut found = [None; N];
        let start = skip_lws(b, 0);
        let mut end = start;
        let mut i = start;
        while i < b.len() && b[i] != b',' {
            if b[i] != b';' {
                return Err("expected ';' before a parameter");
            }
            let name_start = skip_lws(b, i + 1);
            let name_end = span(b, name_start, &TOKEN);
            if name_end == name_start {
                return Err("empty or invalid parameter name");
            }
            end = name_end;
            i = skip_lws(b, name_end);
            let mut value = None;
            if b.get(i) == Some(&b'=') {
                let value_start = skip_lws(b, i + 1);
                let value_end = if b.get(value_start) == Some(&b'"') {
                    quoted_end(b, value_start).ok_or("unterminated quoted parameter value")?
                } else {
                    span(b, value_start, &GEN_VALUE)
                };
                if value_end == value_start {
                    return Err("empty or invalid parameter value");
                }
                value = Some(unquote(&s[value_start..value_end]));
                end = value_end;
                i = skip_lws(b, value_end);
            }
            let name = &s[name_start..name_end];
            for (slot, wanted) in found.iter_mut().zip(wanted) {
                if slot.is_none() && name.len() == wanted.len() && name.eq_ignore_ascii_case(wanted)
                {
                    *slot = Some(value);
                }
            }
        }
        Ok((
            Self {
                raw: &s[start..end],
            },
            found,
            i,
        ))
    }

    /// Checks URI parameters (`;`-led, escaped `paramchar`s, no whitespace) and returns them
    /// with the index just past them in `s`, which starts with `;`.
    pub(crate) fn uri(s: &'a str) -> Result<(Self, usize), &'static str> {
        let b = s.as_bytes();
        let mut i = 0;
        while b.get(i) == Some(&b';') {
            let name_end =
                escaped_span(b, i + 1, &URI_PARAM).ok_or("invalid escape in a URI parameter")?;
            if name_end == i + 1 {
                return Err("empty URI parameter name");
            }
            i = name_end;
            if b.get(i) == Some(&b'=') {
                let value_end = escaped_span(b, i + 1, &URI_PARAM)
                    .ok_or("invalid escape in a URI parameter")?;
                if value_end == i + 1 {
                    return Err("empty URI parameter value");
                }
                i = value_end;
            }
        }
        Ok((Self { raw: &s[..i] }, i))
    }

    /// Each parameter as `(name, value)`; `None` for a parameter without `=`.
    pub fn iter(&self) -> ParamsIter<'a> {
        ParamsIter {
            raw: self.raw_iter(),
        }
    }

    /// The value of the first parameter called `name` (case-insensitive): `None` if absent,
    /// `Some(None)` if present without a value.
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Whether a parameter called `name` (case-insensitive) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The raw text, starting with `;` unless empty.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Each parameter as `(name, value)` with quoted values still quoted.
    pub(crate) fn raw_iter(&self) -> RawParams<'a> {
        RawParams {
            raw: self.raw,
            at: 0,
        }
    }
}

impl<'a> IntoIterator for Params<'a> {
    type Item = (&'a str, Option<&'a str>);
    type IntoIter = ParamsIter<'a>;

    fn into_iter(self) -> ParamsIter<'a> {
        self.iter()
    }
}

/// What [`Params::header`] finds: the parameters, the values captured for the wanted names
/// (`Some(None)` for a name present without a value), and where the parameters end.
pub(crate) type HeaderParams<'a, const N: usize> =
    (Params<'a>, [Option<Option<&'a str>>; N], usize);

/// Iterator over `(name, value)` pairs of [`Params`], quoted values unquoted.
#[derive(Debug, Clone)]
pub struct ParamsIter<'a> {
    raw: RawParams<'a>,
}

impl<'a> Iterator for ParamsIter<'a> {
    type Item = (&'a str, Option<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, value) = self.raw.next()?;
        Some((name, value.map(unquote)))
    }
}

/// Bytes that end a parameter name: `;`, `=` and LWS.
static NAME_END: Class = delimiters(b";= \t\r\n");
/// Bytes that end an unquoted parameter value: `;` and LWS.
static VALUE_END: Class = delimiters(b"; \t\r\n");

const fn delimiters(set: &[u8]) -> Class {
    let mut t = [false; 256];
    let mut i = 0;
    while i < set.len() {
        t[set[i] as usize] = true;
        i += 1;
    }
    t
}

/// Index of the first byte at or after `i` in `stop`.
#[inline]
fn until(b: &[u8], mut i: usize, stop: &Class) -> usize {
    while i < b.len() && !stop[usize::from(b[i])] {
        i += 1;
    }
    i
}

/// Iterator over `(name, raw value)` pairs of validated parameters.
#[derive(Debug, Clone)]
pub(crate) struct RawParams<'a> {
    raw: &'a str,
    at: usize,
}

impl<'a> Iterator for RawParams<'a> {
    type Item = (&'a str, Option<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.raw.as_bytes();
        if b.get(self.at) != Some(&b';') {
            return None;
        }
        let name_start = skip_lws(b, self.at + 1);
        let name_end = until(b, name_start, &NAME_END);
        let mut i = skip_lws(b, name_end);
        let mut value = None;
        if b.get(i) == Some(&b'=') {
            let value_start = skip_lws(b, i + 1);
            let value_end = if b.get(value_start) == Some(&b'"') {
                quoted_end(b, value_start).unwrap_or(b.len())
            } else {
                until(b, value_start, &VALUE_END)
            };
            value = Some(&self.raw[value_start..value_end]);
            i = value_end;
        }
        while i < b.len() && is_lws(b[i]) {
            i += 1;
        }
        self.at = i;
        Some((&self.raw[name_start..name_end], value))
    }
}

/// `v` without surrounding double quotes, if it has them.
fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::Params;

    #[test]
    fn header_params_with_lws_and_quotes() {
        let text =
            " ;  tag    = 1918181833n ;\r\n  secondparam ; q = 0.33;x=\"a;b\\\"c\";TAG=again \r\n";
        let (p, [tag, second, missing], end) =
            Params::header(text, ["tag", "secondparam", "missing"]).unwrap();
        assert_eq!(end, text.len());
        assert!(p.raw().starts_with(";  tag") && p.raw().ends_with("TAG=again"));
        assert_eq!(
            (tag, second, missing),
            (Some(Some("1918181833n")), Some(None), None)
        );
        let all: Vec<_> = p.iter().collect();
        assert_eq!(
            all,
            [
                ("tag", Some("1918181833n")),
                ("secondparam", None),
                ("q", Some("0.33")),
                ("x", Some("a;b\\\"c")),
                ("TAG", Some("again"))
            ]
        );
        let raw: Vec<_> = p.raw_iter().map(|(_, v)| v).collect();
        assert_eq!(raw[3], Some("\"a;b\\\"c\""));
        assert_eq!(p.get("TAG"), Some(Some("1918181833n")));
        assert_eq!(p.get("secondparam"), Some(None));
        assert_eq!(p.get("absent"), None);
        assert!(p.contains("Q"));
        assert!(!p.is_empty());
    }

    #[test]
    fn header_params_reject_empty_and_bad_pieces() {
        for raw in [
            ";",
            ";;",
            ";a;",
            ";a=",
            ";=b",
            ";a=\"open",
            ";a b",
            "a=b",
            ";a=<x>",
            ";a=\"x\"y",
        ] {
            assert!(Params::header(raw, []).is_err(), "{raw:?}");
        }
        let (p, [], end) = Params::header("", []).unwrap();
        assert!(p.is_empty() && end == 0);
    }

    #[test]
    fn header_params_stop_at_a_list_comma() {
        let text = ";a=1 ;b=\"x,y\" , <sip:next>";
        let (p, [b], end) = Params::header(text, ["b"]).unwrap();
        assert_eq!(
            (p.raw(), b, &text[end..]),
            (";a=1 ;b=\"x,y\"", Some(Some("x,y")), ", <sip:next>")
        );
        let (p, [], end) = Params::header(" , x", []).unwrap();
        assert!(p.is_empty() && end == 1);
    }

    #[test]
    fn ipv6_values_are_allowed() {
        let (p, [], _) = Params::header(";received=2001:db8::9;maddr=[2001:db8::1]", []).unwrap();
        assert_eq!(p.get("received"), Some(Some("2001:db8::9")));
        assert_eq!(p.get("maddr"), Some(Some("[2001:db8::1]")));
    }

    #[test]
    fn uri_params() {
        let text = ";transport=tcp;lr;%6C%72;n%61me=v%61lue%25%34%31;m=[::1]/x?h=v";
        let (p, end) = Params::uri(text).unwrap();
        assert_eq!(&text[end..], "?h=v");
        assert_eq!(p.get("transport"), Some(Some("tcp")));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.get("m"), Some(Some("[::1]/x")));
        assert_eq!(p.iter().count(), 5);
        for raw in [";", ";a;;b", ";a=", ";=a", ";a=%zz", ";a%4"] {
            assert!(Params::uri(raw).is_err(), "{raw:?}");
        }
        // Parsing stops at the first byte that cannot continue the parameters.
        let (p, end) = Params::uri(";a=b c").unwrap();
        assert_eq!((p.raw(), end), (";a=b", 4));
        assert!(Params::uri("; lr").is_err());
        assert!(Params::uri(";a=\"q\"").is_err());
    }
}
