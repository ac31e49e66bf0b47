//! 吹哨报到 as use cases: the department registry and its users, the 准入清单 with its approval
//! record, dispatch of an incident to departments and their 报到 and 办结, the departments' KPIs
//! with the townships' reverse assessment, and the wall's departments panel. Every one decides
//! access through `domain::access`; the REST handlers and the CLI call these.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::Client;

use super::incidents::code_of_path;
use crate::domain::access::{may_act_on_part, may_dispatch_to_departments, may_review_department};
use crate::domain::calendar::Calendar;
use crate::domain::dispatch::{self, DispatchError, Request, Step, Target, part_status};
use crate::domain::incident::Situation;
use crate::domain::kpi::{KpiIncident, Kpis, kpis};
use crate::domain::role::Role;
use crate::store::StoreError;
use crate::store::departments::{self as store, DepartmentRow, MatterRow, NewMatter, ReviewRow};
use crate::store::incidents::{self as incidents, IncidentRow};
use crate::store::users::User;

/// Department kinds (the schema's list).
pub const KINDS: [&str; 5] = ["站所", "县直部门", "派出所", "法庭", "其他"];
/// What a grid does about a matter of the 准入清单.
pub const GRID_DUTIES: [&str; 3] = ["发现上报", "协助处置", "直接处置"];

/// Why a department use case refused.
#[derive(Debug, thiserror::Error)]
pub enum DepartmentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    #[error("{message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Forbidden(&'static str),
}

fn field(field: &'static str, message: impl Into<String>) -> DepartmentError {
    DepartmentError::Field {
        field,
        message: message.into(),
    }
}

/// Every department.
pub async fn list(client: &Client) -> Result<Vec<DepartmentRow>, DepartmentError> {
    Ok(store::list(client).await?)
}

/// Creates or updates a department (admin): its kind, level and township checked here.
pub async fn put(client: &mut Client, d: DepartmentRow) -> Result<DepartmentRow, DepartmentError> {
    if !d
        .code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        || d.code.is_empty()
        || d.code.len() > 40
    {
        return Err(field(
            "code",
            "a department code is 1–40 letters, digits, _ or -",
        ));
    }
    if d.name.trim().is_empty() || d.name.chars().count() > 80 {
        return Err(field("name", "a department name is 1–80 characters"));
    }
    if !KINDS.contains(&d.kind.as_str()) {
        return Err(field(
            "kind",
            format!("kind must be one of {}", KINDS.join("、")),
        ));
    }
    match (d.level.as_str(), &d.township) {
        ("township", Some(t)) if t.len() == 9 && t.bytes().all(|b| b.is_ascii_digit()) => {}
        ("township", _) => {
            return Err(field(
                "township",
                "a township department names its township (a 9-digit code)",
            ));
        }
        ("county", None) => {}
        ("county", Some(_)) => {
            return Err(field(
                "township",
                "a county department serves the whole county: no township",
            ));
        }
        _ => return Err(field("level", "level must be township or county")),
    }
    if d.phone.as_ref().is_some_and(|p| p.chars().count() > 40) {
        return Err(field("phone", "a phone number is at most 40 characters"));
    }
    if !(1..=72).contains(&d.report_hours) {
        return Err(field("report_hours", "report_hours must be 1–72"));
    }
    store::put(client, &d).await?;
    store::list(client)
        .await?
        .into_iter()
        .find(|x| x.code == d.code)
        .ok_or_else(|| StoreError::NotFound(format!("no department {:?}", d.code)).into())
}

/// Creates a user of a department; returns its token (shown once).
pub async fn add_user(
    client: &mut Client,
    name: &str,
    department: &str,
) -> Result<String, DepartmentError> {
    if name.trim().is_empty() {
        return Err(field("name", "a user needs a name"));
    }
    Ok(store::add_user(client, name.trim(), department).await?)
}

/// A dispatch as asked.
pub struct Dispatch {
    pub departments: Vec<String>,
    pub lead: Option<String>,
    pub note: Option<String>,
}

/// 吹哨: dispatches incident `id` to departments (one lead), each part with its 报到 deadline
/// and 处置 clock; only a township leader or the command centre may.
#[allow(clippy::too_many_arguments)]
pub async fn dispatch(
    client: &mut Client,
    calendar: &Calendar,
    user: &User,
    id: i64,
    asked: Dispatch,
    now: DateTime<Utc>,
    payload: impl FnOnce(&IncidentRow) -> Value,
) -> Result<IncidentRow, DepartmentError> {
    let known: Vec<_> = store::list(client)
        .await?
        .iter()
        .map(DepartmentRow::rule)
        .collect();
    let rules = incidents::sla_rules(client).await?;
    let categories = incidents::categories(client).await?;
    let decide = |row: &IncidentRow, existing: &[dispatch::Existing]| {
        if !may_dispatch_to_departments(&user.viewer(), row.cell.as_deref()) {
            return Err(DepartmentError::Forbidden(
                "吹哨 to departments is the township's or the command centre's",
            ));
        }
        let code = code_of_path(&categories, &row.category);
        let target = Target {
            situation: Situation {
                state: row.state,
                suspended: row.suspended_since.is_some(),
                level: row.level,
            },
            cell: row.cell.as_deref(),
            category_code: &code,
        };
        let request = Request {
            departments: &asked.departments,
            lead: asked.lead.as_deref(),
            now,
        };
        Ok(dispatch::plan(
            &target, existing, &request, &known, calendar, &rules,
        )?)
    };
    store::dispatch(
        client,
        id,
        &user.name,
        asked.note.as_deref(),
        now,
        decide,
        payload,
    )
    .await?
}

/// 报到 or 办结 of part `part` by its own department; 办结 needs a result.
#[allow(clippy::too_many_arguments)]
pub async fn step(
    client: &mut Client,
    user: &User,
    part: i64,
    step: Step,
    result: Option<String>,
    now: DateTime<Utc>,
    payload: impl FnOnce(&IncidentRow) -> Value,
) -> Result<IncidentRow, DepartmentError> {
    let result = result
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if step == Step::Done && result.is_none() {
        return Err(field("result", "办结 reports what was done: give a result"));
    }
    if result.as_ref().is_some_and(|r| r.chars().count() > 2000) {
        return Err(field("result", "a result is at most 2,000 characters"));
    }
    let action = match step {
        Step::Report => "报到",
        Step::Done => "办结",
    };
    let decide = |row: &IncidentRow, part: &dispatch::Existing, others: &[dispatch::Existing]| {
        if !may_act_on_part(&user.viewer(), &part.department) {
            return Err(DepartmentError::Forbidden(
                "this part belongs to another department",
            ));
        }
        let situation = Situation {
            state: row.state,
            suspended: row.suspended_since.is_some(),
            level: row.level,
        };
        Ok(dispatch::step(situation, part, others, step)?)
    };
    store::step(
        client,
        part,
        action,
        &user.name,
        result.as_deref(),
        now,
        decide,
        payload,
    )
    .await?
}

/// The 准入清单: approved matters for the public; every matter for command and admin.
pub async fn matters(
    client: &Client,
    status: Option<&str>,
) -> Result<Vec<MatterRow>, DepartmentError> {
    Ok(store::matters(client, status).await?)
}

/// A proposed addition to the 准入清单.
pub struct Proposal {
    pub name: String,
    pub category: Option<String>,
    pub department: String,
    pub grid_duty: String,
    pub basis: Option<String>,
}

/// Proposes a matter (command or admin); it is in force once someone else approves it.
pub async fn propose(
    client: &Client,
    user: &User,
    p: Proposal,
) -> Result<MatterRow, DepartmentError> {
    if p.name.trim().is_empty() || p.name.chars().count() > 120 {
        return Err(field("name", "a matter's name is 1–120 characters"));
    }
    if p.basis.as_ref().is_some_and(|b| b.chars().count() > 500) {
        return Err(field("basis", "the basis is at most 500 characters"));
    }
    if !GRID_DUTIES.contains(&p.grid_duty.as_str()) {
        return Err(field(
            "grid_duty",
            format!("grid_duty must be one of {}", GRID_DUTIES.join("、")),
        ));
    }
    let id = store::propose(
        client,
        &NewMatter {
            name: p.name.trim(),
            category: p.category.as_deref(),
            department: &p.department,
            grid_duty: &p.grid_duty,
            basis: p.basis.as_deref(),
            proposed_by: &user.name,
        },
    )
    .await?;
    store::matters(client, None)
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| StoreError::NotFound(format!("no matter {id}")).into())
}

/// Approves or rejects a proposed matter (admin, never its proposer): the approval record.
pub async fn decide(
    client: &Client,
    user: &User,
    id: i64,
    approve: bool,
    note: Option<&str>,
) -> Result<MatterRow, DepartmentError> {
    if user.role != Role::Admin {
        return Err(DepartmentError::Forbidden("matters are approved by admin"));
    }
    let status = if approve { "approved" } else { "rejected" };
    Ok(store::decide(client, id, status, &user.name, note).await?)
}

/// Records a township's score of a department for a period (反向考核).
pub async fn review(
    client: &Client,
    user: &User,
    department: &str,
    period: &str,
    township: &str,
    score: f64,
    note: Option<String>,
) -> Result<(), DepartmentError> {
    if !may_review_department(&user.viewer(), township) {
        return Err(DepartmentError::Forbidden(
            "a department is reviewed by its township (or the command centre)",
        ));
    }
    if !valid_period(period) {
        return Err(field(
            "period",
            "period is YYYY-MM, YYYY-Qn or YYYY-Hn, e.g. 2026-11, 2026Q4 or 2026H2",
        ));
    }
    if !(0.0..=100.0).contains(&score) || !score.is_finite() {
        return Err(field("score", "score is 0–100"));
    }
    if township.len() != 9 || !township.bytes().all(|b| b.is_ascii_digit()) {
        return Err(field("township", "township is a 9-digit code"));
    }
    Ok(store::review(
        client,
        &ReviewRow {
            department: department.to_string(),
            period: period.to_string(),
            township: township.to_string(),
            score,
            note,
            reviewer: user.name.clone(),
            at: Utc::now(),
        },
    )
    .await?)
}

/// `2026-11`, `2026Q4`, `2026H2` (the schema's periods).
pub fn valid_period(p: &str) -> bool {
    let (year, rest) = p.split_at(p.len().min(4));
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && match rest.as_bytes() {
            [b'-', a, b] => {
                let m = (*a as char).to_digit(10).unwrap_or(99) * 10
                    + (*b as char).to_digit(10).unwrap_or(99);
                (1..=12).contains(&m)
            }
            [b'Q', q] => (b'1'..=b'4').contains(q),
            [b'H', h] => (b'1'..=b'2').contains(h),
            _ => false,
        }
}

/// A department's KPIs over a period, with the townships' average score.
#[derive(Debug, Clone, Serialize)]
pub struct DepartmentKpis {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub kpis: Kpis,
    /// The mean of the townships' scores for the period, and how many scored.
    pub review_average: Option<f64>,
    pub reviews: usize,
}

/// The parts as KPI items: a part is "reported" when dispatched, "responded" at 报到 against its
/// 报到 deadline, "closed" at 办结 against its 处置 deadline; its rating is the incident's.
fn part_items(parts: &[store::PartFacts]) -> Vec<KpiIncident> {
    parts
        .iter()
        .map(|p| KpiIncident {
            cell: Some(p.department.clone()),
            created_at: p.dispatched_at,
            voided: p.voided,
            finished: p.done_at.is_some(),
            deadline_at: Some(p.deadline_at),
            closed_at: p.done_at,
            rating: p.done_at.and(p.rating.clone()),
            response_due: Some(p.report_due),
            responded_at: p.reported_at,
        })
        .collect()
}

/// The seven KPIs of every department over `[from, to)` (parts dispatched in it), each with the
/// average reverse-assessment score of `period` when given; departments without parts too.
pub async fn kpis_of(
    client: &Client,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    period: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Kpis, Vec<DepartmentKpis>), DepartmentError> {
    let parts = store::parts_since(client, from).await?;
    let (total, groups) = kpis(&part_items(&parts), from, to, now, usize::MAX);
    let by_code: BTreeMap<String, Kpis> = groups.into_iter().map(|k| (k.code.clone(), k)).collect();
    let reviews = match period {
        Some(p) => store::reviews(client, p).await?,
        None => Vec::new(),
    };
    let rows = store::list(client)
        .await?
        .into_iter()
        .map(|d| {
            let scores: Vec<f64> = reviews
                .iter()
                .filter(|r| r.department == d.code)
                .map(|r| r.score)
                .collect();
            DepartmentKpis {
                kpis: by_code
                    .get(&d.code)
                    .cloned()
                    .unwrap_or_else(|| Kpis::empty(&d.code)),
                review_average: (!scores.is_empty())
                    .then(|| scores.iter().sum::<f64>() / scores.len() as f64),
                reviews: scores.len(),
                code: d.code,
                name: d.name,
            }
        })
        .collect();
    Ok((total, rows))
}

/// The wall's departments panel.
#[derive(Debug, Clone, Serialize)]
pub struct Board {
    /// Open parts per department.
    pub open: Vec<BoardDepartment>,
    /// Parts whose 报到 is overdue, and parts past their 处置 deadline.
    pub late_reports: Vec<BoardPart>,
    pub overdue: Vec<BoardPart>,
    /// Departments by 响应率 over the last 30 days, best first (none without a part due).
    pub ranking: Vec<BoardRank>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardDepartment {
    pub code: String,
    pub name: String,
    pub open: usize,
    pub awaiting_report: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardPart {
    pub incident: i64,
    pub category: String,
    pub part: i64,
    pub department: String,
    pub department_name: String,
    pub lead: bool,
    pub state: String,
    pub report_due: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardRank {
    pub code: String,
    pub name: String,
    pub response_rate: f64,
    pub to_respond: u64,
}

/// The departments panel at `now` (aggregates: no incident text, no person).
pub async fn board(
    client: &Client,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Result<Board, DepartmentError> {
    let open = store::open_parts(client).await?;
    let mut per: BTreeMap<String, BoardDepartment> = BTreeMap::new();
    let mut late_reports = Vec::new();
    let mut overdue = Vec::new();
    for (incident, category, p) in &open {
        let entry = per
            .entry(p.department.clone())
            .or_insert_with(|| BoardDepartment {
                code: p.department.clone(),
                name: p.department_name.clone(),
                open: 0,
                awaiting_report: 0,
            });
        entry.open += 1;
        let status = part_status(
            calendar,
            &p.clock(),
            p.report_due,
            p.reported_at,
            p.done_at,
            now,
        );
        let item = BoardPart {
            incident: *incident,
            category: category.clone(),
            part: p.id,
            department: p.department.clone(),
            department_name: p.department_name.clone(),
            lead: p.lead,
            state: p.state.clone(),
            report_due: p.report_due,
            deadline_at: p.deadline_at,
        };
        if p.reported_at.is_none() {
            entry.awaiting_report += 1;
            if status.report_late {
                late_reports.push(item.clone());
            }
        }
        if status.overdue {
            overdue.push(item);
        }
    }
    let (_, rows) = kpis_of(client, now - chrono::TimeDelta::days(30), now, None, now).await?;
    let mut ranking: Vec<BoardRank> = rows
        .into_iter()
        .filter_map(|d| {
            d.kpis.response_rate.map(|rate| BoardRank {
                code: d.code,
                name: d.name,
                response_rate: rate,
                to_respond: d.kpis.to_respond,
            })
        })
        .collect();
    ranking.sort_by(|a, b| {
        b.response_rate
            .total_cmp(&a.response_rate)
            .then(b.to_respond.cmp(&a.to_respond))
    });
    Ok(Board {
        open: per.into_values().collect(),
        late_reports,
        overdue,
        ranking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_months_quarters_or_half_years() {
        for ok in ["2026-11", "2026-01", "2026Q4", "2026H2"] {
            assert!(valid_period(ok), "{ok}");
        }
        for bad in [
            "2026-13", "2026-00", "2026Q5", "2026H3", "26-11", "2026", "2026-1", "",
        ] {
            assert!(!valid_period(bad), "{bad}");
        }
    }
}
