//! The HTTP layer (axum): thin handlers that parse, call the store or domain, and shape JSON.
//! One router file per audience; one error mapping (`error.rs`).

pub mod admin;
pub mod auth;
pub mod card;
pub mod db;
pub mod departments;
pub mod drafts;
pub mod error;
pub mod export;
pub mod field;
pub mod fieldwork;
pub mod guard;
pub mod intake;
pub mod json;
pub mod live;
pub mod locate;
pub mod open311;
pub mod openapi;
pub mod params;
pub mod planning;
pub mod poster;
pub mod public;
pub mod reads;
pub mod registry;
pub mod residents;
pub mod teams;
pub mod tiles;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post, put};
use deadpool_postgres::Pool;
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::app::atlas::SharedAtlas;
use crate::atlas::Atlas;

/// What every handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The primary: writes, and reads that must see the latest state.
    pub pool: Pool,
    /// Reads that may lag go to a standby when one is configured and caught up (`Db::read`).
    pub replicas: std::sync::Arc<crate::store::replicas::Replicas>,
    /// The served atlas snapshot; swapped when a revision is committed.
    pub atlas: SharedAtlas,
    /// Vector tiles of the snapshot, cached.
    pub tiles: std::sync::Arc<crate::tiles::cache::TileService>,
    /// The static pages (`web/`), with MapLibre GL JS under `node_modules/` (installed by `npm ci`).
    pub web_dir: std::path::PathBuf,
    /// The size band planners' drafts are measured against.
    pub band: crate::atlas::impact::Band,
    /// Snapshots of past revisions for `as_of` queries, the most recently used kept.
    pub past: std::sync::Arc<std::sync::Mutex<Vec<std::sync::Arc<Atlas>>>>,
    /// Working days (holidays and make-up days) for incident deadlines.
    pub calendar: crate::app::calendar::SharedCalendar,
    /// The live event hub (fed by `Hub::follow` in a server; tests may leave it idle).
    pub live: crate::app::live::Hub,
    /// Failed authentications per client address.
    pub auth_limiter: std::sync::Arc<auth::AuthLimiter>,
    /// 居民之声 suggestions per client address.
    pub suggestion_limiter: std::sync::Arc<auth::AuthLimiter>,
    /// The rendered public pages (`/g/{code}`), per revision.
    pub pages: std::sync::Arc<residents::PageCache>,
    /// The configuration this state was built from.
    pub config: std::sync::Arc<crate::config::Config>,
}

impl AppState {
    /// State with the default configuration and an empty atlas; call `app::atlas::reload`.
    pub fn new(pool: Pool) -> AppState {
        AppState::with_config(pool, crate::config::Config::default())
    }

    /// State configured by `config` (built once in `main`), with an empty atlas.
    pub fn with_config(pool: Pool, config: crate::config::Config) -> AppState {
        let empty = Atlas::empty();
        AppState {
            replicas: std::sync::Arc::new(crate::store::replicas::Replicas::none(pool.clone())),
            pool,
            tiles: std::sync::Arc::new(crate::tiles::cache::TileService::configured(
                &empty,
                Default::default(),
                config.tile_cache_bytes,
                config.tile_cache,
            )),
            atlas: std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(empty)),
            web_dir: config.web_dir.clone(),
            band: config.band,
            past: Default::default(),
            calendar: std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(
                crate::config::calendar(&config.holidays_dir),
            )),
            live: crate::app::live::Hub::new(),
            auth_limiter: Default::default(),
            suggestion_limiter: std::sync::Arc::new(auth::AuthLimiter::new(
                residents::SUGGESTIONS_PER_MINUTE,
            )),
            pages: Default::default(),
            config: std::sync::Arc::new(config),
        }
    }
}

/// Largest request body (a whole county's cells for validation).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The static pages and the vendored scripts they load (the pages' own files only).
fn pages(web: &std::path::Path) -> Router<AppState> {
    Router::new()
        .route_service("/", ServeFile::new(web.join("index.html")))
        .route_service("/plan", ServeFile::new(web.join("plan.html")))
        .route_service("/wall", ServeFile::new(web.join("wall.html")))
        .route_service("/api/docs", ServeFile::new(web.join("docs.html")))
        .route_service("/field", ServeFile::new(web.join("field.html")))
        .route_service("/field/team", ServeFile::new(web.join("team.html")))
        .route_service("/admin/staff", ServeFile::new(web.join("staff.html")))
        .route_service("/vote", ServeFile::new(web.join("vote.html")))
        .route_service("/dept", ServeFile::new(web.join("dept.html")))
        .route_service("/matters", ServeFile::new(web.join("matters.html")))
        // The service worker lives at the root so its scope may be `/field`.
        .route_service("/field-sw.js", ServeFile::new(web.join("field-sw.js")))
        .nest_service(
            "/vendor/terra-draw",
            ServeDir::new(web.join("node_modules/terra-draw/dist")),
        )
        .nest_service(
            "/vendor/terra-draw-maplibre-gl-adapter",
            ServeDir::new(web.join("node_modules/terra-draw-maplibre-gl-adapter/dist")),
        )
        .nest_service(
            "/web",
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn(guard::page_files_only))
                .service(ServeDir::new(web)),
        )
        .nest_service(
            "/vendor/maplibre-gl",
            ServeDir::new(web.join("node_modules/maplibre-gl/dist")),
        )
}

/// Public reads: no token, public fields only.
fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/health", get(public::health))
        .route("/api/v1/cells", get(public::list_cells))
        .route("/api/v1/cells/{code}", get(public::get_cell))
        .route("/api/v1/cells/{code}/card", get(residents::card_json))
        // A grid's stable public address (its QR code): the map page with its card rendered in.
        .route("/g/{code}", get(residents::grid_page))
        .route("/g/{code}/card", get(residents::grid_card))
        .route("/track/{code}", get(residents::track_page))
        .route("/sign/{file}", get(residents::sign))
        .route("/api/v1/public/results", get(residents::results))
        .route("/api/v1/public/feed", get(residents::feed))
        .route("/api/v1/public/categories", get(residents::categories))
        .route("/api/v1/public/track/{code}", get(residents::track_json))
        .route(
            "/api/v1/public/suggestions",
            post(residents::suggest).layer(DefaultBodyLimit::max(residents::MAX_SUGGESTION_BYTES)),
        )
        .route("/api/v1/revision", get(card::current_revision))
        .route("/api/v1/staff/{id}/photo", get(card::staff_photo))
        .route("/api/v1/locate", get(locate::locate))
        .route("/api/v1/calendar", get(public::calendar))
        .route(
            "/api/v1/validate",
            post(planning::validate).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tiles::tile))
        .route("/tiles/{file}", get(tiles::tilejson))
        .route("/styles/public.json", get(tiles::public_style))
        .route("/poster/{file}", get(poster::poster))
        .route("/gongshi/{file}", get(teams::gongshi))
        .route(
            "/api/v1/ballots/{code}",
            get(teams::ballot).post(teams::cast),
        )
}

/// Teams: the staff registry, memberships, consent, the vote, scores and 公示.
fn team_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/import/staff",
            post(teams::import_staff).layer(DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
        .route(
            "/api/v1/import/electors",
            post(teams::import_electors).layer(DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
        .route("/api/v1/staff", get(teams::team).post(teams::add_staff))
        .route("/api/v1/staff/cards.pdf", get(teams::cards))
        .route("/api/v1/staff/{id}", get(teams::staff))
        .route(
            "/api/v1/staff/{id}/memberships",
            post(teams::add_membership),
        )
        .route("/api/v1/staff/{id}/consents", post(teams::consent))
        .route("/api/v1/memberships/{id}/end", post(teams::end_membership))
        .route(
            "/api/v1/memberships/{id}/move",
            post(teams::move_membership),
        )
        .route("/api/v1/teams/roles", get(teams::roles))
        .route("/api/v1/teams/roles/{name}", put(teams::put_role))
        .route("/api/v1/teams/violations", get(teams::violations))
        .route(
            "/api/v1/electors",
            get(teams::electors).post(teams::add_electors),
        )
        .route("/api/v1/votes", get(teams::votes).post(teams::open_vote))
        .route("/api/v1/votes/{id}/tally", get(teams::tally))
        .route("/api/v1/votes/{id}/close", post(teams::close_vote))
        .route("/api/v1/votes/{id}/slips.pdf", get(teams::slips))
        .route("/api/v1/scores", get(teams::scores))
        .route("/api/v1/scores/entries", post(teams::enter_score))
        .route(
            "/api/v1/publications",
            get(teams::publications).post(teams::publish),
        )
}

/// Planners: drafts, commits, history.
fn planning_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/drafts", post(drafts::create))
        .route("/api/v1/drafts/{id}", get(drafts::show))
        .route(
            "/api/v1/drafts/{id}/cells/{code}",
            put(drafts::put_cell)
                .delete(drafts::delete_cell)
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/api/v1/drafts/{id}/split", post(drafts::split))
        .route("/api/v1/drafts/{id}/merge", post(drafts::merge))
        .route("/api/v1/drafts/{id}/validate", post(drafts::validate))
        .route("/api/v1/drafts/{id}/commit", post(drafts::commit))
        .route("/api/v1/buildings", get(drafts::buildings))
        .route("/api/v1/revisions", get(drafts::revisions))
        .route("/api/v1/revisions/{n}/diff", get(drafts::diff))
        .route("/api/v1/revisions/{n}/revert", post(drafts::revert))
}

/// The registry: buildings and households, imports, geocoding, the audit log.
fn registry_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/buildings/{id}", patch(registry::move_building))
        .route(
            "/api/v1/import/{kind}",
            post(registry::import_file).layer(DefaultBodyLimit::max(1024 * 1024 * 1024)),
        )
        .route(
            "/api/v1/geocode",
            post(registry::geocode).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/api/v1/cells/{code}/households", get(registry::households))
        .route("/api/v1/counts", get(registry::counts))
        .route("/api/v1/audit", get(registry::audit))
}

/// The field and the command centre: incidents, KPIs, the live stream; and Open311.
fn field_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/incidents", post(field::create).get(field::list))
        .route("/api/v1/incidents/{id}", get(field::show))
        .route("/api/v1/incidents/{id}/actions", post(field::act))
        .route("/api/v1/stats", get(field::stats))
        .route("/api/v1/live", get(live::live))
        .route(
            "/api/v1/intake/{source}",
            post(intake::intake).layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .route("/open311/v2/services.json", get(open311::services))
        .route("/open311/v2/services/{file}", get(open311::definition))
        .route("/api/v1/departments", get(departments::list))
        .route("/api/v1/departments/kpis", get(departments::kpis))
        .route("/api/v1/departments/board", get(departments::board))
        .route("/api/v1/departments/{code}", put(departments::put))
        .route(
            "/api/v1/departments/{code}/reviews",
            post(departments::review),
        )
        .route(
            "/api/v1/incidents/{id}/dispatch",
            post(departments::dispatch),
        )
        .route("/api/v1/parts/{id}/report", post(departments::report))
        .route("/api/v1/parts/{id}/done", post(departments::done))
        .route(
            "/api/v1/matters",
            get(departments::matters).post(departments::propose),
        )
        .route("/api/v1/matters/{id}/decision", post(departments::decide))
        .route("/api/v1/public/matters", get(departments::public_matters))
        .route(
            "/open311/v2/requests.json",
            get(open311::list).post(open311::create),
        )
        .route("/open311/v2/requests/{file}", get(open311::show))
}

/// Grid workers' field work: pairing phones, the sync, patrols, logs, compliance, photos.
fn fieldwork_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/devices/pair", post(fieldwork::pair))
        .route("/api/v1/devices/pairings", post(fieldwork::pairing))
        .route("/api/v1/devices", get(fieldwork::devices))
        .route(
            "/api/v1/devices/{id}",
            axum::routing::delete(fieldwork::revoke_device),
        )
        .route(
            "/api/v1/field/sync",
            // A day offline: thousands of fixes and a few photos.
            post(fieldwork::sync).layer(DefaultBodyLimit::max(48 * 1024 * 1024)),
        )
        .route("/api/v1/field/today", get(fieldwork::today))
        .route("/api/v1/field/households", get(fieldwork::households))
        .route("/api/v1/field/day", get(fieldwork::day))
        .route("/api/v1/patrols", get(fieldwork::patrols))
        .route("/api/v1/patrols/{id}", get(fieldwork::patrol))
        .route("/api/v1/logs", get(fieldwork::logs))
        .route("/api/v1/logs/{id}/comments", post(fieldwork::comment))
        .route("/api/v1/compliance", get(fieldwork::compliance))
        .route("/api/v1/photos/{hash}", get(fieldwork::photo))
}

/// Token holders about themselves; administrators about users and tokens.
fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(admin::me))
        .route("/api/v1/users", get(admin::list_users))
        .route("/api/v1/tokens", get(admin::list_tokens))
        .route(
            "/api/v1/tokens/{id}",
            axum::routing::delete(admin::revoke_token),
        )
}

/// The base of links that leave the screen (QR codes on printed cards and slips, the pairing
/// link): the configured public URL, else the address this request came to (a `Host` of plain
/// host characters only; `https` when a proxy says so).
pub fn base_url(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.clone();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// The whole application: one router per audience, merged, behind the one guard (error shape,
/// URL check, security headers).
pub fn router(state: AppState) -> Router {
    let web = state.web_dir.clone();
    Router::new()
        .merge(pages(&web))
        .merge(public_routes())
        .merge(planning_routes())
        .merge(registry_routes())
        .merge(field_routes())
        .merge(fieldwork_routes())
        .merge(team_routes())
        .merge(admin_routes())
        .fallback(|uri: axum::http::Uri| async move {
            guard::error_response(
                uri.path(),
                axum::http::StatusCode::NOT_FOUND,
                &format!("no such endpoint {}", uri.path()),
                serde_json::Value::Null,
            )
        })
        // After the merges: it applies to every route registered before it.
        .method_not_allowed_fallback(|uri: axum::http::Uri| async move {
            guard::error_response(
                uri.path(),
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                &format!("this method is not allowed on {}", uri.path()),
                serde_json::Value::Null,
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            reads::route_reads,
        ))
        .layer(axum::middleware::from_fn(guard::guard))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
