//! Teams in PostGIS (migration 0009): staff, memberships with from–to dates, consent records,
//! team rules, the 千分制 scheme and manual entries, the electorate, votes with one-time codes
//! and counts, and the published 公示.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::GenericClient;

use super::StoreResult;
use crate::domain::assessment::{Item, Manual, Scheme, Source};
use crate::domain::team::{Choice, ConsentScope, TeamRule};

/// A role of the configurable table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleRow {
    pub name: String,
    pub team: String,
    /// Assessed under the 千分制 scheme.
    pub scored: bool,
    pub description: String,
}

pub async fn roles(client: &impl GenericClient) -> StoreResult<Vec<RoleRow>> {
    Ok(client
        .query(
            "SELECT name, team, scored, description FROM staff_roles ORDER BY sort, name",
            &[],
        )
        .await?
        .iter()
        .map(|r| RoleRow {
            name: r.get(0),
            team: r.get(1),
            scored: r.get(2),
            description: r.get(3),
        })
        .collect())
}

/// Adds or changes a role of the table.
pub async fn put_role(
    client: &impl GenericClient,
    name: &str,
    team: &str,
    scored: bool,
    description: &str,
) -> StoreResult<RoleRow> {
    let r = client
        .query_one(
            "INSERT INTO staff_roles (name, team, scored, description, sort)
             VALUES ($1, $2, $3, $4, (SELECT coalesce(max(sort), 0) + 1 FROM staff_roles))
             ON CONFLICT (name) DO UPDATE SET team = $2, scored = $3, description = $4
             RETURNING name, team, scored, description",
            &[&name, &team, &scored, &description],
        )
        .await?;
    Ok(RoleRow {
        name: r.get(0),
        team: r.get(1),
        scored: r.get(2),
        description: r.get(3),
    })
}

pub async fn team_rules(client: &impl GenericClient) -> StoreResult<Vec<TeamRule>> {
    Ok(client
        .query(
            "SELECT level, role, min, max, description FROM team_rules ORDER BY level, role",
            &[],
        )
        .await?
        .iter()
        .map(|r| TeamRule {
            level: r.get(0),
            role: r.get(1),
            min: r.get(2),
            max: r.get(3),
            description: r.get(4),
        })
        .collect())
}

/// Members active on `day` per (cell, role) among the cells under `prefix`.
pub async fn member_counts(
    client: &impl GenericClient,
    prefix: &str,
    day: NaiveDate,
) -> StoreResult<HashMap<(String, String), i64>> {
    Ok(client
        .query(
            "SELECT cell_code, role, count(*) FROM cell_staff
             WHERE starts_with(cell_code, $1) AND since <= $2 AND (until IS NULL OR until > $2)
             GROUP BY cell_code, role",
            &[&prefix, &day],
        )
        .await?
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect())
}

/// A membership and its person, as the team pages show them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberRow {
    pub membership: i64,
    pub staff: i64,
    pub name: String,
    pub phone: Option<String>,
    pub role: String,
    pub cell: String,
    /// The cell's name, filled from the atlas by the use case that shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_name: Option<String>,
    pub since: NaiveDate,
    pub until: Option<NaiveDate>,
    /// The app account linked to the person.
    pub account: Option<String>,
    pub consent: Consent,
}

/// The current consent per scope.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Consent {
    pub name: bool,
    pub photo: bool,
    pub phone: bool,
}

const MEMBER_COLUMNS: &str =
    "cs.id, s.id, s.name, s.phone, cs.role, cs.cell_code, cs.since, cs.until,
     u.name, c.name, c.photo, c.phone
     FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
     JOIN staff_consent c ON c.staff_id = s.id
     LEFT JOIN users u ON u.id = s.user_id
     LEFT JOIN staff_roles r ON r.name = cs.role";

fn member_of(r: &tokio_postgres::Row) -> MemberRow {
    MemberRow {
        membership: r.get(0),
        staff: r.get(1),
        name: r.get(2),
        phone: r.get(3),
        role: r.get(4),
        cell: r.get(5),
        cell_name: None,
        since: r.get(6),
        until: r.get(7),
        account: r.get(8),
        consent: Consent {
            name: r.get(9),
            photo: r.get(10),
            phone: r.get(11),
        },
    }
}

/// The team on `day` of the cells under `prefix` (the cell itself included).
pub async fn members_on(
    client: &impl GenericClient,
    prefix: &str,
    day: NaiveDate,
) -> StoreResult<Vec<MemberRow>> {
    Ok(client
        .query(
            &format!(
                "SELECT {MEMBER_COLUMNS}
                 WHERE starts_with(cs.cell_code, $1) AND cs.since <= $2 AND (cs.until IS NULL OR cs.until > $2)
                 ORDER BY cs.cell_code, coalesce(r.sort, 1000), s.name"
            ),
            &[&prefix, &day],
        )
        .await?
        .iter()
        .map(member_of)
        .collect())
}

/// Memberships under `prefix` sharing a day with `[from, to]`, in roles assessed by the scheme.
pub async fn scored_members(
    client: &impl GenericClient,
    prefix: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<MemberRow>> {
    Ok(client
        .query(
            &format!(
                "SELECT {MEMBER_COLUMNS}
                 WHERE starts_with(cs.cell_code, $1) AND cs.since <= $3 AND (cs.until IS NULL OR cs.until > $2)
                   AND r.scored AND cs.until IS DISTINCT FROM cs.since
                 ORDER BY cs.cell_code, coalesce(r.sort, 1000), s.name"
            ),
            &[&prefix, &from, &to],
        )
        .await?
        .iter()
        .map(member_of)
        .collect())
}

/// Every membership a person ever held, newest first.
pub async fn history(client: &impl GenericClient, staff: i64) -> StoreResult<Vec<MemberRow>> {
    Ok(client
        .query(
            &format!(
                "SELECT {MEMBER_COLUMNS} WHERE cs.staff_id = $1 ORDER BY cs.since DESC, cs.id DESC"
            ),
            &[&staff],
        )
        .await?
        .iter()
        .map(member_of)
        .collect())
}

pub async fn membership(client: &impl GenericClient, id: i64) -> StoreResult<Option<MemberRow>> {
    Ok(client
        .query_opt(&format!("SELECT {MEMBER_COLUMNS} WHERE cs.id = $1"), &[&id])
        .await?
        .as_ref()
        .map(member_of))
}

/// A person's record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffRow {
    pub id: i64,
    pub ext_id: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub office_phone: Option<String>,
    pub duties: Vec<String>,
    pub has_photo: bool,
    pub account: Option<String>,
    pub consent: Consent,
}

pub async fn staff(client: &impl GenericClient, id: i64) -> StoreResult<Option<StaffRow>> {
    Ok(client
        .query_opt(
            "SELECT s.id, s.ext_id, s.name, s.phone, s.office_phone, s.duties, s.photo_bytes IS NOT NULL,
                    u.name, c.name, c.photo, c.phone
             FROM staff s JOIN staff_consent c ON c.staff_id = s.id LEFT JOIN users u ON u.id = s.user_id
             WHERE s.id = $1",
            &[&id],
        )
        .await?
        .map(|r| StaffRow {
            id: r.get(0),
            ext_id: r.get(1),
            name: r.get(2),
            phone: r.get(3),
            office_phone: r.get(4),
            duties: r.get(5),
            has_photo: r.get(6),
            account: r.get(7),
            consent: Consent {
                name: r.get(8),
                photo: r.get(9),
                phone: r.get(10),
            },
        }))
}

/// The cells a person serves today (what access to the record is decided on).
pub async fn current_cells(client: &impl GenericClient, staff: i64) -> StoreResult<Vec<String>> {
    Ok(client
        .query(
            "SELECT DISTINCT cell_code FROM cell_staff WHERE staff_id = $1 AND until IS NULL",
            &[&staff],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// A person by the township's id, else by name and phone.
pub async fn find_staff(
    client: &impl GenericClient,
    ext_id: Option<&str>,
    name: &str,
    phone: Option<&str>,
) -> StoreResult<Option<i64>> {
    if let Some(ext) = ext_id {
        return Ok(client
            .query_opt("SELECT id FROM staff WHERE ext_id = $1", &[&ext])
            .await?
            .map(|r| r.get(0)));
    }
    let Some(phone) = phone else {
        return Ok(None);
    };
    Ok(client
        .query_opt(
            "SELECT id FROM staff WHERE name = $1 AND phone = $2 ORDER BY id LIMIT 1",
            &[&name, &phone],
        )
        .await?
        .map(|r| r.get(0)))
}

/// What a person's record is written from.
#[derive(Debug, Clone, Default)]
pub struct StaffFields<'a> {
    pub ext_id: Option<&'a str>,
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub office_phone: Option<&'a str>,
    pub duties: &'a [String],
}

pub async fn insert_staff(client: &impl GenericClient, f: &StaffFields<'_>) -> StoreResult<i64> {
    Ok(client
        .query_one(
            "INSERT INTO staff (ext_id, name, phone, office_phone, duties)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&f.ext_id, &f.name, &f.phone, &f.office_phone, &f.duties],
        )
        .await?
        .get(0))
}

/// Updates the fields a file gives; returns whether anything changed.
pub async fn update_staff(
    client: &impl GenericClient,
    id: i64,
    f: &StaffFields<'_>,
) -> StoreResult<bool> {
    Ok(client
        .execute(
            "UPDATE staff SET name = $2, phone = coalesce($3, phone),
                    office_phone = coalesce($4, office_phone),
                    duties = CASE WHEN cardinality($5::text[]) > 0 THEN $5 ELSE duties END
             WHERE id = $1 AND (name, phone, office_phone, duties) IS DISTINCT FROM
                   ($2, coalesce($3, phone), coalesce($4, office_phone),
                    CASE WHEN cardinality($5::text[]) > 0 THEN $5 ELSE duties END)",
            &[&id, &f.name, &f.phone, &f.office_phone, &f.duties],
        )
        .await?
        > 0)
}

/// Links a person to an app account by its name; false when there is no such user.
pub async fn link_account(
    client: &impl GenericClient,
    staff: i64,
    user: &str,
) -> StoreResult<bool> {
    Ok(client
        .execute(
            "UPDATE staff SET user_id = u.id FROM users u
             WHERE staff.id = $1 AND u.name = $2 AND staff.user_id IS DISTINCT FROM u.id",
            &[&staff, &user],
        )
        .await?
        > 0
        || client
            .query_opt(
                "SELECT 1 FROM staff s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND u.name = $2",
                &[&staff, &user],
            )
            .await?
            .is_some())
}

/// Links the first current member of `cell` in `role` without an account to `user` (the demo's
/// workers); false when there is none.
pub async fn link_first(
    client: &impl GenericClient,
    cell: &str,
    role: &str,
    user: i64,
) -> StoreResult<bool> {
    Ok(client
        .execute(
            "UPDATE staff SET user_id = $3 WHERE id = (
                 SELECT cs.staff_id FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
                 WHERE cs.cell_code = $1 AND cs.role = $2 AND cs.until IS NULL AND s.user_id IS NULL
                 ORDER BY cs.id LIMIT 1)",
            &[&cell, &role, &user],
        )
        .await?
        > 0)
}

/// A current membership of `staff` in `cell` as `role`, if one exists.
pub async fn current_membership(
    client: &impl GenericClient,
    staff: i64,
    cell: &str,
    role: &str,
) -> StoreResult<Option<i64>> {
    Ok(client
        .query_opt(
            "SELECT id FROM cell_staff WHERE staff_id = $1 AND cell_code = $2 AND role = $3 AND until IS NULL",
            &[&staff, &cell, &role],
        )
        .await?
        .map(|r| r.get(0)))
}

pub async fn add_membership(
    client: &impl GenericClient,
    staff: i64,
    cell: &str,
    role: &str,
    since: NaiveDate,
    by: &str,
) -> StoreResult<i64> {
    Ok(client
        .query_one(
            "INSERT INTO cell_staff (cell_code, staff_id, role, since, changed_by)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&cell, &staff, &role, &since, &by],
        )
        .await?
        .get(0))
}

/// Ends a current membership on `until`; false when it had already ended.
pub async fn end_membership(
    client: &impl GenericClient,
    id: i64,
    until: NaiveDate,
    by: &str,
) -> StoreResult<bool> {
    Ok(client
        .execute(
            "UPDATE cell_staff SET until = $2, changed_by = $3 WHERE id = $1 AND until IS NULL",
            &[&id, &until, &by],
        )
        .await?
        > 0)
}

/// One consent record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentRow {
    pub scope: String,
    pub granted: bool,
    pub given_on: NaiveDate,
    pub how: String,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

pub async fn consents(client: &impl GenericClient, staff: i64) -> StoreResult<Vec<ConsentRow>> {
    Ok(client
        .query(
            "SELECT scope, granted, given_on, how, note, recorded_by, recorded_at
             FROM staff_consents WHERE staff_id = $1 ORDER BY id DESC",
            &[&staff],
        )
        .await?
        .iter()
        .map(|r| ConsentRow {
            scope: r.get(0),
            granted: r.get(1),
            given_on: r.get(2),
            how: r.get(3),
            note: r.get(4),
            recorded_by: r.get(5),
            recorded_at: r.get(6),
        })
        .collect())
}

pub async fn current_consent(client: &impl GenericClient, staff: i64) -> StoreResult<Consent> {
    Ok(client
        .query_opt(
            "SELECT name, photo, phone FROM staff_consent WHERE staff_id = $1",
            &[&staff],
        )
        .await?
        .map(|r| Consent {
            name: r.get(0),
            photo: r.get(1),
            phone: r.get(2),
        })
        .unwrap_or_default())
}

/// How a consent was given or withdrawn.
#[derive(Debug, Clone)]
pub struct ConsentRecord<'a> {
    pub scope: ConsentScope,
    pub granted: bool,
    pub given_on: NaiveDate,
    pub how: &'a str,
    pub note: Option<&'a str>,
    pub by: &'a str,
}

pub async fn record_consent(
    client: &impl GenericClient,
    staff: i64,
    c: &ConsentRecord<'_>,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO staff_consents (staff_id, scope, granted, given_on, how, note, recorded_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &staff,
                &c.scope.as_str(),
                &c.granted,
                &c.given_on,
                &c.how,
                &c.note,
                &c.by,
            ],
        )
        .await?;
    Ok(())
}

// ---- the 千分制 scheme ----

/// The active scheme with its items.
pub async fn scheme(client: &impl GenericClient) -> StoreResult<Option<Scheme>> {
    let Some(head) = client
        .query_opt(
            "SELECT name, yuan_per_point FROM score_schemes WHERE active",
            &[],
        )
        .await?
    else {
        return Ok(None);
    };
    let name: String = head.get(0);
    let items = client
        .query(
            "SELECT key, name, source, max_points, description FROM score_items
             WHERE scheme = $1 ORDER BY sort, key",
            &[&name],
        )
        .await?
        .iter()
        .filter_map(|r| {
            Some(Item {
                key: r.get(0),
                name: r.get(1),
                source: Source::parse(r.get(2))?,
                max_points: r.get(3),
                description: r.get(4),
            })
        })
        .collect();
    Ok(Some(Scheme {
        name,
        yuan_per_point: head.get(1),
        items,
    }))
}

/// The latest manual entry per (person, item) of a period.
pub async fn manual_entries(
    client: &impl GenericClient,
    period: &str,
) -> StoreResult<HashMap<(i64, String), Manual>> {
    Ok(client
        .query(
            "SELECT DISTINCT ON (staff_id, item) staff_id, item, points, scored_by, reason
             FROM score_entries WHERE period = $1 ORDER BY staff_id, item, id DESC",
            &[&period],
        )
        .await?
        .iter()
        .map(|r| {
            (
                (r.get(0), r.get(1)),
                Manual {
                    points: r.get(2),
                    by: r.get(3),
                    reason: r.get(4),
                },
            )
        })
        .collect())
}

pub async fn add_entry(
    client: &impl GenericClient,
    period: &str,
    staff: i64,
    item: &str,
    points: f64,
    reason: &str,
    by: &str,
) -> StoreResult<i64> {
    Ok(client
        .query_one(
            "INSERT INTO score_entries (period, staff_id, item, points, reason, scored_by)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[&period, &staff, &item, &points, &reason, &by],
        )
        .await?
        .get(0))
}

// ---- the electorate and the vote ----

/// One elector (personal data: authorised endpoints only).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ElectorRow {
    pub id: i64,
    pub cell: String,
    pub name: String,
    pub kind: String,
}

pub async fn electors(client: &impl GenericClient, prefix: &str) -> StoreResult<Vec<ElectorRow>> {
    Ok(client
        .query(
            "SELECT id, cell_code, name, kind FROM electors WHERE starts_with(cell_code, $1)
             ORDER BY cell_code, kind, name",
            &[&prefix],
        )
        .await?
        .iter()
        .map(|r| ElectorRow {
            id: r.get(0),
            cell: r.get(1),
            name: r.get(2),
            kind: r.get(3),
        })
        .collect())
}

/// Adds electors to a cell; returns how many were new.
pub async fn add_electors(
    client: &impl GenericClient,
    cell: &str,
    list: &[(String, String)],
    by: &str,
) -> StoreResult<u64> {
    let (names, kinds): (Vec<&str>, Vec<&str>) =
        list.iter().map(|(n, k)| (n.as_str(), k.as_str())).unzip();
    Ok(client
        .execute(
            "INSERT INTO electors (cell_code, name, kind, added_by)
             SELECT $1, n, k, $4 FROM unnest($2::text[], $3::text[]) AS t(n, k)
             ON CONFLICT DO NOTHING",
            &[&cell, &names, &kinds, &by],
        )
        .await?)
}

pub async fn elector_counts(
    client: &impl GenericClient,
    cells: &[String],
) -> StoreResult<HashMap<String, i64>> {
    Ok(client
        .query(
            "SELECT cell_code, count(*) FROM electors WHERE cell_code = ANY($1) GROUP BY cell_code",
            &[&cells],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// The current 网格长 of each cell (the first by membership start when there are several).
pub async fn leaders(
    client: &impl GenericClient,
    cells: &[String],
) -> StoreResult<HashMap<String, i64>> {
    Ok(client
        .query(
            "SELECT DISTINCT ON (cell_code) cell_code, staff_id FROM cell_staff
             WHERE cell_code = ANY($1) AND role = '网格长' AND until IS NULL AND since <= current_date
             ORDER BY cell_code, since, id",
            &[&cells],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Writes a vote: its cells with their leaders and ballot counts, the codes, zeroed counts.
pub async fn create_vote(
    client: &impl GenericClient,
    period: &str,
    by: &str,
    cells: &[(String, i64, i32)],
    codes: &[(String, String)],
) -> StoreResult<i64> {
    let id: i64 = client
        .query_one(
            "INSERT INTO votes (period, opened_by) VALUES ($1, $2) RETURNING id",
            &[&period, &by],
        )
        .await?
        .get(0);
    let codes_of: Vec<&str> = cells.iter().map(|c| c.0.as_str()).collect();
    let leaders: Vec<i64> = cells.iter().map(|c| c.1).collect();
    let ballots: Vec<i32> = cells.iter().map(|c| c.2).collect();
    client
        .execute(
            "INSERT INTO vote_cells (vote_id, cell_code, leader_id, ballots)
             SELECT $1, c, l, b FROM unnest($2::text[], $3::bigint[], $4::int[]) AS t(c, l, b)",
            &[&id, &codes_of, &leaders, &ballots],
        )
        .await?;
    let choices: Vec<&str> = Choice::ALL.iter().map(|c| c.as_str()).collect();
    client
        .execute(
            "INSERT INTO vote_counts (vote_id, cell_code, choice)
             SELECT $1, c, ch FROM unnest($2::text[]) c, unnest($3::text[]) ch",
            &[&id, &codes_of, &choices],
        )
        .await?;
    let (code, cell): (Vec<&str>, Vec<&str>) =
        codes.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip();
    client
        .execute(
            "INSERT INTO ballot_codes (code, vote_id, cell_code)
             SELECT k, $1, c FROM unnest($2::text[], $3::text[]) AS t(k, c)",
            &[&id, &code, &cell],
        )
        .await?;
    Ok(id)
}

/// What happened to a ballot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    Counted,
    Used,
    Unknown,
    Closed,
}

/// Casts a ballot: the code is marked used and the count raised in one transaction; the choice
/// is stored nowhere but in the count.
pub async fn cast(
    client: &mut tokio_postgres::Client,
    code: &str,
    choice: Choice,
) -> StoreResult<Cast> {
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "SELECT b.vote_id, b.cell_code, b.used, v.closed_at IS NOT NULL
             FROM ballot_codes b JOIN votes v ON v.id = b.vote_id WHERE b.code = $1 FOR UPDATE OF b",
            &[&code],
        )
        .await?
    else {
        return Ok(Cast::Unknown);
    };
    let (vote, cell, used, closed): (i64, String, bool, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if used {
        return Ok(Cast::Used);
    }
    if closed {
        return Ok(Cast::Closed);
    }
    tx.execute(
        "UPDATE ballot_codes SET used = true WHERE code = $1",
        &[&code],
    )
    .await?;
    // All three counts of the grid are rewritten, so the rows' system columns (the transaction
    // that last wrote each) show only that someone voted, never which count the ballot raised.
    tx.execute(
        "UPDATE vote_counts SET n = n + (choice = $3)::int WHERE vote_id = $1 AND cell_code = $2",
        &[&vote, &cell, &choice.as_str()],
    )
    .await?;
    tx.commit().await?;
    Ok(Cast::Counted)
}

/// What a voter's page may show of a code: its grid and whether it can still be used.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BallotState {
    pub period: String,
    pub cell: String,
    pub used: bool,
    pub closed: bool,
}

pub async fn ballot_state(
    client: &impl GenericClient,
    code: &str,
) -> StoreResult<Option<BallotState>> {
    Ok(client
        .query_opt(
            "SELECT v.period, b.cell_code, b.used, v.closed_at IS NOT NULL
             FROM ballot_codes b JOIN votes v ON v.id = b.vote_id WHERE b.code = $1",
            &[&code],
        )
        .await?
        .map(|r| BallotState {
            period: r.get(0),
            cell: r.get(1),
            used: r.get(2),
            closed: r.get(3),
        }))
}

/// A vote's head.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VoteRow {
    pub id: i64,
    pub period: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// One grid of a vote with its counts.
#[derive(Debug, Clone)]
pub struct TallyRow {
    pub cell: String,
    pub leader_id: i64,
    pub leader_name: String,
    pub ballots: i32,
    pub used: i64,
    pub counts: HashMap<String, i64>,
}

pub async fn vote(client: &impl GenericClient, id: i64) -> StoreResult<Option<VoteRow>> {
    Ok(client
        .query_opt(
            "SELECT id, period, opened_by, opened_at, closed_at FROM votes WHERE id = $1",
            &[&id],
        )
        .await?
        .map(|r| VoteRow {
            id: r.get(0),
            period: r.get(1),
            opened_by: r.get(2),
            opened_at: r.get(3),
            closed_at: r.get(4),
        }))
}

/// A vote in the list: its head and its size.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VoteSummary {
    #[serde(flatten)]
    pub vote: VoteRow,
    pub cells: i64,
    /// The grids assessed.
    pub grids: Vec<String>,
    pub issued: i64,
    pub used: i64,
}

/// Every vote, newest first.
pub async fn votes(client: &impl GenericClient) -> StoreResult<Vec<VoteSummary>> {
    Ok(client
        .query(
            "SELECT v.id, v.period, v.opened_by, v.opened_at, v.closed_at,
                    (SELECT count(*) FROM vote_cells c WHERE c.vote_id = v.id),
                    (SELECT count(*) FROM ballot_codes b WHERE b.vote_id = v.id),
                    (SELECT count(*) FROM ballot_codes b WHERE b.vote_id = v.id AND b.used),
                    (SELECT coalesce(array_agg(c.cell_code ORDER BY c.cell_code), '{}')
                     FROM vote_cells c WHERE c.vote_id = v.id)
             FROM votes v ORDER BY v.id DESC",
            &[],
        )
        .await?
        .iter()
        .map(|r| VoteSummary {
            vote: VoteRow {
                id: r.get(0),
                period: r.get(1),
                opened_by: r.get(2),
                opened_at: r.get(3),
                closed_at: r.get(4),
            },
            cells: r.get(5),
            grids: r.get(8),
            issued: r.get(6),
            used: r.get(7),
        })
        .collect())
}

pub async fn tally(client: &impl GenericClient, id: i64) -> StoreResult<Vec<TallyRow>> {
    Ok(client
        .query(
            "SELECT vc.cell_code, vc.leader_id, s.name, vc.ballots,
                    (SELECT count(*) FROM ballot_codes b
                     WHERE b.vote_id = vc.vote_id AND b.cell_code = vc.cell_code AND b.used),
                    (SELECT array_agg(k.choice ORDER BY k.choice) FROM vote_counts k
                     WHERE k.vote_id = vc.vote_id AND k.cell_code = vc.cell_code),
                    (SELECT array_agg(k.n::bigint ORDER BY k.choice) FROM vote_counts k
                     WHERE k.vote_id = vc.vote_id AND k.cell_code = vc.cell_code)
             FROM vote_cells vc JOIN staff s ON s.id = vc.leader_id
             WHERE vc.vote_id = $1 ORDER BY vc.cell_code",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| {
            let choices: Vec<String> = r.get::<_, Option<Vec<String>>>(5).unwrap_or_default();
            let ns: Vec<i64> = r.get::<_, Option<Vec<i64>>>(6).unwrap_or_default();
            TallyRow {
                cell: r.get(0),
                leader_id: r.get(1),
                leader_name: r.get(2),
                ballots: r.get(3),
                used: r.get(4),
                counts: choices.into_iter().zip(ns).collect(),
            }
        })
        .collect())
}

pub async fn close_vote(client: &impl GenericClient, id: i64) -> StoreResult<bool> {
    Ok(client
        .execute(
            "UPDATE votes SET closed_at = now() WHERE id = $1 AND closed_at IS NULL",
            &[&id],
        )
        .await?
        > 0)
}

/// The unused codes of a vote (for printing slips), by grid.
pub async fn unused_codes(
    client: &impl GenericClient,
    id: i64,
) -> StoreResult<Vec<(String, String)>> {
    Ok(client
        .query(
            "SELECT cell_code, code FROM ballot_codes WHERE vote_id = $1 AND NOT used
             ORDER BY cell_code, code",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

// ---- 公示 ----

/// A publication: the frozen figures of the grids under a cell.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicationRow {
    pub id: i64,
    pub period: String,
    pub under: String,
    pub vote_id: Option<i64>,
    pub results: Value,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
}

fn publication_of(r: &tokio_postgres::Row) -> PublicationRow {
    PublicationRow {
        id: r.get(0),
        period: r.get(1),
        under: r.get(2),
        vote_id: r.get(3),
        results: r.get(4),
        published_by: r.get(5),
        published_at: r.get(6),
    }
}

pub async fn publish(
    client: &impl GenericClient,
    period: &str,
    under: &str,
    vote: Option<i64>,
    results: &Value,
    by: &str,
) -> StoreResult<i64> {
    Ok(client
        .query_one(
            "INSERT INTO publications (period, under_code, vote_id, results, published_by)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&period, &under, &vote, &results, &by],
        )
        .await?
        .get(0))
}

/// The latest publication covering `cell` (published for it or for one of its ancestors).
pub async fn publication_for(
    client: &impl GenericClient,
    cell: &str,
) -> StoreResult<Option<PublicationRow>> {
    Ok(client
        .query_opt(
            "SELECT id, period, under_code, vote_id, results, published_by, published_at
             FROM publications
             WHERE withdrawn_at IS NULL AND starts_with($1, under_code)
             ORDER BY published_at DESC, id DESC LIMIT 1",
            &[&cell],
        )
        .await?
        .as_ref()
        .map(publication_of))
}

pub async fn publications_under(
    client: &impl GenericClient,
    prefix: &str,
) -> StoreResult<Vec<PublicationRow>> {
    Ok(client
        .query(
            "SELECT id, period, under_code, vote_id, results, published_by, published_at
             FROM publications WHERE withdrawn_at IS NULL
               AND (starts_with(under_code, $1) OR starts_with($1, under_code))
             ORDER BY published_at DESC, id DESC",
            &[&prefix],
        )
        .await?
        .iter()
        .map(publication_of)
        .collect())
}

/// Names of staff as the public may see them now: the name with consent, else `None`.
pub async fn public_names(
    client: &impl GenericClient,
    ids: &[i64],
) -> StoreResult<HashMap<i64, Option<String>>> {
    Ok(client
        .query(
            "SELECT s.id, CASE WHEN c.name THEN s.name END
             FROM staff s JOIN staff_consent c ON c.staff_id = s.id WHERE s.id = ANY($1)",
            &[&ids],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
