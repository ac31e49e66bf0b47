//! The field (grid workers, the 12345 hotline, the command centre): report incidents, act on
//! them through the closed loop, list them, and the KPIs.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::AuthUser;
use super::db::Db;
use super::error::ApiError;
use super::export::{
    ExportFormat, KPI_HEADER, download, kpi_cells, parse_time, period_of, today_of,
};
use super::json::JsonBody;
use super::openapi::ErrorBody;
use super::params::Params;
use crate::app::incidents::{self as use_case, Report};
use crate::atlas::Atlas;
use crate::domain::access::{IncidentAccess, incident_access};
use crate::domain::duty::local_day;
use crate::domain::incident::{self, State as IncidentState};
use crate::domain::role::Role;
use crate::geometry::crs::Crs;
use crate::store::incidents::{self as store, IncidentFilter, IncidentRow};
use crate::store::users::User;

/// Who may report and act (admin always).
const FIELD: &[Role] = &[Role::Worker, Role::Command];
/// Where reports come from.
pub const SOURCES: [&str; 5] = ["网格员巡查", "12345 热线", "群众", "视频", "Open311"];

/// The incident as every API shows it: no reporter, no description of persons beyond what the
/// reporter wrote; the grid's team by role and name.
pub fn incident_json(
    row: &IncidentRow,
    atlas: &Atlas,
    state: &AppState,
    teams: &Teams,
    now: DateTime<Utc>,
) -> Value {
    let cell = row.cell.as_deref().and_then(|c| atlas.get(c));
    let village = cell.and_then(|c| atlas.at_level(c, 2));
    let finished = row.state.is_finished();
    let voided = row.state == IncidentState::Voided;
    let calendar = state.calendar.load();
    let status = row.clock().status(&calendar, row.closed_at.unwrap_or(now));
    json!({
        "id": row.id,
        "category": row.category,
        "severity": row.severity,
        "source": row.source,
        "description": row.description,
        "state": row.state.as_str(),
        "lon": row.lon,
        "lat": row.lat,
        "address": row.address,
        "cell": cell.map(|c| json!({"code": c.code, "name": c.name}))
            .or_else(|| row.cell.as_ref().map(|c| json!({"code": c, "name": null}))),
        "village": village.map(|v| json!({"code": v.code, "name": v.name})),
        "cell_revision": row.cell_revision,
        "level": row.level.as_str(),
        "created_at": row.created_at.to_rfc3339(),
        "updated_at": row.updated_at.to_rfc3339(),
        "deadline_at": (!voided).then(|| status.deadline_at.to_rfc3339()),
        // Counted with weekends only beyond the calendar's years: may move when the year loads.
        "provisional": !voided && !finished && calendar.is_provisional(status.deadline_at),
        "warning": if finished && row.closed_at.is_none() { "normal" } else { status.warning },
        "overdue": !finished && status.overdue || row.closed_at.is_some_and(|_| status.overdue),
        "suspended": row.suspended_since.is_some(),
        "supervision": row.supervision,
        "rating": row.rating,
        "closed_at": row.closed_at.map(|t| t.to_rfc3339()),
        "team": row
            .cell
            .as_ref()
            .and_then(|c| teams.get(&(c.clone(), local_day(row.created_at))))
            .cloned()
            .unwrap_or_default(),
        "stages": {
            "response": incident::stage_status(row.stages.response_due, row.stages.accepted_at, now),
            "forward": incident::stage_status(row.stages.forward_due, row.stages.forwarded_at, now),
        },
        "attributes": row.attributes,
        "parts": row.parts.iter().map(|p| part_json(p, &calendar, now)).collect::<Vec<_>>(),
    })
}

/// A department's part as every API shows it, with its clocks' status.
pub fn part_json(
    p: &crate::store::incidents::PartRow,
    calendar: &crate::domain::calendar::Calendar,
    now: DateTime<Utc>,
) -> Value {
    let status = crate::domain::dispatch::part_status(
        calendar,
        &p.clock(),
        p.report_due,
        p.reported_at,
        p.done_at,
        now,
    );
    json!({
        "id": p.id,
        "department": p.department,
        "department_name": p.department_name,
        "lead": p.lead,
        "state": p.state,
        "dispatched_at": p.dispatched_at.to_rfc3339(),
        "report_due": p.report_due.to_rfc3339(),
        "reported_at": p.reported_at.map(|t| t.to_rfc3339()),
        "deadline_at": p.deadline_at.to_rfc3339(),
        "done_at": p.done_at.map(|t| t.to_rfc3339()),
        "result": p.result,
        "report_late": status.report_late,
        "overdue": status.overdue,
        "warning": status.warning,
    })
}

/// The incident as `access` lets its caller see it (the rule is `domain::access`): whole; whole
/// but with only the viewer's own department's parts (`department`); as a summary (no
/// description, address, photos, notes, team or parts' results; the location rounded to its
/// grid's interior point); or not at all. Every path that hands out an incident goes through here.
pub fn view_incident(
    access: IncidentAccess,
    mut incident: Value,
    atlas: &Atlas,
    department: Option<&str>,
) -> Option<Value> {
    match access {
        IncidentAccess::Full => Some(incident),
        IncidentAccess::Denied => None,
        IncidentAccess::Part => {
            if let Some(Value::Array(parts)) = incident.get_mut("parts") {
                parts.retain(|p| department.is_some_and(|d| p["department"] == d));
            }
            Some(incident)
        }
        IncidentAccess::Summary => {
            let cell = incident["cell"]["code"].as_str().and_then(|c| atlas.get(c));
            let point = cell.and_then(|c| geo::InteriorPoint::interior_point(&c.geometry));
            if let Value::Object(map) = &mut incident {
                for private in [
                    "description",
                    "address",
                    "photos",
                    "notes",
                    "note",
                    "team",
                    "reporter",
                    "attributes",
                ] {
                    map.remove(private);
                }
                if let Some(Value::Array(parts)) = map.get_mut("parts") {
                    for part in parts {
                        if let Value::Object(p) = part {
                            p.remove("result");
                        }
                    }
                }
                let round = |v: f64| (v * 1e5).round() / 1e5;
                map.insert("lon".into(), json!(point.map(|p| round(p.x()))));
                map.insert("lat".into(), json!(point.map(|p| round(p.y()))));
                map.insert("location".into(), json!("grid"));
            }
            Some(incident)
        }
    }
}

/// How `user` may see an incident in `cell` with parts of `departments`.
pub fn access_of(user: &User, cell: Option<&str>, departments: &[String]) -> IncidentAccess {
    incident_access(&user.viewer(), cell, departments)
}

/// The departments with a part in an incident's JSON (live events carry only the JSON).
fn departments_in(incident: &Value) -> Vec<String> {
    incident["parts"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p["department"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A live event as `user` may receive it: incident events go through the incident rule (skipped
/// when denied, summarised for planners); other events pass as they are.
pub fn view_live_event(
    user: &User,
    kind: &str,
    mut payload: Value,
    atlas: &Atlas,
) -> Option<Value> {
    if !kind.starts_with("incident.") {
        return Some(payload);
    }
    let incident = payload.get_mut("incident").map(Value::take)?;
    let access = access_of(
        user,
        incident["cell"]["code"].as_str(),
        &departments_in(&incident),
    );
    let viewed = view_incident(access, incident, atlas, user.department.as_deref())?;
    payload["incident"] = viewed;
    Some(payload)
}

/// The team of a grid on a day, as `[{"role", "name"}]`, by (cell, day).
pub type Teams = BTreeMap<(String, NaiveDate), Vec<Value>>;

/// The teams that served the given rows' grids on the days they were reported: a past incident
/// names the team of its time, not today's.
pub async fn teams_of(
    client: &tokio_postgres::Client,
    rows: &[&IncidentRow],
) -> Result<Teams, ApiError> {
    let mut on: Vec<(String, NaiveDate)> = rows
        .iter()
        .filter_map(|r| r.cell.clone().map(|c| (c, local_day(r.created_at))))
        .collect();
    on.sort();
    on.dedup();
    let mut teams = Teams::new();
    for (cell, day, role, name) in store::teams(client, &on).await? {
        teams
            .entry((cell, day))
            .or_default()
            .push(json!({"role": role, "name": name}));
    }
    Ok(teams)
}

/// Rows as the rule let the caller see them (the access decided by the use case), shaped: the
/// incident JSON with the grid's team, cut down to a summary where that is all they may see.
pub(super) async fn shaped<'a>(
    state: &AppState,
    user: &User,
    rows: &'a [(IncidentRow, IncidentAccess)],
) -> Result<Vec<(&'a IncidentRow, Value)>, ApiError> {
    let refs: Vec<&IncidentRow> = rows
        .iter()
        .filter(|(_, access)| *access != IncidentAccess::Denied)
        .map(|(r, _)| r)
        .collect();
    let teams = teams_of(&*Db::get(state).await?, &refs).await?;
    let atlas = state.atlas.load_full();
    let now = Utc::now();
    Ok(rows
        .iter()
        .filter_map(|(r, access)| {
            view_incident(
                *access,
                incident_json(r, &atlas, state, &teams, now),
                &atlas,
                user.department.as_deref(),
            )
            .map(|v| (r, v))
        })
        .collect())
}

/// The one shaped incident, or a 403 if the rule hides it.
pub(super) async fn shaped_one(
    state: &AppState,
    user: &User,
    row: IncidentRow,
    access: IncidentAccess,
) -> Result<Value, ApiError> {
    shaped(state, user, &[(row, access)])
        .await?
        .pop()
        .map(|(_, v)| v)
        .ok_or_else(|| ApiError::Forbidden(vec![Role::Command]))
}

/// The body of `POST /api/v1/incidents/{id}/actions`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// 受理, 作废, 派遣, 处置, 反馈, 核查, 结案, 评价, 回退, 延期, 挂账, 解除挂账, 督办, 吹哨.
    pub action: String,
    pub note: Option<String>,
    /// For 评价: 满意, 基本满意 or 不满意.
    pub rating: Option<String>,
    /// For 延期: approved working days, 1–30.
    pub days: Option<u32>,
    /// For 督办: normal, yellow or red.
    pub supervision: Option<String>,
}

/// The body of `POST /api/v1/incidents`. Unknown fields are refused (a typo would otherwise
/// silently do nothing).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// A category code (`0201`) or path (`安全隐患/消防隐患`).
    pub category: String,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    /// wgs84 (default), cgcs2000, gcj02, bd09 or EPSG:4513–4554.
    pub crs: Option<String>,
    pub address: Option<String>,
    /// 网格员巡查 (default), 12345 热线, 群众, 视频, Open311.
    pub source: Option<String>,
    /// 1–3; else the category's.
    pub severity: Option<i64>,
    /// URLs or file ids.
    pub photos: Option<Vec<String>>,
    /// The category's extra fields (see `/open311/v2/services/{code}.json`); when given, the
    /// required ones must all be there.
    pub attributes: Option<BTreeMap<String, Value>>,
}

/// Checks a report's values (the types were checked by deserialising), naming the bad field.
fn parse_report(body: ReportBody) -> Result<Report, ApiError> {
    let text = |field: &str, value: Option<String>| -> Result<Option<String>, ApiError> {
        match value {
            None => Ok(None),
            Some(s) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
            Some(_) => Err(ApiError::bad_field(
                field,
                format!("{field} must be a non-empty string"),
            )),
        }
    };
    let category = text("category", Some(body.category))?.ok_or_else(|| {
        ApiError::bad_field(
            "category",
            "category is required (e.g. 安全隐患/消防隐患 or 0201)",
        )
    })?;
    let description = text("description", Some(body.description))?
        .ok_or_else(|| ApiError::bad_field("description", "description is required"))?;
    let crs_name = text("crs", body.crs)?.unwrap_or_else(|| "wgs84".into());
    let crs = Crs::parse(&crs_name).ok_or_else(|| {
        ApiError::bad_field(
            "crs",
            format!("crs must be wgs84, cgcs2000, gcj02, bd09 or EPSG:45xx, got {crs_name:?}"),
        )
    })?;
    let point = crs
        .to_cgcs2000(body.lon, body.lat)
        .map_err(|e| ApiError::bad_field("lon", e))?;
    let source = text("source", body.source)?.unwrap_or_else(|| "网格员巡查".into());
    if !SOURCES.contains(&source.as_str()) {
        return Err(ApiError::bad_field(
            "source",
            format!("source must be one of {}", SOURCES.join("、")),
        ));
    }
    let severity = body
        .severity
        .map(|s| {
            (1..=3)
                .contains(&s)
                .then_some(s as i16)
                .ok_or_else(|| ApiError::bad_field("severity", "severity must be 1, 2 or 3"))
        })
        .transpose()?;
    let photos = body
        .photos
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            (p.len() <= 2048).then_some(p).ok_or_else(|| {
                ApiError::bad_field(&format!("photos[{i}]"), "a photo is a URL or a file id")
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Report {
        category,
        description,
        point,
        source_crs: crs.label(),
        address: text("address", body.address)?,
        source,
        severity,
        photos,
        attributes: body.attributes,
        delivery: None,
        suggestion: None,
    })
}

/// Reports an incident through the use case and shapes it: `(incident JSON, near_boundary_m)`.
pub async fn report_incident(
    state: &AppState,
    user: &User,
    report: Report,
    at: DateTime<Utc>,
) -> Result<(Value, Option<f64>), ApiError> {
    let mut client = Db::get(state).await?;
    let atlas = state.atlas.load_full();
    let calendar = state.calendar.load_full();
    // The team goes into the live event too; it is known once the grid is.
    let cell = atlas
        .locate(report.point)
        .and_then(|l| l.chain.last().map(|c| c.code.clone()));
    let teams = match &cell {
        Some(c) => teams_of(&client, &[&IncidentRow::placeholder(c)]).await?,
        None => Teams::new(),
    };
    let now = at;
    let reported = use_case::report(
        &mut client,
        &atlas,
        &calendar,
        user,
        report,
        now,
        |row| json!({"incident": incident_json(row, &atlas, state, &teams, now)}),
    )
    .await?;
    let teams = teams_of(&client, &[&reported.row]).await?;
    Ok((
        incident_json(&reported.row, &atlas, state, &teams, Utc::now()),
        reported.near_boundary_m,
    ))
}

impl IncidentRow {
    /// A row holding only a cell code (to look up its team before the row exists).
    fn placeholder(cell: &str) -> IncidentRow {
        IncidentRow {
            id: 0,
            category: String::new(),
            description: String::new(),
            lon: None,
            lat: None,
            address: None,
            cell: Some(cell.to_string()),
            cell_revision: None,
            source: String::new(),
            reporter: None,
            state: IncidentState::Reported,
            level: incident::Level::Grid,
            severity: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            clock_start: Utc::now(),
            budget_seconds: 0,
            suspended_since: None,
            suspended_seconds: 0,
            deadline_at: None,
            supervision: None,
            rating: None,
            closed_at: None,
            stages: incident::Stages::default(),
            attributes: Value::Null,
            parts: Vec::new(),
        }
    }
}

/// `POST /api/v1/incidents` (worker, command) → 201 `{"incident", "near_boundary_m"}`.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body(content = ReportBody, content_type = "application/json", description = "A report"), responses((status = 201, description = "The incident and near_boundary_m", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<ReportBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = user.require(FIELD)?.clone();
    let report = parse_report(body)?;
    let (incident, near) = report_incident(&state, &user, report, Utc::now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"incident": incident, "near_boundary_m": near})),
    ))
}

/// `GET /api/v1/incidents` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Reported in the last so many hours.
    #[param(minimum = 1, maximum = 8784)]
    hours: Option<i64>,
    /// Reported from this day (YYYY-MM-DD) or instant (RFC 3339).
    #[param(example = "2026-11-01")]
    from: Option<String>,
    /// Reported before this day or instant.
    #[param(example = "2026-12-01")]
    to: Option<String>,
    /// States, comma-separated (e.g. 待受理,处置中).
    #[param(example = "待受理")]
    state: Option<String>,
    /// A category code prefix.
    #[param(example = "01")]
    category: Option<String>,
    /// A cell code prefix.
    #[param(example = "330106")]
    cell: Option<String>,
    /// At most this many, newest first (default 500).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<i64>,
}

/// `GET /api/v1/incidents?hours=&from=&to=&state=&category=&cell=&limit=` (command, admin; a
/// worker sees the incidents of its own grids).
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListParams), responses((status = 200, description = "Incidents the caller may see, newest first", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Params(query): Params<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let u = user
        .require(&[Role::Command, Role::Worker, Role::Planner, Role::Department])?
        .clone();
    let mut filter = IncidentFilter {
        limit: 500,
        ..IncidentFilter::default()
    };
    if let Some(h) = query.hours {
        if !(1..=24 * 366).contains(&h) {
            return Err(ApiError::bad_field("hours", "hours must be 1–8784"));
        }
        filter.since = Some(Utc::now() - chrono::TimeDelta::hours(h));
    }
    if let Some(v) = &query.from {
        filter.since = Some(parse_time("from", v)?);
    }
    if let Some(v) = &query.to {
        filter.until = Some(parse_time("to", v)?);
    }
    if let Some(value) = &query.state {
        let states = value
            .split(',')
            .map(|s| {
                IncidentState::parse(s)
                    .ok_or_else(|| ApiError::bad_field("state", format!("unknown state {s:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        filter.states = Some(states);
    }
    filter.category_prefix = query.category;
    filter.cell_prefix = query.cell;
    if let Some(l) = query.limit {
        if !(1..=10_000).contains(&l) {
            return Err(ApiError::bad_field("limit", "limit must be 1–10000"));
        }
        filter.limit = l;
    }
    let rows = use_case::list(&*Db::read(&state).await?, &u, filter).await?;
    let incidents: Vec<Value> = shaped(&state, &u, &rows)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    Ok(Json(json!({"incidents": incidents})))
}

/// `GET /api/v1/incidents/{id}` with its event history.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = String, Path, description = "incident id")), responses((status = 200, description = "The incident and its history", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let u = user
        .require(&[Role::Command, Role::Worker, Role::Planner, Role::Department])?
        .clone();
    let id = parse_id(&id)?;
    let client = Db::read(&state).await?;
    let (row, access, events) = use_case::show(&client, &u, id).await?;
    drop(client);
    let incident = shaped_one(&state, &u, row, access).await?;
    Ok(Json(json!({"incident": incident, "events": events})))
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| {
        ApiError::bad_field("id", format!("incident id must be an integer, got {id:?}"))
    })
}

/// `POST /api/v1/incidents/{id}/actions` `{"action", "note"?, "rating"?, "days"?, "supervision"?}`.
/// An illegal transition is a 409 naming the allowed actions.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/actions", tag = "incidents", params(("id" = String, Path, description = "incident id")), request_body(content = ActionBody, content_type = "application/json", description = "An action of the loop"), responses((status = 200, description = "The incident after the action", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn act(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ActionBody>,
) -> Result<Json<Value>, ApiError> {
    let u = user.require(FIELD)?.clone();
    let id = parse_id(&id)?;
    let action = incident::parse_action(
        &body.action,
        body.rating.as_deref(),
        body.days,
        body.supervision.as_deref(),
    )
    .map_err(|m| ApiError::bad_field("action", m))?;
    let note = body.note;
    let mut client = Db::get(&state).await?;
    let atlas = state.atlas.load_full();
    let calendar = state.calendar.load_full();
    let now = Utc::now();
    let result = use_case::act(
        &mut client,
        &calendar,
        &u,
        id,
        &action,
        note,
        now,
        |row| json!({"incident": incident_json(row, &atlas, &state, &BTreeMap::new(), now)}),
    )
    .await?;
    drop(client);
    let access = access_of(&u, result.cell.as_deref(), &result.departments());
    let incident = shaped_one(&state, &u, result, access).await?;
    Ok(Json(json!({"incident": incident})))
}

/// `GET /api/v1/stats?from=&to=&level=grid|village|township&code=&format=csv` (command, admin,
/// planner): the KPIs per unit and in total, plus today's reports and the open ones.
/// `GET /api/v1/stats` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// First day (YYYY-MM-DD, China time) or an RFC 3339 instant; default 30 days ago.
    #[param(example = "2026-11-01")]
    from: Option<String>,
    /// Last day, inclusive (YYYY-MM-DD) or an RFC 3339 instant; default now.
    #[param(example = "2026-11-30")]
    to: Option<String>,
    /// The unit the KPIs are grouped by; default village.
    level: Option<StatsLevel>,
    /// Only this cell's subtree.
    #[param(example = "330106001001")]
    code: Option<String>,
    /// json (default), csv or xlsx.
    format: Option<ExportFormat>,
}

/// The unit KPIs are grouped by.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatsLevel {
    Grid,
    Village,
    Township,
}

/// `GET /api/v1/stats?from=&to=&level=grid|village|township&code=&format=csv` (command, admin,
/// planner): the KPIs per unit and in total, plus today's reports and the open ones.
#[utoipa::path(get, path = "/api/v1/stats", tag = "incidents", params(StatsParams), responses((status = 200, description = "KPIs", content((serde_json::Value = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    user: AuthUser,
    Params(query): Params<StatsParams>,
) -> Result<Response, ApiError> {
    user.require(&[Role::Command, Role::Planner])?;
    let now = Utc::now();
    let today = today_of(now);
    let (from, to) = period_of(query.from.as_deref(), query.to.as_deref(), now)?;
    let (level, prefix) = match query.level.unwrap_or(StatsLevel::Village) {
        StatsLevel::Grid => ("grid", 15),
        StatsLevel::Village => ("village", 12),
        StatsLevel::Township => ("township", 9),
    };
    let code = query
        .code
        .as_deref()
        .map(|c| {
            crate::domain::code::CellCode::parse(c)
                .map(|c| c.to_string())
                .map_err(|e| ApiError::bad_field("code", e.to_string()))
        })
        .transpose()?;
    let use_case::Stats {
        total,
        groups,
        today: today_count,
        open_now,
        overdue_now,
    } = use_case::stats(
        &*Db::read(&state).await?,
        &state.calendar.load(),
        &use_case::StatsQuery {
            from,
            to,
            today,
            unit_prefix: prefix,
            code,
        },
        now,
    )
    .await?;
    let atlas = state.atlas.load_full();
    let name_of = |code: &str| atlas.get(code).map(|c| c.name.clone());
    let format = match query.format.unwrap_or(ExportFormat::Json) {
        ExportFormat::Json => None,
        ExportFormat::Csv => Some(crate::codec::table::Format::Csv),
        ExportFormat::Xlsx => Some(crate::codec::table::Format::Xlsx),
    };
    if let Some(format) = format {
        let mut header = vec!["code", "name"];
        header.extend(KPI_HEADER);
        let rows: Vec<Vec<crate::codec::table::Cell>> = groups
            .iter()
            .chain(std::iter::once(&total))
            .map(|g| {
                let name = name_of(&g.code).unwrap_or_else(|| {
                    if g.code == "total" {
                        "合计".into()
                    } else {
                        String::new()
                    }
                });
                let mut row = vec![g.code.clone().into(), name.into()];
                row.extend(kpi_cells(g));
                row
            })
            .collect();
        return download(format, "gridmap-kpi", "KPI", &header, &rows);
    }
    let mut totals = serde_json::to_value(&total).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut totals {
        map.insert("today".into(), json!(today_count));
        map.insert("open".into(), json!(open_now));
        map.insert("overdue_now".into(), json!(overdue_now));
    }
    let rows: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut v = serde_json::to_value(g).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut v {
                map.insert("name".into(), json!(name_of(&g.code)));
                map.insert("level".into(), json!(level));
            }
            v
        })
        .collect();
    let mut out = Map::new();
    out.insert("from".into(), json!(from.to_rfc3339()));
    out.insert("to".into(), json!(to.to_rfc3339()));
    out.insert("level".into(), json!(level));
    out.insert("totals".into(), totals);
    out.insert("rows".into(), Value::Array(rows));
    Ok(Json(Value::Object(out)).into_response())
}
