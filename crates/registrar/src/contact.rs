//! One Contact of a REGISTER, validated and reduced to what a binding stores.

use sip_msg::{NameAddr, Scheme};

use crate::binding::parse_q;
use crate::config::RegistrarConfig;

/// A contact the client asked to bind, with its expiry already resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedContact<'m> {
    /// The parsed contact.
    pub addr: NameAddr<'m>,
    /// Header parameters other than `q` and `expires`, raw, each with its leading `;`.
    pub params: String,
    /// q-value in thousandths.
    pub q: Option<u16>,
    /// Requested expiry in seconds, before clamping to `max_expires`.
    pub expires: u32,
    /// `+sip.instance`, without quotes and angle brackets.
    pub instance: Option<String>,
    /// `reg-id`.
    pub reg_id: Option<u32>,
}

/// Why a contact was refused; each maps to a 400 reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactError {
    /// Not a `sip:` or `sips:` URI.
    Scheme,
    /// Longer than `max_contact_uri_len`.
    TooLong,
    /// `expires` parameter is not a number.
    Expires,
    /// `q` parameter is not a valid q-value.
    Q,
    /// `reg-id` parameter is not a number.
    RegId,
}

impl ContactError {
    /// Reason phrase for the 400.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Scheme => "Contact URI must be sip or sips",
            Self::TooLong => "Contact URI too long",
            Self::Expires => "Invalid expires parameter in Contact",
            Self::Q => "Invalid q-value in Contact",
            Self::RegId => "Invalid reg-id parameter in Contact",
        }
    }
}

impl<'m> RequestedContact<'m> {
    /// Validates one contact; `header_expires` is the request's Expires header, if any.
    pub fn from_name_addr(
        addr: NameAddr<'m>,
        header_expires: Option<u32>,
        config: &RegistrarConfig,
    ) -> Result<Self, ContactError> {
        if !matches!(addr.uri.scheme, Scheme::Sip | Scheme::Sips) {
            return Err(ContactError::Scheme);
        }
        if addr.raw_uri().len() > config.max_contact_uri_len {
            return Err(ContactError::TooLong);
        }
        let mut q = None;
        let mut expires = None;
        let mut instance = None;
        let mut reg_id = None;
        let mut params = String::new();
        for segment in raw_param_segments(addr.params.raw()) {
            let (name, value) = match segment.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (segment.trim(), None),
            };
            if name.eq_ignore_ascii_case("q") {
                q = Some(value.and_then(parse_q).ok_or(ContactError::Q)?);
            } else if name.eq_ignore_ascii_case("expires") {
                expires = Some(value.and_then(parse_delta).ok_or(ContactError::Expires)?);
            } else {
                if name.eq_ignore_ascii_case("+sip.instance") {
                    instance = value.map(|v| unquote_instance(v).to_owned());
                } else if name.eq_ignore_ascii_case("reg-id") {
                    reg_id = Some(
                        value
                            .and_then(|v| v.parse().ok())
                            .ok_or(ContactError::RegId)?,
                    );
                }
                params.push(';');
                params.push_str(segment.trim());
            }
        }
        let expires = expires.or(header_expires).unwrap_or(config.default_expires);
        Ok(Self {
            addr,
            params,
            q,
            expires,
            instance,
            reg_id,
        })
    }
}

/// Parses a delta-seconds value; values beyond `u32::MAX` mean `u32::MAX` (RFC 3261 §20.19).
pub fn parse_delta(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u32>().unwrap_or(u32::MAX))
}

/// `"<urn:uuid:…>"` → `urn:uuid:…`.
fn unquote_instance(v: &str) -> &str {
    let v = v.trim_matches('"');
    v.strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(v)
}

/// Splits `;a=b;c=";x"` into raw segments `a=b`, `c=";x"`, respecting quoted strings.
fn raw_param_segments(raw: &str) -> impl Iterator<Item = &str> {
    let mut rest = raw.trim_start();
    std::iter::from_fn(move || {
        loop {
            rest = rest.strip_prefix(';').unwrap_or(rest).trim_start();
            if rest.is_empty() {
                return None;
            }
            let mut in_quotes = false;
            let mut escaped = false;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' if in_quotes => escaped = true,
                    '"' => in_quotes = !in_quotes,
                    ';' if !in_quotes => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let (segment, tail) = rest.split_at(end);
            rest = tail;
            if !segment.trim().is_empty() {
                return Some(segment);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_respect_quotes() {
        let got: Vec<_> =
            raw_param_segments(";q=0.5; +sip.instance=\"<urn:uuid:a;b>\";reg-id=1;;lr").collect();
        assert_eq!(
            got,
            [
                "q=0.5",
                "+sip.instance=\"<urn:uuid:a;b>\"",
                "reg-id=1",
                "lr"
            ]
        );
    }

    #[test]
    fn delta_seconds_saturate() {
        assert_eq!(parse_delta("3600"), Some(3600));
        assert_eq!(parse_delta("99999999999999"), Some(u32::MAX));
        assert_eq!(parse_delta("-1"), None);
        assert_eq!(parse_delta(""), None);
        assert_eq!(parse_delta("1e3"), None);
    }

    #[test]
    fn instance_loses_quotes_and_brackets() {
        assert_eq!(unquote_instance("\"<urn:uuid:1>\""), "urn:uuid:1");
        assert_eq!(unquote_instance("urn:uuid:1"), "urn:uuid:1");
    }
}
