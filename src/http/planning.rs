//! Planning endpoints. `POST /api/v1/validate`: the coverage report of a FeatureCollection.

use super::openapi::ErrorBody;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::params::Params;
use crate::geometry::coverage::{self, CodeRules, InputError, Options};

/// `POST /api/v1/validate` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ValidateParams {
    /// How codes are checked (default strict).
    codes: Option<Codes>,
    /// Gaps and overlaps thinner than this are slivers (metres, ≥ 0).
    #[param(minimum = 0, example = 0.5)]
    sliver_width_m: Option<f64>,
    /// The feature property holding the code (default `code`).
    #[param(example = "code")]
    code_property: Option<String>,
}

/// How cell codes are checked.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Codes {
    Strict,
    Prefix,
    Free,
}

#[utoipa::path(post, path = "/api/v1/validate", tag = "public", params(ValidateParams), request_body(content = serde_json::Value, content_type = "application/json", description = "A GeoJSON FeatureCollection of cells"), responses((status = 200, description = "The coverage report", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn validate(
    Params(query): Params<ValidateParams>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let mut options = Options::default();
    if let Some(codes) = query.codes {
        options.code_rules = match codes {
            Codes::Strict => CodeRules::Strict,
            Codes::Prefix => CodeRules::Prefix,
            Codes::Free => CodeRules::Free,
        };
    }
    if let Some(w) = query.sliver_width_m {
        if !(w.is_finite() && w >= 0.0) {
            return Err(ApiError::bad_field(
                "sliver_width_m",
                "sliver_width_m must be a number ≥ 0",
            ));
        }
        options.sliver_width_m = w;
    }
    let code_property = query.code_property.unwrap_or_else(|| "code".to_string());
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
