//! `lamppost reg …`: outbound registrations to trunks, through the running server's management API.

use anyhow::{Context, bail};
use clap::Subcommand;

use super::{ApiArgs, api_base, client, get_json};
use crate::config::{Loaded, UacRegistrationEntry};
use crate::uac::{RegistrationView, ReloadReport};

/// `lamppost reg` subcommands.
#[derive(Debug, Subcommand)]
pub(super) enum RegCommand {
    /// List every registration with its state.
    List(ApiArgs),
    /// Show one registration in full.
    Show {
        /// The registration's id (l_uuid).
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Re-read the uacreg table and the config file; only what changed re-registers.
    Reload(ApiArgs),
    /// Send a REGISTER now.
    Refresh {
        /// The registration's id (l_uuid).
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Enable a registration (kept in the table).
    Enable {
        /// The registration's id (l_uuid).
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Disable a registration: unregister it and stop (kept in the table).
    Disable {
        /// The registration's id (l_uuid).
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Add a registration to the uacreg table and start it.
    Add(Box<AddArgs>),
    /// Remove a registration from the uacreg table, unregistering it first.
    Remove {
        /// The registration's id (l_uuid).
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

/// The columns of a new row.
#[derive(Debug, clap::Args)]
pub(super) struct AddArgs {
    /// Unique id (l_uuid); also the Contact user unless --contact-user is given.
    id: String,
    /// Local user calls from the trunk go to (l_username).
    #[arg(long)]
    l_username: String,
    /// Local domain (l_domain); default: the first registrar domain.
    #[arg(long, default_value = "")]
    l_domain: String,
    /// User at the trunk (r_username).
    #[arg(long)]
    r_username: String,
    /// The trunk's domain (r_domain).
    #[arg(long)]
    r_domain: String,
    /// Expected realm; empty accepts the trunk's.
    #[arg(long, default_value = "")]
    realm: String,
    /// Digest user name; default r_username.
    #[arg(long, default_value = "")]
    auth_username: String,
    /// Digest password.
    #[arg(
        long,
        default_value = "",
        env = "LAMPPOST_AUTH_PASSWORD",
        hide_env_values = true
    )]
    auth_password: String,
    /// Digest HA1, instead of the password.
    #[arg(long, default_value = "")]
    auth_ha1: String,
    /// Next hop as a SIP URI.
    #[arg(long, default_value = "")]
    auth_proxy: String,
    /// Requested expiry in seconds.
    #[arg(long, default_value_t = 3600)]
    expires: i64,
    /// 1 = disabled.
    #[arg(long, default_value_t = 0)]
    flags: i64,
    /// Seconds before the first REGISTER.
    #[arg(long, default_value_t = 0)]
    reg_delay: i64,
    /// Local socket, e.g. udp:192.0.2.1:5060.
    #[arg(long, default_value = "")]
    socket: String,
    /// Contact host[:port].
    #[arg(long, default_value = "")]
    contact_addr: String,
    /// Contact user; default the id.
    #[arg(long, default_value = "")]
    contact_user: String,
    #[command(flatten)]
    api: ApiArgs,
}

/// Runs a `reg` subcommand.
pub(super) async fn run(loaded: &Loaded, cmd: RegCommand) -> anyhow::Result<()> {
    match cmd {
        RegCommand::List(api) => {
            let base = api_base(loaded, &api)?;
            let views: Vec<RegistrationView> =
                get_json(&format!("{base}/api/registrations")).await?;
            if api.json {
                println!("{}", serde_json::to_string_pretty(&views)?);
            } else {
                print_list(&views);
            }
        }
        RegCommand::Show { id, api } => {
            let base = api_base(loaded, &api)?;
            let v: RegistrationView = get_json(&format!("{base}/api/registrations/{id}")).await?;
            if api.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_one(&v);
            }
        }
        RegCommand::Reload(api) => {
            let base = api_base(loaded, &api)?;
            let r: ReloadReport = post(&format!("{base}/api/registrations/reload"), None).await?;
            if api.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "added {}, changed {}, unchanged {}, removed {}",
                    r.added.len(),
                    r.changed.len(),
                    r.unchanged,
                    r.removed.len()
                );
                for e in &r.errors {
                    println!("skipped: {e}");
                }
            }
        }
        RegCommand::Refresh { id, api } => act(loaded, &api, &id, "refresh").await?,
        RegCommand::Enable { id, api } => act(loaded, &api, &id, "enable").await?,
        RegCommand::Disable { id, api } => act(loaded, &api, &id, "disable").await?,
        RegCommand::Add(args) => {
            let base = api_base(loaded, &args.api)?;
            let entry = UacRegistrationEntry {
                l_uuid: args.id,
                l_username: args.l_username,
                l_domain: args.l_domain,
                r_username: args.r_username,
                r_domain: args.r_domain,
                realm: args.realm,
                auth_username: args.auth_username,
                auth_password: args.auth_password,
                auth_ha1: args.auth_ha1,
                auth_proxy: args.auth_proxy,
                expires: args.expires,
                flags: args.flags,
                reg_delay: args.reg_delay,
                socket: args.socket,
                contact_addr: args.contact_addr,
                contact_user: args.contact_user,
            };
            let body = serde_json::to_value(&entry)?;
            let v: RegistrationView =
                post(&format!("{base}/api/registrations"), Some(body)).await?;
            println!("added {} ({})", v.id, v.state);
        }
        RegCommand::Remove { id, api } => {
            let base = api_base(loaded, &api)?;
            let resp = client()?
                .delete(format!("{base}/api/registrations/{id}"))
                .send()
                .await
                .with_context(|| format!("cannot reach the management API at {base}"))?;
            if !resp.status().is_success() {
                bail!("{}", error_text(resp).await);
            }
            println!("removed {id}; it is being unregistered");
        }
    }
    Ok(())
}

async fn act(loaded: &Loaded, api: &ApiArgs, id: &str, action: &str) -> anyhow::Result<()> {
    let base = api_base(loaded, api)?;
    let v: RegistrationView =
        post(&format!("{base}/api/registrations/{id}/{action}"), None).await?;
    if api.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}: {}", v.id, v.state);
    }
    Ok(())
}

async fn post<T: serde::de::DeserializeOwned>(
    url: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<T> {
    let mut req = client()?.post(url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.with_context(|| {
        format!("cannot reach the management API at {url}; is the server running?")
    })?;
    if !resp.status().is_success() {
        bail!("{}", error_text(resp).await);
    }
    Ok(resp.json().await?)
}

async fn error_text(resp: reqwest::Response) -> String {
    let status = resp.status();
    resp.json::<crate::api::dto::ErrorView>()
        .await
        .map_or_else(|_| status.to_string(), |e| e.error)
}

fn secs(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |s| format!("{s}s"))
}

fn print_list(views: &[RegistrationView]) {
    println!(
        "{:<20} {:<22} {:>4} {:>9} {:>9} {:<32} LAST ERROR",
        "ID", "STATE", "CODE", "EXPIRES", "NEXT", "TRUNK"
    );
    for v in views {
        println!(
            "{:<20} {:<22} {:>4} {:>9} {:>9} {:<32} {}",
            v.id,
            v.state,
            v.last_code
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
            secs(v.expires_in),
            secs(v.next_attempt_in),
            v.remote_aor,
            v.last_error.as_deref().unwrap_or("")
        );
    }
}

fn print_one(v: &RegistrationView) {
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".to_owned());
    println!(
        "{}  ({}{})",
        v.id,
        v.origin,
        v.row_id.map_or_else(String::new, |id| format!(" row {id}"))
    );
    println!(
        "  state          {}{}",
        v.state,
        if v.enabled { "" } else { " (disabled)" }
    );
    println!(
        "  last response  {} {}",
        v.last_code
            .map_or_else(|| "-".to_owned(), |c| c.to_string()),
        opt(&v.last_reason)
    );
    println!("  last error     {}", opt(&v.last_error));
    println!("  failures       {}", v.failures);
    println!(
        "  registered as  {} via {} ({})",
        v.remote_aor, v.next_hop, v.transport
    );
    println!("  calls go to    {}", v.local_aor);
    println!(
        "  contact        {}{}",
        v.contact,
        if v.contact_rewritten {
            " (rewritten by the trunk)"
        } else {
            ""
        }
    );
    println!(
        "  expires        asked {}s, granted {}, {} left",
        v.requested_expires,
        v.granted_expires
            .map_or_else(|| "-".to_owned(), |g| format!("{g}s")),
        secs(v.expires_in)
    );
    println!("  next attempt   in {}", secs(v.next_attempt_in));
    println!(
        "  last success   {}",
        v.last_success
            .map_or_else(|| "never".to_owned(), |t| format!("unix {t}"))
    );
    println!(
        "  auth           user {} ({}), realm seen {}, expected {}",
        v.auth_username,
        v.auth_secret,
        opt(&v.realm),
        v.realm_expected.as_deref().unwrap_or("any")
    );
    println!("  call-id        {}  cseq {}", v.call_id, v.cseq);
}
