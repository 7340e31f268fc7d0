//! Command-line interface: `serve`, `user …`, `aor …`, `reg …`, `status`, `reload`.

mod reg;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::api::dto::{AorView, ErrorView, StatusView};
use crate::config::Loaded;

/// lamppost, a SIP registration server.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// Configuration file (TOML). Default: ./lamppost.toml when present, else built-in defaults.
    #[arg(long, short, global = true, env = "LAMPPOST_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Manage users (the subscriber table) in the configured store.
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect addresses-of-record through the running server's management API.
    #[command(subcommand)]
    Aor(AorCommand),
    /// Outbound registrations to SIP trunks, through the running server's management API.
    #[command(subcommand)]
    Reg(reg::RegCommand),
    /// Show the running server's status.
    Status(ApiArgs),
    /// Make the running server re-read its configuration file.
    Reload(ApiArgs),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user.
    Add {
        /// The user, as user@domain.
        user: String,
        /// The password.
        #[arg(long, short)]
        password: String,
    },
    /// List users.
    List {
        /// Only users of this domain.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Remove a user.
    Remove {
        /// The user, as user@domain.
        user: String,
    },
    /// Add or update many users from a file of `user@domain,password` lines (`#` starts a comment).
    Import {
        /// The file to read; `-` reads standard input.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AorCommand {
    /// Show the bindings of an AOR.
    Show {
        /// The AOR, as user@domain.
        aor: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// List every AOR and its bindings.
    List(ApiArgs),
}

#[derive(Debug, clap::Args)]
struct ApiArgs {
    /// Management API base URL. Default: the config's http.listen.
    #[arg(long)]
    api: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs one command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = Loaded::load(args.config.as_deref())?;
    match args.command {
        Command::Serve => crate::server::run(loaded),
        Command::User(cmd) => runtime()?.block_on(user(loaded, cmd)),
        Command::Reg(cmd) => runtime()?.block_on(reg::run(&loaded, cmd)),
        Command::Aor(AorCommand::Show { aor, api }) => {
            let base = api_base(&loaded, &api)?;
            let aor = crate::api::canonical_aor(&aor);
            runtime()?.block_on(async {
                let view: AorView = get_json(&format!("{base}/api/aors/{aor}")).await?;
                print_aors(&[view], api.json)
            })
        }
        Command::Aor(AorCommand::List(api)) => {
            let base = api_base(&loaded, &api)?;
            runtime()?.block_on(async {
                let views: Vec<AorView> = get_json(&format!("{base}/api/aors")).await?;
                print_aors(&views, api.json)
            })
        }
        Command::Status(api) => {
            let base = api_base(&loaded, &api)?;
            runtime()?.block_on(async {
                let s: StatusView = get_json(&format!("{base}/api/status")).await?;
                if api.json {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                } else {
                    println!("lamppost {} up {}s", s.version, s.uptime_secs);
                    println!("listening: {}", s.listening.join(", "));
                    println!("domains:   {}", s.domains.join(", "));
                    println!("aors: {}  bindings: {}", s.aors, s.bindings);
                }
                Ok(())
            })
        }
        Command::Reload(api) => {
            let base = api_base(&loaded, &api)?;
            runtime()?.block_on(async {
                let resp = client()?
                    .post(format!("{base}/api/reload"))
                    .send()
                    .await
                    .with_context(|| format!("cannot reach the management API at {base}"))?;
                let ok = resp.status().is_success();
                let body: serde_json::Value = resp.json().await?;
                if !ok {
                    bail!("reload refused: {}", body["error"]);
                }
                println!("{}", body["reloaded"].as_str().unwrap_or("reloaded"));
                Ok(())
            })
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn user(loaded: Loaded, cmd: UserCommand) -> anyhow::Result<()> {
    let users = crate::users::Users::open(&loaded).await?;
    match cmd {
        UserCommand::Add { user, password } => {
            users.add(&user, &password).await?;
            println!("added {user}");
            tell_server(
                &loaded,
                &format!("/api/users/{}/forget", crate::api::canonical_aor(&user)),
            )
            .await;
        }
        UserCommand::List { domain } => {
            for u in users.list(domain.as_deref()).await? {
                println!("{u}");
            }
        }
        UserCommand::Remove { user } => {
            if !users.remove(&user).await? {
                bail!("no such user: {user}");
            }
            println!("removed {user}");
            tell_server(
                &loaded,
                &format!("/api/users/{}/forget", crate::api::canonical_aor(&user)),
            )
            .await;
        }
        UserCommand::Import { file } => {
            let started = std::time::Instant::now();
            let n = users.import(&file).await?;
            println!(
                "imported {n} users in {:.1}s",
                started.elapsed().as_secs_f64()
            );
            tell_server(&loaded, "/api/users/forget").await;
        }
    }
    Ok(())
}

/// Tells a running server that the subscriber table changed, so it drops what it cached; no server is fine.
async fn tell_server(loaded: &Loaded, path: &str) {
    let Ok(addr) = loaded.http_listen() else {
        return;
    };
    let sent = match reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(c) => c.post(format!("http://{addr}{path}")).send().await,
        Err(_) => return,
    };
    if sent.is_ok_and(|r| r.status().is_success()) {
        println!("the running server at {addr} was told");
    }
}

fn api_base(loaded: &Loaded, api: &ApiArgs) -> anyhow::Result<String> {
    match &api.api {
        Some(url) => Ok(url.trim_end_matches('/').to_owned()),
        None => Ok(format!("http://{}", loaded.http_listen()?)),
    }
}

fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("cannot build the HTTP client")
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> anyhow::Result<T> {
    let resp = client()?.get(url).send().await.with_context(|| {
        format!("cannot reach the management API at {url}; is the server running?")
    })?;
    if !resp.status().is_success() {
        let status = resp.status();
        let msg = resp
            .json::<ErrorView>()
            .await
            .map_or_else(|_| status.to_string(), |e| e.error);
        bail!("{msg}");
    }
    Ok(resp.json().await?)
}

fn print_aors(views: &[AorView], json: bool) -> anyhow::Result<()> {
    if json {
        let text = if views.len() == 1 {
            serde_json::to_string_pretty(&views[0])?
        } else {
            serde_json::to_string_pretty(views)?
        };
        println!("{text}");
        return Ok(());
    }
    for v in views {
        println!(
            "{}  ({} binding{})",
            v.aor,
            v.bindings.len(),
            if v.bindings.len() == 1 { "" } else { "s" }
        );
        for b in &v.bindings {
            println!("  contact:    <{}>{}", b.contact, b.params);
            println!(
                "    expires in {}s   q={}",
                b.expires_in,
                b.q.as_deref().unwrap_or("-")
            );
            println!(
                "    source     {} over {} (local {})",
                b.source, b.transport, b.local
            );
            if !b.user_agent.is_empty() {
                println!("    user agent {}", b.user_agent);
            }
            if let Some(instance) = &b.instance {
                println!(
                    "    instance   {instance}  reg-id {}",
                    b.reg_id.map_or_else(|| "-".to_owned(), |r| r.to_string())
                );
            }
            if !b.path.is_empty() {
                println!("    path       {}", b.path.join(", "));
            }
        }
    }
    Ok(())
}
