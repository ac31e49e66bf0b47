//! `POST /api/v1/intake/{source}`: signed reports from the 12345 hotline and video platforms.
//! The signature is checked over the exact bytes received, before the body is parsed.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::AppState;
use super::db::Db;
use super::error::ApiError;
use super::field::{Teams, incident_json, teams_of};
use super::openapi::ErrorBody;
use crate::app::intake::{self as use_case, Delivery, Signed};
use crate::geometry::crs::Crs;

/// The body of a delivery.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeBody {
    /// The source's own id of the report: a second delivery of it makes no second incident.
    #[schema(example = "12345-20261202-000173")]
    pub external_id: String,
    /// The source's category code (mapped to ours) or one of ours.
    #[schema(example = "0201")]
    pub category: String,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    /// wgs84 (default) | cgcs2000 | gcj02 | bd09 | EPSG:4513–4554.
    pub crs: Option<String>,
    /// When the source received it (RFC 3339; default now; never in the future).
    pub reported_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/intake/{source}` with `X-Gridmap-Timestamp` (unix seconds) and
/// `X-Gridmap-Signature: sha256=HEX(HMAC-SHA256(secret, timestamp + "." + body))` → 201
/// `{"incident"}`; the same `external_id` again → 200 with the same incident; 401 for an
/// unknown source or a bad or stale (over 5 minutes) signature.
#[utoipa::path(post, path = "/api/v1/intake/{source}", tag = "incidents", params(("source" = String, Path, description = "the source's name, from `gridmap intake add`"), ("X-Gridmap-Timestamp" = String, Header, description = "unix seconds"), ("X-Gridmap-Signature" = String, Header, description = "sha256=HEX")), request_body(content = IntakeBody, content_type = "application/json"), responses((status = 201, description = "The incident made", body = Object), (status = 200, description = "The incident this external id already made", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`; 401 for a signature that does not verify", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn intake(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = Utc::now();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let mut client = Db::get(&state).await?;
    let atlas = state.atlas.load_full();
    let calendar = state.calendar.load_full();
    let parse = |bytes: &[u8]| -> Result<Delivery, ApiError> {
        let body: IntakeBody = super::json::parse(bytes)?;
        let crs_name = body.crs.clone().unwrap_or_else(|| "wgs84".into());
        let crs = Crs::parse(&crs_name).ok_or_else(|| {
            ApiError::bad_field(
                "crs",
                format!("crs must be wgs84, cgcs2000, gcj02, bd09 or EPSG:45xx, got {crs_name:?}"),
            )
        })?;
        let point = crs
            .to_cgcs2000(body.lon, body.lat)
            .map_err(|e| ApiError::bad_field("lon", e))?;
        Ok(Delivery {
            external_id: body.external_id,
            category: body.category,
            description: body.description,
            point,
            source_crs: crs.label(),
            reported_at: body.reported_at,
        })
    };
    let received = use_case::receive(
        &mut client,
        &atlas,
        &calendar,
        Signed {
            source: &name,
            timestamp: header("x-gridmap-timestamp"),
            signature: header("x-gridmap-signature"),
            body: &body,
        },
        parse,
        now,
        |row| json!({"incident": incident_json(row, &atlas, &state, &Teams::new(), now)}),
    )
    .await?;
    let teams = teams_of(&client, &[&received.row]).await?;
    Ok((
        if received.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(json!({
            "incident": incident_json(&received.row, &atlas, &state, &teams, now),
            "external_id": received.external_id,
            "source": received.source,
        })),
    ))
}
