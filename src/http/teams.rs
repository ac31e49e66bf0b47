//! The teams behind the grids over HTTP (DESIGN.md §4): the staff registry and its import,
//! memberships and consent, team rules, the 网格员证, the electorate and the year-end vote,
//! the 千分制 scores and their export, and the 公示. Each handler parses, calls one use case in
//! `app::teams` (which decides access through `domain::access::team_access`), and shapes the
//! answer.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{AuthUser, ClientAddr};
use super::db::{Db, ReadDb};
use super::error::ApiError;
use super::json::JsonBody;
use super::openapi::ErrorBody;
use super::params::Params;
use crate::app::teams::{self as use_case, ConsentChange, NewStaff};
use crate::domain::duty::local_day;
use crate::domain::role::Role;
use crate::domain::team::ConsentScope;

/// Who handles teams (admin always); the use cases narrow it per cell.
const TEAM: &[Role] = &[Role::Worker, Role::Command];
/// Votes, tallies and publications: administrators only.
const ADMIN: &[Role] = &[];

fn today() -> NaiveDate {
    local_day(Utc::now())
}

fn pdf(bytes: Vec<u8>, name: &str) -> Result<Response, ApiError> {
    Response::builder()
        .header(CONTENT_TYPE, "application/pdf")
        .header(CONTENT_DISPOSITION, format!("inline; filename=\"{name}\""))
        .body(Body::from(bytes))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// `POST /api/v1/import/staff` with an .xlsx workbook or a CSV (UTF-8 or GB18030): columns at
/// least 姓名, 角色, 网格编码 (电话, 公开同意 是/否, 编号, 起始日期, 办公电话, 职责, 账号 optional).
/// Every good row is written; the report names each bad row by line. Admin, or a leader for the
/// cells under it.
#[utoipa::path(post, path = "/api/v1/import/staff", tag = "teams", request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "an .xlsx workbook or a CSV (UTF-8 or GB18030), as it is"), responses((status = 200, description = "The per-row report", body = use_case::StaffImport), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn import_staff(
    State(state): State<AppState>,
    user: AuthUser,
    body: Bytes,
) -> Result<Json<use_case::StaffImport>, ApiError> {
    let user = user.require(&[Role::Worker])?.clone();
    let atlas = state.atlas.load_full();
    let mut client = Db::get(&state).await?;
    Ok(Json(
        use_case::import_staff(&mut client, &atlas, &user, &body, today()).await?,
    ))
}

/// `POST /api/v1/import/electors` with an .xlsx workbook or a CSV: columns 姓名, 类别 (党员 |
/// 村民代表 | 居民代表), 网格编码. Every good row is entered; the report names each bad row by line.
#[utoipa::path(post, path = "/api/v1/import/electors", tag = "teams", request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "an .xlsx workbook or a CSV (UTF-8 or GB18030), as it is"), responses((status = 200, description = "The per-row report", body = use_case::ElectorImport), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn import_electors(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    body: Bytes,
) -> Result<Json<use_case::ElectorImport>, ApiError> {
    let user = user.require(&[Role::Worker])?;
    let atlas = state.atlas.load_full();
    Ok(Json(
        use_case::import_electors(&client, &atlas, user, &body).await?,
    ))
}

/// `GET /api/v1/staff` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TeamParams {
    /// The cell whose team (and its cells' teams) to list.
    #[param(example = "520328004016")]
    cell: String,
    /// The day the team is asked for (default today): a past day gives the team of that day.
    at: Option<NaiveDate>,
}

/// `GET /api/v1/staff?cell=&at=`: the team of a cell and the cells under it on a day, with the
/// team rules broken. Admin and command everywhere, a worker for its own cells.
#[utoipa::path(get, path = "/api/v1/staff", tag = "teams", params(TeamParams), responses((status = 200, description = "The team", body = use_case::TeamView), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn team(
    State(state): State<AppState>,
    user: AuthUser,
    client: ReadDb,
    Params(query): Params<TeamParams>,
) -> Result<Json<use_case::TeamView>, ApiError> {
    let user = user.require(TEAM)?;
    let atlas = state.atlas.load_full();
    Ok(Json(
        use_case::team(&client, &atlas, user, &query.cell, query.at, today()).await?,
    ))
}

/// The body of `POST /api/v1/staff`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffBody {
    #[schema(example = "张三")]
    pub name: String,
    #[schema(example = "13900000001")]
    pub phone: Option<String>,
    /// The township's own id for the person.
    pub ext_id: Option<String>,
    pub office_phone: Option<String>,
    #[serde(default)]
    pub duties: Vec<String>,
    /// The app account the person uses (scores read its records).
    pub account: Option<String>,
    /// The first membership: the cell and the role.
    #[schema(example = "520328004016001")]
    pub cell: String,
    #[schema(example = "网格员")]
    pub role: String,
    /// The first day served (default today).
    pub since: Option<NaiveDate>,
}

/// `POST /api/v1/staff`: a new person with a first membership → 201 `{staff_id, membership_id}`.
#[utoipa::path(post, path = "/api/v1/staff", tag = "teams", request_body(content = NewStaffBody, content_type = "application/json"), responses((status = 201, description = "staff_id, membership_id", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_staff(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<NewStaffBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = user.require(&[Role::Worker])?.clone();
    let atlas = state.atlas.load_full();
    let mut client = Db::get(&state).await?;
    let (staff, membership) = use_case::add_staff(
        &mut client,
        &atlas,
        &user,
        &NewStaff {
            name: &body.name,
            phone: body.phone.as_deref(),
            ext_id: body.ext_id.as_deref(),
            office_phone: body.office_phone.as_deref(),
            duties: body.duties.clone(),
            account: body.account.as_deref(),
            cell: &body.cell,
            role: &body.role,
            since: body.since,
        },
        today(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"staff_id": staff, "membership_id": membership})),
    ))
}

fn id_of(field: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_field(field, format!("{field} must be a positive number")))
}

/// `GET /api/v1/staff/{id}`: a person, every membership they held, every consent record.
#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "teams", params(("id" = String, Path, description = "staff id")), responses((status = 200, description = "The person", body = use_case::StaffDetail), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn staff(
    State(state): State<AppState>,
    user: AuthUser,
    client: ReadDb,
    Path(id): Path<String>,
) -> Result<Json<use_case::StaffDetail>, ApiError> {
    let user = user.require(TEAM)?;
    let id = id_of("id", &id)?;
    let atlas = state.atlas.load_full();
    Ok(Json(
        use_case::staff_detail(&client, &atlas, user, id).await?,
    ))
}

/// The body of `POST /api/v1/staff/{id}/memberships`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipBody {
    #[schema(example = "520328004016002")]
    pub cell: String,
    #[schema(example = "网格员")]
    pub role: String,
    pub since: Option<NaiveDate>,
}

/// `POST /api/v1/staff/{id}/memberships`: another membership (a second grid, another role).
#[utoipa::path(post, path = "/api/v1/staff/{id}/memberships", tag = "teams", params(("id" = String, Path, description = "staff id")), request_body(content = MembershipBody, content_type = "application/json"), responses((status = 201, description = "membership_id", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_membership(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MembershipBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = user.require(&[Role::Worker])?;
    let id = id_of("id", &id)?;
    let atlas = state.atlas.load_full();
    let m = use_case::add_membership(
        &client,
        &atlas,
        user,
        id,
        use_case::NewMembership {
            cell: &body.cell,
            role: &body.role,
            since: body.since,
        },
        today(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"membership_id": m}))))
}

/// The body of `POST /api/v1/memberships/{id}/end`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndBody {
    /// The first day no longer served (default today).
    pub until: Option<NaiveDate>,
}

/// `POST /api/v1/memberships/{id}/end`: ends a membership; the history keeps it.
#[utoipa::path(post, path = "/api/v1/memberships/{id}/end", tag = "teams", params(("id" = String, Path, description = "membership id")), request_body(content = EndBody, content_type = "application/json"), responses((status = 200, description = "The ended membership", body = crate::store::teams::MemberRow), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn end_membership(
    user: AuthUser,
    client: Db,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EndBody>,
) -> Result<Json<crate::store::teams::MemberRow>, ApiError> {
    let user = user.require(&[Role::Worker])?;
    let id = id_of("id", &id)?;
    Ok(Json(
        use_case::end_membership(&client, user, id, body.until, today()).await?,
    ))
}

/// The body of `POST /api/v1/memberships/{id}/move`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// The cell the person moves to, in the same role.
    #[schema(example = "520328004016002")]
    pub to: String,
    /// The first day in the new cell (default today).
    pub on: Option<NaiveDate>,
}

/// `POST /api/v1/memberships/{id}/move`: the membership ends on `on` and a new one begins in
/// `to` that day, in one transaction.
#[utoipa::path(post, path = "/api/v1/memberships/{id}/move", tag = "teams", params(("id" = String, Path, description = "membership id")), request_body(content = MoveBody, content_type = "application/json"), responses((status = 200, description = "ended, membership_id", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn move_membership(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MoveBody>,
) -> Result<Json<Value>, ApiError> {
    let user = user.require(&[Role::Worker])?.clone();
    let id = id_of("id", &id)?;
    let atlas = state.atlas.load_full();
    let mut client = Db::get(&state).await?;
    let (ended, new) =
        use_case::move_membership(&mut client, &atlas, &user, id, &body.to, body.on, today())
            .await?;
    Ok(Json(json!({"ended": ended, "membership_id": new})))
}

/// The body of `POST /api/v1/staff/{id}/consents`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    /// What the consent covers: any of name, photo, phone.
    #[schema(example = json!(["name", "photo", "phone"]))]
    pub scopes: Vec<String>,
    /// true: given; false: withdrawn.
    pub granted: bool,
    /// How it was given or withdrawn (书面, 口头, 电子签名 …).
    #[schema(example = "书面")]
    pub how: String,
    /// The day it was given (default today; never in the future).
    pub given_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// `POST /api/v1/staff/{id}/consents`: records consent (or its withdrawal) per scope; every
/// public output follows it from the next request on. → the current consent.
#[utoipa::path(post, path = "/api/v1/staff/{id}/consents", tag = "teams", params(("id" = String, Path, description = "staff id")), request_body(content = ConsentBody, content_type = "application/json"), responses((status = 200, description = "The current consent per scope", body = crate::store::teams::Consent), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn consent(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConsentBody>,
) -> Result<Json<crate::store::teams::Consent>, ApiError> {
    let user = user.require(&[Role::Worker])?.clone();
    let id = id_of("id", &id)?;
    let mut scopes = Vec::new();
    for (i, s) in body.scopes.iter().enumerate() {
        let scope = ConsentScope::parse(s).ok_or_else(|| {
            ApiError::bad_field(
                &format!("scopes[{i}]"),
                format!("{s:?}: use name, photo or phone"),
            )
        })?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let mut client = Db::get(&state).await?;
    let consent = use_case::record_consent(
        &mut client,
        &user,
        id,
        &ConsentChange {
            scopes,
            granted: body.granted,
            how: &body.how,
            given_on: body.given_on,
            note: body.note.as_deref(),
        },
        today(),
    )
    .await?;
    // The public pages show names, photos and phones by consent: none is served stale.
    state.pages.changed();
    Ok(Json(consent))
}

/// `GET /api/v1/teams/roles`: the role table and the team rules.
#[utoipa::path(get, path = "/api/v1/teams/roles", tag = "teams", responses((status = 200, description = "roles, rules", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn roles(user: AuthUser, client: Db) -> Result<Json<Value>, ApiError> {
    user.require(TEAM)?;
    let roles = crate::store::teams::roles(&*client).await?;
    let rules = crate::store::teams::team_rules(&*client).await?;
    Ok(Json(json!({"roles": roles, "rules": rules})))
}

/// The body of `PUT /api/v1/teams/roles/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// 网格员服务团队 | 专业服务团队 | 辅助团队
    #[schema(example = "专业服务团队")]
    pub team: String,
    /// Assessed under the 千分制 (default false).
    #[serde(default)]
    pub scored: bool,
    #[serde(default)]
    #[schema(example = "专业服务团队：人民调解员")]
    pub description: String,
}

/// `PUT /api/v1/teams/roles/{name}` (admin): adds a role to the table or changes one.
#[utoipa::path(put, path = "/api/v1/teams/roles/{name}", tag = "teams", params(("name" = String, Path, description = "the role's name, e.g. 人民调解员")), request_body(content = RoleBody, content_type = "application/json"), responses((status = 200, description = "The role", body = crate::store::teams::RoleRow), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_role(
    user: AuthUser,
    client: Db,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<RoleBody>,
) -> Result<Json<crate::store::teams::RoleRow>, ApiError> {
    let user = user.require(ADMIN)?;
    Ok(Json(
        use_case::put_role(
            &client,
            user,
            &name,
            &body.team,
            body.scored,
            &body.description,
        )
        .await?,
    ))
}

/// `GET /api/v1/teams/violations` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UnderParams {
    #[param(example = "520328004016")]
    under: String,
}

/// `GET /api/v1/teams/violations?under=`: every cell under `under` that breaks a team rule
/// today (a grid without its 网格长, a 片区 without a 联络专员). Shown, never enforced.
#[utoipa::path(get, path = "/api/v1/teams/violations", tag = "teams", params(UnderParams), responses((status = 200, description = "The violations", body = [crate::domain::team::Violation]), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn violations(
    State(state): State<AppState>,
    user: AuthUser,
    client: ReadDb,
    Params(query): Params<UnderParams>,
) -> Result<Json<Vec<crate::domain::team::Violation>>, ApiError> {
    let user = user.require(TEAM)?;
    let atlas = state.atlas.load_full();
    Ok(Json(
        use_case::violations(&client, &atlas, user, &query.under, today()).await?,
    ))
}

/// `GET /api/v1/staff/cards.pdf` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CardsParams {
    /// The cell whose current team (and its cells' teams) get cards.
    #[param(example = "520328004016")]
    cell: String,
    /// One person only.
    staff: Option<i64>,
}

/// `GET /api/v1/staff/cards.pdf?cell=[&staff=]`: the 网格员证, credit-card size, ten to an A4
/// page, each with a QR code to its grid's public card. Admin or the cell's leader.
#[utoipa::path(get, path = "/api/v1/staff/cards.pdf", tag = "teams", params(CardsParams), responses((status = 200, description = "The cards", content_type = "application/pdf", body = String), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn cards(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    headers: HeaderMap,
    Params(query): Params<CardsParams>,
) -> Result<Response, ApiError> {
    let user = user.require(&[Role::Worker])?;
    let atlas = state.atlas.load_full();
    let base = super::base_url(&state, &headers);
    let bytes = use_case::cards_pdf(
        &client,
        &atlas,
        user,
        &query.cell,
        query.staff,
        &base,
        today(),
    )
    .await?;
    pdf(bytes, &format!("cards-{}.pdf", query.cell))
}

/// `GET /api/v1/electors` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CellParams {
    #[param(example = "520328004016001")]
    cell: String,
}

/// `GET /api/v1/electors?cell=`: the electorate under a cell (names: admin and leaders only).
#[utoipa::path(get, path = "/api/v1/electors", tag = "teams", params(CellParams), responses((status = 200, description = "The electors", body = [crate::store::teams::ElectorRow]), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn electors(
    user: AuthUser,
    client: Db,
    Params(query): Params<CellParams>,
) -> Result<Json<Vec<crate::store::teams::ElectorRow>>, ApiError> {
    let user = user.require(&[Role::Worker])?;
    Ok(Json(use_case::electors(&client, user, &query.cell).await?))
}

/// One elector in `POST /api/v1/electors`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ElectorBody {
    #[schema(example = "王五")]
    pub name: String,
    /// 党员 | 村民代表 | 居民代表
    #[schema(example = "党员")]
    pub kind: String,
}

/// The body of `POST /api/v1/electors`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ElectorsBody {
    #[schema(example = "520328004016001")]
    pub cell: String,
    pub electors: Vec<ElectorBody>,
}

/// `POST /api/v1/electors`: adds a grid's electorate (party members and villagers'
/// representatives) → 201 `{added}`.
#[utoipa::path(post, path = "/api/v1/electors", tag = "teams", request_body(content = ElectorsBody, content_type = "application/json"), responses((status = 201, description = "added", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_electors(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    JsonBody(body): JsonBody<ElectorsBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = user.require(&[Role::Worker])?;
    let atlas = state.atlas.load_full();
    let list: Vec<(String, String)> = body
        .electors
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect();
    let added = use_case::add_electors(&client, &atlas, user, &body.cell, &list).await?;
    Ok((StatusCode::CREATED, Json(json!({"added": added}))))
}

/// The body of `POST /api/v1/votes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    #[schema(example = "2026")]
    pub period: String,
    /// The grids whose 网格长 are assessed.
    #[schema(example = json!(["520328004016001"]))]
    pub cells: Vec<String>,
    /// One-time codes per grid (default: the grid's electorate).
    #[schema(example = 30)]
    pub ballots_per_cell: Option<u32>,
}

/// `POST /api/v1/votes` (admin): opens the year-end satisfaction vote → 201 `{id, ballots:
/// [{cell, code}]}`. The codes are shown here and printed as slips; they name no voter.
#[utoipa::path(post, path = "/api/v1/votes", tag = "teams", request_body(content = VoteBody, content_type = "application/json"), responses((status = 201, description = "The vote and its codes", body = use_case::VoteOpened), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn open_vote(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<VoteBody>,
) -> Result<(StatusCode, Json<use_case::VoteOpened>), ApiError> {
    let user = user.require(ADMIN)?.clone();
    let atlas = state.atlas.load_full();
    let mut client = Db::get(&state).await?;
    let opened = use_case::open_vote(
        &mut client,
        &atlas,
        &user,
        &body.period,
        &body.cells,
        body.ballots_per_cell,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(opened)))
}

/// `GET /api/v1/votes` (admin): every vote, newest first, with its grids, codes issued and used.
#[utoipa::path(get, path = "/api/v1/votes", tag = "teams", responses((status = 200, description = "The votes", body = [crate::store::teams::VoteSummary]), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn votes(
    user: AuthUser,
    client: ReadDb,
) -> Result<Json<Vec<crate::store::teams::VoteSummary>>, ApiError> {
    let user = user.require(ADMIN)?;
    Ok(Json(use_case::votes(&client, user).await?))
}

/// `GET /api/v1/votes/{id}/tally` (admin): per leader the counts, the ballots cast and
/// `flagged` (不满意 over a third of the ballots cast).
#[utoipa::path(get, path = "/api/v1/votes/{id}/tally", tag = "teams", params(("id" = String, Path, description = "vote id")), responses((status = 200, description = "The tally", body = use_case::TallyView), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn tally(
    State(state): State<AppState>,
    user: AuthUser,
    client: ReadDb,
    Path(id): Path<String>,
) -> Result<Json<use_case::TallyView>, ApiError> {
    let user = user.require(ADMIN)?;
    let id = id_of("id", &id)?;
    let atlas = state.atlas.load_full();
    Ok(Json(use_case::tally(&client, &atlas, user, id).await?))
}

/// `POST /api/v1/votes/{id}/close` (admin): no ballot is counted after this.
#[utoipa::path(post, path = "/api/v1/votes/{id}/close", tag = "teams", params(("id" = String, Path, description = "vote id")), responses((status = 200, description = "closed", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn close_vote(
    user: AuthUser,
    client: Db,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = user.require(ADMIN)?;
    let id = id_of("id", &id)?;
    use_case::close_vote(&client, user, id).await?;
    Ok(Json(json!({"id": id, "closed": true})))
}

/// `GET /api/v1/votes/{id}/slips.pdf` (admin): the unused codes as slips, eight to an A4 page,
/// each with a QR code of `/vote#code=…`.
#[utoipa::path(get, path = "/api/v1/votes/{id}/slips.pdf", tag = "teams", params(("id" = String, Path, description = "vote id")), responses((status = 200, description = "The slips", content_type = "application/pdf", body = String), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn slips(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = user.require(ADMIN)?;
    let id = id_of("id", &id)?;
    let atlas = state.atlas.load_full();
    let base = super::base_url(&state, &headers);
    let bytes = use_case::slips_pdf(&client, &atlas, user, id, &base).await?;
    pdf(bytes, &format!("slips-{id}.pdf"))
}

/// `GET /api/v1/ballots/{code}` (no token): the grid a code is for and whether it can be used.
#[utoipa::path(get, path = "/api/v1/ballots/{code}", tag = "public", params(("code" = String, Path, description = "the one-time code")), responses((status = 200, description = "The ballot's state", body = use_case::BallotView), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn ballot(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
) -> Result<Json<use_case::BallotView>, ApiError> {
    state.auth_limiter.admit(addr)?;
    let client = Db::get(&state).await?;
    let atlas = state.atlas.load_full();
    match use_case::ballot(&client, &atlas, &code).await {
        Ok(v) => Ok(Json(v)),
        Err(e) => Err(state.auth_limiter.wrong_guess(addr, e.into())),
    }
}

/// The body of `POST /api/v1/ballots/{code}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CastBody {
    /// 满意 | 基本满意 | 不满意
    #[schema(example = "满意")]
    pub choice: String,
}

/// `POST /api/v1/ballots/{code}` (no token): casts the ballot → 201. A used code → 409, an
/// unknown one → 404 (failures count against the address like bad tokens). Only the count is
/// stored: nothing ties the choice to the code, a time or the voter.
#[utoipa::path(post, path = "/api/v1/ballots/{code}", tag = "public", params(("code" = String, Path, description = "the one-time code")), request_body(content = CastBody, content_type = "application/json"), responses((status = 201, description = "counted", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn cast(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<CastBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    state.auth_limiter.admit(addr)?;
    let mut client = Db::get(&state).await?;
    match use_case::cast(&mut client, &code, &body.choice).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(json!({"counted": true})))),
        Err(e @ use_case::TeamError::NotFound(_)) => {
            Err(state.auth_limiter.wrong_guess(addr, e.into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/v1/scores` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScoreParams {
    /// The half-year: 2026H1 (Jan–Jun) or 2026H2 (Jul–Dec).
    #[param(example = "2026H2")]
    period: String,
    /// The cell whose assessed members are scored.
    #[param(example = "520328004016")]
    under: String,
    /// json (default), csv or xlsx.
    format: Option<ScoreFormat>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum ScoreFormat {
    Json,
    Csv,
    Xlsx,
}

/// `GET /api/v1/scores?period=&under=[&format=csv|xlsx]`: the 千分制 score of every assessed
/// member (网格长, 专职/兼职网格员) under a cell: items from the records and manual items, total,
/// and the subsidy at the scheme's yuan per point.
#[utoipa::path(get, path = "/api/v1/scores", tag = "teams", params(ScoreParams), responses((status = 200, description = "The scores", body = use_case::ScoresView), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn scores(
    State(state): State<AppState>,
    user: AuthUser,
    client: ReadDb,
    Params(query): Params<ScoreParams>,
) -> Result<Response, ApiError> {
    let user = user.require(TEAM)?;
    let atlas = state.atlas.load_full();
    let calendar = state.calendar.load_full();
    let view = use_case::scores(
        &client,
        &atlas,
        &calendar,
        user,
        &query.period,
        &query.under,
        Utc::now(),
    )
    .await?;
    let format = query.format.unwrap_or(ScoreFormat::Json);
    if format == ScoreFormat::Json {
        return Ok(Json(view).into_response());
    }
    let xlsx = format == ScoreFormat::Xlsx;
    let bytes = use_case::export_scores(&view, xlsx)?;
    let (kind, ext) = if xlsx {
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )
    } else {
        ("text/csv; charset=utf-8", "csv")
    };
    Response::builder()
        .header(CONTENT_TYPE, kind)
        .header(
            CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"scores-{}-{}.{ext}\"",
                query.period, query.under
            ),
        )
        .body(Body::from(bytes))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The body of `POST /api/v1/scores/entries`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryBody {
    #[schema(example = "2026H2")]
    pub period: String,
    pub staff: i64,
    /// A manual item of the scheme.
    #[schema(example = "conduct")]
    pub item: String,
    #[schema(example = 85)]
    pub points: f64,
    /// Why: required.
    #[schema(example = "按时参加例会，群众反映好")]
    pub reason: String,
}

/// `POST /api/v1/scores/entries`: a leader's manual item, with who (the token's user) and why →
/// 201 `{id}`. The latest entry per item counts; earlier ones stay as history.
#[utoipa::path(post, path = "/api/v1/scores/entries", tag = "teams", request_body(content = EntryBody, content_type = "application/json"), responses((status = 201, description = "id", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn enter_score(
    user: AuthUser,
    client: Db,
    JsonBody(body): JsonBody<EntryBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = user.require(&[Role::Worker])?;
    let id = use_case::enter_score(
        &client,
        user,
        &body.period,
        body.staff,
        &body.item,
        body.points,
        &body.reason,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

/// The body of `POST /api/v1/publications`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// `2026` (the year: its vote and its second half-year's score) or `2026H1`.
    #[schema(example = "2026")]
    pub period: String,
    /// The village (or any cell) whose grids' results are published.
    #[schema(example = "520328004016")]
    pub under: String,
    /// The vote whose tally is published.
    pub vote: Option<i64>,
}

/// `POST /api/v1/publications` (admin): publishes (公示) per leader the vote's counts and the
/// half-year score for the grids under a cell → 201 `{id}`. Shown on the public grid card and
/// as the printable sheet `/gongshi/{code}.pdf`.
#[utoipa::path(post, path = "/api/v1/publications", tag = "teams", request_body(content = PublishBody, content_type = "application/json"), responses((status = 201, description = "id", body = Object), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    user: AuthUser,
    client: Db,
    JsonBody(body): JsonBody<PublishBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = user.require(ADMIN)?;
    let atlas = state.atlas.load_full();
    let calendar = state.calendar.load_full();
    let id = use_case::publish(
        &client,
        &atlas,
        &calendar,
        user,
        use_case::Publish {
            period: &body.period,
            under: &body.under,
            vote: body.vote,
        },
        Utc::now(),
    )
    .await?;
    state.pages.changed();
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

/// `GET /api/v1/publications?under=`: what was published for the cells under (or above) a cell.
#[utoipa::path(get, path = "/api/v1/publications", tag = "teams", params(UnderParams), responses((status = 200, description = "The publications", body = [crate::store::teams::PublicationRow]), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn publications(
    user: AuthUser,
    client: ReadDb,
    Params(query): Params<UnderParams>,
) -> Result<Json<Vec<crate::store::teams::PublicationRow>>, ApiError> {
    let user = user.require(TEAM)?;
    Ok(Json(
        use_case::publications(&client, user, &query.under).await?,
    ))
}

/// `GET /gongshi/{code}.pdf` (public): the printable 公示 sheet of the latest publication for a
/// village: per grid the leader (name only with consent), the counts, the flag, the score.
#[utoipa::path(get, path = "/gongshi/{file}", tag = "public", params(("file" = String, Path, description = "CODE.pdf")), responses((status = 200, description = "The sheet", content_type = "application/pdf", body = String), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn gongshi(
    State(state): State<AppState>,
    client: Db,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let code = file
        .strip_suffix(".pdf")
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ApiError::bad_field("file", "ask for CODE.pdf"))?;
    let atlas = state.atlas.load_full();
    let phone = crate::store::cards::attribute(&client, code, "supervision_phone").await?;
    let bytes = use_case::gongshi_pdf(&client, &atlas, code, phone.as_deref()).await?;
    pdf(bytes, &format!("gongshi-{code}.pdf"))
}
