//! Departments, their users and categories; the 准入清单 (matters) with its approval record; the
//! departments' parts of incidents (吹哨报到), each step one transaction with the incident's event
//! and a live event; the townships' reverse assessment.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Client;

use super::incidents::{Event, IncidentRow, finish, load_in, part_json};
use super::users::{STORED_PREFIX_CHARS, new_token, token_digest};
use super::{StoreError, StoreResult};
use crate::domain::attribute::Attribute;
use crate::domain::dispatch::{Department, Existing, PartState, Plan, StepEffect};
use crate::domain::incident::Level;

/// A department as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DepartmentRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub level: String,
    pub township: Option<String>,
    pub report_hours: i32,
    pub phone: Option<String>,
    pub categories: Vec<String>,
    pub retired: bool,
}

impl DepartmentRow {
    /// The department as dispatch rules see it.
    pub fn rule(&self) -> Department {
        Department {
            code: self.code.clone(),
            level: Level::parse(&self.level).unwrap_or(Level::County),
            township: self.township.clone(),
            report_hours: u32::try_from(self.report_hours).unwrap_or(2),
            retired: self.retired,
        }
    }
}

/// Every department, by code.
pub async fn list(client: &Client) -> StoreResult<Vec<DepartmentRow>> {
    let rows = client
        .query(
            "SELECT d.code, d.name, d.kind, d.level, d.township, d.report_hours, d.phone,
                    ARRAY(SELECT category FROM department_categories c
                          WHERE c.department = d.code ORDER BY category),
                    d.retired_at IS NOT NULL
             FROM departments d ORDER BY d.code",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| DepartmentRow {
            code: r.get(0),
            name: r.get(1),
            kind: r.get(2),
            level: r.get(3),
            township: r.get(4),
            report_hours: r.get(5),
            phone: r.get(6),
            categories: r.get(7),
            retired: r.get(8),
        })
        .collect())
}

/// Creates or updates a department and replaces its categories (unknown codes refused by name).
pub async fn put(client: &mut Client, d: &DepartmentRow) -> StoreResult<()> {
    let tx = client.transaction().await?;
    let unknown: Vec<String> = tx
        .query(
            "SELECT c FROM unnest($1::text[]) AS c
             WHERE NOT EXISTS (SELECT 1 FROM incident_categories WHERE code = c)",
            &[&d.categories],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::Refused(format!(
            "unknown category code(s): {}",
            unknown.join(", ")
        )));
    }
    tx.execute(
        "INSERT INTO departments (code, name, kind, level, township, report_hours, phone, retired_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 THEN now() END)
         ON CONFLICT (code) DO UPDATE SET name = $2, kind = $3, level = $4, township = $5,
             report_hours = $6, phone = $7,
             retired_at = CASE WHEN $8 THEN coalesce(departments.retired_at, now()) END",
        &[
            &d.code,
            &d.name,
            &d.kind,
            &d.level,
            &d.township,
            &d.report_hours,
            &d.phone,
            &d.retired,
        ],
    )
    .await?;
    tx.execute(
        "DELETE FROM department_categories WHERE department = $1",
        &[&d.code],
    )
    .await?;
    tx.execute(
        "INSERT INTO department_categories (department, category)
         SELECT $1, c FROM unnest($2::text[]) AS c ON CONFLICT DO NOTHING",
        &[&d.code, &d.categories],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a department user with one token; returns the token (shown once).
pub async fn add_user(client: &mut Client, name: &str, department: &str) -> StoreResult<String> {
    let tx = client.transaction().await?;
    if tx
        .query_opt("SELECT 1 FROM users WHERE name = $1", &[&name])
        .await?
        .is_some()
    {
        return Err(StoreError::Refused(format!(
            "a user named {name:?} already exists"
        )));
    }
    if tx
        .query_opt("SELECT 1 FROM departments WHERE code = $1", &[&department])
        .await?
        .is_none()
    {
        return Err(StoreError::Refused(format!("no department {department:?}")));
    }
    let id: i64 = tx
        .query_one(
            "INSERT INTO users (name, role, department) VALUES ($1, 'department', $2) RETURNING id",
            &[&name, &department],
        )
        .await?
        .get(0);
    let token = new_token();
    tx.execute(
        "INSERT INTO api_tokens (user_id, token_sha256, token_prefix) VALUES ($1, $2, $3)",
        &[&id, &token_digest(&token), &&token[..STORED_PREFIX_CHARS]],
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// A matter of the 准入清单.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MatterRow {
    pub id: i64,
    pub name: String,
    pub category: Option<String>,
    pub department: String,
    pub department_name: String,
    pub grid_duty: String,
    pub basis: Option<String>,
    pub status: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
}

/// A proposed matter.
pub struct NewMatter<'a> {
    pub name: &'a str,
    pub category: Option<&'a str>,
    pub department: &'a str,
    pub grid_duty: &'a str,
    pub basis: Option<&'a str>,
    pub proposed_by: &'a str,
}

/// The matters, optionally only those with `status`.
pub async fn matters(client: &Client, status: Option<&str>) -> StoreResult<Vec<MatterRow>> {
    let rows = client
        .query(
            "SELECT m.id, m.name, m.category, m.department, d.name, m.grid_duty, m.basis, m.status,
                    m.proposed_by, m.proposed_at, m.decided_by, m.decided_at, m.decision_note
             FROM matters m JOIN departments d ON d.code = m.department
             WHERE $1::text IS NULL OR m.status = $1
             ORDER BY m.category NULLS LAST, m.id",
            &[&status],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| MatterRow {
            id: r.get(0),
            name: r.get(1),
            category: r.get(2),
            department: r.get(3),
            department_name: r.get(4),
            grid_duty: r.get(5),
            basis: r.get(6),
            status: r.get(7),
            proposed_by: r.get(8),
            proposed_at: r.get(9),
            decided_by: r.get(10),
            decided_at: r.get(11),
            decision_note: r.get(12),
        })
        .collect())
}

/// Records a proposed matter; a name already proposed or in force is refused.
pub async fn propose(client: &Client, m: &NewMatter<'_>) -> StoreResult<i64> {
    let row = client
        .query_opt(
            "INSERT INTO matters (name, category, department, grid_duty, basis, proposed_by)
             SELECT $1, $2, $3, $4, $5, $6
             WHERE EXISTS (SELECT 1 FROM departments WHERE code = $3)
               AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM incident_categories WHERE code = $2))
             ON CONFLICT (name) WHERE status <> 'rejected' DO NOTHING
             RETURNING id",
            &[
                &m.name,
                &m.category,
                &m.department,
                &m.grid_duty,
                &m.basis,
                &m.proposed_by,
            ],
        )
        .await?;
    match row {
        Some(r) => Ok(r.get(0)),
        None => Err(StoreError::Refused(format!(
            "the matter {:?} is already proposed or in force, or its department or category is unknown",
            m.name
        ))),
    }
}

/// Decides a proposed matter (approved or rejected) by someone other than its proposer.
pub async fn decide(
    client: &Client,
    id: i64,
    status: &str,
    by: &str,
    note: Option<&str>,
) -> StoreResult<MatterRow> {
    let row = client
        .query_opt(
            "SELECT status, proposed_by FROM matters WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no matter {id}")))?;
    let (current, proposer): (String, String) = (row.get(0), row.get(1));
    if current != "proposed" {
        return Err(StoreError::Conflict {
            message: format!("matter {id} is already {current}"),
            details: serde_json::json!({"status": current}),
        });
    }
    if proposer == by {
        return Err(StoreError::Refused(
            "a matter is decided by someone other than its proposer".into(),
        ));
    }
    client
        .execute(
            "UPDATE matters SET status = $2, decided_by = $3, decided_at = now(), decision_note = $4
             WHERE id = $1 AND status = 'proposed'",
            &[&id, &status, &by, &note],
        )
        .await?;
    matters(client, None)
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| StoreError::NotFound(format!("no matter {id}")))
}

/// The existing parts of a locked incident, as the rules see them.
fn existing(row: &IncidentRow) -> Vec<Existing> {
    row.parts
        .iter()
        .map(|p| Existing {
            department: p.department.clone(),
            lead: p.lead,
            state: PartState::parse(&p.state).unwrap_or(PartState::Dispatched),
        })
        .collect()
}

/// Dispatches incident `id` to departments under the row's lock: `decide` sees the row and its
/// parts and returns the plan (or a refusal that changes nothing); the parts, the incident's new
/// state/level/clock, the event (吹哨) and the live event are written together.
pub async fn dispatch<E>(
    client: &mut Client,
    id: i64,
    actor: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
    decide: impl FnOnce(&IncidentRow, &[Existing]) -> Result<Plan, E>,
    payload: impl FnOnce(&IncidentRow) -> Value,
) -> StoreResult<Result<IncidentRow, E>> {
    let tx = client.transaction().await?;
    let current = load_in(&tx, id, true).await?;
    let plan = match decide(&current, &existing(&current)) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    for part in &plan.parts {
        tx.execute(
            "INSERT INTO incident_parts (incident_id, department, lead, dispatched_at, dispatched_by,
                 report_due, budget_seconds, deadline_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &id,
                &part.department,
                &part.lead,
                &now,
                &actor,
                &part.report_due,
                &part.clock.budget,
                &part.deadline_at,
            ],
        )
        .await?;
    }
    let (clock_start, budget, deadline) = match plan.clock {
        Some(c) => (
            c.start,
            c.budget,
            plan.parts
                .iter()
                .find(|p| p.lead)
                .map(|p| p.deadline_at)
                .or(current.deadline_at),
        ),
        None => (
            current.clock_start,
            current.budget_seconds,
            current.deadline_at,
        ),
    };
    let mut stages = current.stages;
    if plan.forwarded && stages.forwarded_at.is_none() {
        stages.forwarded_at = Some(now);
    }
    tx.execute(
        "UPDATE incidents SET state = $2, level = $3, clock_start = $4, budget_seconds = $5,
             deadline_at = $6, forwarded_at = $7, updated_at = now()
         WHERE id = $1",
        &[
            &id,
            &plan.state.as_str(),
            &plan.level.as_str(),
            &clock_start,
            &budget,
            &deadline,
            &stages.forwarded_at,
        ],
    )
    .await?;
    let named: Vec<&str> = plan.parts.iter().map(|p| p.department.as_str()).collect();
    let event_note = match note {
        Some(n) => format!("{} — {n}", named.join("、")),
        None => named.join("、"),
    };
    let event = Event {
        action: "吹哨",
        from: current.state,
        to: plan.state,
        actor,
        note: Some(&event_note),
        at: now,
    };
    Ok(Ok(finish(tx, id, &event, payload).await?))
}

/// The incident a part belongs to.
pub async fn incident_of_part(client: &Client, part: i64) -> StoreResult<i64> {
    client
        .query_opt(
            "SELECT incident_id FROM incident_parts WHERE id = $1",
            &[&part],
        )
        .await?
        .map(|r| r.get(0))
        .ok_or_else(|| StoreError::NotFound(format!("no part {part}")))
}

/// A step of part `part` (报到 or 办结) under the incident's lock: `decide` sees the incident, the
/// part and the others and returns the effect or a refusal; the part, the incident's state (if
/// it moves), the event and the live event are written together.
#[allow(clippy::too_many_arguments)]
pub async fn step<E>(
    client: &mut Client,
    part: i64,
    action: &str,
    actor: &str,
    result: Option<&str>,
    now: DateTime<Utc>,
    decide: impl FnOnce(&IncidentRow, &Existing, &[Existing]) -> Result<StepEffect, E>,
    payload: impl FnOnce(&IncidentRow) -> Value,
) -> StoreResult<Result<IncidentRow, E>> {
    let id = incident_of_part(client, part).await?;
    let tx = client.transaction().await?;
    let current = load_in(&tx, id, true).await?;
    let all = existing(&current);
    let index = current
        .parts
        .iter()
        .position(|p| p.id == part)
        .ok_or_else(|| StoreError::NotFound(format!("no part {part}")))?;
    let others: Vec<Existing> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, e)| e.clone())
        .collect();
    let effect = match decide(&current, &all[index], &others) {
        Ok(e) => e,
        Err(e) => return Ok(Err(e)),
    };
    match effect.part {
        PartState::Reported => {
            tx.execute(
                "UPDATE incident_parts SET state = '已报到', reported_at = $2, reported_by = $3
                 WHERE id = $1",
                &[&part, &now, &actor],
            )
            .await?
        }
        PartState::Done => {
            tx.execute(
                "UPDATE incident_parts SET state = '已办结', done_at = $2, done_by = $3, result = $4
                 WHERE id = $1",
                &[&part, &now, &actor, &result],
            )
            .await?
        }
        PartState::Dispatched => 0,
    };
    let to = effect.incident.unwrap_or(current.state);
    if to != current.state {
        tx.execute(
            "UPDATE incidents SET state = $2, updated_at = now() WHERE id = $1",
            &[&id, &to.as_str()],
        )
        .await?;
    }
    let department = &current.parts[index].department;
    let note = match result {
        Some(r) => format!("{department}: {r}"),
        None => department.clone(),
    };
    let event = Event {
        action,
        from: current.state,
        to,
        actor,
        note: Some(&note),
        at: now,
    };
    Ok(Ok(finish(tx, id, &event, payload).await?))
}

/// One township's score of a department for a period.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReviewRow {
    pub department: String,
    pub period: String,
    pub township: String,
    pub score: f64,
    pub note: Option<String>,
    pub reviewer: String,
    pub at: DateTime<Utc>,
}

/// Records (or replaces) a township's score of a department for a period.
pub async fn review(client: &Client, r: &ReviewRow) -> StoreResult<()> {
    let n = client
        .execute(
            "INSERT INTO department_reviews (department, period, township, score, note, reviewer)
             SELECT $1, $2, $3, $4::float8::numeric(5, 1), $5, $6
             WHERE EXISTS (SELECT 1 FROM departments WHERE code = $1)
             ON CONFLICT (department, period, township) DO UPDATE
                 SET score = EXCLUDED.score, note = EXCLUDED.note, reviewer = EXCLUDED.reviewer,
                     at = now()",
            &[
                &r.department,
                &r.period,
                &r.township,
                &r.score,
                &r.note,
                &r.reviewer,
            ],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "no department {:?}",
            r.department
        )));
    }
    Ok(())
}

/// The scores of a period, every township's.
pub async fn reviews(client: &Client, period: &str) -> StoreResult<Vec<ReviewRow>> {
    let rows = client
        .query(
            "SELECT department, period, township, score::float8, note, reviewer, at
             FROM department_reviews WHERE period = $1 ORDER BY department, township",
            &[&period],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| ReviewRow {
            department: r.get(0),
            period: r.get(1),
            township: r.get(2),
            score: r.get(3),
            note: r.get(4),
            reviewer: r.get(5),
            at: r.get(6),
        })
        .collect())
}

/// The extra fields of category `code`, in order.
pub async fn attributes(client: &Client, code: &str) -> StoreResult<Vec<Attribute>> {
    let rows = client
        .query(
            "SELECT code, datatype, required, description, position, choices
             FROM category_attributes WHERE category = $1 ORDER BY position, code",
            &[&code],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Attribute {
            code: r.get(0),
            datatype: r.get(1),
            required: r.get(2),
            description: r.get(3),
            order: r.get(4),
            values: r.get(5),
        })
        .collect())
}

/// The categories that have extra fields (Open311 `metadata: true`).
pub async fn categories_with_attributes(client: &Client) -> StoreResult<Vec<String>> {
    Ok(client
        .query(
            "SELECT DISTINCT category FROM category_attributes ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// A part with what the department KPIs need of its incident.
#[derive(Debug, Clone)]
pub struct PartFacts {
    pub department: String,
    pub dispatched_at: DateTime<Utc>,
    pub report_due: DateTime<Utc>,
    pub reported_at: Option<DateTime<Utc>>,
    pub deadline_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub rating: Option<String>,
    pub voided: bool,
}

/// Every part dispatched since `since` (for the department KPIs and the wall's ranking).
pub async fn parts_since(client: &Client, since: DateTime<Utc>) -> StoreResult<Vec<PartFacts>> {
    let rows = client
        .query(
            "SELECT p.department, p.dispatched_at, p.report_due, p.reported_at, p.deadline_at,
                    p.done_at, i.rating, i.state = '作废'
             FROM incident_parts p JOIN incidents i ON i.id = p.incident_id
             WHERE p.dispatched_at >= $1",
            &[&since],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| PartFacts {
            department: r.get(0),
            dispatched_at: r.get(1),
            report_due: r.get(2),
            reported_at: r.get(3),
            deadline_at: r.get(4),
            done_at: r.get(5),
            rating: r.get(6),
            voided: r.get(7),
        })
        .collect())
}

/// The open parts (not 已办结) of incidents still open, with their incident's id and category.
pub async fn open_parts(
    client: &Client,
) -> StoreResult<Vec<(i64, String, super::incidents::PartRow)>> {
    let rows = client
        .query(
            concat!(
                "SELECT i.id, i.category, ",
                part_json!(),
                " FROM incident_parts p JOIN incidents i ON i.id = p.incident_id
                 JOIN departments d ON d.code = p.department
                 WHERE p.state <> '已办结' AND i.state NOT IN ('结案', '评价', '作废')
                 ORDER BY p.report_due"
            ),
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let part = serde_json::from_value(r.get(2))
                .map_err(|e| StoreError::Refused(format!("stored part: {e}")))?;
            Ok((r.get(0), r.get(1), part))
        })
        .collect()
}
