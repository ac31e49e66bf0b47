//! Cells and revisions: writing a new revision all-or-nothing, reading cells as GeoJSON.

use geojson::GeometryValue;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Transaction};

use super::{StoreError, StoreResult};
use crate::codec::cells::{Problem, external_parents};
use crate::domain::cell::{Cell, CellKind};
use crate::domain::code::CellCode;

/// The NOTIFY channel announcing a new revision (payload: its number).
pub const REVISION_CHANNEL: &str = "gridmap_revision";

/// Serialises revision numbering: one writer of the atlas at a time.
const REVISION_LOCK: i64 = 0x0067_7269_6472_6576;

/// A refusal of a write that names the feature, so the CLI and HTTP can say which one.
#[derive(Debug, thiserror::Error)]
#[error("feature {feature}: {problem}")]
pub struct FeatureRefused {
    pub feature: usize,
    pub problem: Problem,
}

/// Outcome of writing cells as a revision.
#[derive(Debug)]
pub enum WriteOutcome {
    Committed {
        revision: i32,
        cells: usize,
    },
    Refused(FeatureRefused),
    /// The atlas moved on since the change was checked against revision `base`.
    Stale {
        base: i32,
        current: i32,
    },
}

/// Writes `cells` as one new revision: rows with the same codes are closed, new rows inserted.
/// Everything happens in one transaction; a refusal or an error leaves the database unchanged.
pub async fn write_revision(
    client: &mut Client,
    cells: &[Cell],
    base: Option<i32>,
    author: &str,
    message: &str,
) -> StoreResult<WriteOutcome> {
    let tx = client.transaction().await?;
    let outcome = write_revision_in(&tx, cells, base, author, message).await?;
    if matches!(outcome, WriteOutcome::Committed { .. }) {
        tx.commit().await?;
        super::live::committed();
    }
    Ok(outcome)
}

/// `write_revision` inside a caller's transaction; the caller commits (or drops to roll back).
pub async fn write_revision_in(
    tx: &Transaction<'_>,
    cells: &[Cell],
    base: Option<i32>,
    author: &str,
    message: &str,
) -> StoreResult<WriteOutcome> {
    write_revision_with(tx, cells, &[], base, author, message).await
}

/// `write_revision_in` that also closes the rows of `retired` codes (split or merged away, or
/// removed) without a successor row of the same code.
pub async fn write_revision_with(
    tx: &Transaction<'_>,
    cells: &[Cell],
    retired: &[String],
    base: Option<i32>,
    author: &str,
    message: &str,
) -> StoreResult<WriteOutcome> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REVISION_LOCK])
        .await?;
    if let Some(base) = base {
        let current = super::current_revision(tx.client()).await?;
        if current != base {
            return Ok(WriteOutcome::Stale { base, current });
        }
    }

    for (parent, feature) in external_parents(cells) {
        let found = tx
            .query_opt(
                "SELECT 1 FROM cells WHERE valid_to IS NULL AND code = $1",
                &[&parent.as_str()],
            )
            .await?;
        if found.is_none() {
            return Ok(WriteOutcome::Refused(FeatureRefused {
                feature,
                problem: Problem::UnknownParent {
                    parent: parent.to_string(),
                },
            }));
        }
    }

    let revision: i32 = tx
        .query_one("SELECT coalesce(max(number), 0) + 1 FROM revisions", &[])
        .await?
        .get(0);
    tx.execute(
        "INSERT INTO revisions (number, author, message) VALUES ($1, $2, $3)",
        &[&revision, &author, &message],
    )
    .await?;
    // Delivered at commit only: servers reload their atlas snapshot when they hear it.
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&REVISION_CHANNEL, &revision.to_string()],
    )
    .await?;
    let codes: Vec<&str> = cells
        .iter()
        .map(|c| c.code.as_str())
        .chain(retired.iter().map(String::as_str))
        .collect();
    tx.execute(
        "UPDATE cells SET valid_to = $1 WHERE valid_to IS NULL AND code = ANY($2)",
        &[&revision, &codes],
    )
    .await?;

    let insert = tx
        .prepare(
            "INSERT INTO cells (code, parent_code, level, kind, name, geom, attributes, valid_from)
             VALUES ($1, $2, $3, $4, $5, ST_SetSRID(ST_GeomFromGeoJSON($6), 4490), $7, $8)
             RETURNING ST_IsValid(geom), ST_IsValidReason(geom)",
        )
        .await?;
    for (feature, cell) in cells.iter().enumerate() {
        let geometry = GeometryValue::from(&cell.geometry).to_string();
        let attributes = Value::Object(cell.attributes.clone());
        let level = cell.level as i16;
        let row = tx
            .query_one(
                &insert,
                &[
                    &cell.code.as_str(),
                    &cell.parent.as_ref().map(|p| p.as_str()),
                    &level,
                    &cell.kind.as_str(),
                    &cell.name,
                    &geometry,
                    &attributes,
                    &revision,
                ],
            )
            .await?;
        // PostGIS (GEOS) is the second judge of validity, behind the parser's own check.
        if !row.get::<_, bool>(0) {
            return Ok(WriteOutcome::Refused(FeatureRefused {
                feature,
                problem: Problem::InvalidGeometry(row.get(1)),
            }));
        }
    }
    // Run the database's own overlap guard now rather than at commit, to name the feature.
    if let Err(e) = tx
        .batch_execute("SET CONSTRAINTS cells_no_sibling_overlap IMMEDIATE")
        .await
    {
        let Some(db) = e
            .as_db_error()
            .filter(|d| *d.code() == SqlState::EXCLUSION_VIOLATION)
        else {
            return Err(e.into());
        };
        let code = db.detail().unwrap_or_default();
        return Ok(WriteOutcome::Refused(FeatureRefused {
            feature: cells
                .iter()
                .position(|c| c.code.as_str() == code)
                .unwrap_or(0),
            problem: Problem::OverlapsSibling {
                other: db.hint().unwrap_or_default().to_string(),
            },
        }));
    }
    // The live stream (wall, planner pages) hears of it too, in order with incident events.
    super::live::record(
        tx,
        "atlas.revision",
        &serde_json::json!({"revision": revision}),
    )
    .await?;
    Ok(WriteOutcome::Committed {
        revision,
        cells: cells.len(),
    })
}

/// Which cells to list.
#[derive(Debug, Default, Clone)]
pub struct CellFilter {
    pub level: Option<i16>,
    pub parent: Option<String>,
    /// Revision to look at; `None` = current.
    pub as_of: Option<i32>,
}

const FEATURE_SQL: &str = "json_build_object(
        'type', 'Feature',
        'id', code,
        'properties', json_build_object(
            'code', code, 'name', name, 'level', level, 'kind', kind,
            'parent', parent_code, 'revision', valid_from),
        'geometry', ST_AsGeoJSON(geom, 7)::json)";

const AS_OF_SQL: &str = "($1::int IS NULL AND valid_to IS NULL)
     OR ($1::int IS NOT NULL AND valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1))";

/// Cells matching `filter` as GeoJSON Features (public fields only), ordered by code.
pub async fn list_features(client: &Client, filter: &CellFilter) -> StoreResult<Vec<Value>> {
    let sql = format!(
        "SELECT {FEATURE_SQL} FROM cells
         WHERE ({AS_OF_SQL})
           AND ($2::smallint IS NULL OR level = $2)
           AND ($3::text IS NULL OR parent_code = $3)
         ORDER BY code"
    );
    let rows = client
        .query(&sql, &[&filter.as_of, &filter.level, &filter.parent])
        .await?;
    Ok(rows.iter().map(|r| r.get::<_, Value>(0)).collect())
}

/// One cell as a GeoJSON Feature, or `NotFound`.
pub async fn feature(client: &Client, code: &str, as_of: Option<i32>) -> StoreResult<Value> {
    let sql = format!("SELECT {FEATURE_SQL} FROM cells WHERE ({AS_OF_SQL}) AND code = $2");
    client
        .query_opt(&sql, &[&as_of, &code])
        .await?
        .map(|r| r.get::<_, Value>(0))
        .ok_or_else(|| StoreError::NotFound(format!("no cell with code {code}")))
}

/// The current revision and all its cells, geometry decoded exactly from WKB (no text round
/// trip, so shared vertices stay bit-identical). This is what the atlas snapshot is built from.
pub async fn load_current(client: &Client) -> StoreResult<(i32, Vec<Cell>)> {
    let revision = super::current_revision(client).await?;
    Ok((revision, load_cells(client, None).await?))
}

/// The cells of revision `as_of` (`None`: the current ones), decoded as `load_current` does.
/// `NotFound` for a revision that does not exist.
pub async fn load_as_of(client: &Client, as_of: i32) -> StoreResult<Vec<Cell>> {
    let current = super::current_revision(client).await?;
    if as_of < 0 || as_of > current {
        return Err(StoreError::NotFound(format!(
            "no revision {as_of} (the current one is {current})"
        )));
    }
    load_cells(client, Some(as_of)).await
}

async fn load_cells(client: &Client, as_of: Option<i32>) -> StoreResult<Vec<Cell>> {
    let rows = client
        .query(
            &format!(
                "SELECT code, parent_code, level, kind, name, geom, attributes
                 FROM cells WHERE ({AS_OF_SQL}) ORDER BY level, code"
            ),
            &[&as_of],
        )
        .await?;
    rows.iter().map(cell_of_row).collect()
}

/// What changed from revision `since` to revision `to`: the cells of `to` written after `since`
/// (new codes and rewritten ones), and the codes of `since` that `to` no longer has. Both are
/// read as of `to`, so a commit landing meanwhile does not leak in. This is what a server
/// applies to the snapshot it serves when it hears of a commit, instead of reloading every cell.
pub async fn load_changes(
    client: &Client,
    since: i32,
    to: i32,
) -> StoreResult<(Vec<Cell>, Vec<String>)> {
    let rows = client
        .query(
            "SELECT code, parent_code, level, kind, name, geom, attributes
             FROM cells WHERE valid_from > $1 AND valid_from <= $2
               AND (valid_to IS NULL OR valid_to > $2)
             ORDER BY level, code",
            &[&since, &to],
        )
        .await?;
    let put = rows
        .iter()
        .map(cell_of_row)
        .collect::<StoreResult<Vec<Cell>>>()?;
    let retired = client
        .query(
            "SELECT DISTINCT old.code FROM cells old
             WHERE old.valid_to > $1 AND old.valid_to <= $2 AND old.valid_from <= $1
               AND NOT EXISTS (
                   SELECT 1 FROM cells now WHERE now.code = old.code
                     AND now.valid_from <= $2 AND (now.valid_to IS NULL OR now.valid_to > $2))
             ORDER BY 1",
            &[&since, &to],
        )
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    Ok((put, retired))
}

/// A stored row (`code, parent_code, level, kind, name, geom, attributes`) as a `Cell`.
fn cell_of_row(row: &tokio_postgres::Row) -> StoreResult<Cell> {
    let code: String = row.get(0);
    let bad = |what: &str| StoreError::Refused(format!("stored cell {code} has {what}"));
    let geometry: geozero::wkb::Decode<geo_types::Geometry<f64>> = row.try_get(5)?;
    let geometry = match geometry.geometry {
        Some(geo_types::Geometry::MultiPolygon(m)) => m,
        Some(geo_types::Geometry::Polygon(p)) => geo_types::MultiPolygon(vec![p]),
        _ => return Err(bad("no polygonal geometry")),
    };
    let kind: String = row.get(3);
    let level: i16 = row.get(2);
    let parent: Option<String> = row.get(1);
    let attributes = match row.get::<_, Value>(6) {
        Value::Object(map) => map,
        _ => Default::default(),
    };
    Ok(Cell {
        code: CellCode::parse(&code).map_err(|e| bad(&e.to_string()))?,
        parent: parent
            .as_deref()
            .map(CellCode::parse)
            .transpose()
            .map_err(|e| bad(&e.to_string()))?,
        level: level as u8,
        kind: CellKind::parse(&kind).ok_or_else(|| bad("an unknown kind"))?,
        name: row.get(4),
        geometry,
        attributes,
    })
}

/// Number of current cells per level, for start-up logs and checks.
pub async fn count_current(client: &Client) -> StoreResult<i64> {
    Ok(client
        .query_one("SELECT count(*) FROM cells WHERE valid_to IS NULL", &[])
        .await?
        .get(0))
}
