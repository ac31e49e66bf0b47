//! Loading the demo deployment (`data/demo/`) into an empty database: cells as revision 1, then
//! buildings, households and teams, all in one transaction (a failure leaves the database empty).

use tokio_postgres::Client;

use super::cells::{WriteOutcome, write_revision_in};
use super::{StoreError, StoreResult};
use crate::demo::files;
use crate::domain::cell::Cell;

/// What was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub revision: i32,
    pub cells: usize,
    pub buildings: usize,
    pub households: usize,
    pub staff: usize,
}

/// Writes the demo's cells (as revision 1), buildings, households and teams in one transaction,
/// unless the atlas already has cells (then `None`: nothing is touched). Reading and parsing the
/// files is `app::demo`'s.
pub async fn write_if_empty(
    client: &mut Client,
    cells: &[Cell],
    registry: &files::Registry,
    photos: &[(String, Vec<u8>)],
) -> StoreResult<Option<Loaded>> {
    if super::cells::count_current(client).await? > 0 {
        return Ok(None);
    }
    let refuse = |e: &dyn std::fmt::Display| StoreError::Refused(format!("demo data: {e}"));
    let tx = client.transaction().await?;
    let revision = match write_revision_in(
        &tx,
        cells,
        Some(0),
        "gridmap demo",
        "demo deployment 湄潭县",
    )
    .await?
    {
        WriteOutcome::Committed { revision, .. } => revision,
        WriteOutcome::Refused(r) => return Err(refuse(&r)),
        WriteOutcome::Stale { current, .. } => {
            return Err(refuse(&format!(
                "the atlas is already at revision {current}"
            )));
        }
    };
    let b = &registry.buildings;
    let ids: Vec<&str> = b.iter().map(|x| x.id.as_str()).collect();
    let addresses: Vec<&str> = b.iter().map(|x| x.address.as_str()).collect();
    let lons: Vec<f64> = b.iter().map(|x| x.lon).collect();
    let lats: Vec<f64> = b.iter().map(|x| x.lat).collect();
    tx.execute(
        "INSERT INTO buildings (ext_id, address, geom, source_crs)
         SELECT id, address, ST_SetSRID(ST_MakePoint(lon, lat), 4490), 'EPSG:4490'
         FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) AS t(id, address, lon, lat)",
        &[&ids, &addresses, &lons, &lats],
    )
    .await?;
    // Buildings get their cell from PostGIS, not from the file: an independent placement.
    tx.execute(
        "UPDATE buildings b SET cell_code = c.code
         FROM cells c
         WHERE c.valid_to IS NULL AND c.level = 3 AND ST_Covers(c.geom, b.geom)",
        &[],
    )
    .await?;

    let h = &registry.households;
    let ids: Vec<&str> = h.iter().map(|x| x.id.as_str()).collect();
    let building_ids: Vec<&str> = h.iter().map(|x| x.building_id.as_str()).collect();
    let addresses: Vec<&str> = h.iter().map(|x| x.address.as_str()).collect();
    let heads: Vec<&str> = h.iter().map(|x| x.head_name.as_str()).collect();
    let members: Vec<i32> = h.iter().map(|x| x.members).collect();
    let phones: Vec<&str> = h.iter().map(|x| x.phone.as_str()).collect();
    let categories: Vec<String> = h.iter().map(|x| x.categories.join(";")).collect();
    tx.execute(
        "INSERT INTO households (ext_id, building_id, address, head_name, members, phone, categories)
         SELECT t.id, b.id, t.address, t.head, t.members, t.phone,
                string_to_array(nullif(t.categories, ''), ';')
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[])
              AS t(id, building, address, head, members, phone, categories)
         JOIN buildings b ON b.ext_id = t.building",
        &[&ids, &building_ids, &addresses, &heads, &members, &phones, &categories],
    )
    .await?;

    let s = &registry.staff;
    let ids: Vec<&str> = s.iter().map(|x| x.id.as_str()).collect();
    let names: Vec<&str> = s.iter().map(|x| x.name.as_str()).collect();
    let phones: Vec<&str> = s.iter().map(|x| x.phone.as_str()).collect();
    let offices: Vec<&str> = s.iter().map(|x| x.office_phone.as_str()).collect();
    let duties: Vec<String> = s.iter().map(|x| x.duties.join(";")).collect();
    let consents: Vec<Option<&str>> = s.iter().map(|x| x.consent_at.as_deref()).collect();
    tx.execute(
        "INSERT INTO staff (ext_id, name, phone, office_phone, duties)
         SELECT id, name, phone, office, string_to_array(duties, ';')
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
              AS t(id, name, phone, office, duties)",
        &[&ids, &names, &phones, &offices, &duties],
    )
    .await?;
    // Consent to publish name, photo and phone, as the written consent the demo records.
    tx.execute(
        "INSERT INTO staff_consents (staff_id, scope, granted, given_on, how, note, recorded_by)
         SELECT s.id, scope, true, (t.consent::timestamptz AT TIME ZONE 'Asia/Shanghai')::date,
                '书面', '书面同意公开姓名、照片与电话（演示数据）', 'demo'
         FROM unnest($1::text[], $2::text[]) AS t(id, consent)
         JOIN staff s ON s.ext_id = t.id, unnest(ARRAY['name', 'photo', 'phone']) AS scope
         WHERE t.consent IS NOT NULL",
        &[&ids, &consents],
    )
    .await?;
    for (staff_id, bytes) in photos {
        tx.execute(
            "UPDATE staff SET photo_type = 'image/svg+xml', photo_bytes = $2 WHERE ext_id = $1",
            &[staff_id, bytes],
        )
        .await?;
    }
    let a = &registry.assignments;
    let cells_of: Vec<&str> = a.iter().map(|x| x.cell_code.as_str()).collect();
    let staff_ids: Vec<&str> = a.iter().map(|x| x.staff_id.as_str()).collect();
    let roles: Vec<&str> = a.iter().map(|x| x.role.as_str()).collect();
    // The demo's teams have served since 2024, so past half-years have a team to score.
    tx.execute(
        "INSERT INTO cell_staff (cell_code, staff_id, role, since, changed_by)
         SELECT t.cell, s.id, t.role, DATE '2024-01-01', 'demo'
         FROM unnest($1::text[], $2::text[], $3::text[]) AS t(cell, staff, role)
         JOIN staff s ON s.ext_id = t.staff",
        &[&cells_of, &staff_ids, &roles],
    )
    .await?;
    tx.commit().await?;
    super::live::committed();
    Ok(Some(Loaded {
        revision,
        cells: cells.len(),
        buildings: registry.buildings.len(),
        households: registry.households.len(),
        staff: registry.staff.len(),
    }))
}

/// Places (lon, lat, grid) of some buildings, for demo incidents.
pub async fn places(client: &Client, limit: i64) -> StoreResult<Vec<(f64, f64, String)>> {
    let rows = client
        .query(
            "SELECT ST_X(geom), ST_Y(geom), cell_code FROM buildings
             WHERE cell_code IS NOT NULL ORDER BY id LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Writes the demo's synthetic incidents with their histories, in one transaction.
pub async fn seed_incidents(
    client: &mut Client,
    incidents: &[crate::demo::incidents::DemoIncident],
) -> StoreResult<usize> {
    let tx = client.transaction().await?;
    for i in incidents {
        let id: i64 = tx
            .query_one(
                "INSERT INTO incidents (category, description, geom, source_crs, cell_code, cell_revision,
                     source, reporter, state, level, severity, created_at, updated_at, clock_start,
                     budget_seconds, deadline_at, supervision, rating, closed_at)
                 VALUES ($1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4490), 'EPSG:4490', $5,
                     (SELECT max(number) FROM revisions), $6, 'gridmap demo', $7, $8, $9, $10, $11, $10,
                     $12, $13, $14, $15, $16)
                 RETURNING id",
                &[
                    &i.category,
                    &i.description,
                    &i.lon,
                    &i.lat,
                    &i.cell,
                    &i.source,
                    &i.state,
                    &i.level,
                    &i.severity,
                    &i.created_at,
                    &i.events.last().map(|e| e.3).unwrap_or(i.created_at),
                    &i.budget_seconds,
                    &i.deadline_at,
                    &i.supervision,
                    &i.rating,
                    &i.closed_at,
                ],
            )
            .await?
            .get(0);
        for (action, from, to, at) in &i.events {
            tx.execute(
                "INSERT INTO incident_events (incident_id, action, from_state, to_state, actor, note, at)
                 VALUES ($1, $2, $3, $4, 'gridmap demo', '演示数据', $5)",
                &[&id, action, from, to, at],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(incidents.len())
}

/// The current townships (level 1): code and name.
pub async fn townships(client: &Client) -> StoreResult<Vec<(String, String)>> {
    let rows = client
        .query(
            "SELECT code, name FROM cells WHERE valid_to IS NULL AND level = 1 ORDER BY code",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
