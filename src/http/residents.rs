//! The public side for residents on a phone: a grid's page `/g/{code}` (its card, results and the
//! 居民之声 form, rendered here so it reads before any script or map loads), the card fragment the
//! map page loads, the tracking page, the service signs, and their JSON APIs. Nothing here needs
//! a token and nothing private is read (`app::public` builds every answer from public fields).
//!
//! Pages are cached per (cell, atlas revision) for `PAGE_TTL`: a new revision is a new key at once;
//! a publication or consent made through this server clears the cache; what changes elsewhere
//! (results, another node's publication) shows within `PAGE_TTL`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use maud::{DOCTYPE, Markup, html};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::ClientAddr;
use super::db::Db;
use super::error::ApiError;
use super::json::JsonBody;
use super::openapi::ErrorBody;
use super::params::Params;
use crate::app::public::{self as use_case, Month, PublicCard, PublicResults, SuggestionInput};
use crate::domain::code::CellCode;
use crate::geometry::crs::Crs;
use crate::poster::sign::SignPaper;

/// How long a rendered page is served from the cache.
pub const PAGE_TTL: Duration = Duration::from_secs(30);
/// Suggestions one client address may send per minute (the 21st gets 429).
pub const SUGGESTIONS_PER_MINUTE: u32 = 20;
/// The largest suggestion body: the text and contact are small; a photo is at most 4 MB
/// (base64 makes it a third larger).
pub const MAX_SUGGESTION_BYTES: usize = 6 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Page,
    Card,
}

#[derive(Clone)]
struct Entry {
    made: Instant,
    generation: u64,
    body: Bytes,
}

/// Rendered public pages, bounded, keyed by cell, kind and revision.
pub struct PageCache {
    entries: quick_cache::sync::Cache<(String, Kind, i32), Entry>,
    generation: AtomicU64,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache {
            entries: quick_cache::sync::Cache::new(20_000),
            generation: AtomicU64::new(0),
        }
    }
}

impl PageCache {
    /// Public data changed here (a publication, a consent): every page is rendered afresh.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self, key: &(String, Kind, i32)) -> Option<Bytes> {
        let e = self.entries.get(key)?;
        (e.made.elapsed() < PAGE_TTL && e.generation == self.generation.load(Ordering::Relaxed))
            .then_some(e.body)
    }

    fn put(&self, key: (String, Kind, i32), generation: u64, body: Bytes) {
        self.entries.insert(
            key,
            Entry {
                made: Instant::now(),
                generation,
                body,
            },
        );
    }
}

fn html_response(body: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=30"),
        ],
        body,
    )
        .into_response()
}

fn cell_code(code: &str) -> Result<String, ApiError> {
    Ok(CellCode::parse(code)
        .map_err(|e| ApiError::bad_field("code", e.to_string()))?
        .to_string())
}

/// The page or fragment of `code`, from the cache or rendered now.
async fn cached(state: &AppState, code: &str, kind: Kind) -> Result<Bytes, ApiError> {
    let atlas = state.atlas.load_full();
    let key = (code.to_string(), kind, atlas.revision);
    if let Some(body) = state.pages.get(&key) {
        return Ok(body);
    }
    let generation = state.pages.generation.load(Ordering::Relaxed);
    let client = Db::read(state).await?;
    let card = use_case::card(&client, &atlas, code).await?;
    let month = Month::of(chrono::Utc::now());
    let results = use_case::results(&client, &atlas, code, month).await?;
    let categories = if card.level >= 3 {
        use_case::categories(&client).await?
    } else {
        Vec::new()
    };
    drop(client);
    let fragment = card_fragment(&card, &results, month, &categories);
    let body = match kind {
        Kind::Card => fragment.into_string(),
        Kind::Page => {
            let template = tokio::fs::read_to_string(state.web_dir.join("index.html"))
                .await
                .map_err(|e| ApiError::Internal(format!("index.html: {e}")))?;
            page_with_card(&template, &card, &fragment.into_string())?
        }
    };
    let body = Bytes::from(body);
    state.pages.put(key, generation, body.clone());
    Ok(body)
}

/// The map page with the card in it: the three markers of `web/index.html` replaced.
fn page_with_card(template: &str, card: &PublicCard, fragment: &str) -> Result<String, ApiError> {
    let markers = [
        "<section id=\"card\" hidden></section>",
        "<body>",
        "<title>网格示意图</title>",
    ];
    if let Some(missing) = markers.iter().find(|m| !template.contains(**m)) {
        return Err(ApiError::Internal(format!(
            "web/index.html lacks the marker {missing}"
        )));
    }
    let title = html! { title { (card.name) " · 网格示意图" } }.into_string();
    let body = html! { body data-grid=(card.code) {} }.into_string();
    let body_open = body.trim_end_matches("</body>");
    Ok(template
        .replacen(
            markers[0],
            &format!("<section id=\"card\">{fragment}</section>"),
            1,
        )
        .replacen(markers[1], body_open, 1)
        .replacen(markers[2], &title, 1))
}

fn area(m2: f64) -> String {
    if m2 >= 1e6 {
        format!("{:.2} 平方公里", m2 / 1e6)
    } else {
        format!("{} 平方米", m2.round() as i64)
    }
}

/// The card as residents see it (the one template: `/g/{code}`, the map page's card, the sign's
/// link target).
fn card_fragment(
    card: &PublicCard,
    results: &PublicResults,
    month: Month,
    categories: &[(String, String)],
) -> Markup {
    let four = [
        ("东至", &card.four_to.east),
        ("南至", &card.four_to.south),
        ("西至", &card.four_to.west),
        ("北至", &card.four_to.north),
    ];
    let t = &results.totals;
    html! {
        article.grid-card #grid-card data-code=(card.code) aria-labelledby="card-title" {
            h2 #card-title { (card.name) }
            p.code { "编码 " (card.code) " · " (card.kind) }
            dl.facts {
                dt { "所属" } dd { @if card.within.is_empty() { "—" } @else { (card.within.join(" / ")) } }
                dt { "面积" } dd { (area(card.area_m2)) }
                dt { "户数" } dd {
                    @match (card.households, card.people) {
                        (Some(h), Some(p)) => { (h) " 户 · " (p) " 人" }
                        _ => { "不足10户，不公开" }
                    }
                }
                @for (label, names) in four {
                    dt { (label) } dd { @if names.is_empty() { "辖区边界" } @else { (names.join("、")) } }
                }
            }
            h3 { "网格团队" }
            @if card.team.is_empty() { p.empty { "团队信息待公布" } }
            ul.team {
                @for m in &card.team {
                    @let who = match &m.name { Some(n) => format!("{} {n}", m.role), None => m.role.clone() };
                    li.member {
                        @if let Some(photo) = &m.photo {
                            img.avatar src=(photo) alt=(who);
                        } @else {
                            span.avatar aria-hidden="true" { (who.chars().next().unwrap_or('网')) }
                        }
                        div {
                            p.role { (who) }
                            @if !m.duties.is_empty() { p.duties { (m.duties.join(" · ")) } }
                            @if let Some(phone) = &m.phone {
                                a.call href={ "tel:" (phone) } { "拨打 " (phone) }
                            } @else if let Some(office) = m.office_phone.as_ref().or(card.office_phone.as_ref()) {
                                a.call href={ "tel:" (office) } { "办公电话 " (office) }
                            }
                        }
                    }
                }
            }
            @if let Some(g) = &card.gongshi {
                section.gongshi aria-labelledby="gongshi-title" {
                    h3 #gongshi-title { "公示 · " (g.period) }
                    p { "网格长 " (g.leader.as_deref().unwrap_or("（未同意公开姓名）")) }
                    @if let (Some(counts), Some(cast)) = (&g.counts, g.cast) {
                        p { "满意度测评："
                            @for (i, k) in ["满意", "基本满意", "不满意"].iter().enumerate() {
                                @if i > 0 { " · " }
                                (k) " " (counts[*k].as_i64().unwrap_or(0))
                            }
                            "（共 " (cast) " 票）"
                            @if g.flagged == Some(true) { " · 应予调整" }
                        }
                    }
                    @if let Some(score) = g.score { p { "半年考核：" (score) " 分" } }
                }
            }
            section.results aria-labelledby="results-title" {
                h3 #results-title { "办理结果公开 · " (month.label()) }
                @if results.results.is_empty() {
                    p.empty { "本月暂无办结事项" }
                } @else {
                    p.summary { "办结 " (t.closed) " 件，按期 " (t.on_time) " 件；评价 " (t.rated) " 件，满意 " (t.satisfied) " 件" }
                    div.table-wrap {
                        table {
                            caption { (card.name) " " (month.label()) "办结事项" }
                            thead { tr {
                                th scope="col" { "类别" } th scope="col" { "上报" } th scope="col" { "办结" }
                                th scope="col" { "按期" } th scope="col" { "评价" }
                            } }
                            tbody {
                                @for r in &results.results {
                                    tr {
                                        td { (r.category) }
                                        td { (r.reported_on.format("%m-%d")) }
                                        td { (r.closed_on.format("%m-%d")) }
                                        td { @if r.on_time { "是" } @else { "否" } }
                                        td { (r.rating.as_deref().unwrap_or("—")) }
                                    }
                                }
                            }
                        }
                    }
                }
                p.small { a href={ "/api/v1/public/results?cell=" (card.code) "&month=" (month) } { "数据（JSON）" } }
            }
            @if !categories.is_empty() {
                section.voice aria-labelledby="voice-title" {
                    h3 #voice-title { "居民之声" }
                    p.small { "对本网格的意见建议、投诉，分级办理并反馈。联系电话只用于回访，不公开。" }
                    form #suggest data-cell=(card.code) novalidate {
                        label for="s-category" { "类别" }
                        select #s-category name="category" required {
                            @for (code, path) in categories { option value=(code) { (path) } }
                        }
                        label for="s-text" { "意见建议" }
                        textarea #s-text name="text" maxlength="1000" required rows="4" {}
                        label for="s-contact" { "联系电话（选填，不公开）" }
                        input #s-contact name="contact" type="tel" autocomplete="tel";
                        label for="s-photo" { "照片（选填，JPEG/PNG，最大 4 MB，仅办理人员可见）" }
                        input #s-photo name="photo" type="file" accept="image/jpeg,image/png,image/webp";
                        label.check { input #s-where type="checkbox" name="where"; " 附上我现在的位置" }
                        button type="submit" { "提交" }
                        p #suggest-result role="status" aria-live="polite" {}
                    }
                }
            }
            @if let Some(p) = &card.supervision_phone {
                p.supervision { "监督电话 " a href={ "tel:" (p) } { (p) } }
            }
            p.note { (card.note) }
        }
    }
}

/// A page's refusal as a page: a resident who follows a mistyped or stale QR code reads why in
/// Chinese, with a way back to the map, rather than a JSON body (the status stays the API's).
fn page_error(error: ApiError) -> Response {
    let status = error.status();
    let (title, hint) = match status {
        StatusCode::NOT_FOUND => (
            "没有找到",
            "这个网格或查询码不存在，可能已调整。请回到地图查找您所在的网格。",
        ),
        StatusCode::BAD_REQUEST => ("地址有误", "链接中的编码不正确，请核对二维码或链接。"),
        StatusCode::TOO_MANY_REQUESTS => ("查询过于频繁", "请稍后再试。"),
        _ => ("暂时无法打开", "服务暂时不可用，请稍后再试。"),
    };
    let page = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 网格" }
                link rel="stylesheet" href="/web/public.css";
            }
            body.track-page {
                header { h1 { (title) } }
                main.track #track {
                    p { (hint) }
                    p.small { (error.to_string()) }
                    p { a href="/" { "打开网格地图" } }
                }
            }
        }
    };
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page.into_string(),
    )
        .into_response();
    if let ApiError::TooManyRequests { retry_after_s } = error {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(retry_after_s),
        );
    }
    response
}

/// `GET /g/{code}`: the grid's public page (the map page with its card, results and form).
/// Refusals are pages too (`page_error`).
#[utoipa::path(get, path = "/g/{code}", tag = "public", params(("code" = String, Path, description = "the cell code")), responses((status = 200, description = "The grid's public page", content_type = "text/html", body = String), (status = "4XX", description = "Refused: a page saying why (400 a malformed code, 404 no such cell)", content_type = "text/html", body = String), (status = 503, description = "The database is unavailable (a page)", content_type = "text/html", body = String)))]
pub async fn grid_page(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let page = async {
        let code = cell_code(&code)?;
        cached(&state, &code, Kind::Page).await
    };
    match page.await {
        Ok(body) => html_response(body),
        Err(e) => page_error(e),
    }
}

/// `GET /g/{code}/card`: the card alone (the map page shows it when a grid is chosen).
#[utoipa::path(get, path = "/g/{code}/card", tag = "public", params(("code" = String, Path, description = "the cell code")), responses((status = 200, description = "The card as an HTML fragment", content_type = "text/html", body = String), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn grid_card(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let code = cell_code(&code)?;
    Ok(html_response(cached(&state, &code, Kind::Card).await?))
}

/// `GET /api/v1/cells/{code}/card`: the public card as JSON.
#[utoipa::path(get, path = "/api/v1/cells/{code}/card", tag = "public", params(("code" = String, Path, description = "the cell code")), responses((status = 200, description = "The public card: 四至, area, totals (≥ 10 households), team as consented", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn card_json(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<PublicCard>, ApiError> {
    let code = cell_code(&code)?;
    let atlas = state.atlas.load_full();
    Ok(Json(
        use_case::card(&*Db::read(&state).await?, &atlas, &code).await?,
    ))
}

/// `GET /api/v1/public/results` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsParams {
    /// A grid (or a village or township: all its grids).
    #[param(example = "520328004016002")]
    cell: String,
    /// `YYYY-MM` (default: this month in China).
    #[param(example = "2026-11")]
    month: Option<String>,
}

/// The published results the parameters ask for (the JSON and the feed answer the same).
async fn published(
    state: &AppState,
    query: &ResultsParams,
) -> Result<(PublicResults, Month), ApiError> {
    let (cell, month) = parse_results(query)?;
    let atlas = state.atlas.load_full();
    let results = use_case::results(&*Db::read(state).await?, &atlas, &cell, month).await?;
    Ok((results, month))
}

fn parse_results(query: &ResultsParams) -> Result<(String, Month), ApiError> {
    let cell = CellCode::parse(&query.cell)
        .map_err(|e| ApiError::bad_field("cell", e.to_string()))?
        .to_string();
    let month = match &query.month {
        Some(m) => Month::parse(m).ok_or_else(|| {
            ApiError::bad_field(
                "month",
                format!("month must be YYYY-MM (2000–2100), got {m:?}"),
            )
        })?,
        None => Month::of(chrono::Utc::now()),
    };
    Ok((cell, month))
}

/// `GET /api/v1/public/results?cell=&month=`: the month's handled incidents of a grid, as
/// published (category, dates, on time, rating; non-public categories left out, counts under 3
/// merged).
#[utoipa::path(get, path = "/api/v1/public/results", tag = "public", params(ResultsParams), responses((status = 200, description = "The published results", body = PublicResults), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn results(
    State(state): State<AppState>,
    Params(query): Params<ResultsParams>,
) -> Result<Response, ApiError> {
    let (results, _) = published(&state, &query).await?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(results),
    )
        .into_response())
}

/// One entry of the public feed, in the shape of an Open311 GeoReport v2 request — with only
/// what a published result may show (no description, address, point or media).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedEntry {
    /// `{cell}-{YYYYMM}-{n}`: stable within a month, not the incident's id.
    pub service_request_id: String,
    pub status: &'static str,
    pub service_name: String,
    /// The day it was reported (`YYYY-MM-DD`).
    pub requested_datetime: String,
    /// The day it was closed.
    pub updated_datetime: String,
    /// 按期办结 / 超期办结, and the rating.
    pub status_notes: String,
}

/// `GET /api/v1/public/feed?cell=&month=`: the published results as an Open311-style feed.
#[utoipa::path(get, path = "/api/v1/public/feed", tag = "public", params(ResultsParams), responses((status = 200, description = "The published results, GeoReport-shaped", body = Vec<FeedEntry>), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn feed(
    State(state): State<AppState>,
    Params(query): Params<ResultsParams>,
) -> Result<Response, ApiError> {
    let (results, month) = published(&state, &query).await?;
    let compact = format!("{:04}{:02}", month.year, month.month);
    let entries: Vec<FeedEntry> = results
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| FeedEntry {
            service_request_id: format!("{}-{compact}-{}", results.cell, i + 1),
            status: "closed",
            service_name: r.category.clone(),
            requested_datetime: r.reported_on.to_string(),
            updated_datetime: r.closed_on.to_string(),
            status_notes: format!(
                "{}{}",
                if r.on_time {
                    "按期办结"
                } else {
                    "超期办结"
                },
                r.rating
                    .as_deref()
                    .map(|x| format!(" · {x}"))
                    .unwrap_or_default()
            ),
        })
        .collect();
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(entries),
    )
        .into_response())
}

/// The body of `POST /api/v1/public/suggestions` (居民之声; no login).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestionBody {
    /// The grid the suggestion is about.
    #[schema(example = "520328004016002")]
    pub cell: String,
    /// A public category's code or path (`GET /api/v1/public/categories`).
    #[schema(example = "0401")]
    pub category: String,
    /// At most 1,000 characters.
    pub text: String,
    /// A phone number for the reply; never shown.
    pub contact: Option<String>,
    /// WGS84 longitude of the matter (with `lat`).
    pub lon: Option<f64>,
    /// WGS84 latitude of the matter (with `lon`).
    pub lat: Option<f64>,
    /// A photo: a `data:image/jpeg|png|webp;base64,` URL of at most 4 MB (its metadata
    /// stripped); seen only by those who may see the incident whole.
    pub photo: Option<String>,
}

/// `POST /api/v1/public/suggestions`: a resident's suggestion becomes an incident with source
/// 群众 in the grid's loop; the answer is its tracking code. At most 20 a minute per client
/// address (then 429 with Retry-After), bodies up to 6 MiB (a photo), text cleaned and bounded.
#[utoipa::path(post, path = "/api/v1/public/suggestions", tag = "public", request_body(content = SuggestionBody, content_type = "application/json"), responses((status = 201, description = "`{\"tracking_code\", \"track_url\"}`", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field; 429 when one address sends too many", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn suggest(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(body): JsonBody<SuggestionBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    state.suggestion_limiter.count(addr)?;
    let point = match (body.lon, body.lat) {
        (None, None) => None,
        (Some(lon), Some(lat)) => {
            let crs = Crs::parse("wgs84")
                .ok_or_else(|| ApiError::Internal("wgs84 is not a known CRS".into()))?;
            if !(-180.0..=180.0).contains(&lon) {
                return Err(ApiError::bad_field(
                    "lon",
                    format!("lon must be −180…180, got {lon}"),
                ));
            }
            if !(-90.0..=90.0).contains(&lat) {
                return Err(ApiError::bad_field(
                    "lat",
                    format!("lat must be −90…90, got {lat}"),
                ));
            }
            Some(
                crs.to_cgcs2000(lon, lat)
                    .map_err(|e| ApiError::bad_field("lon", e))?,
            )
        }
        (None, Some(_)) => return Err(ApiError::bad_field("lon", "lon and lat come together")),
        (Some(_), None) => return Err(ApiError::bad_field("lat", "lon and lat come together")),
    };
    let atlas = state.atlas.load_full();
    let client = Db::get(&state).await?;
    let resident = use_case::resident(&client).await?;
    let (report, tracking_code) = use_case::suggestion(
        &client,
        &atlas,
        &state.config.photos_dir,
        &resident,
        SuggestionInput {
            cell: body.cell,
            category: body.category,
            text: body.text,
            contact: body.contact,
            point,
            photo: body.photo,
        },
    )
    .await?;
    drop(client);
    super::field::report_incident(&state, &resident, report, chrono::Utc::now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "tracking_code": tracking_code,
            "track_url": format!("/track/{tracking_code}"),
        })),
    ))
}

/// `GET /api/v1/public/categories`: the categories a resident may choose.
#[utoipa::path(get, path = "/api/v1/public/categories", tag = "public", responses((status = 200, description = "`{\"categories\": [{\"code\", \"name\"}]}`", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn categories(State(state): State<AppState>) -> Result<Response, ApiError> {
    let list = use_case::categories(&*Db::read(&state).await?).await?;
    let list: Vec<Value> = list
        .into_iter()
        .map(|(code, name)| json!({"code": code, "name": name}))
        .collect();
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({"categories": list})),
    )
        .into_response())
}

/// `GET /api/v1/public/track/{code}`: where a suggestion is — its state only.
#[utoipa::path(get, path = "/api/v1/public/track/{code}", tag = "public", params(("code" = String, Path, description = "the tracking code")), responses((status = 200, description = "The suggestion's state", body = use_case::Tracking), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn track_json(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
) -> Result<Json<use_case::Tracking>, ApiError> {
    Ok(Json(tracked(&state, addr, &code).await?))
}

/// A tracking code's answer; wrong codes count as guesses (a code is a secret), so guessing is
/// rate-limited like tokens.
async fn tracked(
    state: &AppState,
    addr: std::net::IpAddr,
    code: &str,
) -> Result<use_case::Tracking, ApiError> {
    state.auth_limiter.admit(addr)?;
    let atlas = state.atlas.load_full();
    match use_case::track(&*Db::read(state).await?, &atlas, code).await {
        Err(use_case::PublicError::NotFound(m)) => {
            Err(state.auth_limiter.wrong_guess(addr, ApiError::NotFound(m)))
        }
        other => Ok(other?),
    }
}

/// `GET /track/{code}`: the tracking page (refusals are pages too).
#[utoipa::path(get, path = "/track/{code}", tag = "public", params(("code" = String, Path, description = "the tracking code")), responses((status = 200, description = "The tracking page", content_type = "text/html", body = String), (status = "4XX", description = "Refused: a page saying why (404 no such code, 429 too many wrong codes)", content_type = "text/html", body = String), (status = 503, description = "The database is unavailable (a page)", content_type = "text/html", body = String)))]
pub async fn track_page(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
) -> Response {
    match tracked(&state, addr, &code).await {
        Ok(t) => track_html(&t),
        Err(e) => page_error(e),
    }
}

fn track_html(t: &use_case::Tracking) -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "办理进度 · 居民之声" }
                link rel="stylesheet" href="/web/public.css";
            }
            body.track-page {
                header { h1 { "居民之声 · 办理进度" } }
                main.track #track {
                    p.code { "查询码 " (t.tracking_code) }
                    dl.facts {
                        dt { "网格" } dd { (t.grid) }
                        dt { "类别" } dd { (t.category) }
                        dt { "提交" } dd { (t.submitted_on) }
                        dt { "状态" } dd.state { (t.state) }
                        @if let Some(day) = t.closed_on {
                            dt { "办结" } dd { (day) @if t.on_time == Some(false) { "（超期）" } }
                        }
                    }
                    p { a href={ "/g/" (t.cell) } { "返回网格" } }
                }
                script type="module" src="/web/track.js" {}
            }
        }
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page.into_string(),
    )
        .into_response()
}

/// `GET /sign/{file}` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SignParams {
    /// `a4` (default) or `a3`, portrait.
    #[param(example = "a4")]
    paper: Option<String>,
}

/// `GET /sign/{code}.pdf?paper=a4|a3`: the service sign of a grid, or of every grid of a village
/// in one PDF; its QR code holds the absolute URL of `/g/{code}` (the configured public URL).
#[utoipa::path(get, path = "/sign/{file}", tag = "public", params(("file" = String, Path, description = "`{code}.pdf`: a grid or a village"), SignParams), responses((status = 200, description = "The sign(s) as PDF", content_type = "application/pdf", body = String), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)))]
pub async fn sign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Params(query): Params<SignParams>,
) -> Result<Response, ApiError> {
    let code = file
        .strip_suffix(".pdf")
        .ok_or_else(|| ApiError::bad_field("file", "a sign is {code}.pdf"))?;
    let code = cell_code(code)?;
    let paper = match query.paper.as_deref() {
        None => SignPaper::A4,
        Some(p) => SignPaper::parse(p).ok_or_else(|| {
            ApiError::bad_field("paper", format!("paper must be a4 or a3, got {p:?}"))
        })?,
    };
    let base = super::base_url(&state, &headers);
    let atlas: Arc<_> = state.atlas.load_full();
    let pdf = use_case::signs_pdf(&*Db::read(&state).await?, atlas, &code, &base, paper).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"sign-{code}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}
