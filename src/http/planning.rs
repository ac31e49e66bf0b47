//! Planning endpoints. `POST /api/v1/validate`: the coverage report of a FeatureCollection.

use super::openapi::ErrorBody;
use std::collections::HashMap;

use axum::Json;
use axum::extract::Query;
use serde_json::Value;

use super::error::ApiError;
use crate::geometry::coverage::{self, CodeRules, InputError, Options};

#[utoipa::path(post, path = "/api/v1/validate", tag = "public", params(("codes" = Option<String>, Query, description = "strict | prefix | free"), ("sliver_width_m" = Option<String>, Query, description = "metres"), ("code_property" = Option<String>, Query, description = "property holding the code")), request_body(content = serde_json::Value, content_type = "application/json", description = "A GeoJSON FeatureCollection of cells"), responses((status = 200, description = "The coverage report", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn validate(
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let mut options = Options::default();
    let mut code_property = "code".to_string();
    for (key, value) in &query {
        match key.as_str() {
            "codes" => {
                options.code_rules = match value.as_str() {
                    "strict" => CodeRules::Strict,
                    "prefix" => CodeRules::Prefix,
                    "free" => CodeRules::Free,
                    _ => {
                        return Err(ApiError::bad_field(
                            "codes",
                            "codes must be strict, prefix or free",
                        ));
                    }
                }
            }
            "sliver_width_m" => {
                options.sliver_width_m = value
                    .parse()
                    .ok()
                    .filter(|w: &f64| w.is_finite() && *w >= 0.0)
                    .ok_or_else(|| {
                        ApiError::bad_field("sliver_width_m", "sliver_width_m must be a number ≥ 0")
                    })?;
            }
            "code_property" => code_property = value.clone(),
            other => {
                return Err(ApiError::bad_field(
                    other,
                    format!("unknown query parameter {other:?}"),
                ));
            }
        }
    }
    let cells = coverage::cells_from_geojson(&body, &code_property).map_err(|e| match e {
        InputError::MalformedJson { .. } | InputError::NotFeatureCollection => {
            ApiError::bad_field("body", e.to_string())
        }
        InputError::MissingCode(feature, _) => ApiError::bad_field(
            &format!("features[{feature}].properties.{code_property}"),
            e.to_string(),
        ),
    })?;
    // Validation of a big file is CPU work: off the async workers.
    let report = tokio::task::spawn_blocking(move || coverage::validate(&cells, &[], &options))
        .await
        .map_err(|e| ApiError::Internal(format!("validation task failed: {e}")))?;
    Ok(Json(report.to_json()))
}
