//! The working-day calendar documents loaded into the database (`gridmap calendar import`), and
//! the open incidents' clocks that a newly loaded year re-dates.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::{GenericClient, Transaction};

use super::StoreResult;

/// NOTIFY channel: a calendar document was loaded; every server reloads its calendar.
pub const CALENDAR_CHANNEL: &str = "gridmap_calendar";

/// The documents in load order (oldest first), as `(name, document)`.
pub async fn documents(client: &impl GenericClient) -> StoreResult<Vec<(String, Value)>> {
    let rows = client
        .query(
            "SELECT name, document FROM calendar_documents ORDER BY loaded_at, name",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Writes (or replaces) a document; announced to the servers at commit.
pub async fn put_document(
    tx: &Transaction<'_>,
    name: &str,
    document: &Value,
    loaded_by: &str,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO calendar_documents (name, document, loaded_by) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET document = EXCLUDED.document,
             loaded_by = EXCLUDED.loaded_by, loaded_at = now()",
        &[&name, document, &loaded_by],
    )
    .await?;
    tx.execute("SELECT pg_notify($1, $2)", &[&CALENDAR_CHANNEL, &name])
        .await?;
    Ok(())
}

/// The clock of an open incident.
#[derive(Debug, Clone)]
pub struct OpenClock {
    pub id: i64,
    pub clock_start: DateTime<Utc>,
    pub budget_seconds: i64,
    pub suspended_since: Option<DateTime<Utc>>,
    pub suspended_seconds: i64,
    pub deadline_at: Option<DateTime<Utc>>,
}

/// Clocks of every incident not yet finished, locked for the re-dating transaction.
pub async fn open_clocks(tx: &Transaction<'_>) -> StoreResult<Vec<OpenClock>> {
    let rows = tx
        .query(
            "SELECT id, clock_start, budget_seconds, suspended_since, suspended_seconds, deadline_at
             FROM incidents WHERE state NOT IN ('结案', '评价', '作废') FOR UPDATE",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| OpenClock {
            id: r.get(0),
            clock_start: r.get(1),
            budget_seconds: r.get(2),
            suspended_since: r.get(3),
            suspended_seconds: r.get(4),
            deadline_at: r.get(5),
        })
        .collect())
}

/// Stores new deadlines `(id, deadline)`.
pub async fn set_deadlines(
    tx: &Transaction<'_>,
    deadlines: &[(i64, DateTime<Utc>)],
) -> StoreResult<u64> {
    let ids: Vec<i64> = deadlines.iter().map(|d| d.0).collect();
    let at: Vec<DateTime<Utc>> = deadlines.iter().map(|d| d.1).collect();
    Ok(tx
        .execute(
            "UPDATE incidents i SET deadline_at = d.at
             FROM unnest($1::bigint[], $2::timestamptz[]) AS d(id, at) WHERE i.id = d.id",
            &[&ids, &at],
        )
        .await?)
}
