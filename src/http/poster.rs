//! `GET /poster/{village_code}.svg|.pdf[?size=a3|a1]`: the printable grid diagram.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::Response;

use super::AppState;
use super::error::ApiError;
use super::params::Params;
use super::openapi::ErrorBody;
use crate::atlas::neighbours::four_to;
use crate::domain::code::CellCode;
use crate::poster::{self, Paper, PosterGrid, PosterInput};
use crate::store::{self, cards};

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
    let village_index = atlas
        .cells()
        .iter()
        .position(|c| c.code == code.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no village or community with code {code}")))?;
    let village = &atlas.cells()[village_index];
    let service = state.tiles.clone();
    let follow_atlas = atlas.clone();
    tokio::task::spawn_blocking(move || service.follow(&follow_atlas))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let source = state.tiles.source();
    let colours: HashMap<&str, u8> = source
        .cells
        .iter()
        .map(|c| (c.code.as_str(), c.colour))
        .collect();
    let mut place: Vec<String> = atlas
        .chain(village)
        .skip(1)
        .map(|c| c.name.clone())
        .collect();
    place.reverse();

    let client = state.pool.get().await.map_err(store::StoreError::from)?;
    let office_phone = cards::attribute(&client, code.as_str(), "office_phone").await?;
    let supervision_phone =
        cards::attribute(&client, &code.as_str()[..9], "supervision_phone").await?;
    let revision_date = cards::revision(&client, atlas.revision)
        .await?
        .map(|r| r.1)
        .unwrap_or_default();
    let mut grids = Vec::new();
    let mut children: Vec<&crate::atlas::AtlasCell> = atlas
        .cells()
        .iter()
        .filter(|c| c.parent == Some(village_index))
        .collect();
    children.sort_by(|a, b| a.code.cmp(&b.code));
    for cell in children {
        let team = cards::public_team(&client, &cell.code).await?;
        let leader = team.iter().find(|m| m.role == "网格长");
        let members: Vec<String> = team
            .iter()
            .filter(|m| m.role != "网格长")
            .map(|m| {
                m.name
                    .clone()
                    .unwrap_or_else(|| format!("{}（未公开）", m.role))
            })
            .collect();
        let phone = leader
            .and_then(|m| m.phone.clone())
            .or_else(|| office_phone.clone())
            .unwrap_or_default();
        let four = four_to(&atlas, &cell.code).unwrap_or_default();
        // The portrait is embedded, so the PDF carries it; only consented ones have a URL.
        let mut leader_photo = None;
        if let Some(id) = leader
            .and_then(|m| m.photo.as_deref())
            .and_then(|url| url.rsplit('/').nth(1))
            .and_then(|id| id.parse::<i64>().ok())
            && let Some((kind, bytes)) = cards::public_photo(&client, id).await?
        {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            leader_photo = Some(format!("data:{kind};base64,{encoded}"));
        }
        let join = |v: &Vec<String>| {
            if v.is_empty() {
                "辖区边界".to_string()
            } else {
                v.join("、")
            }
        };
        grids.push(PosterGrid {
            code: cell.code.clone(),
            name: cell.name.clone(),
            kind: cell.kind.clone(),
            geometry: cell.geometry.clone(),
            colour: colours.get(cell.code.as_str()).copied().unwrap_or(0),
            leader_photo,
            leader: leader
                .and_then(|m| m.name.clone())
                .unwrap_or_else(|| "（未公开）".into()),
            members,
            phone,
            households: cards::public_totals(&client, &cell.code)
                .await?
                .map(|t| t.0),
            four_to: [
                join(&four.east),
                join(&four.south),
                join(&four.west),
                join(&four.north),
            ],
        });
    }
    drop(client);
    let input = PosterInput {
        village: village.name.clone(),
        place: place.join(" "),
        village_shape: village.geometry.clone(),
        grids,
        revision: atlas.revision,
        revision_date,
        supervision_phone,
        office_phone,
    };
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
