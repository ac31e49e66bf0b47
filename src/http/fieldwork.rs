//! Field work over HTTP (DESIGN.md §4): pairing phones, the idempotent sync, the worker's day,
//! patrols, logs and their comments, compliance, photos. Each handler parses, authorises, calls
//! one use case in `app::fieldwork`, and shapes the answer.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{AuthUser, ClientAddr};
use super::db::{Db, ReadDb};
use super::error::ApiError;
use super::field::incident_json;
use super::json::JsonBody;
use super::openapi::ErrorBody;
use super::params::Params;
use crate::app::fieldwork::{self as use_case, FieldError, SyncContext};
use crate::domain::duty::{Period, local_day};
use crate::domain::role::Role;
use crate::store::fieldwork as store;

/// Who works in the field (admin always).
const FIELD: &[Role] = &[Role::Worker, Role::Command];

/// The body of `POST /api/v1/devices/pair`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairBody {
    /// The 8-digit one-time code.
    #[schema(example = "12345678")]
    pub code: String,
    /// The phone's name, as its owner will see it in the device list.
    #[schema(example = "华为 Mate 60")]
    pub device: String,
}

/// `POST /api/v1/devices/pair`: exchanges a one-time pairing code for a device token (201, once);
/// an unknown or expired code is a 404, a used one a 409. Failures count against the address like
/// bad tokens (20 a minute).
#[utoipa::path(post, path = "/api/v1/devices/pair", tag = "field", request_body(content = PairBody, content_type = "application/json"), responses((status = 201, description = "The device token (shown once) and its user", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn pair(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(body): JsonBody<PairBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    state.auth_limiter.admit(addr)?;
    let mut client = Db::get(&state).await?;
    match use_case::pair(&mut client, &body.code, &body.device).await {
        Ok((token, user)) => Ok((
            StatusCode::CREATED,
            Json(
                json!({"token": token, "user": {"name": user.name, "role": user.role, "cells": user.cells}}),
            ),
        )),
        Err(e @ (FieldError::NotFound(_) | FieldError::Conflict(_))) => {
            Err(state.auth_limiter.wrong_guess(addr, e.into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The body of `POST /api/v1/devices/pairings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairingBody {
    /// The user the phone will act as.
    pub user: String,
}

/// `POST /api/v1/devices/pairings` (admin; a leader for a worker it leads): a one-time 8-digit
/// code for a user's phone, valid 10 minutes, with the link that fills it in (`/field#pair=CODE`)
/// and that link as a QR code (a PNG `data:` URL) for the worker to scan.
#[utoipa::path(post, path = "/api/v1/devices/pairings", tag = "field", request_body(content = PairingBody, content_type = "application/json"), responses((status = 201, description = "code, expires_at, link, qr", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn pairing(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody<PairingBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let issuer = user.require(&[Role::Admin, Role::Worker])?;
    let target = store::user_by_name(&*client, &body.user)
        .await?
        .ok_or_else(|| ApiError::bad_field("user", format!("no user named {:?}", body.user)))?;
    if !use_case::may_pair(issuer, &target) {
        return Err(ApiError::Denied(format!(
            "{} is not a worker you lead; an admin or the worker's leader issues its code",
            target.name
        )));
    }
    let (code, expires_at) =
        use_case::pairing_code(&client, &target, &issuer.name, Utc::now()).await?;
    // The link is absolute so a phone's camera can open it.
    let link = format!("{}/field#pair={code}", super::base_url(&state, &headers));
    let qr = use_case::pairing_qr(&link)?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"code": code, "user": target.name, "expires_at": expires_at, "link": link, "qr": qr}),
        ),
    ))
}

/// `GET /api/v1/devices`: the caller's paired phones (an admin: everyone's), never a token.
#[utoipa::path(get, path = "/api/v1/devices", tag = "field", responses((status = 200, description = "Devices", body = Object), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn devices(user: AuthUser, client: Db) -> Result<Json<Value>, ApiError> {
    let u = &user.0;
    let scope = (u.role != Role::Admin).then_some(u.id);
    Ok(Json(
        json!({"devices": store::devices(&*client, scope).await?}),
    ))
}

/// `DELETE /api/v1/devices/{id}`: revokes a phone (its owner or an admin); its next request is a
/// 401.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "field", params(("id" = i64, Path, description = "device id")), responses((status = 200, description = "Revoked", body = Object), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_device(
    user: AuthUser,
    client: Db,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_field("id", format!("a device id is an integer, got {id:?}")))?;
    let u = &user.0;
    let scope = (u.role != Role::Admin).then_some(u.id);
    if !store::revoke_device(&*client, id, scope).await? {
        return Err(ApiError::NotFound(format!("no device {id} of yours")));
    }
    Ok(Json(json!({"revoked": id})))
}

/// The body of `POST /api/v1/field/sync`: actions in the order they were recorded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncBody {
    /// Each parsed on its own: a bad one is `rejected` and never blocks the others.
    #[schema(value_type = Vec<use_case::FieldAction>)]
    pub actions: Vec<Value>,
}

/// The answer of a sync, one result per action in input order.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct SyncAnswer {
    pub results: Vec<use_case::SyncResult>,
}

/// `POST /api/v1/field/sync` (worker, command, admin): what the phone recorded offline. Every
/// action carries its client id; one already applied answers `duplicate` and changes nothing.
#[utoipa::path(post, path = "/api/v1/field/sync", tag = "field", request_body(content = SyncBody, content_type = "application/json"), responses((status = 200, description = "created | duplicate | rejected per action, in order", body = SyncAnswer), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn sync(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<SyncBody>,
) -> Result<Json<SyncAnswer>, ApiError> {
    let u = user.require(FIELD)?.clone();
    if body.actions.len() > 2000 {
        return Err(ApiError::bad_field(
            "actions",
            "at most 2,000 actions per sync",
        ));
    }
    let mut client = Db::get(&state).await?;
    let atlas = state.atlas.load_full();
    let calendar = state.calendar.load_full();
    let rules = use_case::rules(&client).await?;
    let now = Utc::now();
    let payload_state = state.clone();
    let payload_atlas = atlas.clone();
    let payload = move |row: &crate::store::incidents::IncidentRow| json!({"incident": incident_json(row, &payload_atlas, &payload_state, &BTreeMap::new(), now)});
    let ctx = SyncContext {
        atlas: &atlas,
        calendar: &calendar,
        photos_dir: &state.config.photos_dir,
        rules: &rules,
        incident_payload: &payload,
    };
    let results = use_case::sync(&mut client, &ctx, &u, body.actions, now).await?;
    Ok(Json(SyncAnswer { results }))
}

/// `GET /api/v1/field/today` (a worker): my grids, households due a visit, my open incidents,
/// whether today's log is written, patrol days this week.
#[utoipa::path(get, path = "/api/v1/field/today", tag = "field", responses((status = 200, description = "The day's work", body = Object), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn today(
    State(state): State<AppState>,
    user: AuthUser,
    client: ReadDb,
) -> Result<Json<Value>, ApiError> {
    let u = user.require(FIELD)?;
    let atlas = state.atlas.load_full();
    let calendar = state.calendar.load_full();
    Ok(Json(
        use_case::today(&client, &atlas, &calendar, u, Utc::now()).await?,
    ))
}

/// `GET /api/v1/field/households` (a worker): the households of my grids, for the phone to keep
/// offline (ID numbers never included).
#[utoipa::path(get, path = "/api/v1/field/households", tag = "field", responses((status = 200, description = "Households of my grids", body = Object), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn households(
    State(state): State<AppState>,
    user: AuthUser,
    client: ReadDb,
) -> Result<Json<Value>, ApiError> {
    let u = user.require(&[Role::Worker])?;
    let atlas = state.atlas.load_full();
    Ok(Json(
        use_case::households(&client, u, &atlas, Utc::now()).await?,
    ))
}

/// `GET /api/v1/field/day` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayParams {
    /// The day (default today, China time).
    #[param(value_type = Option<String>, format = Date, example = "2026-12-01")]
    date: Option<NaiveDate>,
}

/// `GET /api/v1/field/day?date=` (the caller): the day's patrols, visits and reports, as the log
/// is prefilled.
#[utoipa::path(get, path = "/api/v1/field/day", tag = "field", params(DayParams), responses((status = 200, description = "The day's summary", body = Object), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn day(
    user: AuthUser,
    client: ReadDb,
    Params(query): Params<DayParams>,
) -> Result<Json<Value>, ApiError> {
    let u = user.require(FIELD)?;
    let day = query.date.unwrap_or_else(|| local_day(Utc::now()));
    Ok(Json(use_case::day_summary(&*client, u, day).await?))
}

/// `GET /api/v1/patrols/{id}`: a patrol's grids (time inside, coverage), length, dropped points —
/// for the worker, their leaders and admin (a read of another's is audited).
#[utoipa::path(get, path = "/api/v1/patrols/{id}", tag = "field", params(("id" = String, Path, description = "the patrol.start action's id")), responses((status = 200, description = "The patrol", body = use_case::PatrolView), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn patrol(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    Path(id): Path<String>,
) -> Result<Json<use_case::PatrolView>, ApiError> {
    let atlas = state.atlas.load_full();
    Ok(Json(use_case::patrol(&client, &atlas, &user.0, &id).await?))
}

/// Whose records, over which days.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordsParams {
    /// One worker by name (default: every worker the caller may see).
    worker: Option<String>,
    /// First day (default: 7 days ago).
    #[param(value_type = Option<String>, format = Date, example = "2026-11-23")]
    from: Option<NaiveDate>,
    /// Last day, inclusive (default today).
    #[param(value_type = Option<String>, format = Date, example = "2026-11-30")]
    to: Option<NaiveDate>,
}

fn days(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    default_days: i64,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let today = local_day(Utc::now());
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - chrono::TimeDelta::days(default_days - 1));
    if from > to {
        return Err(ApiError::bad_field("to", "to must not be before from"));
    }
    if (to - from).num_days() > 400 {
        return Err(ApiError::bad_field("from", "at most 400 days at a time"));
    }
    Ok((from, to))
}

/// `GET /api/v1/patrols?worker=&from=&to=`: patrols of the workers the caller may see.
#[utoipa::path(get, path = "/api/v1/patrols", tag = "field", params(RecordsParams), responses((status = 200, description = "Patrols", body = Object), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn patrols(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    Params(query): Params<RecordsParams>,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = days(query.from, query.to, 7)?;
    let (start, _) = use_case::day_bounds(from);
    let (_, end) = use_case::day_bounds(to);
    let atlas = state.atlas.load_full();
    let list = use_case::patrols(
        &client,
        &atlas,
        &user.0,
        query.worker.as_deref(),
        start,
        end,
    )
    .await?;
    Ok(Json(json!({"patrols": list})))
}

/// `GET /api/v1/logs?worker=&from=&to=`: daily logs (every version) with leaders' comments.
#[utoipa::path(get, path = "/api/v1/logs", tag = "field", params(RecordsParams), responses((status = 200, description = "Logs", body = Object), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn logs(
    user: AuthUser,
    client: ReadDb,
    Params(query): Params<RecordsParams>,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = days(query.from, query.to, 7)?;
    let list = use_case::logs(&client, &user.0, query.worker.as_deref(), from, to).await?;
    Ok(Json(json!({"logs": list})))
}

/// The body of `POST /api/v1/logs/{id}/comments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    pub comment: String,
}

/// `POST /api/v1/logs/{id}/comments`: a leader's comment on a log (201).
#[utoipa::path(post, path = "/api/v1/logs/{id}/comments", tag = "field", params(("id" = String, Path, description = "log id")), request_body(content = CommentBody, content_type = "application/json"), responses((status = 201, description = "The comment", body = store::LogComment), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn comment(
    user: AuthUser,
    client: Db,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CommentBody>,
) -> Result<(StatusCode, Json<store::LogComment>), ApiError> {
    let c = use_case::comment(&client, &user.0, &id, &body.comment).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// `GET /api/v1/compliance` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ComplianceParams {
    /// First day (default: this week's Monday).
    #[param(value_type = Option<String>, format = Date, example = "2026-11-23")]
    from: Option<NaiveDate>,
    /// Last day, inclusive (default today).
    #[param(value_type = Option<String>, format = Date, example = "2026-11-29")]
    to: Option<NaiveDate>,
    /// Only workers under this cell.
    #[param(example = "520328004016")]
    cell: Option<String>,
    /// json (default) | csv
    format: Option<super::export::ExportFormat>,
}

/// `GET /api/v1/compliance?from=&to=&cell=&format=csv` (command, admin; a leader for its
/// workers): per worker and per grid, the figures and the rule each is judged against.
#[utoipa::path(get, path = "/api/v1/compliance", tag = "field", params(ComplianceParams), responses((status = 200, description = "Compliance", content((Object = "application/json"), (String = "text/csv"))), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn compliance(
    State(state): State<AppState>,
    user: AuthUser,
    client: ReadDb,
    Params(query): Params<ComplianceParams>,
) -> Result<Response, ApiError> {
    let u = user.require(&[Role::Command, Role::Worker])?;
    let today = local_day(Utc::now());
    let monday = today
        - chrono::TimeDelta::days(i64::from(
            chrono::Datelike::weekday(&today).num_days_from_monday(),
        ));
    let to = query.to.unwrap_or(today);
    let from = query.from.unwrap_or(monday.min(to));
    if from > to {
        return Err(ApiError::bad_field("to", "to must not be before from"));
    }
    if (to - from).num_days() > 400 {
        return Err(ApiError::bad_field("from", "at most 400 days at a time"));
    }
    if let Some(c) = &query.cell {
        crate::domain::code::CellCode::parse(c)
            .map_err(|e| ApiError::bad_field("cell", e.to_string()))?;
    }
    let atlas = state.atlas.load_full();
    let calendar = state.calendar.load_full();
    let (rules, rows, grids) = use_case::compliance(
        &client,
        &atlas,
        &calendar,
        u,
        query.cell.as_deref(),
        Period { from, to, today },
    )
    .await?;
    if matches!(query.format, Some(super::export::ExportFormat::Xlsx)) {
        return Err(ApiError::bad_field("format", "compliance is json or csv"));
    }
    if matches!(query.format, Some(super::export::ExportFormat::Csv)) {
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| ApiError::Internal(format!("csv: {e}"));
        w.write_record([
            "网格员",
            "网格",
            "巡查天数",
            "应巡查天数",
            "巡查小时",
            "覆盖率",
            "日志",
            "应填日志",
            "走访",
            "应走访",
            "例会",
            "应开例会",
            "达标",
        ])
        .map_err(csv_error)?;
        for r in &rows {
            w.write_record([
                r.worker.clone(),
                r.cells.join(" "),
                r.patrol_days.to_string(),
                r.patrol_days_due.to_string(),
                format!("{:.2}", r.patrol_hours),
                r.coverage
                    .map(|c| format!("{:.1}%", c * 100.0))
                    .unwrap_or_default(),
                r.logs_written.to_string(),
                r.logs_due.to_string(),
                r.visits_done.to_string(),
                r.visits_due.to_string(),
                r.meetings_held.to_string(),
                r.meetings_due.to_string(),
                if r.ok { "是" } else { "否" }.to_string(),
            ])
            .map_err(csv_error)?;
        }
        let out = w
            .into_inner()
            .map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"gridmap-compliance.csv\"",
                ),
            ],
            out,
        )
            .into_response());
    }
    let grids: Vec<Value> = grids
        .iter()
        .map(|g| {
            let mut v = json!(g);
            v["name"] = json!(atlas.get(&g.code).map(|c| c.name.clone()));
            v
        })
        .collect();
    Ok(Json(json!({
        "from": from, "to": to,
        "rules": rules.all().map(|(k, v, d)| json!({"key": k, "value": v, "description": d})).collect::<Vec<_>>(),
        "rows": rows,
        "grids": grids,
    }))
    .into_response())
}

/// `GET /api/v1/photos/{hash}`: a field photo for its uploader, their leaders, command and
/// admin; never public.
#[utoipa::path(get, path = "/api/v1/photos/{hash}", tag = "field", params(("hash" = String, Path, description = "SHA-256")), responses((status = 200, description = "The image", content((String = "image/jpeg"), (String = "image/png"), (String = "image/webp"))), (status = "4XX", description = "Refused", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn photo(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let (mime, bytes) = use_case::photo(&client, &state.config.photos_dir, &user.0, &hash).await?;
    Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(header::CACHE_CONTROL, "private, max-age=86400")
        .body(Body::from(bytes))
        .map_err(|e| ApiError::Internal(e.to_string()))
}
