//! The registry (人进户、户进房、房进网格): imports, batch geocoding, households per grid under
//! the access rules, counts, manual corrections, and the audit log.
//!
//! Access: `worker` reads the households of its own grids only; `planner` sees addresses and
//! counts, never names, phones or categories; `command` sees aggregates; sensitive categories and
//! people are shown to `admin` and the grid's own team only, and every such read is audited.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use geo_types::Coord;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::AuthUser;
use super::db::Db;
use super::error::ApiError;
use super::json::JsonBody;
use super::openapi::ErrorBody;
use super::params::Params;
use crate::app::registry::{ImportError, import};
use crate::codec::place::KnownBuilding;
use crate::codec::registry::Kind;
use crate::domain::address::building_key;
use crate::domain::category::{Sensitivity, mask_id_number};
use crate::domain::code::CellCode;
use crate::domain::role::Role;
use crate::geometry::crs::Crs;
use crate::store::registry as reg;
use crate::store::users::User;

fn parse_crs(name: Option<&str>) -> Result<Crs, ApiError> {
    let name = name.unwrap_or("cgcs2000");
    Crs::parse(name).ok_or_else(|| {
        ApiError::bad_field(
            "crs",
            format!("crs must be wgs84, cgcs2000, gcj02, bd09 or EPSG:4513–4554, got {name:?}"),
        )
    })
}

/// `POST /api/v1/import/{kind}` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The coordinates' CRS: cgcs2000 (default) | wgs84 | gcj02 | bd09 | EPSG:4513–4554.
    #[param(example = "cgcs2000")]
    crs: Option<String>,
    /// Write nothing if any row is bad (default: write the good rows, report the bad).
    all_or_nothing: Option<bool>,
}

/// `POST /api/v1/import/{buildings|households}?crs=&all_or_nothing=` with a CSV (UTF-8 or
/// GB18030) or GeoJSON body → the per-row report. Planners and admins.
#[utoipa::path(post, path = "/api/v1/import/{kind}", tag = "registry", params(("kind" = String, Path, description = "buildings | households"), ImportParams), request_body(content = String, content_type = "text/csv", description = "CSV (UTF-8 or GB18030) or GeoJSON"), responses((status = 200, description = "The per-row report", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn import_file(
    State(state): State<AppState>,
    user: AuthUser,
    Path(kind): Path<String>,
    Params(query): Params<ImportParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user = user.require(&[Role::Planner])?.clone();
    let kind = Kind::parse(&kind).ok_or_else(|| {
        ApiError::bad_field(
            "kind",
            format!("import buildings or households, not {kind:?}"),
        )
    })?;
    let crs = parse_crs(query.crs.as_deref())?;
    let all_or_nothing = query.all_or_nothing.unwrap_or(false);
    let atlas = state.atlas.load_full();
    let mut client = Db::get(&state).await?;
    let report = import(
        &mut client,
        &atlas,
        kind,
        &body,
        crs,
        all_or_nothing,
        &|_, _, _| {},
    )
    .await
    .map_err(|e| match e {
        ImportError::File(e) => ApiError::bad_field("body", e.to_string()),
        ImportError::Store(e) => e.into(),
    })?;
    reg::audit(
        &client,
        &user.name,
        user.role.as_str(),
        "import",
        match kind {
            Kind::Buildings => "buildings",
            Kind::Households => "households",
        },
        json!({"rows": report.tally.rows, "written": report.written}),
    )
    .await?;
    let status = if report.written.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        Json(serde_json::to_value(&report).map_err(|e| ApiError::Internal(e.to_string()))?),
    )
        .into_response())
}

/// The body of `POST /api/v1/geocode`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeocodeBody {
    /// The points' CRS: cgcs2000 (default) | wgs84 | gcj02 | bd09 | EPSG:4513–4554.
    crs: Option<String>,
    /// Points as `[x, y]`.
    #[serde(default)]
    points: Vec<[f64; 2]>,
    /// Addresses to match against the building registry.
    #[serde(default)]
    addresses: Vec<String>,
}

/// `POST /api/v1/geocode` `{"crs"?, "points"?: [[x, y], …], "addresses"?: [...]}` → one JSON
/// object per line (NDJSON), streamed as it is computed: `{"i", "cell", "chain"}` for points,
/// `{"i", "address", "status", "cell", "building"}` for addresses. Any signed-in role.
#[utoipa::path(post, path = "/api/v1/geocode", tag = "registry", request_body(content = GeocodeBody, content_type = "application/json"), responses((status = 200, description = "One JSON object per line", content_type = "application/x-ndjson", body = String), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn geocode(
    State(state): State<AppState>,
    _user: AuthUser,
    JsonBody(body): JsonBody<GeocodeBody>,
) -> Result<Response, ApiError> {
    let crs = parse_crs(body.crs.as_deref())?;
    let points = body
        .points
        .iter()
        .enumerate()
        .map(|(i, [x, y])| {
            crs.to_cgcs2000(*x, *y)
                .map_err(|e| ApiError::bad_field(&format!("points[{i}]"), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let addresses = body.addresses;
    if points.is_empty() && addresses.is_empty() {
        return Err(ApiError::bad_field(
            "points",
            "give points and/or addresses",
        ));
    }
    let buildings = if addresses.is_empty() {
        Vec::new()
    } else {
        reg::known_buildings(&*Db::get(&state).await?).await?
    };
    let atlas = state.atlas.load_full();
    let (send, receive) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        const CHUNK: usize = 20_000;
        for (c, chunk) in points.chunks(CHUNK).enumerate() {
            let mut out = String::with_capacity(chunk.len() * 48);
            for (k, p) in chunk.iter().enumerate() {
                let i = c * CHUNK + k;
                match atlas.locate(*p) {
                    Some(found) => {
                        let chain: Vec<&str> =
                            found.chain.iter().map(|c| c.code.as_str()).collect();
                        out.push_str(
                            &json!({"i": i, "cell": chain.last(), "chain": chain}).to_string(),
                        );
                    }
                    None => out.push_str(&json!({"i": i, "cell": null}).to_string()),
                }
                out.push('\n');
            }
            if send.blocking_send(Ok(Bytes::from(out))).is_err() {
                return; // The client went away.
            }
        }
        let mut by_key: HashMap<String, Vec<&KnownBuilding>> = HashMap::new();
        for b in &buildings {
            if let Some(k) = building_key(&b.address) {
                by_key.entry(k).or_default().push(b);
            }
        }
        let mut out = String::new();
        for (i, address) in addresses.iter().enumerate() {
            let found = building_key(address).and_then(|k| by_key.get(&k));
            let line = match found.map(Vec::as_slice) {
                Some([b]) => json!({"i": i, "address": address, "status": "matched",
                    "building": b.id, "cell": b.cell}),
                Some(many) if !many.is_empty() => {
                    json!({"i": i, "address": address, "status": "ambiguous",
                    "candidates": many.iter().map(|b| b.id).collect::<Vec<_>>()})
                }
                _ => json!({"i": i, "address": address, "status": "unmatched", "cell": null}),
            };
            out.push_str(&line.to_string());
            out.push('\n');
        }
        let _ = send.blocking_send(Ok(Bytes::from(out)));
    });
    let stream = tokio_stream_from(receive);
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn tokio_stream_from(
    mut receive: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| receive.poll_recv(cx))
}

use crate::domain::access::{HouseholdAccess as View, household_access, in_own_cells};

/// May `user` read the households of `cell`, and how much of them? (the rule: `domain::access`)
fn households_view(user: &User, cell: &str) -> Result<View, ApiError> {
    match household_access(user.role, &user.cells, cell) {
        View::Denied if user.role == Role::Worker => Err(ApiError::Forbidden(vec![Role::Admin])),
        View::Denied => Err(ApiError::Forbidden(vec![
            Role::Admin,
            Role::Worker,
            Role::Planner,
        ])),
        view => Ok(view),
    }
}

/// `GET /api/v1/cells/{code}/households`: the households of a grid, as much as the caller may see.
#[utoipa::path(get, path = "/api/v1/cells/{code}/households", tag = "registry", params(("code" = String, Path, description = "grid code")), responses((status = 200, description = "Households as the caller may see them", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn households(
    State(state): State<AppState>,
    user: AuthUser,
    Path(code): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let cell = CellCode::parse(&code).map_err(|e| ApiError::bad_field("code", e.to_string()))?;
    let view = households_view(&user.0, cell.as_str())?;
    let client = Db::get(&state).await?;
    let rows = reg::households_in(&client, cell.as_str()).await?;
    let sensitivity = reg::categories(&client).await?;
    let general = |c: &String| sensitivity.get(c) == Some(&Sensitivity::General);
    let mut sensitive_shown = 0usize;
    let households: Vec<Value> = rows
        .iter()
        .map(|h| match view {
            View::Denied => Value::Null,
            View::Addresses => json!({
                "id": h.id, "building_id": h.building_id, "address": h.address, "members": h.members,
            }),
            View::Full | View::Team => {
                if h.categories.iter().any(|c| !general(c)) || !h.people.is_empty() {
                    sensitive_shown += 1;
                }
                json!({
                    "id": h.id, "ext_id": h.ext_id, "building_id": h.building_id, "address": h.address,
                    "head_name": h.head_name, "members": h.members, "phone": h.phone,
                    "categories": h.categories,
                    "people": h.people.iter().map(|p| json!({
                        "name": p.name,
                        "id_number": p.id_number.as_deref().map(|n| match view {
                            View::Full => n.to_string(),
                            _ => mask_id_number(n),
                        }),
                        "relation": p.relation, "categories": p.categories,
                    })).collect::<Vec<_>>(),
                })
            }
        })
        .collect();
    if matches!(view, View::Full | View::Team) {
        reg::audit(
            &client,
            &user.0.name,
            user.0.role.as_str(),
            "read households",
            cell.as_str(),
            json!({"households": households.len(), "with_sensitive_data": sensitive_shown}),
        )
        .await?;
    }
    Ok(Json(
        json!({"cell": cell.as_str(), "households": households}),
    ))
}

/// `GET /api/v1/counts` parameters: one of `cell` or `parent`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CountsParams {
    /// A grid's code.
    #[param(example = "330106001001001")]
    cell: Option<String>,
    /// A parent's code: its children are counted.
    #[param(example = "330106001001")]
    parent: Option<String>,
}

/// `GET /api/v1/counts?parent=CODE` or `?cell=CODE`: households, residents and general-category
/// counts per grid (command, planner, admin; a worker for its own grids). No sensitive category
/// is ever counted here.
#[utoipa::path(get, path = "/api/v1/counts", tag = "registry", params(CountsParams), responses((status = 200, description = "Households, residents, general categories per grid", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn counts(
    State(state): State<AppState>,
    user: AuthUser,
    Params(query): Params<CountsParams>,
) -> Result<Json<Value>, ApiError> {
    let (field, code) = match (&query.cell, &query.parent) {
        (Some(c), None) => ("cell", c),
        (None, Some(p)) => ("parent", p),
        _ => return Err(ApiError::bad_field("cell", "give either cell= or parent=")),
    };
    let code = CellCode::parse(code).map_err(|e| ApiError::bad_field(field, e.to_string()))?;
    let atlas = state.atlas.load_full();
    let cells: Vec<String> = if field == "cell" {
        vec![code.to_string()]
    } else {
        atlas
            .cells()
            .iter()
            .filter(|c| {
                c.parent
                    .is_some_and(|p| atlas.cells()[p].code == code.as_str())
            })
            .map(|c| c.code.clone())
            .collect()
    };
    let u = &user.0;
    if u.role == Role::Worker && !cells.iter().all(|c| in_own_cells(&u.cells, c)) {
        return Err(ApiError::Forbidden(vec![Role::Command, Role::Planner]));
    }
    let client = Db::read(&state).await?;
    let general: BTreeSet<String> = reg::categories(&client)
        .await?
        .into_iter()
        .filter(|(_, s)| *s == Sensitivity::General)
        .map(|(n, _)| n)
        .collect();
    Ok(Json(
        json!({"counts": reg::counts(&client, &cells, &general).await?}),
    ))
}

/// The body of `PATCH /api/v1/buildings/{id}`: the building's corrected point.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    lon: f64,
    lat: f64,
    /// cgcs2000 (default) | wgs84 | gcj02 | bd09 | EPSG:4513–4554.
    crs: Option<String>,
}

/// `PATCH /api/v1/buildings/{id}` `{"lon", "lat", "crs"?}`: move a building's point (a manual
/// correction, audited); it is re-placed in its grid and its households follow.
#[utoipa::path(patch, path = "/api/v1/buildings/{id}", tag = "registry", params(("id" = String, Path, description = "building id")), request_body(content = MoveBody, content_type = "application/json"), responses((status = 200, description = "The building re-placed", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn move_building(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MoveBody>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::bad_field("id", format!("building id must be an integer, got {id:?}"))
    })?;
    let (x, y) = (body.lon, body.lat);
    let crs = parse_crs(body.crs.as_deref())?;
    let p = crs
        .to_cgcs2000(x, y)
        .map_err(|e| ApiError::bad_field("lon", e))?;
    let mut client = Db::get(&state).await?;
    let current = reg::building_cell(&client, id).await?;
    let u = &user.0;
    let own = |c: &Option<String>| c.as_ref().is_some_and(|c| in_own_cells(&u.cells, c));
    let atlas = state.atlas.load_full();
    let cell = atlas
        .locate_index(Coord { x: p.x, y: p.y })
        .map(|i| atlas.cells()[i].code.clone());
    let allowed = match u.role {
        Role::Admin | Role::Planner => true,
        Role::Worker => own(&current) && (cell.is_none() || own(&cell)),
        Role::Command | Role::Department => false,
    };
    if !allowed {
        return Err(ApiError::Forbidden(vec![Role::Planner, Role::Admin]));
    }
    if cell.is_none() {
        return Err(ApiError::bad_field(
            "lon",
            "the new point lies outside every grid",
        ));
    }
    let (old_x, old_y, old_cell, households) =
        reg::move_building(&mut client, id, p.x, p.y, cell.as_deref(), &crs.label()).await?;
    reg::audit(
        &client,
        &u.name,
        u.role.as_str(),
        "move building",
        &id.to_string(),
        json!({"from": [old_x, old_y], "to": [p.x, p.y], "from_cell": old_cell, "to_cell": cell}),
    )
    .await?;
    Ok(Json(json!({
        "id": id, "point": [p.x, p.y], "cell": cell, "previous_cell": old_cell, "households": households,
    })))
}

/// `GET /api/v1/audit` (admin): the newest entries first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "registry", responses((status = 200, description = "The audit log", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn audit(State(state): State<AppState>, user: AuthUser) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Admin])?;
    Ok(Json(
        json!({"entries": reg::audit_log(&*Db::read(&state).await?, 500).await?}),
    ))
}
