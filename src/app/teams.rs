//! The teams behind the grids (DESIGN.md §4), as use cases shared by the HTTP API and the CLI:
//! the staff import, memberships (add, move, end; the team of any day), consent, team rules,
//! the 千分制 half-year scores, the year-end satisfaction vote, the printed 网格员证 and ballot
//! slips, and the 公示. Access is decided here through `domain::access::team_access`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_postgres::Client;

use crate::app::fieldwork::{self, FieldError, day_bounds};
use crate::app::incidents::{self, IncidentError, StatsQuery};
use crate::atlas::Atlas;
use crate::codec::staff::{self as file, StaffFileError, StaffRecord};
use crate::domain::access::{TeamAccess, staff_access, team_access};
use crate::domain::assessment::{self, Figures, Score};
use crate::domain::calendar::Calendar;
use crate::domain::duty::local_day;
use crate::domain::role::Role;
use crate::domain::team::{
    self, Choice, ConsentScope, Violation, ballot_code, check_rules, flagged, half_year,
};
use crate::domain::text::storable;
use crate::poster::PosterError;
use crate::poster::sheets::{self, GongshiRow, Slip, StaffCard};
use crate::store::StoreError;
use crate::store::teams::{
    self as store, Cast, ConsentRecord, ElectorRow, MemberRow, PublicationRow, StaffFields,
    StaffRow,
};
use crate::store::users::User;

/// Why a team use case refused.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    File(#[from] StaffFileError),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A conflict with its own code, for a page to tell apart (`ballot_used`, `vote_closed`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("the printout could not be made: {0}")]
    Print(#[from] PosterError),
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error(transparent)]
    Incident(#[from] IncidentError),
}

fn invalid(field: &str, message: impl Into<String>) -> TeamError {
    TeamError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

fn text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, TeamError> {
    let value = storable(field, value.trim()).map_err(|e| invalid(field, e.to_string()))?;
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    Ok(value)
}

/// Refuses unless `viewer` may handle the team of `cell` at `need`.
fn require(viewer: &User, cell: &str, need: TeamAccess) -> Result<(), TeamError> {
    if team_access(viewer.role, &viewer.cells, cell) >= need {
        Ok(())
    } else {
        Err(TeamError::Forbidden(match need {
            TeamAccess::Manage => {
                format!("only an admin or the leader of a cell above {cell} changes its team")
            }
            _ => format!("the team of {cell} is not yours to see"),
        }))
    }
}

/// The cell `code` must be in the current atlas.
fn cell_of<'a>(
    atlas: &'a Atlas,
    field: &str,
    code: &str,
) -> Result<&'a crate::atlas::AtlasCell, TeamError> {
    atlas
        .get(code)
        .ok_or_else(|| invalid(field, format!("no current cell has the code {code:?}")))
}

// ---- the staff import ----

/// One row of a staff import as reported.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffRowReport {
    pub line: u64,
    /// `written` (something changed), `unchanged` (already so) or `rejected`.
    pub status: &'static str,
    pub name: Option<String>,
    pub staff_id: Option<i64>,
    pub membership_id: Option<i64>,
    /// What was written: `new person`, `membership`, `consent`, `details`, `account`.
    pub changes: Vec<&'static str>,
    pub reason: Option<String>,
}

/// The outcome of a staff import.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffImport {
    pub format: String,
    pub rows: usize,
    pub written: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub report: Vec<StaffRowReport>,
}

impl StaffImport {
    /// Whether every row was written or already so (the CLI exits 1 otherwise).
    pub fn clean(&self) -> bool {
        self.rejected == 0
    }
}

/// Imports a staff list (xlsx or CSV). Every good row is written, each in its own savepoint
/// so a row the database refuses is reported and the others stand; a bad row changes nothing.
/// A leader may import only rows for the cells under it (others are rejected by line).
pub async fn import_staff(
    client: &mut Client,
    atlas: &Atlas,
    viewer: &User,
    bytes: &[u8],
    today: NaiveDate,
) -> Result<StaffImport, TeamError> {
    let (rows, format) = file::parse(bytes)?;
    let roles: HashMap<String, bool> = store::roles(&*client)
        .await?
        .into_iter()
        .map(|r| (r.name, r.scored))
        .collect();
    let by = format!("import by {}", viewer.name);
    let mut tx = client.transaction().await.map_err(StoreError::from)?;
    let mut report = Vec::with_capacity(rows.len());
    for row in &rows {
        let record = match row {
            Err(rejected) => {
                report.push(rejected_row(rejected.line, None, rejected.reason.clone()));
                continue;
            }
            Ok(r) => r,
        };
        if let Err(reason) = check_record(record, atlas, viewer, &roles) {
            report.push(rejected_row(record.line, Some(&record.name), reason));
            continue;
        }
        let sp = tx.transaction().await.map_err(StoreError::from)?;
        match write_record(&sp, record, today, &by).await {
            Ok(Ok(done)) => {
                sp.commit().await.map_err(StoreError::from)?;
                report.push(done);
            }
            Ok(Err(reason)) => {
                drop(sp);
                report.push(rejected_row(record.line, Some(&record.name), reason));
            }
            Err(e) => {
                drop(sp);
                // The driver's text goes to the log, not into a report a leader downloads.
                tracing::warn!(
                    line = record.line,
                    "staff import row refused by the database: {e}"
                );
                report.push(rejected_row(
                    record.line,
                    Some(&record.name),
                    "not written: the database refused the row (see the server log)".into(),
                ));
            }
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    report.sort_by_key(|r| r.line);
    let count = |s: &str| report.iter().filter(|r| r.status == s).count();
    Ok(StaffImport {
        format,
        rows: report.len(),
        written: count("written"),
        unchanged: count("unchanged"),
        rejected: count("rejected"),
        report,
    })
}

fn rejected_row(line: u64, name: Option<&str>, reason: String) -> StaffRowReport {
    StaffRowReport {
        line,
        status: "rejected",
        name: name.map(str::to_string),
        staff_id: None,
        membership_id: None,
        changes: Vec::new(),
        reason: Some(reason),
    }
}

fn check_record(
    r: &StaffRecord,
    atlas: &Atlas,
    viewer: &User,
    roles: &HashMap<String, bool>,
) -> Result<(), String> {
    for (field, value) in [("姓名", r.name.as_str()), ("角色", r.role.as_str())] {
        storable(field, value).map_err(|e| e.to_string())?;
    }
    if !roles.contains_key(&r.role) {
        let mut known: Vec<&str> = roles.keys().map(String::as_str).collect();
        known.sort();
        return Err(format!(
            "角色 {:?} is not in the role table ({})",
            r.role,
            known.join("、")
        ));
    }
    if atlas.get(&r.cell).is_none() {
        return Err(format!("网格编码 {} is not a current cell", r.cell));
    }
    if team_access(viewer.role, &viewer.cells, &r.cell) < TeamAccess::Manage {
        return Err(format!(
            "网格编码 {}: only an admin or the leader of a cell above it changes its team",
            r.cell
        ));
    }
    Ok(())
}

/// Writes one row; `Ok(Err(reason))` is a row refused for a reason found on the way.
async fn write_record(
    tx: &tokio_postgres::Transaction<'_>,
    r: &StaffRecord,
    today: NaiveDate,
    by: &str,
) -> Result<Result<StaffRowReport, String>, StoreError> {
    let fields = StaffFields {
        ext_id: r.ext_id.as_deref(),
        name: &r.name,
        phone: r.phone.as_deref(),
        office_phone: r.office_phone.as_deref(),
        duties: &r.duties,
    };
    let mut changes = Vec::new();
    let staff = match store::find_staff(tx, fields.ext_id, fields.name, fields.phone).await? {
        Some(id) => {
            if store::update_staff(tx, id, &fields).await? {
                changes.push("details");
            }
            id
        }
        None => {
            changes.push("new person");
            store::insert_staff(tx, &fields).await?
        }
    };
    if let Some(account) = &r.account {
        if !store::link_account(tx, staff, account).await? {
            return Ok(Err(format!("账号 {account:?} is not a user of gridmap")));
        }
        changes.push("account");
    }
    let membership = match store::current_membership(tx, staff, &r.cell, &r.role).await? {
        Some(id) => id,
        None => {
            changes.push("membership");
            store::add_membership(tx, staff, &r.cell, &r.role, r.since.unwrap_or(today), by).await?
        }
    };
    let now = store::current_consent(tx, staff).await?;
    let current = [now.name, now.photo, now.phone];
    for (scope, has) in ConsentScope::ALL.iter().zip(current) {
        if has != r.consent {
            store::record_consent(
                tx,
                staff,
                &ConsentRecord {
                    scope: *scope,
                    granted: r.consent,
                    given_on: today,
                    how: "名单导入（公开同意）",
                    note: Some(&format!("line {}", r.line)),
                    by,
                },
            )
            .await?;
            if !changes.contains(&"consent") {
                changes.push("consent");
            }
        }
    }
    // "account" alone, when it was already linked, is no change.
    let written = changes.iter().any(|c| *c != "account");
    Ok(Ok(StaffRowReport {
        line: r.line,
        status: if written { "written" } else { "unchanged" },
        name: Some(r.name.clone()),
        staff_id: Some(staff),
        membership_id: Some(membership),
        changes,
        reason: None,
    }))
}

// ---- teams and memberships ----

/// A cell's team on a day, with the team rules that team breaks.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamView {
    pub cell: String,
    pub name: String,
    pub at: NaiveDate,
    pub members: Vec<MemberRow>,
    pub violations: Vec<Violation>,
}

/// The team of `cell` and the cells under it on `at` (default today).
pub async fn team(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    cell: &str,
    at: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<TeamView, TeamError> {
    let c = cell_of(atlas, "cell", cell)?;
    require(viewer, cell, TeamAccess::Read)?;
    let at = at.unwrap_or(today);
    let mut members = store::members_on(client, cell, at).await?;
    for m in &mut members {
        m.cell_name = atlas.get(&m.cell).map(|c| c.name.clone());
    }
    let violations = violations_under(client, atlas, cell, at).await?;
    Ok(TeamView {
        cell: cell.to_string(),
        name: c.name.clone(),
        at,
        members,
        violations,
    })
}

async fn violations_under(
    client: &Client,
    atlas: &Atlas,
    cell: &str,
    at: NaiveDate,
) -> Result<Vec<Violation>, TeamError> {
    let rules = store::team_rules(client).await?;
    let counts = store::member_counts(client, cell, at).await?;
    let cells: Vec<(String, String, u8)> = atlas
        .cells()
        .iter()
        .filter(|c| c.code.starts_with(cell))
        .map(|c| (c.code.clone(), c.name.clone(), c.level))
        .collect();
    Ok(check_rules(&cells, &counts, &rules))
}

/// What a new person is written from.
#[derive(Debug, Clone)]
pub struct NewStaff<'a> {
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub ext_id: Option<&'a str>,
    pub office_phone: Option<&'a str>,
    pub duties: Vec<String>,
    pub account: Option<&'a str>,
    pub cell: &'a str,
    pub role: &'a str,
    pub since: Option<NaiveDate>,
}

async fn check_role(client: &Client, role: &str) -> Result<(), TeamError> {
    if store::roles(client).await?.iter().any(|r| r.name == role) {
        Ok(())
    } else {
        Err(invalid(
            "role",
            format!("{role:?} is not in the role table"),
        ))
    }
}

/// The staff file's phone rule, for a phone typed into the API.
fn check_phone(field: &str, phone: Option<&str>) -> Result<(), TeamError> {
    match phone.map(file::phone_of) {
        Some(Err(e)) => Err(invalid(field, e)),
        _ => Ok(()),
    }
}

/// Adds a person with a first membership; returns (staff id, membership id).
pub async fn add_staff(
    client: &mut Client,
    atlas: &Atlas,
    viewer: &User,
    new: &NewStaff<'_>,
    today: NaiveDate,
) -> Result<(i64, i64), TeamError> {
    let name = text("name", new.name, 40)?;
    cell_of(atlas, "cell", new.cell)?;
    require(viewer, new.cell, TeamAccess::Manage)?;
    check_role(client, new.role).await?;
    check_phone("phone", new.phone)?;
    check_phone("office_phone", new.office_phone)?;
    if let Some(ext) = new.ext_id {
        text("ext_id", ext, 64)?;
    }
    for d in &new.duties {
        text("duties", d, 200)?;
    }
    let tx = client.transaction().await.map_err(StoreError::from)?;
    if let Some(ext) = new.ext_id
        && store::find_staff(&tx, Some(ext), name, None)
            .await?
            .is_some()
    {
        return Err(TeamError::Conflict(format!(
            "a person with ext_id {ext:?} exists; add a membership to them instead"
        )));
    }
    let id = store::insert_staff(
        &tx,
        &StaffFields {
            ext_id: new.ext_id,
            name,
            phone: new.phone,
            office_phone: new.office_phone,
            duties: &new.duties,
        },
    )
    .await?;
    if let Some(account) = new.account
        && !store::link_account(&tx, id, account).await?
    {
        return Err(invalid(
            "account",
            format!("{account:?} is not a user of gridmap"),
        ));
    }
    let by = viewer.name.as_str();
    let m =
        store::add_membership(&tx, id, new.cell, new.role, new.since.unwrap_or(today), by).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((id, m))
}

/// A person with their whole history and consent records.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffDetail {
    pub staff: StaffRow,
    pub memberships: Vec<MemberRow>,
    pub consents: Vec<store::ConsentRow>,
}

async fn staff_checked(
    client: &Client,
    viewer: &User,
    id: i64,
    need: TeamAccess,
) -> Result<StaffRow, TeamError> {
    let row = store::staff(client, id)
        .await?
        .ok_or_else(|| TeamError::NotFound(format!("no staff member {id}")))?;
    let cells = store::current_cells(client, id).await?;
    if staff_access(viewer.role, &viewer.cells, &cells) < need {
        return Err(TeamError::Forbidden(format!(
            "staff member {id} is not in a team you may {}",
            if need == TeamAccess::Manage {
                "change"
            } else {
                "see"
            }
        )));
    }
    Ok(row)
}

pub async fn staff_detail(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    id: i64,
) -> Result<StaffDetail, TeamError> {
    let staff = staff_checked(client, viewer, id, TeamAccess::Read).await?;
    let mut memberships = store::history(client, id).await?;
    for m in &mut memberships {
        m.cell_name = atlas.get(&m.cell).map(|c| c.name.clone());
    }
    Ok(StaffDetail {
        memberships,
        consents: store::consents(client, id).await?,
        staff,
    })
}

/// A membership to add: the cell, the role, the first day (default today).
#[derive(Debug, Clone, Copy)]
pub struct NewMembership<'a> {
    pub cell: &'a str,
    pub role: &'a str,
    pub since: Option<NaiveDate>,
}

/// Adds a membership to an existing person (a second grid, another role).
pub async fn add_membership(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    staff: i64,
    new: NewMembership<'_>,
    today: NaiveDate,
) -> Result<i64, TeamError> {
    let NewMembership { cell, role, since } = new;
    cell_of(atlas, "cell", cell)?;
    require(viewer, cell, TeamAccess::Manage)?;
    check_role(client, role).await?;
    store::staff(client, staff)
        .await?
        .ok_or_else(|| TeamError::NotFound(format!("no staff member {staff}")))?;
    if store::current_membership(client, staff, cell, role)
        .await?
        .is_some()
    {
        return Err(TeamError::Conflict(format!(
            "staff member {staff} already serves {cell} as {role}"
        )));
    }
    Ok(store::add_membership(
        client,
        staff,
        cell,
        role,
        since.unwrap_or(today),
        &viewer.name,
    )
    .await?)
}

async fn membership_checked(
    client: &Client,
    viewer: &User,
    id: i64,
) -> Result<MemberRow, TeamError> {
    let m = store::membership(client, id)
        .await?
        .ok_or_else(|| TeamError::NotFound(format!("no membership {id}")))?;
    require(viewer, &m.cell, TeamAccess::Manage)?;
    if m.until.is_some() {
        return Err(TeamError::Conflict(format!(
            "membership {id} already ended on {}",
            m.until.map(|d| d.to_string()).unwrap_or_default()
        )));
    }
    Ok(m)
}

/// Ends a membership: `until` is the first day no longer served (default today).
pub async fn end_membership(
    client: &Client,
    viewer: &User,
    id: i64,
    until: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<MemberRow, TeamError> {
    let m = membership_checked(client, viewer, id).await?;
    let until = until.unwrap_or(today);
    if until < m.since {
        return Err(invalid(
            "until",
            format!("{until} is before the membership began ({})", m.since),
        ));
    }
    if !store::end_membership(client, id, until, &viewer.name).await? {
        return Err(TeamError::Conflict(format!(
            "membership {id} already ended"
        )));
    }
    store::membership(client, id)
        .await?
        .ok_or_else(|| TeamError::NotFound(format!("no membership {id}")))
}

/// Moves a person to another cell in the same role on `on`: the old membership ends that day and
/// the new one begins, in one transaction.
pub async fn move_membership(
    client: &mut Client,
    atlas: &Atlas,
    viewer: &User,
    id: i64,
    to: &str,
    on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(MemberRow, i64), TeamError> {
    cell_of(atlas, "to", to)?;
    let m = membership_checked(client, viewer, id).await?;
    require(viewer, to, TeamAccess::Manage)?;
    if m.cell == to {
        return Err(invalid("to", format!("the membership is already in {to}")));
    }
    let on = on.unwrap_or(today);
    if on < m.since {
        return Err(invalid(
            "on",
            format!("{on} is before the membership began ({})", m.since),
        ));
    }
    let tx = client.transaction().await.map_err(StoreError::from)?;
    if !store::end_membership(&tx, id, on, &viewer.name).await? {
        return Err(TeamError::Conflict(format!(
            "membership {id} already ended"
        )));
    }
    if store::current_membership(&tx, m.staff, to, &m.role)
        .await?
        .is_some()
    {
        return Err(TeamError::Conflict(format!(
            "staff member {} already serves {to} as {}",
            m.staff, m.role
        )));
    }
    let new = store::add_membership(&tx, m.staff, to, &m.role, on, &viewer.name).await?;
    tx.commit().await.map_err(StoreError::from)?;
    let ended = store::membership(client, id)
        .await?
        .ok_or_else(|| TeamError::NotFound(format!("no membership {id}")))?;
    Ok((ended, new))
}

/// A consent given or withdrawn.
#[derive(Debug, Clone)]
pub struct ConsentChange<'a> {
    pub scopes: Vec<ConsentScope>,
    pub granted: bool,
    pub how: &'a str,
    pub given_on: Option<NaiveDate>,
    pub note: Option<&'a str>,
}

/// Records a consent (or its withdrawal) per scope; public outputs follow it from the next
/// request on, since they read the current consent and cache nothing that carries staff.
pub async fn record_consent(
    client: &mut Client,
    viewer: &User,
    staff: i64,
    change: &ConsentChange<'_>,
    today: NaiveDate,
) -> Result<store::Consent, TeamError> {
    staff_checked(client, viewer, staff, TeamAccess::Manage).await?;
    if change.scopes.is_empty() {
        return Err(invalid("scopes", "name at least one of name, photo, phone"));
    }
    let how = text("how", change.how, 40)?;
    if let Some(n) = change.note {
        text("note", n, 500)?;
    }
    let on = change.given_on.unwrap_or(today);
    if on > today {
        return Err(invalid(
            "given_on",
            "a consent cannot be given in the future",
        ));
    }
    let tx = client.transaction().await.map_err(StoreError::from)?;
    for scope in &change.scopes {
        store::record_consent(
            &tx,
            staff,
            &ConsentRecord {
                scope: *scope,
                granted: change.granted,
                given_on: on,
                how,
                note: change.note,
                by: &viewer.name,
            },
        )
        .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(store::current_consent(client, staff).await?)
}

/// The three teams of "1+A+B" a role belongs to.
pub const TEAMS: [&str; 3] = ["网格员服务团队", "专业服务团队", "辅助团队"];

/// Adds or changes a role of the configurable table (admin): its team, whether the 千分制
/// assesses it, what it does. A role in use keeps its memberships.
pub async fn put_role(
    client: &Client,
    viewer: &User,
    name: &str,
    team: &str,
    scored: bool,
    description: &str,
) -> Result<store::RoleRow, TeamError> {
    if viewer.role != Role::Admin {
        return Err(TeamError::Forbidden(
            "an administrator changes the role table".into(),
        ));
    }
    let name = text("name", name, 20)?;
    if !TEAMS.contains(&team) {
        return Err(invalid(
            "team",
            format!("{team:?}: use {}", TEAMS.join(", ")),
        ));
    }
    let description =
        storable("description", description).map_err(|e| invalid("description", e.to_string()))?;
    if description.chars().count() > 200 {
        return Err(invalid("description", "at most 200 characters"));
    }
    Ok(store::put_role(client, name, team, scored, description).await?)
}

/// Team-rule violations under `cell` today.
pub async fn violations(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    cell: &str,
    today: NaiveDate,
) -> Result<Vec<Violation>, TeamError> {
    cell_of(atlas, "under", cell)?;
    require(viewer, cell, TeamAccess::Read)?;
    violations_under(client, atlas, cell, today).await
}

// ---- the electorate and the vote ----

/// Adds electors (name, 党员 | 村民代表 | 居民代表) to a grid; returns how many were new.
pub async fn add_electors(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    cell: &str,
    list: &[(String, String)],
) -> Result<u64, TeamError> {
    cell_of(atlas, "cell", cell)?;
    require(viewer, cell, TeamAccess::Manage)?;
    if list.is_empty() || list.len() > 10_000 {
        return Err(invalid("electors", "give 1 to 10,000 electors"));
    }
    for (i, (name, kind)) in list.iter().enumerate() {
        text(&format!("electors[{i}].name"), name, 40)?;
        if !team::ELECTOR_KINDS.contains(&kind.as_str()) {
            return Err(invalid(
                &format!("electors[{i}].kind"),
                format!("{kind:?}: use 党员, 村民代表 or 居民代表"),
            ));
        }
    }
    Ok(store::add_electors(client, cell, list, &viewer.name).await?)
}

/// One row of an electorate import.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ElectorRowReport {
    pub line: u64,
    pub name: Option<String>,
    /// `added`, `unchanged` (already entered) or `rejected`.
    pub status: &'static str,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ElectorImport {
    pub format: String,
    pub rows: usize,
    pub added: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub report: Vec<ElectorRowReport>,
}

/// Imports an electorate file (姓名, 类别, 网格编码; xlsx or CSV): every good row of a grid the
/// caller manages is entered, each bad row reported by line.
pub async fn import_electors(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    bytes: &[u8],
) -> Result<ElectorImport, TeamError> {
    let (rows, format) = file::parse_electors(bytes)?;
    let mut report = Vec::with_capacity(rows.len());
    let mut by_cell: BTreeMap<String, Vec<(u64, String, String)>> = BTreeMap::new();
    for row in rows {
        match row {
            Err(r) => report.push(ElectorRowReport {
                line: r.line,
                name: None,
                status: "rejected",
                reason: Some(r.reason),
            }),
            Ok(r) => {
                let refusal = match atlas.get(&r.cell) {
                    None => Some(format!("网格编码 {} is not a current cell", r.cell)),
                    Some(c) if c.level < 3 => {
                        Some(format!("网格编码 {} is a {}, not a grid", r.cell, c.kind))
                    }
                    Some(_)
                        if team_access(viewer.role, &viewer.cells, &r.cell)
                            < TeamAccess::Manage =>
                    {
                        Some(format!(
                            "网格编码 {}: only an admin or the leader of a cell above it enters its electorate",
                            r.cell
                        ))
                    }
                    Some(_) => None,
                };
                match refusal {
                    Some(reason) => report.push(ElectorRowReport {
                        line: r.line,
                        name: Some(r.name),
                        status: "rejected",
                        reason: Some(reason),
                    }),
                    None => by_cell
                        .entry(r.cell)
                        .or_default()
                        .push((r.line, r.name, r.kind)),
                }
            }
        }
    }
    for (cell, list) in by_cell {
        let known: std::collections::HashSet<(String, String)> = store::electors(client, &cell)
            .await?
            .into_iter()
            .filter(|e| e.cell == cell)
            .map(|e| (e.name, e.kind))
            .collect();
        let pairs: Vec<(String, String)> = list
            .iter()
            .map(|(_, n, k)| (n.clone(), k.clone()))
            .collect();
        store::add_electors(client, &cell, &pairs, &viewer.name).await?;
        let mut seen = std::collections::HashSet::new();
        for (line, name, kind) in list {
            let key = (name.clone(), kind);
            let fresh = !known.contains(&key) && seen.insert(key);
            report.push(ElectorRowReport {
                line,
                name: Some(name),
                status: if fresh { "added" } else { "unchanged" },
                reason: None,
            });
        }
    }
    report.sort_by_key(|r| r.line);
    let count = |s: &str| report.iter().filter(|r| r.status == s).count();
    Ok(ElectorImport {
        format,
        rows: report.len(),
        added: count("added"),
        unchanged: count("unchanged"),
        rejected: count("rejected"),
        report,
    })
}

/// The electorate under `cell`: admin, or a leader — for its own village too, showing the
/// grids it manages below it. A grid's own workers (its 网格长 among them) never see who votes on
/// them.
pub async fn electors(
    client: &Client,
    viewer: &User,
    cell: &str,
) -> Result<Vec<ElectorRow>, TeamError> {
    let leads_here = viewer
        .cells
        .iter()
        .any(|o| !o.is_empty() && o.len() < 15 && cell.starts_with(o.as_str()));
    if team_access(viewer.role, &viewer.cells, cell) < TeamAccess::Manage && !leads_here {
        return Err(TeamError::Forbidden(format!(
            "the electorate of {cell} is for an admin or a leader above its grids"
        )));
    }
    let mut rows = store::electors(client, cell).await?;
    rows.retain(|e| team_access(viewer.role, &viewer.cells, &e.cell) == TeamAccess::Manage);
    Ok(rows)
}

/// A ballot code as handed out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ballot {
    pub cell: String,
    pub code: String,
}

/// A vote as opened.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VoteOpened {
    pub id: i64,
    pub period: String,
    pub ballots: Vec<Ballot>,
}

/// Opens a vote on the 网格长 of each of `cells`: `ballots_per_cell` one-time codes per grid, or
/// as many as the grid's electorate when it is not given. The leader assessed is the grid's
/// 网格长 today, recorded with the vote. Admin only.
pub async fn open_vote(
    client: &mut Client,
    atlas: &Atlas,
    viewer: &User,
    period: &str,
    cells: &[String],
    ballots_per_cell: Option<u32>,
) -> Result<VoteOpened, TeamError> {
    if viewer.role != Role::Admin {
        return Err(TeamError::Forbidden("an administrator opens a vote".into()));
    }
    let period = text("period", period, 32)?;
    if cells.is_empty() || cells.len() > 5_000 {
        return Err(invalid("cells", "give 1 to 5,000 grid codes"));
    }
    if let Some(n) = ballots_per_cell
        && !(1..=5_000).contains(&n)
    {
        return Err(invalid("ballots_per_cell", "between 1 and 5,000"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, code) in cells.iter().enumerate() {
        let c = cell_of(atlas, &format!("cells[{i}]"), code)?;
        if c.level < 3 {
            return Err(invalid(
                &format!("cells[{i}]"),
                format!("{code} is a {}, not a grid", c.kind),
            ));
        }
        if !seen.insert(code.as_str()) {
            return Err(invalid(
                &format!("cells[{i}]"),
                format!("{code} is named twice"),
            ));
        }
    }
    let leaders = store::leaders(&*client, cells).await?;
    let electorate = store::elector_counts(&*client, cells).await?;
    let mut plan = Vec::with_capacity(cells.len());
    for (i, code) in cells.iter().enumerate() {
        let leader = *leaders.get(code).ok_or_else(|| {
            invalid(
                &format!("cells[{i}]"),
                format!("{code} has no 网格长 to assess"),
            )
        })?;
        let n = match ballots_per_cell {
            Some(n) => n as i32,
            None => match electorate.get(code) {
                Some(&n) if n > 0 => n as i32,
                _ => {
                    return Err(invalid(
                        "ballots_per_cell",
                        format!("{code} has no electorate entered; give ballots_per_cell"),
                    ));
                }
            },
        };
        plan.push((code.clone(), leader, n));
    }
    let codes = fresh_codes(&plan);
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let id = store::create_vote(&tx, period, &viewer.name, &plan, &codes).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(VoteOpened {
        id,
        period: period.to_string(),
        ballots: codes
            .into_iter()
            .map(|(code, cell)| Ballot { cell, code })
            .collect(),
    })
}

/// Distinct codes for every planned ballot, from the thread's CSPRNG (kept off the async path:
/// it is not `Send`).
fn fresh_codes(plan: &[(String, i64, i32)]) -> Vec<(String, String)> {
    let mut rng = rand::rng();
    let mut issued = std::collections::HashSet::new();
    let mut codes = Vec::new();
    for (cell, _, n) in plan {
        for _ in 0..*n {
            let code = loop {
                let c = ballot_code(&mut rng);
                if issued.insert(c.clone()) {
                    break c;
                }
            };
            codes.push((code, cell.clone()));
        }
    }
    codes
}

/// Casts a ballot. No token: the code is the voter's only credential, and nothing about who
/// held it is stored. Unknown → NotFound, used → Conflict, closed vote → Conflict.
pub async fn cast(client: &mut Client, code: &str, choice: &str) -> Result<(), TeamError> {
    let choice =
        Choice::parse(choice).ok_or_else(|| invalid("choice", "满意, 基本满意 or 不满意"))?;
    let Some(code) = team::normalise_ballot_code(code) else {
        return Err(TeamError::NotFound("no such ballot code".into()));
    };
    match store::cast(client, &code, choice).await? {
        Cast::Counted => Ok(()),
        Cast::Unknown => Err(TeamError::NotFound("no such ballot code".into())),
        Cast::Used => Err(TeamError::Refused {
            code: "ballot_used",
            message: "this ballot code has been used".into(),
        }),
        Cast::Closed => Err(TeamError::Refused {
            code: "vote_closed",
            message: "this vote is closed".into(),
        }),
    }
}

/// What a voter's page shows of a code before voting: the grid's name and whether it is usable.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BallotView {
    pub period: String,
    pub cell: String,
    pub grid: String,
    pub usable: bool,
    pub used: bool,
    pub closed: bool,
}

pub async fn ballot(client: &Client, atlas: &Atlas, code: &str) -> Result<BallotView, TeamError> {
    let code = team::normalise_ballot_code(code)
        .ok_or_else(|| TeamError::NotFound("no such ballot code".into()))?;
    let s = store::ballot_state(client, &code)
        .await?
        .ok_or_else(|| TeamError::NotFound("no such ballot code".into()))?;
    Ok(BallotView {
        grid: atlas
            .get(&s.cell)
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        usable: !s.used && !s.closed,
        period: s.period,
        cell: s.cell,
        used: s.used,
        closed: s.closed,
    })
}

/// One leader's result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeaderTally {
    pub cell: String,
    pub grid: String,
    pub leader_id: i64,
    pub leader: String,
    /// Codes issued for the grid.
    pub issued: i32,
    pub cast: i64,
    /// 满意 / 基本满意 / 不满意 → count.
    pub counts: BTreeMap<String, i64>,
    /// 不满意 > 1/3 of the ballots cast: "应予调整".
    pub flagged: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TallyView {
    pub id: i64,
    pub period: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub leaders: Vec<LeaderTally>,
    /// How many leaders are flagged.
    pub flagged: usize,
}

pub async fn tally(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    id: i64,
) -> Result<TallyView, TeamError> {
    if viewer.role != Role::Admin {
        return Err(TeamError::Forbidden(
            "an administrator reads the tally".into(),
        ));
    }
    tally_of(client, atlas, id).await
}

async fn tally_of(client: &Client, atlas: &Atlas, id: i64) -> Result<TallyView, TeamError> {
    let vote = store::vote(client, id)
        .await?
        .ok_or_else(|| TeamError::NotFound(format!("no vote {id}")))?;
    let leaders: Vec<LeaderTally> = store::tally(client, id)
        .await?
        .into_iter()
        .map(|t| {
            let counts: BTreeMap<String, i64> = Choice::ALL
                .iter()
                .map(|c| {
                    (
                        c.as_str().to_string(),
                        t.counts.get(c.as_str()).copied().unwrap_or(0),
                    )
                })
                .collect();
            let cast: i64 = counts.values().sum();
            let no = counts
                .get(Choice::Unsatisfied.as_str())
                .copied()
                .unwrap_or(0);
            LeaderTally {
                grid: atlas
                    .get(&t.cell)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                cell: t.cell,
                leader_id: t.leader_id,
                leader: t.leader_name,
                issued: t.ballots,
                cast,
                counts,
                flagged: flagged(no, cast),
            }
        })
        .collect();
    Ok(TallyView {
        id: vote.id,
        period: vote.period,
        opened_at: vote.opened_at,
        closed_at: vote.closed_at,
        flagged: leaders.iter().filter(|l| l.flagged).count(),
        leaders,
    })
}

/// Every vote with its size (admin).
pub async fn votes(client: &Client, viewer: &User) -> Result<Vec<store::VoteSummary>, TeamError> {
    if viewer.role != Role::Admin {
        return Err(TeamError::Forbidden(
            "an administrator lists the votes".into(),
        ));
    }
    Ok(store::votes(client).await?)
}

pub async fn close_vote(client: &Client, viewer: &User, id: i64) -> Result<(), TeamError> {
    if viewer.role != Role::Admin {
        return Err(TeamError::Forbidden(
            "an administrator closes a vote".into(),
        ));
    }
    store::vote(client, id)
        .await?
        .ok_or_else(|| TeamError::NotFound(format!("no vote {id}")))?;
    if !store::close_vote(client, id).await? {
        return Err(TeamError::Conflict(format!("vote {id} is already closed")));
    }
    Ok(())
}

/// The unused ballot codes of a vote as printable slips (PDF), each with a QR code of
/// `{base}/vote#code=CODE`.
pub async fn slips_pdf(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    id: i64,
    base: &str,
) -> Result<Vec<u8>, TeamError> {
    if viewer.role != Role::Admin {
        return Err(TeamError::Forbidden(
            "an administrator prints ballot slips".into(),
        ));
    }
    let vote = store::vote(client, id)
        .await?
        .ok_or_else(|| TeamError::NotFound(format!("no vote {id}")))?;
    let slips: Vec<Slip> = store::unused_codes(client, id)
        .await?
        .into_iter()
        .map(|(cell, code)| Slip {
            period: vote.period.clone(),
            grid: atlas.get(&cell).map(|c| c.name.clone()).unwrap_or(cell),
            link: format!("{base}/vote#code={code}"),
            code,
        })
        .collect();
    let pages = sheets::slip_pages(&slips)?;
    print(pages).await
}

async fn print(pages: Vec<String>) -> Result<Vec<u8>, TeamError> {
    let pdf = tokio::task::spawn_blocking(move || sheets::pages_to_pdf(&pages))
        .await
        .map_err(|e| TeamError::Print(PosterError::Pdf(e.to_string())))??;
    Ok(pdf)
}

// ---- the 千分制 half-year scores ----

/// One person's score in a period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonScore {
    pub staff: i64,
    pub name: String,
    pub role: String,
    pub cell: String,
    pub grid: String,
    pub account: Option<String>,
    pub score: Score,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScoresView {
    pub period: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub scheme: String,
    pub yuan_per_point: f64,
    /// The scheme's items: which are scored from the records and which by hand (`manual`).
    pub items: Vec<assessment::Item>,
    pub people: Vec<PersonScore>,
}

/// Scores every assessed member under `under` for the half-year `period` (`2026H1`): the items
/// from the records (patrols, coverage, logs, visits of the linked account; 按期结案率 and 满意率
/// of the person's grids) and the latest manual entries.
pub async fn scores(
    client: &Client,
    atlas: &Atlas,
    calendar: &Calendar,
    viewer: &User,
    period: &str,
    under: &str,
    now: DateTime<Utc>,
) -> Result<ScoresView, TeamError> {
    cell_of(atlas, "under", under)?;
    require(viewer, under, TeamAccess::Read)?;
    let today = local_day(now);
    let half = half_year(period, today).ok_or_else(|| {
        invalid(
            "period",
            format!("{period:?}: write a half-year as 2026H1 or 2026H2"),
        )
    })?;
    let scheme = store::scheme(client)
        .await?
        .ok_or_else(|| TeamError::NotFound("no active scoring scheme".into()))?;
    let members = store::scored_members(client, under, half.from, half.to).await?;
    // One row per person and cell: a person who served two grids is scored in each.
    let mut seen = std::collections::HashSet::new();
    let members: Vec<MemberRow> = members
        .into_iter()
        .filter(|m| seen.insert((m.staff, m.cell.clone())))
        .collect();
    let system = User {
        id: 0,
        name: "assessment".into(),
        role: Role::Admin,
        cells: Vec::new(),
        department: None,
    };
    let workers = if half.from <= today {
        fieldwork::compliance(client, atlas, calendar, &system, Some(under), half)
            .await?
            .1
    } else {
        Vec::new()
    };
    let by_account: HashMap<&str, &crate::domain::duty::WorkerCompliance> =
        workers.iter().map(|w| (w.worker.as_str(), w)).collect();
    let (from, _) = day_bounds(half.from);
    let (_, to) = day_bounds(half.to);
    let (today_start, _) = day_bounds(today);
    let stats = incidents::stats(
        client,
        calendar,
        &StatsQuery {
            from,
            to,
            today: today_start,
            unit_prefix: 15,
            code: Some(under.to_string()),
        },
        now,
    )
    .await?;
    let manual = store::manual_entries(client, period).await?;
    let groups: BTreeMap<&str, &crate::domain::kpi::Kpis> =
        stats.groups.iter().map(|g| (g.code.as_str(), g)).collect();
    let people = members
        .into_iter()
        .map(|m| {
            let w = m.account.as_deref().and_then(|a| by_account.get(a));
            let mut on_time = (0, 0);
            let mut satisfaction = (0, 0);
            // The grids under the person's cell, found in the sorted groups by their prefix.
            for g in groups
                .range(m.cell.as_str()..)
                .take_while(|(code, _)| code.starts_with(m.cell.as_str()))
                .map(|(_, g)| g)
            {
                on_time.0 += g.closed_on_time;
                on_time.1 += g.due;
                satisfaction.0 += g.satisfied;
                satisfaction.1 += g.rated;
            }
            let figures = Figures {
                linked: w.is_some(),
                patrol: w.map_or((0, 0), |w| (w.patrol_days, w.patrol_days_due)),
                coverage: w.and_then(|w| w.coverage),
                logs: w.map_or((0, 0), |w| (w.logs_written, w.logs_due)),
                visits: w.map_or((0, 0), |w| (w.visits_done, w.visits_due)),
                on_time,
                satisfaction,
                manual: scheme
                    .items
                    .iter()
                    .filter_map(|i| {
                        manual
                            .get(&(m.staff, i.key.clone()))
                            .map(|e| (i.key.clone(), e.clone()))
                    })
                    .collect(),
            };
            PersonScore {
                score: assessment::score(&scheme, &figures),
                grid: atlas
                    .get(&m.cell)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                staff: m.staff,
                name: m.name,
                role: m.role,
                cell: m.cell,
                account: m.account,
            }
        })
        .collect();
    Ok(ScoresView {
        period: period.to_string(),
        from: half.from,
        to: half.to,
        scheme: scheme.name.clone(),
        yuan_per_point: scheme.yuan_per_point,
        items: scheme.items.clone(),
        people,
    })
}

/// A leader's manual item for a person: points within the item's maximum, and a reason.
pub async fn enter_score(
    client: &Client,
    viewer: &User,
    period: &str,
    staff: i64,
    item: &str,
    points: f64,
    reason: &str,
) -> Result<i64, TeamError> {
    if half_year(period, NaiveDate::MAX).is_none() {
        return Err(invalid(
            "period",
            format!("{period:?}: write a half-year as 2026H1 or 2026H2"),
        ));
    }
    let scheme = store::scheme(client)
        .await?
        .ok_or_else(|| TeamError::NotFound("no active scoring scheme".into()))?;
    let it = scheme.item(item).ok_or_else(|| {
        invalid(
            "item",
            format!("{item:?} is not an item of {}", scheme.name),
        )
    })?;
    if it.source != assessment::Source::Manual {
        return Err(invalid(
            "item",
            format!("{item} is scored from the records, not by hand"),
        ));
    }
    if !points.is_finite() || points < 0.0 || points > it.max_points {
        return Err(invalid(
            "points",
            format!("between 0 and {}", it.max_points),
        ));
    }
    let reason = text("reason", reason, 500)?;
    // Entered by a leader of the person's cells, never by the person themselves or a peer.
    let row = store::staff(client, staff)
        .await?
        .ok_or_else(|| TeamError::NotFound(format!("no staff member {staff}")))?;
    let cells = store::current_cells(client, staff).await?;
    if staff_access(viewer.role, &viewer.cells, &cells) < TeamAccess::Manage {
        return Err(TeamError::Forbidden(format!(
            "only an admin or a leader above {}'s grids scores them",
            row.name
        )));
    }
    Ok(store::add_entry(client, period, staff, item, points, reason, &viewer.name).await?)
}

/// The scores as CSV (UTF-8 with BOM, so Excel reads the Chinese) or xlsx.
pub fn export_scores(view: &ScoresView, xlsx: bool) -> Result<Vec<u8>, TeamError> {
    use crate::codec::table::{self, Cell, Format};
    let mut header: Vec<String> = ["姓名", "角色", "网格编码", "网格"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(p) = view.people.first() {
        header.extend(p.score.items.iter().map(|i| i.name.clone()));
    }
    header.extend(["总分".to_string(), "补贴（元）".to_string()]);
    let rows: Vec<Vec<Cell>> = view
        .people
        .iter()
        .map(|p| {
            let mut row: Vec<Cell> = [&p.name, &p.role, &p.cell, &p.grid]
                .iter()
                .map(|v| Cell::Text(v.to_string()))
                .collect();
            row.extend(p.score.items.iter().map(|i| Cell::Number(i.points)));
            row.extend([Cell::Number(p.score.total), Cell::Number(p.score.yuan)]);
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let format = if xlsx { Format::Xlsx } else { Format::Csv };
    table::write(
        format,
        &format!("{} 千分制", view.period),
        &header,
        &rows,
        1,
    )
    .map_err(|e| TeamError::Print(PosterError::Pdf(e.to_string())))
}

// ---- 公示 ----

/// What to publish: the period's label, the cell whose grids, the vote whose tally.
#[derive(Debug, Clone, Copy)]
pub struct Publish<'a> {
    pub period: &'a str,
    pub under: &'a str,
    pub vote: Option<i64>,
}

/// Publishes the results of the grids under `under` (a village): per leader the vote's counts
/// (when `vote` is given) and the half-year score. Admin only. Frozen at publication; no voter
/// data exists to publish (ballots are counts).
pub async fn publish(
    client: &Client,
    atlas: &Atlas,
    calendar: &Calendar,
    viewer: &User,
    what: Publish<'_>,
    now: DateTime<Utc>,
) -> Result<i64, TeamError> {
    let Publish {
        period,
        under,
        vote,
    } = what;
    if viewer.role != Role::Admin {
        return Err(TeamError::Forbidden(
            "an administrator publishes results".into(),
        ));
    }
    cell_of(atlas, "under", under)?;
    let label = text("period", period, 32)?;
    let tally = match vote {
        Some(id) => {
            let t = tally_of(client, atlas, id).await?;
            if !t.leaders.iter().any(|l| l.cell.starts_with(under)) {
                return Err(invalid(
                    "vote",
                    format!("vote {id} assessed no grid under {under}"),
                ));
            }
            Some(t)
        }
        None => None,
    };
    // The score of the half-year named, or the second half of a year named alone.
    let half = if half_year(label, NaiveDate::MAX).is_some() {
        Some(label.to_string())
    } else if label.len() == 4 && label.bytes().all(|b| b.is_ascii_digit()) {
        Some(format!("{label}H2"))
    } else {
        None
    };
    let scores = match &half {
        Some(h) => Some(scores(client, atlas, calendar, viewer, h, under, now).await?),
        None => None,
    };
    let mut rows: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(t) = &tally {
        for l in t.leaders.iter().filter(|l| l.cell.starts_with(under)) {
            rows.insert(
                l.cell.clone(),
                json!({"cell": l.cell, "grid": l.grid, "leader_id": l.leader_id,
                       "counts": l.counts, "cast": l.cast, "flagged": l.flagged}),
            );
        }
    }
    if let Some(s) = &scores {
        for p in s.people.iter().filter(|p| p.role == "网格长") {
            let entry = rows
                .entry(p.cell.clone())
                .or_insert_with(|| json!({"cell": p.cell, "grid": p.grid, "leader_id": p.staff}));
            if entry["leader_id"] == json!(p.staff) {
                entry["score"] = json!(p.score.total);
            }
        }
    }
    if rows.is_empty() {
        return Err(invalid(
            "under",
            format!("nothing to publish under {under}: no leader in the vote or scores"),
        ));
    }
    let results = json!({
        "score_period": half,
        "rows": rows.into_values().collect::<Vec<_>>(),
    });
    Ok(store::publish(client, label, under, vote, &results, &viewer.name).await?)
}

/// A grid's published result as the public may see it: the leader's name only with consent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicResult {
    pub period: String,
    pub published_at: DateTime<Utc>,
    pub leader: Option<String>,
    pub counts: Option<Value>,
    pub cast: Option<i64>,
    pub flagged: Option<bool>,
    pub score: Option<f64>,
}

/// The latest 公示 covering `cell`, for its public card.
pub async fn public_result(client: &Client, cell: &str) -> Result<Option<PublicResult>, TeamError> {
    let Some(p) = store::publication_for(client, cell).await? else {
        return Ok(None);
    };
    let Some(row) = p.results["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["cell"] == cell))
    else {
        return Ok(None);
    };
    let leader_id = row["leader_id"].as_i64();
    let names = store::public_names(client, &leader_id.into_iter().collect::<Vec<_>>()).await?;
    Ok(Some(PublicResult {
        period: p.period,
        published_at: p.published_at,
        leader: leader_id.and_then(|id| names.get(&id).cloned().flatten()),
        counts: row.get("counts").cloned(),
        cast: row["cast"].as_i64(),
        flagged: row["flagged"].as_bool(),
        score: row["score"].as_f64(),
    }))
}

pub async fn publications(
    client: &Client,
    viewer: &User,
    under: &str,
) -> Result<Vec<PublicationRow>, TeamError> {
    require(viewer, under, TeamAccess::Read)?;
    Ok(store::publications_under(client, under).await?)
}

/// The printable 公示 sheet of the latest publication for `under` (public: it is what was
/// posted on the village's notice board), names as consented now.
pub async fn gongshi_pdf(
    client: &Client,
    atlas: &Atlas,
    under: &str,
    supervision_phone: Option<&str>,
) -> Result<Vec<u8>, TeamError> {
    let cell = cell_of(atlas, "code", under)?;
    let p = store::publications_under(client, under)
        .await?
        .into_iter()
        .find(|p| p.under == under)
        .ok_or_else(|| TeamError::NotFound(format!("nothing has been published for {under}")))?;
    let rows: Vec<Value> = p.results["rows"].as_array().cloned().unwrap_or_default();
    let ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| r["leader_id"].as_i64())
        .collect();
    let names = store::public_names(client, &ids).await?;
    let count = |r: &Value, k: &str| r["counts"][k].as_i64().unwrap_or(0);
    let table: Vec<GongshiRow> = rows
        .iter()
        .map(|r| GongshiRow {
            grid: r["grid"].as_str().unwrap_or_default().to_string(),
            leader: r["leader_id"]
                .as_i64()
                .and_then(|id| names.get(&id).cloned().flatten()),
            satisfied: count(r, "满意"),
            basic: count(r, "基本满意"),
            unsatisfied: count(r, "不满意"),
            flagged: r["flagged"].as_bool().unwrap_or(false),
            score: r["score"].as_f64(),
        })
        .collect();
    let published = p
        .published_at
        .with_timezone(&crate::domain::calendar::china())
        .format("%Y年%m月%d日")
        .to_string();
    let title = atlas
        .chain(cell)
        .collect::<Vec<_>>()
        .iter()
        .rev()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join("");
    let pages = sheets::gongshi_pages(&title, &p.period, &published, supervision_phone, &table);
    print(pages).await
}

// ---- the 网格员证 ----

/// The 网格员证 of the current team under `cell` (or one person), ten to an A4 page: photo only
/// with consent, name, role, grid, the office phone and a QR code to the grid's public card.
pub async fn cards_pdf(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    cell: &str,
    staff: Option<i64>,
    base: &str,
    today: NaiveDate,
) -> Result<Vec<u8>, TeamError> {
    cell_of(atlas, "cell", cell)?;
    require(viewer, cell, TeamAccess::Read)?;
    let members: Vec<MemberRow> = store::members_on(client, cell, today)
        .await?
        .into_iter()
        .filter(|m| staff.is_none_or(|s| s == m.staff))
        .collect();
    if members.is_empty() {
        return Err(TeamError::NotFound(format!(
            "no current team member under {cell}"
        )));
    }
    // A village leader prints its grids' cards (not its village-level colleagues').
    let members: Vec<MemberRow> = members
        .into_iter()
        .filter(|m| team_access(viewer.role, &viewer.cells, &m.cell) == TeamAccess::Manage)
        .collect();
    if members.is_empty() {
        return Err(TeamError::Forbidden(format!(
            "only an admin or a leader above their grids prints the cards under {cell}"
        )));
    }
    let issuer = atlas
        .get(cell)
        .map(|c| {
            atlas
                .chain(c)
                .find(|a| a.level == 1)
                .or_else(|| atlas.chain(c).last())
                .map(|a| a.name.clone())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let mut cards = Vec::with_capacity(members.len());
    // The office phone: the person's own, else their village committee's (a cell attribute).
    let mut offices: HashMap<String, Option<String>> = HashMap::new();
    for m in members {
        let detail = store::staff(client, m.staff).await?;
        let village = m.cell.get(..12).unwrap_or(&m.cell).to_string();
        if !offices.contains_key(&village) {
            let phone = crate::store::cards::attribute(client, &village, "office_phone").await?;
            offices.insert(village.clone(), phone);
        }
        let office_phone = detail
            .and_then(|d| d.office_phone)
            .or_else(|| offices.get(&village).cloned().flatten());
        let photo = match crate::store::cards::public_photo(client, m.staff).await? {
            Some((kind, bytes)) => {
                use base64::Engine;
                Some(format!(
                    "data:{kind};base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                ))
            }
            None => None,
        };
        cards.push(StaffCard {
            grid: atlas
                .get(&m.cell)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            link: format!("{base}/g/{}", m.cell),
            grid_code: m.cell,
            name: m.name,
            role: m.role,
            office_phone,
            photo,
            issuer: issuer.clone(),
        });
    }
    let pages = sheets::staff_card_pages(&cards)?;
    print(pages).await
}
