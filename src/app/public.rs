//! The public side (issue 18): the grid card as residents see it, the results made public, 居民之声
//! suggestions and their tracking, and the per-grid service signs. Every answer here is built
//! from public fields only (consent applied in the store, results cut to `domain::publicity`'s
//! shape); the handlers, the CLI and the benchmarks call these alike.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use geo::GeodesicArea;
use geo_types::Coord;
use serde::Serialize;
use tokio_postgres::Client;

use crate::app::incidents::Report;
use crate::app::teams::{PublicResult as Gongshi, TeamError};
use crate::atlas::Atlas;
use crate::atlas::neighbours::{FourTo, four_to};
use crate::domain::calendar::china;
use crate::domain::incident::State;
use crate::domain::publicity::{
    self, MAX_TEXT_CHARS, PublicResult, PublicTotals, SuggestionError, TRACKING_ALPHABET,
};
use crate::poster::sign::{Sign, SignMember, SignPaper};
use crate::store::cards::{self, PublicMember};
use crate::store::{self, StoreError};

/// Why a public request cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum PublicError {
    #[error("{0}")]
    NotFound(String),
    #[error("{field}: {message}")]
    BadField {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Teams(#[from] TeamError),
    #[error(transparent)]
    Render(#[from] crate::poster::PosterError),
    #[error("the sign task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Photo(#[from] crate::app::fieldwork::FieldError),
}

impl From<SuggestionError> for PublicError {
    fn from(e: SuggestionError) -> Self {
        PublicError::BadField {
            field: e.field(),
            message: e.to_string(),
        }
    }
}

fn bad(field: &'static str, message: impl Into<String>) -> PublicError {
    PublicError::BadField {
        field,
        message: message.into(),
    }
}

/// The public card of a cell (网格信息卡): what the sign, `/g/{code}` and the JSON card show.
#[derive(Debug, Clone, Serialize)]
pub struct PublicCard {
    pub code: String,
    pub name: String,
    pub level: u8,
    pub kind: String,
    /// The enclosing cells' names, county first.
    pub within: Vec<String>,
    pub area_m2: f64,
    pub four_to: FourTo,
    /// Withheld below ten households (no small-area counts).
    pub households: Option<i64>,
    pub people: Option<i64>,
    /// Each name, photo and phone only under its current consent.
    pub team: Vec<PublicMember>,
    /// The latest 公示 of the grid's leader.
    pub gongshi: Option<Gongshi>,
    pub office_phone: Option<String>,
    pub supervision_phone: Option<String>,
    pub revision: i32,
    pub note: &'static str,
}

/// The card of `code` in `atlas`, 404 when there is no such cell.
pub async fn card(client: &Client, atlas: &Atlas, code: &str) -> Result<PublicCard, PublicError> {
    let cell = atlas
        .get(code)
        .ok_or_else(|| PublicError::NotFound(format!("no cell with code {code}")))?;
    let mut within: Vec<String> = atlas.chain(cell).skip(1).map(|c| c.name.clone()).collect();
    within.reverse();
    let township = (code.len() >= 9).then(|| &code[..9]);
    let village = (code.len() >= 12).then(|| &code[..12]);
    let totals = cards::public_totals(client, code).await?;
    Ok(PublicCard {
        code: cell.code.clone(),
        name: cell.name.clone(),
        level: cell.level,
        kind: cell.kind.clone(),
        within,
        area_m2: cell.geometry.geodesic_area_unsigned().round(),
        four_to: four_to(atlas, code).unwrap_or_default(),
        households: totals.map(|t| t.0),
        people: totals.map(|t| t.1),
        team: cards::public_team(client, code).await?,
        gongshi: crate::app::teams::public_result(client, code).await?,
        office_phone: match village {
            Some(v) => cards::attribute(client, v, "office_phone").await?,
            None => None,
        },
        supervision_phone: match township {
            Some(t) => cards::attribute(client, t, "supervision_phone").await?,
            None => None,
        },
        revision: atlas.revision,
        note: "网格示意图（不作为权属界线依据）",
    })
}

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// `YYYY-MM` between 2000-01 and 2100-12.
    pub fn parse(text: &str) -> Option<Month> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        ((2000..=2100).contains(&year) && (1..=12).contains(&month))
            .then_some(Month { year, month })
    }

    /// The month `now` falls in, in China.
    pub fn of(now: DateTime<Utc>) -> Month {
        let d = now.with_timezone(&china()).date_naive();
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    /// The month's span [start, end) as instants (China midnight to China midnight).
    pub fn span(self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = self.first_day()?;
        let end = start.checked_add_months(chrono::Months::new(1))?;
        let at = |d: NaiveDate| {
            china()
                .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                .single()
                .map(|t| t.with_timezone(&Utc))
        };
        Some((at(start)?, at(end)?))
    }

    /// `2026年11月`.
    pub fn label(self) -> String {
        format!("{}年{}月", self.year, self.month)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A cell's results of one month, as published.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicResults {
    pub cell: String,
    pub name: String,
    /// `YYYY-MM`.
    pub month: String,
    pub totals: PublicTotals,
    /// Oldest closure first; only public categories, small counts merged.
    pub results: Vec<PublicResult>,
}

/// The results of the grids under `code` closed in `month`: each a category, two dates, on
/// time or not, the rating — incidents of non-public categories left out, rare categories
/// merged (`publicity::merge_small`).
pub async fn results(
    client: &Client,
    atlas: &Atlas,
    code: &str,
    month: Month,
) -> Result<PublicResults, PublicError> {
    let cell = atlas
        .get(code)
        .ok_or_else(|| PublicError::NotFound(format!("no cell with code {code}")))?;
    let (from, to) = month
        .span()
        .ok_or_else(|| bad("month", format!("no month {month}")))?;
    let day = |t: DateTime<Utc>| t.with_timezone(&china()).date_naive();
    let rows: Vec<PublicResult> = store::public::closed_between(client, code, from, to)
        .await?
        .into_iter()
        .filter(|r| r.public)
        .map(|r| PublicResult {
            category: r.category,
            reported_on: day(r.created_at),
            closed_on: day(r.closed_at),
            // As 按期结案率 counts: closed no later than the deadline (none: on time).
            on_time: r.deadline_at.is_none_or(|d| r.closed_at <= d),
            rating: r.rating,
        })
        .collect();
    let results = publicity::merge_small(rows);
    Ok(PublicResults {
        cell: cell.code.clone(),
        name: cell.name.clone(),
        month: month.to_string(),
        totals: publicity::totals(&results),
        results,
    })
}

/// What a resident sends (居民之声), as parsed from the request.
#[derive(Debug, Clone)]
pub struct SuggestionInput {
    pub cell: String,
    pub category: String,
    pub text: String,
    pub contact: Option<String>,
    /// Where the matter is, CGCS2000 (WGS84 differs by centimetres), when the resident gave it.
    pub point: Option<Coord<f64>>,
    /// A photo as a `data:image/…;base64,` URL.
    pub photo: Option<String>,
}

/// The categories a resident may choose: (code, path), public ones only.
pub async fn categories(client: &Client) -> Result<Vec<(String, String)>, PublicError> {
    Ok(store::public::public_categories(client).await?)
}

/// A new tracking code (10 characters of `TRACKING_ALPHABET`: 31^10 ≈ 8·10^14, not guessable).
fn tracking_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..10)
        .map(|_| TRACKING_ALPHABET[rng.random_range(0..TRACKING_ALPHABET.len())] as char)
        .collect()
}

/// Checks a suggestion and makes it the report of an incident with source 群众 in the grid's
/// loop, carrying its new tracking code: in the grid the resident names, or, when they gave a
/// position, in the grid that position lies in (the matter is where it is). The report is
/// handed to `incidents::report` by the caller, which records the suggestion in the incident's
/// own transaction. A photo is checked and stored last (metadata stripped), after everything
/// else was accepted, as uploaded by `resident`.
pub async fn suggestion(
    client: &Client,
    atlas: &Atlas,
    photos_dir: &std::path::Path,
    resident: &crate::store::users::User,
    input: SuggestionInput,
) -> Result<(Report, String), PublicError> {
    let cell = atlas
        .get(&input.cell)
        .ok_or_else(|| bad("cell", format!("no grid with code {:?}", input.cell)))?;
    if cell.level < 3 {
        return Err(bad(
            "cell",
            format!("{} is not a grid: suggestions go to a base grid", cell.code),
        ));
    }
    let categories = categories(client).await?;
    let category = categories
        .iter()
        .find(|(code, path)| *code == input.category || *path == input.category)
        .map(|(code, _)| code.clone())
        .ok_or_else(|| {
            bad(
                "category",
                format!(
                    "unknown category {:?}; choose one of e.g. {}",
                    input.category.chars().take(40).collect::<String>(),
                    categories
                        .iter()
                        .take(5)
                        .map(|(c, p)| format!("{c} {p}"))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            )
        })?;
    let text = publicity::clean_text("text", &input.text, MAX_TEXT_CHARS)?;
    let contact = match &input.contact {
        Some(c) => publicity::clean_contact(c)?,
        None => None,
    };
    let point = match input.point {
        Some(p) => {
            if atlas
                .locate(p)
                .is_none_or(|l| l.chain.last().is_none_or(|c| c.level < 3))
            {
                return Err(bad(
                    "lon",
                    format!(
                        "the position ({:.6}, {:.6}) lies outside every grid",
                        p.x, p.y
                    ),
                ));
            }
            p
        }
        None => {
            interior_point(cell).ok_or_else(|| bad("cell", format!("{} has no area", cell.code)))?
        }
    };
    let photos = match &input.photo {
        Some(url) => vec![
            crate::app::fieldwork::store_photo(client, photos_dir, resident.id, "photo", url)
                .await?,
        ],
        None => Vec::new(),
    };
    let code = tracking_code();
    Ok((
        Report {
            category,
            description: text,
            point,
            source_crs: if input.point.is_some() {
                "WGS84"
            } else {
                "EPSG:4490"
            }
            .into(),
            address: None,
            source: "群众".into(),
            severity: None,
            photos,
            attributes: None,
            delivery: None,
            suggestion: Some((code.clone(), contact)),
        },
        code,
    ))
}

/// A point well inside the cell (its largest part's pole of inaccessibility): where a
/// suggestion without a position is placed, so it is located in that very grid.
fn interior_point(cell: &crate::atlas::AtlasCell) -> Option<Coord<f64>> {
    use geo::Area;
    let largest = cell
        .geometry
        .0
        .iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?;
    crate::tiles::label::pole_of_inaccessibility(largest, 1e-6)
}

/// The reporter of every suggestion and the uploader of its photo: the disabled user 居民之声
/// (migration 0014; no token is ever issued to it).
pub async fn resident(client: &Client) -> Result<crate::store::users::User, PublicError> {
    store::public::resident(client).await?.ok_or_else(|| {
        PublicError::Store(StoreError::Refused(
            "the user 居民之声 is missing (migration 0014 makes it)".into(),
        ))
    })
}

/// What a tracking code shows: where the matter is in the loop — never its text, contact,
/// handlers or notes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tracking {
    pub tracking_code: String,
    pub cell: String,
    pub grid: String,
    /// The category when it is public, else 其他.
    pub category: String,
    pub submitted_on: NaiveDate,
    /// 已收到，待受理 / 办理中 / 办理完毕，核查中 / 已办结 / 不予受理.
    pub state: String,
    pub closed_on: Option<NaiveDate>,
    pub on_time: Option<bool>,
}

/// The suggestion tracked by `code`, 404 when there is none.
pub async fn track(client: &Client, atlas: &Atlas, code: &str) -> Result<Tracking, PublicError> {
    let missing = || PublicError::NotFound(format!("no suggestion with tracking code {code}"));
    if !publicity::is_tracking_code(code) {
        return Err(missing());
    }
    let t = store::public::tracked(client, code)
        .await?
        .ok_or_else(missing)?;
    let public: Vec<String> = categories(client).await?.into_iter().map(|c| c.1).collect();
    let state = State::parse(&t.state).ok_or_else(|| {
        PublicError::Store(StoreError::Refused(format!("unknown state {:?}", t.state)))
    })?;
    let day = |x: DateTime<Utc>| x.with_timezone(&china()).date_naive();
    Ok(Tracking {
        tracking_code: code.to_string(),
        grid: atlas
            .get(&t.cell)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| t.cell.clone()),
        cell: t.cell,
        category: if public.contains(&t.category) {
            t.category
        } else {
            publicity::OTHER.into()
        },
        submitted_on: day(t.created_at),
        state: publicity::public_state(state).into(),
        closed_on: t.closed_at.map(day),
        on_time: t.closed_at.map(|c| t.deadline_at.is_none_or(|d| c <= d)),
    })
}

/// The service signs (服务指示牌) of `code`: one for a grid, one per grid for a village (the
/// batch a village committee prints), each linking to `{base}/g/{code}`.
pub async fn signs(
    client: &Client,
    atlas: Arc<Atlas>,
    code: &str,
    base: &str,
) -> Result<Vec<Sign>, PublicError> {
    let cell = atlas
        .get(code)
        .ok_or_else(|| PublicError::NotFound(format!("no cell with code {code}")))?;
    let grids: Vec<String> = match cell.level {
        3 | 4 => vec![cell.code.clone()],
        2 => {
            let index = atlas.index_of(code);
            let mut g: Vec<String> = atlas
                .cells()
                .iter()
                .filter(|c| c.parent.is_some() && c.parent == index && c.level >= 3)
                .map(|c| c.code.clone())
                .collect();
            g.sort();
            g
        }
        _ => {
            return Err(bad(
                "code",
                format!("{code} is a township or county: signs are printed per grid or village"),
            ));
        }
    };
    // The topology (四至, neighbours) is computed once per snapshot, off the async workers.
    let topology = atlas.clone();
    tokio::task::spawn_blocking(move || {
        topology.topology();
    })
    .await
    .map_err(|e| PublicError::Task(e.to_string()))?;
    let revision_date = cards::revision(client, atlas.revision)
        .await?
        .map(|r| r.1)
        .unwrap_or_default();
    let mut signs = Vec::with_capacity(grids.len());
    for grid in &grids {
        let c = card(client, &atlas, grid).await?;
        let index = atlas.index_of(grid).unwrap_or(0);
        let neighbours = atlas.topology().neighbours[index]
            .iter()
            .map(|&n| {
                let other = &atlas.cells()[n as usize];
                (other.name.clone(), other.geometry.clone())
            })
            .collect();
        let mut team = Vec::new();
        for m in &c.team {
            team.push(SignMember {
                role: m.role.clone(),
                name: m.name.clone(),
                phone: m.phone.clone(),
                photo: embedded_photo(client, m.photo.as_deref()).await?,
                duties: m.duties.clone(),
            });
        }
        signs.push(Sign {
            code: c.code.clone(),
            name: c.name.clone(),
            place: c.within.join(" "),
            geometry: atlas.cells()[index].geometry.clone(),
            colour: atlas.colour_of(index),
            neighbours,
            four_to: [
                c.four_to.east.join("、"),
                c.four_to.south.join("、"),
                c.four_to.west.join("、"),
                c.four_to.north.join("、"),
            ],
            households: c.households,
            team,
            office_phone: c.office_phone.clone(),
            supervision_phone: c.supervision_phone.clone(),
            link: format!("{}/g/{}", base.trim_end_matches('/'), c.code),
            revision: atlas.revision,
            revision_date: revision_date.clone(),
        });
    }
    Ok(signs)
}

/// The signs of `code` as one PDF (A4 or A3 portrait), drawn off the async workers.
pub async fn signs_pdf(
    client: &Client,
    atlas: Arc<Atlas>,
    code: &str,
    base: &str,
    paper: SignPaper,
) -> Result<Vec<u8>, PublicError> {
    let signs = signs(client, atlas, code, base).await?;
    tokio::task::spawn_blocking(move || {
        let pages = crate::poster::sign::sign_pages(&signs, paper)?;
        Ok(crate::poster::sheets::pages_to_pdf(&pages)?)
    })
    .await
    .map_err(|e| PublicError::Task(e.to_string()))?
}

/// A consented portrait (its public URL `/api/v1/staff/{id}/photo`) as a `data:` URI, so the
/// PDF carries it; `None` without consent (no URL).
async fn embedded_photo(client: &Client, url: Option<&str>) -> Result<Option<String>, PublicError> {
    let Some(id) = url
        .and_then(|u| u.rsplit('/').nth(1))
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    Ok(cards::public_photo(client, id).await?.map(|(kind, bytes)| {
        use base64::Engine;
        format!(
            "data:{kind};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_spans_china_midnight_to_china_midnight() {
        let m = Month::parse("2026-10").unwrap();
        let (from, to) = m.span().unwrap();
        assert_eq!(from.to_rfc3339(), "2026-09-30T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(m.to_string(), "2026-10");
        assert!(Month::parse("2026-13").is_none());
        assert!(Month::parse("2026-1").is_none());
        assert!(Month::parse("1999-12").is_none());
    }

    #[test]
    fn tracking_codes_are_well_formed() {
        for _ in 0..100 {
            assert!(publicity::is_tracking_code(&tracking_code()));
        }
    }
}
