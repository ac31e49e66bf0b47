//! Tile endpoints: thin — parse, ask `tiles::TileService`, set the HTTP headers.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, HOST, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::tiles::Layer;
use crate::tiles::mercator::{MAX_ZOOM, SERVED_MAX_ZOOM, TileId};

const MVT: &str = "application/vnd.mapbox-vector-tile";

fn layer_of(name: &str) -> Result<Layer, ApiError> {
    Layer::parse(name).ok_or_else(|| {
        ApiError::bad_field(
            "layer",
            format!("unknown layer {name:?}; layers are cells, boundaries, labels"),
        )
    })
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}.mvt", tag = "tiles", params(("layer" = String, Path, description = "cells | boundaries | labels"), ("z" = String, Path, description = "zoom 0–18"), ("x" = String, Path, description = "column"), ("y" = String, Path, description = "row")), responses((status = 200, description = "A Mapbox Vector Tile", content_type = "application/vnd.mapbox-vector-tile", body = String), (status = 204, description = "Empty tile"), (status = 304, description = "Not modified"), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = layer_of(&layer)?;
    let number = |field: &str, text: &str| {
        text.parse::<u32>().map_err(|_| {
            ApiError::bad_field(
                field,
                format!("{field} must be a non-negative integer, got {text:?}"),
            )
        })
    };
    let y_text = y
        .strip_suffix(".mvt")
        .ok_or_else(|| ApiError::bad_field("y", "tile URLs end in .mvt"))?;
    let (z, x, y) = (number("z", &z)?, number("x", &x)?, number("y", y_text)?);
    let id = TileId::new(z, x, y).ok_or_else(|| {
        ApiError::bad_field(
            "z",
            format!("no tile {z}/{x}/{y}: z must be ≤ {MAX_ZOOM} and x, y < 2^z"),
        )
    })?;
    if id.z > SERVED_MAX_ZOOM {
        return Err(ApiError::NotFound(format!(
            "no tiles beyond z{SERVED_MAX_ZOOM} (the TileJSON maxzoom); over-zoom z{SERVED_MAX_ZOOM}"
        )));
    }
    let atlas = state.atlas.load();
    let cached = match state.tiles.hit(atlas.revision, layer, id) {
        Some(hit) => hit,
        None => {
            // Encoding (and following a new revision) is CPU work: off the async threads.
            let service = state.tiles.clone();
            let served = state.atlas.clone();
            drop(atlas);
            tokio::task::spawn_blocking(move || {
                service.follow_served(&served);
                service.tile(layer, id)
            })
            .await
            .map_err(|e| ApiError::Internal(format!("tile task failed: {e}")))?
            .map_err(|e| ApiError::Internal(e.to_string()))?
        }
    };

    let mut response = Response::builder()
        .header(ETAG, cached.etag.as_str())
        .header(CACHE_CONTROL, "public, max-age=60, must-revalidate")
        .header(VARY, "Accept-Encoding");
    let not_modified = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == cached.etag || t.trim() == "*")
        });
    if not_modified {
        return Ok(response
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_default());
    }
    let (Some(raw), Some(gzip)) = (&cached.raw, &cached.gzip) else {
        return Ok(response
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
            .unwrap_or_default());
    };
    let accepts_gzip = headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    response = response.header(CONTENT_TYPE, MVT);
    let body = if accepts_gzip {
        response = response.header(CONTENT_ENCODING, "gzip");
        Body::from(gzip.clone())
    } else {
        Body::from(raw.clone())
    };
    Ok(response
        .status(StatusCode::OK)
        .body(body)
        .unwrap_or_default())
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    format!("http://{host}")
}

/// `GET /tiles/{layer}.json`: TileJSON 3.0.
#[utoipa::path(get, path = "/tiles/{file}", tag = "tiles", params(("file" = String, Path, description = "LAYER.json")), responses((status = 200, description = "TileJSON 3.0", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn tilejson(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let name = file
        .strip_suffix(".json")
        .ok_or_else(|| ApiError::NotFound(format!("no such resource {file}")))?;
    let layer = layer_of(name)?;
    let atlas = state.atlas.load();
    let bounds = atlas
        .cells()
        .iter()
        .filter_map(|c| geo::BoundingRect::bounding_rect(&c.geometry))
        .fold([180.0f64, 90.0f64, -180.0f64, -90.0f64], |b, r| {
            [
                b[0].min(r.min().x),
                b[1].min(r.min().y),
                b[2].max(r.max().x),
                b[3].max(r.max().y),
            ]
        });
    let bounds = if atlas.is_empty() {
        [-180.0, -85.0, 180.0, 85.0]
    } else {
        bounds
    };
    Ok(Json(json!({
        "tilejson": "3.0.0",
        "name": format!("gridmap {}", layer.name()),
        "description": "网格示意图（不作为权属界线依据）",
        "version": format!("1.0.{}", atlas.revision),
        "scheme": "xyz",
        "tiles": [format!("{}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", base_url(&headers), layer.name())],
        "minzoom": 0,
        "maxzoom": SERVED_MAX_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, 12],
        "vector_layers": [{
            "id": layer.name(),
            "fields": match layer {
                Layer::Boundaries => json!({"code": "String", "name": "String", "level": "Number"}),
                _ => json!({"code": "String", "name": "String", "level": "Number", "kind": "String", "parent": "String", "colour": "Number"}),
            }
        }],
    })))
}

use crate::atlas::colour::PALETTE;

/// `GET /styles/public.json`: the MapLibre style of the public grid diagram. No `glyphs`: labels
/// are drawn with the browser's local (CJK) fonts, nothing is fetched from the internet.
#[utoipa::path(get, path = "/styles/public.json", tag = "tiles", responses((status = 200, description = "The MapLibre style", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn public_style(headers: HeaderMap) -> impl IntoResponse {
    let base = base_url(&headers);
    let source =
        |layer: &str| json!({"type": "vector", "url": format!("{base}/tiles/{layer}.json")});
    let mut colour = vec![json!("match"), json!(["get", "colour"])];
    for (i, c) in PALETTE.iter().enumerate() {
        colour.push(json!(i));
        colour.push(json!(c));
    }
    colour.push(json!("#eeeeee"));
    Json(json!({
        "version": 8,
        "name": "gridmap public",
        "sources": {"cells": source("cells"), "boundaries": source("boundaries"), "labels": source("labels")},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#fbfaf7"}},
            {"id": "cells", "type": "fill", "source": "cells", "source-layer": "cells",
             "paint": {"fill-color": colour, "fill-opacity": 0.85}},
            {"id": "special", "type": "line", "source": "cells", "source-layer": "cells",
             "filter": ["==", ["get", "kind"], "专属网格"],
             "paint": {"line-color": "#b5442f", "line-width": 2, "line-dasharray": [2, 1]}},
            {"id": "boundaries", "type": "line", "source": "boundaries", "source-layer": "boundaries",
             "paint": {"line-color": ["match", ["get", "level"], 1, "#8c2d19", 2, "#333333", "#777777"],
                       "line-width": ["match", ["get", "level"], 1, 3.5, 2, 2.2, 0.8]}},
            {"id": "labels", "type": "symbol", "source": "labels", "source-layer": "labels",
             "layout": {"text-field": ["get", "name"], "text-size": 13, "text-max-width": 8},
             "paint": {"text-color": "#222222", "text-halo-color": "#ffffff", "text-halo-width": 1.5}}
        ]
    }))
}
