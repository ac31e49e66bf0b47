//! `POST /api/v1/intake/{source}`: signed reports from the 12345 hotline and video platforms.
//! The signature is checked over the exact bytes received, before the body is parsed.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::AppState;
use super::db::Db;
use super::error::ApiError;
use super::field::{incident_json, report_incident, teams_of};
use super::openapi::ErrorBody;
use crate::app::incidents::Report;
use crate::app::intake as use_case;
use crate::geometry::crs::Crs;
use crate::store::users::User;

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
    let client = Db::get(&state).await?;
    let source = use_case::source(&client, &name).await?;
    use_case::verify(
        &source.secret,
        header("x-gridmap-timestamp"),
        header("x-gridmap-signature"),
        &body,
        now,
    )?;
    let body: IntakeBody = super::json::parse(&body)?;
    let external_id = body.external_id.trim().to_string();
    if external_id.is_empty() || external_id.chars().count() > 128 {
        return Err(ApiError::bad_field(
            "external_id",
            "external_id: 1 to 128 characters",
        ));
    }
    let description = body.description.trim().to_string();
    if description.is_empty() {
        return Err(ApiError::bad_field(
            "description",
            "description is required",
        ));
    }
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
    let reported_at = match body.reported_at {
        Some(t) if t > now + TimeDelta::seconds(use_case::MAX_SKEW_S) => {
            return Err(ApiError::bad_field(
                "reported_at",
                "reported_at: not in the future",
            ));
        }
        Some(t) => t.min(now),
        None => now,
    };
    let report = Report {
        category: use_case::map_category(&source, body.category.trim()),
        description,
        point,
        source_crs: crs.label(),
        address: None,
        source: source.label.clone(),
        severity: None,
        photos: Vec::new(),
    };
    let reporter = User {
        id: 0,
        name: format!("intake:{}", source.name),
        role: crate::domain::role::Role::Command,
        cells: Vec::new(),
    };
    let (created, id) = use_case::take(&client, &source, &external_id, || async {
        let (incident, _) = report_incident(&state, &reporter, report, reported_at).await?;
        incident["id"]
            .as_i64()
            .ok_or_else(|| ApiError::Internal("a reported incident without an id".into()))
    })
    .await?;
    let row = crate::store::incidents::load(&client, id).await?;
    let atlas = state.atlas.load_full();
    let teams = teams_of(&client, &[&row]).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(json!({
            "incident": incident_json(&row, &atlas, &state, &teams, now),
            "external_id": external_id,
            "source": source.name,
        })),
    ))
}
