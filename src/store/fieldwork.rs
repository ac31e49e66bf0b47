//! Field work in PostGIS: pairing codes and device tokens, the idempotency ledger of synced
//! actions, patrols and their points, visits, daily logs, meetings, photos' records, the duty
//! rules, and the inputs compliance is computed from. Typed rows in and out; no JSON shaping but
//! a log's summary, which is stored as the worker saw it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use geo_types::Coord;
use serde_json::Value;
use tokio_postgres::{Client, GenericClient};

use super::users::{STORED_PREFIX_CHARS, User, new_token, token_digest};
use super::{StoreError, StoreResult};
use crate::geometry::track::Fix;

/// The duty rules as stored (`field_rules`): key → value.
pub async fn rules(client: &impl GenericClient) -> StoreResult<Vec<(String, f64, String)>> {
    Ok(client
        .query(
            "SELECT key, value, description FROM field_rules ORDER BY key",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// A user by name (for pairing), with its id.
pub async fn user_by_name(client: &impl GenericClient, name: &str) -> StoreResult<Option<User>> {
    let row = client
        .query_opt(
            "SELECT id, name, role, cells, department FROM users WHERE name = $1 AND disabled_at IS NULL",
            &[&name],
        )
        .await?;
    row.map(|r| user_of(&r)).transpose()
}

fn user_of(r: &tokio_postgres::Row) -> StoreResult<User> {
    let role: String = r.get(2);
    Ok(User {
        id: r.get(0),
        name: r.get(1),
        role: role
            .parse()
            .map_err(|e: crate::domain::role::UnknownRole| StoreError::Refused(e.to_string()))?,
        cells: r.get(3),
        department: r.get(4),
    })
}

/// Records a pairing code (its digest) for `user_id`, valid until `expires_at`.
pub async fn create_pairing(
    client: &impl GenericClient,
    user_id: i64,
    code: &str,
    created_by: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO pairing_codes (code_sha256, user_id, created_by, expires_at)
             VALUES ($1, $2, $3, $4)",
            &[&token_digest(code), &user_id, &created_by, &expires_at],
        )
        .await?;
    Ok(())
}

/// What became of a pairing code offered for exchange.
#[derive(Debug)]
pub enum Redeemed {
    /// A new device token (shown once) and its user.
    Paired {
        token: String,
        user: User,
    },
    Unknown,
    Expired,
    Used,
}

/// Exchanges a pairing code for a device token, once: under the code's row lock, so two phones
/// racing with one code get one token between them.
pub async fn redeem_pairing(
    client: &mut Client,
    code: &str,
    device: &str,
) -> StoreResult<Redeemed> {
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "SELECT p.user_id, p.expires_at <= now(), p.used_at IS NOT NULL
             FROM pairing_codes p JOIN users u ON u.id = p.user_id AND u.disabled_at IS NULL
             WHERE p.code_sha256 = $1 FOR UPDATE OF p",
            &[&token_digest(code)],
        )
        .await?
    else {
        return Ok(Redeemed::Unknown);
    };
    let (user_id, expired, used): (i64, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if used {
        return Ok(Redeemed::Used);
    }
    if expired {
        return Ok(Redeemed::Expired);
    }
    let token = new_token();
    let token_id: i64 = tx
        .query_one(
            "INSERT INTO api_tokens (user_id, token_sha256, token_prefix, device)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[
                &user_id,
                &token_digest(&token),
                &&token[..STORED_PREFIX_CHARS],
                &device,
            ],
        )
        .await?
        .get(0);
    tx.execute(
        "UPDATE pairing_codes SET used_at = now(), token_id = $2 WHERE code_sha256 = $1",
        &[&token_digest(code), &token_id],
    )
    .await?;
    let user = user_of(
        &tx.query_one(
            "SELECT id, name, role, cells, department FROM users WHERE id = $1",
            &[&user_id],
        )
        .await?,
    )?;
    tx.commit().await?;
    Ok(Redeemed::Paired { token, user })
}

/// A paired phone as its owner and administrators see it (never the token).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Device {
    pub id: i64,
    pub user: String,
    pub device: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Devices of `user_id` (or everyone's), newest first.
pub async fn devices(
    client: &impl GenericClient,
    user_id: Option<i64>,
) -> StoreResult<Vec<Device>> {
    Ok(client
        .query(
            "SELECT t.id, u.name, t.device, t.created_at, t.last_used_at, t.revoked_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.device IS NOT NULL AND ($1::bigint IS NULL OR t.user_id = $1)
             ORDER BY t.id DESC",
            &[&user_id],
        )
        .await?
        .iter()
        .map(|r| Device {
            id: r.get(0),
            user: r.get(1),
            device: r.get(2),
            created_at: r.get(3),
            last_used_at: r.get(4),
            revoked_at: r.get(5),
        })
        .collect())
}

/// Revokes device `id` when it belongs to `user_id` (or to anyone, for `None`); whether it did.
pub async fn revoke_device(
    client: &impl GenericClient,
    id: i64,
    user_id: Option<i64>,
) -> StoreResult<bool> {
    Ok(client
        .execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
             WHERE id = $1 AND device IS NOT NULL AND ($2::bigint IS NULL OR user_id = $2)",
            &[&id, &user_id],
        )
        .await?
        == 1)
}

/// Who first claimed a synced action id, if anyone: `(user_id, kind)`.
pub async fn claim_action(
    client: &impl GenericClient,
    id: &str,
    user_id: i64,
    kind: &str,
    at: DateTime<Utc>,
) -> StoreResult<Option<(i64, String)>> {
    let inserted = client
        .execute(
            "INSERT INTO field_actions (id, user_id, kind, at) VALUES ($1::text::uuid, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
            &[&id, &user_id, &kind, &at],
        )
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    let row = client
        .query_one(
            "SELECT user_id, kind FROM field_actions WHERE id = $1::text::uuid",
            &[&id],
        )
        .await?;
    Ok(Some((row.get(0), row.get(1))))
}

/// Records what an action made (an incident id, a log version) beside its claim.
pub async fn set_action_result(
    client: &impl GenericClient,
    id: &str,
    result: &Value,
) -> StoreResult<()> {
    client
        .execute(
            "UPDATE field_actions SET result = $2 WHERE id = $1::text::uuid",
            &[&id, &result],
        )
        .await?;
    Ok(())
}

/// A patrol's header.
#[derive(Debug, Clone)]
pub struct PatrolRow {
    pub id: String,
    pub user_id: i64,
    pub user: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub length_m: f64,
    pub dropped_points: i32,
}

/// One grid a patrol entered.
#[derive(Debug, Clone)]
pub struct PatrolGrid {
    pub cell: String,
    pub seconds: f64,
    pub buildings: i32,
    pub covered: Vec<i64>,
}

pub async fn start_patrol(
    client: &impl GenericClient,
    id: &str,
    user_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO patrols (id, user_id, started_at) VALUES ($1::text::uuid, $2, $3)",
            &[&id, &user_id, &at],
        )
        .await?;
    Ok(())
}

const PATROL_SQL: &str =
    "SELECT p.id::text, p.user_id, u.name, p.started_at, p.ended_at, p.length_m, p.dropped_points
     FROM patrols p JOIN users u ON u.id = p.user_id";

fn patrol_of(r: &tokio_postgres::Row) -> PatrolRow {
    PatrolRow {
        id: r.get(0),
        user_id: r.get(1),
        user: r.get(2),
        started_at: r.get(3),
        ended_at: r.get(4),
        length_m: r.get(5),
        dropped_points: r.get(6),
    }
}

/// A patrol by id; `lock` takes its row lock (points and the end are applied under it).
pub async fn patrol(
    client: &impl GenericClient,
    id: &str,
    lock: bool,
) -> StoreResult<Option<PatrolRow>> {
    let sql = format!(
        "{PATROL_SQL} WHERE p.id = $1::text::uuid{}",
        if lock { " FOR UPDATE OF p" } else { "" }
    );
    Ok(client.query_opt(&sql, &[&id]).await?.map(|r| patrol_of(&r)))
}

/// Patrols of the given users started in `[from, to)`, oldest first.
pub async fn patrols(
    client: &impl GenericClient,
    user_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<PatrolRow>> {
    let sql = format!(
        "{PATROL_SQL} WHERE p.user_id = ANY($1) AND p.started_at >= $2 AND p.started_at < $3
         ORDER BY p.started_at"
    );
    Ok(client
        .query(&sql, &[&user_ids, &from, &to])
        .await?
        .iter()
        .map(patrol_of)
        .collect())
}

/// The last fix kept for a patrol (a new chunk's first point is judged against it).
pub async fn last_fix(client: &impl GenericClient, patrol: &str) -> StoreResult<Option<Fix>> {
    Ok(client
        .query_opt(
            "SELECT ST_X(geom), ST_Y(geom), (extract(epoch FROM t) * 1000)::bigint, accuracy_m
             FROM patrol_points WHERE patrol_id = $1::text::uuid ORDER BY t DESC LIMIT 1",
            &[&patrol],
        )
        .await?
        .map(|r| Fix {
            lon: r.get(0),
            lat: r.get(1),
            t_ms: r.get(2),
            accuracy_m: f64::from(r.get::<_, f32>(3)),
        }))
}

/// Appends kept fixes (CGCS2000) and counts the dropped ones.
pub async fn add_points(
    client: &impl GenericClient,
    patrol: &str,
    fixes: &[Fix],
    dropped: u32,
) -> StoreResult<()> {
    let lon: Vec<f64> = fixes.iter().map(|f| f.lon).collect();
    let lat: Vec<f64> = fixes.iter().map(|f| f.lat).collect();
    let t: Vec<i64> = fixes.iter().map(|f| f.t_ms).collect();
    let accuracy: Vec<f32> = fixes.iter().map(|f| f.accuracy_m as f32).collect();
    client
        .execute(
            "INSERT INTO patrol_points (patrol_id, t, accuracy_m, geom)
             SELECT $1::text::uuid, to_timestamp(p.t / 1000.0), p.a,
                    ST_SetSRID(ST_MakePoint(p.x, p.y), 4490)
             FROM unnest($2::float8[], $3::float8[], $4::int8[], $5::float4[]) AS p(x, y, t, a)
             ON CONFLICT (patrol_id, t) DO NOTHING",
            &[&patrol, &lon, &lat, &t, &accuracy],
        )
        .await?;
    client
        .execute(
            "UPDATE patrols SET dropped_points = dropped_points + $2 WHERE id = $1::text::uuid",
            &[&patrol, &(dropped as i32)],
        )
        .await?;
    Ok(())
}

/// The patrol's kept fixes in time order: `(unix ms, lon, lat)`.
pub async fn track(
    client: &impl GenericClient,
    patrol: &str,
) -> StoreResult<Vec<(i64, Coord<f64>)>> {
    Ok(client
        .query(
            "SELECT (extract(epoch FROM t) * 1000)::bigint, ST_X(geom), ST_Y(geom)
             FROM patrol_points WHERE patrol_id = $1::text::uuid ORDER BY t",
            &[&patrol],
        )
        .await?
        .iter()
        .map(|r| {
            (
                r.get(0),
                Coord {
                    x: r.get(1),
                    y: r.get(2),
                },
            )
        })
        .collect())
}

/// Building points of the given grids: `(id, cell, point)`.
pub async fn buildings_in(
    client: &impl GenericClient,
    cells: &[String],
) -> StoreResult<Vec<(i64, String, Coord<f64>)>> {
    Ok(client
        .query(
            "SELECT id, cell_code, ST_X(geom), ST_Y(geom) FROM buildings
             WHERE cell_code = ANY($1) AND geom IS NOT NULL",
            &[&cells],
        )
        .await?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                Coord {
                    x: r.get(2),
                    y: r.get(3),
                },
            )
        })
        .collect())
}

/// Ends a patrol (the first end wins) and writes what it measured.
pub async fn finish_patrol(
    client: &impl GenericClient,
    patrol: &str,
    ended_at: Option<DateTime<Utc>>,
    length_m: f64,
    grids: &[PatrolGrid],
) -> StoreResult<()> {
    client
        .execute(
            "UPDATE patrols SET ended_at = coalesce(ended_at, $2), length_m = $3 WHERE id = $1::text::uuid",
            &[&patrol, &ended_at, &length_m],
        )
        .await?;
    client
        .execute(
            "DELETE FROM patrol_grids WHERE patrol_id = $1::text::uuid",
            &[&patrol],
        )
        .await?;
    for g in grids {
        client
            .execute(
                "INSERT INTO patrol_grids (patrol_id, cell_code, seconds, buildings, covered)
                 VALUES ($1::text::uuid, $2, $3, $4, $5)",
                &[&patrol, &g.cell, &g.seconds, &g.buildings, &g.covered],
            )
            .await?;
    }
    Ok(())
}

/// The grids of each of the given patrols.
pub async fn patrol_grids(
    client: &impl GenericClient,
    patrols: &[String],
) -> StoreResult<HashMap<String, Vec<PatrolGrid>>> {
    let mut out: HashMap<String, Vec<PatrolGrid>> = HashMap::new();
    for r in client
        .query(
            "SELECT patrol_id::text, cell_code, seconds, buildings, covered FROM patrol_grids
             WHERE patrol_id = ANY($1::text[]::uuid[]) ORDER BY patrol_id, cell_code",
            &[&patrols],
        )
        .await?
    {
        out.entry(r.get(0)).or_default().push(PatrolGrid {
            cell: r.get(1),
            seconds: r.get(2),
            buildings: r.get(3),
            covered: r.get(4),
        });
    }
    Ok(out)
}

/// A household as a visit needs it: its grid and its building's point.
pub async fn household_place(
    client: &impl GenericClient,
    household: i64,
) -> StoreResult<Option<(Option<String>, Option<Coord<f64>>)>> {
    Ok(client
        .query_opt(
            "SELECT b.cell_code, ST_X(b.geom), ST_Y(b.geom)
             FROM households h LEFT JOIN buildings b ON b.id = h.building_id WHERE h.id = $1",
            &[&household],
        )
        .await?
        .map(|r| {
            let x: Option<f64> = r.get(1);
            let y: Option<f64> = r.get(2);
            (r.get(0), x.zip(y).map(|(x, y)| Coord { x, y }))
        }))
}

/// A visit to record.
#[derive(Debug, Clone)]
pub struct NewVisit<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub household: i64,
    pub cell: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub outcome: &'a str,
    pub problems: &'a [String],
    pub note: Option<&'a str>,
    pub photos: &'a [String],
    pub position: Option<(Coord<f64>, f64)>,
    pub distance_m: Option<f64>,
    pub far: bool,
    pub demo: bool,
}

pub async fn insert_visit(client: &impl GenericClient, v: &NewVisit<'_>) -> StoreResult<()> {
    let (x, y, accuracy) = match v.position {
        Some((p, a)) => (Some(p.x), Some(p.y), Some(a as f32)),
        None => (None, None, None),
    };
    client
        .execute(
            "INSERT INTO visits (id, user_id, household_id, cell_code, at, outcome, problems, note,
                                 photos, geom, accuracy_m, distance_m, far, demo)
             VALUES ($1::text::uuid, $2, $3, $4, $5, $6, $7, $8, $9,
                     CASE WHEN $10::float8 IS NULL THEN NULL
                          ELSE ST_SetSRID(ST_MakePoint($10, $11), 4490) END,
                     $12, $13, $14, $15)",
            &[
                &v.id,
                &v.user_id,
                &v.household,
                &v.cell,
                &v.at,
                &v.outcome,
                &v.problems,
                &v.note,
                &v.photos,
                &x,
                &y,
                &accuracy,
                &v.distance_m,
                &v.far,
                &v.demo,
            ],
        )
        .await?;
    Ok(())
}

/// A household with what its duty needs: categories (its own and its people's), last visit.
#[derive(Debug, Clone)]
pub struct DutyHousehold {
    pub id: i64,
    pub address: String,
    pub head: String,
    pub cell: String,
    pub categories: Vec<String>,
    pub building: Option<Coord<f64>>,
    /// Every visit's time, oldest first.
    pub visits: Vec<DateTime<Utc>>,
}

/// A household row: id, address, head, cell, categories, x, y, and (when selected) visit times.
fn household_of(r: &tokio_postgres::Row) -> DutyHousehold {
    let x: Option<f64> = r.get(5);
    let y: Option<f64> = r.get(6);
    DutyHousehold {
        id: r.get(0),
        address: r.get(1),
        head: r.get(2),
        cell: r.get(3),
        categories: r.get(4),
        building: x.zip(y).map(|(x, y)| Coord { x, y }),
        visits: if r.len() > 7 { r.get(7) } else { Vec::new() },
    }
}

/// The households of the given grids with their categories and visit times since `since`.
pub async fn duty_households(
    client: &impl GenericClient,
    cells: &[String],
    since: DateTime<Utc>,
) -> StoreResult<Vec<DutyHousehold>> {
    Ok(client
        .query(
            "SELECT h.id, h.address, h.head_name, b.cell_code,
                    ARRAY(SELECT DISTINCT c FROM unnest(h.categories || coalesce(
                        (SELECT array_agg(c2) FROM people p, unnest(p.categories) c2
                         WHERE p.household_id = h.id), '{}')) c ORDER BY c),
                    ST_X(b.geom), ST_Y(b.geom),
                    ARRAY(SELECT v.at FROM visits v WHERE v.household_id = h.id AND v.at >= $2
                          ORDER BY v.at)
             FROM households h JOIN buildings b ON b.id = h.building_id
             WHERE b.cell_code = ANY($1)
             ORDER BY b.cell_code, h.id",
            &[&cells, &since],
        )
        .await?
        .iter()
        .map(household_of)
        .collect())
}

/// Writes a daily log as the next version for `(user, day)`; returns the version.
pub async fn insert_log(
    client: &impl GenericClient,
    id: &str,
    user_id: i64,
    day: NaiveDate,
    notes: &str,
    summary: &Value,
    demo: bool,
) -> StoreResult<i32> {
    Ok(client
        .query_one(
            "INSERT INTO work_logs (id, user_id, day, version, notes, summary, demo)
             SELECT $1::text::uuid, $2, $3,
                    coalesce((SELECT max(version) FROM work_logs WHERE user_id = $2 AND day = $3), 0) + 1,
                    $4, $5, $6
             RETURNING version",
            &[&id, &user_id, &day, &notes, &summary, &demo],
        )
        .await?
        .get(0))
}

/// A daily log as leaders and its author read it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LogRow {
    pub id: String,
    pub worker: String,
    pub day: NaiveDate,
    pub version: i32,
    pub notes: String,
    #[schema(value_type = Object)]
    pub summary: Value,
    pub submitted_at: DateTime<Utc>,
    pub comments: Vec<LogComment>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LogComment {
    pub author: String,
    pub comment: String,
    pub at: DateTime<Utc>,
}

/// Logs (every version) of the given users for days in `[from, to]`.
pub async fn logs(
    client: &impl GenericClient,
    user_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<LogRow>> {
    let rows = client
        .query(
            "SELECT l.id::text, u.name, l.day, l.version, l.notes, l.summary, l.submitted_at,
                    coalesce((SELECT jsonb_agg(jsonb_build_object('author', c.author,
                              'comment', c.comment, 'at', c.at) ORDER BY c.id)
                              FROM log_comments c WHERE c.log_id = l.id), '[]')
             FROM work_logs l JOIN users u ON u.id = l.user_id
             WHERE l.user_id = ANY($1) AND l.day BETWEEN $2 AND $3
             ORDER BY l.day, u.name, l.version",
            &[&user_ids, &from, &to],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(LogRow {
                id: r.get(0),
                worker: r.get(1),
                day: r.get(2),
                version: r.get(3),
                notes: r.get(4),
                summary: r.get(5),
                submitted_at: r.get(6),
                comments: serde_json::from_value(r.get::<_, Value>(7))
                    .map_err(|e| StoreError::Refused(format!("log comments: {e}")))?,
            })
        })
        .collect()
}

/// The author's user id of log `id`.
pub async fn log_owner(client: &impl GenericClient, id: &str) -> StoreResult<Option<i64>> {
    Ok(client
        .query_opt(
            "SELECT user_id FROM work_logs WHERE id = $1::text::uuid",
            &[&id],
        )
        .await?
        .map(|r| r.get(0)))
}

pub async fn add_comment(
    client: &impl GenericClient,
    log: &str,
    author: &str,
    comment: &str,
) -> StoreResult<LogComment> {
    let r = client
        .query_one(
            "INSERT INTO log_comments (log_id, author, comment) VALUES ($1::text::uuid, $2, $3)
             RETURNING author, comment, at",
            &[&log, &author, &comment],
        )
        .await?;
    Ok(LogComment {
        author: r.get(0),
        comment: r.get(1),
        at: r.get(2),
    })
}

/// A meeting to record.
#[derive(Debug, Clone)]
pub struct NewMeeting<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub level: i16,
    pub cell: &'a str,
    pub day: NaiveDate,
    pub attendees: &'a [String],
    pub minutes: &'a str,
    pub photos: &'a [String],
    pub demo: bool,
}

pub async fn insert_meeting(client: &impl GenericClient, m: &NewMeeting<'_>) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO meetings (id, user_id, level, cell_code, day, attendees, minutes, photos, demo)
             VALUES ($1::text::uuid, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[&m.id, &m.user_id, &m.level, &m.cell, &m.day, &m.attendees, &m.minutes, &m.photos, &m.demo],
        )
        .await?;
    Ok(())
}

/// Meetings per cell with their days in `[from, to]`.
pub async fn meetings(
    client: &impl GenericClient,
    cells: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<(String, i16, NaiveDate)>> {
    Ok(client
        .query(
            "SELECT cell_code, level, day FROM meetings
             WHERE cell_code = ANY($1) AND day BETWEEN $2 AND $3 ORDER BY day",
            &[&cells, &from, &to],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Records a photo stored under the data directory (the first record of a hash wins).
pub async fn insert_photo(
    client: &impl GenericClient,
    sha256: &str,
    mime: &str,
    bytes: i32,
    user_id: i64,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO photos (sha256, mime, bytes, user_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (sha256) DO NOTHING",
            &[&sha256, &mime, &bytes, &user_id],
        )
        .await?;
    Ok(())
}

/// The grids of the incidents a photo belongs to (a photo's incidents decide who may see it).
pub async fn incident_cells_with_photo(
    client: &impl GenericClient,
    sha256: &str,
) -> StoreResult<Vec<Option<String>>> {
    Ok(client
        .query(
            "SELECT cell_code FROM incidents WHERE photos @> ARRAY[$1::text]",
            &[&sha256],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// A photo's type and uploader.
pub async fn photo(
    client: &impl GenericClient,
    sha256: &str,
) -> StoreResult<Option<(String, i64)>> {
    Ok(client
        .query_opt(
            "SELECT mime, user_id FROM photos WHERE sha256 = $1",
            &[&sha256],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}

/// Workers (role worker) whose cells lie under `prefix` (all workers for an empty prefix).
pub async fn workers_under(client: &impl GenericClient, prefix: &str) -> StoreResult<Vec<User>> {
    client
        .query(
            "SELECT id, name, role, cells, department FROM users
             WHERE role = 'worker' AND disabled_at IS NULL
               AND EXISTS (SELECT 1 FROM unnest(cells) c WHERE c LIKE $1 || '%')
             ORDER BY name",
            &[&prefix],
        )
        .await?
        .iter()
        .map(user_of)
        .collect()
}

/// The latest log day per (user, day) in `[from, to]`: which days each user wrote a log.
pub async fn log_days(
    client: &impl GenericClient,
    user_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<(i64, NaiveDate)>> {
    Ok(client
        .query(
            "SELECT DISTINCT user_id, day FROM work_logs
             WHERE user_id = ANY($1) AND day BETWEEN $2 AND $3",
            &[&user_ids, &from, &to],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Deletes tracks and visit positions older than `before` (the retention period); counts.
pub async fn purge_tracks(
    client: &impl GenericClient,
    before: DateTime<Utc>,
) -> StoreResult<(u64, u64)> {
    let points = client
        .execute("DELETE FROM patrol_points WHERE t < $1", &[&before])
        .await?;
    let visits = client
        .execute(
            "UPDATE visits SET geom = NULL, accuracy_m = NULL WHERE at < $1 AND geom IS NOT NULL",
            &[&before],
        )
        .await?;
    Ok((points, visits))
}

/// Visits by the given users in `[from, to)`: `(user_id, household, at)`.
pub async fn visits_by(
    client: &impl GenericClient,
    user_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<(i64, i64, DateTime<Utc>, bool)>> {
    Ok(client
        .query(
            "SELECT user_id, household_id, at, far FROM visits
             WHERE user_id = ANY($1) AND at >= $2 AND at < $3 ORDER BY at",
            &[&user_ids, &from, &to],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}

/// A user by id.
pub async fn user_by_id(client: &impl GenericClient, id: i64) -> StoreResult<Option<User>> {
    let row = client
        .query_opt(
            "SELECT id, name, role, cells, department FROM users WHERE id = $1",
            &[&id],
        )
        .await?;
    row.map(|r| user_of(&r)).transpose()
}

/// How many incidents `reporter` reported in `[from, to)`.
pub async fn incidents_reported(
    client: &impl GenericClient,
    reporter: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<i64> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM incidents WHERE reporter = $1 AND created_at >= $2 AND created_at < $3",
            &[&reporter, &from, &to],
        )
        .await?
        .get(0))
}

/// Buildings per grid.
pub async fn building_counts(
    client: &impl GenericClient,
    cells: &[String],
) -> StoreResult<Vec<(String, i64)>> {
    Ok(client
        .query(
            "SELECT cell_code, count(*) FROM buildings
             WHERE cell_code = ANY($1) AND geom IS NOT NULL GROUP BY cell_code",
            &[&cells],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// The households of the given grids that have one of `categories` (their own or a member's),
/// with their visit times since `since` — what visit duties are judged on. Three set queries
/// (the duty households through the categories' GIN indexes, their members' categories, their
/// visits), merged here: no subquery per household.
pub async fn duty_households_with(
    client: &impl GenericClient,
    cells: &[String],
    categories: &[String],
    since: DateTime<Utc>,
) -> StoreResult<Vec<DutyHousehold>> {
    let mut households: Vec<DutyHousehold> = client
        .query(
            "WITH duty AS (
                 SELECT id FROM households WHERE categories && $2
                 UNION
                 SELECT household_id FROM people WHERE categories && $2)
             SELECT h.id, h.address, h.head_name, b.cell_code, h.categories, ST_X(b.geom), ST_Y(b.geom)
             FROM duty d JOIN households h ON h.id = d.id JOIN buildings b ON b.id = h.building_id
             WHERE b.cell_code = ANY($1)
             ORDER BY b.cell_code, h.id",
            &[&cells, &categories],
        )
        .await?
        .iter()
        .map(household_of)
        .collect();
    let ids: Vec<i64> = households.iter().map(|h| h.id).collect();
    let mut members: HashMap<i64, Vec<String>> = HashMap::new();
    for r in client
        .query(
            "SELECT household_id, array_agg(DISTINCT c) FROM people, unnest(categories) c
             WHERE household_id = ANY($1) GROUP BY household_id",
            &[&ids],
        )
        .await?
    {
        members.insert(r.get(0), r.get(1));
    }
    let mut visits: HashMap<i64, Vec<DateTime<Utc>>> = HashMap::new();
    for r in client
        .query(
            "SELECT household_id, array_agg(at ORDER BY at) FROM visits
             WHERE household_id = ANY($1) AND at >= $2 GROUP BY household_id",
            &[&ids, &since],
        )
        .await?
    {
        visits.insert(r.get(0), r.get(1));
    }
    for h in &mut households {
        if let Some(more) = members.remove(&h.id) {
            h.categories.extend(more);
            h.categories.sort();
            h.categories.dedup();
        }
        h.visits = visits.remove(&h.id).unwrap_or_default();
    }
    Ok(households)
}

/// The grids entered by the patrols of the given users started in `[from, to)`, by patrol.
pub async fn patrol_grids_of(
    client: &impl GenericClient,
    user_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<HashMap<String, Vec<PatrolGrid>>> {
    let mut out: HashMap<String, Vec<PatrolGrid>> = HashMap::new();
    for r in client
        .query(
            "SELECT g.patrol_id::text, g.cell_code, g.seconds, g.buildings, g.covered
             FROM patrol_grids g JOIN patrols p ON p.id = g.patrol_id
             WHERE p.user_id = ANY($1) AND p.started_at >= $2 AND p.started_at < $3",
            &[&user_ids, &from, &to],
        )
        .await?
    {
        out.entry(r.get(0)).or_default().push(PatrolGrid {
            cell: r.get(1),
            seconds: r.get(2),
            buildings: r.get(3),
            covered: r.get(4),
        });
    }
    Ok(out)
}

/// Claims many action ids at once (a run of track chunks); returns the ids this call inserted.
pub async fn claim_actions(
    client: &impl GenericClient,
    ids: &[String],
    ats: &[DateTime<Utc>],
    user_id: i64,
    kind: &str,
) -> StoreResult<Vec<String>> {
    Ok(client
        .query(
            "INSERT INTO field_actions (id, user_id, kind, at)
             SELECT u.id::uuid, $3, $4, u.at FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)
             ON CONFLICT (id) DO NOTHING RETURNING id::text",
            &[&ids, &ats, &user_id, &kind],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// The owners of action ids already claimed.
pub async fn action_owners(
    client: &impl GenericClient,
    ids: &[String],
) -> StoreResult<HashMap<String, i64>> {
    Ok(client
        .query(
            "SELECT id::text, user_id FROM field_actions WHERE id = ANY($1::text[]::uuid[])",
            &[&ids],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Records the results of many actions at once.
pub async fn set_action_results(
    client: &impl GenericClient,
    ids: &[String],
    results: &[Value],
) -> StoreResult<()> {
    client
        .execute(
            "UPDATE field_actions f SET result = u.r
             FROM unnest($1::text[], $2::jsonb[]) AS u(id, r) WHERE f.id = u.id::uuid",
            &[&ids, &results],
        )
        .await?;
    Ok(())
}

/// Labels seeded records as demo data (演示).
pub async fn mark_demo_patrols(client: &impl GenericClient, ids: &[String]) -> StoreResult<()> {
    client
        .execute(
            "UPDATE patrols SET demo = true WHERE id = ANY($1::text[]::uuid[])",
            &[&ids],
        )
        .await?;
    Ok(())
}

/// The grids with the most buildings, busiest first.
pub async fn busiest_grids(client: &impl GenericClient, n: i64) -> StoreResult<Vec<String>> {
    Ok(client
        .query(
            "SELECT cell_code FROM buildings WHERE cell_code IS NOT NULL
             GROUP BY cell_code ORDER BY count(*) DESC, cell_code LIMIT $1",
            &[&n],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Workers with a cell under one of `prefixes` (a leader's own cells), and the user `me`.
pub async fn workers_within(
    client: &impl GenericClient,
    prefixes: &[String],
    me: i64,
) -> StoreResult<Vec<User>> {
    client
        .query(
            "SELECT id, name, role, cells, department FROM users
             WHERE role = 'worker' AND disabled_at IS NULL
               AND (id = $2 OR EXISTS (SELECT 1 FROM unnest(cells) c, unnest($1::text[]) p
                                       WHERE p <> '' AND starts_with(c, p)))
             ORDER BY name",
            &[&prefixes, &me],
        )
        .await?
        .iter()
        .map(user_of)
        .collect()
}

/// What visit duties are judged on, lean: per household with one of `categories` (its own or a
/// member's) in the given grids, its grid, those categories and its visit times since `since`.
/// One query of hash joins (no subquery per household, no addresses).
pub async fn duty_facts(
    client: &impl GenericClient,
    cells: &[String],
    categories: &[String],
    since: DateTime<Utc>,
) -> StoreResult<Vec<(String, Vec<String>, Vec<DateTime<Utc>>)>> {
    Ok(client
        .query(
            "WITH duty AS (
                 SELECT id FROM households WHERE categories && $2
                 UNION
                 SELECT household_id FROM people WHERE categories && $2),
             members AS (
                 SELECT household_id, array_agg(DISTINCT c) AS c
                 FROM people, unnest(categories) c WHERE categories && $2 GROUP BY household_id),
             seen AS (
                 SELECT household_id, array_agg(at ORDER BY at) AS at
                 FROM visits WHERE at >= $3 GROUP BY household_id)
             SELECT b.cell_code, h.categories || coalesce(m.c, '{}'), coalesce(s.at, '{}')
             FROM duty d JOIN households h ON h.id = d.id JOIN buildings b ON b.id = h.building_id
             LEFT JOIN members m ON m.household_id = h.id
             LEFT JOIN seen s ON s.household_id = h.id
             WHERE b.cell_code = ANY($1)",
            &[&cells, &categories, &since],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
