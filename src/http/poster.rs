//! `GET /poster/{village_code}.svg|.pdf[?size=a3|a1]`: the printable grid diagram.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::db::Db;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::params::Params;
use crate::domain::code::CellCode;
use crate::poster::{self, Paper};

/// `GET /poster/{file}` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PosterParams {
    /// The paper (default a3).
    size: Option<PaperSize>,
}

/// The poster's paper.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaperSize {
    A3,
    A1,
}

#[utoipa::path(get, path = "/poster/{file}", tag = "public", params(("file" = String, Path, description = "VILLAGE_CODE.svg or .pdf"), PosterParams), responses((status = 200, description = "The printable diagram", content((String = "image/svg+xml"), (String = "application/pdf"))), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn poster(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Params(query): Params<PosterParams>,
) -> Result<Response, ApiError> {
    let (code, pdf) = match (file.strip_suffix(".svg"), file.strip_suffix(".pdf")) {
        (Some(code), _) => (code, false),
        (_, Some(code)) => (code, true),
        _ => return Err(ApiError::bad_field("format", "posters are .svg or .pdf")),
    };
    let code =
        CellCode::parse(code).map_err(|e| ApiError::bad_field("village_code", e.to_string()))?;
    if code.level() != 2 {
        return Err(ApiError::bad_field(
            "village_code",
            "posters are drawn per village/community (a 12-digit code)",
        ));
    }
    let paper = match query.size {
        None | Some(PaperSize::A3) => Paper::A3,
        Some(PaperSize::A1) => Paper::A1,
    };
    let atlas = state.atlas.load_full();
    let client = Db::get(&state).await?;
    let input = crate::app::poster::assemble(&client, atlas, code.as_str()).await?;
    drop(client);
    let svg = poster::render_svg(&input, paper);
    let name = format!("{}-{code}", input.village);
    let response = Response::builder();
    if pdf {
        let bytes = tokio::task::spawn_blocking(move || poster::to_pdf(&svg))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        return response
            .header(CONTENT_TYPE, "application/pdf")
            .header(
                CONTENT_DISPOSITION,
                format!(
                    "inline; filename=\"{code}.pdf\"; filename*=UTF-8''{}.pdf",
                    urlencode(&name)
                ),
            )
            .body(Body::from(bytes))
            .map_err(|e| ApiError::Internal(e.to_string()));
    }
    response
        .header(CONTENT_TYPE, "image/svg+xml; charset=utf-8")
        .body(Body::from(svg))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
