//! Migrations: the files of `migrations/`, compiled in, applied in order, each in its own
//! transaction and recorded with a checksum so an edited, already-applied migration is refused.

use sha2::{Digest, Sha256};

use super::{StoreError, StoreResult};

/// `(name, sql)` in order. Append new files here; never edit an applied one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_schema",
        include_str!("../../migrations/0001_schema.sql"),
    ),
    (
        "0002_sibling_overlap_guard",
        include_str!("../../migrations/0002_sibling_overlap_guard.sql"),
    ),
    (
        "0003_staff_photos",
        include_str!("../../migrations/0003_staff_photos.sql"),
    ),
    (
        "0004_drafts",
        include_str!("../../migrations/0004_drafts.sql"),
    ),
    (
        "0005_registry",
        include_str!("../../migrations/0005_registry.sql"),
    ),
    (
        "0006_incidents",
        include_str!("../../migrations/0006_incidents.sql"),
    ),
    (
        "0007_tokens_calendar",
        include_str!("../../migrations/0007_tokens_calendar.sql"),
    ),
    (
        "0008_field",
        include_str!("../../migrations/0008_field.sql"),
    ),
    (
        "0009_teams",
        include_str!("../../migrations/0009_teams.sql"),
    ),
    (
        "0010_intake",
        include_str!("../../migrations/0010_intake.sql"),
    ),
    (
        "0011_outbox",
        include_str!("../../migrations/0011_outbox.sql"),
    ),
    (
        "0012_departments",
        include_str!("../../migrations/0012_departments.sql"),
    ),
    (
        "0013_live_order",
        include_str!("../../migrations/0013_live_order.sql"),
    ),
    (
        "0014_public",
        include_str!("../../migrations/0014_public.sql"),
    ),
    (
        "0015_sibling_guard_at_scale",
        include_str!("../../migrations/0015_sibling_guard_at_scale.sql"),
    ),
    (
        "0016_cells_by_revision",
        include_str!("../../migrations/0016_cells_by_revision.sql"),
    ),
];

/// Serialises concurrent migrators (two nodes starting at once) on one advisory lock.
const MIGRATION_LOCK: i64 = 0x0067_7269_646d_6170;

/// Applies the migrations not yet recorded; returns the names it applied.
pub async fn migrate(client: &mut tokio_postgres::Client) -> StoreResult<Vec<String>> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 name text PRIMARY KEY,
                 sha256 text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = apply_pending(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    result
}

/// Applies the pending migrations up to and including `last` only: for a test that a later
/// migration carries existing rows over.
pub async fn migrate_until(
    client: &mut tokio_postgres::Client,
    last: &str,
) -> StoreResult<Vec<String>> {
    let end = MIGRATIONS
        .iter()
        .position(|(name, _)| *name == last)
        .ok_or_else(|| StoreError::Refused(format!("no migration {last:?}")))?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 name text PRIMARY KEY,
                 sha256 text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    apply(client, &MIGRATIONS[..=end]).await
}

async fn apply_pending(client: &mut tokio_postgres::Client) -> StoreResult<Vec<String>> {
    apply(client, MIGRATIONS).await
}

async fn apply(
    client: &mut tokio_postgres::Client,
    migrations: &[(&str, &str)],
) -> StoreResult<Vec<String>> {
    let mut applied = Vec::new();
    for (name, sql) in migrations {
        let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
        let recorded = client
            .query_opt(
                "SELECT sha256 FROM schema_migrations WHERE name = $1",
                &[name],
            )
            .await?;
        match recorded {
            Some(row) if row.get::<_, String>(0) == checksum => continue,
            Some(_) => {
                return Err(StoreError::MigrationChanged {
                    name: name.to_string(),
                });
            }
            None => {}
        }
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)",
            &[name, &checksum],
        )
        .await?;
        tx.commit().await?;
        tracing::info!("applied migration {name}");
        applied.push(name.to_string());
    }
    Ok(applied)
}
