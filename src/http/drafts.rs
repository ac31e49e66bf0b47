//! Planners' drafts (role `planner`): open, edit (write, remove, split, merge), validate with the
//! impact, commit as one revision; the history of revisions and reverts.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use geo_types::Coord;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::AppState;
use super::auth::AuthUser;
use super::db::Db;
use super::error::ApiError;
use super::json::JsonBody;
use super::openapi::ErrorBody;
use crate::app::planning;
use crate::atlas::draft::{Draft, View};
use crate::codec::cells::{feature_of, parse_feature};
use crate::domain::code::CellCode;
use crate::domain::role::Role;
use crate::store;
use crate::store::drafts::{self, StoredDraft};

const PLANNERS: &[Role] = &[Role::Planner];

/// The body of a commit or a revert: the revision's message (required for a commit; a revert
/// says what it restores by default).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    pub message: Option<String>,
}

/// Metres per degree of latitude: snapping tolerances are given in metres.
const M_PER_DEGREE: f64 = 111_320.0;

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::bad_field("id", format!("draft id must be an integer, got {id:?}")))
}

fn parse_code(code: &str, field: &str) -> Result<CellCode, ApiError> {
    CellCode::parse(code).map_err(|e| ApiError::bad_field(field, e.to_string()))
}

/// `POST /api/v1/drafts` → 201 `{id, base_revision}` (the base is the current revision).
#[utoipa::path(post, path = "/api/v1/drafts", tag = "planning", request_body(content = serde_json::Value, content_type = "application/json", description = "{} (the draft opens on the current revision)"), responses((status = 201, description = "id and base_revision", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = user.require(PLANNERS)?;
    let client = Db::get(&state).await?;
    let base = store::current_revision(&client).await?;
    let id = drafts::create(&client, &user.name, base).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "base_revision": base})),
    ))
}

/// `GET /api/v1/drafts/{id}`.
#[utoipa::path(get, path = "/api/v1/drafts/{id}", tag = "planning", params(("id" = String, Path, description = "draft id")), responses((status = 200, description = "The draft with its changes and lineage", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    user.require(PLANNERS)?;
    let draft = drafts::load(&*Db::get(&state).await?, parse_id(&id)?).await?;
    Ok(Json(draft.to_json()))
}

/// Runs `edit` on the draft's view over the served atlas, storing the result atomically.
async fn edit_draft<T>(
    state: &AppState,
    id: &str,
    edit: impl FnOnce(&View, &mut Draft) -> Result<T, ApiError>,
) -> Result<(T, StoredDraft), ApiError> {
    let id = parse_id(id)?;
    let atlas = state.atlas.load_full();
    let mut client = Db::get(state).await?;
    drafts::edit(&mut client, id, |stored, draft| {
        let view = View::new(atlas.to_cells(), &stored.draft);
        edit(&view, draft)
    })
    .await?
}

/// The body of `PUT /api/v1/drafts/{id}/cells/{code}`: a GeoJSON Feature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CellFeature {
    #[serde(rename = "type")]
    kind: FeatureTag,
    /// name, kind, parent, …; those left out keep the cell's current values.
    #[schema(value_type = Option<Object>)]
    properties: Option<Map<String, Value>>,
    /// A Polygon or MultiPolygon (CGCS2000); optional for an existing cell.
    #[schema(value_type = Option<Object>)]
    geometry: Option<Value>,
    /// GeoJSON's own members, accepted and ignored.
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)]
    id: Option<Value>,
    #[allow(dead_code)]
    bbox: Option<Vec<f64>>,
}

/// The only GeoJSON type a cell body may have.
#[derive(Debug, Deserialize, ToSchema)]
pub enum FeatureTag {
    Feature,
}

/// `PUT /api/v1/drafts/{id}/cells/{code}` with a GeoJSON Feature: writes the cell (new or
/// replacing). Properties left out keep the cell's current values; the geometry is required for
/// a new cell and optional otherwise.
#[utoipa::path(put, path = "/api/v1/drafts/{id}/cells/{code}", tag = "planning", params(("id" = String, Path, description = "draft id"), ("code" = String, Path, description = "cell code")), request_body(content = CellFeature, content_type = "application/json"), responses((status = 200, description = "The draft", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_cell(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, code)): Path<(String, String)>,
    JsonBody(feature): JsonBody<CellFeature>,
) -> Result<Json<Value>, ApiError> {
    user.require(PLANNERS)?;
    let code = parse_code(&code, "code")?;
    let FeatureTag::Feature = feature.kind;
    let props = feature.properties.unwrap_or_default();
    if let Some(other) = props.get("code").and_then(Value::as_str)
        && other != code.as_str()
    {
        return Err(ApiError::bad_field(
            "properties.code",
            format!("the code in the body ({other}) differs from the path ({code})"),
        ));
    }
    let geometry = feature.geometry;
    let ((), stored) = edit_draft(&state, &id, |view, draft| {
        // Start from the cell as the draft sees it, overlay what the body says.
        let mut merged = match view.get(code.as_str()) {
            Some(cell) => feature_of(cell),
            None => {
                json!({"type": "Feature", "properties": {"code": code.as_str()}, "geometry": null})
            }
        };
        let target = merged["properties"]
            .as_object_mut()
            .ok_or_else(|| ApiError::Internal("feature without properties".into()))?;
        for (k, v) in &props {
            target.insert(k.clone(), v.clone());
        }
        target.insert("code".into(), Value::String(code.to_string()));
        if let Some(g) = &geometry
            && !g.is_null()
        {
            merged["geometry"] = g.clone();
        }
        let cell = parse_feature(&merged).map_err(|problem| {
            let field = match &problem {
                crate::codec::cells::Problem::MissingProperty(p) => format!("properties.{p}"),
                crate::codec::cells::Problem::WrongType { field, .. } => {
                    format!("properties.{field}")
                }
                crate::codec::cells::Problem::MissingGeometry
                | crate::codec::cells::Problem::NotPolygon(_)
                | crate::codec::cells::Problem::BadPosition(_)
                | crate::codec::cells::Problem::NonFinite(_)
                | crate::codec::cells::Problem::OutOfRange { .. }
                | crate::codec::cells::Problem::ShortRing { .. }
                | crate::codec::cells::Problem::UnclosedRing { .. }
                | crate::codec::cells::Problem::InvalidGeometry(_) => "geometry".into(),
                _ => "properties".into(),
            };
            ApiError::bad_field(&field, problem.to_string())
        })?;
        draft.put(cell);
        Ok(())
    })
    .await?;
    Ok(Json(stored.to_json()))
}

/// `DELETE /api/v1/drafts/{id}/cells/{code}`: removes a cell (its ground must be covered by
/// others before the draft can be committed).
#[utoipa::path(delete, path = "/api/v1/drafts/{id}/cells/{code}", tag = "planning", params(("id" = String, Path, description = "draft id"), ("code" = String, Path, description = "cell code")), responses((status = 200, description = "The draft", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_cell(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, code)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    user.require(PLANNERS)?;
    let code = parse_code(&code, "code")?;
    let ((), stored) = edit_draft(&state, &id, |view, draft| {
        Ok(draft.delete(view, code.as_str())?)
    })
    .await?;
    Ok(Json(stored.to_json()))
}

/// Every code ever used under the parents of `codes` (new codes must avoid them).
async fn codes_used(state: &AppState, codes: &[&str]) -> Result<BTreeSet<String>, ApiError> {
    let client = Db::get(state).await?;
    let mut used = BTreeSet::new();
    let parents: BTreeSet<String> = codes
        .iter()
        .filter_map(|c| CellCode::parse(c).ok()?.parent_code())
        .map(|p| p.to_string())
        .collect();
    for parent in parents {
        used.extend(drafts::codes_ever_under(&client, &parent).await?);
    }
    Ok(used)
}

/// The body of `POST /api/v1/drafts/{id}/split`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// The cell to split.
    code: String,
    /// A GeoJSON LineString (or a Feature holding one) crossing the cell.
    #[schema(value_type = Object)]
    line: Value,
    /// Line ends within this many metres of the boundary snap onto it (0–50, default 0.5).
    #[schema(minimum = 0, maximum = 50)]
    snap_m: Option<f64>,
}

/// The body of `POST /api/v1/drafts/{id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The neighbouring cells of one parent to merge.
    codes: Vec<String>,
    /// The merged cell's name (default: the first cell's).
    name: Option<String>,
}

/// `POST /api/v1/drafts/{id}/split` `{"code", "line": LineString, "snap_m"?}` → the two new codes.
#[utoipa::path(post, path = "/api/v1/drafts/{id}/split", tag = "planning", params(("id" = String, Path, description = "draft id")), request_body(content = SplitBody, content_type = "application/json"), responses((status = 200, description = "new_codes and the draft", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn split(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SplitBody>,
) -> Result<Json<Value>, ApiError> {
    user.require(PLANNERS)?;
    let code = parse_code(&body.code, "code")?;
    let line = parse_line(Some(&body.line))?;
    let snap_m = match body.snap_m {
        None => 0.5,
        Some(m) if m.is_finite() && (0.0..=50.0).contains(&m) => m,
        Some(_) => {
            return Err(ApiError::bad_field(
                "snap_m",
                "snap_m must be a number of metres 0–50",
            ));
        }
    };
    let used = codes_used(&state, &[code.as_str()]).await?;
    let (new_codes, stored) = edit_draft(&state, &id, |view, draft| {
        Ok(draft.split(view, code.as_str(), &line, snap_m / M_PER_DEGREE, &used)?)
    })
    .await?;
    Ok(Json(
        json!({"new_codes": new_codes, "draft": stored.to_json()}),
    ))
}

fn parse_line(value: Option<&Value>) -> Result<Vec<Coord<f64>>, ApiError> {
    let bad = |m: &str| ApiError::bad_field("line", m.to_string());
    let value = value.ok_or_else(|| bad("line (a GeoJSON LineString) is required"))?;
    // Accept a bare LineString or a Feature holding one.
    let geometry = if value.get("type").and_then(Value::as_str) == Some("Feature") {
        value.get("geometry").unwrap_or(&Value::Null)
    } else {
        value
    };
    if geometry.get("type").and_then(Value::as_str) != Some("LineString") {
        return Err(bad("line must be a GeoJSON LineString"));
    }
    let coords = geometry
        .get("coordinates")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("line.coordinates must be an array of positions"))?;
    coords
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = p.get(0).and_then(Value::as_f64);
            let y = p.get(1).and_then(Value::as_f64);
            match (x, y) {
                (Some(x), Some(y)) if x.abs() <= 180.0 && y.abs() <= 90.0 => Ok(Coord { x, y }),
                _ => Err(ApiError::bad_field(
                    &format!("line.coordinates[{i}]"),
                    "a position is [lon, lat] within range",
                )),
            }
        })
        .collect()
}

/// `POST /api/v1/drafts/{id}/merge` `{"codes": [...], "name"?}` → the new code.
#[utoipa::path(post, path = "/api/v1/drafts/{id}/merge", tag = "planning", params(("id" = String, Path, description = "draft id")), request_body(content = MergeBody, content_type = "application/json"), responses((status = 200, description = "new_code and the draft", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn merge(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MergeBody>,
) -> Result<Json<Value>, ApiError> {
    user.require(PLANNERS)?;
    let codes: Vec<String> = body
        .codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            CellCode::parse(c)
                .map(|c| c.to_string())
                .map_err(|e| ApiError::bad_field(&format!("codes[{i}]"), e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let name = body.name;
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let used = codes_used(&state, &refs).await?;
    let (new_code, stored) = edit_draft(&state, &id, |view, draft| {
        Ok(draft.merge(view, &codes, name.as_deref(), &used)?)
    })
    .await?;
    Ok(Json(
        json!({"new_code": new_code, "draft": stored.to_json()}),
    ))
}

/// `POST /api/v1/drafts/{id}/validate` → the coverage report of the atlas as the draft would
/// leave it (only the touched families re-checked) and the impact.
#[utoipa::path(post, path = "/api/v1/drafts/{id}/validate", tag = "planning", params(("id" = String, Path, description = "draft id")), responses((status = 200, description = "The report, the impact, stale", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn validate(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    user.require(PLANNERS)?;
    let stored = drafts::load(&*Db::get(&state).await?, parse_id(&id)?).await?;
    let atlas = state.atlas.load_full();
    let checked =
        planning::check(&*Db::get(&state).await?, &atlas, &stored.draft, state.band).await?;
    let mut out = checked.report.to_json();
    out["impact"] =
        serde_json::to_value(&checked.impact).map_err(|e| ApiError::Internal(e.to_string()))?;
    out["base_revision"] = json!(stored.base_revision);
    out["current_revision"] = json!(atlas.revision);
    out["stale"] = json!(atlas.revision != stored.base_revision);
    Ok(Json(out))
}

/// `POST /api/v1/drafts/{id}/commit` `{"message"}`: validate, then write everything in one
/// transaction; 409 on a stale base, 422 with the report on a violation (nothing written).
#[utoipa::path(post, path = "/api/v1/drafts/{id}/commit", tag = "planning", params(("id" = String, Path, description = "draft id")), request_body(content = MessageBody, content_type = "application/json", description = "The revision's message"), responses((status = 200, description = "The new revision and what moved", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn commit(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MessageBody>,
) -> Result<Json<Value>, ApiError> {
    let user = user.require(PLANNERS)?.clone();
    let message = body
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::bad_field("message", "a commit message is required"))?
        .to_string();
    let stored = drafts::load(&*Db::get(&state).await?, parse_id(&id)?).await?;
    commit_draft(&state, &stored, &user.name, &message).await
}

async fn commit_draft(
    state: &AppState,
    stored: &StoredDraft,
    author: &str,
    message: &str,
) -> Result<Json<Value>, ApiError> {
    let mut db = Db::get(state).await?;
    let committed = planning::commit(
        &mut db,
        &state.atlas,
        stored,
        author,
        message,
        planning::Settings::from_config(&state.config),
    )
    .await?;
    Ok(Json(
        serde_json::to_value(committed).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

/// `GET /api/v1/revisions` (any signed-in role): newest first.
#[utoipa::path(get, path = "/api/v1/revisions", tag = "planning", responses((status = 200, description = "History, newest first", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn revisions(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let list = drafts::revisions(&*Db::read(&state).await?, 200).await?;
    Ok(Json(json!({"revisions": list})))
}

/// `GET /api/v1/revisions/{n}/diff`.
#[utoipa::path(get, path = "/api/v1/revisions/{n}/diff", tag = "planning", params(("n" = String, Path, description = "revision")), responses((status = 200, description = "Cells before/after and lineage", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn diff(
    State(state): State<AppState>,
    _user: AuthUser,
    Path(n): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let n: i32 = n
        .parse()
        .map_err(|_| ApiError::bad_field("n", format!("revision must be an integer, got {n:?}")))?;
    Ok(Json(drafts::diff(&*Db::read(&state).await?, n).await?))
}

/// `POST /api/v1/revisions/{n}/revert` `{"message"}`: a new commit that restores revision `n`'s
/// cells (history is never rewritten). Goes through the same checks as any draft.
#[utoipa::path(post, path = "/api/v1/revisions/{n}/revert", tag = "planning", params(("n" = String, Path, description = "revision")), request_body(content = MessageBody, content_type = "application/json", description = "The revision's message (optional)"), responses((status = 200, description = "The new revision", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn revert(
    State(state): State<AppState>,
    user: AuthUser,
    Path(n): Path<String>,
    JsonBody(body): JsonBody<MessageBody>,
) -> Result<Json<Value>, ApiError> {
    let user = user.require(PLANNERS)?.clone();
    let n: i32 = n
        .parse()
        .map_err(|_| ApiError::bad_field("n", format!("revision must be an integer, got {n:?}")))?;
    let message = body
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("revert to revision {n}"));
    let mut db = Db::get(&state).await?;
    let committed = planning::revert(
        &mut db,
        &state.atlas,
        n,
        &user.name,
        &message,
        planning::Settings::from_config(&state.config),
    )
    .await?;
    Ok(Json(
        serde_json::to_value(committed).map_err(|e| ApiError::Internal(e.to_string()))?,
    ))
}

/// `GET /api/v1/buildings` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BuildingsParams {
    /// The cell whose buildings are wanted.
    #[param(example = "330106001001001")]
    cell: String,
}

/// `GET /api/v1/buildings?cell=CODE` (planners): the cell's building points with addresses and
/// household counts, so the editor can snap boundaries to buildings. No person data.
#[utoipa::path(get, path = "/api/v1/buildings", tag = "planning", params(BuildingsParams), responses((status = 200, description = "Building points with addresses and household counts", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn buildings(
    State(state): State<AppState>,
    user: AuthUser,
    super::params::Params(query): super::params::Params<BuildingsParams>,
) -> Result<Json<Value>, ApiError> {
    user.require(PLANNERS)?;
    let cell = &query.cell;
    let cell = parse_code(cell, "cell")?;
    let features = store::buildings::in_cell(&*Db::get(&state).await?, cell.as_str()).await?;
    Ok(Json(
        json!({"type": "FeatureCollection", "features": features}),
    ))
}
