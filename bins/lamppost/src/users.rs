//! `lamppost user …`: the subscriber table, managed directly in the configured store.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, bail};
use sip_auth::Algorithm;
use store::{SqliteStore, Subscriber, SubscriberStore};

use crate::config::Loaded;

/// The subscriber table of the configured store.
pub struct Users {
    store: SqliteStore,
}

impl Users {
    /// Opens the store named by the configuration.
    pub async fn open(loaded: &Loaded) -> anyhow::Result<Self> {
        Ok(Self {
            store: crate::server::open_store(loaded).await?,
        })
    }

    /// Adds `user@domain` with `password`.
    pub async fn add(&self, user: &str, password: &str) -> anyhow::Result<()> {
        let sub = subscriber(user, password)?;
        self.store.add_subscriber(&sub).await?;
        Ok(())
    }

    /// `user@domain` lines, optionally for one domain.
    pub async fn list(&self, domain: Option<&str>) -> anyhow::Result<Vec<String>> {
        Ok(self
            .store
            .list_subscribers(domain)
            .await?
            .into_iter()
            .map(|s| format!("{}@{}", s.username, s.domain))
            .collect())
    }

    /// Removes `user@domain`; false if there was no such user.
    pub async fn remove(&self, user: &str) -> anyhow::Result<bool> {
        let (username, domain) = split_user(user)?;
        Ok(self.store.remove_subscriber(username, domain).await?)
    }

    /// Imports `user@domain,password` lines from `file` (`-` for stdin) in one transaction.
    pub async fn import(&self, file: &Path) -> anyhow::Result<u64> {
        let reader: Box<dyn BufRead> = if file == Path::new("-") {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(file)
                    .with_context(|| format!("cannot open {}", file.display()))?,
            ))
        };
        let mut subs = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line = line.with_context(|| format!("cannot read {}", file.display()))?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, password)) = line.split_once(',') else {
                bail!(
                    "{}:{}: expected `user@domain,password`, found {line:?}",
                    file.display(),
                    i + 1
                );
            };
            subs.push(
                subscriber(user.trim(), password)
                    .with_context(|| format!("{}:{}", file.display(), i + 1))?,
            );
        }
        Ok(self.store.import_subscribers(&subs).await?)
    }
}

/// `user@domain` → (`user`, `domain` in lower case).
fn split_user(user: &str) -> anyhow::Result<(&str, &str)> {
    match user.rsplit_once('@') {
        Some((u, d)) if !u.is_empty() && !d.is_empty() => Ok((u, d)),
        _ => bail!("write the user as user@domain, not {user:?}"),
    }
}

/// A subscriber row with every HA1 form precomputed; the realm is the domain, as Kamailio does.
fn subscriber(user: &str, password: &str) -> anyhow::Result<Subscriber> {
    let (username, domain) = split_user(user)?;
    let domain = domain.to_ascii_lowercase();
    if password.is_empty() {
        bail!("the password of {user} is empty");
    }
    Ok(Subscriber {
        username: username.to_owned(),
        ha1: sip_auth::ha1(Algorithm::Md5, username, &domain, password),
        ha1b: sip_auth::ha1(
            Algorithm::Md5,
            &format!("{username}@{domain}"),
            &domain,
            password,
        ),
        ha1_sha256: Some(sip_auth::ha1(
            Algorithm::Sha256,
            username,
            &domain,
            password,
        )),
        password: Some(password.to_owned()),
        domain,
    })
}
