//! `GET /api/v1/locate`: which township, village and grid a point falls in, from the atlas
//! snapshot (never the database).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::geometry::crs::Crs;

use crate::atlas::NEAR_BOUNDARY_M;

#[utoipa::path(get, path = "/api/v1/locate", tag = "public", params(("lon" = Option<String>, Query, description = "longitude"), ("lat" = Option<String>, Query, description = "latitude"), ("crs" = Option<String>, Query, description = "cgcs2000 | wgs84 | gcj02 | bd09 | EPSG:4513–4554"), ("as_of" = Option<String>, Query, description = "a revision number")), responses((status = 200, description = "The chain of cells at the point", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn locate(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let number = |field: &str, range: std::ops::RangeInclusive<f64>| -> Result<f64, ApiError> {
        let text = query
            .get(field)
            .ok_or_else(|| ApiError::bad_field(field, format!("{field} is required")))?;
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && range.contains(v))
            .ok_or_else(|| {
                ApiError::bad_field(
                    field,
                    format!("{field} must be a number in {range:?}, got {text:?}"),
                )
            })
    };
    let lon = number("lon", -180.0..=180.0)?;
    let lat = number("lat", -90.0..=90.0)?;
    let crs_name = query.get("crs").map(String::as_str).unwrap_or("cgcs2000");
    let crs = Crs::parse(crs_name).ok_or_else(|| {
        ApiError::bad_field(
            "crs",
            format!("crs must be wgs84, cgcs2000, gcj02, bd09 or EPSG:4513–4554, got {crs_name:?}"),
        )
    })?;
    let as_of = query
        .get("as_of")
        .map(|v| {
            v.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::bad_field(
                    "as_of",
                    format!("as_of must be a revision number, got {v:?}"),
                )
            })
        })
        .transpose()?;
    if let Some(other) = query
        .keys()
        .find(|k| !["lon", "lat", "crs", "as_of"].contains(&k.as_str()))
    {
        return Err(ApiError::bad_field(
            other,
            format!("unknown query parameter {other:?}"),
        ));
    }
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
