//! The revision the map shows and consented staff photos. Public fields only (the card itself
//! is `residents`).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::AppState;
use super::db::Db;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::store::cards;

/// `GET /api/v1/revision`: the revision the map shows, with its date.
#[utoipa::path(get, path = "/api/v1/revision", tag = "public", responses((status = 200, description = "The served revision", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn current_revision(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let number = state.atlas.load().revision;
    let client = Db::get(&state).await?;
    let info = cards::revision(&client, number).await?;
    Ok(Json(match info {
        Some((n, date, message)) => json!({"number": n, "date": date, "message": message}),
        None => json!({"number": number, "date": null, "message": null}),
    }))
}

/// `GET /api/v1/staff/{id}/photo`: a portrait, 404 unless its publication was consented to.
#[utoipa::path(get, path = "/api/v1/staff/{id}/photo", tag = "public", params(("id" = String, Path, description = "staff id")), responses((status = 200, description = "The photo (only with recorded consent)", content_type = "image/svg+xml", body = String), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn staff_photo(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_field("id", "staff id must be a number"))?;
    let client = Db::get(&state).await?;
    let (kind, bytes) = cards::public_photo(&client, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no published photo".into()))?;
    axum::response::Response::builder()
        .header(axum::http::header::CONTENT_TYPE, kind)
        .header(axum::http::header::CACHE_CONTROL, "public, max-age=300")
        .body(axum::body::Body::from(bytes))
        .map_err(|e| ApiError::Internal(e.to_string()))
}
