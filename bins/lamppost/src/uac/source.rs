//! Where registrations are defined: the `uacreg` table and the config file's `[[uac.registration]]` entries.

use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::path::PathBuf;

use hashbrown::HashTable;
use sip_transport::Listen;
use sip_uac::{Account, LocalBinding};
use uacreg::{UacRow, UacTable};

use super::account::{Origin, RowError, account_from_row};
use crate::config::{Loaded, UacRegistrationEntry};

/// One usable registration definition.
pub(crate) struct Definition {
    pub(crate) origin: Origin,
    pub(crate) account: Account,
    pub(crate) binding: LocalBinding,
}

/// A row that cannot become a registration.
pub(crate) struct Invalid {
    pub(crate) origin: Origin,
    pub(crate) row: UacRow,
    /// Why, naming the row, the column and the fix.
    pub(crate) error: String,
}

/// Everything read from the sources.
#[derive(Default)]
pub(crate) struct Reading {
    pub(crate) definitions: Vec<Definition>,
    pub(crate) invalid: Vec<Invalid>,
    /// The table could not be read: its registrations must be left as they are.
    pub(crate) table_error: Option<String>,
    /// The config file could not be read: its registrations must be left as they are.
    pub(crate) config_error: Option<String>,
}

/// What the definitions are read from, and the defaults they need.
pub(crate) struct Sources {
    /// The `uacreg` table, if one is configured.
    pub(crate) table: Option<UacTable>,
    /// The config file to re-read on reload (`None`: built-in defaults, no entries).
    pub(crate) config_path: Option<PathBuf>,
    /// The SIP listen addresses, to pick each registration's local socket.
    pub(crate) listens: Vec<Listen>,
    /// Contact `host[:port]` for rows without `contact_addr`; empty: the listen address. Re-read on reload.
    pub(crate) contact_addr: String,
    /// The local domain of rows without `l_domain`.
    pub(crate) default_domain: String,
}

impl Sources {
    /// Reads every definition. A source that cannot be read is reported in [`Reading`] and its registrations
    /// are left as they run; rows that cannot be used are returned with the reason (naming the row and the fix).
    pub(crate) async fn read(&mut self) -> Reading {
        let mut reading = Reading::default();
        let mut table_rows = Vec::new();
        if let Some(table) = &self.table {
            match table.load().await {
                Ok(loaded) => table_rows = loaded,
                Err(e) => reading.table_error = Some(e.to_string()),
            }
        }
        let mut config_rows = Vec::new();
        match Loaded::load(self.config_path.as_deref()) {
            Ok(config) => {
                // The default Contact address may change with the config (a new public address).
                self.contact_addr
                    .clone_from(&config.config.uac.contact_addr);
                let file = config.file_name();
                for entry in &config.config.uac.registration {
                    config_rows.push((
                        Origin::config(file.clone(), config.line_of_span(entry.span())),
                        row_of_entry(entry.get_ref()),
                    ));
                }
            }
            Err(e) => reading.config_error = Some(format!("{e:#}")),
        }
        // The table's rows are taken one by one as they are, and the definitions sized once: a load of thousands
        // of rows then leaves neither a second copy of them nor outgrown vectors behind.
        reading
            .definitions
            .reserve_exact(table_rows.len() + config_rows.len());
        let table_rows = table_rows
            .into_iter()
            .map(|row| (Origin::Table { id: row.id }, row));
        // Positions in `definitions`, by l_uuid: a duplicate is found without comparing every pair of rows.
        let mut by_id: HashTable<usize> = HashTable::with_capacity(reading.definitions.capacity());
        let hasher = RandomState::new();
        for (origin, row) in table_rows.chain(config_rows) {
            let hash = hasher.hash_one(&row.l_uuid);
            let definitions = &reading.definitions;
            if let Some(first) = by_id
                .find(hash, |&i| definitions[i].account.id == row.l_uuid)
                .map(|&i| &definitions[i])
            {
                let error = format!(
                    "{origin}: l_uuid {:?} is already used by {}; l_uuid must be unique",
                    row.l_uuid, first.origin
                );
                reading.invalid.push(Invalid { origin, row, error });
                continue;
            }
            match self.definition(&row, origin.clone()) {
                Ok(d) => {
                    let definitions = &reading.definitions;
                    by_id.insert_unique(hash, definitions.len(), |&i| {
                        hasher.hash_one(&definitions[i].account.id)
                    });
                    reading.definitions.push(d);
                }
                Err(e) => reading.invalid.push(Invalid {
                    origin,
                    row,
                    error: e.0,
                }),
            }
        }
        reading
    }

    /// Validates one row and picks its local socket and Contact address.
    pub(crate) fn definition(&self, row: &UacRow, origin: Origin) -> Result<Definition, RowError> {
        let account = account_from_row(row, &origin, &self.default_domain)?;
        let binding = self.binding(row, &account).map_err(|problem| {
            RowError(format!("{origin} (l_uuid {:?}): {problem}", row.l_uuid))
        })?;
        Ok(Definition {
            origin,
            account,
            binding,
        })
    }

    /// The listen socket a registration sends from, and the Contact address it advertises.
    fn binding(&self, row: &UacRow, account: &Account) -> Result<LocalBinding, String> {
        let transport = account.transport;
        let local = if row.socket.trim().is_empty() {
            self.listens
                .iter()
                .find(|l| l.transport == transport)
                .map(|l| l.addr)
                .ok_or_else(|| {
                    format!(
                        "it uses {} but no sip.listen address is {}; add one or change auth_proxy's transport",
                        transport.as_str(),
                        transport.as_str().to_ascii_lowercase()
                    )
                })?
        } else {
            let wanted: Listen = row
                .socket
                .trim()
                .parse()
                .map_err(|e| format!("socket: {e}"))?;
            if wanted.transport != transport {
                return Err(format!(
                    "socket: {:?} is {} but the registration uses {} (from auth_proxy)",
                    row.socket,
                    wanted.transport.as_str(),
                    transport.as_str()
                ));
            }
            self.listens
                .iter()
                .find(|l| **l == wanted || (l.transport == wanted.transport && wanted.addr.port() == 0))
                .map(|l| l.addr)
                .ok_or_else(|| {
                    format!(
                        "socket: {:?} is not one of the SIP listen addresses; add it to sip.listen or clear socket",
                        row.socket
                    )
                })?
        };
        let contact_host = contact_host(&row.contact_addr, &self.contact_addr, local)?;
        Ok(LocalBinding {
            transport,
            local,
            contact_host,
        })
    }

    /// Adds `row` to the table; returns its id.
    pub(crate) async fn insert(&self, row: &UacRow) -> Result<i64, String> {
        let table = self.table.as_ref().ok_or_else(no_table)?;
        table.insert(row).await.map_err(|e| e.to_string())
    }

    /// Deletes the row with `l_uuid` from the table.
    pub(crate) async fn remove(&self, l_uuid: &str) -> Result<bool, String> {
        let table = self.table.as_ref().ok_or_else(no_table)?;
        table.remove(l_uuid).await.map_err(|e| e.to_string())
    }

    /// Stores a row's `flags` (enable/disable survive a restart).
    pub(crate) async fn set_flags(&self, l_uuid: &str, flags: i64) -> Result<bool, String> {
        let table = self.table.as_ref().ok_or_else(no_table)?;
        table
            .set_flags(l_uuid, flags)
            .await
            .map_err(|e| e.to_string())
    }
}

fn no_table() -> String {
    "no uacreg table is configured (uac.table_url = \"\"); add registrations to the config file instead".into()
}

/// The Contact `host[:port]`: the row's `contact_addr`, else the configured default, else the local socket (which
/// must then be a specific address).
fn contact_host(row: &str, default: &str, local: SocketAddr) -> Result<String, String> {
    let chosen = [row.trim(), default.trim()]
        .into_iter()
        .find(|s| !s.is_empty());
    if let Some(addr) = chosen {
        // Kamailio allows `host[:port][;params]`; parameters are not carried yet.
        let host = addr
            .split(';')
            .next()
            .unwrap_or(addr)
            .trim_start_matches("sip:");
        if host.is_empty() || host.contains(['@', '<', '>', ' ', '"']) {
            return Err(format!("contact_addr: {addr:?} is not host[:port]"));
        }
        return Ok(host.to_owned());
    }
    if local.ip().is_unspecified() {
        return Err(format!(
            "the listen address {local} is a wildcard, which cannot be a Contact; set contact_addr in the row \
             or uac.contact_addr in the config"
        ));
    }
    Ok(local.to_string())
}

/// A config (or API) entry as a table row.
pub fn row_of_entry(e: &UacRegistrationEntry) -> UacRow {
    UacRow {
        id: 0,
        l_uuid: e.l_uuid.clone(),
        l_username: e.l_username.clone(),
        l_domain: e.l_domain.clone(),
        r_username: e.r_username.clone(),
        r_domain: e.r_domain.clone(),
        realm: e.realm.clone(),
        auth_username: e.auth_username.clone(),
        auth_password: e.auth_password.clone(),
        auth_ha1: e.auth_ha1.clone(),
        auth_proxy: e.auth_proxy.clone(),
        expires: e.expires,
        flags: e.flags,
        reg_delay: e.reg_delay,
        socket: e.socket.clone(),
        contact_addr: e.contact_addr.clone(),
        contact_user: e.contact_user.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_host_prefers_row_then_default_then_a_specific_listen_address() {
        let local: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        assert_eq!(
            contact_host("198.51.100.1:5070;x=y", "", local).unwrap(),
            "198.51.100.1:5070"
        );
        assert_eq!(
            contact_host("", "pbx.example:5080", local).unwrap(),
            "pbx.example:5080"
        );
        assert_eq!(contact_host("", "", local).unwrap(), "192.0.2.1:5060");
        let wildcard: SocketAddr = "0.0.0.0:5060".parse().unwrap();
        assert!(
            contact_host("", "", wildcard)
                .unwrap_err()
                .contains("contact_addr")
        );
        assert!(contact_host("a b", "", local).is_err());
    }
}
