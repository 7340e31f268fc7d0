//! The statements on a `uacreg` table, in each backend's SQL dialect.
//!
//! Identifiers are quoted (the table name is checked by [`is_plain_identifier`] first, column names are
//! constants); values are always bound as parameters.

use crate::schema::{INTEGER_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, TableSchema};

/// The SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite.
    Sqlite,
    /// MySQL and MariaDB.
    MySql,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// `name` quoted as an identifier.
    fn quote(self, name: &str) -> String {
        match self {
            Self::MySql => format!("`{name}`"),
            Self::Sqlite | Self::Postgres => format!("\"{name}\""),
        }
    }

    /// The `n`th (1-based) parameter placeholder.
    fn placeholder(self, n: usize) -> String {
        match self {
            Self::Postgres => format!("${n}"),
            Self::Sqlite | Self::MySql => "?".to_owned(),
        }
    }

    /// An expression reading `column`, named after it: strings as text (`NULL` as `''`), integers as 64-bit.
    fn read(self, column: &str) -> String {
        let quoted = self.quote(column);
        let expression = match (self, INTEGER_COLUMNS.contains(&column)) {
            (Self::Sqlite, true) => format!("CAST(COALESCE({quoted}, 0) AS INTEGER)"),
            (Self::MySql, true) => format!("CAST(COALESCE({quoted}, 0) AS SIGNED)"),
            (Self::Postgres, true) => format!("CAST(COALESCE({quoted}, 0) AS BIGINT)"),
            (Self::Sqlite | Self::Postgres, false) => {
                format!("CAST(COALESCE({quoted}, '') AS TEXT)")
            }
            (Self::MySql, false) => format!("COALESCE({quoted}, '')"),
        };
        format!("{expression} AS {quoted}")
    }
}

/// Whether `name` can be used as the table name: ASCII letters, digits and `_`, not starting with a digit, at most
/// 64 characters (MySQL's limit).
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// Selects every row ordered by id, with every column of [`UacRow`](crate::UacRow) (absent ones as `''`).
pub(crate) fn select_rows(dialect: Dialect, table: &str, schema: &TableSchema) -> String {
    let mut columns: Vec<String> = REQUIRED_COLUMNS.iter().map(|c| dialect.read(c)).collect();
    for column in OPTIONAL_COLUMNS {
        columns.push(if schema.has(column) {
            dialect.read(column)
        } else {
            format!("'' AS {}", dialect.quote(column))
        });
    }
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        dialect.quote(table),
        dialect.quote("id")
    )
}

/// Inserts one row into `columns`; with PostgreSQL it also returns the new id as a 64-bit integer.
pub(crate) fn insert_row(dialect: Dialect, table: &str, columns: &[&str]) -> String {
    let names: Vec<String> = columns.iter().map(|c| dialect.quote(c)).collect();
    let placeholders: Vec<String> = (1..=columns.len())
        .map(|n| dialect.placeholder(n))
        .collect();
    let returning = match dialect {
        Dialect::Postgres => " RETURNING CAST(\"id\" AS BIGINT) AS \"id\"",
        Dialect::Sqlite | Dialect::MySql => "",
    };
    format!(
        "INSERT INTO {} ({}) VALUES ({}){returning}",
        dialect.quote(table),
        names.join(", "),
        placeholders.join(", ")
    )
}

/// Deletes the rows whose `l_uuid` is the one parameter.
pub(crate) fn delete_by_uuid(dialect: Dialect, table: &str) -> String {
    format!(
        "DELETE FROM {} WHERE {} = {}",
        dialect.quote(table),
        dialect.quote("l_uuid"),
        dialect.placeholder(1)
    )
}

/// Sets `flags` to the first parameter in the rows whose `l_uuid` is the second.
pub(crate) fn update_flags(dialect: Dialect, table: &str) -> String {
    format!(
        "UPDATE {} SET {} = {} WHERE {} = {}",
        dialect.quote(table),
        dialect.quote("flags"),
        dialect.placeholder(1),
        dialect.quote("l_uuid"),
        dialect.placeholder(2)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: TableSchema = TableSchema {
        has_socket: true,
        has_contact_addr: false,
        has_contact_user: false,
    };

    #[test]
    fn table_names_must_be_plain() {
        for good in ["uacreg", "_x", "UacReg_2", &"a".repeat(64)] {
            assert!(is_plain_identifier(good), "{good}");
        }
        for bad in [
            "",
            "2uac",
            "uac reg",
            "uac\"reg",
            "uac`reg",
            "a.b",
            "uacrég",
            &"a".repeat(65),
        ] {
            assert!(!is_plain_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn select_reads_present_columns_and_blanks_absent_ones() {
        let sql = select_rows(Dialect::Postgres, "uacreg", &V4);
        assert!(sql.starts_with(r#"SELECT CAST(COALESCE("id", 0) AS BIGINT) AS "id", "#));
        assert!(sql.contains(r#"CAST(COALESCE("socket", '') AS TEXT) AS "socket""#));
        assert!(sql.contains(r#"'' AS "contact_addr", '' AS "contact_user""#));
        assert!(sql.ends_with(r#" FROM "uacreg" ORDER BY "id""#));

        let sql = select_rows(Dialect::MySql, "t", &V4);
        assert!(sql.contains("CAST(COALESCE(`flags`, 0) AS SIGNED) AS `flags`"));
        assert!(sql.contains("COALESCE(`l_uuid`, '') AS `l_uuid`"));
        assert!(sql.ends_with(" FROM `t` ORDER BY `id`"));
    }

    #[test]
    fn writes_use_numbered_or_positional_parameters() {
        assert_eq!(
            insert_row(Dialect::Postgres, "t", &["l_uuid", "flags"]),
            r#"INSERT INTO "t" ("l_uuid", "flags") VALUES ($1, $2) RETURNING CAST("id" AS BIGINT) AS "id""#
        );
        assert_eq!(
            insert_row(Dialect::MySql, "t", &["l_uuid", "flags"]),
            "INSERT INTO `t` (`l_uuid`, `flags`) VALUES (?, ?)"
        );
        assert_eq!(
            delete_by_uuid(Dialect::Sqlite, "t"),
            r#"DELETE FROM "t" WHERE "l_uuid" = ?"#
        );
        assert_eq!(
            update_flags(Dialect::Postgres, "t"),
            r#"UPDATE "t" SET "flags" = $1 WHERE "l_uuid" = $2"#
        );
    }
}
