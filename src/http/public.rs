//! Public endpoints: health and the cells of the atlas. Only public fields leave here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::AppState;
use super::db::Db;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::params::Params;
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
/// `GET /api/v1/calendar` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalendarParams {
    /// The year (default this year in China).
    #[param(minimum = 2000, maximum = 2100, example = 2026)]
    year: Option<i32>,
}

#[utoipa::path(get, path = "/api/v1/calendar", tag = "public", params(CalendarParams), responses((status = 200, description = "The year's holidays and make-up working days", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn calendar(
    State(state): State<AppState>,
    Params(query): Params<CalendarParams>,
) -> Result<Json<Value>, ApiError> {
    let calendar = state.calendar.load();
    let status = crate::app::calendar::status_now(&calendar);
    let year = match query.year {
        Some(y) if (2000..=2100).contains(&y) => y,
        Some(y) => {
            return Err(ApiError::bad_field(
                "year",
                format!("year must be 2000–2100, got {y}"),
            ));
        }
        None => chrono::Datelike::year(
            &chrono::Utc::now()
                .with_timezone(&crate::domain::calendar::china())
                .date_naive(),
        ),
    };
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

/// `GET /api/v1/cells` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CellsParams {
    /// 0 county … 3 grid (4 a sub-grid).
    #[param(minimum = 0, maximum = 4)]
    level: Option<i64>,
    /// Only the children of this cell.
    #[param(example = "330106001001")]
    parent: Option<String>,
    /// A past revision.
    #[param(minimum = 0)]
    as_of: Option<i32>,
}

/// The `as_of` parameter of one cell.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// A past revision.
    #[param(minimum = 0)]
    as_of: Option<i32>,
}

/// `GET /api/v1/cells?level=&parent=&as_of=` → a GeoJSON FeatureCollection.
#[utoipa::path(get, path = "/api/v1/cells", tag = "public", params(CellsParams), responses((status = 200, description = "GeoJSON FeatureCollection (public fields only)", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn list_cells(
    State(state): State<AppState>,
    Params(query): Params<CellsParams>,
) -> Result<Json<Value>, ApiError> {
    let mut filter = cells::CellFilter::default();
    if let Some(n) = query.level {
        let level = check_level(n).map_err(|e| ApiError::bad_field("level", e.to_string()))?;
        filter.level = Some(level as i16);
    }
    if let Some(value) = &query.parent {
        let code =
            CellCode::parse(value).map_err(|e| ApiError::bad_field("parent", e.to_string()))?;
        filter.parent = Some(code.to_string());
    }
    filter.as_of = query.as_of.map(check_revision).transpose()?;
    let client = Db::read(&state).await?;
    let mut features = cells::list_features(&client, &filter).await?;
    drop(client);
    if filter.as_of.is_none() {
        // The snapshot's colour index (neighbours differ), computed once per snapshot: the
        // editor paints grids as the tiles and posters do.
        let atlas = state.atlas.load_full();
        for feature in &mut features {
            let colour = feature["properties"]["code"]
                .as_str()
                .and_then(|code| atlas.index_of(code))
                .map(|i| atlas.colour_of(i));
            if let (Some(colour), Some(properties)) =
                (colour, feature["properties"].as_object_mut())
            {
                properties.insert("colour".into(), json!(colour));
            }
        }
    }
    Ok(Json(
        json!({"type": "FeatureCollection", "features": features}),
    ))
}

/// `GET /api/v1/cells/{code}` → one GeoJSON Feature, 404 when unknown.
#[utoipa::path(get, path = "/api/v1/cells/{code}", tag = "public", params(("code" = String, Path, description = "the cell code"), AsOfParams), responses((status = 200, description = "One GeoJSON Feature", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn get_cell(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Params(query): Params<AsOfParams>,
) -> Result<Json<Value>, ApiError> {
    let code = CellCode::parse(&code).map_err(|e| ApiError::bad_field("code", e.to_string()))?;
    let as_of = query.as_of.map(check_revision).transpose()?;
    let client = Db::read(&state).await?;
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

fn check_revision(n: i32) -> Result<i32, ApiError> {
    if n < 0 {
        return Err(ApiError::bad_field(
            "as_of",
            format!("as_of must be a revision number ≥ 0, got {n}"),
        ));
    }
    Ok(n)
}
