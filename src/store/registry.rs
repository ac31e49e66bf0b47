//! The registry in PostGIS: buildings and households written by `COPY` into staging tables and
//! upserted in one transaction; counts per cell; access for the roles that may read it; the
//! audit log of sensitive reads and manual corrections.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::SinkExt;
use serde_json::Value;
use tokio_postgres::{Client, Transaction};

use super::{StoreError, StoreResult};
use crate::codec::place::{KnownBuilding, RowReport, Status};
use crate::codec::registry::{Kind, Record, Rejected};
use crate::domain::category::Sensitivity;

/// Every registered building, for matching households to door plates.
pub async fn known_buildings(client: &Client) -> StoreResult<Vec<KnownBuilding>> {
    let rows = client
        .query("SELECT id, ext_id, address, cell_code FROM buildings", &[])
        .await?;
    Ok(rows
        .iter()
        .map(|r| KnownBuilding {
            id: r.get(0),
            ext_id: r.get(1),
            address: r.get(2),
            cell: r.get(3),
        })
        .collect())
}

/// The configured categories and their sensitivity.
pub async fn categories(client: &Client) -> StoreResult<BTreeMap<String, Sensitivity>> {
    let rows = client
        .query("SELECT name, sensitivity FROM categories", &[])
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name: String = r.get(0);
            Sensitivity::parse(r.get(1)).map(|s| (name, s))
        })
        .collect())
}

/// Escapes a value for PostgreSQL's COPY text format.
fn copy_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn copy_opt(value: Option<&str>) -> String {
    value.map(copy_text).unwrap_or_else(|| "\\N".into())
}

/// A text[] literal for COPY, every element quoted.
fn copy_array(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    copy_text(&format!("{{{}}}", quoted.join(",")))
}

async fn copy_rows(
    tx: &Transaction<'_>,
    statement: &str,
    lines: impl Iterator<Item = String>,
) -> StoreResult<()> {
    let sink = tx.copy_in(statement).await?;
    let mut sink = std::pin::pin!(sink);
    let mut chunk = String::new();
    for line in lines {
        chunk.push_str(&line);
        chunk.push('\n');
        if chunk.len() > 1 << 20 {
            sink.send(bytes::Bytes::from(std::mem::take(&mut chunk)))
                .await?;
        }
    }
    if !chunk.is_empty() {
        sink.send(bytes::Bytes::from(chunk)).await?;
    }
    sink.as_mut().finish().await?;
    Ok(())
}

/// What an import wrote.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Written {
    pub buildings: u64,
    pub households: u64,
    /// Buildings created for households placed by coordinates at a door plate not yet registered.
    pub new_buildings: u64,
}

/// Writes the writable rows of an import in one transaction (the caller decides beforehand
/// whether anything is written at all).
pub async fn write_import(
    client: &mut Client,
    kind: Kind,
    rows: &[Result<Record, Rejected>],
    reports: &[RowReport],
    source_crs: &str,
) -> StoreResult<Written> {
    let tx = client.transaction().await?;
    let mut written = Written::default();
    let records = rows
        .iter()
        .zip(reports)
        .filter(|(_, r)| r.writable())
        .filter_map(|(row, report)| row.as_ref().ok().map(|rec| (rec, report)));
    match kind {
        Kind::Buildings => {
            tx.batch_execute(
                "CREATE TEMP TABLE stage_buildings (ext_id text, address text, lon float8, lat float8,
                     cell_code text, source_crs text) ON COMMIT DROP",
            )
            .await?;
            let lines = records.filter_map(|(rec, report)| {
                let p = rec.point?;
                let cell = match &report.status {
                    Status::Placed { cell, .. } => Some(cell.as_str()),
                    _ => None,
                };
                Some(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    copy_opt(rec.ext_id.as_deref()),
                    copy_text(&rec.address),
                    p.x,
                    p.y,
                    copy_opt(cell),
                    copy_text(source_crs)
                ))
            });
            copy_rows(&tx, "COPY stage_buildings FROM STDIN", lines).await?;
            written.buildings = tx
                .execute(
                    "INSERT INTO buildings (ext_id, address, geom, source_crs, cell_code)
                     SELECT ext_id, address, ST_SetSRID(ST_MakePoint(lon, lat), 4490), source_crs, cell_code
                     FROM stage_buildings
                     ON CONFLICT (ext_id) DO UPDATE SET address = EXCLUDED.address, geom = EXCLUDED.geom,
                         source_crs = EXCLUDED.source_crs, cell_code = EXCLUDED.cell_code",
                    &[],
                )
                .await?;
        }
        Kind::Households => {
            let records: Vec<(&Record, &RowReport)> = records.collect();
            // New buildings (households placed by coordinates at an unregistered door plate),
            // one per door plate, keyed so a re-import finds them again.
            let mut new_buildings: BTreeMap<String, (&Record, &str)> = BTreeMap::new();
            for (rec, report) in &records {
                if let Status::Placed {
                    cell,
                    building: Some(b),
                } = &report.status
                    && b.id.is_none()
                {
                    new_buildings
                        .entry(format!("门牌:{}", b.address))
                        .or_insert((rec, cell.as_str()));
                }
            }
            tx.batch_execute(
                "CREATE TEMP TABLE stage_buildings (ext_id text, address text, lon float8, lat float8,
                     cell_code text, source_crs text) ON COMMIT DROP;
                 CREATE TEMP TABLE stage_households (ext_id text, building_id bigint, building_ext text,
                     address text, head_name text, members integer, phone text, categories text[]) ON COMMIT DROP",
            )
            .await?;
            let lines = new_buildings.iter().filter_map(|(ext, (rec, cell))| {
                let p = rec.point?;
                Some(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    copy_text(ext),
                    copy_text(&ext["门牌:".len()..]),
                    p.x,
                    p.y,
                    copy_text(cell),
                    copy_text(source_crs)
                ))
            });
            copy_rows(&tx, "COPY stage_buildings FROM STDIN", lines).await?;
            written.new_buildings = tx
                .execute(
                    "INSERT INTO buildings (ext_id, address, geom, source_crs, cell_code)
                     SELECT ext_id, address, ST_SetSRID(ST_MakePoint(lon, lat), 4490), source_crs, cell_code
                     FROM stage_buildings
                     ON CONFLICT (ext_id) DO NOTHING",
                    &[],
                )
                .await?;
            let lines = records.iter().map(|(rec, report)| {
                let (id, ext) = match &report.status {
                    Status::Matched { building, .. } => (building.id, None),
                    Status::Placed {
                        building: Some(b), ..
                    } => match b.id {
                        Some(id) => (Some(id), None),
                        None => (None, Some(format!("门牌:{}", b.address))),
                    },
                    _ => (None, None),
                };
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    copy_opt(rec.ext_id.as_deref()),
                    id.map(|i| i.to_string()).unwrap_or_else(|| "\\N".into()),
                    copy_opt(ext.as_deref()),
                    copy_text(&rec.address),
                    copy_text(rec.head_name.as_deref().unwrap_or("")),
                    rec.members.unwrap_or(0),
                    copy_opt(rec.phone.as_deref()),
                    copy_array(&rec.categories)
                )
            });
            copy_rows(&tx, "COPY stage_households FROM STDIN", lines).await?;
            written.households = tx
                .execute(
                    "INSERT INTO households (ext_id, building_id, address, head_name, members, phone, categories)
                     SELECT s.ext_id, coalesce(s.building_id, b.id), s.address, s.head_name, s.members,
                            s.phone, s.categories
                     FROM stage_households s LEFT JOIN buildings b ON b.ext_id = s.building_ext
                     ON CONFLICT (ext_id) DO UPDATE SET building_id = EXCLUDED.building_id,
                         address = EXCLUDED.address, head_name = EXCLUDED.head_name,
                         members = EXCLUDED.members, phone = EXCLUDED.phone,
                         categories = EXCLUDED.categories",
                    &[],
                )
                .await?;
        }
    }
    tx.commit().await?;
    Ok(written)
}

/// Writes one audit row (who read or changed what).
pub async fn audit(
    client: &Client,
    user: &str,
    role: &str,
    action: &str,
    subject: &str,
    detail: Value,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO audit_log (user_name, role, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
            &[&user, &role, &action, &subject, &detail],
        )
        .await?;
    Ok(())
}

/// One entry of the audit log: who read or changed what, when.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub user: String,
    pub role: String,
    pub action: String,
    pub subject: String,
    pub detail: Value,
}

/// The audit log, newest first.
pub async fn audit_log(client: &Client, limit: i64) -> StoreResult<Vec<AuditEntry>> {
    let rows = client
        .query(
            "SELECT id, at, user_name, role, action, subject, detail FROM audit_log
             ORDER BY id DESC LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AuditEntry {
            id: r.get(0),
            at: r.get(1),
            user: r.get(2),
            role: r.get(3),
            action: r.get(4),
            subject: r.get(5),
            detail: r.get(6),
        })
        .collect())
}

/// A household as stored, with its people.
#[derive(Debug, Clone)]
pub struct HouseholdRow {
    pub id: i64,
    pub ext_id: Option<String>,
    pub building_id: Option<i64>,
    pub address: String,
    pub head_name: String,
    pub members: i32,
    pub phone: Option<String>,
    pub categories: Vec<String>,
    pub people: Vec<PersonRow>,
}

#[derive(Debug, Clone)]
pub struct PersonRow {
    pub name: String,
    pub id_number: Option<String>,
    pub relation: Option<String>,
    pub categories: Vec<String>,
}

/// The households of the buildings recorded in `cell`, with their people.
pub async fn households_in(client: &Client, cell: &str) -> StoreResult<Vec<HouseholdRow>> {
    let rows = client
        .query(
            "SELECT h.id, h.ext_id, h.building_id, h.address, h.head_name, h.members, h.phone, h.categories,
                    coalesce((SELECT json_agg(json_build_object('name', p.name, 'id_number', p.id_number,
                                'relation', p.relation, 'categories', p.categories) ORDER BY p.id)
                              FROM people p WHERE p.household_id = h.id), '[]'::json)
             FROM households h JOIN buildings b ON b.id = h.building_id
             WHERE b.cell_code = $1 ORDER BY h.id",
            &[&cell],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let people: Value = r.get(8);
            HouseholdRow {
                id: r.get(0),
                ext_id: r.get(1),
                building_id: r.get(2),
                address: r.get(3),
                head_name: r.get(4),
                members: r.get(5),
                phone: r.get(6),
                categories: r.get(7),
                people: people
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| PersonRow {
                        name: p["name"].as_str().unwrap_or_default().to_string(),
                        id_number: p["id_number"].as_str().map(str::to_string),
                        relation: p["relation"].as_str().map(str::to_string),
                        categories: p["categories"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|c| c.as_str().map(str::to_string))
                            .collect(),
                    })
                    .collect(),
            }
        })
        .collect())
}

/// Households, residents and general-category counts per cell (for the command centre and the
/// band check); sensitive categories are never counted here.
pub async fn counts(
    client: &Client,
    cells: &[String],
    general: &BTreeSet<String>,
) -> StoreResult<Vec<CellCounts>> {
    let general: Vec<String> = general.iter().cloned().collect();
    let rows = client
        .query(
            "SELECT b.cell_code, count(h.id), coalesce(sum(h.members), 0)::bigint,
                    coalesce((SELECT json_object_agg(c, n) FROM (
                        SELECT c, count(*) AS n FROM households h2 JOIN buildings b2 ON b2.id = h2.building_id,
                               unnest(h2.categories) AS c
                        WHERE b2.cell_code = b.cell_code AND c = ANY($2) GROUP BY c) x), '{}'::json)
             FROM buildings b JOIN households h ON h.building_id = b.id
             WHERE b.cell_code = ANY($1) GROUP BY b.cell_code ORDER BY b.cell_code",
            &[&cells, &general],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| CellCounts {
            cell: r.get(0),
            households: r.get(1),
            population: r.get(2),
            categories: r.get(3),
        })
        .collect())
}

/// Households, residents and the counts of general categories of one cell.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CellCounts {
    pub cell: String,
    pub households: i64,
    pub population: i64,
    /// Category name → households (general categories only).
    pub categories: Value,
}

/// Moves a building's point (a manual correction) and re-places it in `cell`; its households
/// follow (they hang on the building). Returns the old point and cell.
pub async fn move_building(
    client: &mut Client,
    id: i64,
    lon: f64,
    lat: f64,
    cell: Option<&str>,
    source_crs: &str,
) -> StoreResult<(f64, f64, Option<String>, i64)> {
    let tx = client.transaction().await?;
    let old = tx
        .query_opt(
            "SELECT ST_X(geom), ST_Y(geom), cell_code FROM buildings WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no building {id}")))?;
    tx.execute(
        "UPDATE buildings SET geom = ST_SetSRID(ST_MakePoint($2, $3), 4490), cell_code = $4,
             source_crs = $5 WHERE id = $1",
        &[&id, &lon, &lat, &cell, &source_crs],
    )
    .await?;
    let households: i64 = tx
        .query_one(
            "SELECT count(*) FROM households WHERE building_id = $1",
            &[&id],
        )
        .await?
        .get(0);
    tx.commit().await?;
    Ok((old.get(0), old.get(1), old.get(2), households))
}

/// The cell a building is recorded in.
pub async fn building_cell(client: &Client, id: i64) -> StoreResult<Option<String>> {
    Ok(client
        .query_opt("SELECT cell_code FROM buildings WHERE id = $1", &[&id])
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no building {id}")))?
        .get(0))
}
