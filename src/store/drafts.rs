//! Drafts, their commit as one revision, and the history of revisions. The commit is one
//! transaction: base check, cell rows, re-assignment of buildings and open incidents, lineage,
//! revision row and NOTIFY — all or nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};
use tokio_postgres::Client;

use super::cells::{WriteOutcome, write_revision_with};
use super::{StoreError, StoreResult};
use crate::codec::cells::{feature_of, parse_feature};
use crate::domain::cell::Cell;
use crate::domain::draft::{Change, Draft, Placed};

/// A draft as stored.
#[derive(Debug, Clone)]
pub struct StoredDraft {
    pub id: i64,
    pub base_revision: i32,
    pub author: String,
    pub draft: Draft,
    pub committed_revision: Option<i32>,
}

impl StoredDraft {
    /// The draft as the API shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "base_revision": self.base_revision,
            "author": self.author,
            "committed_revision": self.committed_revision,
            "changes": self.draft.changes.iter().map(|(code, change)| match change {
                Change::Put(cell) => json!({"code": code, "deleted": false, "feature": feature_of(cell)}),
                Change::Delete => json!({"code": code, "deleted": true, "feature": null}),
            }).collect::<Vec<_>>(),
            "lineage": self.draft.lineage.iter()
                .map(|(old, new)| json!({"old": old, "new": new}))
                .collect::<Vec<_>>(),
        })
    }
}

/// Opens a draft on `base_revision`.
pub async fn create(client: &Client, author: &str, base_revision: i32) -> StoreResult<i64> {
    Ok(client
        .query_one(
            "INSERT INTO drafts (base_revision, author) VALUES ($1, $2) RETURNING id",
            &[&base_revision, &author],
        )
        .await?
        .get(0))
}

fn decode(row: &tokio_postgres::Row) -> StoreResult<StoredDraft> {
    let id: i64 = row.get(0);
    let bad = |what: String| StoreError::Refused(format!("stored draft {id} is damaged: {what}"));
    let mut draft = Draft::default();
    if let Value::Object(changes) = row.get::<_, Value>(3) {
        for (code, feature) in changes {
            let change = match feature {
                Value::Null => Change::Delete,
                f => Change::Put(Box::new(
                    parse_feature(&f).map_err(|e| bad(format!("{code}: {e}")))?,
                )),
            };
            draft.changes.insert(code, change);
        }
    }
    if let Value::Array(pairs) = row.get::<_, Value>(4) {
        for pair in pairs {
            let old = pair.get(0).and_then(Value::as_str);
            let new = pair.get(1).and_then(Value::as_str);
            match (old, new) {
                (Some(o), Some(n)) => draft.lineage.push((o.into(), n.into())),
                _ => return Err(bad("lineage".into())),
            }
        }
    }
    Ok(StoredDraft {
        id,
        base_revision: row.get(1),
        author: row.get(2),
        draft,
        committed_revision: row.get(5),
    })
}

const DRAFT_COLUMNS: &str = "id, base_revision, author, changes, lineage, committed_revision";

/// The draft `id`, or `NotFound`.
pub async fn load(client: &Client, id: i64) -> StoreResult<StoredDraft> {
    let row = client
        .query_opt(
            &format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1"),
            &[&id],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no draft {id}")))?;
    decode(&row)
}

fn encode(draft: &Draft) -> (Value, Value) {
    let changes: Map<String, Value> = draft
        .changes
        .iter()
        .map(|(code, change)| {
            let value = match change {
                Change::Put(cell) => feature_of(cell),
                Change::Delete => Value::Null,
            };
            (code.clone(), value)
        })
        .collect();
    let lineage = draft
        .lineage
        .iter()
        .map(|(o, n)| json!([o, n]))
        .collect::<Vec<_>>();
    (Value::Object(changes), Value::Array(lineage))
}

/// Applies `edit` to the draft under a row lock (two edits of one draft never lose each other);
/// an error from `edit` leaves the stored draft unchanged. Committed drafts are read-only.
pub async fn edit<T, E>(
    client: &mut Client,
    id: i64,
    edit: impl FnOnce(&StoredDraft, &mut Draft) -> Result<T, E>,
) -> StoreResult<Result<(T, StoredDraft), E>> {
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            &format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1 FOR UPDATE"),
            &[&id],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no draft {id}")))?;
    let mut stored = decode(&row)?;
    if let Some(revision) = stored.committed_revision {
        return Err(StoreError::Conflict {
            message: format!("draft {id} was committed as revision {revision}; open a new draft"),
            details: json!({"committed_revision": revision}),
        });
    }
    let mut draft = stored.draft.clone();
    let out = match edit(&stored, &mut draft) {
        Ok(out) => out,
        Err(e) => return Ok(Err(e)),
    };
    let (changes, lineage) = encode(&draft);
    tx.execute(
        "UPDATE drafts SET changes = $2, lineage = $3, updated_at = now() WHERE id = $1",
        &[&id, &changes, &lineage],
    )
    .await?;
    tx.commit().await?;
    stored.draft = draft;
    Ok(Ok((out, stored)))
}

/// Every code ever used under `parent` (current, retired, or created by lineage): a new code
/// must be none of them.
pub async fn codes_ever_under(client: &Client, parent: &str) -> StoreResult<BTreeSet<String>> {
    let rows = client
        .query(
            "SELECT code FROM cells WHERE parent_code = $1
             UNION SELECT new_code FROM cell_lineage WHERE starts_with(new_code, $1)
             UNION SELECT old_code FROM cell_lineage WHERE starts_with(old_code, $1)",
            &[&parent],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Buildings in the given cells or inside the given boxes `[xmin, ymin, xmax, ymax]`, with their
/// household and resident counts.
pub async fn buildings_near(
    client: &Client,
    codes: &[String],
    boxes: &[[f64; 4]],
) -> StoreResult<Vec<Placed>> {
    let (x0, y0, x1, y1) = unzip_boxes(boxes);
    let rows = client
        .query(
            // One index probe per box (a join from the few boxes), not a scan of all buildings.
            // (Carrying the columns through the UNION avoids a join back to all buildings.)
            "WITH hit AS (
                 SELECT b.id, ST_X(b.geom) AS x, ST_Y(b.geom) AS y, b.cell_code, b.address
                 FROM buildings b WHERE b.cell_code = ANY($1)
                 UNION
                 SELECT b.id, ST_X(b.geom), ST_Y(b.geom), b.cell_code, b.address
                 FROM unnest($2::float8[], $3::float8[], $4::float8[], $5::float8[]) AS box(x0, y0, x1, y1)
                 JOIN buildings b ON b.geom && ST_MakeEnvelope(box.x0, box.y0, box.x1, box.y1, 4490))
             SELECT hit.id, hit.x, hit.y, hit.cell_code, hit.address, n.households, n.people
             FROM hit
             CROSS JOIN LATERAL (
                 SELECT count(*) AS households, coalesce(sum(h.members), 0)::bigint AS people
                 FROM households h WHERE h.building_id = hit.id) n",
            &[&codes, &x0, &y0, &x1, &y1],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Placed {
            id: r.get(0),
            lon: r.get(1),
            lat: r.get(2),
            cell: r.get(3),
            address: r.get(4),
            households: r.get(5),
            population: r.get(6),
        })
        .collect())
}

/// Incidents still open (not closed, voided or rated) in the given cells or boxes.
pub async fn open_incidents_near(
    client: &Client,
    codes: &[String],
    boxes: &[[f64; 4]],
) -> StoreResult<Vec<Placed>> {
    let (x0, y0, x1, y1) = unzip_boxes(boxes);
    let rows = client
        .query(
            "SELECT i.id, ST_X(i.geom), ST_Y(i.geom), i.cell_code, coalesce(i.address, '')
             FROM incidents i
             WHERE i.geom IS NOT NULL AND NOT (i.state = ANY($6)) AND i.cell_code = ANY($1)
             UNION
             SELECT i.id, ST_X(i.geom), ST_Y(i.geom), i.cell_code, coalesce(i.address, '')
             FROM unnest($2::float8[], $3::float8[], $4::float8[], $5::float8[]) AS box(x0, y0, x1, y1)
             JOIN incidents i ON i.geom && ST_MakeEnvelope(box.x0, box.y0, box.x1, box.y1, 4490)
             WHERE NOT (i.state = ANY($6))",
            &[&codes, &x0, &y0, &x1, &y1, &crate::domain::incident::State::finished_names()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Placed {
            id: r.get(0),
            lon: r.get(1),
            lat: r.get(2),
            cell: r.get(3),
            address: r.get(4),
            households: 0,
            population: 0,
        })
        .collect())
}

fn unzip_boxes(boxes: &[[f64; 4]]) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    (
        boxes.iter().map(|b| b[0]).collect(),
        boxes.iter().map(|b| b[1]).collect(),
        boxes.iter().map(|b| b[2]).collect(),
        boxes.iter().map(|b| b[3]).collect(),
    )
}

/// Households and residents per cell (through their buildings), for the given cells.
pub async fn counts_per_cell(
    client: &Client,
    codes: &[String],
) -> StoreResult<HashMap<String, (i64, i64)>> {
    let rows = client
        .query(
            // Per building through the households' index: a few thousand lookups, never a scan of
            // the whole register.
            "SELECT b.cell_code, sum(n.households)::bigint, sum(n.people)::bigint
             FROM buildings b
             CROSS JOIN LATERAL (
                 SELECT count(*) AS households, coalesce(sum(h.members), 0) AS people
                 FROM households h WHERE h.building_id = b.id) n
             WHERE b.cell_code = ANY($1) GROUP BY b.cell_code",
            &[&codes],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, String>(0), (r.get(1), r.get(2))))
        .collect())
}

/// What a commit writes besides the cells.
pub struct CommitPlan<'a> {
    pub draft_id: i64,
    pub base_revision: i32,
    pub author: &'a str,
    pub message: &'a str,
    /// Cells written (new or replacing the current row of the same code).
    pub cells: &'a [Cell],
    /// Codes closed without a successor row.
    pub retired: &'a [String],
    pub lineage: &'a [(String, String)],
    /// (building id, new cell) for buildings that change cell.
    pub buildings: &'a [(i64, Option<String>)],
    /// (incident id, new cell) for open incidents that change cell.
    pub incidents: &'a [(i64, Option<String>)],
    /// Test hook (`GRIDMAP_FAILPOINT=commit-before-finish`): abort the process before COMMIT.
    pub abort_before_commit: bool,
}

pub use crate::config::FAILPOINT_BEFORE_COMMIT;

/// Commits a draft as one revision, all or nothing (see the module comment).
pub async fn commit(client: &mut Client, plan: &CommitPlan<'_>) -> StoreResult<WriteOutcome> {
    let tx = client.transaction().await?;
    let committed: Option<i32> = tx
        .query_opt(
            "SELECT committed_revision FROM drafts WHERE id = $1 FOR UPDATE",
            &[&plan.draft_id],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no draft {}", plan.draft_id)))?
        .get(0);
    if let Some(revision) = committed {
        return Err(StoreError::Conflict {
            message: format!(
                "draft {} was already committed as revision {revision}",
                plan.draft_id
            ),
            details: json!({"committed_revision": revision}),
        });
    }
    let outcome = write_revision_with(
        &tx,
        plan.cells,
        plan.retired,
        Some(plan.base_revision),
        plan.author,
        plan.message,
    )
    .await?;
    let WriteOutcome::Committed { revision, .. } = outcome else {
        return Ok(outcome);
    };
    tx.execute(
        "UPDATE revisions SET draft_id = $2 WHERE number = $1",
        &[&revision, &plan.draft_id],
    )
    .await?;
    tx.execute(
        "UPDATE drafts SET committed_revision = $2, updated_at = now() WHERE id = $1",
        &[&plan.draft_id, &revision],
    )
    .await?;
    let (olds, news): (Vec<&str>, Vec<&str>) = plan
        .lineage
        .iter()
        .map(|(o, n)| (o.as_str(), n.as_str()))
        .unzip();
    tx.execute(
        "INSERT INTO cell_lineage (revision, old_code, new_code)
         SELECT $1, o, n FROM unnest($2::text[], $3::text[]) AS l(o, n)",
        &[&revision, &olds, &news],
    )
    .await?;
    // A retired cell's team carries over to its successors until the planner reassigns it; its
    // memberships of the retired code end today, so the history names both.
    tx.execute(
        "INSERT INTO cell_staff (cell_code, staff_id, role, since, changed_by)
         SELECT l.n, s.staff_id, s.role, current_date, 'revision ' || $3
         FROM unnest($1::text[], $2::text[]) AS l(o, n) JOIN cell_staff s ON s.cell_code = l.o
         WHERE s.until IS NULL
         ON CONFLICT DO NOTHING",
        &[&olds, &news, &revision.to_string()],
    )
    .await?;
    tx.execute(
        "UPDATE cell_staff SET until = greatest(current_date, since), changed_by = 'revision ' || $3
         WHERE until IS NULL AND cell_code = ANY($1) AND NOT cell_code = ANY($2)",
        &[&olds, &news, &revision.to_string()],
    )
    .await?;
    let (ids, cells): (Vec<i64>, Vec<Option<String>>) = plan.buildings.iter().cloned().unzip();
    tx.execute(
        "UPDATE buildings b SET cell_code = m.cell
         FROM unnest($1::bigint[], $2::text[]) AS m(id, cell) WHERE b.id = m.id",
        &[&ids, &cells],
    )
    .await?;
    let (ids, cells): (Vec<i64>, Vec<Option<String>>) = plan.incidents.iter().cloned().unzip();
    tx.execute(
        "UPDATE incidents i SET cell_code = m.cell, cell_revision = $3, updated_at = now()
         FROM unnest($1::bigint[], $2::text[]) AS m(id, cell) WHERE i.id = m.id",
        &[&ids, &cells, &revision],
    )
    .await?;
    if plan.abort_before_commit {
        tracing::error!("failpoint {FAILPOINT_BEFORE_COMMIT}: aborting before COMMIT");
        std::process::abort();
    }
    tx.commit().await?;
    super::live::committed();
    Ok(outcome)
}

/// A revision of the atlas and how many cells it added, removed and changed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RevisionRow {
    pub number: i32,
    pub author: String,
    pub message: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub draft_id: Option<i64>,
    pub added: i64,
    pub removed: i64,
    pub changed: i64,
}

/// The revisions, newest first, with how many cells each added, removed and changed.
pub async fn revisions(client: &Client, limit: i64) -> StoreResult<Vec<RevisionRow>> {
    let rows = client
        .query(
            "SELECT r.number, r.author, r.message, r.created_at, r.draft_id,
                    (SELECT count(*) FROM cells n WHERE n.valid_from = r.number
                       AND NOT EXISTS (SELECT 1 FROM cells o WHERE o.code = n.code AND o.valid_to = r.number)),
                    (SELECT count(*) FROM cells o WHERE o.valid_to = r.number
                       AND NOT EXISTS (SELECT 1 FROM cells n WHERE n.code = o.code AND n.valid_from = r.number)),
                    (SELECT count(*) FROM cells n WHERE n.valid_from = r.number
                       AND EXISTS (SELECT 1 FROM cells o WHERE o.code = n.code AND o.valid_to = r.number))
             FROM revisions r WHERE r.number > 0 ORDER BY r.number DESC LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| RevisionRow {
            number: r.get(0),
            author: r.get(1),
            message: r.get(2),
            created_at: r.get(3),
            draft_id: r.get(4),
            added: r.get(5),
            removed: r.get(6),
            changed: r.get(7),
        })
        .collect())
}

/// What revision `n` did: cells added, removed and changed (with before/after geometry) and the
/// lineage it recorded.
pub async fn diff(client: &Client, n: i32) -> StoreResult<Value> {
    let head = client
        .query_opt(
            "SELECT author, message, created_at FROM revisions WHERE number = $1 AND number > 0",
            &[&n],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no revision {n}")))?;
    let feature = "json_build_object('type', 'Feature', 'id', code,
        'properties', json_build_object('code', code, 'name', name, 'level', level, 'kind', kind,
                                        'parent', parent_code),
        'geometry', ST_AsGeoJSON(geom, 9)::json)";
    let after = client
        .query(
            &format!("SELECT code, {feature} FROM cells WHERE valid_from = $1 ORDER BY code"),
            &[&n],
        )
        .await?;
    let before = client
        .query(
            &format!("SELECT code, {feature} FROM cells WHERE valid_to = $1 ORDER BY code"),
            &[&n],
        )
        .await?;
    let mut before: BTreeMap<String, Value> = before.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for row in &after {
        let code: String = row.get(0);
        let now: Value = row.get(1);
        match before.remove(&code) {
            Some(then) => changed.push(json!({"code": code, "before": then, "after": now})),
            None => added.push(now),
        }
    }
    let removed: Vec<Value> = before.into_values().collect();
    let lineage = client
        .query(
            "SELECT old_code, new_code FROM cell_lineage WHERE revision = $1 ORDER BY 1, 2",
            &[&n],
        )
        .await?;
    Ok(json!({
        "revision": n,
        "author": head.get::<_, String>(0),
        "message": head.get::<_, String>(1),
        "created_at": head.get::<_, chrono::DateTime<chrono::Utc>>(2).to_rfc3339(),
        "added": added,
        "removed": removed,
        "changed": changed,
        "lineage": lineage.iter()
            .map(|r| json!({"old": r.get::<_, String>(0), "new": r.get::<_, String>(1)}))
            .collect::<Vec<_>>(),
    }))
}
