//! The database a `uacreg` URL names, and the URL as it may be shown.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::mysql::MySqlConnectOptions;
use sqlx::postgres::PgConnectOptions;

use crate::error::UacTableError;

/// A parsed database URL.
#[derive(Debug)]
pub(crate) enum DbUrl {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A MySQL or MariaDB database.
    MySql(MySqlConnectOptions),
    /// A PostgreSQL database.
    Postgres(PgConnectOptions),
}

impl DbUrl {
    /// Parses `sqlite:PATH` (also `sqlite://relative` and `sqlite:///absolute`; `%XX` escapes are decoded), a
    /// plain file path, `mysql://user[:password]@host[:port]/database`, or `postgres://` / `postgresql://`.
    pub(crate) fn parse(url: &str) -> Result<Self, UacTableError> {
        let invalid = |reason: String| UacTableError::InvalidUrl {
            url: redact(url),
            reason,
        };
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() || path.starts_with(":memory:") {
                return Err(invalid(
                    "it names no database file; write sqlite:/path/to/file.db".to_owned(),
                ));
            }
            let path = percent_decode(path).ok_or_else(|| {
                invalid("the percent-decoded file name is not valid UTF-8".to_owned())
            })?;
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("mysql://") {
            let options = MySqlConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
            if options.get_database().is_none_or(str::is_empty) {
                return Err(invalid(
                    "it names no database; write mysql://user@host/DATABASE".to_owned(),
                ));
            }
            return Ok(Self::MySql(options));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
            return Ok(Self::Postgres(options));
        }
        if url.is_empty() || url.contains("://") {
            return Err(UacTableError::UnsupportedUrl { url: redact(url) });
        }
        Ok(Self::Sqlite(PathBuf::from(url)))
    }
}

/// `url` with the password of its user information and any `password` query parameter replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Decodes `%XX` escapes (a `%` not followed by two hex digits is kept); `None` when the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, after)) = rest.split_first() {
        let escaped = match after {
            [high, low, ..] if first == b'%' => hex_value(*high)
                .zip(hex_value(*low))
                .map(|(high, low)| high << 4 | low),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                bytes.push(byte);
                rest = &after[2..];
            }
            None => {
                bytes.push(first);
                rest = after;
            }
        }
    }
    String::from_utf8(bytes).ok()
}

/// The value of one hex digit.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_path(url: &str) -> PathBuf {
        match DbUrl::parse(url) {
            Ok(DbUrl::Sqlite(path)) => path,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn sqlite_forms_name_a_file() {
        assert_eq!(sqlite_path("sqlite:data/x.db"), PathBuf::from("data/x.db"));
        assert_eq!(sqlite_path("sqlite://rel/x.db"), PathBuf::from("rel/x.db"));
        assert_eq!(
            sqlite_path("sqlite:///abs/x.db"),
            PathBuf::from("/abs/x.db")
        );
        assert_eq!(sqlite_path("/var/lib/k.db"), PathBuf::from("/var/lib/k.db"));
        assert_eq!(sqlite_path("./k.db"), PathBuf::from("./k.db"));
        assert_eq!(
            sqlite_path("sqlite:///d/a%20b%3F.db"),
            PathBuf::from("/d/a b?.db")
        );
        assert_eq!(sqlite_path("sqlite:100%.db"), PathBuf::from("100%.db"));
        for bad in [
            "sqlite:",
            "sqlite://",
            "sqlite::memory:",
            "sqlite:///%FF.db",
        ] {
            assert!(
                matches!(DbUrl::parse(bad), Err(UacTableError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn server_urls_are_parsed() {
        assert!(matches!(
            DbUrl::parse("mysql://root@127.0.0.1:3306/test"),
            Ok(DbUrl::MySql(_))
        ));
        assert!(matches!(
            DbUrl::parse("postgres://postgres@127.0.0.1/test"),
            Ok(DbUrl::Postgres(_))
        ));
        assert!(matches!(
            DbUrl::parse("postgresql://u:pw@db/test"),
            Ok(DbUrl::Postgres(_))
        ));
        let Err(error) = DbUrl::parse("mysql://kam:secret@db:3306") else {
            panic!("a MySQL URL without a database was accepted");
        };
        let message = error.to_string();
        assert!(message.contains("names no database"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }

    #[test]
    fn other_schemes_are_unsupported() {
        for url in ["redis://db/0", "mongodb://db", ""] {
            assert!(
                matches!(DbUrl::parse(url), Err(UacTableError::UnsupportedUrl { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("mysql://kam:s3cret@db.example:3306/kamailio"),
            "mysql://kam:***@db.example:3306/kamailio"
        );
        assert_eq!(
            redact("postgres://kam:p@ss@db/k?sslmode=require&password=x&Password=y"),
            "postgres://kam:***@db/k?sslmode=require&password=***&Password=***"
        );
        assert_eq!(
            redact("postgres://kam@db/k?passfile=/p"),
            "postgres://kam@db/k?passfile=/p"
        );
        assert_eq!(redact("sqlite:///var/a@b:c.db"), "sqlite:///var/a@b:c.db");
        assert_eq!(redact("/var/lib/x.db"), "/var/lib/x.db");
    }
}
