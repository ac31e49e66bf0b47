//! The HTTP contract as an OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations (never written by hand), served at `GET /api/v1/openapi.json`; `/api/docs` renders
//! it offline. Errors share one schema: `{"error": {"code", "message", "details"}}` (Open311 its
//! GeoReport shape).

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error body.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable `code`, a human `message`, and `details` (`details.field` names a
/// bad field).
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[schema(value_type = Object, nullable)]
    pub details: serde_json::Value,
}

/// An Open311 GeoReport v2 error; the description starts with the field.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct GeoReportError {
    pub code: u16,
    pub description: String,
}

/// The form of `POST /open311/v2/requests.json` (GeoReport v2), for the document: the handler
/// reads it strictly itself (a NUL or invalid UTF-8 names its field).
#[derive(Debug, serde::Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct Open311RequestForm {
    /// A gridmap token of a worker or command user.
    pub api_key: String,
    /// A category code (see services.json).
    pub service_code: String,
    /// WGS84 latitude.
    pub lat: f64,
    /// WGS84 longitude.
    pub long: f64,
    pub description: String,
    pub address_string: Option<String>,
    pub media_url: Option<String>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A gridmap token (gm_…) of a user with a role: worker, planner, command or admin (admin passes every gate). Which roles an operation accepts is in its description; a missing token is 401, a wrong role 403, too many failed tokens from one address 429.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gridmap",
        description = "Community governance grids (网格化管理): the atlas of exact coverages, planners' drafts, the household registry, incidents with working-day deadlines, Open311.",
    ),
    paths(
        super::public::health,
        super::public::calendar,
        super::public::list_cells,
        super::public::get_cell,
        super::residents::card_json,
        super::residents::grid_page,
        super::residents::grid_card,
        super::residents::track_page,
        super::residents::sign,
        super::residents::results,
        super::residents::feed,
        super::residents::categories,
        super::residents::track_json,
        super::residents::suggest,
        super::card::current_revision,
        super::card::staff_photo,
        super::locate::locate,
        super::planning::validate,
        super::tiles::tile,
        super::tiles::tilejson,
        super::tiles::public_style,
        super::poster::poster,
        super::drafts::create,
        super::drafts::show,
        super::drafts::put_cell,
        super::drafts::delete_cell,
        super::drafts::split,
        super::drafts::merge,
        super::drafts::validate,
        super::drafts::commit,
        super::drafts::revisions,
        super::drafts::diff,
        super::drafts::revert,
        super::drafts::buildings,
        super::registry::import_file,
        super::registry::geocode,
        super::registry::households,
        super::registry::counts,
        super::registry::move_building,
        super::registry::audit,
        super::field::create,
        super::field::list,
        super::field::show,
        super::field::act,
        super::field::stats,
        super::fieldwork::pair,
        super::fieldwork::pairing,
        super::fieldwork::devices,
        super::fieldwork::revoke_device,
        super::fieldwork::sync,
        super::fieldwork::today,
        super::fieldwork::households,
        super::fieldwork::day,
        super::fieldwork::patrol,
        super::fieldwork::patrols,
        super::fieldwork::logs,
        super::fieldwork::comment,
        super::fieldwork::compliance,
        super::fieldwork::photo,
        super::teams::import_staff,
        super::teams::import_electors,
        super::teams::team,
        super::teams::add_staff,
        super::teams::staff,
        super::teams::add_membership,
        super::teams::end_membership,
        super::teams::move_membership,
        super::teams::consent,
        super::teams::roles,
        super::teams::put_role,
        super::teams::violations,
        super::teams::cards,
        super::teams::electors,
        super::teams::add_electors,
        super::teams::open_vote,
        super::teams::votes,
        super::teams::tally,
        super::teams::close_vote,
        super::teams::slips,
        super::teams::ballot,
        super::teams::cast,
        super::teams::scores,
        super::teams::enter_score,
        super::teams::publish,
        super::teams::publications,
        super::teams::gongshi,
        super::intake::intake,
        super::departments::list,
        super::departments::put,
        super::departments::dispatch,
        super::departments::report,
        super::departments::done,
        super::departments::matters,
        super::departments::public_matters,
        super::departments::propose,
        super::departments::decide,
        super::departments::review,
        super::departments::kpis,
        super::departments::board,
        super::open311::services,
        super::open311::definition,
        super::open311::list,
        super::open311::show,
        super::open311::create,
        super::admin::me,
        super::admin::list_users,
        super::admin::list_tokens,
        super::admin::revoke_token,
        super::live::live,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        GeoReportError,
        Open311RequestForm,
        super::export::ExportFormat,
        super::field::StatsLevel,
        super::departments::MatterStatus,
        super::open311::RequestStatus,
        super::poster::PaperSize,
        super::planning::Codes,
        super::teams::ScoreFormat
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "public", description = "No token: the atlas, locate, cards, posters, the calendar"),
        (name = "tiles", description = "Vector tiles, TileJSON and the map style"),
        (name = "planning", description = "Planners' drafts, commits and history (planner)"),
        (name = "registry", description = "Buildings and households (planner, worker of the grid, admin; command sees aggregates)"),
        (name = "incidents", description = "The incident loop, KPIs and the live stream"),
        (name = "open311", description = "GeoReport v2; api_key is a worker's or command's token"),
        (name = "teams", description = "Staff, memberships, consent, the satisfaction vote, 千分制 scores, 公示 (admin; leaders for the cells under them)"),
        (name = "departments", description = "吹哨报到: departments, dispatch, 报到 and 办结, the 准入清单, reverse assessment, department KPIs"),
        (name = "admin", description = "Users and tokens"),
    )
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
