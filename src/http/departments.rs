//! 吹哨报到 over HTTP: the department registry, 吹哨 of an incident to departments and their 报到
//! and 办结, the 准入清单 (public once approved), the townships' reverse assessment, the
//! departments' KPIs (JSON, CSV, xlsx) and the wall's departments panel. Handlers parse,
//! authorise by role, call one use case of `app::departments` and shape the answer.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::AuthUser;
use super::db::Db;
use super::error::ApiError;
use super::export::{ExportFormat, KPI_HEADER, download, kpi_cells, period_of};
use super::field::{access_of, incident_json, shaped_one};
use super::json::JsonBody;
use super::openapi::ErrorBody;
use super::params::Params;
use crate::app::departments::{self as use_case, Dispatch, Proposal};
use crate::codec::table::{Cell, Format};
use crate::domain::dispatch::Step;
use crate::domain::role::Role;
use crate::store::departments::DepartmentRow;
use crate::store::incidents::IncidentRow;
use crate::store::users::User;

fn parse_id(field: &str, id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::bad_field(field, format!("{field} must be an integer, got {id:?}")))
}

/// The incident after a step, as the caller may now see it.
async fn answer(state: &AppState, user: &User, row: IncidentRow) -> Result<Json<Value>, ApiError> {
    let access = access_of(user, row.cell.as_deref(), &row.departments());
    let incident = shaped_one(state, user, row, access).await?;
    Ok(Json(json!({"incident": incident})))
}

/// The live event's body of a changed incident.
fn live_payload<'a>(state: &'a AppState) -> impl FnOnce(&IncidentRow) -> Value + 'a {
    let atlas = state.atlas.load_full();
    move |row| json!({"incident": incident_json(row, &atlas, state, &BTreeMap::new(), Utc::now())})
}

/// `GET /api/v1/departments` (command, admin, workers, departments): the registry.
#[utoipa::path(get, path = "/api/v1/departments", tag = "departments", responses((status = 200, description = "Every department with its categories", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Command, Role::Worker, Role::Department])?;
    let departments = use_case::list(&*Db::read(&state).await?).await?;
    Ok(Json(json!({"departments": departments})))
}

/// The body of `PUT /api/v1/departments/{code}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentBody {
    pub name: String,
    /// 站所, 县直部门, 派出所, 法庭 or 其他.
    pub kind: String,
    /// township (serves one township) or county.
    pub level: String,
    /// The township's 9-digit code, for a township department.
    pub township: Option<String>,
    /// Working hours to 报到 once dispatched (1–72; default 2).
    #[schema(minimum = 1, maximum = 72)]
    pub report_hours: Option<i32>,
    pub phone: Option<String>,
    /// The category codes it owns.
    pub categories: Option<Vec<String>>,
    /// Retired departments are no longer dispatched to.
    pub retired: Option<bool>,
}

/// `PUT /api/v1/departments/{code}` (admin): creates or updates a department.
#[utoipa::path(put, path = "/api/v1/departments/{code}", tag = "departments", params(("code" = String, Path, description = "department code")), request_body(content = DepartmentBody, content_type = "application/json"), responses((status = 200, description = "The department", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn put(
    State(state): State<AppState>,
    user: AuthUser,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<DepartmentBody>,
) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Admin])?;
    let row = DepartmentRow {
        code,
        name: body.name.trim().to_string(),
        kind: body.kind,
        level: body.level,
        township: body.township,
        report_hours: body.report_hours.unwrap_or(2),
        phone: body.phone,
        categories: body.categories.unwrap_or_default(),
        retired: body.retired.unwrap_or(false),
    };
    let department = use_case::put(&mut *Db::get(&state).await?, row).await?;
    Ok(Json(json!({"department": department})))
}

/// The body of `POST /api/v1/incidents/{id}/dispatch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    /// Department codes (1–8).
    pub departments: Vec<String>,
    /// The lead among them (needed when several are named and the incident has none yet).
    pub lead: Option<String>,
    pub note: Option<String>,
}

/// `POST /api/v1/incidents/{id}/dispatch` (command, a township leader): 吹哨 to departments.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/dispatch", tag = "departments", params(("id" = String, Path, description = "incident id")), request_body(content = DispatchBody, content_type = "application/json"), responses((status = 200, description = "The incident with its parts", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn dispatch(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DispatchBody>,
) -> Result<Json<Value>, ApiError> {
    let u = user.require(&[Role::Command, Role::Worker])?.clone();
    let id = parse_id("id", &id)?;
    if body.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::bad_field(
            "note",
            "a note is at most 2,000 characters",
        ));
    }
    let calendar = state.calendar.load_full();
    let row = use_case::dispatch(
        &mut *Db::get(&state).await?,
        &calendar,
        &u,
        id,
        Dispatch {
            departments: body
                .departments
                .iter()
                .map(|d| d.trim().to_string())
                .collect(),
            lead: body.lead.map(|l| l.trim().to_string()),
            note: body.note,
        },
        Utc::now(),
        live_payload(&state),
    )
    .await?;
    answer(&state, &u, row).await
}

/// The body of `POST /api/v1/parts/{id}/report` and `/done`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartBody {
    /// For 办结: what was done (required).
    pub result: Option<String>,
}

async fn part_step(
    state: AppState,
    user: AuthUser,
    id: String,
    step: Step,
    body: PartBody,
) -> Result<Json<Value>, ApiError> {
    let u = user.require(&[Role::Department])?.clone();
    let id = parse_id("id", &id)?;
    let row = use_case::step(
        &mut *Db::get(&state).await?,
        &u,
        id,
        step,
        body.result,
        Utc::now(),
        live_payload(&state),
    )
    .await?;
    answer(&state, &u, row).await
}

/// `POST /api/v1/parts/{id}/report` (the part's department): 报到.
#[utoipa::path(post, path = "/api/v1/parts/{id}/report", tag = "departments", params(("id" = String, Path, description = "part id")), request_body(content = PartBody, content_type = "application/json"), responses((status = 200, description = "The incident with the part reported", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PartBody>,
) -> Result<Json<Value>, ApiError> {
    part_step(state, user, id, Step::Report, body).await
}

/// `POST /api/v1/parts/{id}/done` `{"result"}` (the part's department): 办结; the lead's hands the
/// incident to the grid worker's 核查.
#[utoipa::path(post, path = "/api/v1/parts/{id}/done", tag = "departments", params(("id" = String, Path, description = "part id")), request_body(content = PartBody, content_type = "application/json"), responses((status = 200, description = "The incident with the part done", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn done(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PartBody>,
) -> Result<Json<Value>, ApiError> {
    part_step(state, user, id, Step::Done, body).await
}

/// A matter's status, as listed.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MatterStatus {
    Proposed,
    Approved,
    Rejected,
}

impl MatterStatus {
    fn as_str(self) -> &'static str {
        match self {
            MatterStatus::Proposed => "proposed",
            MatterStatus::Approved => "approved",
            MatterStatus::Rejected => "rejected",
        }
    }
}

/// `GET /api/v1/matters` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MatterParams {
    status: Option<MatterStatus>,
}

/// `GET /api/v1/matters?status=` (command, admin): the 准入清单 with its approval record.
#[utoipa::path(get, path = "/api/v1/matters", tag = "departments", params(MatterParams), responses((status = 200, description = "Matters with who proposed and decided them", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn matters(
    State(state): State<AppState>,
    user: AuthUser,
    Params(query): Params<MatterParams>,
) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Command])?;
    let list = use_case::matters(
        &*Db::read(&state).await?,
        query.status.map(MatterStatus::as_str),
    )
    .await?;
    Ok(Json(json!({"matters": list})))
}

/// `GET /api/v1/public/matters` (no token): the 准入清单 in force — approved matters only, with
/// their owning department; no proposer or reviewer names.
#[utoipa::path(get, path = "/api/v1/public/matters", tag = "public", responses((status = 200, description = "The matters in force", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn public_matters(State(state): State<AppState>) -> Result<Response, ApiError> {
    let list = use_case::matters(&*Db::read(&state).await?, Some("approved")).await?;
    let matters: Vec<Value> = list
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "name": m.name,
                "category": m.category,
                "department": m.department,
                "department_name": m.department_name,
                "grid_duty": m.grid_duty,
                "basis": m.basis,
                "approved_at": m.decided_at.map(|t| t.to_rfc3339()),
            })
        })
        .collect();
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(json!({"matters": matters})),
    )
        .into_response())
}

/// The body of `POST /api/v1/matters`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatterBody {
    pub name: String,
    /// The incident category code it concerns.
    pub category: Option<String>,
    /// The owning department's code.
    pub department: String,
    /// 发现上报, 协助处置 or 直接处置: what the grid does.
    pub grid_duty: String,
    /// The rule or document it rests on.
    pub basis: Option<String>,
}

/// `POST /api/v1/matters` (command, admin): proposes an addition to the 准入清单.
#[utoipa::path(post, path = "/api/v1/matters", tag = "departments", request_body(content = MatterBody, content_type = "application/json"), responses((status = 201, description = "The proposed matter", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn propose(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<MatterBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let u = user.require(&[Role::Command])?.clone();
    let matter = use_case::propose(
        &*Db::get(&state).await?,
        &u,
        Proposal {
            name: body.name,
            category: body.category,
            department: body.department,
            grid_duty: body.grid_duty,
            basis: body.basis,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"matter": matter}))))
}

/// The body of `POST /api/v1/matters/{id}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub approve: bool,
    pub note: Option<String>,
}

/// `POST /api/v1/matters/{id}/decision` `{"approve", "note"?}` (admin, not the proposer).
#[utoipa::path(post, path = "/api/v1/matters/{id}/decision", tag = "departments", params(("id" = String, Path, description = "matter id")), request_body(content = DecisionBody, content_type = "application/json"), responses((status = 200, description = "The decided matter", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Json<Value>, ApiError> {
    let u = user.require(&[Role::Admin])?.clone();
    let id = parse_id("id", &id)?;
    let matter = use_case::decide(
        &*Db::get(&state).await?,
        &u,
        id,
        body.approve,
        body.note.as_deref(),
    )
    .await?;
    Ok(Json(json!({"matter": matter})))
}

/// The body of `POST /api/v1/departments/{code}/reviews`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// 2026-11, 2026Q4 or 2026H2.
    pub period: String,
    /// The reviewing township's 9-digit code.
    pub township: String,
    /// 0–100.
    pub score: f64,
    pub note: Option<String>,
}

/// `POST /api/v1/departments/{code}/reviews` (a township leader, command): 反向考核.
#[utoipa::path(post, path = "/api/v1/departments/{code}/reviews", tag = "departments", params(("code" = String, Path, description = "department code")), request_body(content = ReviewBody, content_type = "application/json"), responses((status = 204, description = "Recorded (a second score of the same township and period replaces the first)"), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn review(
    State(state): State<AppState>,
    user: AuthUser,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<ReviewBody>,
) -> Result<StatusCode, ApiError> {
    let u = user.require(&[Role::Command, Role::Worker])?.clone();
    use_case::review(
        &*Db::get(&state).await?,
        &u,
        &code,
        body.period.trim(),
        body.township.trim(),
        body.score,
        body.note,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/departments/kpis` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KpiParams {
    /// First day (YYYY-MM-DD) or RFC 3339; default 30 days ago.
    #[param(example = "2026-11-01")]
    from: Option<String>,
    /// Last day, inclusive, or RFC 3339; default now.
    #[param(example = "2026-11-30")]
    to: Option<String>,
    /// The reverse-assessment period whose scores are averaged (2026-11, 2026Q4, 2026H2).
    #[param(example = "2026-11")]
    period: Option<String>,
    format: Option<ExportFormat>,
}

/// `GET /api/v1/departments/kpis?from=&to=&period=&format=json|csv|xlsx` (command, admin; a
/// department sees its own row): the seven KPIs per department with the townships' average score.
#[utoipa::path(get, path = "/api/v1/departments/kpis", tag = "departments", params(KpiParams), responses((status = 200, description = "KPIs per department", content((serde_json::Value = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn kpis(
    State(state): State<AppState>,
    user: AuthUser,
    Params(query): Params<KpiParams>,
) -> Result<Response, ApiError> {
    let u = user.require(&[Role::Command, Role::Department])?.clone();
    let now = Utc::now();
    let (from, to) = period_of(query.from.as_deref(), query.to.as_deref(), now)?;
    if let Some(p) = &query.period
        && !use_case::valid_period(p)
    {
        return Err(ApiError::bad_field(
            "period",
            "period is YYYY-MM, YYYYQn or YYYYHn",
        ));
    }
    let (total, mut rows) = use_case::kpis_of(
        &*Db::read(&state).await?,
        from,
        to,
        query.period.as_deref(),
        now,
    )
    .await?;
    if u.role == Role::Department {
        rows.retain(|r| Some(&r.code) == u.department.as_ref());
    }
    match query.format.unwrap_or(ExportFormat::Json) {
        ExportFormat::Json => Ok(Json(json!({
            "from": from.to_rfc3339(),
            "to": to.to_rfc3339(),
            "period": query.period,
            "departments": rows,
            "totals": (u.role != Role::Department).then_some(total),
        }))
        .into_response()),
        f => {
            let mut header = vec!["code", "name"];
            header.extend(KPI_HEADER);
            header.extend(["反向考核平均分", "评分乡镇数"]);
            let table: Vec<Vec<Cell>> = rows
                .iter()
                .map(|r| {
                    let mut row = vec![Cell::from(r.code.as_str()), Cell::from(r.name.as_str())];
                    row.extend(kpi_cells(&r.kpis));
                    row.extend([Cell::from(r.review_average), Cell::from(r.reviews as u64)]);
                    row
                })
                .collect();
            let format = if matches!(f, ExportFormat::Xlsx) {
                Format::Xlsx
            } else {
                Format::Csv
            };
            download(format, "gridmap-departments", "部门考核", &header, &table)
        }
    }
}

/// `GET /api/v1/departments/board` (command, admin): the wall's departments panel — open parts
/// per department, overdue 报到 and 处置, the ranking by 响应率 over 30 days.
#[utoipa::path(get, path = "/api/v1/departments/board", tag = "departments", responses((status = 200, description = "The panel", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn board(State(state): State<AppState>, user: AuthUser) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Command])?;
    let calendar = state.calendar.load_full();
    let board = use_case::board(&*Db::read(&state).await?, &calendar, Utc::now()).await?;
    Ok(Json(serde_json::to_value(board).unwrap_or(Value::Null)))
}
