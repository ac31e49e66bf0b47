//! Incidents and their append-only event log, the category taxonomy and deadline rules. Every
//! change of an incident is one transaction: the row, an event row (who, when, note) and a live
//! event — so the wall never misses one.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use tokio_postgres::{Client, Transaction};

use super::{StoreError, StoreResult};
use crate::domain::incident::{Change, Level, Stages, State};
use crate::domain::sla::Clock;

/// An incident row.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub id: i64,
    pub category: String,
    pub description: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: Option<String>,
    pub cell: Option<String>,
    pub cell_revision: Option<i32>,
    pub source: String,
    pub reporter: Option<String>,
    pub state: State,
    pub level: Level,
    pub severity: i16,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub clock_start: DateTime<Utc>,
    pub budget_seconds: i64,
    pub suspended_since: Option<DateTime<Utc>>,
    pub suspended_seconds: i64,
    pub deadline_at: Option<DateTime<Utc>>,
    pub supervision: Option<String>,
    pub rating: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub stages: Stages,
    /// Extra fields of its category (Open311 attributes), as given.
    pub attributes: Value,
    /// The departments' parts (吹哨报到), in dispatch order.
    pub parts: Vec<PartRow>,
}

/// A department's part in an incident, with its clocks.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PartRow {
    pub id: i64,
    pub department: String,
    pub department_name: String,
    pub lead: bool,
    pub state: String,
    pub dispatched_at: DateTime<Utc>,
    pub dispatched_by: String,
    pub report_due: DateTime<Utc>,
    pub reported_at: Option<DateTime<Utc>>,
    pub budget_seconds: i64,
    pub deadline_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
}

impl PartRow {
    /// The part's 处置 clock (it starts at the dispatch and never stops but for the incident's
    /// own suspension, which holds every part).
    pub fn clock(&self) -> Clock {
        Clock {
            start: self.dispatched_at,
            budget: self.budget_seconds,
            suspended: 0,
            suspended_since: None,
        }
    }
}

/// A part (`p`, with its department `d`) as the JSON `PartRow` reads: one text for every query
/// that hands out parts.
macro_rules! part_json {
    () => {
        "json_build_object(
    'id', p.id, 'department', p.department, 'department_name', d.name, 'lead', p.lead,
    'state', p.state, 'dispatched_at', p.dispatched_at, 'dispatched_by', p.dispatched_by,
    'report_due', p.report_due, 'reported_at', p.reported_at,
    'budget_seconds', p.budget_seconds, 'deadline_at', p.deadline_at, 'done_at', p.done_at,
    'result', p.result)"
    };
}
pub(super) use part_json;

const COLUMNS: &str = concat!(
    "id, category, description, ST_X(geom), ST_Y(geom), address, cell_code,
    cell_revision, source, reporter, state, level, severity, created_at, updated_at, clock_start,
    budget_seconds, suspended_since, suspended_seconds, deadline_at, supervision, rating, closed_at,
    accepted_at, response_due, forward_due, forwarded_at, attributes,
    (SELECT coalesce(json_agg(",
    part_json!(),
    " ORDER BY p.id), '[]')
     FROM incident_parts p JOIN departments d ON d.code = p.department
     WHERE p.incident_id = incidents.id)"
);

impl IncidentRow {
    /// The row's deadline clock.
    pub fn clock(&self) -> Clock {
        Clock {
            start: self.clock_start,
            budget: self.budget_seconds,
            suspended: self.suspended_seconds,
            suspended_since: self.suspended_since,
        }
    }
}

/// Parsed once at the edge: a stored state or level the code does not know is a refusal, never
/// a silently different incident.
fn row_of(r: &tokio_postgres::Row) -> StoreResult<IncidentRow> {
    let state: String = r.get(10);
    let level: String = r.get(11);
    Ok(IncidentRow {
        id: r.get(0),
        category: r.get(1),
        description: r.get(2),
        lon: r.get(3),
        lat: r.get(4),
        address: r.get(5),
        cell: r.get(6),
        cell_revision: r.get(7),
        source: r.get(8),
        reporter: r.get(9),
        state: State::parse(&state)
            .ok_or_else(|| StoreError::Refused(format!("stored incident state {state:?}")))?,
        level: Level::parse(&level)
            .ok_or_else(|| StoreError::Refused(format!("stored incident level {level:?}")))?,
        severity: r.get(12),
        created_at: r.get(13),
        updated_at: r.get(14),
        clock_start: r.get(15),
        budget_seconds: r.get(16),
        suspended_since: r.get(17),
        suspended_seconds: r.get(18),
        deadline_at: r.get(19),
        supervision: r.get(20),
        rating: r.get(21),
        closed_at: r.get(22),
        stages: Stages {
            accepted_at: r.get(23),
            response_due: r.get(24),
            forward_due: r.get(25),
            forwarded_at: r.get(26),
        },
        attributes: r.get(27),
        parts: serde_json::from_value(r.get(28))
            .map_err(|e| StoreError::Refused(format!("stored incident parts: {e}")))?,
    })
}

impl IncidentRow {
    /// The departments with a part in it (what the department rule of `domain::access` needs).
    pub fn departments(&self) -> Vec<String> {
        self.parts.iter().map(|p| p.department.clone()).collect()
    }
}

/// A category of the taxonomy: code, name, parent, default severity.
#[derive(Debug, Clone)]
pub struct Category {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub severity: i16,
}

pub async fn categories(client: &Client) -> StoreResult<Vec<Category>> {
    let rows = client
        .query(
            "SELECT code, name, parent, severity FROM incident_categories ORDER BY code",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Category {
            code: r.get(0),
            name: r.get(1),
            parent: r.get(2),
            severity: r.get(3),
        })
        .collect())
}

/// The deadline rules table (working days per stage × level × category).
pub async fn sla_rules(client: &Client) -> StoreResult<crate::domain::sla::Rules> {
    let rows = client
        .query(
            "SELECT stage, level, category, working_days FROM sla_rules",
            &[],
        )
        .await?;
    Ok(crate::domain::sla::Rules::new(
        rows.iter()
            .map(|r| {
                let days: i32 = r.get(3);
                (r.get(0), r.get(1), r.get(2), days.max(1) as u32)
            })
            .collect(),
    ))
}

/// A new incident, located and with its clock set.
pub struct NewIncident<'a> {
    pub category: &'a str,
    pub description: &'a str,
    pub lon: f64,
    pub lat: f64,
    pub source_crs: &'a str,
    pub address: Option<&'a str>,
    pub cell: Option<&'a str>,
    pub cell_revision: i32,
    pub source: &'a str,
    pub reporter: &'a str,
    pub severity: i16,
    pub level: Level,
    pub created_at: DateTime<Utc>,
    pub budget_seconds: i64,
    pub deadline_at: DateTime<Utc>,
    pub photos: &'a [String],
    pub stages: Stages,
    pub attributes: &'a Value,
    /// The (source, external id) of a platform's delivery, recorded with the incident.
    pub delivery: Option<(&'a str, &'a str)>,
    /// A resident's suggestion (居民之声) this incident is: its tracking code and the contact
    /// left, recorded with the incident.
    pub suggestion: Option<(&'a str, Option<&'a str>)>,
}

/// Writes a new incident with its first event ("上报"); returns its id. `payload` builds the
/// live event's body from the stored row.
pub async fn create(
    client: &mut Client,
    new: &NewIncident<'_>,
    payload: impl FnOnce(&IncidentRow) -> Value,
) -> StoreResult<IncidentRow> {
    let tx = client.transaction().await?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO incidents (category, description, geom, source_crs, address, cell_code,
                 cell_revision, source, reporter, state, level, severity, created_at, updated_at,
                 clock_start, budget_seconds, deadline_at, photos, response_due, forward_due,
                 attributes)
             VALUES ($1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4490), $5, $6, $7, $8, $9, $10, '上报',
                     $11, $12, $13, $13, $13, $14, $15, $16, $17, $18, $19)
             RETURNING id",
            &[
                &new.category,
                &new.description,
                &new.lon,
                &new.lat,
                &new.source_crs,
                &new.address,
                &new.cell,
                &new.cell_revision,
                &new.source,
                &new.reporter,
                &new.level.as_str(),
                &new.severity,
                &new.created_at,
                &new.budget_seconds,
                &new.deadline_at,
                &new.photos,
                &new.stages.response_due,
                &new.stages.forward_due,
                &new.attributes,
            ],
        )
        .await?
        .get(0);
    tx.execute(
        "INSERT INTO incident_events (incident_id, action, from_state, to_state, actor, note, at)
         VALUES ($1, '上报', NULL, '上报', $2, $3, $4)",
        &[&id, &new.reporter, &new.source, &new.created_at],
    )
    .await?;
    if let Some((source, external_id)) = new.delivery {
        super::intake::record_item(&tx, source, external_id, id).await?;
    }
    if let (Some((code, contact)), Some(cell)) = (new.suggestion, new.cell) {
        super::public::record_suggestion(&tx, code, id, cell, contact).await?;
    }
    let row = load_in(&tx, id, false).await?;
    super::live::record(&tx, "incident.created", &payload(&row)).await?;
    tx.commit().await?;
    super::live::committed();
    Ok(row)
}

pub(super) async fn load_in(tx: &Transaction<'_>, id: i64, lock: bool) -> StoreResult<IncidentRow> {
    let sql = format!(
        "SELECT {COLUMNS} FROM incidents WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    tx.query_opt(&sql, &[&id])
        .await?
        .map(|r| row_of(&r))
        .ok_or_else(|| StoreError::NotFound(format!("no incident {id}")))?
}

/// One incident.
pub async fn load(client: &Client, id: i64) -> StoreResult<IncidentRow> {
    client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM incidents WHERE id = $1"),
            &[&id],
        )
        .await?
        .map(|r| row_of(&r))
        .ok_or_else(|| StoreError::NotFound(format!("no incident {id}")))?
}

/// Applies an action under a row lock: `decide` sees the current row and returns the change and
/// the event note, or an error that leaves everything as it was.
pub async fn act<E>(
    client: &mut Client,
    id: i64,
    action: &str,
    actor: &str,
    decide: impl FnOnce(&IncidentRow) -> Result<(Change, Option<String>), E>,
    payload: impl FnOnce(&IncidentRow) -> Value,
) -> StoreResult<Result<IncidentRow, E>> {
    let tx = client.transaction().await?;
    let current = load_in(&tx, id, true).await?;
    let (change, note) = match decide(&current) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    tx.execute(
        "UPDATE incidents SET state = $2, level = $3, clock_start = $4, budget_seconds = $5,
             suspended_since = $6, suspended_seconds = $7, deadline_at = $8, supervision = $9,
             rating = $10, closed_at = $11, accepted_at = $12, forward_due = $13,
             forwarded_at = $14, updated_at = now()
         WHERE id = $1",
        &[
            &id,
            &change.state.as_str(),
            &change.level.as_str(),
            &change.clock.start,
            &change.clock.budget,
            &change.clock.suspended_since,
            &change.clock.suspended,
            &change.deadline_at,
            &change.supervision,
            &change.rating,
            &change.closed_at,
            &change.stages.accepted_at,
            &change.stages.forward_due,
            &change.stages.forwarded_at,
        ],
    )
    .await?;
    // A verification sent back (回退 from 反馈 or 核查 to 处置) reopens the lead department's
    // part: its 办结 did not hold.
    if change.state == State::Handling
        && matches!(current.state, State::Feedback | State::Verifying)
    {
        tx.execute(
            "UPDATE incident_parts SET state = '已报到', done_at = NULL, done_by = NULL
             WHERE incident_id = $1 AND lead",
            &[&id],
        )
        .await?;
    }
    let event = Event {
        action,
        from: current.state,
        to: change.state,
        actor,
        note: note.as_deref(),
        at: chrono::Utc::now(),
    };
    Ok(Ok(finish(tx, id, &event, payload).await?))
}

/// One step in an incident's history.
pub(super) struct Event<'a> {
    pub action: &'a str,
    pub from: State,
    pub to: State,
    pub actor: &'a str,
    pub note: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// The end of every change of an incident: its event row, the row as it now is, the live event
/// and the commit.
pub(super) async fn finish(
    tx: Transaction<'_>,
    id: i64,
    event: &Event<'_>,
    payload: impl FnOnce(&IncidentRow) -> Value,
) -> StoreResult<IncidentRow> {
    tx.execute(
        "INSERT INTO incident_events (incident_id, action, from_state, to_state, actor, note, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &event.action,
            &event.from.as_str(),
            &event.to.as_str(),
            &event.actor,
            &event.note,
            &event.at,
        ],
    )
    .await?;
    let row = load_in(&tx, id, false).await?;
    super::live::record(&tx, "incident.updated", &payload(&row)).await?;
    tx.commit().await?;
    super::live::committed();
    Ok(row)
}

/// One event of an incident's history (who did what, when, with what note).
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventRow {
    pub id: i64,
    pub action: String,
    pub from: Option<String>,
    pub to: String,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// The event history of an incident, oldest first.
pub async fn events(client: &Client, id: i64) -> StoreResult<Vec<EventRow>> {
    let rows = client
        .query(
            "SELECT id, action, from_state, to_state, actor, note, at FROM incident_events
             WHERE incident_id = $1 ORDER BY id",
            &[&id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| EventRow {
            id: r.get(0),
            action: r.get(1),
            from: r.get(2),
            to: r.get(3),
            actor: r.get(4),
            note: r.get(5),
            at: r.get(6),
        })
        .collect())
}

/// Which incidents to list.
#[derive(Debug, Default, Clone)]
pub struct IncidentFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub states: Option<Vec<State>>,
    pub category_prefix: Option<String>,
    pub cell_prefix: Option<String>,
    /// Only incidents inside one of these cells (a worker's own grids).
    pub cells_within: Option<Vec<String>>,
    /// Only incidents this department has a part in.
    pub department: Option<String>,
    pub limit: i64,
}

pub async fn list(client: &Client, f: &IncidentFilter) -> StoreResult<Vec<IncidentRow>> {
    let states: Option<Vec<&str>> = f
        .states
        .as_ref()
        .map(|s| s.iter().map(|s| s.as_str()).collect());
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM incidents
                 WHERE ($1::timestamptz IS NULL OR created_at >= $1)
                   AND ($2::timestamptz IS NULL OR created_at < $2)
                   AND ($3::text[] IS NULL OR state = ANY($3))
                   AND ($4::text IS NULL OR starts_with(category, $4))
                   AND ($5::text IS NULL OR starts_with(cell_code, $5))
                   AND ($7::text[] IS NULL OR EXISTS (
                        SELECT 1 FROM unnest($7::text[]) AS own
                        WHERE own <> '' AND starts_with(cell_code, own)))
                   AND ($8::text IS NULL OR EXISTS (
                        SELECT 1 FROM incident_parts p
                        WHERE p.incident_id = incidents.id AND p.department = $8))
                 ORDER BY id DESC LIMIT $6"
            ),
            &[
                &f.since,
                &f.until,
                &states,
                &f.category_prefix,
                &f.cell_prefix,
                &f.limit,
                &f.cells_within,
                &f.department,
            ],
        )
        .await?;
    rows.iter().map(row_of).collect()
}

/// Names and roles of the team each (cell, day) had — the team that served the incident's grid on
/// the day it was reported (what the wall and the incident pages show).
pub async fn teams(
    client: &Client,
    on: &[(String, NaiveDate)],
) -> StoreResult<Vec<(String, NaiveDate, String, String)>> {
    let (cells, days): (Vec<&str>, Vec<NaiveDate>) =
        on.iter().map(|(c, d)| (c.as_str(), *d)).unzip();
    let rows = client
        .query(
            "SELECT q.cell, q.day, cs.role, s.name
             FROM unnest($1::text[], $2::date[]) AS q(cell, day)
             JOIN cell_staff cs ON cs.cell_code = q.cell AND cs.since <= q.day
                               AND (cs.until IS NULL OR cs.until > q.day)
             JOIN staff s ON s.id = cs.staff_id
             LEFT JOIN staff_roles r ON r.name = cs.role
             ORDER BY q.cell, q.day, coalesce(r.sort, 1000), s.name",
            &[&cells, &days],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}
