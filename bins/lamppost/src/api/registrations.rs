//! `/api/registrations`: the outbound registrations to trunks, their live state and their control.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::error;
use crate::config::UacRegistrationEntry;
use crate::server::Server;
use crate::uac::UacError;

/// The routes under `/api/registrations`.
pub(super) fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/api/registrations", get(list).post(add))
        .route("/api/registrations/reload", post(reload))
        .route("/api/registrations/{id}", get(show).delete(remove))
        .route("/api/registrations/{id}/refresh", post(refresh))
        .route("/api/registrations/{id}/enable", post(enable))
        .route("/api/registrations/{id}/disable", post(disable))
}

fn failed(e: &UacError) -> Response {
    let code = match e {
        UacError::NotFound(_) => StatusCode::NOT_FOUND,
        UacError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        UacError::Table(_) => StatusCode::BAD_GATEWAY,
        UacError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(code, e.to_string())
}

fn answer<T: serde::Serialize>(result: Result<T, UacError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => failed(&e),
    }
}

async fn list(State(server): State<Arc<Server>>) -> Response {
    answer(server.uac.list().await)
}

async fn show(State(server): State<Arc<Server>>, Path(id): Path<String>) -> Response {
    answer(server.uac.show(&id).await)
}

async fn refresh(State(server): State<Arc<Server>>, Path(id): Path<String>) -> Response {
    answer(server.uac.refresh(&id).await)
}

async fn enable(State(server): State<Arc<Server>>, Path(id): Path<String>) -> Response {
    answer(server.uac.set_enabled(&id, true).await)
}

async fn disable(State(server): State<Arc<Server>>, Path(id): Path<String>) -> Response {
    answer(server.uac.set_enabled(&id, false).await)
}

async fn reload(State(server): State<Arc<Server>>) -> Response {
    answer(server.uac.reload().await)
}

async fn add(
    State(server): State<Arc<Server>>,
    Json(entry): Json<UacRegistrationEntry>,
) -> Response {
    match server.uac.add(crate::uac::row_of_entry(&entry)).await {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => failed(&e),
    }
}

async fn remove(State(server): State<Arc<Server>>, Path(id): Path<String>) -> Response {
    match server.uac.remove(&id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(&e),
    }
}
