//! Field work as use cases (DESIGN.md §4): pairing a phone, the idempotent sync of what a worker
//! recorded offline (patrols, visits, logs, meetings, incidents), a patrol's measure (the grids it
//! entered, the time inside each, the buildings within reach of its track), the worker's day,
//! and compliance. The REST handlers and the CLI call these.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use geo_types::Coord;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::app::incidents::{self, IncidentError, Report};
use crate::atlas::Atlas;
use crate::domain::access::{in_own_cells, may_see_track};
use crate::domain::calendar::Calendar;
use crate::domain::duty::{self, Facts, HouseholdFacts, PatrolFacts, Period, Rules, local_day};
use crate::domain::role::Role;
use crate::domain::text::storable;
use crate::geometry::crs::Crs;
use crate::geometry::track::{self, Fix};
use crate::store::StoreError;
use crate::store::fieldwork::{self as store, PatrolGrid, Redeemed};
use crate::store::incidents::IncidentRow;
use crate::store::users::User;

/// How long a pairing code may be exchanged.
pub const PAIRING_MINUTES: i64 = 10;
/// The largest photo accepted (after decoding).
pub const MAX_PHOTO_BYTES: usize = 4 * 1024 * 1024;
/// Photos per action.
pub const MAX_PHOTOS: usize = 4;
/// A gap between fixes longer than this is not time spent inside a grid.
const MAX_GAP_MS: i64 = 5 * 60 * 1000;

/// Why a field use case refused.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("writing a photo: {0}")]
    Io(String),
    #[error(transparent)]
    Incident(#[from] IncidentError),
}

fn invalid(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// The duty rules of this deployment.
pub async fn rules(client: &Client) -> Result<Rules, FieldError> {
    Ok(Rules::new(store::rules(client).await?))
}

/// A one-time 8-digit pairing code for `user`, valid `PAIRING_MINUTES`; only its digest is
/// stored. Returns the code and its expiry.
pub async fn pairing_code(
    client: &Client,
    user: &User,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), FieldError> {
    use rand::Rng;
    let expires = now + chrono::TimeDelta::minutes(PAIRING_MINUTES);
    for _ in 0..5 {
        let code = format!("{:08}", rand::rng().random_range(0..100_000_000u32));
        match store::create_pairing(client, user.id, &code, created_by, expires).await {
            Ok(()) => return Ok((code, expires)),
            // A collision with an older code's digest: draw again.
            Err(StoreError::Db(e))
                if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) =>
            {
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(FieldError::Conflict(
        "could not draw an unused pairing code".into(),
    ))
}

/// Who may issue a pairing code for `target`: an admin, or a leader for a worker it leads (the
/// track rule: a strict ancestor of the worker's grid among the leader's cells).
pub fn may_pair(issuer: &User, target: &User) -> bool {
    issuer.role == Role::Admin
        || (issuer.role == Role::Worker
            && target.role == Role::Worker
            && issuer.id != target.id
            && may_see_track(
                issuer.role,
                issuer.id,
                &issuer.cells,
                target.id,
                &target.cells,
            ))
}

/// The pairing link a phone opens (`/field#pair=CODE` fills the code in) as a PNG QR code, as a
/// `data:` URL the page can show.
pub fn pairing_qr(link: &str) -> Result<String, FieldError> {
    use base64::Engine;
    let code = qrcode::QrCode::new(link.as_bytes()).map_err(|e| FieldError::Io(e.to_string()))?;
    let image = code
        .render::<image::Luma<u8>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| FieldError::Io(e.to_string()))?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png.into_inner())
    ))
}

/// Exchanges a pairing code for a device token, once.
pub async fn pair(
    client: &mut Client,
    code: &str,
    device: &str,
) -> Result<(String, User), FieldError> {
    if code.len() != 8 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("code", "a pairing code is 8 digits"));
    }
    let device = device.trim();
    if device.is_empty() || device.chars().count() > 100 {
        return Err(invalid("device", "name the device (1–100 characters)"));
    }
    match store::redeem_pairing(client, code, device).await? {
        Redeemed::Paired { token, user } => Ok((token, user)),
        Redeemed::Unknown => Err(FieldError::NotFound(
            "配对码不存在，请核对 (no such pairing code)".into(),
        )),
        Redeemed::Expired => Err(FieldError::NotFound(
            "配对码已过期，请重新获取 (this pairing code has expired; ask for a new one)".into(),
        )),
        Redeemed::Used => Err(FieldError::Conflict(
            "配对码已使用 (this pairing code has already been used)".into(),
        )),
    }
}

/// One action as the phone recorded it. `id` is the phone's UUID; `at` its clock.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum FieldAction {
    #[serde(rename = "patrol.start")]
    PatrolStart { id: String, at: DateTime<Utc> },
    /// Fixes `[lon, lat, unix_ms, accuracy_m]` (WGS84).
    #[serde(rename = "patrol.points")]
    PatrolPoints {
        id: String,
        at: DateTime<Utc>,
        patrol: String,
        points: Vec<[f64; 4]>,
    },
    #[serde(rename = "patrol.end")]
    PatrolEnd {
        id: String,
        at: DateTime<Utc>,
        patrol: String,
    },
    #[serde(rename = "visit")]
    Visit {
        id: String,
        at: DateTime<Utc>,
        household: i64,
        /// 见面 | 未见面 | 电话联系
        outcome: String,
        #[serde(default)]
        problems: Vec<String>,
        note: Option<String>,
        #[serde(default)]
        photos: Vec<String>,
        /// `[lon, lat, accuracy_m]` (WGS84) at check-in.
        position: Option<[f64; 3]>,
    },
    #[serde(rename = "log")]
    Log {
        id: String,
        at: DateTime<Utc>,
        day: NaiveDate,
        notes: String,
    },
    #[serde(rename = "incident")]
    Incident {
        id: String,
        at: DateTime<Utc>,
        category: String,
        description: String,
        lon: f64,
        lat: f64,
        crs: Option<String>,
        address: Option<String>,
        #[serde(default)]
        photos: Vec<String>,
    },
    #[serde(rename = "incident.action")]
    IncidentAction {
        id: String,
        at: DateTime<Utc>,
        incident: i64,
        action: String,
        note: Option<String>,
        #[serde(default)]
        photos: Vec<String>,
    },
    #[serde(rename = "meeting")]
    Meeting {
        id: String,
        at: DateTime<Utc>,
        level: i16,
        cell: String,
        day: NaiveDate,
        #[serde(default)]
        attendees: Vec<String>,
        minutes: String,
        #[serde(default)]
        photos: Vec<String>,
    },
}

impl FieldAction {
    fn id(&self) -> &str {
        match self {
            FieldAction::PatrolStart { id, .. }
            | FieldAction::PatrolPoints { id, .. }
            | FieldAction::PatrolEnd { id, .. }
            | FieldAction::Visit { id, .. }
            | FieldAction::Log { id, .. }
            | FieldAction::Incident { id, .. }
            | FieldAction::IncidentAction { id, .. }
            | FieldAction::Meeting { id, .. } => id,
        }
    }

    fn at(&self) -> DateTime<Utc> {
        match self {
            FieldAction::PatrolStart { at, .. }
            | FieldAction::PatrolPoints { at, .. }
            | FieldAction::PatrolEnd { at, .. }
            | FieldAction::Visit { at, .. }
            | FieldAction::Log { at, .. }
            | FieldAction::Incident { at, .. }
            | FieldAction::IncidentAction { at, .. }
            | FieldAction::Meeting { at, .. } => *at,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            FieldAction::PatrolStart { .. } => "patrol.start",
            FieldAction::PatrolPoints { .. } => "patrol.points",
            FieldAction::PatrolEnd { .. } => "patrol.end",
            FieldAction::Visit { .. } => "visit",
            FieldAction::Log { .. } => "log",
            FieldAction::Incident { .. } => "incident",
            FieldAction::IncidentAction { .. } => "incident.action",
            FieldAction::Meeting { .. } => "meeting",
        }
    }
}

/// What became of one synced action.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SyncResult {
    pub id: String,
    /// created | duplicate | rejected
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The field the rejection is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What the action made (an incident id, a log version), for the phone to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}

/// Whether `s` is a UUID in its canonical text form.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// What syncing needs besides the database.
pub struct SyncContext<'a> {
    pub atlas: &'a Atlas,
    pub calendar: &'a Calendar,
    pub photos_dir: &'a Path,
    pub rules: &'a Rules,
    /// The live event of an incident reported or acted on (its shape is the HTTP layer's).
    pub incident_payload: &'a (dyn Fn(&IncidentRow) -> Value + Sync),
}

/// Applies `actions` (raw JSON, each parsed on its own so one bad action never hides the
/// others) for `user`, in order. Each action is applied once by its id: a retried or duplicated
/// sync answers `duplicate` and changes nothing.
pub async fn sync(
    client: &mut Client,
    ctx: &SyncContext<'_>,
    user: &User,
    actions: Vec<Value>,
    now: DateTime<Utc>,
) -> Result<Vec<SyncResult>, FieldError> {
    // Parse every action first: a bad one is rejected in place and never hides the others.
    let parsed: Vec<(String, Parsed)> = actions
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let id = raw
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let action = match serde_path_to_error::deserialize::<_, FieldAction>(raw) {
                Ok(a) if is_uuid(a.id()) => Ok(a),
                Ok(_) => Err((
                    format!("actions[{i}].id"),
                    "an action id is a UUID".to_string(),
                )),
                Err(e) => {
                    let path = e.path().to_string();
                    let field = if path == "." {
                        format!("actions[{i}]")
                    } else {
                        format!("actions[{i}].{path}")
                    };
                    Err((field, e.inner().to_string()))
                }
            };
            (id, action)
        })
        .collect();
    let reject = |id: &str, field: String, message: String| SyncResult {
        id: id.to_string(),
        status: "rejected",
        error: Some(message),
        field: Some(field),
        result: None,
    };
    let mut results = Vec::with_capacity(parsed.len());
    let mut i = 0;
    while i < parsed.len() {
        let (id, action) = &parsed[i];
        let action = match action {
            Ok(a) => a,
            Err((field, message)) => {
                results.push(reject(id, field.clone(), message.clone()));
                i += 1;
                continue;
            }
        };
        // A run of track chunks of one patrol is applied together (one transaction, one insert).
        if let FieldAction::PatrolPoints { patrol, .. } = action {
            let run: Vec<&FieldAction> = parsed[i..]
                .iter()
                .map_while(|(_, a)| match a {
                    Ok(a @ FieldAction::PatrolPoints { patrol: p, .. }) if p == patrol => Some(a),
                    _ => None,
                })
                .collect();
            match apply_points(client, ctx, user, patrol, &run).await {
                Ok(mut done) => results.append(&mut done),
                Err(FieldError::Store(e)) if is_unavailable(&e) => {
                    return Err(FieldError::Store(e));
                }
                Err(e) => {
                    let (field, message) = match e {
                        FieldError::Invalid { field, message } => (field, message),
                        other => ("patrol".to_string(), other.to_string()),
                    };
                    for (k, a) in run.iter().enumerate() {
                        results.push(reject(
                            a.id(),
                            format!("actions[{}].{field}", i + k),
                            message.clone(),
                        ));
                    }
                }
            }
            i += run.len();
            continue;
        }
        match apply_once(client, ctx, user, action, now).await {
            Ok(Applied::Created(result)) => results.push(SyncResult {
                id: id.clone(),
                status: "created",
                error: None,
                field: None,
                result,
            }),
            Ok(Applied::Duplicate) => results.push(SyncResult {
                id: id.clone(),
                status: "duplicate",
                error: None,
                field: None,
                result: None,
            }),
            Err(FieldError::Store(e)) if is_unavailable(&e) => return Err(FieldError::Store(e)),
            Err(FieldError::Invalid { field, message }) => {
                results.push(reject(id, format!("actions[{i}].{field}"), message))
            }
            Err(e) => results.push(reject(id, format!("actions[{i}]"), e.to_string())),
        }
        i += 1;
    }
    Ok(results)
}

/// Applies consecutive `patrol.points` chunks of one patrol: claimed together, cleaned in order
/// against the patrol's last kept fix, inserted in one statement, all in one transaction under
/// the patrol's row lock.
async fn apply_points(
    client: &mut Client,
    ctx: &SyncContext<'_>,
    user: &User,
    patrol: &str,
    run: &[&FieldAction],
) -> Result<Vec<SyncResult>, FieldError> {
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let row = own_patrol(&tx, user, patrol).await?;
    let ids: Vec<String> = run.iter().map(|a| a.id().to_string()).collect();
    let ats: Vec<DateTime<Utc>> = run.iter().map(|a| a.at()).collect();
    let inserted: std::collections::HashSet<String> =
        store::claim_actions(&tx, &ids, &ats, user.id, "patrol.points")
            .await?
            .into_iter()
            .collect();
    let owners = store::action_owners(&tx, &ids).await?;
    let mut last = store::last_fix(&tx, patrol).await?;
    let (max_accuracy, max_speed) = (
        ctx.rules.get("track_max_accuracy_m", 50.0),
        ctx.rules.get("track_max_speed_kmh", 40.0),
    );
    let mut kept_all = Vec::new();
    let mut dropped_all = 0;
    let mut seen = std::collections::HashSet::new();
    let mut results = Vec::with_capacity(run.len());
    let (mut result_ids, mut result_values) = (Vec::new(), Vec::new());
    for action in run {
        let FieldAction::PatrolPoints { id, points, .. } = action else {
            continue;
        };
        if !inserted.contains(id) || !seen.insert(id.clone()) {
            let mine = owners.get(id) == Some(&user.id);
            results.push(SyncResult {
                id: id.clone(),
                status: if mine { "duplicate" } else { "rejected" },
                error: (!mine).then(|| "this action id belongs to another user".to_string()),
                field: (!mine).then(|| "id".to_string()),
                result: None,
            });
            continue;
        }
        let mut fixes = Vec::with_capacity(points.len());
        let mut unplaceable = 0u32;
        for p in points {
            match wgs84(p[0], p[1], "points") {
                Ok(c) if p[2].is_finite() => fixes.push(Fix {
                    lon: c.x,
                    lat: c.y,
                    t_ms: p[2] as i64,
                    accuracy_m: p[3],
                }),
                _ => unplaceable += 1,
            }
        }
        fixes.sort_by_key(|f| f.t_ms);
        let (kept, dropped) = track::clean(last, &fixes, max_accuracy, max_speed);
        if let Some(k) = kept.last() {
            last = Some(*k);
        }
        let value = json!({"kept": kept.len(), "dropped": dropped.total() + unplaceable});
        dropped_all += dropped.total() + unplaceable;
        kept_all.extend(kept);
        result_ids.push(id.clone());
        result_values.push(value.clone());
        results.push(SyncResult {
            id: id.clone(),
            status: "created",
            error: None,
            field: None,
            result: Some(value),
        });
    }
    store::add_points(&tx, patrol, &kept_all, dropped_all).await?;
    store::set_action_results(&tx, &result_ids, &result_values).await?;
    if row.ended_at.is_some() && !kept_all.is_empty() {
        // Chunks synced after the end: measure again.
        measure_patrol(&tx, ctx, patrol, None).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(results)
}

/// An action parsed, or the field and reason it was refused.
type Parsed = Result<FieldAction, (String, String)>;

fn is_unavailable(e: &StoreError) -> bool {
    matches!(e, StoreError::Pool(_)) || matches!(e, StoreError::Db(d) if d.is_closed())
}

enum Applied {
    Created(Option<Value>),
    Duplicate,
}

/// One action under an advisory lock on its id: two syncs racing with the same action apply it
/// once between them.
async fn apply_once(
    client: &mut Client,
    ctx: &SyncContext<'_>,
    user: &User,
    action: &FieldAction,
    now: DateTime<Utc>,
) -> Result<Applied, FieldError> {
    if matches!(
        action,
        FieldAction::Incident { .. } | FieldAction::IncidentAction { .. }
    ) {
        // The incident use cases own their transactions, so the id is held by a session lock
        // across them: a concurrent sync of the same action waits, then finds it claimed. The
        // claim is written with the result, after the incident exists.
        client
            .execute(
                "SELECT pg_advisory_lock(hashtextextended($1, 42))",
                &[&action.id()],
            )
            .await
            .map_err(StoreError::from)?;
        let applied = apply_incident_once(client, ctx, user, action, now).await;
        let unlocked = client
            .execute(
                "SELECT pg_advisory_unlock(hashtextextended($1, 42))",
                &[&action.id()],
            )
            .await
            .map_err(StoreError::from);
        let applied = applied?;
        unlocked?;
        return Ok(applied);
    }
    let tx = client.transaction().await.map_err(StoreError::from)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 42))",
        &[&action.id()],
    )
    .await
    .map_err(StoreError::from)?;
    if let Some((owner, _)) =
        store::claim_action(&tx, action.id(), user.id, action.kind(), action.at()).await?
    {
        if owner == user.id {
            return Ok(Applied::Duplicate);
        }
        return Err(invalid("id", "this action id belongs to another user"));
    }
    let result = apply(&tx, ctx, user, action).await?;
    if let Some(r) = &result {
        store::set_action_result(&tx, action.id(), r).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Applied::Created(result))
}

fn check_text(field: &str, text: &str, max_chars: usize) -> Result<(), FieldError> {
    storable(field, text).map_err(|e| invalid(field, e.to_string()))?;
    if text.chars().count() > max_chars {
        return Err(invalid(field, format!("at most {max_chars} characters")));
    }
    Ok(())
}

fn wgs84(lon: f64, lat: f64, field: &str) -> Result<Coord<f64>, FieldError> {
    if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
        return Err(invalid(
            field,
            "a position is a WGS84 longitude and latitude",
        ));
    }
    Crs::parse("wgs84")
        .ok_or_else(|| invalid(field, "no WGS84"))?
        .to_cgcs2000(lon, lat)
        .map_err(|e| invalid(field, e))
}

async fn apply(
    tx: &tokio_postgres::Transaction<'_>,
    ctx: &SyncContext<'_>,
    user: &User,
    action: &FieldAction,
) -> Result<Option<Value>, FieldError> {
    match action {
        FieldAction::PatrolStart { id, at } => {
            store::start_patrol(tx, id, user.id, *at).await?;
            Ok(None)
        }
        // Applied in runs by `apply_points`.
        FieldAction::PatrolPoints { .. } => Ok(None),
        FieldAction::PatrolEnd { patrol, at, .. } => {
            own_patrol(tx, user, patrol).await?;
            let measured = measure_patrol(tx, ctx, patrol, Some(*at)).await?;
            Ok(Some(measured))
        }
        FieldAction::Visit {
            id,
            at,
            household,
            outcome,
            problems,
            note,
            photos,
            position,
        } => {
            if !["见面", "未见面", "电话联系"].contains(&outcome.as_str()) {
                return Err(invalid("outcome", "an outcome is 见面, 未见面 or 电话联系"));
            }
            for (i, p) in problems.iter().enumerate() {
                check_text(&format!("problems[{i}]"), p, 100)?;
            }
            if let Some(n) = note {
                check_text("note", n, 4000)?;
            }
            let (cell, building) = store::household_place(tx, *household)
                .await?
                .ok_or_else(|| invalid("household", format!("no household {household}")))?;
            let cell =
                cell.ok_or_else(|| invalid("household", "this household has no placed building"))?;
            if user.role != Role::Admin && !in_own_cells(&user.cells, &cell) {
                return Err(FieldError::Forbidden(format!(
                    "household {household} is not in your grids"
                )));
            }
            let position = match position {
                Some([lon, lat, accuracy]) => Some((wgs84(*lon, *lat, "position")?, *accuracy)),
                None => None,
            };
            let distance_m = position
                .zip(building)
                .map(|((p, _), b)| (track::haversine_m(p, b) * 10.0).round() / 10.0);
            let far = distance_m.is_some_and(|d| d > ctx.rules.get("visit_far_m", 100.0));
            let photos = store_photos(tx, ctx, user, photos).await?;
            store::insert_visit(
                tx,
                &store::NewVisit {
                    id,
                    user_id: user.id,
                    household: *household,
                    cell: Some(&cell),
                    at: *at,
                    outcome,
                    problems,
                    note: note.as_deref(),
                    photos: &photos,
                    position,
                    distance_m,
                    far,
                    demo: false,
                },
            )
            .await?;
            Ok(Some(json!({"distance_m": distance_m, "far": far})))
        }
        FieldAction::Log { id, day, notes, .. } => {
            check_text("notes", notes, 10_000)?;
            let summary = day_summary(tx, user, *day).await?;
            let version = store::insert_log(tx, id, user.id, *day, notes, &summary, false).await?;
            Ok(Some(json!({"day": day, "version": version})))
        }
        FieldAction::Meeting {
            id,
            level,
            cell,
            day,
            attendees,
            minutes,
            photos,
            ..
        } => {
            let code = crate::domain::code::CellCode::parse(cell)
                .map_err(|e| invalid("cell", e.to_string()))?;
            let expected = match code.level() {
                1 => 1,
                2 => 2,
                _ => 3,
            };
            if *level != expected {
                return Err(invalid(
                    "level",
                    format!("a meeting of cell {cell} is level {expected}"),
                ));
            }
            if user.role != Role::Admin
                && !in_own_cells(&user.cells, cell)
                && !user.cells.iter().any(|c| c.starts_with(cell.as_str()))
            {
                return Err(FieldError::Forbidden(format!(
                    "{cell} is not one of your cells"
                )));
            }
            check_text("minutes", minutes, 20_000)?;
            for (i, a) in attendees.iter().enumerate() {
                check_text(&format!("attendees[{i}]"), a, 50)?;
            }
            let photos = store_photos(tx, ctx, user, photos).await?;
            store::insert_meeting(
                tx,
                &store::NewMeeting {
                    id,
                    user_id: user.id,
                    level: *level,
                    cell,
                    day: *day,
                    attendees,
                    minutes,
                    photos: &photos,
                    demo: false,
                },
            )
            .await?;
            Ok(None)
        }
        FieldAction::Incident { .. } | FieldAction::IncidentAction { .. } => Ok(None),
    }
}

async fn own_patrol(
    tx: &tokio_postgres::Transaction<'_>,
    user: &User,
    patrol: &str,
) -> Result<store::PatrolRow, FieldError> {
    if !is_uuid(patrol) {
        return Err(invalid(
            "patrol",
            "a patrol is named by its patrol.start id",
        ));
    }
    let row = store::patrol(tx, patrol, true).await?.ok_or_else(|| {
        invalid(
            "patrol",
            format!("no patrol {patrol}; sync its patrol.start first"),
        )
    })?;
    if row.user_id != user.id {
        return Err(FieldError::Forbidden(
            "this patrol is another worker's".into(),
        ));
    }
    Ok(row)
}

/// A patrol's measure from its kept fixes: per grid entered, the time inside (a segment's time
/// goes to the grid of its midpoint; gaps over 5 minutes count nowhere) and the buildings within
/// the configured distance of the track.
pub fn measure(
    atlas: &Atlas,
    fixes: &[(i64, Coord<f64>)],
    buildings: &[(i64, String, Coord<f64>)],
    reach_m: f64,
) -> (f64, Vec<PatrolGrid>) {
    let line: Vec<Coord<f64>> = fixes.iter().map(|(_, c)| *c).collect();
    let grid_of = |p: Coord<f64>| {
        atlas.locate(p).and_then(|l| {
            l.chain
                .last()
                .filter(|c| c.level >= 3)
                .map(|c| c.code.clone())
        })
    };
    let mut seconds: BTreeMap<String, f64> = BTreeMap::new();
    for (_, c) in fixes {
        if let Some(g) = grid_of(*c) {
            seconds.entry(g).or_insert(0.0);
        }
    }
    for w in fixes.windows(2) {
        let dt = w[1].0 - w[0].0;
        if dt <= 0 || dt > MAX_GAP_MS {
            continue;
        }
        let mid = Coord {
            x: (w[0].1.x + w[1].1.x) / 2.0,
            y: (w[0].1.y + w[1].1.y) / 2.0,
        };
        if let Some(g) = grid_of(mid) {
            *seconds.entry(g).or_insert(0.0) += dt as f64 / 1000.0;
        }
    }
    let reach = track::Reach::of(&line);
    let grids = seconds
        .into_iter()
        .map(|(cell, secs)| {
            let own: Vec<&(i64, String, Coord<f64>)> =
                buildings.iter().filter(|b| b.1 == cell).collect();
            let covered = match &reach {
                Some(r) => own
                    .iter()
                    .filter(|b| r.within(b.2, reach_m))
                    .map(|b| b.0)
                    .collect(),
                None => Vec::new(),
            };
            PatrolGrid {
                cell,
                seconds: secs.round(),
                buildings: own.len() as i32,
                covered,
            }
        })
        .collect();
    ((track::length_m(&line) * 10.0).round() / 10.0, grids)
}

async fn measure_patrol(
    tx: &tokio_postgres::Transaction<'_>,
    ctx: &SyncContext<'_>,
    patrol: &str,
    ended_at: Option<DateTime<Utc>>,
) -> Result<Value, FieldError> {
    let fixes = store::track(tx, patrol).await?;
    let mut entered: Vec<String> = fixes
        .iter()
        .filter_map(|(_, c)| {
            ctx.atlas
                .locate(*c)
                .and_then(|l| l.chain.last().map(|c| c.code.clone()))
        })
        .collect();
    entered.sort();
    entered.dedup();
    let buildings = store::buildings_in(tx, &entered).await?;
    let (length_m, grids) = measure(
        ctx.atlas,
        &fixes,
        &buildings,
        ctx.rules.get("coverage_distance_m", 50.0),
    );
    store::finish_patrol(tx, patrol, ended_at, length_m, &grids).await?;
    Ok(json!({"length_m": length_m, "grids": grids.len()}))
}

/// An incident action under its id's session lock: applied unless already claimed.
async fn apply_incident_once(
    client: &mut Client,
    ctx: &SyncContext<'_>,
    user: &User,
    action: &FieldAction,
    now: DateTime<Utc>,
) -> Result<Applied, FieldError> {
    let ids = [action.id().to_string()];
    if let Some(owner) = store::action_owners(&*client, &ids).await?.get(action.id()) {
        if *owner == user.id {
            return Ok(Applied::Duplicate);
        }
        return Err(invalid("id", "this action id belongs to another user"));
    }
    let result = apply_incident(client, ctx, user, action, now).await?;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    store::claim_action(&tx, action.id(), user.id, action.kind(), action.at()).await?;
    store::set_action_result(&tx, action.id(), &result).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Applied::Created(Some(result)))
}

async fn apply_incident(
    client: &mut Client,
    ctx: &SyncContext<'_>,
    user: &User,
    action: &FieldAction,
    now: DateTime<Utc>,
) -> Result<Value, FieldError> {
    match action {
        FieldAction::Incident {
            category,
            description,
            lon,
            lat,
            crs,
            address,
            photos,
            ..
        } => {
            check_text("description", description, 4000)?;
            if description.trim().is_empty() {
                return Err(invalid("description", "describe the incident"));
            }
            if let Some(a) = address {
                check_text("address", a, 500)?;
            }
            let crs_name = crs.as_deref().unwrap_or("wgs84");
            let crs = Crs::parse(crs_name)
                .ok_or_else(|| invalid("crs", format!("unknown crs {crs_name:?}")))?;
            let point = crs.to_cgcs2000(*lon, *lat).map_err(|e| invalid("lon", e))?;
            let photos = {
                let tx = client.transaction().await.map_err(StoreError::from)?;
                let stored = store_photos(&tx, ctx, user, photos).await?;
                tx.commit().await.map_err(StoreError::from)?;
                stored
            };
            let reported = incidents::report(
                client,
                ctx.atlas,
                ctx.calendar,
                user,
                Report {
                    category: category.clone(),
                    description: description.clone(),
                    point,
                    source_crs: crs.label(),
                    address: address.clone(),
                    source: "网格员巡查".into(),
                    severity: None,
                    attributes: None,
                    delivery: None,
                    suggestion: None,
                    photos: photos
                        .iter()
                        .map(|h| format!("/api/v1/photos/{h}"))
                        .collect(),
                },
                now,
                ctx.incident_payload,
            )
            .await?;
            Ok(json!({"incident": reported.row.id}))
        }
        FieldAction::IncidentAction {
            incident,
            action,
            note,
            photos,
            ..
        } => {
            if let Some(n) = note {
                check_text("note", n, 4000)?;
            }
            let parsed = crate::domain::incident::parse_action(action, None, None, None)
                .map_err(|m| invalid("action", m))?;
            let photos = {
                let tx = client.transaction().await.map_err(StoreError::from)?;
                let stored = store_photos(&tx, ctx, user, photos).await?;
                tx.commit().await.map_err(StoreError::from)?;
                stored
            };
            let note = match (note, photos.is_empty()) {
                (n, true) => n.clone(),
                (n, false) => Some(format!(
                    "{}{}",
                    n.clone().unwrap_or_default(),
                    photos
                        .iter()
                        .map(|h| format!(" [照片 /api/v1/photos/{h}]"))
                        .collect::<String>()
                )),
            };
            let row = incidents::act(
                client,
                ctx.calendar,
                user,
                *incident,
                &parsed,
                note,
                now,
                ctx.incident_payload,
            )
            .await?;
            Ok(json!({"incident": row.id, "state": row.state.as_str()}))
        }
        _ => Ok(Value::Null),
    }
}

/// The photo's type from its first bytes (never from what the client says).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A JPEG without its APP1 (EXIF, XMP: where a phone writes its position) and comment segments.
pub fn strip_jpeg_metadata(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut i = 2;
    while i + 4 <= bytes.len() && bytes[i] == 0xFF {
        let marker = bytes[i + 1];
        if marker == 0xDA {
            break; // start of scan: the image data follows
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        if len < 2 || i + 2 + len > bytes.len() {
            return bytes.to_vec(); // not a JPEG we understand: keep it whole
        }
        if marker != 0xE1 && marker != 0xFE {
            out.extend_from_slice(&bytes[i..i + 2 + len]);
        }
        i += 2 + len;
    }
    out.extend_from_slice(&bytes[i.min(bytes.len())..]);
    out
}

/// Decodes `data:` URLs, checks and stores each photo under `photos_dir` by content hash;
/// returns the hashes.
async fn store_photos(
    tx: &impl tokio_postgres::GenericClient,
    ctx: &SyncContext<'_>,
    user: &User,
    photos: &[String],
) -> Result<Vec<String>, FieldError> {
    if photos.len() > MAX_PHOTOS {
        return Err(invalid("photos", format!("at most {MAX_PHOTOS} photos")));
    }
    let mut hashes = Vec::new();
    for (i, url) in photos.iter().enumerate() {
        hashes.push(store_photo(tx, ctx.photos_dir, user.id, &format!("photos[{i}]"), url).await?);
    }
    Ok(hashes)
}

/// Decodes one `data:` URL, checks it is a JPEG, PNG or WebP of at most `MAX_PHOTO_BYTES`,
/// strips a JPEG's metadata (a phone's EXIF holds where and when it was taken), and stores it
/// under `photos_dir` by content hash, recorded as uploaded by `uploader`; returns the hash.
/// `field` names the field in a refusal.
pub async fn store_photo(
    tx: &impl tokio_postgres::GenericClient,
    photos_dir: &Path,
    uploader: i64,
    field: &str,
    url: &str,
) -> Result<String, FieldError> {
    use base64::Engine;
    let data = url
        .split_once(";base64,")
        .filter(|(head, _)| head.starts_with("data:image/"))
        .map(|(_, d)| d)
        .ok_or_else(|| invalid(field, "a photo is a data:image/…;base64, URL"))?;
    if data.len() > MAX_PHOTO_BYTES * 4 / 3 + 4 {
        return Err(invalid(
            field,
            format!("a photo is at most {} MB", MAX_PHOTO_BYTES / 1024 / 1024),
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| invalid(field, format!("not base64: {e}")))?;
    let mime =
        sniff(&bytes).ok_or_else(|| invalid(field, "a photo is a JPEG, PNG or WebP image"))?;
    let bytes = if mime == "image/jpeg" {
        strip_jpeg_metadata(&bytes)
    } else {
        bytes
    };
    let hash = hex::encode(Sha256::digest(&bytes));
    let dir = photos_dir.join(&hash[..2]);
    std::fs::create_dir_all(&dir).map_err(|e| FieldError::Io(e.to_string()))?;
    let path = dir.join(&hash);
    if !path.exists() {
        let partial = dir.join(format!("{hash}.part"));
        std::fs::write(&partial, &bytes).map_err(|e| FieldError::Io(e.to_string()))?;
        std::fs::rename(&partial, &path).map_err(|e| FieldError::Io(e.to_string()))?;
    }
    store::insert_photo(tx, &hash, mime, bytes.len() as i32, uploader).await?;
    Ok(hash)
}

/// A photo's bytes and type for `viewer`: its uploader, admin, command, a leader of the
/// uploader, or whoever may see whole an incident it belongs to (a resident's photo reaches the
/// grid's worker that way). Photos are never public.
pub async fn photo(
    client: &Client,
    photos_dir: &Path,
    viewer: &User,
    hash: &str,
) -> Result<(String, Vec<u8>), FieldError> {
    if hash.len() != 64
        || !hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(invalid(
            "hash",
            "a photo is named by its SHA-256 (64 hex digits)",
        ));
    }
    let (mime, owner_id) = store::photo(client, hash)
        .await?
        .ok_or_else(|| FieldError::NotFound(format!("no photo {hash}")))?;
    let owner = store::user_by_id(client, owner_id).await?;
    let allowed = viewer.role == Role::Command
        || owner
            .as_ref()
            .is_some_and(|o| may_see_track(viewer.role, viewer.id, &viewer.cells, o.id, &o.cells))
        || store::incident_cells_with_photo(client, hash)
            .await?
            .iter()
            .any(|cell| {
                crate::domain::access::incident_access(&viewer.viewer(), cell.as_deref(), &[])
                    == crate::domain::access::IncidentAccess::Full
            });
    if !allowed {
        return Err(FieldError::Forbidden(
            "this photo is not yours to see".into(),
        ));
    }
    let bytes = std::fs::read(photos_dir.join(&hash[..2]).join(hash))
        .map_err(|e| FieldError::Io(e.to_string()))?;
    Ok((mime, bytes))
}

/// The day as the worker's log is prefilled: patrols, visits, incidents reported.
pub async fn day_summary(
    client: &impl tokio_postgres::GenericClient,
    user: &User,
    day: NaiveDate,
) -> Result<Value, FieldError> {
    let (from, to) = day_bounds(day);
    let patrols = store::patrols(client, &[user.id], from, to).await?;
    let visits = store::visits_by(client, &[user.id], from, to).await?;
    let incidents = store::incidents_reported(client, &user.name, from, to).await?;
    let length: f64 = patrols.iter().map(|p| p.length_m).sum();
    let summary = format!(
        "巡查{}次，共{:.1}公里；走访{}户；上报事件{}件。",
        patrols.len(),
        length / 1000.0,
        visits.len(),
        incidents
    );
    Ok(json!({
        "date": day,
        "patrols": patrols.iter().map(|p| json!({"id": p.id, "started_at": p.started_at,
            "ended_at": p.ended_at, "length_m": p.length_m})).collect::<Vec<_>>(),
        "visits": visits.len(),
        "incidents": incidents,
        "summary": summary,
    }))
}

/// Local midnight to midnight of `day`, in UTC.
pub fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    use chrono::TimeZone;
    let start = |d: NaiveDate| {
        crate::domain::calendar::china()
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    (start(day), start(day + chrono::TimeDelta::days(1)))
}

/// A patrol as its viewers see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PatrolView {
    pub id: String,
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub length_m: f64,
    pub dropped_points: i32,
    pub grids: Vec<PatrolGridView>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PatrolGridView {
    pub code: String,
    pub name: Option<String>,
    pub seconds: f64,
    pub buildings: i32,
    /// Share (0–1) of the grid's buildings within reach of the track.
    pub coverage: f64,
}

fn view(atlas: &Atlas, p: &store::PatrolRow, grids: &[PatrolGrid]) -> PatrolView {
    PatrolView {
        id: p.id.clone(),
        worker: p.user.clone(),
        started_at: p.started_at,
        ended_at: p.ended_at,
        length_m: p.length_m,
        dropped_points: p.dropped_points,
        grids: grids
            .iter()
            .map(|g| PatrolGridView {
                code: g.cell.clone(),
                name: atlas.get(&g.cell).map(|c| c.name.clone()),
                seconds: g.seconds,
                buildings: g.buildings,
                coverage: if g.buildings > 0 {
                    ((g.covered.len() as f64 / g.buildings as f64) * 1000.0).round() / 1000.0
                } else {
                    0.0
                },
            })
            .collect(),
    }
}

/// One patrol for `viewer` (the track rule); a read of another person's patrol is audited.
pub async fn patrol(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    id: &str,
) -> Result<PatrolView, FieldError> {
    if !is_uuid(id) {
        return Err(invalid(
            "id",
            "a patrol is named by its patrol.start id (a UUID)",
        ));
    }
    let p = store::patrol(client, id, false)
        .await?
        .ok_or_else(|| FieldError::NotFound(format!("no patrol {id}")))?;
    let owner = store::user_by_id(client, p.user_id).await?;
    see_track(client, viewer, owner.as_ref(), &format!("patrol {id}")).await?;
    let grids = store::patrol_grids(client, std::slice::from_ref(&p.id)).await?;
    Ok(view(
        atlas,
        &p,
        grids.get(&p.id).map(Vec::as_slice).unwrap_or(&[]),
    ))
}

async fn see_track(
    client: &Client,
    viewer: &User,
    owner: Option<&User>,
    subject: &str,
) -> Result<(), FieldError> {
    let Some(owner) = owner else {
        return Err(FieldError::NotFound(format!("no {subject}")));
    };
    if !may_see_track(
        viewer.role,
        viewer.id,
        &viewer.cells,
        owner.id,
        &owner.cells,
    ) {
        return Err(FieldError::Forbidden(format!(
            "{subject} is {}'s; only they, their leaders and admin see it",
            owner.name
        )));
    }
    if viewer.id != owner.id {
        crate::store::registry::audit(
            client,
            &viewer.name,
            viewer.role.as_str(),
            "read_track",
            subject,
            json!({"owner": owner.name}),
        )
        .await?;
    }
    Ok(())
}

/// The workers `viewer` may see the records of, optionally one by name.
async fn visible_workers(
    client: &Client,
    viewer: &User,
    name: Option<&str>,
) -> Result<Vec<User>, FieldError> {
    let all = match name {
        Some(n) => store::user_by_name(client, n).await?.into_iter().collect(),
        None => store::workers_under(client, "").await?,
    };
    let visible: Vec<User> = all
        .into_iter()
        .filter(|w| may_see_track(viewer.role, viewer.id, &viewer.cells, w.id, &w.cells))
        .collect();
    if let (Some(n), true) = (name, visible.is_empty()) {
        return Err(FieldError::Forbidden(format!(
            "{n}'s records are not yours to see"
        )));
    }
    Ok(visible)
}

/// Patrols of the workers `viewer` may see (one by name), started in `[from, to)`; audited
/// when they are someone else's.
pub async fn patrols(
    client: &Client,
    atlas: &Atlas,
    viewer: &User,
    worker: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PatrolView>, FieldError> {
    let workers = visible_workers(client, viewer, worker).await?;
    let ids: Vec<i64> = workers.iter().map(|w| w.id).collect();
    let rows = store::patrols(client, &ids, from, to).await?;
    if workers.iter().any(|w| w.id != viewer.id) && !rows.is_empty() {
        crate::store::registry::audit(
            client,
            &viewer.name,
            viewer.role.as_str(),
            "read_track",
            "patrols",
            json!({"workers": workers.iter().map(|w| &w.name).collect::<Vec<_>>()}),
        )
        .await?;
    }
    let grids = store::patrol_grids(
        client,
        &rows.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
    )
    .await?;
    Ok(rows
        .iter()
        .map(|p| view(atlas, p, grids.get(&p.id).map(Vec::as_slice).unwrap_or(&[])))
        .collect())
}

/// Logs of the workers `viewer` may see (one by name) for days in `[from, to]`.
pub async fn logs(
    client: &Client,
    viewer: &User,
    worker: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<store::LogRow>, FieldError> {
    let workers = visible_workers(client, viewer, worker).await?;
    let ids: Vec<i64> = workers.iter().map(|w| w.id).collect();
    Ok(store::logs(client, &ids, from, to).await?)
}

/// A leader's comment on a log (the log itself never changes).
pub async fn comment(
    client: &Client,
    viewer: &User,
    log: &str,
    text: &str,
) -> Result<store::LogComment, FieldError> {
    if !is_uuid(log) {
        return Err(invalid("id", "a log is named by its UUID"));
    }
    check_text("comment", text, 2000)?;
    if text.trim().is_empty() {
        return Err(invalid("comment", "write a comment"));
    }
    let owner_id = store::log_owner(client, log)
        .await?
        .ok_or_else(|| FieldError::NotFound(format!("no log {log}")))?;
    let owner = store::user_by_id(client, owner_id).await?;
    let owner = owner.ok_or_else(|| FieldError::NotFound(format!("no log {log}")))?;
    if viewer.id == owner.id
        || !may_see_track(
            viewer.role,
            viewer.id,
            &viewer.cells,
            owner.id,
            &owner.cells,
        )
    {
        return Err(FieldError::Forbidden(
            "only the worker's leaders and admin comment on a log".into(),
        ));
    }
    Ok(store::add_comment(client, log, &viewer.name, text.trim()).await?)
}

/// The compliance report over `period` for the workers under `cell` (all for `None`) that
/// `viewer` may judge: command and admin all, a leader its own workers.
pub async fn compliance(
    client: &Client,
    atlas: &Atlas,
    calendar: &Calendar,
    viewer: &User,
    cell: Option<&str>,
    period: Period,
) -> Result<
    (
        Rules,
        Vec<duty::WorkerCompliance>,
        Vec<duty::GridCompliance>,
    ),
    FieldError,
> {
    let rules = rules(client).await?;
    let mut workers = if matches!(viewer.role, Role::Admin | Role::Command) {
        store::workers_under(client, cell.unwrap_or("")).await?
    } else {
        // A leader's workers only (never a scan of the county's).
        let mut within = store::workers_within(client, &viewer.cells, viewer.id).await?;
        within.retain(|w| may_see_track(viewer.role, viewer.id, &viewer.cells, w.id, &w.cells));
        within
    };
    if let Some(prefix) = cell {
        workers.retain(|w| {
            w.cells
                .iter()
                .any(|c| c.starts_with(prefix) || prefix.starts_with(c.as_str()))
        });
    }
    let ids: Vec<i64> = workers.iter().map(|w| w.id).collect();
    let (from, _) = day_bounds(period.from);
    let (_, to) = day_bounds(period.to);
    // The grids judged: every grid (level ≥ 3) under the workers' cells.
    // A grid is judged when one of its ancestors (or itself) is a worker's cell: looked up by
    // the code's prefixes, not by scanning every worker for every grid.
    let owned: std::collections::HashSet<&str> = workers
        .iter()
        .flat_map(|w| w.cells.iter().map(String::as_str))
        .collect();
    let mut grids: Vec<String> = atlas
        .cells()
        .iter()
        .filter(|c| c.level >= 3 && atlas.chain(c).any(|a| owned.contains(a.code.as_str())))
        .filter(|c| cell.is_none_or(|p| c.code.starts_with(p)))
        .map(|c| c.code.clone())
        .collect();
    grids.sort();
    let patrol_rows = store::patrols(client, &ids, from, to).await?;
    let patrol_grids = store::patrol_grids_of(client, &ids, from, to).await?;
    let mut buildings: HashMap<String, usize> = grids.iter().map(|g| (g.clone(), 0)).collect();
    for (g, n) in store::building_counts(client, &grids).await? {
        buildings.insert(g, n as usize);
    }
    let interval_categories: Vec<String> = rules
        .visit_intervals()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let households = store::duty_facts(client, &grids, &interval_categories, from).await?;
    let facts = Facts {
        workers: workers
            .iter()
            .map(|w| {
                (
                    w.id,
                    w.name.clone(),
                    w.cells
                        .iter()
                        .map(|c| (c.clone(), atlas.get(c).map_or(3, |a| a.level)))
                        .collect(),
                )
            })
            .collect(),
        patrols: patrol_rows
            .iter()
            .map(|p| PatrolFacts {
                worker: p.user_id,
                day: local_day(p.started_at),
                grids: patrol_grids
                    .get(&p.id)
                    .map(|gs| {
                        gs.iter()
                            .map(|g| (g.cell.clone(), g.seconds, g.covered.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        logs: store::log_days(client, &ids, period.from, period.to).await?,
        households: households
            .into_iter()
            .map(|(cell, categories, visits)| HouseholdFacts {
                cell,
                categories,
                visits: visits.into_iter().map(local_day).collect(),
            })
            .collect(),
        buildings,
        meetings: store::meetings(client, &all_cells(&workers), period.from, period.to)
            .await?
            .into_iter()
            .map(|(c, _, d)| (c, d))
            .collect(),
    };
    let (rows, grid_rows) = duty::judge(&facts, &rules, calendar, period);
    Ok((rules, rows, grid_rows))
}

fn all_cells(workers: &[User]) -> Vec<String> {
    let mut cells: Vec<String> = workers
        .iter()
        .flat_map(|w| w.cells.iter().cloned())
        .collect();
    cells.sort();
    cells.dedup();
    cells
}

/// The worker's day on the phone's home screen.
pub async fn today(
    client: &Client,
    atlas: &Atlas,
    calendar: &Calendar,
    user: &User,
    now: DateTime<Utc>,
) -> Result<Value, FieldError> {
    let rules = rules(client).await?;
    let day = local_day(now);
    let grids: Vec<&crate::atlas::AtlasCell> = atlas
        .cells()
        .iter()
        .filter(|c| c.level >= 3 && in_own_cells(&user.cells, &c.code))
        .map(|c| &**c)
        .collect();
    let codes: Vec<String> = grids.iter().map(|c| c.code.clone()).collect();
    let intervals = rules.visit_intervals();
    let since = now - chrono::TimeDelta::days(400);
    let households = store::duty_households_with(
        client,
        &codes,
        &intervals.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
        since,
    )
    .await?;
    let mut due = Vec::new();
    for h in &households {
        let interval = intervals
            .iter()
            .filter(|(c, _)| h.categories.contains(c))
            .map(|(_, d)| *d)
            .fold(f64::INFINITY, f64::min);
        if !interval.is_finite() {
            continue;
        }
        let last = h.visits.last().copied();
        let due_by = match last {
            Some(t) => local_day(t) + chrono::TimeDelta::days(interval as i64),
            None => day,
        };
        if due_by <= day + chrono::TimeDelta::days(7) {
            due.push(
                json!({"household": h.id, "address": h.address, "head": h.head,
                "categories": h.categories, "last_visit": last.map(local_day), "due_by": due_by}),
            );
        }
    }
    let week_start = day
        - chrono::TimeDelta::days(i64::from(
            chrono::Datelike::weekday(&day).num_days_from_monday(),
        ));
    let (compliance, _, _) = (
        compliance(
            client,
            atlas,
            calendar,
            user,
            None,
            Period {
                from: week_start,
                to: day,
                today: day,
            },
        )
        .await
        .ok()
        .and_then(|(_, rows, _)| rows.into_iter().find(|r| r.worker == user.name)),
        (),
        (),
    );
    let open = crate::app::incidents::list(
        client,
        user,
        crate::store::incidents::IncidentFilter {
            limit: 200,
            states: Some(
                crate::domain::incident::State::all()
                    .filter(|s| !s.is_finished())
                    .collect(),
            ),
            ..Default::default()
        },
    )
    .await?;
    let logs = store::log_days(client, &[user.id], day, day).await?;
    let bbox = |c: &crate::atlas::AtlasCell| {
        use geo::BoundingRect;
        c.geometry
            .bounding_rect()
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
    };
    Ok(json!({
        "user": {"name": user.name, "cells": user.cells},
        "grids": grids.iter().map(|c| json!({"code": c.code, "name": c.name, "bbox": bbox(c)})).collect::<Vec<_>>(),
        "due_visits": due,
        "open_incidents": open.iter().map(|(r, _)| {
            let deadline = r.clock().status(calendar, now).deadline_at;
            json!({"id": r.id, "category": r.category, "state": r.state.as_str(),
                   "deadline_at": deadline, "overdue": deadline < now})
        }).collect::<Vec<_>>(),
        "log": {"date": day, "due": calendar.is_workday(day), "written": !logs.is_empty()},
        "patrol_days": {
            "done": compliance.as_ref().map_or(0, |c| c.patrol_days),
            "required": rules.get("patrol_days_per_week.grid", 2.0),
            "week_start": week_start,
        },
    }))
}

/// The households of the worker's grids for the phone (cached offline): address, head,
/// categories, building point, last visit.
pub async fn households(
    client: &Client,
    user: &User,
    atlas: &Atlas,
    now: DateTime<Utc>,
) -> Result<Value, FieldError> {
    let codes: Vec<String> = atlas
        .cells()
        .iter()
        .filter(|c| c.level >= 3 && in_own_cells(&user.cells, &c.code))
        .map(|c| c.code.clone())
        .collect();
    let rows = store::duty_households(client, &codes, now - chrono::TimeDelta::days(400)).await?;
    Ok(json!({"households": rows.iter().map(|h| json!({
        "id": h.id, "address": h.address, "head": h.head, "categories": h.categories,
        "building": h.building.map(|b| [b.x, b.y]), "cell": h.cell,
        "last_visit": h.visits.last().map(|t| local_day(*t)),
    })).collect::<Vec<_>>()}))
}

/// Deletes tracks and visit positions older than the retention period (`track_retention_days`).
pub async fn purge(client: &Client, now: DateTime<Utc>) -> Result<(u64, u64), FieldError> {
    let rules = rules(client).await?;
    let days = rules.get("track_retention_days", 365.0).max(1.0) as i64;
    Ok(store::purge_tracks(client, now - chrono::TimeDelta::days(days)).await?)
}
