//! Incidents as use cases: report one (located in its grid, routed to its team, clock started),
//! act on one through the closed loop, list and show them — each through the access rule of
//! `domain::access`. The REST handlers, Open311 and the CLI call these; the representation of an
//! incident (its JSON) is the caller's, passed in for the live event written in the same
//! transaction.

use chrono::{DateTime, Utc};
use geo_types::Coord;
use serde_json::Value;
use tokio_postgres::Client;

use crate::atlas::Atlas;
use crate::domain::access::{IncidentAccess, incident_access, may_act_on_incident};
use crate::domain::calendar::Calendar;
use crate::domain::incident::Stages;
use crate::domain::incident::{self, Action, Current, Level, STAGE, Situation, State};
use crate::domain::kpi::{KpiIncident, Kpis, kpis};
use crate::domain::sla::Clock;
use crate::store::StoreError;
use crate::store::incidents::{
    self as store, Category, EventRow, IncidentFilter, IncidentRow, NewIncident,
};
use crate::store::users::User;

use crate::atlas::NEAR_BOUNDARY_M;

/// Why an incident use case refused.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown category {given:?}; categories are e.g. {examples}")]
    UnknownCategory { given: String, examples: String },
    #[error("the point ({lon:.6}, {lat:.6}) lies outside every grid of this deployment")]
    OutsideAtlas { lon: f64, lat: f64 },
    #[error("this incident is not in your grids")]
    NotYours,
    #[error(transparent)]
    BadAttribute(#[from] crate::domain::attribute::BadAttribute),
    #[error("{action} is not possible in state {}{}; allowed: {}", state.as_str(), if *suspended { " (挂账)" } else { "" }, allowed.join("、"))]
    Illegal {
        action: &'static str,
        state: State,
        suspended: bool,
        allowed: Vec<&'static str>,
    },
}

/// A report as the caller gives it, parsed and converted to CGCS2000.
#[derive(Debug, Clone)]
pub struct Report {
    pub category: String,
    pub description: String,
    pub point: Coord<f64>,
    /// The CRS the point came in (recorded with it).
    pub source_crs: String,
    pub address: Option<String>,
    pub source: String,
    pub severity: Option<i16>,
    pub photos: Vec<String>,
    /// Extra fields of the category, as given (checked here against its attributes). `None`
    /// from a path that has no way to ask for them (the field app, a platform feed): what is
    /// given is still checked, but a required one is not demanded.
    pub attributes: Option<std::collections::BTreeMap<String, Value>>,
    /// A platform's delivery this report is (source, external id): recorded in the incident's
    /// own transaction, so a crash can never leave one without the other.
    pub delivery: Option<(String, String)>,
    /// A resident's suggestion: (tracking code, contact), recorded in the incident's transaction.
    pub suggestion: Option<(String, Option<String>)>,
}

/// A reported incident and how close to a border it lies.
pub struct Reported {
    pub row: IncidentRow,
    pub near_boundary_m: Option<f64>,
}

/// The display path of a category (`安全隐患/消防隐患`).
fn path_of(categories: &[Category], c: &Category) -> String {
    match c
        .parent
        .as_ref()
        .and_then(|p| categories.iter().find(|x| &x.code == p))
    {
        Some(parent) => format!("{}/{}", parent.name, c.name),
        None => c.name.clone(),
    }
}

/// Resolves a category given as a code (`0201`) or a path (`安全隐患/消防隐患`, or a leaf's name).
pub fn resolve_category<'a>(
    categories: &'a [Category],
    given: &str,
) -> Result<&'a Category, IncidentError> {
    categories
        .iter()
        .find(|c| {
            c.code == given
                || path_of(categories, c) == given
                || (c.parent.is_some() && c.name == given)
        })
        .ok_or_else(|| IncidentError::UnknownCategory {
            given: given.to_string(),
            examples: categories
                .iter()
                .filter(|c| c.parent.is_some())
                .take(6)
                .map(|c| path_of(categories, c))
                .collect::<Vec<_>>()
                .join("、"),
        })
}

/// The category code of a stored display path (the leaf's name ends it).
pub fn code_of_path(categories: &[Category], path: &str) -> String {
    categories
        .iter()
        .find(|c| c.parent.is_some() && path_of(categories, c) == path)
        .or_else(|| {
            categories
                .iter()
                .find(|c| c.parent.is_some() && path.ends_with(&c.name))
        })
        .map(|c| c.code.clone())
        .unwrap_or_default()
}

/// Reports an incident: located in its grid (a point outside every grid is refused), routed to
/// the grid's team, its clock started on `calendar`; `payload` shapes the live event.
pub async fn report(
    client: &mut Client,
    atlas: &Atlas,
    calendar: &Calendar,
    reporter: &User,
    report: Report,
    now: DateTime<Utc>,
    payload: impl FnOnce(&IncidentRow) -> Value,
) -> Result<Reported, IncidentError> {
    let categories = store::categories(client).await?;
    let category = resolve_category(&categories, &report.category)?;
    let rules = store::sla_rules(client).await?;
    let located = atlas.locate(report.point);
    let Some((grid, distance_m)) = located
        .as_ref()
        .and_then(|l| l.chain.last().map(|c| (*c, l.boundary_distance_m)))
    else {
        return Err(IncidentError::OutsideAtlas {
            lon: report.point.x,
            lat: report.point.y,
        });
    };
    let level = match grid.level {
        3 | 4 => Level::Grid,
        2 => Level::Village,
        _ => Level::Township,
    };
    let clock = Clock::new(
        calendar,
        now,
        rules.days(STAGE, level.as_str(), &category.code),
    );
    let defs = crate::store::departments::attributes(client, &category.code).await?;
    let attributes = match &report.attributes {
        Some(given) => crate::domain::attribute::check(&defs, given)?,
        None => Value::Object(Default::default()),
    };
    let path = path_of(&categories, category);
    let stages = Stages::at_report(calendar, &rules, level, &category.code, now);
    let new = NewIncident {
        category: &path,
        description: &report.description,
        lon: report.point.x,
        lat: report.point.y,
        source_crs: &report.source_crs,
        address: report.address.as_deref(),
        cell: Some(grid.code.as_str()),
        cell_revision: atlas.revision,
        source: &report.source,
        reporter: &reporter.name,
        severity: report.severity.unwrap_or(category.severity),
        level,
        created_at: now,
        budget_seconds: clock.budget,
        deadline_at: clock.status(calendar, now).deadline_at,
        photos: &report.photos,
        stages,
        attributes: &attributes,
        delivery: report
            .delivery
            .as_ref()
            .map(|(s, e)| (s.as_str(), e.as_str())),
        suggestion: report
            .suggestion
            .as_ref()
            .map(|(code, contact)| (code.as_str(), contact.as_deref())),
    };
    let row = store::create(client, &new, payload).await?;
    Ok(Reported {
        row,
        near_boundary_m: (distance_m <= NEAR_BOUNDARY_M)
            .then(|| (distance_m * 100.0).round() / 100.0),
    })
}

/// Applies `action` to incident `id` as `user` (who must see it whole and hold a field role),
/// under the row's lock: an illegal action changes nothing and names the allowed ones.
#[allow(clippy::too_many_arguments)]
pub async fn act(
    client: &mut Client,
    calendar: &Calendar,
    user: &User,
    id: i64,
    action: &Action,
    note: Option<String>,
    now: DateTime<Utc>,
    payload: impl FnOnce(&IncidentRow) -> Value,
) -> Result<IncidentRow, IncidentError> {
    let rules = store::sla_rules(client).await?;
    let categories = store::categories(client).await?;
    let decide = |row: &IncidentRow| {
        if !may_act_on_incident(&user.viewer(), row.cell.as_deref()) {
            return Err(IncidentError::NotYours);
        }
        let situation = Situation {
            state: row.state,
            suspended: row.suspended_since.is_some(),
            level: row.level,
        };
        let current = Current {
            situation,
            clock: row.clock(),
            supervision: row.supervision.clone(),
            rating: row.rating.clone(),
            closed_at: row.closed_at,
            category_code: code_of_path(&categories, &row.category),
            stages: row.stages,
        };
        incident::transition(&current, action, calendar, &rules, now)
            .map(|change| (change, note))
            .map_err(|_| IncidentError::Illegal {
                action: action.name(),
                state: row.state,
                suspended: situation.suspended,
                allowed: incident::allowed(situation),
            })
    };
    store::act(client, id, action.name(), &user.name, decide, payload).await?
}

/// The incidents `user` may see under `filter` (a worker's own grids narrowed in SQL, so the
/// limit counts them), each with how much of it they may see.
pub async fn list(
    client: &Client,
    user: &User,
    mut filter: IncidentFilter,
) -> Result<Vec<(IncidentRow, IncidentAccess)>, IncidentError> {
    match user.role {
        crate::domain::role::Role::Worker => filter.cells_within = Some(user.cells.clone()),
        // A department lists the incidents it has a part in (no department: none at all).
        crate::domain::role::Role::Department => {
            filter.department = Some(user.department.clone().unwrap_or_default())
        }
        _ => {}
    }
    Ok(store::list(client, &filter)
        .await?
        .into_iter()
        .filter_map(|row| {
            let access = incident_access(&user.viewer(), row.cell.as_deref(), &row.departments());
            (access != IncidentAccess::Denied).then_some((row, access))
        })
        .collect())
}

/// One incident with its history, as `user` may see it (event notes only with full access).
pub async fn show(
    client: &Client,
    user: &User,
    id: i64,
) -> Result<(IncidentRow, IncidentAccess, Vec<EventRow>), IncidentError> {
    let row = store::load(client, id).await?;
    let access = incident_access(&user.viewer(), row.cell.as_deref(), &row.departments());
    if access == IncidentAccess::Denied {
        return Err(IncidentError::NotYours);
    }
    let mut events = store::events(client, id).await?;
    match access {
        IncidentAccess::Summary => {
            for event in &mut events {
                event.note = None;
            }
        }
        // A department reads the notes of the incident's own loop and its own steps, not what
        // other departments reported.
        IncidentAccess::Part => {
            let own = user.department.clone().unwrap_or_default();
            for event in &mut events {
                let theirs = matches!(event.action.as_str(), "报到" | "办结")
                    && !event
                        .note
                        .as_deref()
                        .is_some_and(|n| n == own || n.starts_with(&format!("{own}:")));
                if theirs {
                    event.note = None;
                }
            }
        }
        IncidentAccess::Full | IncidentAccess::Denied => {}
    }
    Ok((row, access, events))
}

/// The KPIs of one period, per unit and in total, with today's reports and what is open now.
#[derive(Debug, Clone)]
pub struct Stats {
    pub total: Kpis,
    pub groups: Vec<Kpis>,
    pub today: usize,
    pub open_now: usize,
    pub overdue_now: usize,
}

/// What the KPIs are asked for: the period `[from, to)`, the unit (a code prefix length: 15 grid,
/// 12 village, 9 township) and optionally one cell's subtree. `today` is local midnight.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub today: DateTime<Utc>,
    pub unit_prefix: usize,
    pub code: Option<String>,
}

/// `GET /api/v1/stats` and the KPI export: every incident since the earlier of `from` and today
/// (the deadline of each counted by the working-day calendar), grouped by unit.
pub async fn stats(
    client: &Client,
    calendar: &Calendar,
    query: &StatsQuery,
    now: DateTime<Utc>,
) -> Result<Stats, IncidentError> {
    let rows = store::list(
        client,
        &IncidentFilter {
            since: Some(query.from.min(query.today)),
            until: None,
            cell_prefix: query.code.clone(),
            limit: 1_000_000,
            ..IncidentFilter::default()
        },
    )
    .await?;
    let input: Vec<KpiIncident> = rows
        .iter()
        .map(|r| KpiIncident {
            cell: r.cell.clone(),
            created_at: r.created_at,
            voided: r.state == State::Voided,
            finished: r.state.is_finished(),
            deadline_at: Some(
                r.clock()
                    .status(calendar, r.closed_at.unwrap_or(now))
                    .deadline_at,
            ),
            closed_at: r.closed_at,
            rating: r.rating.clone(),
            response_due: r.stages.response_due,
            responded_at: r.stages.accepted_at,
        })
        .collect();
    let (total, groups) = kpis(&input, query.from, query.to, now, query.unit_prefix);
    Ok(Stats {
        total,
        groups,
        today: rows.iter().filter(|r| r.created_at >= query.today).count(),
        open_now: input.iter().filter(|i| !i.finished).count(),
        overdue_now: input
            .iter()
            .filter(|i| !i.finished && i.deadline_at.is_some_and(|d| d < now))
            .count(),
    })
}
