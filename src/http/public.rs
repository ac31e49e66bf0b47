//! Public endpoints: health and the cells of the atlas. Only public fields leave here.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::domain::code::{CellCode, check_level};
use crate::store::{self, cells};

/// `GET /health`: 200 with the current revision, or 503 when the database does not answer.
#[utoipa::path(get, path = "/health", tag = "public", responses((status = 200, description = "Up: revision, database, calendar reach", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let probe = async {
        let client = state.pool.get().await.map_err(store::StoreError::from)?;
        store::current_revision(&client).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), probe).await {
        Ok(Ok(revision)) => {
            let calendar = crate::app::calendar::status_now(&state.calendar.load());
            if !calendar.ok {
                tracing::warn!(
                    "the working-day calendar covers only until {:?}: load the next year (gridmap calendar import)",
                    calendar.covered_until
                );
            }
            Json(
                json!({"status": "ok", "revision": revision, "database": "ok",
                        "calendar": calendar}),
            )
            .into_response()
        }
        Ok(Err(e)) => unavailable(e.to_string()),
        Err(_) => unavailable("timed out after 5 s".into()),
    }
}

fn unavailable(reason: String) -> Response {
    // The driver's words go to the log only.
    tracing::warn!("health check failed: {reason}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(
            json!({"status": "unavailable", "revision": null, "database": "unavailable",
                    "error": {"code": "database_unavailable",
                              "message": "the database is unavailable; try again shortly",
                              "details": null}}),
        ),
    )
        .into_response()
}

/// `GET /api/v1/calendar?year=YYYY`: the working-day calendar of a year as this deployment
/// counts deadlines (holidays, make-up working days, whether the year's national schedule is
/// loaded) and how far it reaches. Public: it is the State Council's schedule.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "public", params(("year" = Option<String>, Query, description = "YYYY; default this year")), responses((status = 200, description = "The year's holidays and make-up working days", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn calendar(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let calendar = state.calendar.load();
    let status = crate::app::calendar::status_now(&calendar);
    let year = match query.get("year") {
        Some(y) => y
            .parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .ok_or_else(|| {
                ApiError::bad_field("year", format!("year must be 2000–2100, got {y:?}"))
            })?,
        None => chrono::Utc::now()
            .with_timezone(&crate::domain::calendar::china())
            .date_naive()
            .format("%Y")
            .to_string()
            .parse()
            .unwrap_or(2026),
    };
    if let Some(other) = query.keys().find(|k| k.as_str() != "year") {
        return Err(ApiError::bad_field(
            other,
            format!("unknown query parameter {other:?}; use year"),
        ));
    }
    let mut holidays = serde_json::Map::new();
    let mut workdays = serde_json::Map::new();
    for (date, working, name) in calendar.exceptions_in(year) {
        let target = if working {
            &mut workdays
        } else {
            &mut holidays
        };
        target.insert(date.format("%Y-%m-%d").to_string(), json!(name));
    }
    Ok(Json(json!({
        "year": year,
        "covered": calendar.covers_year(year),
        "holidays": holidays,
        "workdays": workdays,
        "calendar": status,
        "sources": calendar.sources().iter()
            .map(|s| s.rsplit('/').next().unwrap_or(s))
            .collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/cells?level=&parent=&as_of=` → a GeoJSON FeatureCollection.
#[utoipa::path(get, path = "/api/v1/cells", tag = "public", params(("level" = Option<String>, Query, description = "1–4"), ("parent" = Option<String>, Query, description = "a parent's code"), ("as_of" = Option<String>, Query, description = "a revision number")), responses((status = 200, description = "GeoJSON FeatureCollection (public fields only)", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn list_cells(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let mut filter = cells::CellFilter::default();
    for (key, value) in &query {
        match key.as_str() {
            "level" => {
                let n: i64 = value.parse().map_err(|_| {
                    ApiError::bad_field(
                        "level",
                        format!("level must be an integer 0-4, got {value:?}"),
                    )
                })?;
                let level =
                    check_level(n).map_err(|e| ApiError::bad_field("level", e.to_string()))?;
                filter.level = Some(level as i16);
            }
            "parent" => {
                let code = CellCode::parse(value)
                    .map_err(|e| ApiError::bad_field("parent", e.to_string()))?;
                filter.parent = Some(code.to_string());
            }
            "as_of" => filter.as_of = Some(parse_revision(value)?),
            other => {
                return Err(ApiError::bad_field(
                    other,
                    format!("unknown query parameter {other:?}; use level, parent, as_of"),
                ));
            }
        }
    }
    let client = state.pool.get().await.map_err(store::StoreError::from)?;
    let features = cells::list_features(&client, &filter).await?;
    Ok(Json(
        json!({"type": "FeatureCollection", "features": features}),
    ))
}

/// `GET /api/v1/cells/{code}` → one GeoJSON Feature, 404 when unknown.
#[utoipa::path(get, path = "/api/v1/cells/{code}", tag = "public", params(("code" = String, Path, description = "the cell code"), ("as_of" = Option<String>, Query, description = "a revision number")), responses((status = 200, description = "One GeoJSON Feature", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn get_cell(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let code = CellCode::parse(&code).map_err(|e| ApiError::bad_field("code", e.to_string()))?;
    let as_of = query.get("as_of").map(|v| parse_revision(v)).transpose()?;
    if let Some(other) = query.keys().find(|k| k.as_str() != "as_of") {
        return Err(ApiError::bad_field(
            other,
            format!("unknown query parameter {other:?}; use as_of"),
        ));
    }
    let client = state.pool.get().await.map_err(store::StoreError::from)?;
    if let Some(n) = as_of {
        // As on locate: a revision that does not exist yet is not "the current one".
        let current = store::current_revision(&client).await?;
        if n > current {
            return Err(ApiError::NotFound(format!(
                "no revision {n}; the current revision is {current}"
            )));
        }
    }
    Ok(Json(cells::feature(&client, code.as_str(), as_of).await?))
}

fn parse_revision(value: &str) -> Result<i32, ApiError> {
    value
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            ApiError::bad_field(
                "as_of",
                format!("as_of must be a revision number ≥ 0, got {value:?}"),
            )
        })
}
