//! The public cell card (网格信息卡) and the revision the map shows. Public fields only.

use axum::Json;
use axum::extract::{Path, State};
use geo::GeodesicArea;
use serde_json::{Value, json};

use super::AppState;
use super::db::Db;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::atlas::neighbours::four_to;
use crate::domain::code::CellCode;
use crate::store::cards;

/// `GET /api/v1/cells/{code}/card`
#[utoipa::path(get, path = "/api/v1/cells/{code}/card", tag = "public", params(("code" = String, Path, description = "the cell code")), responses((status = 200, description = "The public card: 四至, area, totals (≥ 10 households), team as consented", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn card(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let code = CellCode::parse(&code).map_err(|e| ApiError::bad_field("code", e.to_string()))?;
    let atlas = state.atlas.load_full();
    let cell = atlas
        .get(code.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no cell with code {code}")))?;
    let four = four_to(&atlas, code.as_str()).unwrap_or_default();
    let area_m2 = cell.geometry.geodesic_area_unsigned();
    let chain: Vec<&str> = {
        let mut names: Vec<&str> = atlas.chain(cell).skip(1).map(|c| c.name.as_str()).collect();
        names.reverse();
        names
    };
    let township = (code.as_str().len() >= 9).then(|| &code.as_str()[..9]);
    let village = (code.as_str().len() >= 12).then(|| &code.as_str()[..12]);
    let client = Db::get(&state).await?;
    let team = cards::public_team(&client, code.as_str()).await?;
    let totals = cards::public_totals(&client, code.as_str()).await?;
    // 公示: the latest published result of the grid's leader (name only with consent).
    let gongshi = crate::app::teams::public_result(&client, code.as_str()).await?;
    let supervision = match township {
        Some(t) => cards::attribute(&client, t, "supervision_phone").await?,
        None => None,
    };
    let office = match village {
        Some(v) => cards::attribute(&client, v, "office_phone").await?,
        None => None,
    };
    Ok(Json(json!({
        "code": cell.code,
        "name": cell.name,
        "level": cell.level,
        "kind": cell.kind,
        "within": chain,
        "area_m2": area_m2.round(),
        "four_to": four,
        "households": totals.map(|t| t.0),
        "people": totals.map(|t| t.1),
        "team": team,
        "gongshi": gongshi,
        "office_phone": office,
        "supervision_phone": supervision,
        "revision": atlas.revision,
        "note": "网格示意图（不作为权属界线依据）",
    })))
}

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
