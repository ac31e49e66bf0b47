//! Intake sources and the external ids they sent (migration 0010).

use std::collections::BTreeMap;

use serde_json::Value;
use tokio_postgres::GenericClient;

use super::StoreResult;

/// A source as the intake needs it.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub secret: String,
    /// The incident source it is shown as (`12345 热线`, `视频`).
    pub label: String,
    /// Their category code → ours.
    pub category_map: BTreeMap<String, String>,
    pub callback_url: Option<String>,
}

/// Adds a source, or gives an existing one a new secret, label, mapping and callback.
pub async fn put_source(client: &impl GenericClient, s: &Source) -> StoreResult<()> {
    let map: Value = serde_json::to_value(&s.category_map).unwrap_or_default();
    client
        .execute(
            "INSERT INTO intake_sources (name, secret, label, category_map, callback_url)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO UPDATE SET secret = $2, label = $3, category_map = $4,
                 callback_url = $5, disabled_at = NULL",
            &[&s.name, &s.secret, &s.label, &map, &s.callback_url],
        )
        .await?;
    Ok(())
}

/// An enabled source by name.
pub async fn source(client: &impl GenericClient, name: &str) -> StoreResult<Option<Source>> {
    Ok(client
        .query_opt(
            "SELECT name, secret, label, category_map, callback_url FROM intake_sources
             WHERE name = $1 AND disabled_at IS NULL",
            &[&name],
        )
        .await?
        .map(|r| {
            let map: Value = r.get(3);
            Source {
                name: r.get(0),
                secret: r.get(1),
                label: r.get(2),
                category_map: serde_json::from_value(map).unwrap_or_default(),
                callback_url: r.get(4),
            }
        }))
}

/// The incident an external id already became.
pub async fn item(
    client: &impl GenericClient,
    source: &str,
    external_id: &str,
) -> StoreResult<Option<i64>> {
    Ok(client
        .query_opt(
            "SELECT incident_id FROM intake_items WHERE source = $1 AND external_id = $2",
            &[&source, &external_id],
        )
        .await?
        .map(|r| r.get(0)))
}

pub async fn record_item(
    client: &impl GenericClient,
    source: &str,
    external_id: &str,
    incident: i64,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO intake_items (source, external_id, incident_id) VALUES ($1, $2, $3)",
            &[&source, &external_id, &incident],
        )
        .await?;
    Ok(())
}

/// Holds (or releases) the session's advisory lock of one external id, so two deliveries of it
/// racing make one incident.
pub async fn lock_item(
    client: &impl GenericClient,
    source: &str,
    external_id: &str,
    hold: bool,
) -> StoreResult<()> {
    let sql = if hold {
        "SELECT pg_advisory_lock(hashtextextended('intake:' || $1 || ':' || $2, 0))"
    } else {
        "SELECT pg_advisory_unlock(hashtextextended('intake:' || $1 || ':' || $2, 0))"
    };
    client.execute(sql, &[&source, &external_id]).await?;
    Ok(())
}

/// A result waiting for its delivery, with where it goes.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: i64,
    pub attempts: i32,
    pub payload: Value,
    pub callback_url: String,
    pub secret: String,
}

/// Claims up to `limit` due results (locked until the transaction ends, skipped by other nodes).
pub async fn due(
    tx: &tokio_postgres::Transaction<'_>,
    now: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> StoreResult<Vec<Pending>> {
    Ok(tx
        .query(
            "SELECT o.id, o.attempts, o.payload, s.callback_url, s.secret
             FROM outbox o JOIN intake_sources s ON s.name = o.source
             WHERE o.delivered_at IS NULL AND o.next_at <= $1 AND s.callback_url IS NOT NULL
             ORDER BY o.next_at, o.id LIMIT $2
             FOR UPDATE OF o SKIP LOCKED",
            &[&now, &limit],
        )
        .await?
        .iter()
        .map(|r| Pending {
            id: r.get(0),
            attempts: r.get(1),
            payload: r.get(2),
            callback_url: r.get(3),
            secret: r.get(4),
        })
        .collect())
}

/// Marks a result delivered, or records a failed attempt and when to try again.
pub async fn attempted(
    tx: &tokio_postgres::Transaction<'_>,
    id: i64,
    delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    retry_at: chrono::DateTime<chrono::Utc>,
    error: Option<&str>,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE outbox SET attempts = attempts + 1, delivered_at = $2, next_at = $3, last_error = $4
         WHERE id = $1",
        &[&id, &delivered_at, &retry_at, &error],
    )
    .await?;
    Ok(())
}
