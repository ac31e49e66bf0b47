//! What the public side reads and writes: the handled incidents of a grid (only the columns a
//! published result may show), the categories the public may see, and 居民之声 suggestions with
//! their tracking codes. Descriptions, addresses, photos, points, reporters and contacts are
//! never selected here for a public output.

use chrono::{DateTime, Utc};
use tokio_postgres::{Client, GenericClient, Transaction};

use super::StoreResult;

/// One closed incident, as far as a published result may need it.
#[derive(Debug, Clone)]
pub struct ClosedRow {
    /// The stored category path (`市容环境/垃圾堆放`).
    pub category: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub rating: Option<String>,
    /// The category (and its parent) may be shown publicly; an unknown category may not.
    pub public: bool,
}

/// The category paths with whether each may be shown publicly (a leaf is public only when its
/// parent is too).
const CATEGORY_PATHS: &str =
    "SELECT CASE WHEN p.code IS NULL THEN c.name ELSE p.name || '/' || c.name END,
        c.public AND coalesce(p.public, true), c.code, c.parent IS NOT NULL
 FROM incident_categories c LEFT JOIN incident_categories p ON p.code = c.parent";

/// Incidents of the cells under `prefix` (a grid, or a village or township: every grid in it)
/// closed in [`from`, `to`), oldest first.
pub async fn closed_between(
    client: &Client,
    prefix: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<ClosedRow>> {
    let sql = format!(
        "WITH paths (path, public, code, leaf) AS ({CATEGORY_PATHS})
         SELECT i.category, i.created_at, i.closed_at, i.deadline_at, i.rating,
                coalesce(p.public, false)
         FROM incidents i LEFT JOIN paths p ON p.path = i.category
         WHERE i.closed_at IS NOT NULL AND i.closed_at >= $2 AND i.closed_at < $3
           AND i.state IN ('结案', '评价')
           AND i.cell_code LIKE $1 || '%'
         ORDER BY i.closed_at, i.id"
    );
    Ok(client
        .query(&sql, &[&prefix, &from, &to])
        .await?
        .iter()
        .map(|r| ClosedRow {
            category: r.get(0),
            created_at: r.get(1),
            closed_at: r.get(2),
            deadline_at: r.get(3),
            rating: r.get(4),
            public: r.get(5),
        })
        .collect())
}

/// The leaf categories a resident may choose and the public may see: (code, path).
pub async fn public_categories(client: &Client) -> StoreResult<Vec<(String, String)>> {
    let sql = format!(
        "SELECT code, path FROM ({CATEGORY_PATHS}) AS paths (path, public, code, leaf)
         WHERE public AND leaf ORDER BY code"
    );
    Ok(client
        .query(&sql, &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Records a suggestion in the transaction that creates its incident.
pub async fn record_suggestion(
    tx: &Transaction<'_>,
    tracking_code: &str,
    incident_id: i64,
    cell: &str,
    contact: Option<&str>,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO suggestions (tracking_code, incident_id, cell_code, contact)
         VALUES ($1, $2, $3, $4)",
        &[&tracking_code, &incident_id, &cell, &contact],
    )
    .await?;
    Ok(())
}

/// What a tracking code may show: its grid, category, state and dates — never the text, the
/// contact or the handling's notes.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub cell: String,
    pub category: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub deadline_at: Option<DateTime<Utc>>,
}

/// The suggestion with `tracking_code`, if any.
pub async fn tracked(
    client: &impl GenericClient,
    tracking_code: &str,
) -> StoreResult<Option<Tracked>> {
    Ok(client
        .query_opt(
            "SELECT s.cell_code, i.category, i.state, i.created_at, i.closed_at, i.deadline_at
             FROM suggestions s JOIN incidents i ON i.id = s.incident_id
             WHERE s.tracking_code = $1",
            &[&tracking_code],
        )
        .await?
        .map(|r| Tracked {
            cell: r.get(0),
            category: r.get(1),
            state: r.get(2),
            created_at: r.get(3),
            closed_at: r.get(4),
            deadline_at: r.get(5),
        }))
}

/// The disabled user residents' suggestions are reported by (migration 0014).
pub async fn resident(client: &impl GenericClient) -> StoreResult<Option<super::users::User>> {
    Ok(client
        .query_opt(
            "SELECT id, name, cells FROM users
             WHERE name = '居民之声' AND role = 'worker' AND disabled_at IS NOT NULL",
            &[],
        )
        .await?
        .map(|r| super::users::User {
            id: r.get(0),
            name: r.get(1),
            role: crate::domain::role::Role::Worker,
            cells: r.get(2),
            department: None,
        }))
}
