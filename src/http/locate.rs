//! `GET /api/v1/locate`: which township, village and grid a point falls in, from the atlas
//! snapshot (never the database).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::AppState;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::params::Params;
use crate::geometry::crs::Crs;

use crate::atlas::NEAR_BOUNDARY_M;

/// `GET /api/v1/locate` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocateQuery {
    /// Longitude (degrees), or easting in metres for a Gauss-Krüger CRS.
    #[param(example = 120.16)]
    lon: f64,
    /// Latitude (degrees), or northing in metres for a Gauss-Krüger CRS.
    #[param(example = 30.27)]
    lat: f64,
    /// cgcs2000 (default) | wgs84 | gcj02 | bd09 | EPSG:4513–4554
    #[param(example = "cgcs2000")]
    crs: Option<String>,
    /// A past revision to answer from.
    #[param(minimum = 0)]
    as_of: Option<i32>,
}

#[utoipa::path(get, path = "/api/v1/locate", tag = "public", params(LocateQuery), responses((status = 200, description = "The chain of cells at the point", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn locate(
    State(state): State<AppState>,
    Params(query): Params<LocateQuery>,
) -> Result<Json<Value>, ApiError> {
    let crs_name = query.crs.as_deref().unwrap_or("cgcs2000");
    let crs = Crs::parse(crs_name).ok_or_else(|| {
        ApiError::bad_field(
            "crs",
            format!("crs must be wgs84, cgcs2000, gcj02, bd09 or EPSG:4513–4554, got {crs_name:?}"),
        )
    })?;
    // Degrees are bounded; a projected CRS's metres only need to be finite.
    let geographic = matches!(crs, Crs::Geographic(_));
    for (field, value, limit) in [("lon", query.lon, 180.0), ("lat", query.lat, 90.0)] {
        if !value.is_finite() || (geographic && value.abs() > limit) {
            return Err(ApiError::bad_field(
                field,
                format!("{field} must be a number in ±{limit} degrees, got {value}"),
            ));
        }
    }
    if query.as_of.is_some_and(|n| n < 0) {
        return Err(ApiError::bad_field(
            "as_of",
            "as_of must be a revision number ≥ 0",
        ));
    }
    let (lon, lat, as_of) = (query.lon, query.lat, query.as_of);
    let point = crs
        .to_cgcs2000(lon, lat)
        .map_err(|e| ApiError::bad_field("lon", e))?;
    let atlas = match as_of {
        Some(n) => crate::app::atlas::as_of(&state.pool, &state.atlas, &state.past, n).await?,
        None => state.atlas.load_full(),
    };
    let located = atlas.locate(point);
    let cells: Vec<Value> = located
        .iter()
        .flat_map(|l| l.chain.iter())
        .map(|c| json!({"code": c.code, "name": c.name, "level": c.level, "kind": c.kind}))
        .collect();
    let near = located
        .as_ref()
        .map(|l| l.boundary_distance_m)
        .filter(|d| *d <= NEAR_BOUNDARY_M)
        .map(|d| (d * 100.0).round() / 100.0);
    Ok(Json(json!({
        "point": [point.x, point.y],
        "crs": crs_name,
        "revision": atlas.revision,
        "found": !cells.is_empty(),
        "cells": cells,
        "near_boundary_m": near,
    })))
}
