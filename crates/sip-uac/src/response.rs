//! Reading what the trunk's responses say: the granted expiry, Retry-After and Min-Expires.

use sip_msg::{Contacts, HeaderName, Message, NameAddr, Uri, delta_seconds};

/// What a 2xx says about our binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Grant {
    /// The binding holds for `expires` seconds; `warning` is set when the 200 does not list our Contact as sent.
    Granted {
        expires: u32,
        warning: Option<String>,
    },
    /// The 2xx grants no time (expires 0): we are not registered. The text explains.
    Refused(String),
}

/// Reads the expiry granted to `our_contact` (whose user part is `contact_user`) from a 2xx, falling back to the
/// Expires header and then to `requested` (RFC 3261 §10.2.4).
pub(crate) fn grant(
    msg: &Message<'_>,
    our_contact: &str,
    contact_user: &str,
    requested: u32,
) -> Grant {
    let listed = match msg.contacts() {
        Ok(Contacts::List(list)) => list,
        Ok(Contacts::Star) | Err(_) => Vec::new(),
    };
    let ours = Uri::parse(our_contact).ok();
    let same_user = |c: &&NameAddr<'_>| c.uri.user_unescaped() == contact_user;
    let exact = listed.iter().filter(same_user).find(|c| {
        ours.as_ref().is_some_and(|o| {
            same_host(c.uri.host, o.host) && c.uri.port.unwrap_or(5060) == o.port.unwrap_or(5060)
        })
    });
    let matched = exact.or_else(|| listed.iter().find(same_user));
    let header = msg.expires().ok().flatten();
    let contact_expires = matched.and_then(|c| match c.params.get("expires") {
        Some(Some(v)) => delta_seconds(v),
        _ => None,
    });
    let expires = contact_expires.or(header).unwrap_or(requested);
    if expires == 0 {
        return Grant::Refused(format!(
            "the trunk answered 200 OK but granted 0 seconds to our Contact <{our_contact}>, so we are not registered: \
             the registrar did not keep the binding; check the registrar's logs and policy for this user"
        ));
    }
    let warning = exact.is_none().then(|| {
        let others = if listed.is_empty() {
            "none".to_owned()
        } else {
            listed
                .iter()
                .map(|c| format!("<{}>", c.raw_uri()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "the trunk's 200 OK does not list our Contact <{our_contact}>; it lists {others}: \
             the registrar rewrote it, calls may not reach us"
        )
    });
    Grant::Granted { expires, warning }
}

/// Hosts compare case-insensitively, IPv6 references with or without brackets.
fn same_host(a: &str, b: &str) -> bool {
    let strip = |h: &str| {
        h.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .map_or_else(|| h.to_owned(), str::to_owned)
    };
    let (a, b) = (strip(a), strip(b));
    match (a.parse::<std::net::IpAddr>(), b.parse::<std::net::IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.eq_ignore_ascii_case(&b),
    }
}

/// The `Retry-After` delay in seconds (RFC 3261 §20.33; a comment and parameters are ignored).
pub(crate) fn retry_after(msg: &Message<'_>) -> Option<u32> {
    let value = msg.header_named("Retry-After")?;
    let seconds = value
        .split(|c: char| c == '(' || c == ';' || c.is_whitespace())
        .next()?;
    delta_seconds(seconds)
}

/// The `Min-Expires` value of a 423.
pub(crate) fn min_expires(msg: &Message<'_>) -> Option<u32> {
    msg.header(HeaderName::MinExpires).and_then(delta_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(headers: &str) -> Vec<u8> {
        format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n\
             Call-ID: c\r\nCSeq: 1 REGISTER\r\n{headers}Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    fn grant_of(headers: &str) -> Grant {
        let raw = ok(headers);
        let msg = sip_msg::parse(&raw, &sip_msg::Limits::default()).unwrap();
        grant(&msg, "sip:t%201@192.0.2.1:5060", "t 1", 600)
    }

    #[test]
    fn contact_expires_wins() {
        let g = grant_of(
            "Contact: <sip:other@198.51.100.1>;expires=30, <sip:t%201@192.0.2.1>;expires=120\r\nExpires: 300\r\n",
        );
        assert_eq!(
            g,
            Grant::Granted {
                expires: 120,
                warning: None
            }
        );
    }

    #[test]
    fn falls_back_to_expires_then_requested() {
        assert_eq!(
            grant_of("Contact: <sip:t%201@192.0.2.1:5060>\r\nExpires: 300\r\n"),
            Grant::Granted {
                expires: 300,
                warning: None
            }
        );
        assert_eq!(
            grant_of("Contact: <sip:t%201@192.0.2.1:5060>\r\n"),
            Grant::Granted {
                expires: 600,
                warning: None
            }
        );
    }

    #[test]
    fn rewritten_contact_warns_but_counts() {
        let Grant::Granted { expires, warning } =
            grant_of("Contact: <sip:t%201@203.0.113.9:40000>;expires=90\r\n")
        else {
            panic!("granted expected");
        };
        assert_eq!(expires, 90);
        let warning = warning.unwrap();
        assert!(
            warning.contains("does not list our Contact <sip:t%201@192.0.2.1:5060>")
                && warning.contains("<sip:t%201@203.0.113.9:40000>")
                && warning.contains("calls may not reach us"),
            "{warning}"
        );
        let Grant::Granted { warning, .. } = grant_of("") else {
            panic!("granted expected");
        };
        assert!(warning.unwrap().contains("it lists none"));
    }

    #[test]
    fn zero_is_not_registered() {
        assert!(matches!(
            grant_of("Contact: <sip:t%201@192.0.2.1>;expires=0\r\n"),
            Grant::Refused(_)
        ));
        assert!(matches!(grant_of("Expires: 0\r\n"), Grant::Refused(_)));
    }

    #[test]
    fn retry_after_and_min_expires() {
        let raw = ok("Retry-After: 120 (maintenance);duration=60\r\nMin-Expires: 1800\r\n");
        let msg = sip_msg::parse(&raw, &sip_msg::Limits::default()).unwrap();
        assert_eq!(retry_after(&msg), Some(120));
        assert_eq!(min_expires(&msg), Some(1800));
        let raw = ok("Retry-After: soon\r\n");
        let msg = sip_msg::parse(&raw, &sip_msg::Limits::default()).unwrap();
        assert_eq!((retry_after(&msg), min_expires(&msg)), (None, None));
    }
}
