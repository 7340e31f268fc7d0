//! What a `sqlite:` URL points at.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::StoreError;
use crate::error::redact_url;

/// The URL forms [`SqliteStore::open`](super::SqliteStore::open) accepts, for error messages.
pub(crate) const SQLITE_URL_FORMS: &str =
    "sqlite://relative/path.db, sqlite:///absolute/path.db and sqlite::memory:";

/// The database a `sqlite:` URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// A private in-memory database.
    Memory,
    /// A database file (relative paths are relative to the working directory).
    File(PathBuf),
}

impl Target {
    /// Checks the URL form and creates the database file's parent directory.
    pub(super) fn prepare(url: &str) -> Result<Self, StoreError> {
        let target = Self::parse(url)?;
        if let Self::File(path) = &target {
            create_parent_dir(path)?;
        }
        Ok(target)
    }

    /// The database `url` names: `sqlite://relative/path.db`, `sqlite:///absolute/path.db`, or `sqlite::memory:`
    /// (also `sqlite://:memory:`). The path is percent-decoded.
    fn parse(url: &str) -> Result<Self, StoreError> {
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
                supported: SQLITE_URL_FORMS,
            });
        };
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: redact_url(url),
            reason: reason.to_owned(),
        };
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.contains('?') {
            return Err(invalid(
                "query parameters are not supported (percent-encode a `?` in the file name as %3F)",
            ));
        }
        if path == ":memory:" {
            return Ok(Self::Memory);
        }
        if path.is_empty() {
            return Err(invalid("it names no database file"));
        }
        let path = percent_decode(path)
            .ok_or_else(|| invalid("the percent-decoded file name is not valid UTF-8"))?;
        Ok(Self::File(PathBuf::from(path)))
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is. `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(hex_byte);
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The byte two hex digits stand for.
fn hex_byte(digits: &[u8]) -> Option<u8> {
    let [high, low] = digits else {
        return None;
    };
    let digit = |d: &u8| char::from(*d).to_digit(16);
    u8::try_from(digit(high)? * 16 + digit(low)?).ok()
}

/// Creates the directory that will hold `file`, if it is missing.
fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source: Arc::new(source),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms_name_their_database() {
        let file = |p: &str| Target::File(PathBuf::from(p));
        assert_eq!(Target::parse("sqlite::memory:").unwrap(), Target::Memory);
        assert_eq!(Target::parse("sqlite://:memory:").unwrap(), Target::Memory);
        assert_eq!(
            Target::parse("sqlite://rel/x.db").unwrap(),
            file("rel/x.db")
        );
        assert_eq!(
            Target::parse("sqlite:///abs/x.db").unwrap(),
            file("/abs/x.db")
        );
        assert_eq!(Target::parse("sqlite:x.db").unwrap(), file("x.db"));
        assert_eq!(
            Target::parse("sqlite:///d/a%3Fb%23c%20d.db").unwrap(),
            file("/d/a?b#c d.db")
        );
        assert!(matches!(
            Target::parse("sqlite:///d/%FF.db"),
            Err(StoreError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn malformed_escapes_are_kept() {
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("a%zzb%4").as_deref(), Some("a%zzb%4"));
        assert_eq!(percent_decode("%+1%-1").as_deref(), Some("%+1%-1"));
        assert_eq!(percent_decode("%c3%A9").as_deref(), Some("é"));
    }
}
