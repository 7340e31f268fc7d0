//! The management HTTP API: status, bindings, reload and Prometheus metrics.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/api/status` | version, uptime, counts, listeners |
//! | GET | `/api/aors` | every AOR with its bindings (the dump) |
//! | GET | `/api/aors/{aor}` | one AOR's bindings; 404 when it has none |
//! | DELETE | `/api/aors/{aor}/bindings/{id}` | remove one binding (reason `administrative`) |
//! | POST | `/api/reload` | re-read the config file's registrar and auth rules, forget cached users |
//! | POST | `/api/users/{user}/forget` | forget one cached user (after the subscriber table changed) |
//! | POST | `/api/users/forget` | forget every cached user |
//! | GET | `/api/registrations` | every outbound registration to a trunk, with its live state |
//! | POST | `/api/registrations` | add one (JSON with the `uacreg` column names) to the table and start it |
//! | GET, DELETE | `/api/registrations/{id}` | one registration; DELETE removes it from the table and unregisters |
//! | POST | `/api/registrations/{id}/refresh`, `/enable`, `/disable` | register now; enable or disable (kept in the table) |
//! | POST | `/api/registrations/reload` | re-read the table and config; only what changed re-registers |
//! | GET | `/metrics` | Prometheus text format |

pub mod dto;
mod registrations;

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use registrar::{Binding, UnixTime};

use crate::server::Server;
use dto::{AorView, BindingView, ErrorView, StatusView};

/// Builds the router over the running server.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/aors", get(dump))
        .route("/api/aors/{aor}", get(show_aor))
        .route("/api/aors/{aor}/bindings/{id}", delete(remove_binding))
        .route("/api/reload", post(reload))
        .route("/api/users/forget", post(forget_users))
        .route("/api/users/{user}/forget", post(forget_user))
        .route("/metrics", get(metrics))
        .merge(registrations::routes())
        .with_state(server)
}

fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (
        code,
        Json(ErrorView {
            error: message.into(),
        }),
    )
        .into_response()
}

async fn status(State(server): State<Arc<Server>>) -> Json<StatusView> {
    Json(server.status())
}

async fn dump(State(server): State<Arc<Server>>) -> Json<Vec<AorView>> {
    let now = UnixTime::from_system(SystemTime::now());
    let mut aors = Vec::new();
    server.location.for_each(|shard| {
        for (aor, bindings) in shard.table().iter() {
            let bindings: Vec<_> = bindings
                .iter()
                .filter(|b| b.expires_at > now)
                .map(|b| view(b, now))
                .collect();
            if !bindings.is_empty() {
                aors.push(AorView {
                    aor: aor.to_owned(),
                    bindings,
                });
            }
        }
    });
    aors.sort_by(|a, b| a.aor.cmp(&b.aor));
    Json(aors)
}

async fn show_aor(State(server): State<Arc<Server>>, Path(aor): Path<String>) -> Response {
    let aor = canonical_aor(&aor);
    let now = UnixTime::from_system(SystemTime::now());
    let bindings: Vec<_> = server
        .location
        .shard(&aor)
        .table()
        .live(&aor, now)
        .map(|b| view(b, now))
        .collect();
    if bindings.is_empty() {
        return error(StatusCode::NOT_FOUND, format!("{aor} has no bindings"));
    }
    Json(AorView { aor, bindings }).into_response()
}

async fn remove_binding(
    State(server): State<Arc<Server>>,
    Path((aor, id)): Path<(String, u64)>,
) -> Response {
    let aor = canonical_aor(&aor);
    let change = server.location.shard(&aor).remove_binding(&aor, id);
    let Some(change) = change else {
        return error(StatusCode::NOT_FOUND, format!("{aor} has no binding {id}"));
    };
    match server.persist(vec![change]).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn reload(State(server): State<Arc<Server>>) -> Response {
    match server.reload() {
        Ok(summary) => Json(serde_json::json!({ "reloaded": summary })).into_response(),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")),
    }
}

async fn forget_user(State(server): State<Arc<Server>>, Path(user): Path<String>) -> StatusCode {
    server.auth.forget(&canonical_aor(&user));
    StatusCode::NO_CONTENT
}

async fn forget_users(State(server): State<Arc<Server>>) -> StatusCode {
    server.auth.forget_all();
    StatusCode::NO_CONTENT
}

async fn metrics(State(server): State<Arc<Server>>) -> String {
    server.render_metrics()
}

/// `user@Domain` → `user@domain`, the key the registrar uses.
pub fn canonical_aor(aor: &str) -> String {
    let aor = aor.strip_prefix("sip:").unwrap_or(aor);
    match aor.rsplit_once('@') {
        Some((user, domain)) => format!("{user}@{}", domain.to_ascii_lowercase()),
        None => aor.to_owned(),
    }
}

fn view(b: &Binding, now: UnixTime) -> BindingView {
    BindingView {
        id: b.id,
        contact: b.uri.to_string(),
        params: b.params().to_owned(),
        q: b.q_str(),
        expires_in: b.expires_in(now),
        expires_at: b.expires_at.0.into(),
        registered_at: b.registered_at.0.into(),
        updated_at: b.updated_at.0.into(),
        source: b.source.remote.to_string(),
        transport: b.source.transport.as_str().to_owned(),
        local: b.source.local.to_string(),
        connection: b.source.connection.map(NonZeroU64::get),
        user_agent: b.user_agent.to_string(),
        instance: b.instance().map(str::to_owned),
        reg_id: b.reg_id(),
        path: b.path().iter().map(|p| p.to_string()).collect(),
        call_id: b.call_id.to_string(),
        cseq: b.cseq,
    }
}
